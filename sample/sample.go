// Package sample draws the reproducible samples an auditor tests a control
// by: for the manual controls (AC-05, LM-04), and for any control an auditor
// prefers to test by sampling rather than over its whole population.
//
// The size follows the usual practice table by control frequency, and the
// selection is a deterministic function of the tenant, the control, the
// period and the population itself, so that anyone holding the population
// can redraw it from docs/sampling.md alone, without waarborg.
//
// It does no I/O and imports only the standard library, the domain and
// controls; the report and the CLI import it.
package sample

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
)

// Control frequencies of the sample-size table. Continuous is the catalog's
// name for a control that operates many times a day.
const (
	Annual     = "annual"
	Quarterly  = "quarterly"
	Monthly    = "monthly"
	Weekly     = "weekly"
	Daily      = "daily"
	Continuous = "continuous"
)

// Risk picks the end of a range of the sample-size table. The zero value is
// RiskHigh, so that a caller who does not decide gets the larger sample,
// which is what a Type II report relies on.
type Risk int

const (
	RiskHigh Risk = iota // the upper end of the range
	RiskLow              // the lower end: a control assessed as low risk, e.g. without exceptions in the prior period
)

func (r Risk) String() string {
	switch r {
	case RiskHigh:
		return "high"
	case RiskLow:
		return "low"
	}
	return fmt.Sprintf("Risk(%d)", int(r))
}

// sizes is the usual practice table: the smallest and largest sample for a
// control of each frequency.
var sizes = map[string][2]int{
	Annual:     {1, 1},
	Quarterly:  {2, 2},
	Monthly:    {2, 5},
	Weekly:     {5, 15},
	Daily:      {20, 40},
	Continuous: {25, 60},
}

// Size returns the sample size for a control of the given frequency with a
// population of the given number of items, and the rule that gave it, in
// words for the report. RiskHigh takes the upper end of the table's range,
// RiskLow the lower end; either is capped at the population, so that an
// empty population gives 0. An unknown frequency or risk, or a negative
// population, is an error of kind waarborg.EINVALID.
func Size(frequency string, risk Risk, population int) (int, string, error) {
	r, ok := sizes[frequency]
	if !ok {
		return 0, "", waarborg.Errorf(waarborg.EINVALID, "sample size: unknown control frequency %q", frequency)
	}
	if population < 0 {
		return 0, "", waarborg.Errorf(waarborg.EINVALID, "sample size: negative population %d", population)
	}
	var n int
	var rule string
	switch {
	case risk != RiskHigh && risk != RiskLow:
		return 0, "", waarborg.Errorf(waarborg.EINVALID, "sample size: unknown risk %d", int(risk))
	case r[0] == r[1]:
		n = r[0]
		rule = fmt.Sprintf("%s control: %d by the usual practice table", frequency, n)
	case risk == RiskHigh:
		n = r[1]
		rule = fmt.Sprintf("%s control: %d-%d by the usual practice table; high risk takes the upper end, %d", frequency, r[0], r[1], n)
	default:
		n = r[0]
		rule = fmt.Sprintf("%s control: %d-%d by the usual practice table; low risk takes the lower end, %d", frequency, r[0], r[1], n)
	}
	if population < n {
		n = population
		rule += fmt.Sprintf("; the population has %d, so all %d", population, n)
	}
	return n, rule, nil
}

// Input is what one draw reads.
type Input struct {
	Tenant  string
	Control string // the control id, e.g. "AC-05"
	// Frequency is the control's frequency, one of the constants above;
	// Control.Frequency of the catalog fits.
	Frequency string
	From, To  time.Time // the period [From, To); only their instants count
	// Population holds the ids of the population items: record ids, or
	// period labels (Periods) for a manual control. Order does not matter;
	// each id is distinct, non-empty and without a newline.
	Population []string
	Risk       Risk
}

// A Sample is a drawn sample, with what an auditor needs to redraw it.
type Sample struct {
	Population     int      `json:"population"`      // the number of items
	PopulationHash string   `json:"population_hash"` // SHA-256 of the sorted ids, hex
	Seed           string   `json:"seed"`            // hex
	Size           int      `json:"size"`
	Items          []string `json:"items"` // sorted, never nil
	Rule           string   `json:"rule"`  // how Size was chosen, in words
}

