// Package decimal does the little exact decimal arithmetic that connectors
// need on quantities — parse a number's text, add, multiply by a count — so
// that a quantity never passes through a binary float. Pure; connectors
// import it.
package decimal

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// A Decimal is unscaled × 10^-scale. The zero value is 0.
type Decimal struct {
	unscaled big.Int
	scale    int // digits after the point; never negative
}

// maxDigits bounds the digits a parsed number may expand to, so that an
// exponent such as 1e999999999 cannot exhaust memory.
const maxDigits = 400

var errSyntax = errors.New("not a decimal number")

// Parse reads a JSON number (RFC 8259 grammar: optional '-', digits with no
// leading zero, optional fraction and exponent). Trailing fraction zeros
// are kept: "1.50" has scale 2.
func Parse(s string) (Decimal, error) {
	var d Decimal
	if !ValidJSON(s) {
		return d, errSyntax
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > maxDigits || e < -maxDigits {
			return d, errors.New("exponent out of range")
		}
		exp = e
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	scale := len(frac) - exp
	if scale < 0 {
		digits += strings.Repeat("0", -scale)
		scale = 0
	}
	if len(digits) > maxDigits || scale > maxDigits {
		return d, errors.New("too many digits")
	}
	d.unscaled.SetString(digits, 10)
	if neg {
		d.unscaled.Neg(&d.unscaled)
	}
	d.scale = scale
	return d, nil
}

// ValidJSON reports whether s is a JSON number.
func ValidJSON(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// FromUint returns n as a Decimal.
func FromUint(n uint64) Decimal {
	var d Decimal
	d.unscaled.SetUint64(n)
	return d
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.unscaled.Sign() }

// Add returns a + b, with the larger of their scales.
func Add(a, b Decimal) Decimal {
	var r Decimal
	x, y := a.rescaled(max(a.scale, b.scale)), b.rescaled(max(a.scale, b.scale))
	r.unscaled.Add(&x, &y)
	r.scale = max(a.scale, b.scale)
	return r
}

// MulUint returns d × n.
func (d Decimal) MulUint(n uint64) Decimal {
	var r Decimal
	r.unscaled.Mul(&d.unscaled, new(big.Int).SetUint64(n))
	r.scale = d.scale
	return r
}

// Cmp compares a and b as numbers.
func Cmp(a, b Decimal) int {
	s := max(a.scale, b.scale)
	x, y := a.rescaled(s), b.rescaled(s)
	return x.Cmp(&y)
}

func (d Decimal) rescaled(scale int) big.Int {
	var r big.Int
	r.Mul(&d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
	return r
}

// String writes d as a plain JSON number with its scale: no exponent, the
// fraction's trailing zeros kept ("1.50"), "0" for zero without a fraction.
func (d Decimal) String() string {
	neg := d.unscaled.Sign() < 0
	var abs big.Int
	abs.Abs(&d.unscaled)
	s := abs.String()
	if d.scale > 0 {
		if len(s) <= d.scale {
			s = strings.Repeat("0", d.scale-len(s)+1) + s
		}
		s = s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
