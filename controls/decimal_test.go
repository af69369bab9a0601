package controls

import (
	"math/big"
	"testing"
	"time"
)

func TestSum(t *testing.T) {
	tests := []struct {
		name  string
		terms []string
		want  string // as a big.Rat's exact text
	}{
		{"binary floats would miss", []string{"0.1", "0.2"}, "3/10"},
		{"scales meet", []string{"1", "0.25", "3.125"}, "35/8"},
		{"negative", []string{"5", "-7.5"}, "-5/2"},
		{"exponent form", []string{"1e+21", "1"}, "1000000000000000000001"},
		{"tiny", []string{"1.5e-7", "0.0000001"}, "1/4000000"},
		{"fixed point overflows", []string{"999999999999999999", "999999999999999999", "0.5"}, "3999999999999999997/2"},
		{"too many digits", []string{"0.1234567890123456789"}, "1234567890123456789/10000000000000000000"},
		{"empty", nil, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s sum
			for _, x := range tc.terms {
				s.add(x)
			}
			want, _ := new(big.Rat).SetString(tc.want)
			if s.rat().Cmp(want) != 0 {
				t.Errorf("sum = %s, want %s", s.rat().RatString(), want.RatString())
			}
		})
	}
}

func TestCalendarUnits(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	tests := []struct {
		name       string
		from, want string
		unit       func(time.Time) time.Time
	}{
		{"quarter start is itself", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z", quarterStart},
		{"quarter just after its start", "2026-04-01T00:00:00.001Z", "2026-07-01T00:00:00Z", quarterStart},
		{"quarter across the year", "2026-11-22T00:00:00Z", "2027-01-01T00:00:00Z", quarterStart},
		{"Monday midnight is itself", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", weekStart},
		{"Monday just after midnight", "2026-01-05T00:00:01Z", "2026-01-12T00:00:00Z", weekStart},
		{"Sunday", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", weekStart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.unit(at(tc.from)); !got.Equal(at(tc.want)) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
