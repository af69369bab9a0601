package controls_test

import (
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg/controls"
)

var benchSites = []string{"ede", "venlo", "tiel"}

// BenchmarkEvaluate evaluates 30 days of a 3-site plant (about 240,000
// records) held in memory.
func BenchmarkEvaluate(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	records := slices.Collect(plant(benchSites, start, 30))
	cat := controls.Default()
	in := controls.Input{
		Tenant: "bench", From: start.AddDate(0, 0, 1), To: start.AddDate(0, 0, 29),
		Records: slices.Values(records), Integrity: &controls.Integrity{Entries: len(records)},
	}
	for b.Loop() {
		if _, err := controls.Evaluate(cat, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEvaluateYear evaluates a year of a 3-site plant, about 3 million
// records generated on the fly, so that the figure includes generating them
// (BenchmarkGenerateYear alone).
func BenchmarkEvaluateYear(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for range plant(benchSites, start, 365) {
		n++
	}
	cat := controls.Default()
	in := controls.Input{
		Tenant: "bench", From: start, To: start.AddDate(1, 0, 0),
		Records: plant(benchSites, start, 365), Integrity: &controls.Integrity{Entries: n},
	}
	for b.Loop() {
		if _, err := controls.Evaluate(cat, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n), "records")
}

func BenchmarkGenerateYear(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		for range plant(benchSites, start, 365) {
		}
	}
}

// BenchmarkMonitorEvaluate re-evaluates a year of a 3-site plant held by a
// Monitor, as continuous monitoring does on each tick with new records.
func BenchmarkMonitorEvaluate(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := controls.NewMonitor(controls.Default(), "bench", start, start.AddDate(1, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for r := range plant(benchSites, start, 365) {
		m.Add(r)
		n++
	}
	for b.Loop() {
		m.Evaluate()
	}
	b.ReportMetric(float64(n), "records")
}
