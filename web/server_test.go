package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/auth"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/storetest"
)

// fixture is a server on a real SQLite store and ledger, with a fresh key.
// Its client authenticates as the API's machines do: a token for ingest,
// one for reading and one for metrics, each of every tenant, picked by the
// request's path. Tests of people use signIn.
type fixture struct {
	url      string
	client   *http.Client // sends the fixture's tokens
	raw      *http.Client // sends nothing
	ledger   *ledger.Ledger
	store    waarborg.Store
	users    waarborg.Users // the store's
	vkey     string         // the verifier key, as an auditor would be given it
	verifier note.Verifier
	logs     *syncBuffer
	tokens   map[string]string // by scope
	deps     Deps
	srv      *httptest.Server
}

// newFixture is a server on SQLite.
func newFixture(tb testing.TB, maxBody int64) *fixture {
	tb.Helper()
	return newFixtureOn(tb, storetest.Backends()[0], maxBody)
}

// onEachBackend runs a test on a server over each store.
func onEachBackend(t *testing.T, maxBody int64, test func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { test(t, newFixtureOn(t, b, maxBody)) })
	}
}

// newFixtureOn is a server on a new store of backend b.
func newFixtureOn(tb testing.TB, b storetest.Backend, maxBody int64) *fixture {
	tb.Helper()
	store := b.Open(tb)
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.Open(ledger.Config{Store: store, Signer: signer, Deployment: "test.example"})
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Error(err)
		}
	})
	users, ok := store.(waarborg.Users)
	if !ok {
		tb.Fatalf("the %s store keeps no users", b.Name)
	}
	logs := &syncBuffer{}
	f := &fixture{ledger: l, store: store, users: users, vkey: vkey, verifier: verifier, logs: logs, tokens: map[string]string{}}
	for _, scope := range []string{waarborg.ScopeIngest, waarborg.ScopeRead, waarborg.ScopeMetrics} {
		tenant := waarborg.AllTenants
		if scope == waarborg.ScopeMetrics {
			tenant = ""
		}
		f.tokens[scope] = f.token(tb, scope, tenant)
	}
	f.start(tb, Deps{
		Ledger:      l,
		Store:       store,
		Users:       users,
		Verifier:    verifier,
		VerifierKey: vkey,
		Deployment:  "test.example",
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		Metrics:     prometheus.NewRegistry(),
		MaxBody:     maxBody,
	})
	return f
}

// start serves deps, replacing the server the fixture talks to.
func (f *fixture) start(tb testing.TB, deps Deps) {
	tb.Helper()
	f.deps = deps
	srv := httptest.NewServer(NewServer(deps))
	tb.Cleanup(srv.Close)
	f.srv, f.url = srv, srv.URL
	f.raw = srv.Client()
	// The default of 2 idle connections would make concurrent clients
	// dial anew for most requests.
	f.raw.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	f.client = &http.Client{Transport: &tokenTransport{base: f.raw.Transport, tokens: f.tokens}}
}

// token makes an API token and returns its secret text.
func (f *fixture) token(tb testing.TB, scope, tenant string) string {
	tb.Helper()
	text, id, digest, err := auth.NewToken()
	if err != nil {
		tb.Fatal(err)
	}
	t := &waarborg.Token{ID: id, Name: "test " + scope, Tenant: tenant, Scope: scope, Digest: digest, Created: time.Now(), CreatedBy: "test"}
	if err := t.Validate(); err != nil {
		tb.Fatal(err)
	}
	if err := f.users.AddToken(context.Background(), t); err != nil {
		tb.Fatal(err)
	}
	return text
}

