package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg/recordtest"
)

// runMain runs the program in-process and returns its output and error.
func runMain(t testing.TB, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	getenv := func(string) string { return "" }
	err = run(context.Background(), args, getenv, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), err
}

const conformance = "../../../shared/conformance/basic/records.jsonl"

func TestConformanceIngestTwiceThenVerify(t *testing.T) {
	if _, err := os.Stat(conformance); err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	dir := t.TempDir()
	out, errOut, err := runMain(t, "", "ingest", "--data", dir, conformance)
	if err != nil || !strings.HasPrefix(out, "accepted 33974, duplicate 0, rejected 0") {
		t.Fatalf("first ingest: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = runMain(t, "", "ingest", "--data", dir, conformance)
	if err != nil || !strings.HasPrefix(out, "accepted 0, duplicate 33974, rejected 0") {
		t.Fatalf("second ingest: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = runMain(t, "", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "vitafood: 33974 entries") || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %v\n%s%s", err, out, errOut)
	}
}

func TestIngestReportsRejections(t *testing.T) {
	dir := t.TempDir()
	in := strings.Join([]string{
		`{"id":"a","tenant":"t","source":"s/x","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{"change_id":"c"}}`,
		``,
		`{"id":"b","tenant":"t","source":"s/x","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{}}`,
		`{"id":"a","tenant":"t","source":"s/x","type":"change.approve","time":"2026-03-01T06:00:00Z","data":{"change_id":"other"}}`,
		`not json`,
	}, "\n")
	out, errOut, err := runMain(t, in, "ingest", "-q", "--data", dir, "-")
	if err == nil {
		t.Error("ingest with rejected lines exited 0")
	}
	if !strings.HasPrefix(out, "accepted 1, duplicate 0, rejected 3") {
		t.Errorf("summary: %s", out)
	}
	for _, want := range []string{
		`stdin: line 3: record "b": data.change_id: is required for change.approve (rule required)`,
		`stdin: line 4: record "a": id: the tenant holds this id with other content; the first version stays (rule conflict)`,
		`stdin: line 5: not valid JSON`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// Changing one record's stored content in the SQLite file makes verify
// fail and name that record.
func TestVerifyNamesTamperedRecord(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for _, id := range []string{"r1", "r2", "r3"} {
		in.WriteString(`{"id":"` + id + `","tenant":"t","source":"ede/historian","type":"historian.sample","time":"2026-03-01T06:00:00Z","data":{"tag":"x","value":1}}` + "\n")
	}
	if out, errOut, err := runMain(t, in.String(), "ingest", "--data", dir, "-"); err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, out, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	// The log's one segment holds r1, r2 and r3, one line each.
	var entries []byte
	if err := db.QueryRow("SELECT entries FROM segments").Scan(&entries); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(entries), "\n")
	lines[1] = strings.Replace(lines[1], `"value":1`, `"value":2`, 1)
	_, err = db.Exec("UPDATE segments SET entries = ?", []byte(strings.Join(lines, "")))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runMain(t, "", "verify", "--data", dir)
	if err == nil {
		t.Fatal("verify exited 0 after tampering")
	}
	if !strings.Contains(out, "tampered r2 (entry 1)") || strings.Contains(out, "r1") || strings.Contains(out, "r3") {
		t.Errorf("verify output does not name exactly r2:\n%s", out)
	}
}

// Proofs printed by the CLI verify with merkle's proof package from the
// printed JSON and the verifier key alone.
func TestProofsVerifyFromPrintedJSON(t *testing.T) {
	dir := t.TempDir()
	rec := func(id string) string {
		return `{"id":"` + id + `","tenant":"t","source":"ede/historian","type":"historian.sample","time":"2026-03-01T06:00:00Z","data":{"tag":"x","value":1}}` + "\n"
	}
	// Two ingests: two checkpoints, of sizes 2 and 5.
	if _, _, err := runMain(t, rec("r1")+rec("r2"), "ingest", "--data", dir, "-"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runMain(t, rec("r3")+rec("r4")+rec("r5"), "ingest", "--data", dir, "-"); err != nil {
		t.Fatal(err)
	}
	key, _, err := runMain(t, "", "key", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		t.Fatalf("key prints %q: %v", key, err)
	}
	openCP := func(text string) (uint64, []byte) {
		n, err := note.Open([]byte(text), note.VerifierList(verifier))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(n.Text, "\n")
		size, _ := strconv.ParseUint(lines[1], 10, 64)
		root, _ := base64.StdEncoding.DecodeString(lines[2])
		return size, root
	}

	out, errOut, err := runMain(t, "", "proof", "--data", dir, "--tenant", "t", "--id", "r2")
	if err != nil {
		t.Fatalf("proof: %v\n%s", err, errOut)
	}
	var inc struct {
		Leaf       string   `json:"leaf"`
		LeafIndex  uint64   `json:"leaf_index"`
		Proof      [][]byte `json:"proof"`
		Checkpoint string   `json:"checkpoint"`
	}
	if err := json.Unmarshal([]byte(out), &inc); err != nil {
		t.Fatal(err)
	}
	size, root := openCP(inc.Checkpoint)
	if size != 5 || inc.LeafIndex != 1 {
		t.Fatalf("proof of r2 is for entry %d in size %d", inc.LeafIndex, size)
	}
	if !strings.HasPrefix(inc.Leaf, "waarborg-leaf/v1\nt\nr2\n") {
		t.Errorf("leaf = %q", inc.Leaf)
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf([]byte(inc.Leaf))
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, inc.LeafIndex, size, leafHash, inc.Proof, root); err != nil {
		t.Errorf("inclusion proof does not verify: %v", err)
	}

	out, errOut, err = runMain(t, "", "proof", "--data", dir, "--tenant", "t", "--consistency", "2", "5")
	if err != nil {
		t.Fatalf("consistency proof: %v\n%s", err, errOut)
	}
	var con struct {
		Old, New struct {
			Checkpoint string `json:"checkpoint"`
		}
		Proof [][]byte `json:"proof"`
	}
	if err := json.Unmarshal([]byte(out), &con); err != nil {
		t.Fatal(err)
	}
	size1, root1 := openCP(con.Old.Checkpoint)
	size2, root2 := openCP(con.New.Checkpoint)
	if size1 != 2 || size2 != 5 {
		t.Fatalf("consistency between sizes %d and %d", size1, size2)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, con.Proof, root1, root2); err != nil {
		t.Errorf("consistency proof does not verify: %v", err)
	}

	if _, errOut, err := runMain(t, "", "proof", "--data", dir, "--tenant", "t", "--id", "nope"); err == nil || !strings.Contains(errOut+err.Error(), "no record") {
		t.Errorf("proof of a missing record: %v %s", err, errOut)
	}
}

// The conformance scenario through the CLI: ingest, then controls --json
// gives expected.json per control (objective, population, result, and each
// subject with its sorted reasons).
func TestConformanceControls(t *testing.T) {
	if _, err := os.Stat(conformance); err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	dir := t.TempDir()
	if out, errOut, err := runMain(t, "", "ingest", "-q", "--data", dir, conformance); err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, out, errOut)
	}
	var period struct{ Tenant, From, To string }
	recordtest.ReadJSON(t, filepath.Join(filepath.Dir(conformance), "period.json"), &period)
	out, errOut, err := runMain(t, "", "controls", "--data", dir, "--tenant", period.Tenant, "--from", period.From, "--to", period.To, "--json")
	if err != nil {
		t.Fatalf("controls: %v\n%s", err, errOut)
	}
	type doc struct {
		Checkpoint string
		Controls   []struct {
			ID, Objective, Result string
			Population            int
			Exceptions            []struct {
				Subject string
				Reasons []string
			}
		}
	}
	var got, want doc
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	recordtest.ReadJSON(t, filepath.Join(filepath.Dir(conformance), "expected.json"), &want)
	if !strings.Contains(got.Checkpoint, "/waarborg/"+period.Tenant+"\n33974\n") {
		t.Errorf("checkpoint %q is not the log the evaluation read", got.Checkpoint)
	}
	byID := map[string]int{}
	for i, c := range got.Controls {
		byID[c.ID] = i
	}
	for _, w := range want.Controls {
		i, ok := byID[w.ID]
		if !ok {
			t.Errorf("%s: missing", w.ID)
			continue
		}
		g := got.Controls[i]
		if w.Result == "" { // expected.json leaves it to the spec's rule
			switch {
			case w.Population == 0:
				w.Result = "not-occurring"
			case len(w.Exceptions) > 0:
				w.Result = "exceptions"
			default:
				w.Result = "effective"
			}
		}
		if g.Objective != w.Objective || g.Population != w.Population || g.Result != w.Result {
			t.Errorf("%s: got %s %d %s, want %s %d %s", w.ID, g.Objective, g.Population, g.Result, w.Objective, w.Population, w.Result)
		}
		if fmt.Sprint(g.Exceptions) != fmt.Sprint(w.Exceptions) {
			t.Errorf("%s exceptions:\n got %v\nwant %v", w.ID, g.Exceptions, w.Exceptions)
		}
	}
}

// An evidence bundle written by the CLI verifies with the verifier key
// alone, and one changed byte of evidence makes verify-bundle fail.
func TestBundleVerifies(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, `{"id":"h%03d","tenant":"t","source":"ede/historian","type":"historian.sample","time":"2026-03-01T06:%02d:00Z","data":{"tag":"x","value":%d}}`+"\n", i, i%60, i)
	}
	if _, errOut, err := runMain(t, in.String(), "ingest", "--data", dir, "-"); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut)
	}
	key, _, err := runMain(t, "", "key", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bundle.zip")
	if out, errOut, err := runMain(t, "", "bundle", "--data", dir, "--tenant", "t", "--from", "2026-03-01", "--to", "2026-03-02", "--out", file); err != nil {
		t.Fatalf("bundle: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runMain(t, "", "verify-bundle", "--key", strings.TrimSpace(key), file); err != nil {
		t.Fatalf("verify-bundle of an intact bundle: %v\n%s%s", err, out, errOut)
	}
	// Rewrite the bundle with one record's value changed.
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.zip")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	changed := false
	for _, zf := range zr.File {
		r, _ := zf.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		if strings.HasSuffix(zf.Name, ".jsonl") && !changed && bytes.Contains(b, []byte(`"value":150}`)) {
			b, changed = bytes.Replace(b, []byte(`"value":150}`), []byte(`"value":151}`), 1), true
		}
		w, _ := zw.Create(zf.Name)
		w.Write(b)
	}
	zr.Close()
	zw.Close()
	f.Close()
	if !changed {
		t.Fatal("found no record to change in the bundle")
	}
	out, errOut, err := runMain(t, "", "verify-bundle", "--key", strings.TrimSpace(key), bad)
	if err == nil || !strings.Contains(out+errOut, "h150") {
		t.Errorf("verify-bundle of a changed bundle: %v, want a failure naming h150\n%s%s", err, out, errOut)
	}
}

// Users and tokens are managed from the command line: the password comes
// on stdin (or a terminal), never in a flag, and is never printed.
func TestUserAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	const password = "a good long passphrase"
	out, errOut, err := runMain(t, password+"\n", "user", "add", "--data", dir, "--name", "adm", "--role", "admin", "--tenant", "*")
	if err != nil || !strings.Contains(out, "added adm (admin)") {
		t.Fatalf("user add: %v\n%s%s", err, out, errOut)
	}
	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"taken name", password, []string{"--name", "adm", "--role", "admin", "--tenant", "acme"}, "exists already"},
		{"short password", "short", []string{"--name", "bob", "--role", "engineer", "--tenant", "acme"}, "at least 12 characters"},
		{"unknown role", password, []string{"--name", "bob", "--role", "root", "--tenant", "acme"}, "role \"root\""},
		{"auditor of two", password, []string{"--name", "bob", "--role", "auditor", "--tenant", "acme,beta"}, "exactly one tenant"},
		{"no tenant", password, []string{"--name", "bob", "--role", "engineer"}, "at least one tenant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runMain(t, tt.stdin+"\n", append([]string{"user", "add", "--data", dir}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q\n%s%s", err, tt.want, out, errOut)
			}
			if strings.Contains(out+errOut+fmt.Sprint(err), tt.stdin) {
				t.Error("the password is printed")
			}
		})
	}
	if _, _, err := runMain(t, password+"\n", "user", "add", "--data", dir, "--name", "aud", "--role", "auditor", "--tenant", "acme"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runMain(t, "", "user", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "adm   admin    *") || !strings.Contains(out, "aud   auditor  acme") || strings.Contains(out, "argon2") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if out, _, err := runMain(t, "another good passphrase\n", "user", "passwd", "--data", dir, "--name", "aud"); err != nil || !strings.Contains(out, "ended their sessions") {
		t.Errorf("user passwd: %v %s", err, out)
	}

	out, errOut, err = runMain(t, "", "token", "add", "--data", dir, "--name", "ede feed", "--scope", "ingest", "--tenant", "acme")
	token := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(token, "wbt_") || !strings.Contains(errOut, "not shown again") {
		t.Fatalf("token add: %v\n%s%s", err, out, errOut)
	}
	id := strings.Split(token, "_")[1]
	if out, _, err := runMain(t, "", "token", "list", "--data", dir); err != nil || !strings.Contains(out, id) || strings.Contains(out, token) {
		t.Errorf("token list: %v\n%s", err, out)
	}
	if _, _, err := runMain(t, "", "token", "add", "--data", dir, "--name", "x", "--scope", "metrics", "--tenant", "acme"); err == nil {
		t.Error("a metrics token with a tenant")
	}
	if out, _, err := runMain(t, "", "token", "revoke", "--data", dir, "--id", id); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("token revoke: %v %s", err, out)
	}
	if _, _, err := runMain(t, "", "token", "revoke", "--data", dir, "--id", id); err == nil {
		t.Error("revoking twice succeeded")
	}
}
