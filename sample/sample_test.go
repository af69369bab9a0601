package sample_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/sample"
)

func TestSize(t *testing.T) {
	tests := []struct {
		frequency string
		risk      sample.Risk
		pop, want int
	}{
		{sample.Annual, sample.RiskHigh, 0, 0},
		{sample.Annual, sample.RiskHigh, 1, 1},
		{sample.Annual, sample.RiskLow, 5, 1},
		{sample.Quarterly, sample.RiskHigh, 0, 0},
		{sample.Quarterly, sample.RiskHigh, 1, 1},
		{sample.Quarterly, sample.RiskHigh, 4, 2},
		{sample.Quarterly, sample.RiskLow, 4, 2},
		{sample.Monthly, sample.RiskHigh, 12, 5},
		{sample.Monthly, sample.RiskLow, 12, 2},
		{sample.Monthly, sample.RiskHigh, 3, 3},
		{sample.Monthly, sample.RiskLow, 1, 1},
		{sample.Weekly, sample.RiskHigh, 0, 0},
		{sample.Weekly, sample.RiskHigh, 1, 1},
		{sample.Weekly, sample.RiskHigh, 13, 13},
		{sample.Weekly, sample.RiskHigh, 52, 15},
		{sample.Weekly, sample.RiskLow, 52, 5},
		{sample.Weekly, sample.RiskLow, 4, 4},
		{sample.Daily, sample.RiskHigh, 365, 40},
		{sample.Daily, sample.RiskLow, 365, 20},
		{sample.Daily, sample.RiskHigh, 30, 30},
		{sample.Continuous, sample.RiskHigh, 0, 0},
		{sample.Continuous, sample.RiskHigh, 1, 1},
		{sample.Continuous, sample.RiskHigh, 59, 59},
		{sample.Continuous, sample.RiskHigh, 3_000_000, 60},
		{sample.Continuous, sample.RiskLow, 3_000_000, 25},
		{sample.Continuous, sample.RiskLow, 10, 10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.frequency, tt.risk, tt.pop), func(t *testing.T) {
			got, rule, err := sample.Size(tt.frequency, tt.risk, tt.pop)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Size = %d (%s), want %d", got, rule, tt.want)
			}
			if rule == "" {
				t.Error("no rule")
			}
		})
	}
}

func TestSizeInvalid(t *testing.T) {
	tests := []struct {
		name      string
		frequency string
		risk      sample.Risk
		pop       int
	}{
		{"unknown frequency", "hourly", sample.RiskHigh, 10},
		{"empty frequency", "", sample.RiskHigh, 10},
		{"unknown risk", sample.Weekly, sample.Risk(7), 10},
		{"negative population", sample.Weekly, sample.RiskHigh, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := sample.Size(tt.frequency, tt.risk, tt.pop)
			if code := waarborg.ErrorCode(err); code != waarborg.EINVALID {
				t.Errorf("error %v of kind %q, want %q", err, code, waarborg.EINVALID)
			}
		})
	}
}

var (
	from = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

func ids(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("rec-%07d", i)
	}
	return s
}

func input(pop []string) sample.Input {
	return sample.Input{
		Tenant: "acme-foods", Control: "PC-02", Frequency: sample.Continuous,
		From: from, To: to, Population: pop,
	}
}

