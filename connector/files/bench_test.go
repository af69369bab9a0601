package files

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkHistorianCSV reads a historian export of 10,000 samples.
func BenchmarkHistorianCSV(b *testing.B) {
	var in bytes.Buffer
	in.WriteString("tag,time,value,quality\n")
	for i := range 10000 {
		fmt.Fprintf(&in, "Line%d.Temp,2026-03-01T06:%02d:%02d.%03dZ,%d.%d,good\n", i%50, i/600%60, i/10%60, i%1000, i%300, i%100)
	}
	opts := Options{Tenant: "t", Source: "ede/historian"}
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		n := 0
		err := Read(context.Background(), HistorianCSV, bytes.NewReader(in.Bytes()), opts, func(it Item) error {
			if it.Err != nil {
				return it.Err
			}
			n++
			return nil
		})
		if err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "records/s")
}
