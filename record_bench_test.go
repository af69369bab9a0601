package waarborg

import (
	"bufio"
	"os"
	"testing"
)

// BenchmarkParseRecord parses the conformance scenario's records.
func BenchmarkParseRecord(b *testing.B) {
	lines, err := readLines("../shared/conformance/basic/records.jsonl", 0)
	if err != nil {
		b.Skip("conformance data not beside the checkout:", err)
	}
	benchmarkParse(b, lines)
}

// BenchmarkParseRecordSimulated parses the first 100,000 records of
// WAARBORG_BENCH_FILE: simulator output, mostly historian samples and
// production counts, which is what ingest spends its parsing on.
func BenchmarkParseRecordSimulated(b *testing.B) {
	file := os.Getenv("WAARBORG_BENCH_FILE")
	if file == "" {
		b.Skip("set WAARBORG_BENCH_FILE to a JSON Lines file (make bench does)")
	}
	lines, err := readLines(file, 100000)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkParse(b, lines)
}

func benchmarkParse(b *testing.B, lines [][]byte) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseRecord(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// readLines reads the lines of a JSON Lines file, at most limit of them
// unless limit is 0.
func readLines(path string, limit int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for (limit == 0 || len(lines) < limit) && sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines, sc.Err()
}
