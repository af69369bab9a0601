// Package recordtest reads record files and JSON fixtures for tests, such
// as the conformance scenarios beside the checkout. Only tests import it.
package recordtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/waarborg/waarborg"
)

// Read parses every non-blank line of a JSON Lines file of records.
func Read(path string) ([]*waarborg.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*waarborg.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		r, err := waarborg.ParseRecord(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// MustRead is Read that fails the test on an error.
func MustRead(tb testing.TB, path string) []*waarborg.Record {
	tb.Helper()
	recs, err := Read(path)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// ReadJSON decodes a JSON file into v, failing the test on an error.
func ReadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}
