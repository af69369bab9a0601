package files

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readAll(t testing.TB, f Format, in []byte, opts Options) ([]Item, error) {
	t.Helper()
	var items []Item
	err := Read(context.Background(), f, bytes.NewReader(in), opts, func(it Item) error {
		items = append(items, it)
		return nil
	})
	return items, err
}

// describe writes what a reader made of its input, one item a line.
func describe(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		if it.Err != nil {
			fmt.Fprintf(&b, "%d: error: %v\n", it.Line, it.Err)
		} else {
			fmt.Fprintf(&b, "%d: %s\n", it.Line, it.Record.Canonical)
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	tests := []struct {
		name   string
		format Format
		input  string
		opts   Options
	}{
		{"historian", HistorianCSV, "historian.csv", Options{Source: "ede/line-1/historian", Location: ams, DecimalComma: true}},
		{"erp", ERPCSV, "goods-receipts.csv", Options{Source: "ede/erp", Location: ams}},
		{"b2mml", B2MML, "production-performance.xml", Options{Source: "ede/mes", Location: ams}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			tt.opts.Tenant = "vitafood"
			items, err := readAll(t, tt.format, in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				var re *waarborg.RecordError
				if it.Err != nil && (!errors.As(it.Err, &re) || re.Line != it.Line || it.Line == 0) {
					t.Errorf("error without its line: %#v", it.Err)
				}
			}
			got := describe(items)
			golden := filepath.Join("testdata", tt.input+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			// Reading again gives the same ids: re-import is idempotent.
			again, _ := readAll(t, tt.format, in, tt.opts)
			if describe(again) != got {
				t.Error("a second read differs")
			}
		})
	}
}
