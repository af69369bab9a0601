package controls

import (
	"math/big"
	"testing"
)

func TestDecimalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"3/10", "0.3"},
		{"1200", "1200"},
		{"-1/8", "-0.125"},
		{"123456789012345678901/100", "1234567890123456789.01"},
		{"1/3", "0.333333333"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, _ := new(big.Rat).SetString(tt.in)
			if got := decimalString(r); got != tt.want {
				t.Errorf("decimalString(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestTotalsAddExactly(t *testing.T) {
	var ts totals
	ts.add("b", "kg", "0.1")
	ts.add("b", "kg", "0.2")
	ts.add("a", "pcs", "1e2")
	ts.add("b", "g", "5")
	got := ts.list()
	want := []Total{{"a", "pcs", "100"}, {"b", "g", "5"}, {"b", "kg", "0.3"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("total %d = %v, want %v", i, got[i], want[i])
		}
	}
}
