package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

var (
	fieldRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE    = regexp.MustCompile(`\bid="([^"]+)"`)
	typeRE  = regexp.MustCompile(`\btype="(hidden|submit)"`)
)

// checkMarkup checks what every page must have: one h1, a main landmark,
// and a label for every form field.
func checkMarkup(t *testing.T, page string, body string) {
	t.Helper()
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%s: %d h1 headings, want 1", page, n)
	}
	if !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `<html lang="en">`) {
		t.Errorf("%s: no main landmark or language", page)
	}
	for _, field := range fieldRE.FindAllString(body, -1) {
		if typeRE.MatchString(field) || strings.Contains(field, "aria-label") {
			continue
		}
		m := idRE.FindStringSubmatch(field)
		if m == nil || !strings.Contains(body, `<label for="`+m[1]+`"`) {
			t.Errorf("%s: field without a label: %s", page, field)
		}
	}
}

func (ts *tenants) page(t *testing.T, c *http.Client, path string, want ...string) string {
	t.Helper()
	status, b := getBody(t, c, ts.url+path)
	body := string(b)
	if status != 200 {
		t.Fatalf("GET %s: %d %.500s", path, status, body)
	}
	checkMarkup(t, path, body)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s lacks %q", path, w)
		}
	}
	return body
}

