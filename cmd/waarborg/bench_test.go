package main

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkIngest measures durable ingest through `waarborg ingest` of the
// file named by WAARBORG_BENCH_FILE (make bench writes one from the
// simulator).
func BenchmarkIngest(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	lines := countLines(b, file)
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "data")
		if _, errOut, err := runMain(b, "", "ingest", "-q", "--data", dir, file); err != nil {
			b.Fatalf("ingest: %v\n%s", err, errOut)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func countLines(b *testing.B, file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, c := range data {
		if c == '\n' {
			n++
		}
	}
	return n
}

// BenchmarkVerify measures `waarborg verify` over the log that ingesting
// WAARBORG_BENCH_FILE makes.
func BenchmarkVerify(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	lines := countLines(b, file)
	dir := filepath.Join(b.TempDir(), "data")
	if _, errOut, err := runMain(b, "", "ingest", "-q", "--data", dir, file); err != nil {
		b.Fatalf("ingest: %v\n%s", err, errOut)
	}
	for b.Loop() {
		if out, _, err := runMain(b, "", "verify", "--data", dir); err != nil {
			b.Fatalf("verify: %v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
