package controls

import (
	"math/big"
	"slices"
	"strings"
)

// A Total is a control total of one side of a reconciling control: the sum
// of a quantity over the control's population, in one unit, so that an
// auditor can agree the figures waarborg tested to the plant's and the
// ERP's own records (completeness and accuracy of information produced by
// the entity). Value is an exact decimal.
type Total struct {
	Name  string `json:"name"`
	Unit  string `json:"unit"`
	Value string `json:"value"`
}

// totals accumulates Totals by name and unit.
type totals map[[2]string]*sum

func (t *totals) add(name, unit, value string) {
	if *t == nil {
		*t = make(totals)
	}
	k := [2]string{name, unit}
	s := (*t)[k]
	if s == nil {
		s = new(sum)
		(*t)[k] = s
	}
	s.add(value)
}

func (t totals) list() []Total {
	var out []Total
	for k, s := range t {
		out = append(out, Total{Name: k[0], Unit: k[1], Value: decimalString(s.rat())})
	}
	slices.SortFunc(out, func(a, b Total) int {
		return strings.Compare(a.Name+"\x00"+a.Unit, b.Name+"\x00"+b.Unit)
	})
	return out
}

// decimalString writes r exactly as a plain decimal. Sums of decimal
// numbers always have such a form; a value that somehow had none (a
// denominator with a prime factor other than 2 and 5) is rounded to 9
// places.
func decimalString(r *big.Rat) string {
	den := r.Denom()
	rest := new(big.Int).Set(den)
	for _, p := range []*big.Int{big.NewInt(2), big.NewInt(5)} {
		for new(big.Int).Mod(rest, p).Sign() == 0 {
			rest.Quo(rest, p)
		}
	}
	if !rest.IsInt64() || rest.Int64() != 1 {
		return r.FloatString(9)
	}
	places, pow := 0, big.NewInt(1)
	for new(big.Int).Mod(pow, den).Sign() != 0 {
		pow.Mul(pow, big.NewInt(10))
		places++
	}
	return r.FloatString(places)
}
