//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/waarborg/waarborg/bundle"
	"github.com/waarborg/waarborg/servicetest"
)

// A session drives one headless Chromium through the pages of a running
// demo, saving a screenshot of each page as the test's output
// (`go test -artifacts -outputdir DIR` keeps them).
type session struct {
	t        *testing.T
	ctx      context.Context
	base     string
	shots    string
	mu       sync.Mutex
	problems []string // console errors the pages caused
}

func (s *session) do(steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, steps...); err != nil {
		s.t.Fatal(err)
	}
}

func get[T any](s *session, a chromedp.Action[T]) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, a)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// open loads a page of the demo.
func (s *session) open(path string) {
	s.t.Helper()
	s.do(chromedp.Navigate(s.base + path))
}

// submit clicks a button that submits a form and waits for the next page.
func (s *session) submit(sel string) {
	s.t.Helper()
	get(s, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

func (s *session) text(sel string) string {
	s.t.Helper()
	return get(s, chromedp.TextContent(chromedp.CSS(sel)))
}

func (s *session) has(sel string) bool {
	s.t.Helper()
	return get(s, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
}

// shot saves a full-page PNG and checks that nothing is wider than the
// window: the layout must hold at 1280 px and on a tablet.
func (s *session) shot(name string) {
	s.t.Helper()
	png := get(s, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(s.shots, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	w := get(s, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if w[0] > w[1] {
		s.t.Errorf("%s: the page is %d px wide in a %d px window", name, w[0], w[1])
	}
}

func (s *session) signIn(name, password string) {
	s.t.Helper()
	s.open("/login")
	s.do(chromedp.SendKeys(chromedp.ID("name"), name), chromedp.SendKeys(chromedp.ID("password"), password))
	s.submit(`form[action="/login"] button`)
	if h := s.text("h1"); strings.Contains(h, "Sign in") {
		s.t.Fatalf("sign in as %s failed: %s", name, s.text("main"))
	}
}

// TestBrowser runs `waarborg demo` and uses it as a person would, in
// Debian's Chromium: sign in, the overview, an exception, a proof verified
// in the browser, a management response, a Type II report whose bundle is
// downloaded and verified; then as the demo's auditor, who may read but
// not write.
func TestBrowser(t *testing.T) {
	chromium := servicetest.Program(t, "chromium")
	if testing.Short() {
		t.Skip("runs a demo and a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The demo, in this process.
	dir := t.TempDir()
	out := &syncBuf{}
	var stderr syncBuf
	demoCtx, stopDemo := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(demoCtx, []string{"demo", "--data", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0", "--days", "2"},
			func(string) string { return "" }, nil, out, &stderr)
	}()
	defer func() {
		stopDemo()
		if err := <-done; err != nil {
			t.Errorf("demo: %v\n%s", err, stderr.String())
		}
	}()
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s%s", err, out.String(), stderr.String())
		case <-ctx.Done():
			t.Fatalf("the demo did not start:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	printed := out.String()
	base := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(printed)[1]
	login := func(name string) string {
		m := regexp.MustCompile(name + `\s+password (\S+)`).FindStringSubmatch(printed)
		if m == nil {
			t.Fatalf("the demo printed no login of %s:\n%s", name, printed)
		}
		return m[1]
	}
	vkey := regexp.MustCompile(`verifier key: (\S+)`).FindStringSubmatch(printed)[1]

	// The browser: Debian's Chromium, headless, in a fresh profile, kept
	// off the network it does not have.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	s := &session{t: t, ctx: bctx, base: base, shots: t.ArtifactDir()}
	// The first action starts the browser; only then may another goroutine
	// use the context (chromedp v0.23 starts two browsers when two
	// goroutines make the first call at once).
	s.do(chromedp.EmulateViewport(1280, 900))
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			if m.Type == "exception" || strings.Contains(m.Text, "Content Security Policy") {
				s.mu.Lock()
				s.problems = append(s.problems, string(m.Type)+": "+m.Text)
				s.mu.Unlock()
			}
		}
	}()

	// Sign in as the admin; the overview.
	s.open("/")
	if !strings.Contains(get(s, chromedp.Location()), "/login") {
		t.Fatal("the demo's pages do not ask for a sign-in")
	}
	s.shot("01-login")
	s.signIn("demo-admin", login("demo-admin"))
	if h := s.text("h1"); !strings.Contains(h, "acme-foods") {
		t.Fatalf("after sign-in: %q", h)
	}
	for _, area := range []string{"CO1", "CO2", "CO3", "CO4", "CO5"} {
		if !s.has("#" + area + "-h") {
			t.Errorf("the overview lacks area %s", area)
		}
	}
	// The chart places exceptions by their records' times, which the
	// server looks up in the background; the page reloads until then.
	for i := 0; !s.has("svg.chart rect"); i++ {
		if i > 50 {
			t.Fatal("the overview has no exceptions chart")
		}
		time.Sleep(200 * time.Millisecond)
		s.open("/")
	}
	s.shot("02-overview")
	s.do(chromedp.EmulateViewport(768, 1024))
	s.shot("02-overview-tablet")
	s.do(chromedp.EmulateViewport(1280, 900))

	// A control with exceptions about records (not a manual control's period).
	control := get(s, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('.area tbody tr'))
		.filter(tr => tr.querySelector('.badge.bad'))
		.map(tr => tr.querySelector('a').getAttribute('href'))
		.filter(h => !/(AC-05|LM-04|LM-03)$/.test(h))[0] || ''`))
	if control == "" {
		t.Fatal("no control of the demo has exceptions")
	}
	s.open(control)
	s.shot("03-control")
	exc := get(s, chromedp.Evaluate[string](`document.querySelector('table.exceptions tbody a').getAttribute('href')`))
	s.open(exc)
	if !s.has(".record .proof") {
		t.Fatalf("exception %s shows no record with a proof", exc)
	}

	// Verify a proof in the browser (WebCrypto: SHA-256, Ed25519).
	s.do(chromedp.WaitVisible(chromedp.CSS(".proof button.verify")), chromedp.Click(chromedp.CSS(".proof button.verify")))
	s.do(chromedp.WaitVisible(chromedp.CSS(".proof .result.ok, .proof .result.fail")))
	if got := s.text(".proof .result"); !strings.HasPrefix(got, "Verified in this browser") {
		t.Errorf("browser verification: %q", got)
	}
	s.shot("04-exception-verified")

	// Write management's response.
	const response = "Management accepts this deviation: the line was in a validated manual mode (ticket QA-4711)."
	s.do(chromedp.Click(chromedp.ID("action-accept")), chromedp.SendKeys(chromedp.ID("text"), response))
	s.submit(`#lifecycle form button[type="submit"]`)
	if got := s.text(".flash"); !strings.Contains(got, "Recorded in the ledger as wf.") {
		t.Errorf("after the response: %q", got)
	}
	if got := s.text("ol.history"); !strings.Contains(got, response) || !strings.Contains(got, "demo-admin") {
		t.Errorf("the lifecycle lacks the response: %q", got)
	}
	s.shot("05-exception-responded")

	// The record page and the ledger.
	rec := get(s, chromedp.Evaluate[string](`document.querySelector('.record h3 a').getAttribute('href')`))
	s.open(rec)
	s.shot("06-record")
	s.open("/t/acme-foods/ledger")
	sizes := get(s, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('table tbody td.n')).map(td => td.textContent.replace(/\D/g, ''))`))
	if len(sizes) < 2 {
		t.Fatalf("the ledger lists %d checkpoints", len(sizes))
	}
	s.do(chromedp.SendKeys(chromedp.ID("cons-from"), sizes[len(sizes)-1]), chromedp.SendKeys(chromedp.ID("cons-to"), sizes[0]))
	s.submit(`#cons-to ~ button`)
	if got := s.text(".ok-box"); !strings.Contains(got, "Consistent.") {
		t.Errorf("consistency: %q", got)
	}
	s.shot("07-ledger")
	s.open("/t/acme-foods/sources")
	for i := 0; s.has("meta[http-equiv=refresh]") && i < 50; i++ {
		time.Sleep(200 * time.Millisecond)
		s.open("/t/acme-foods/sources")
	}
	if !s.has("table.sources svg.spark") {
		t.Error("the sources page has no volumes")
	}
	s.shot("08-sources")

	// Generate a Type II report (PDF, HTML, OSCAL, bundle) and download its bundle.
	s.open("/t/acme-foods/reports")
	s.submit(`form[aria-labelledby="t2-h"] button`)
	for i := 0; !s.has(`a[href$="/bundle.zip"]`); i++ {
		if i > 300 {
			t.Fatalf("the report did not finish: %s", s.text("main"))
		}
		time.Sleep(200 * time.Millisecond)
		s.open("/t/acme-foods/reports")
	}
	s.shot("09-reports")
	for _, file := range []string{"report.pdf", "report.html", "assessment-results.json"} {
		if !s.has(`a[href$="/` + file + `"]`) {
			t.Errorf("the report's %s is not offered", file)
		}
	}
	downloads := t.TempDir()
	progress := chromedp.Events(bctx, browser.DownloadProgress)
	s.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		enabled := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &enabled})
		return err
	}), chromedp.Click(chromedp.CSS(`a[href$="/bundle.zip"]`)))
	var zipPath string
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			zipPath = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	zipped, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bundle.Verify(bytes.NewReader(zipped), int64(len(zipped)), vkey)
	if err != nil || !rep.OK() {
		t.Errorf("the downloaded bundle (%d bytes) does not verify: %v %+v", len(zipped), err, rep)
	}

	// The admin pages.
	s.open("/admin/users")
	s.shot("10-users")
	s.open("/admin/tokens")
	s.shot("11-tokens")

	// The auditor reads, and is refused writing.
	s.submit(`form[action="/logout"] button`)
	s.signIn("demo-auditor", login("demo-auditor"))
	s.open(exc)
	if s.has("#lifecycle textarea") || !strings.Contains(s.text("#lifecycle"), "read-only") {
		t.Error("the auditor is offered to act on the exception")
	}
	if got := s.text("ol.history"); !strings.Contains(got, response) {
		t.Errorf("the auditor does not see the response: %q", got)
	}
	s.shot("12-auditor-exception")
	for _, w := range []struct{ path, form string }{
		{exc, `{action: 'accept', text: 'an auditor accepts'}`},
		{"/t/acme-foods/reports", `{type: '2', from: '2026-01-01', to: '2026-01-02'}`},
		{"/admin/users", `{name: 'auditor-made', role: 'admin', tenants: '*', password: 'twelve chars!', password2: 'twelve chars!'}`},
	} {
		status := get(s, chromedp.Evaluate[int](fmt.Sprintf(`fetch(%q, {method: 'POST', body: new URLSearchParams(%s)}).then(r => r.status)`, w.path, w.form),
			chromedp.EvalAwaitPromise))
		if status != 403 {
			t.Errorf("the auditor's POST %s: %d, want 403", w.path, status)
		}
	}
	s.open("/t/acme-foods/reports")
	if s.has(`form[aria-labelledby="t2-h"]`) {
		t.Error("the auditor is offered to generate a report")
	}
	s.shot("13-auditor-reports")

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Errorf("browser console: %s", p)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
