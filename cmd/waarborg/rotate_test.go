package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// A key rotation in the middle of a period: verify and the bundle hold with
// the old key or the new, and a checkpoint signed by a key that the ledger
// never introduced is rejected.
func TestKeyRotationMidPeriod(t *testing.T) {
	dir, oldKey := deployment(t, 20, 0)
	out, errOut, err := runMain(t, "", "key", "rotate", "--data", dir)
	if err != nil {
		t.Fatalf("key rotate: %v\n%s", err, errOut)
	}
	newKey, _, _ := runMain(t, "", "key", "--data", dir)
	newKey = strings.TrimSpace(newKey)
	if newKey == oldKey || !strings.Contains(out, "new key: "+newKey) {
		t.Fatalf("key rotate printed %q; the key is now %s", out, newKey)
	}
	ingestN(t, dir, 20, 15, 0)
	if out, errOut, err := runMain(t, "", "verify", "--data", dir); err != nil || !strings.Contains(out, "t: 36 entries") {
		t.Fatalf("verify across the rotation: %v\n%s%s", err, out, errOut)
	}
	file := bundleToday(t, dir)
	for _, key := range []string{oldKey, newKey} {
		if out, errOut, err := runMain(t, "", "verify-bundle", "--key", key, file); err != nil {
			t.Errorf("verify-bundle --key %s: %v\n%s%s", key, err, out, errOut)
		}
	}

	// Another key of the deployment's name, never announced, signs on.
	skey, vkey, err := note.GenerateKey(rand.Reader, strings.SplitN(newKey, "+", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, signerFile), []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, verifierFile), []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ingestN(t, dir, 35, 5, 0)
	file = bundleToday(t, dir)
	for _, tt := range []struct{ key, want string }{
		{oldKey, "checkpoint-end.txt: signature does not verify"},
		{vkey, "the key given is none of the keys this log's history names"},
	} {
		out, _, err := runMain(t, "", "verify-bundle", "--key", tt.key, file)
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("verify-bundle --key %.20s… of a checkpoint by an unintroduced key: %v, want %q\n%s", tt.key, err, tt.want, out)
		}
	}
	if out, _, err := runMain(t, "", "verify", "--data", dir); err == nil {
		t.Errorf("verify with an unintroduced key passed:\n%s", out)
	}
}

// A rotation cut short before the ledger signed with the new key is undone
// at the next start.
func TestKeyRotationCutShort(t *testing.T) {
	dir, oldKey := deployment(t, 3, 0)
	skey, vkey, _ := note.GenerateKey(rand.Reader, strings.SplitN(oldKey, "+", 2)[0])
	os.WriteFile(filepath.Join(dir, verifierFile+nextSuffix), []byte(vkey+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, signerFile+nextSuffix), []byte(skey+"\n"), 0o600)
	key, errOut, err := runMain(t, "", "key", "--data", dir)
	if err != nil || strings.TrimSpace(key) != oldKey {
		t.Fatalf("key after a cut rotation: %q, %v %s", key, err, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, signerFile+nextSuffix)); !os.IsNotExist(err) {
		t.Errorf("the unused new key stayed: %v", err)
	}
}
