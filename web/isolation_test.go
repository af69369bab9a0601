package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/monitor"
)

// tenants fixture: two tenants, acme (A) and beta (B), each with records
// that give exceptions, signed checkpoints, a report, users and a token.
type tenants struct {
	*fixture
	mon       *monitor.Service
	bReport   string // the id of beta's report
	bTokenID  string
	bSize     uint64
	secretsOf []string // strings only beta's data holds
}

// batchEnd is a batch end without a start: a PC-06 exception.
func batchEnd(tenant, id string) string {
	return fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"ede/line-1/mes","type":"batch.end","time":"2026-03-01T06:00:00Z","data":{"batch_id":"%sbatch-%s","line":"line-1","quantity_good":10,"quantity_scrap":0,"unit":"pcs"}}`, id, tenant, tenant, id)
}

var reportNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// fakeReporter writes a bundle that names the tenant's own records.
func fakeReporter(_ context.Context, req ReportRequest, dir string) error {
	return os.WriteFile(filepath.Join(dir, "bundle.zip"), []byte("bundle of "+req.Tenant+": "+req.Tenant+"-secret-1\n"), 0o600)
}

func newTenants(t *testing.T) *tenants {
	t.Helper()
	f := newFixture(t, 0)
	ctx := context.Background()
	for _, tenant := range []string{"acme", "beta"} {
		if status, res := f.post(t, batchEnd(tenant, tenant+"-secret-1"), batchEnd(tenant, tenant+"-secret-2")); status != 200 || res.Accepted != 2 {
			t.Fatalf("POST %s: %d %+v", tenant, status, res)
		}
		if _, err := f.ledger.Sync(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	mon := monitor.New(monitor.Config{Store: f.store, From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Now: func() time.Time { return reportNow }})
	if err := mon.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	deps := f.deps
	deps.Monitor, deps.Reporter, deps.ReportDir = mon, fakeReporter, t.TempDir()
	deps.Now = func() time.Time { return reportNow }
	f.start(t, deps)
	ts := &tenants{fixture: f, mon: mon}

	// beta's own people make a report and a token.
	b := f.signIn(t, "beta-secret-user", waarborg.RoleAdmin, "beta")
	resp, err := b.PostForm(f.url+"/t/beta/reports", url.Values{"type": {"2"}, "from": {"2026-03-01"}, "to": {"2026-03-02"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ts.bReport = loc.Query().Get("started")
	if resp.StatusCode != http.StatusSeeOther || ts.bReport == "" {
		t.Fatalf("beta's report: %d %s", resp.StatusCode, loc)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, body := getBody(t, b, f.url+"/t/beta/reports"); strings.Contains(string(body), "bundle.zip") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("beta's report did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = b.PostForm(f.url+"/admin/tokens", url.Values{"name": {"beta-secret token"}, "scope": {"read"}, "tenant": {"beta"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tokens, _ := f.users.ListTokens(ctx)
	for _, tk := range tokens {
		if tk.Tenant == "beta" {
			ts.bTokenID = tk.ID
		}
	}
	if ts.bTokenID == "" {
		t.Fatal("beta's token was not made")
	}
	ts.bSize, _ = f.store.Size(ctx, "beta")
	cp, err := f.store.Checkpoint(ctx, "beta", 0)
	if err != nil {
		t.Fatal(err)
	}
	ts.secretsOf = []string{"beta", "beta-secret-1", "beta-secret-user", "betabatch", ts.bReport, ts.bTokenID,
		fmt.Sprintf("%x", cp.Root), base64.StdEncoding.EncodeToString(cp.Root), "waarborg/beta\n"}
	return ts
}

func getBody(tb testing.TB, c *http.Client, url string) (int, []byte) {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// An isolation case is one request of a route for beta's data.
type isolationCase struct {
	method, path string
	form         url.Values // a form body; nil for none
	body         string     // a raw body, when form is nil
	// ok lists the statuses the route may answer besides 401, 403 and 404,
	// for routes that hold nothing of a tenant of their own (a list, a
	// sign-in). Every answer must hold nothing of beta.
	ok []int
}

// isolationCases gives each route of the server its request for beta's
// data. A route without one fails the test: a new route cannot be left out.
func (ts *tenants) isolationCases() map[string]isolationCase {
	exc := "/PC-06/beta-secret-1"
	return map[string]isolationCase{
		"POST /api/v1/records":                                            {method: "POST", path: "/api/v1/records", body: batchEnd("beta", "planted-by-acme")},
		"GET /api/v1/tenants/{tenant}/records/{id}":                       {method: "GET", path: "/api/v1/tenants/beta/records/beta-secret-1"},
		"GET /api/v1/tenants/{tenant}/checkpoint":                         {method: "GET", path: "/api/v1/tenants/beta/checkpoint"},
		"GET /api/v1/tenants/{tenant}/consistency":                        {method: "GET", path: fmt.Sprintf("/api/v1/tenants/beta/consistency?from=1&to=%d", ts.bSize)},
		"GET /api/v1/tenants/{tenant}/controls":                           {method: "GET", path: "/api/v1/tenants/beta/controls?from=2026-03-01&to=2026-03-02"},
		"GET /api/v1/tenants/{tenant}/exceptions":                         {method: "GET", path: "/api/v1/tenants/beta/exceptions"},
		"POST /api/v1/tenants/{tenant}/exceptions/{control}/{subject...}": {method: "POST", path: "/api/v1/tenants/beta/exceptions" + exc, body: `{"action":"explain","text":"planted by acme"}`},
		routeHealth:              {method: "GET", path: "/healthz", ok: []int{200}},
		routeMetrics:             {method: "GET", path: "/metrics"},
		"GET /api/v1/connectors": {method: "GET", path: "/api/v1/connectors"},
		"GET /login":             {method: "GET", path: "/login?next=/t/beta/", ok: []int{200, 303}},
		"POST /login": {method: "POST", path: "/login", form: url.Values{"name": {"beta-secret-user"}, "password": {"a guess of acme"}},
			ok: []int{401, 429}},
		"POST /logout":                       {method: "POST", path: "/logout", ok: []int{303}},
		routeStatic:                          {method: "GET", path: "/static/style.css", ok: []int{200}},
		"GET /{$}":                           {method: "GET", path: "/?t=beta", ok: []int{303}}, // to /t/beta/, which is the next case
		"GET /t/{tenant}/{$}":                {method: "GET", path: "/t/beta/"},
		"GET /t/{tenant}/controls/{control}": {method: "GET", path: "/t/beta/controls/PC-06"},
		"GET /t/{tenant}/exceptions/{control}/{subject...}":  {method: "GET", path: "/t/beta/exceptions" + exc},
		"POST /t/{tenant}/exceptions/{control}/{subject...}": {method: "POST", path: "/t/beta/exceptions" + exc, form: url.Values{"action": {"accept"}, "text": {"planted by acme"}}},
		"GET /t/{tenant}/records/{id}":                       {method: "GET", path: "/t/beta/records/beta-secret-1"},
		"GET /t/{tenant}/verify/{id}":                        {method: "GET", path: "/t/beta/verify/beta-secret-1"},
		"GET /t/{tenant}/ledger":                             {method: "GET", path: fmt.Sprintf("/t/beta/ledger?id=beta-secret-1&from=1&to=%d", ts.bSize)},
		"GET /t/{tenant}/sources":                            {method: "GET", path: "/t/beta/sources"},
		"GET /t/{tenant}/reports":                            {method: "GET", path: "/t/beta/reports"},
		"POST /t/{tenant}/reports":                           {method: "POST", path: "/t/beta/reports", form: url.Values{"type": {"2"}, "from": {"2026-03-01"}, "to": {"2026-03-02"}}},
		"GET /t/{tenant}/reports/{report}/{file}":            {method: "GET", path: "/t/beta/reports/" + ts.bReport + "/bundle.zip"},
		// An admin of acme manages acme's people and tokens: the lists
		// answer, without beta's.
		"GET /admin/users": {method: "GET", path: "/admin/users", ok: []int{200}},
		"POST /admin/users": {method: "POST", path: "/admin/users",
			form: url.Values{"name": {"planted"}, "role": {"auditor"}, "tenants": {"beta"}, "password": {"a long password"}, "password2": {"a long password"}}},
		"GET /admin/users/{name}":        {method: "GET", path: "/admin/users/beta-secret-user"},
		"POST /admin/users/{name}":       {method: "POST", path: "/admin/users/beta-secret-user", form: url.Values{"role": {"auditor"}, "tenants": {"acme"}, "disabled": {"1"}}},
		"GET /admin/tokens":              {method: "GET", path: "/admin/tokens", ok: []int{200}},
		"POST /admin/tokens":             {method: "POST", path: "/admin/tokens", form: url.Values{"name": {"planted"}, "scope": {"ingest"}, "tenant": {"beta"}}},
		"POST /admin/tokens/{id}/revoke": {method: "POST", path: "/admin/tokens/" + ts.bTokenID + "/revoke"},
	}
}

// Every route, asked for beta's data by each kind of caller of acme (and
// by nobody), answers 401, 403 or 404 — or, where the route holds nothing
// of a tenant, its usual answer — with nothing of beta in it; and beta's
// log, people and tokens are as they were.
func TestIsolation(t *testing.T) {
	ts := newTenants(t)
	ctx := context.Background()
	cases := ts.isolationCases()
	for _, rt := range ts.srv.Config.Handler.(*server).table {
		if _, ok := cases[rt.pattern]; !ok {
			t.Errorf("route %q has no isolation case: add one to isolationCases", rt.pattern)
		}
	}
	callers := map[string]func() *http.Client{
		"nobody":        func() *http.Client { return ts.raw },
		"acme admin":    func() *http.Client { return ts.signIn(t, "acme-admin", waarborg.RoleAdmin, "acme") },
		"acme auditor":  func() *http.Client { return ts.signIn(t, "acme-auditor", waarborg.RoleAuditor, "acme") },
		"acme engineer": func() *http.Client { return ts.signIn(t, "acme-engineer", waarborg.RoleEngineer, "acme", "gamma") },
		"acme read token": func() *http.Client {
			return &http.Client{Transport: &tokenTransport{base: ts.raw.Transport, tokens: map[string]string{"read": ts.token(t, "read", "acme")}}}
		},
		"acme ingest token": func() *http.Client {
			tok := ts.token(t, "ingest", "acme")
			return &http.Client{Transport: &tokenTransport{base: ts.raw.Transport, tokens: map[string]string{"read": tok, "ingest": tok}}}
		},
	}
	usersBefore, _ := ts.users.ListUsers(ctx)
	tokensBefore, _ := ts.users.ListTokens(ctx)
	for who, client := range callers {
		c := client()
		if c.Jar == nil {
			jar, _ := cookiejar.New(nil)
			c.Jar = jar
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, pattern := range slices.Sorted(func(yield func(string) bool) {
			for p := range cases {
				if !yield(p) {
					return
				}
			}
		}) {
			if pattern == "POST /logout" {
				continue // run last: it ends the session the others use
			}
			ts.checkIsolated(t, c, who, pattern, cases[pattern])
		}
		ts.checkIsolated(t, c, who, "POST /logout", cases["POST /logout"])
	}

	if n, _ := ts.store.Size(ctx, "beta"); n != ts.bSize {
		t.Errorf("beta's log grew from %d to %d entries", ts.bSize, n)
	}
	usersAfter, _ := ts.users.ListUsers(ctx)
	for _, u := range usersAfter {
		if slices.Contains(u.Tenants, "beta") || u.Name == "planted" {
			i := slices.IndexFunc(usersBefore, func(b waarborg.User) bool { return b.Name == u.Name })
			if i < 0 || usersBefore[i].Role != u.Role || usersBefore[i].Disabled != u.Disabled || !slices.Equal(usersBefore[i].Tenants, u.Tenants) {
				t.Errorf("user %+v changed or appeared", u)
			}
		}
	}
	tokensAfter, _ := ts.users.ListTokens(ctx)
	for _, tk := range tokensBefore {
		if tk.Tenant == "beta" && !slices.ContainsFunc(tokensAfter, func(a waarborg.Token) bool { return a.ID == tk.ID }) {
			t.Errorf("beta's token %s was revoked", tk.ID)
		}
	}
	for _, tk := range tokensAfter {
		if tk.Tenant == "beta" && tk.ID != ts.bTokenID {
			t.Errorf("a token of beta appeared: %+v", tk)
		}
	}
}

func (ts *tenants) checkIsolated(t *testing.T, c *http.Client, who, pattern string, tc isolationCase) {
	t.Helper()
	var body io.Reader
	ctype := ""
	switch {
	case tc.form != nil:
		body, ctype = strings.NewReader(tc.form.Encode()), "application/x-www-form-urlencoded"
	case tc.body != "":
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequest(tc.method, ts.url+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	allowed := append([]int{401, 403, 404}, tc.ok...)
	// An unauthenticated page request goes to the sign-in page.
	if loc := resp.Header.Get("Location"); resp.StatusCode == 303 && strings.HasPrefix(loc, "/login?next=") {
		allowed = append(allowed, 303)
	}
	if !slices.Contains(allowed, resp.StatusCode) {
		t.Errorf("%s: %s %s answered %d, want one of %v: %.300s", who, tc.method, tc.path, resp.StatusCode, allowed, b)
	}
	// What the request itself holds may come back (a redirect to the
	// sign-in page names the path); anything else of beta must not.
	sent := tc.path + " " + tc.body + " " + tc.form.Encode()
	for _, secret := range ts.secretsOf {
		if !strings.Contains(sent, secret) && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s: %s %s (%d) holds %q of beta: %.300s", who, tc.method, tc.path, resp.StatusCode, secret, b)
		}
	}
}
