package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// TestAppendEntryIsTheJSONOfEntry checks the hand-written line against
// encoding/json's encoding of the same head, byte for byte.
func TestAppendEntryIsTheJSONOfEntry(t *testing.T) {
	st := &waarborg.Stored{Index: 42, ID: "b-2026.0412:end", ReceivedAt: time.Date(2026, 3, 1, 6, 0, 0, 123e6, time.UTC),
		Hash: [32]byte{1, 2, 3}, Canonical: []byte(`{"data":{"a":1},"id":"b-2026.0412:end"}`)}
	for _, proof := range [][][]byte{nil, {bytes.Repeat([]byte{0xfe}, 32), bytes.Repeat([]byte{7}, 32)}} {
		got, err := appendEntry(nil, st, proof)
		if err != nil {
			t.Fatal(err)
		}
		head, err := json.Marshal(struct {
			Index         uint64   `json:"index"`
			ID            string   `json:"id"`
			ReceivedAt    string   `json:"received_at"`
			ContentSHA256 string   `json:"content_sha256"`
			Proof         [][]byte `json:"proof,omitempty"`
		}{st.Index, st.ID, waarborg.FormatReceived(st.ReceivedAt), hex.EncodeToString(st.Hash[:]), proof})
		if err != nil {
			t.Fatal(err)
		}
		want := append(append(head[:len(head)-1], `,"record":`...), st.Canonical...)
		want = append(want, "}\n"...)
		if !bytes.Equal(got, want) {
			t.Errorf("appendEntry =\n%s\nwant\n%s", got, want)
		}
	}
}