// user adds a person whose password is "password of " and the name.
func (f *fixture) user(tb testing.TB, name, role string, tenants ...string) {
	tb.Helper()
	hash, err := auth.HashPassword("password of "+name, auth.Cheap)
	if err != nil {
		tb.Fatal(err)
	}
	u := &waarborg.User{Name: name, Role: role, Tenants: tenants, Password: hash, Created: time.Now()}
	if err := u.Validate(); err != nil {
		tb.Fatal(err)
	}
	if err := f.users.AddUser(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
}

// signIn adds a person and returns a client signed in as them: a browser,
// with a cookie jar, that does not follow redirects.
func (f *fixture) signIn(tb testing.TB, name, role string, tenants ...string) *http.Client {
	tb.Helper()
	f.user(tb, name, role, tenants...)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: f.raw.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(f.url+"/login", url.Values{"name": {name}, "password": {"password of " + name}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in as %s: %d", name, resp.StatusCode)
	}
	return c
}

// tokenTransport adds the fixture's token for the request's path, unless
// the request has an Authorization header already.
type tokenTransport struct {
	base   http.RoundTripper
	tokens map[string]string
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := r.Header["Authorization"]; !ok {
		scope := waarborg.ScopeRead
		switch {
		case r.URL.Path == "/metrics":
			scope = waarborg.ScopeMetrics
		case r.Method == "POST" && r.URL.Path == "/api/v1/records":
			scope = waarborg.ScopeIngest
		}
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+t.tokens[scope])
	}
	return t.base.RoundTrip(r)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (f *fixture) do(tb testing.TB, method, path string, body io.Reader, header ...string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return doRequest(tb, f.client, req)
}

func (f *fixture) post(tb testing.TB, lines ...string) (int, batchResult) {
	tb.Helper()
	status, body := f.do(tb, "POST", "/api/v1/records", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	var res batchResult
	if err := json.Unmarshal(body, &res); err != nil {
		tb.Fatalf("POST answered %d %s: %v", status, body, err)
	}
	return status, res
}

func sample(tenant, id string, value int) string {
	return fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"ede/line-2/historian","type":"historian.sample","time":"2026-03-01T07:00:00.000+01:00","data":{"tag":"TT-101","value":%d}}`, id, tenant, value)
}

func count(tenant, id, quantity string) string {
	return fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"ede/line-2/scada","type":"production.count","time":"2026-03-01T06:15:00Z","data":{"line":"line-2","product":"choco-200g","quantity":%s,"unit":"pcs","start":"2026-03-01T06:00:00Z","end":"2026-03-01T06:15:00Z"}}`, id, tenant, quantity)
}

func idx(n uint64) *uint64 { return &n }

// The cases run in order on one server: each sees what the earlier ones stored.
func TestPostRecords(t *testing.T) {
	onEachBackend(t, 0, func(t *testing.T, f *fixture) {
		type counts struct{ accepted, duplicate, rejected int }
		tests := []struct {
			name   string
			body   string
			status int
			counts counts
			want   []lineResult
		}{
			{
				name:   "accepted",
				body:   sample("acme", "a-1", 20) + "\n",
				status: 200,
				counts: counts{1, 0, 0},
				want:   []lineResult{{Line: 1, ID: "a-1", Status: "accepted", Index: idx(0)}},
			},
			{
				name:   "duplicate",
				body:   sample("acme", "a-1", 20) + "\n",
				status: 200,
				counts: counts{0, 1, 0},
				want:   []lineResult{{Line: 1, ID: "a-1", Status: "duplicate"}},
			},
			{
				name:   "conflict",
				body:   sample("acme", "a-1", 21) + "\n",
				status: 422,
				counts: counts{0, 0, 1},
				want: []lineResult{{Line: 1, ID: "a-1", Status: "rejected",
					Error: &lineError{Code: "conflict", Field: "id", Rule: "conflict"}}},
			},
			{
				name:   "invalid line names field and rule",
				body:   count("acme", "p-1", "-5") + "\n",
				status: 422,
				counts: counts{0, 0, 1},
				want: []lineResult{{Line: 1, ID: "p-1", Status: "rejected",
					Error: &lineError{Code: "invalid", Field: "data.quantity", Rule: "range"}}},
			},
			{
				name:   "not JSON",
				body:   `{"id":"a-9",` + "\n",
				status: 422,
				counts: counts{0, 0, 1},
				want:   []lineResult{{Line: 1, Status: "rejected", Error: &lineError{Code: "invalid", Rule: "json"}}},
			},
			{
				name: "mixed batch keeps valid lines",
				body: strings.Join([]string{
					sample("acme", "a-2", 22),
					"",
					strings.Replace(sample("acme", "a-3", 23), "historian.sample", "historian.guess", 1),
					"   ",
					sample("beta", "b-1", 1),
					sample("acme", "a-1", 20),
					count("acme", "p-2", "12.5"),
				}, "\n"),
				status: 422,
				counts: counts{3, 1, 1},
				want: []lineResult{
					{Line: 1, ID: "a-2", Status: "accepted", Index: idx(1)},
					{Line: 3, ID: "a-3", Status: "rejected", Error: &lineError{Code: "invalid", Field: "type", Rule: "enum"}},
					{Line: 5, ID: "b-1", Status: "accepted", Index: idx(0)},
					{Line: 6, ID: "a-1", Status: "duplicate"},
					{Line: 7, ID: "p-2", Status: "accepted", Index: idx(2)},
				},
			},
			{
				name:   "CRLF and no final newline",
				body:   sample("acme", "a-4", 24) + "\r\n" + sample("acme", "a-5", 25),
				status: 200,
				counts: counts{2, 0, 0},
				want: []lineResult{
					{Line: 1, ID: "a-4", Status: "accepted", Index: idx(3)},
					{Line: 2, ID: "a-5", Status: "accepted", Index: idx(4)},
				},
			},
			{
				name:   "empty",
				body:   "\n\n",
				status: 200,
				want:   []lineResult{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := f.do(t, "POST", "/api/v1/records", strings.NewReader(tt.body), "Content-Type", "application/x-ndjson")
				if status != tt.status {
					t.Errorf("status %d, want %d: %s", status, tt.status, body)
				}
				var got batchResult
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				if c := (counts{got.Accepted, got.Duplicate, got.Rejected}); c != tt.counts {
					t.Errorf("counts %+v, want %+v", c, tt.counts)
				}
				if len(got.Results) != len(tt.want) {
					t.Fatalf("%d results, want %d: %s", len(got.Results), len(tt.want), body)
				}
				for i, w := range tt.want {
					g := got.Results[i]
					if g.Error != nil && g.Error.Message == "" {
						t.Errorf("result %d: error without a message", i)
					}
					if g.Error != nil {
						g.Error = &lineError{Code: g.Error.Code, Field: g.Error.Field, Rule: g.Error.Rule}
					}
					if gj, wj := jsonString(g), jsonString(w); gj != wj {
						t.Errorf("result %d:\n got %s\nwant %s", i, gj, wj)
					}
				}
			})
		}

		// What the batch kept is there to read; the first version of a-1 stays.
		for _, path := range []string{"/api/v1/tenants/acme/records/a-2", "/api/v1/tenants/beta/records/b-1", "/api/v1/tenants/acme/records/p-2"} {
			if status, body := f.do(t, "GET", path, nil); status != 200 {
				t.Errorf("GET %s: %d %s", path, status, body)
			}
		}
		var p ledger.InclusionProof
		getJSON(t, f, "/api/v1/tenants/acme/records/a-1", &p)
		if !bytes.Contains(p.Record, []byte(`"value":20`)) {
			t.Errorf("a-1 is %s, want the first version", p.Record)
		}
	})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func getJSON(tb testing.TB, f *fixture, path string, v any) {
	tb.Helper()
	status, body := f.do(tb, "GET", path, nil)
	if status != 200 {
		tb.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func TestTooLarge(t *testing.T) {
	const limit = 1024
	var body strings.Builder
	for i := 0; body.Len() <= limit; i++ {
		body.WriteString(sample("acme", "big-"+strconv.Itoa(i), i) + "\n")
	}
	tests := []struct {
		name string
		body func() io.Reader
	}{
		{"declared length", func() io.Reader { return strings.NewReader(body.String()) }},
		// Without a length the server finds out only while reading.
		{"chunked", func() io.Reader { return io.MultiReader(strings.NewReader(body.String())) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, limit)
			status, b := f.do(t, "POST", "/api/v1/records", tt.body())
			if status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %s", status, b)
			}
			if code := errorCodeOf(t, b); code != "too_large" {
				t.Errorf("code %q, want too_large", code)
			}
			if n, err := f.store.Size(context.Background(), "acme"); err != nil || n != 0 {
				t.Errorf("log size %d (%v) after a refused batch, want 0", n, err)
			}
			// A batch under the limit still goes through.
			if status, res := f.post(t, sample("acme", "small", 1)); status != 200 || res.Accepted != 1 {
				t.Errorf("small batch: %d %+v", status, res)
			}
		})
	}
}

func errorCodeOf(tb testing.TB, body []byte) string {
	tb.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		tb.Fatalf("not a JSON error (%v): %s", err, body)
	}
	return e.Error.Code
}

func TestErrors(t *testing.T) {
	f := newFixture(t, 0)
	if status, res := f.post(t, sample("acme", "a-1", 1)); status != 200 {
		t.Fatalf("POST: %d %+v", status, res)
	}
	if _, err := f.ledger.Sync(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/tenants/acme/records/nope", 404, "not_found"},
		{"GET", "/api/v1/tenants/nobody/records/a-1", 404, "not_found"},
		{"GET", "/api/v1/tenants/acme/records/a-1?size=7", 404, "not_found"},
		{"GET", "/api/v1/tenants/nobody/checkpoint", 404, "not_found"},
		{"GET", "/api/v1/tenants/acme/consistency?from=1&to=7", 404, "not_found"},
		{"GET", "/api/v1/tenants/nobody/consistency?from=1", 404, "not_found"},
		{"GET", "/api/v1/nothing-here", 404, "not_found"},
		{"GET", "/api/v1/tenants/Acme_Corp/records/a-1", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/records/a%20b", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/records/" + strings.Repeat("x", 129), 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/records/a-1?size=x", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/records/a-1?size=-1", 400, "invalid"},
		{"GET", "/api/v1/tenants/ACME/checkpoint", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/consistency", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/consistency?from=0&to=1", 400, "invalid"},
		{"GET", "/api/v1/tenants/acme/consistency?from=2&to=1", 400, "invalid"},
		{"GET", "/api/v1/records", 405, "method_not_allowed"},
		{"DELETE", "/api/v1/tenants/acme/records/a-1", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, body := f.do(t, tt.method, tt.path, nil)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if code := errorCodeOf(t, body); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
		})
	}
}

