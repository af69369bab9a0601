package decimal

import (
	"math/big"
	"testing"
)

func TestParseString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"1.50", "1.50"},
		{"-0.001", "-0.001"},
		{"12345678901234567890.123456789", "12345678901234567890.123456789"},
		{"1e3", "1000"},
		{"1.5E-3", "0.0015"},
		{"25E+1", "250"},
	}
	for _, tt := range tests {
		d, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "-", "01", "1.", ".5", "+1", "1e", "1e99999", "NaN", "1,5", " 1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestArithmetic(t *testing.T) {
	a, _ := Parse("0.1")
	b, _ := Parse("0.20")
	if got := Add(a, b).String(); got != "0.30" {
		t.Errorf("0.1 + 0.20 = %s", got)
	}
	f, _ := Parse("0.001")
	if got := f.MulUint(1500).String(); got != "1.500" {
		t.Errorf("0.001 × 1500 = %s", got)
	}
	if got := FromUint(1<<63 + 5).MulUint(4).String(); got != "36893488147419103252" {
		t.Errorf("big product = %s", got)
	}
	if Cmp(a, b) >= 0 || Cmp(b, a) <= 0 || Cmp(Add(a, a), b) != 0 {
		t.Error("Cmp")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1.50", "-2e-3", "1E+400", "007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		// The text written is a JSON number of the same value.
		out := d.String()
		if !ValidJSON(out) {
			t.Fatalf("%q wrote %q, not a JSON number", s, out)
		}
		want, _ := new(big.Rat).SetString(s)
		got, _ := new(big.Rat).SetString(out)
		if want.Cmp(got) != 0 {
			t.Fatalf("%q wrote %q, another value", s, out)
		}
	})
}
