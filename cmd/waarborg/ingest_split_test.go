package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// splitLines hands on every non-blank line, trimmed, with its number, and
// a chunk's lines stay intact while later input is read: they are held
// until the chunk's records are reported.
func TestSplitLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		in      bytes.Buffer
		want    []string
		wantNos []int
	)
	for n := 1; n <= 3*chunkLines+17; n++ {
		var line string
		switch k := rng.IntN(1000); {
		case k < 5:
			line = "  \t " // blank
		case k < 8:
			line = strings.Repeat("x", 1<<20+rng.IntN(1000)) // longer than the read buffer
		default:
			line = " " + strings.Repeat(string(rune('a'+n%26)), 1+rng.IntN(400)) + " "
		}
		in.WriteString(line)
		if n < 3*chunkLines+17 {
			in.WriteByte('\n')
		}
		if t := strings.TrimSpace(line); t != "" {
			want = append(want, t)
			wantNos = append(wantNos, n)
		}
	}
	var got []*chunk
	var read atomic.Int64
	err := splitLines(context.Background(), &in, &read, func(c *chunk) bool {
		got = append(got, c)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, c := range got {
		for k, line := range c.lines {
			if i >= len(want) || string(line) != want[i] || c.lineNos[k] != wantNos[i] {
				t.Fatalf("line %d of the chunks: number %d, %d bytes; want number %d, %d bytes", i, c.lineNos[k], len(line), wantNos[i], len(want[i]))
			}
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("%d lines, want %d", i, len(want))
	}
}
