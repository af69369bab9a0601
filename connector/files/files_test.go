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

func TestB2MMLVariants(t *testing.T) {
	seg := `<SegmentResponse><ID>s</ID><ActualStartTime>2026-03-01T06:00:00Z</ActualStartTime><ActualEndTime>2026-03-01T07:00:00Z</ActualEndTime>` +
		`<MaterialActual><MaterialDefinitionID>%s</MaterialDefinitionID><MaterialUse>Produced</MaterialUse>` +
		`<Quantity><QuantityString>10</QuantityString><UnitOfMeasure>ST</UnitOfMeasure></Quantity></MaterialActual></SegmentResponse>`
	tests := []struct {
		name string
		doc  string
		want []string // record ids or errors, in order
	}{
		{"ISO-8859-1, on one line", `<?xml version="1.0" encoding="ISO-8859-1"?><ProductionResponse><ID>B1</ID>` +
			fmt.Sprintf(seg, "Kr\xe4uter") + `</ProductionResponse>`, []string{"b2mml:B1:seg:s:1 Kräuter"}},
		{"V0700 operations, production only", `<OperationsPerformance xmlns="http://www.mesa.org/xml/B2MML">` +
			`<OperationsResponse><ID>M1</ID><OperationsType>Maintenance</OperationsType>` + fmt.Sprintf(seg, "x") + `</OperationsResponse>` +
			`<OperationsResponse><ID>P1</ID><OperationsType>Production</OperationsType>` + fmt.Sprintf(seg, "y") + `</OperationsResponse>` +
			`</OperationsPerformance>`, []string{"b2mml:P1:seg:s:1 y"}},
		{"inside a ShowProductionPerformance message", `<ShowProductionPerformance><DataArea><Show/><ProductionPerformance>` +
			`<ProductionResponse><ID>B2</ID>` + fmt.Sprintf(seg, "z") + `</ProductionResponse></ProductionPerformance></DataArea></ShowProductionPerformance>`,
			[]string{"b2mml:B2:seg:s:1 z"}},
		{"broken XML ends the file with an error", `<ProductionResponse><ID>B3</ID>` + fmt.Sprintf(seg, "z") + `</ProductionResponse><ProductionResponse><ID>`,
			[]string{"b2mml:B3:seg:s:1 z", "error: line 1: XML syntax error: unexpected EOF; the rest of the file is not read (rule format)"}},
		{"no responses", `<ProductionPerformance/>`, []string{"error: line 1: ProductionResponse: the document has no ProductionResponse"}},
	}
	_, err := readAll(t, B2MML, []byte(`<?xml version="1.0" encoding="EBCDIC"?><ProductionResponse/>`), Options{Tenant: "t", Source: "s/mes"})
	if err == nil || !strings.Contains(err.Error(), `"EBCDIC" is not read: export UTF-8`) {
		t.Errorf("an unknown encoding: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := readAll(t, B2MML, []byte(tt.doc), Options{Tenant: "t", Source: "s/mes", Line: "line-1"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				if it.Err != nil {
					got = append(got, "error: "+it.Err.Error())
				} else {
					got = append(got, it.Record.ID+" "+it.Record.Str("product"))
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("item %d: %q, want %q…", i, got[i], tt.want[i])
				}
			}
		})
	}
}
