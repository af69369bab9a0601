package controls

import (
	"math"
	"math/big"
	"math/bits"
)

// A sum adds numbers, given as their canonical JSON text, exactly (records.md:
// quantities compare as decimals, 0.1 + 0.2 = 0.3). It works in int64 fixed
// point while every value fits, which is the common case and costs no
// allocation, and moves to big.Rat for good once one does not.
type sum struct {
	v     int64 // the sum × 10^scale
	scale int
	big   *big.Rat // non-nil once fixed point no longer holds the sum
}

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func (s *sum) add(text string) {
	if s.big == nil {
		if m, scale, ok := fixed(text); ok && s.addFixed(m, scale) {
			return
		}
		s.big = s.rat()
	}
	s.big.Add(s.big, ratOf(text))
}

func (s *sum) addFixed(m int64, scale int) bool {
	v := s.v
	if scale > s.scale {
		var ok bool
		if v, ok = mul(v, pow10[scale-s.scale]); !ok {
			return false
		}
	} else if scale < s.scale {
		var ok bool
		if m, ok = mul(m, pow10[s.scale-scale]); !ok {
			return false
		}
		scale = s.scale
	}
	r := v + m
	if m > 0 && r < v || m < 0 && r > v {
		return false
	}
	s.v, s.scale = r, scale
	return true
}

// rat returns the sum's exact value; the caller must not change it.
func (s *sum) rat() *big.Rat {
	if s.big != nil {
		return s.big
	}
	return big.NewRat(s.v, pow10[s.scale])
}

// fixed reads canonical number text without exponent and with at most 18
// digits as m × 10^-scale.
func fixed(text string) (m int64, scale int, ok bool) {
	i, neg := 0, false
	if len(text) > 0 && text[0] == '-' {
		i, neg = 1, true
	}
	digits, dot := 0, false
	for ; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 18 {
				return 0, 0, false
			}
			m = m*10 + int64(c-'0')
			digits++
			if dot {
				scale++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, 0, false
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	if neg {
		m = -m
	}
	return m, scale, true
}

func mul(a, b int64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs(a), abs(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

func abs(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

// ratOf returns the exact value of canonical number text ("" reads as 0).
func ratOf(text string) *big.Rat {
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// beyond reports whether |a − b| > frac × ref, exactly.
func beyond(a, b, frac, ref *big.Rat) bool {
	d := new(big.Rat).Sub(a, b)
	d.Abs(d)
	return d.Cmp(new(big.Rat).Mul(frac, ref)) > 0
}

func ratInt(n int64) *big.Rat { return big.NewRat(n, 1) }
