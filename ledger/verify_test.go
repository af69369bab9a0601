package ledger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The auditor's verifier must give wantErr on every RFC 6962 vector,
// including those that merkle v0.0.2 itself gets wrong (size 0).
func TestVectors(t *testing.T) {
	root := "../../shared/testvectors/rfc6962"
	if _, err := os.Stat(root); err != nil {
		t.Skip("test vectors not beside the checkout:", err)
	}
	n := 0
	for _, kind := range []string{"inclusion", "consistency"} {
		files, _ := filepath.Glob(filepath.Join(root, kind, "*", "*.json"))
		for _, f := range files {
			n++
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				LeafIdx, TreeSize, Size1, Size2 uint64
				Root, Root1, Root2, LeafHash    []byte
				Proof                           [][]byte
				WantErr                         bool
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if kind == "inclusion" {
				err = VerifyInclusion(v.LeafIdx, v.TreeSize, v.LeafHash, v.Proof, v.Root)
			} else {
				err = VerifyConsistency(v.Size1, v.Size2, v.Proof, v.Root1, v.Root2)
			}
			if got := err != nil; got != v.WantErr {
				t.Errorf("%s: error %v, want error: %v", f, err, v.WantErr)
			}
		}
	}
	if n < 100 {
		t.Errorf("read only %d vectors", n)
	}
}