func mustDraw(t testing.TB, in sample.Input) *sample.Sample {
	t.Helper()
	s, err := sample.Draw(in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDrawDeterministic(t *testing.T) {
	pop := ids(1000)
	a := mustDraw(t, input(pop))

	// The same population in another order, and the same bounds in another
	// zone, are the same input.
	rev := slices.Clone(pop)
	slices.Reverse(rev)
	in := input(rev)
	cet := time.FixedZone("CET", 3600)
	in.From, in.To = from.In(cet), to.In(cet)
	b := mustDraw(t, in)

	if a.PopulationHash != b.PopulationHash || a.Seed != b.Seed || !slices.Equal(a.Items, b.Items) {
		t.Errorf("two draws of one input differ:\n%+v\n%+v", a, b)
	}
	if a.Size != 60 || len(a.Items) != 60 || a.Population != 1000 {
		t.Errorf("size %d, %d items, population %d; want 60, 60, 1000", a.Size, len(a.Items), a.Population)
	}
	if !slices.IsSorted(a.Items) {
		t.Errorf("items not sorted: %v", a.Items)
	}
	if !slices.Equal(rev, reversed(pop)) {
		t.Error("Draw reordered the caller's population")
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// TestDrawChanges: anything the seed text holds changes the seed, and a
// population that differs in one id changes its hash too.
func TestDrawChanges(t *testing.T) {
	base := mustDraw(t, input(ids(1000)))

	changed := ids(1000)
	changed[500] = "rec-0000500x"
	tests := []struct {
		name     string
		in       sample.Input
		samePopu bool
	}{
		{"one id changed", input(changed), false},
		{"one id dropped", input(ids(999)), false},
		{"other tenant", func() sample.Input { in := input(ids(1000)); in.Tenant = "other"; return in }(), true},
		{"other control", func() sample.Input { in := input(ids(1000)); in.Control = "PC-01"; return in }(), true},
		{"other from", func() sample.Input { in := input(ids(1000)); in.From = from.Add(time.Nanosecond); return in }(), true},
		{"other to", func() sample.Input { in := input(ids(1000)); in.To = to.Add(-time.Second); return in }(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustDraw(t, tt.in)
			if (s.PopulationHash == base.PopulationHash) != tt.samePopu {
				t.Errorf("population hash %s, base %s", s.PopulationHash, base.PopulationHash)
			}
			if s.Seed == base.Seed {
				t.Errorf("seed unchanged: %s", s.Seed)
			}
			// 60 of 1000 drawn twice independently coincide with
			// negligible probability, and the draw is deterministic.
			if slices.Equal(s.Items, base.Items) {
				t.Errorf("selection unchanged: %v", s.Items)
			}
		})
	}
}

// TestDrawValid draws from populations of every size up to 120 with every
// frequency and risk: each sample has its size, no duplicate, and only
// population items.
func TestDrawValid(t *testing.T) {
	for _, f := range []string{sample.Annual, sample.Quarterly, sample.Monthly, sample.Weekly, sample.Daily, sample.Continuous} {
		for _, risk := range []sample.Risk{sample.RiskHigh, sample.RiskLow} {
			for n := range 121 {
				in := input(ids(n))
				in.Frequency, in.Risk = f, risk
				s := mustDraw(t, in)
				want, _, _ := sample.Size(f, risk, n)
				if s.Size != want || len(s.Items) != want {
					t.Fatalf("%s/%s/%d: size %d with %d items, want %d", f, risk, n, s.Size, len(s.Items), want)
				}
				seen := make(map[string]bool)
				for _, it := range s.Items {
					if seen[it] {
						t.Fatalf("%s/%s/%d: %s drawn twice", f, risk, n, it)
					}
					seen[it] = true
					if !slices.Contains(in.Population, it) {
						t.Fatalf("%s/%s/%d: %s is not in the population", f, risk, n, it)
					}
				}
			}
		}
	}
}

func TestDrawEmpty(t *testing.T) {
	s := mustDraw(t, input(nil))
	empty := sha256.Sum256(nil)
	if s.Size != 0 || s.Items == nil || len(s.Items) != 0 || s.PopulationHash != hex.EncodeToString(empty[:]) {
		t.Errorf("empty population: %+v", s)
	}
}

// TestDrawUniform is a coarse check that no item is favoured: over 10,000
// seeds, each of 10 items is drawn alone about 1,000 times.
func TestDrawUniform(t *testing.T) {
	counts := make(map[string]int)
	for i := range 10_000 {
		in := input(ids(10))
		in.Frequency, in.Tenant = sample.Annual, fmt.Sprint("t", i)
		counts[mustDraw(t, in).Items[0]]++
	}
	for _, id := range ids(10) {
		if c := counts[id]; c < 850 || c > 1150 {
			t.Errorf("%s drawn %d times of 10,000, want about 1,000", id, c)
		}
	}
}

func TestDrawInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*sample.Input)
	}{
		{"no tenant", func(in *sample.Input) { in.Tenant = "" }},
		{"tenant with newline", func(in *sample.Input) { in.Tenant = "a\nb" }},
		{"no control", func(in *sample.Input) { in.Control = "" }},
		{"control with newline", func(in *sample.Input) { in.Control = "PC-02\n" }},
		{"to before from", func(in *sample.Input) { in.From, in.To = in.To, in.From }},
		{"empty id", func(in *sample.Input) { in.Population = []string{"a", ""} }},
		{"id with newline", func(in *sample.Input) { in.Population = []string{"a\nb", "c"} }},
		{"repeated id", func(in *sample.Input) { in.Population = []string{"a", "b", "a"} }},
		{"unknown frequency", func(in *sample.Input) { in.Frequency = "sometimes" }},
		{"unknown risk", func(in *sample.Input) { in.Risk = 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(ids(10))
			tt.edit(&in)
			s, err := sample.Draw(in)
			if code := waarborg.ErrorCode(err); code != waarborg.EINVALID || s != nil {
				t.Errorf("Draw = %v, %v (kind %q), want nil and an error of kind %q", s, err, code, waarborg.EINVALID)
			}
		})
	}
}

// BenchmarkDraw draws from a year of records of one kind, as a report does
// for a sampled automated control.
func BenchmarkDraw(b *testing.B) {
	in := input(ids(1_000_000))
	for b.Loop() {
		if _, err := sample.Draw(in); err != nil {
			b.Fatal(err)
		}
	}
}
