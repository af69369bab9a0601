package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// clock is a settable time for Deps.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(base *http.Client) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: base.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postForm(tb testing.TB, c *http.Client, u string, form url.Values, header ...string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestSignIn(t *testing.T) {
	f := newFixture(t, 0)
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	deps := f.deps
	deps.Now = clk.now
	f.start(t, deps)
	f.user(t, "ann", waarborg.RoleCompliance, "acme")
	f.post(t, sample("acme", "a-1", 1))
	login := func(c *http.Client, name, password string) (*http.Response, string) {
		return postForm(t, c, f.url+"/login", url.Values{"name": {name}, "password": {password}, "next": {"/t/acme/ledger"}})
	}

	// Without a session a page sends to the sign-in page, and back after.
	b := browser(f.raw)
	resp, err := b.Get(f.url + "/t/acme/ledger")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2Ft%2Facme%2Fledger" {
		t.Fatalf("no session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A wrong password and an unknown name answer alike.
	r1, body1 := login(b, "ann", "wrong password!")
	r2, body2 := login(b, "nobody", "wrong password!")
	if r1.StatusCode != 401 || r2.StatusCode != 401 || !strings.Contains(body1, "The name or the password is wrong.") || !strings.Contains(body2, "The name or the password is wrong.") {
		t.Errorf("wrong password %d, unknown name %d", r1.StatusCode, r2.StatusCode)
	}

	resp, _ = login(b, "ann", "password of ann")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/t/acme/ledger" {
		t.Fatalf("sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()[0]
	if ck.Name != "waarborg" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || len(ck.Value) < 43 {
		t.Errorf("cookie %+v", ck)
	}
	if status, _ := getBody(t, b, f.url+"/t/acme/ledger"); status != 200 {
		t.Errorf("ledger page after sign-in: %d", status)
	}
	// The API takes the session too.
	if status, body := getBody(t, b, f.url+"/api/v1/tenants/acme/checkpoint"); status != 200 {
		t.Errorf("API with a session: %d %s", status, body)
	}

	// A cross-site form post is refused, signed in or not.
	for _, path := range []string{"/login", "/logout", "/t/acme/reports", "/admin/users"} {
		resp, _ := postForm(t, b, f.url+path, url.Values{"name": {"ann"}}, "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != 403 {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}

	// Sessions last 12 hours.
	clk.add(SessionTTL + time.Second)
	if resp, err := b.Get(f.url + "/t/acme/ledger"); err != nil || resp.StatusCode != 303 {
		t.Errorf("expired session: %v %v", resp.StatusCode, err)
	}

	// Signing out ends the session on the server, not only in the browser.
	login(b, "ann", "password of ann")
	u, _ := url.Parse(f.url)
	stolen := b.Jar.Cookies(u)
	postForm(t, b, f.url+"/logout", nil)
	thief := browser(f.raw)
	thief.Jar.SetCookies(u, stolen)
	if status, _ := getBody(t, thief, f.url+"/t/acme/ledger"); status != 303 {
		t.Errorf("a session after sign-out: %d", status)
	}

	// next= never leaves the server.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		resp, _ := postForm(t, browser(f.raw), f.url+"/login", url.Values{"name": {"ann"}, "password": {"password of ann"}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%s redirects to %q", next, loc)
		}
	}
	if strings.Contains(f.logs.String(), "password of ann") || strings.Contains(f.logs.String(), "wrong password") {
		t.Error("a password is in the log")
	}
}

func TestSignInRateLimit(t *testing.T) {
	f := newFixture(t, 0)
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	deps := f.deps
	deps.Now = clk.now
	f.start(t, deps)
	f.user(t, "ann", waarborg.RoleEngineer, "acme")
	try := func(password string) int {
		resp, _ := postForm(t, browser(f.raw), f.url+"/login", url.Values{"name": {"ann"}, "password": {password}})
		return resp.StatusCode
	}
	for i := range nameBurst {
		if got := try("guess"); got != 401 {
			t.Fatalf("guess %d: %d", i, got)
		}
	}
	// The name is locked: even the right password waits.
	if got := try("password of ann"); got != 429 {
		t.Errorf("after %d failures: %d, want 429", nameBurst, got)
	}
	clk.add(nameEvery)
	if got := try("password of ann"); got != 303 {
		t.Errorf("a minute later: %d, want 303", got)
	}
	// One address cannot try names without end.
	statuses := map[int]int{}
	for i := range ipBurst + 5 {
		resp, _ := postForm(t, browser(f.raw), f.url+"/login", url.Values{"name": {"user" + string(rune('a'+i))}, "password": {"x"}})
		statuses[resp.StatusCode]++
	}
	if statuses[429] == 0 {
		t.Errorf("no 429 from one address after %d attempts: %v", ipBurst+5, statuses)
	}
}

func TestSecureCookie(t *testing.T) {
	f := newFixture(t, 0)
	srv := httptest.NewTLSServer(NewServer(f.deps))
	defer srv.Close()
	f.user(t, "ann", waarborg.RoleEngineer, "acme")
	c := browser(srv.Client())
	resp, _ := postForm(t, c, srv.URL+"/login", url.Values{"name": {"ann"}, "password": {"password of ann"}})
	if resp.StatusCode != 303 {
		t.Fatalf("sign in over TLS: %d", resp.StatusCode)
	}
	ck := resp.Cookies()[0]
	if ck.Name != "__Host-waarborg" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie over TLS %+v", ck)
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	f.post(t, sample("acme", "a-1", 1))
	get := func(token, path string) (int, http.Header) {
		req, _ := http.NewRequest("GET", f.url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := browser(f.raw).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	read := f.token(t, waarborg.ScopeRead, "acme")
	tests := []struct {
		name, auth, path string
		status           int
	}{
		{"none", "", "/api/v1/tenants/acme/checkpoint", 401},
		{"not bearer", "Basic YTpi", "/api/v1/tenants/acme/checkpoint", 401},
		{"unknown", "Bearer wbt_00000000_xxxx", "/api/v1/tenants/acme/checkpoint", 401},
		{"read", "Bearer " + read, "/api/v1/tenants/acme/checkpoint", 200},
		{"read, other tenant", "Bearer " + read, "/api/v1/tenants/beta/checkpoint", 404},
		{"read, metrics", "Bearer " + read, "/metrics", 403},
		{"ingest reads", "Bearer " + f.tokens["ingest"], "/api/v1/tenants/acme/checkpoint", 403},
		{"metrics", "Bearer " + f.tokens["metrics"], "/metrics", 200},
		{"metrics reads", "Bearer " + f.tokens["metrics"], "/api/v1/tenants/acme/checkpoint", 404},
		{"a token on a page", "Bearer " + read, "/t/acme/ledger", 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h := get(tt.auth, tt.path)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	tokens, _ := f.users.ListTokens(ctx)
	for _, tk := range tokens {
		if tk.Tenant == "acme" {
			f.users.DeleteToken(ctx, tk.ID)
		}
	}
	if status, _ := get("Bearer "+read, "/api/v1/tenants/acme/checkpoint"); status != 401 {
		t.Errorf("revoked token: %d", status)
	}
	// An ingest token of one tenant cannot slip in a record of another:
	// the batch is refused whole.
	ingest := f.token(t, waarborg.ScopeIngest, "acme")
	req, _ := http.NewRequest("POST", f.url+"/api/v1/records", strings.NewReader(sample("acme", "a-2", 2)+"\n"+sample("beta", "b-1", 1)+"\n"))
	req.Header.Set("Authorization", "Bearer "+ingest)
	resp, err := f.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n, _ := f.store.Size(ctx, "acme"); resp.StatusCode != 403 || n != 1 {
		t.Errorf("mixed-tenant batch: %d, acme has %d entries", resp.StatusCode, n)
	}
	// Only an admin of every tenant reads metrics with a session.
	for _, tt := range []struct {
		tenants []string
		status  int
	}{{[]string{"acme"}, 403}, {[]string{"*"}, 200}} {
		c := f.signIn(t, "adm-"+strings.ReplaceAll(strings.Join(tt.tenants, ""), "*", "all"), waarborg.RoleAdmin, tt.tenants...)
		if status, _ := getBody(t, c, f.url+"/metrics"); status != tt.status {
			t.Errorf("metrics for an admin of %v: %d, want %d", tt.tenants, status, tt.status)
		}
	}
}