// accessRecords returns "actor action object" of each evidence.access
// record of tenant.
func (ts *tenants) accessRecords(t *testing.T, tenant string) []string {
	t.Helper()
	ctx := context.Background()
	n, _ := ts.store.Size(ctx, tenant)
	var out []string
	for st, err := range ts.store.Records(ctx, tenant, 0, n) {
		if err != nil {
			t.Fatal(err)
		}
		r, err := waarborg.ParseRecord(st.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if r.Type == "evidence.access" {
			out = append(out, r.Actor+" "+r.Str("action")+" "+r.Str("object"))
		}
	}
	return out
}

func TestPages(t *testing.T) {
	ts := newTenants(t)
	ann := ts.signIn(t, "ann", waarborg.RoleCompliance, "acme")
	exc := "/t/acme/exceptions/PC-06/acme-secret-1"

	ts.page(t, ann, "/t/acme/", "CO1", "Access", "PC-06", `<svg class="chart"`, "pending exceptions", "not occurring")
	body := ts.page(t, ann, "/t/acme/controls/PC-06", "acme-secret-1", "acme-secret-2", "Mappings", "no-start")
	if !strings.Contains(body, `href="`+exc+`"`) {
		t.Errorf("the control page does not link %s", exc)
	}
	body = ts.page(t, ann, "/t/acme/controls/PC-06?q=secret-2&status=open")
	if strings.Contains(body, ">acme-secret-1<") || !strings.Contains(body, ">acme-secret-2<") {
		t.Error("the filter does not filter")
	}
	ts.page(t, ann, exc, `data-record="{`, "Verify on the server", "Verify in this browser", `name="action"`, "accept")

	// Management's response.
	resp, _ := postForm(t, ann, ts.url+exc, url.Values{"action": {"accept"}, "text": {"Accepted: the start was recorded on paper, see QA-17."}})
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), exc+"?done=wf.PC-06.acme-secret-1.") {
		t.Fatalf("accept: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ts.page(t, ann, resp.Header.Get("Location"), "Recorded in the ledger as", "recorded on paper, see QA-17", `class="status accepted"`)
	resp, body = postForm(t, ann, ts.url+exc, url.Values{"action": {"explain"}, "text": {"  "}})
	if resp.StatusCode != 400 || !strings.Contains(body, "text is required") {
		t.Errorf("empty text: %d", resp.StatusCode)
	}

	ts.page(t, ann, "/t/acme/records/acme-secret-1", "acme-secret-1", "Signed checkpoint", "test.example/waarborg/acme")
	ts.page(t, ann, "/t/acme/verify/acme-secret-1", "Verified.")
	if status, _ := getBody(t, browser(ann), ts.url+"/t/acme/ledger?id=acme-secret-1"); status != 303 {
		t.Errorf("ledger lookup: %d, want a redirect to the record", status)
	}
	ts.page(t, ann, "/t/acme/ledger?id=nope", "holds no record")
	size, _ := ts.store.Size(context.Background(), "acme")
	cps, _ := ts.store.Checkpoints(context.Background(), "acme")
	ts.page(t, ann, fmt.Sprintf("/t/acme/ledger?from=%d&to=%d", cps[0].Size, cps[len(cps)-1].Size), "Consistent.", "Signed checkpoints")
	ts.page(t, ann, "/t/acme/ledger?from=1&to=x", "Give the sizes of two checkpoints")
	for deadline := time.Now().Add(10 * time.Second); ; {
		body := ts.page(t, ann, "/t/acme/sources", "ede/line-1/mes")
		if !strings.Contains(body, "Reading the ledger") {
			if !strings.Contains(body, `<svg class="spark"`) || !strings.Contains(body, "waarborg/web") {
				t.Errorf("sources page without sparkline or the web's own access records: %.2000s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sources index did not catch up with %d entries", size)
		}
	}

	// Reports: generate, then download.
	resp, _ = postForm(t, ann, ts.url+"/t/acme/reports", url.Values{"type": {"2"}, "from": {"2026-03-01"}, "to": {"2026-03-02"}})
	if resp.StatusCode != 303 {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	id := loc.Query().Get("started")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(ts.page(t, ann, "/t/acme/reports"), id+"/bundle.zip"); {
		if time.Now().After(deadline) {
			t.Fatal("the report did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, b := getBody(t, ann, ts.url+"/t/acme/reports/"+id+"/bundle.zip")
	if status != 200 || string(b) != "bundle of acme: acme-secret-1\n" {
		t.Errorf("download: %d %q", status, b)
	}
	resp, body = postForm(t, ann, ts.url+"/t/acme/reports", url.Values{"type": {"2"}, "from": {"2026-03-02"}, "to": {"2026-03-01"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "must end after it starts") {
		t.Errorf("backward period: %d", resp.StatusCode)
	}

	// The auditor reads and downloads, and writes nothing.
	aud := ts.signIn(t, "aud", waarborg.RoleAuditor, "acme")
	body = ts.page(t, aud, exc, "read-only", "Verify on the server")
	if strings.Contains(body, `name="action"`) {
		t.Error("the auditor is offered the action form")
	}
	ts.page(t, aud, "/t/acme/reports", "bundle.zip")
	if strings.Contains(ts.page(t, aud, "/t/acme/reports"), "Generate Type II") {
		t.Error("the auditor is offered to generate")
	}
	if status, _ := getBody(t, aud, ts.url+"/t/acme/reports/"+id+"/bundle.zip"); status != 200 {
		t.Errorf("auditor download: %d", status)
	}
	for _, w := range []struct {
		path string
		form url.Values
	}{
		{exc, url.Values{"action": {"explain"}, "text": {"x"}}},
		{"/t/acme/reports", url.Values{"type": {"2"}, "from": {"2026-03-01"}, "to": {"2026-03-02"}}},
		{"/admin/users", url.Values{"name": {"x"}}},
		{"/admin/tokens", url.Values{"name": {"x"}}},
	} {
		if resp, _ := postForm(t, aud, ts.url+w.path, w.form); resp.StatusCode != 403 {
			t.Errorf("auditor POST %s: %d, want 403", w.path, resp.StatusCode)
		}
	}
	if status, _ := getBody(t, aud, ts.url+"/admin/users"); status != 403 {
		t.Errorf("auditor on the users page: %d", status)
	}

	// Every look at evidence by a person is in acme's ledger.
	got := ts.accessRecords(t, "acme")
	for _, want := range []string{
		"ann view exception/PC-06/acme-secret-1",
		"ann view record/acme-secret-1",
		fmt.Sprintf("ann view consistency/%d/%d", cps[0].Size, cps[len(cps)-1].Size),
		"ann download report/" + id + "/bundle.zip",
		"aud view exception/PC-06/acme-secret-1",
		"aud download report/" + id + "/bundle.zip",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no access record %q among %q", want, got)
		}
	}
}

func TestAdminPages(t *testing.T) {
	ts := newTenants(t)
	adm := ts.signIn(t, "adm", waarborg.RoleAdmin, "acme")
	ts.page(t, adm, "/admin/users", "adm", "Add a user")

	resp, body := postForm(t, adm, ts.url+"/admin/users", url.Values{"name": {"eve"}, "role": {"auditor"}, "tenants": {"acme"},
		"password": {"short"}, "password2": {"short"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "at least 12 characters") || strings.Contains(body, `value="short"`) {
		t.Errorf("short password: %d", resp.StatusCode)
	}
	resp, body = postForm(t, adm, ts.url+"/admin/users", url.Values{"name": {"eve"}, "role": {"auditor"}, "tenants": {"acme, gamma"},
		"password": {"twelve chars!"}, "password2": {"twelve chars!"}})
	if resp.StatusCode != 403 {
		t.Errorf("granting a tenant the admin lacks: %d %.200s", resp.StatusCode, body)
	}
	resp, _ = postForm(t, adm, ts.url+"/admin/users", url.Values{"name": {"eve"}, "role": {"auditor"}, "tenants": {"acme"},
		"password": {"twelve chars!"}, "password2": {"twelve chars!"}})
	if resp.StatusCode != 303 {
		t.Fatalf("add eve: %d", resp.StatusCode)
	}
	eve := browser(ts.raw)
	if resp, _ := postForm(t, eve, ts.url+"/login", url.Values{"name": {"eve"}, "password": {"twelve chars!"}}); resp.StatusCode != 303 {
		t.Fatalf("eve signs in: %d", resp.StatusCode)
	}
	// Disabling eve ends her session at once.
	ts.page(t, adm, "/admin/users/eve", "User eve")
	if resp, _ := postForm(t, adm, ts.url+"/admin/users/eve", url.Values{"role": {"auditor"}, "tenants": {"acme"}, "disabled": {"1"}}); resp.StatusCode != 303 {
		t.Fatalf("disable eve: %d", resp.StatusCode)
	}
	if status, _ := getBody(t, eve, ts.url+"/t/acme/"); status != 303 {
		t.Errorf("disabled eve's session: %d", status)
	}
	// An admin keeps their own admin role.
	if resp, _ := postForm(t, adm, ts.url+"/admin/users/adm", url.Values{"role": {"engineer"}, "tenants": {"acme"}}); resp.StatusCode != 400 {
		t.Errorf("self-demotion: %d", resp.StatusCode)
	}

	// A token's secret is shown once.
	resp, body = postForm(t, adm, ts.url+"/admin/tokens", url.Values{"name": {"line 2 feed"}, "scope": {"ingest"}, "tenant": {"acme"}})
	m := regexp.MustCompile(`value="(wbt_[0-9a-f]{8}_[A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 201 || m == nil {
		t.Fatalf("make token: %d", resp.StatusCode)
	}
	if strings.Contains(ts.page(t, adm, "/admin/tokens", "line 2 feed"), m[1]) {
		t.Error("the token's secret is shown again")
	}
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/records", strings.NewReader(batchEnd("acme", "via-token")))
	req.Header.Set("Authorization", "Bearer "+m[1])
	if resp, err := ts.raw.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("ingest with the new token: %v %v", resp.StatusCode, err)
	}
	if resp, _ := postForm(t, adm, ts.url+"/admin/tokens", url.Values{"name": {"x"}, "scope": {"metrics"}}); resp.StatusCode != 403 {
		t.Errorf("a metrics token by an admin of one tenant: %d", resp.StatusCode)
	}
	if strings.Contains(ts.logs.String(), "twelve chars!") || strings.Contains(ts.logs.String(), m[1]) {
		t.Error("a password or token is in the log")
	}
}

// The ledger page lists checkpoints a page at a time, newest first.
func TestLedgerPages(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	for i := range checkpointsPerPage + 5 {
		f.post(t, sample("acme", fmt.Sprintf("s-%d", i), i))
		if _, err := f.ledger.Sync(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	c := f.signIn(t, "ann", waarborg.RoleAuditor, "acme")
	_, b := getBody(t, c, f.url+"/t/acme/ledger")
	first := string(b)
	older := regexp.MustCompile(`href="(/t/acme/ledger\?before=\d+)"`).FindStringSubmatch(first)
	if older == nil || !strings.Contains(first, ">30</td>") || strings.Contains(first, ">5</td>") {
		t.Fatalf("first page: %.3000s", first)
	}
	_, b = getBody(t, c, f.url+strings.ReplaceAll(older[1], "&amp;", "&"))
	second := string(b)
	if !strings.Contains(second, ">5</td>") || !strings.Contains(second, ">1</td>") || strings.Contains(second, ">6</td>") || !strings.Contains(second, "Newest") {
		t.Errorf("second page: %.3000s", second)
	}
}
