package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waarborg/waarborg/recordtest"
	"github.com/waarborg/waarborg/servicetest"
	"github.com/waarborg/waarborg/storetest"
)

// runMainEnv is runMain with environment variables.
func runMainEnv(t testing.TB, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), err
}

// The conformance scenario ingested into SQLite and into PostgreSQL (the
// latter chosen through WAARBORG_DB, as an operator would) gives the same
// controls document on both, field for field, but for the checkpoint's
// root hash and signature: the leaves commit to each ingest's receipt
// times, and each data directory signs with a key of its own. Its origin
// and size must match.
func TestConformanceSameOnBothBackends(t *testing.T) {
	if _, err := os.Stat(conformance); err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	var period struct{ Tenant, From, To string }
	recordtest.ReadJSON(t, filepath.Join(filepath.Dir(conformance), "period.json"), &period)
	docs := map[string]map[string]any{}
	var names []string
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env := map[string]string{"WAARBORG_DATA": t.TempDir(), "WAARBORG_DB": b.URL(t)}
			for _, want := range []string{"accepted 33974, duplicate 0, rejected 0", "accepted 0, duplicate 33974, rejected 0"} {
				out, errOut, err := runMainEnv(t, env, "", "ingest", "-q", conformance)
				if err != nil || !strings.HasPrefix(out, want) {
					t.Fatalf("ingest: %v\n%s%s", err, out, errOut)
				}
			}
			if out, errOut, err := runMainEnv(t, env, "", "verify"); err != nil || !strings.Contains(out, "vitafood: 33974 entries") {
				t.Fatalf("verify: %v\n%s%s", err, out, errOut)
			}
			out, errOut, err := runMainEnv(t, env, "", "controls", "--tenant", period.Tenant, "--from", period.From, "--to", period.To, "--json")
			if err != nil {
				t.Fatalf("controls: %v\n%s", err, errOut)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			cp, _ := doc["checkpoint"].(string)
			lines := strings.SplitN(cp, "\n", 3)
			if len(lines) < 3 || lines[1] != "33974" || !strings.HasSuffix(lines[0], "/waarborg/"+period.Tenant) {
				t.Fatalf("checkpoint %q is not of the whole log", cp)
			}
			doc["checkpoint"] = lines[0] + "\n" + lines[1] // origin and size
			docs[b.Name] = doc
			names = append(names, b.Name)
		})
	}
	if len(docs) < 2 {
		return // a backend skipped
	}
	a, _ := json.MarshalIndent(docs[names[0]], "", " ")
	b, _ := json.MarshalIndent(docs[names[1]], "", " ")
	if !bytes.Equal(a, b) {
		al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
		for i := range min(len(al), len(bl)) {
			if al[i] != bl[i] {
				t.Fatalf("controls differ at line %d:\n%s: %s\n%s: %s", i+1, names[0], al[i], names[1], bl[i])
			}
		}
		t.Fatalf("controls differ in length: %d and %d lines", len(al), len(bl))
	}
}

// waarborg migrate applies the schema once; a second run finds it current,
// and a URL that is not PostgreSQL's is refused.
func TestMigrate(t *testing.T) {
	db := servicetest.PostgresSchema(t)
	var first strings.Builder
	files, _ := filepath.Glob("../../postgres/migrations/*.sql")
	for _, f := range files {
		first.WriteString("applied " + strings.TrimSuffix(filepath.Base(f), ".sql") + "\n")
	}
	for _, want := range []string{first.String(), "schema is up to date\n"} {
		out, errOut, err := runMainEnv(t, map[string]string{"WAARBORG_DB": db}, "", "migrate")
		if err != nil || out != want {
			t.Errorf("migrate: %v %q, want %q\n%s", err, out, want, errOut)
		}
	}
	if _, _, err := runMain(t, "", "migrate", "--db", "mysql://x"); err == nil {
		t.Error("migrate of a mysql:// URL succeeded")
	}
}

// A node started on a shared database with an empty data directory does
// not make a key of its own when the database holds logs already.
func TestNoNewKeyForASharedDatabase(t *testing.T) {
	db := servicetest.PostgresSchema(t)
	in := `{"id":"a","tenant":"t","source":"s/x","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{"change_id":"c"}}` + "\n"
	if out, errOut, err := runMain(t, in, "ingest", "--data", t.TempDir(), "--db", db, "-"); err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, out, errOut)
	}
	other := t.TempDir()
	_, _, err := runMain(t, "", "verify", "--data", other, "--db", db)
	if err == nil || !strings.Contains(err.Error(), "signed by another key") {
		t.Errorf("verify with an empty data directory: %v, want a refusal", err)
	}
	if _, serr := os.Stat(filepath.Join(other, signerFile)); serr == nil {
		t.Error("a signing key was made")
	}
}