// rawInclusion is the inclusion proof as an auditor without waarborg's code
// reads it: only the documented JSON fields.
type rawInclusion struct {
	Record        json.RawMessage `json:"record"`
	ContentSHA256 string          `json:"content_sha256"`
	Leaf          string          `json:"leaf"`
	LeafIndex     uint64          `json:"leaf_index"`
	TreeSize      uint64          `json:"tree_size"`
	Proof         [][]byte        `json:"proof"`
	Checkpoint    string          `json:"checkpoint"`
}

// openNote checks a checkpoint's signature with the verifier key alone and
// returns its size and root hash.
func openNote(t *testing.T, vkey, signed string) (uint64, []byte) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 3 || !strings.HasSuffix(lines[0], "/waarborg/acme") {
		t.Fatalf("checkpoint %q", n.Text)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return size, root
}

func verifyRawInclusion(t *testing.T, vkey string, body []byte) error {
	t.Helper()
	var p rawInclusion
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	size, root := openNote(t, vkey, p.Checkpoint)
	if size != p.TreeSize {
		return fmt.Errorf("checkpoint size %d, proof says %d", size, p.TreeSize)
	}
	sum := sha256.Sum256(p.Record)
	if hex.EncodeToString(sum[:]) != p.ContentSHA256 || !strings.HasSuffix(p.Leaf, "\n"+p.ContentSHA256+"\n") {
		return fmt.Errorf("leaf %q does not commit to the record's hash %x", p.Leaf, sum)
	}
	h := rfc6962.DefaultHasher
	return proof.VerifyInclusion(h, p.LeafIndex, size, h.HashLeaf([]byte(p.Leaf)), p.Proof, root)
}

