package waarborg

import (
	"bufio"
	"os"
	"testing"
)

// BenchmarkParseRecord parses the conformance scenario's records.
func BenchmarkParseRecord(b *testing.B) {
	f, err := os.Open("../shared/conformance/basic/records.jsonl")
	if err != nil {
		b.Skip("conformance data not beside the checkout:", err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseRecord(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