// Draw sizes the sample by Size and selects it from the population as
// docs/sampling.md describes byte for byte: the same input gives the same
// sample on any machine, and a population that differs in one id gives a
// different hash and seed.
//
// An input that docs/sampling.md cannot encode unambiguously (a tenant or
// control with a newline, an empty, repeated or multi-line id, To before
// From), or that Size rejects, is an error of kind waarborg.EINVALID. An
// empty population is not an error: its sample is empty, and the control
// is not occurring.
func Draw(in Input) (*Sample, error) {
	if in.Tenant == "" || strings.Contains(in.Tenant, "\n") {
		return nil, waarborg.Errorf(waarborg.EINVALID, "draw sample: tenant %q is empty or has a newline", in.Tenant)
	}
	if in.Control == "" || strings.Contains(in.Control, "\n") {
		return nil, waarborg.Errorf(waarborg.EINVALID, "draw sample: control %q is empty or has a newline", in.Control)
	}
	from, to := in.From.UTC(), in.To.UTC()
	if to.Before(from) {
		return nil, waarborg.Errorf(waarborg.EINVALID, "draw sample: period ends (%s) before it starts (%s)",
			to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	pop := slices.Clone(in.Population)
	slices.Sort(pop) // by bytes, as the document says
	for i, id := range pop {
		if id == "" || strings.Contains(id, "\n") {
			return nil, waarborg.Errorf(waarborg.EINVALID, "draw sample: population id %q is empty or has a newline", id)
		}
		if i > 0 && pop[i-1] == id {
			return nil, waarborg.Errorf(waarborg.EINVALID, "draw sample: population id %q occurs twice", id)
		}
	}
	n, rule, err := Size(in.Frequency, in.Risk, len(pop))
	if err != nil {
		return nil, fmt.Errorf("draw sample for %s: %w", in.Control, err)
	}

	h := sha256.New()
	for _, id := range pop {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	popHash := hex.EncodeToString(h.Sum(nil))
	seed := sha256.Sum256([]byte("waarborg-sample/v1\n" +
		in.Tenant + "\n" +
		in.Control + "\n" +
		from.Format(time.RFC3339Nano) + "\n" +
		to.Format(time.RFC3339Nano) + "\n" +
		popHash + "\n"))

	items := make([]string, 0, n)
	for _, i := range choose(seed, len(pop), n) {
		items = append(items, pop[i])
	}
	slices.Sort(items)
	return &Sample{
		Population:     len(pop),
		PopulationHash: popHash,
		Seed:           hex.EncodeToString(seed[:]),
		Size:           n,
		Items:          items,
		Rule:           rule,
	}, nil
}

// choose returns k distinct indexes of [0, n) by a partial Fisher-Yates
// shuffle fed by the seed's stream. Fisher-Yates rather than drawing until
// k distinct indexes turn up, so that the work is bounded when k is close
// to n.
func choose(seed [32]byte, n, k int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	s := stream{seed: seed, off: sha256.Size}
	for i := range k {
		j := i + int(s.below(uint64(n-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:k]
}

// stream is the byte stream SHA-256(seed || counter), counter = 0, 1, …
// as 8 bytes big-endian, read 8 bytes at a time.
type stream struct {
	seed    [32]byte
	counter uint64
	block   [sha256.Size]byte
	off     int // bytes of block already read
}

func (s *stream) uint64() uint64 {
	if s.off == len(s.block) {
		var in [40]byte
		copy(in[:], s.seed[:])
		binary.BigEndian.PutUint64(in[32:], s.counter)
		s.block = sha256.Sum256(in[:])
		s.counter++
		s.off = 0
	}
	v := binary.BigEndian.Uint64(s.block[s.off:])
	s.off += 8
	return v
}

// below returns a uniform number in [0, m), m > 0. Values at or above the
// largest multiple of m that fits in 64 bits are rejected, since taking
// them modulo m would favour the small remainders.
func (s *stream) below(m uint64) uint64 {
	limit := -(-m % m) // 2^64 - (2^64 mod m), which wraps to 0 when m divides 2^64
	for {
		x := s.uint64()
		if limit == 0 || x < limit {
			return x % m
		}
	}
}