func TestProofs(t *testing.T) {
	onEachBackend(t, 0, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var lines []string
		for i := range 5 {
			lines = append(lines, sample("acme", fmt.Sprintf("a-%d", i), i))
		}
		if status, res := f.post(t, lines...); status != 200 || res.Accepted != 5 {
			t.Fatalf("POST: %d %+v", status, res)
		}
		// Reading a record that no checkpoint covers yet has one signed.
		status, body := f.do(t, "GET", "/api/v1/tenants/acme/records/a-3", nil)
		if status != 200 {
			t.Fatalf("GET: %d %s", status, body)
		}
		var p ledger.InclusionProof
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.TreeSize != 5 || p.LeafIndex != 3 {
			t.Errorf("proof of entry %d in size %d, want 3 in 5", p.LeafIndex, p.TreeSize)
		}
		if err := ledger.CheckInclusion(&p, f.verifier); err != nil {
			t.Errorf("CheckInclusion: %v", err)
		}
		if err := verifyRawInclusion(t, f.vkey, body); err != nil {
			t.Errorf("RFC 6962 inclusion: %v", err)
		}
		tampered := bytes.Replace(body, []byte(`"value":3`), []byte(`"value":4`), 1)
		if err := verifyRawInclusion(t, f.vkey, tampered); err == nil {
			t.Error("a changed record verified")
		}

		lines = lines[:0]
		for i := 5; i < 8; i++ {
			lines = append(lines, sample("acme", fmt.Sprintf("a-%d", i), i))
		}
		if status, res := f.post(t, lines...); status != 200 || res.Accepted != 3 {
			t.Fatalf("POST: %d %+v", status, res)
		}
		if _, err := f.ledger.Sync(ctx, "acme"); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, path string
			size       uint64 // of the checkpoint proved against
		}{
			{"latest", "/api/v1/tenants/acme/records/a-6", 8},
			{"older checkpoint", "/api/v1/tenants/acme/records/a-0?size=5", 5},
			{"last leaf", "/api/v1/tenants/acme/records/a-7?size=8", 8},
		}
		for _, tt := range tests {
			t.Run("inclusion "+tt.name, func(t *testing.T) {
				status, body := f.do(t, "GET", tt.path, nil)
				if status != 200 {
					t.Fatalf("%d %s", status, body)
				}
				var p ledger.InclusionProof
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				if p.TreeSize != tt.size {
					t.Errorf("tree size %d, want %d", p.TreeSize, tt.size)
				}
				if err := ledger.CheckInclusion(&p, f.verifier); err != nil {
					t.Errorf("CheckInclusion: %v", err)
				}
				if err := verifyRawInclusion(t, f.vkey, body); err != nil {
					t.Errorf("RFC 6962 inclusion: %v", err)
				}
			})
		}

		for _, path := range []string{"/api/v1/tenants/acme/consistency?from=5&to=8", "/api/v1/tenants/acme/consistency?from=5"} {
			t.Run("consistency "+path, func(t *testing.T) {
				var c ledger.ConsistencyProof
				getJSON(t, f, path, &c)
				if c.Old.Size != 5 || c.New.Size != 8 {
					t.Errorf("sizes %d, %d; want 5, 8", c.Old.Size, c.New.Size)
				}
				if err := ledger.CheckConsistency(&c, f.verifier); err != nil {
					t.Errorf("CheckConsistency: %v", err)
				}
				size1, root1 := openNote(t, f.vkey, c.Old.Checkpoint)
				size2, root2 := openNote(t, f.vkey, c.New.Checkpoint)
				if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, c.Proof, root1, root2); err != nil {
					t.Errorf("RFC 6962 consistency: %v", err)
				}
			})
		}

		t.Run("checkpoint", func(t *testing.T) {
			var cp checkpointJSON
			getJSON(t, f, "/api/v1/tenants/acme/checkpoint", &cp)
			size, root := openNote(t, f.vkey, cp.Checkpoint)
			if cp.Tenant != "acme" || cp.TreeSize != 8 || size != 8 || !bytes.Equal(root, cp.RootHash) || cp.SignedAt == "" {
				t.Errorf("checkpoint %+v, note states size %d root %x", cp, size, root)
			}
			status, body := f.do(t, "GET", "/api/v1/tenants/acme/checkpoint", nil, "Accept", "text/plain")
			if status != 200 || string(body) != cp.Checkpoint {
				t.Errorf("text/plain: %d %q, want the note %q", status, body, cp.Checkpoint)
			}
		})
	})
}

