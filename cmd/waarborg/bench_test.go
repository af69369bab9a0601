package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/waarborg/waarborg/storetest"
)

// BenchmarkIngest measures durable ingest through `waarborg ingest` of the
// file named by WAARBORG_BENCH_FILE (make bench writes one from the
// simulator), into each backend: the data directory's SQLite file, and a
// new schema of the test PostgreSQL (--db).
func BenchmarkIngest(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	lines := countLines(b, file)
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				env := map[string]string{"WAARBORG_DATA": filepath.Join(b.TempDir(), "data"), "WAARBORG_DB": be.URL(b)}
				b.StartTimer()
				if _, errOut, err := runMainEnv(b, env, "", "ingest", "-q", file); err != nil {
					b.Fatalf("ingest: %v\n%s", err, errOut)
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkControls measures `waarborg controls` over the whole log that
// ingesting WAARBORG_BENCH_FILE makes, on each backend: one pass that
// re-checks every entry (LM-03) and evaluates every control. The period is
// the simulator's default year, its tenant acme-foods.
func BenchmarkControls(b *testing.B) {
	benchIngested(b, "controls", "--tenant", "acme-foods", "--from", "2026-01-01", "--to", "2027-01-01")
}

// BenchmarkVerify measures `waarborg verify` over the log that ingesting
// WAARBORG_BENCH_FILE makes, on each backend.
func BenchmarkVerify(b *testing.B) {
	benchIngested(b, "verify")
}

// benchIngested ingests WAARBORG_BENCH_FILE into each backend, then
// measures the command args over it.
func benchIngested(b *testing.B, args ...string) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	lines := countLines(b, file)
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			env := map[string]string{"WAARBORG_DATA": filepath.Join(b.TempDir(), "data"), "WAARBORG_DB": be.URL(b)}
			if _, errOut, err := runMainEnv(b, env, "", "ingest", "-q", file); err != nil {
				b.Fatalf("ingest: %v\n%s", err, errOut)
			}
			for b.Loop() {
				if out, errOut, err := runMainEnv(b, env, "", args...); err != nil {
					b.Fatalf("%s: %v\n%s%s", args[0], err, out, errOut)
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// countLines counts the lines of file without holding it in memory: a
// benchmark's heap should be what the command makes of it.
func countLines(b *testing.B, file string) int {
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport measures a Type II report over a year of the data
// directory named by WAARBORG_BENCH_DATA (make bench ingests the simulated
// year into one), against `waarborg controls` over the same year in the
// same run as the baseline: the report adds its statistics, the bundle of
// every record and the renderings to that evaluation.
func BenchmarkReport(b *testing.B) {
	dir := os.Getenv("WAARBORG_BENCH_DATA")
	if dir == "" {
		b.Skip("set WAARBORG_BENCH_DATA to a data directory holding the simulated year (make bench does)")
	}
	period := []string{"--data", dir, "--tenant", "acme-foods", "--from", "2026-01-01", "--to", "2027-01-01"}
	b.Run("controls", func(b *testing.B) {
		for b.Loop() {
			if _, errOut, err := runMain(b, "", append([]string{"controls"}, period...)...); err != nil {
				b.Fatalf("controls: %v\n%s", err, errOut)
			}
		}
	})
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			args := append([]string{"report", "--type", "2", "--profile", "testdata/profile.json", "--out", b.TempDir()}, period...)
			if _, errOut, err := runMain(b, "", args...); err != nil {
				b.Fatalf("report: %v\n%s", err, errOut)
			}
		}
	})
}
