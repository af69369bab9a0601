package sample_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg/sample"
)

// redraw follows docs/sampling.md sections 3 to 6 step by step, written
// apart from sample.Draw (big integers for the bias limit, a byte buffer for
// the stream) so that a mistake in one is not copied into the other.
func redraw(tenant, control string, from, to time.Time, population []string, k int) (popHash, seed string, items []string) {
	// Section 3.
	p := append([]string(nil), population...)
	sort.Slice(p, func(i, j int) bool { return bytes.Compare([]byte(p[i]), []byte(p[j])) < 0 })
	var concat bytes.Buffer
	for _, id := range p {
		concat.WriteString(id)
		concat.WriteByte(0x0A)
	}
	ph := sha256.Sum256(concat.Bytes())
	popHash = hex.EncodeToString(ph[:])

	// Section 4.
	bound := func(t time.Time) string {
		s := t.UTC().Format("2006-01-02T15:04:05.000000000")
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
		return s + "Z"
	}
	text := "waarborg-sample/v1" + "\n" + tenant + "\n" + control + "\n" + bound(from) + "\n" + bound(to) + "\n" + popHash + "\n"
	sd := sha256.Sum256([]byte(text))
	seed = hex.EncodeToString(sd[:])

	// Section 5.
	var stream []byte
	var counter uint64
	next := func() *big.Int {
		if len(stream) < 8 {
			in := append([]byte(nil), sd[:]...)
			for shift := 56; shift >= 0; shift -= 8 {
				in = append(in, byte(counter>>uint(shift)))
			}
			block := sha256.Sum256(in)
			stream = append(stream, block[:]...)
			counter++
		}
		x := new(big.Int).SetBytes(stream[:8])
		stream = stream[8:]
		return x
	}
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	below := func(m int) int {
		bm := big.NewInt(int64(m))
		limit := new(big.Int).Sub(two64, new(big.Int).Mod(two64, bm))
		for {
			x := next()
			if x.Cmp(limit) < 0 {
				return int(new(big.Int).Mod(x, bm).Int64())
			}
		}
	}

	// Section 6.
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + below(len(p)-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	items = []string{}
	for _, i := range idx[:k] {
		items = append(items, p[i])
	}
	sort.Slice(items, func(i, j int) bool { return bytes.Compare([]byte(items[i]), []byte(items[j])) < 0 })
	return popHash, seed, items
}

func TestRedraw(t *testing.T) {
	odd := []string{"Zeta", "alpha", "Ålborg", "b-2026-0412-end", "10", "9", "a b", "a", "ä"}
	tests := []struct {
		name string
		in   sample.Input
	}{
		{"records", input(ids(5000))},
		{"one record", input([]string{"only"})},
		{"empty", input(nil)},
		{"bytes order, not locale", sample.Input{Tenant: "t", Control: "IM-04", Frequency: sample.Monthly,
			From: from.Add(1500 * time.Millisecond), To: to.Add(time.Nanosecond), Population: odd}},
		{"weeks", sample.Input{Tenant: "acme-foods", Control: "LM-04", Frequency: sample.Weekly, Risk: sample.RiskLow,
			From: from, To: to, Population: weeks2026(t)}},
	}
	// A population size that is a power of two rejects nothing; one just
	// above a power of two rejects most often. Both paths are taken.
	for _, n := range []int{64, 65, 1 << 10, 1<<10 + 1, 3} {
		tests = append(tests, struct {
			name string
			in   sample.Input
		}{fmt.Sprint("n=", n), input(ids(n))})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustDraw(t, tt.in)
			hash, seed, items := redraw(tt.in.Tenant, tt.in.Control, tt.in.From, tt.in.To, tt.in.Population, s.Size)
			if s.PopulationHash != hash || s.Seed != seed || !slices.Equal(s.Items, items) {
				t.Errorf("Draw:\n%s %s %v\nthe document:\n%s %s %v", s.PopulationHash, s.Seed, s.Items, hash, seed, items)
			}
		})
	}
}

func weeks2026(t *testing.T) []string {
	w, err := sample.Periods("LM-04", from, to)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWorkedExample checks the figures docs/sampling.md prints for its
// example against the document's algorithm and Draw both.
func TestWorkedExample(t *testing.T) {
	in := sample.Input{Tenant: "acme-foods", Control: "LM-04", Frequency: sample.Weekly,
		From: from, To: to, Population: weeks2026(t)}
	s := mustDraw(t, in)
	hash, seed, items := redraw(in.Tenant, in.Control, in.From, in.To, in.Population, 15)
	if s.Size != 15 || s.PopulationHash != hash || s.Seed != seed || !slices.Equal(s.Items, items) {
		t.Fatalf("Draw %+v, the document %s %s %v", s, hash, seed, items)
	}
	doc, err := os.ReadFile("../docs/sampling.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"population hash  " + hash,
		"seed             " + seed,
		"sample           " + strings.Join(items, " "),
	} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("docs/sampling.md lacks %q", want)
		}
	}
}