func TestMetricsAndLogs(t *testing.T) {
	f := newFixture(t, 0)
	f.post(t, sample("acme", "a-1", 1), sample("acme", "a-2", 2), "{}")
	if status, body := f.do(t, "GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d %s", status, body)
	}
	status, body := f.do(t, "GET", "/metrics", nil)
	if status != 200 {
		t.Fatalf("metrics: %d %s", status, body)
	}
	for _, want := range []string{
		`waarborg_records_total{outcome="accepted"} 2`,
		`waarborg_records_total{outcome="duplicate"} 0`,
		`waarborg_records_total{outcome="rejected"} 1`,
		`waarborg_ledger_size{tenant="acme"} 2`,
		`waarborg_http_request_duration_seconds_count{code="422",method="POST",route="POST /api/v1/records"} 1`,
	} {
		if !bytes.Contains(body, []byte(want+"\n")) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var entry struct {
		Msg, Method, Route string
		Status             int
	}
	line, _, _ := strings.Cut(f.logs.String(), "\n")
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("log %q: %v", line, err)
	}
	if entry.Msg != "request" || entry.Method != "POST" || entry.Route != "POST /api/v1/records" || entry.Status != 422 {
		t.Errorf("log entry %+v", entry)
	}
}

// BenchmarkPostRecords measures ingestion over loopback: 8 clients each
// posting batches of 1000 historian samples, all durable before each answer.
func BenchmarkPostRecords(b *testing.B) {
	const clients, batch = 8, 1000
	f := newFixture(b, 0)
	var (
		next    int
		records int
	)
	body := func(c int) []byte {
		var buf bytes.Buffer
		for i := range batch {
			fmt.Fprintf(&buf, "%s\n", sample("bench", fmt.Sprintf("r-%d-%d-%d", next, c, i), i))
		}
		return buf.Bytes()
	}
	for b.Loop() {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				resp, err := f.client.Post(f.url+"/api/v1/records", "application/x-ndjson", bytes.NewReader(body(c)))
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				res, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					b.Errorf("POST: %d %s", resp.StatusCode, res)
				}
			})
		}
		wg.Wait()
		next++
		records += clients * batch
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGetRecord measures reading a record with its inclusion proof
// from a log of 100 000 entries.
func BenchmarkGetRecord(b *testing.B) {
	const size = 100_000
	f := newFixture(b, 0)
	var buf bytes.Buffer
	for i := range size {
		fmt.Fprintf(&buf, "%s\n", sample("bench", fmt.Sprintf("r-%d", i), i))
	}
	if status, body := f.do(b, "POST", "/api/v1/records", &buf); status != 200 {
		b.Fatalf("POST: %d %.200s", status, body)
	}
	if _, err := f.ledger.Sync(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		path := fmt.Sprintf("/api/v1/tenants/bench/records/r-%d", i*7919%size)
		if status, body := f.do(b, "GET", path, nil); status != 200 {
			b.Fatalf("GET %s: %d %s", path, status, body)
		}
		i++
	}
}
