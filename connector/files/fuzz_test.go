package files

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
)

// fuzzRead checks what every reader promises for any input: no panic, each
// item a valid record or a refusal naming a line, and the same items when
// read again (ids derive from the content).
func fuzzRead(f *testing.F, format Format, seed string, extra ...string) {
	if b, err := os.ReadFile(filepath.Join("testdata", seed)); err == nil {
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	opts := Options{Tenant: "t", Source: "s/x", Location: time.UTC, Line: "l"}
	f.Fuzz(func(t *testing.T, in []byte) {
		items, err := readAll(t, format, in, opts)
		if err != nil {
			return // an unreadable header or an empty file
		}
		for _, it := range items {
			switch {
			case it.Err == nil && it.Record == nil:
				t.Fatal("an item with neither record nor error")
			case it.Err != nil:
				var re *waarborg.RecordError
				if !errors.As(it.Err, &re) || re.Line != it.Line || it.Line < 1 {
					t.Fatalf("error without its line: %#v", it.Err)
				}
			default:
				if _, err := waarborg.ParseRecord(it.Record.Canonical); err != nil {
					t.Fatalf("record does not parse again: %v", err)
				}
			}
		}
		again, _ := readAll(t, format, in, opts)
		if describe(again) != describe(items) {
			t.Fatal("a second read differs")
		}
	})
}

func FuzzHistorianCSV(f *testing.F) {
	fuzzRead(f, HistorianCSV, "historian.csv", "tag,time,value\na,2026-03-01T00:00:00Z,1\n", "tag\tts\tpv\tq\n\"a\nb\"\t2026-03-01\t1e3\t0\n")
}

func FuzzERPCSV(f *testing.F) {
	fuzzRead(f, ERPCSV, "goods-receipts.csv", "document,movement,material,quantity,unit,posting_time\nd,101,m,1,ST,2026-03-01\n")
}

func FuzzB2MML(f *testing.F) {
	fuzzRead(f, B2MML, "production-performance.xml",
		`<ProductionResponse><ID>b</ID><EndTime>2026-03-01T00:00:00Z</EndTime><SegmentResponse><MaterialProducedActual><MaterialDefinitionID>p</MaterialDefinitionID><Quantity><QuantityString>1</QuantityString><UnitOfMeasure>u</UnitOfMeasure></Quantity></MaterialProducedActual></SegmentResponse></ProductionResponse>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><OperationsResponse><ID>\xe9</ID></OperationsResponse>`)
}

// FuzzNumberText checks that a number read from an export keeps its value.
func FuzzNumberText(f *testing.F) {
	for _, s := range []string{"007", "12,50", "-0,5", "100-", "+1.5e3", ".5", "5.", "1.234,5", ""} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		out, err := numberText(s, comma, true)
		if err != nil {
			return
		}
		got, ok := new(big.Rat).SetString(out)
		if !ok {
			t.Fatalf("%q → %q, not a number", s, out)
		}
		in := strings.TrimSpace(s)
		if comma {
			in = strings.Replace(in, ",", ".", 1)
		}
		neg := strings.HasSuffix(in, "-") && len(in) > 1
		in = strings.TrimSuffix(strings.TrimPrefix(in, "+"), "-")
		want, ok := new(big.Rat).SetString(in)
		if !ok {
			t.Fatalf("%q → %q, but the input is no number", s, out)
		}
		if neg && !strings.HasPrefix(in, "-") {
			want.Neg(want)
		}
		if want.Cmp(got) != 0 {
			t.Fatalf("%q → %q: another value", s, out)
		}
	})
}
