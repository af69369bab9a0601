// Package jcs parses JSON strictly and writes it in the canonical form of
// RFC 8785 (JSON Canonicalization Scheme), whose bytes are what waarborg hashes.
//
// It is pure and imports only the standard library; any package may use it.
package jcs

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// A Value is one parsed JSON value. Numbers keep their canonical text (the
// ECMAScript form RFC 8785 prescribes) so that they can be read as exact
// decimals of what is hashed; objects keep their members in canonical order.
type Value struct {
	Kind    Kind
	Bool    bool
	Str     string // a string's value, or a number's canonical text
	Items   []Value
	Members []Member
}

// A Member is one name/value pair of an object.
type Member struct {
	Key   string
	Value Value
}

// Get returns the member of an object named key.
func (v *Value) Get(key string) (*Value, bool) {
	if v.Kind != Object {
		return nil, false
	}
	for i := range v.Members {
		if v.Members[i].Key == key {
			return &v.Members[i].Value, true
		}
	}
	return nil, false
}

// Float returns a number's value as a float64.
func (v *Value) Float() float64 {
	f, _ := strconv.ParseFloat(v.Str, 64)
	return f
}

// Rat returns a number's exact decimal value. It is exact for the canonical
// text, which is what the content hash commits to.
func (v *Value) Rat() *big.Rat {
	r, ok := new(big.Rat).SetString(v.Str)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// A SyntaxError says where and why input is not acceptable JSON.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Parse parses exactly one JSON value (RFC 8259) with the I-JSON restrictions
// RFC 8785 relies on: valid UTF-8, no duplicate member names, numbers that
// fit an IEEE 754 double, no lone surrogates. It is safe for concurrent use.
func Parse(data []byte) (Value, error) {
	p := parsers.Get().(*parser)
	// One string copy of the input: unescaped strings and numbers in their
	// canonical form are substrings of it, not allocations of their own.
	p.data, p.src, p.pos = data, string(data), 0
	v, err := p.document()
	p.release()
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// ParseFunc parses data as Parse does and, if it is acceptable, calls f
// with its value. If the value is an object, its members are lent to f:
// they are overwritten once f returns, so f must not keep v.Members, though
// it may keep anything in them (the values of nested objects are f's own).
// The lending saves the allocation of the outer object, which a caller that
// wants only part of a document, or its canonical form, does not need.
func ParseFunc(data []byte, f func(v Value)) error {
	p := parsers.Get().(*parser)
	p.data, p.src, p.pos, p.lend = data, string(data), 0, true
	v, err := p.document()
	if err == nil {
		f(v)
	}
	p.release()
	return err
}

// parsers keeps parsers for reuse, so that the scratch stacks of members
// and items grow once, not once per object.
var parsers = sync.Pool{New: func() any { return new(parser) }}

// maxScratch is the most members or items a pooled parser keeps room for;
// a rare huge document should not pin its stack in the pool.
const maxScratch = 4096

type parser struct {
	data []byte
	src  string
	pos  int

	// The members and items of the objects and arrays being parsed, the
	// innermost last. Each completed object or array is copied out to a
	// slice of its exact size, so that a Value is one allocation no larger
	// than it needs, and its scratch popped.
	members []Member
	items   []Value
	buf     []byte // an escaped string's text while it is unescaped

	lend bool // the outermost object's members are lent: ParseFunc
}

func (p *parser) document() (Value, error) {
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return Value{}, p.errorf("unexpected data after the value")
	}
	return v, nil
}

// release returns p to the pool holding no reference to the document: a
// pooled parser must not keep its input, or strings of it, alive.
func (p *parser) release() {
	clear(p.members) // what an error left on the stack; the rest is clear
	clear(p.items)
	p.members, p.items = p.members[:0], p.items[:0]
	if cap(p.members) > maxScratch {
		p.members = nil
	}
	if cap(p.items) > maxScratch {
		p.items = nil
	}
	if cap(p.buf) > maxScratch {
		p.buf = nil
	}
	p.data, p.src, p.lend = nil, "", false
	parsers.Put(p)
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.errorf("nested deeper than %d", maxDepth)
	}
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return Value{Kind: String, Str: s}, err
	case c == 't':
		return Value{Kind: Bool, Bool: true}, p.literal("true")
	case c == 'f':
		return Value{Kind: Bool}, p.literal("false")
	case c == 'n':
		return Value{Kind: Null}, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return Value{}, p.errorf("unexpected character %q", c)
	}
}

func (p *parser) literal(lit string) error {
	if string(p.data[p.pos:min(len(p.data), p.pos+len(lit))]) != lit {
		return p.errorf("invalid literal")
	}
	p.pos += len(lit)
	return nil
}

func (p *parser) object(depth int) (Value, error) {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return Value{Kind: Object, Members: []Member{}}, nil
	}
	base := len(p.members)
	// Most objects arrive with their members in canonical order (anything
	// waarborg wrote itself); they need no sort and cannot hold a duplicate.
	ordered := true
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.errorf("expected a member name")
		}
		key, err := p.string()
		if err != nil {
			return Value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.errorf("expected ':' after member name")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		if ordered && len(p.members) > base && compareKeys(p.members[len(p.members)-1].Key, key) >= 0 {
			ordered = false
		}
		p.members = append(p.members, Member{Key: key, Value: val})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end of input in object")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] != '}' {
			return Value{}, p.errorf("expected ',' or '}' in object")
		}
		p.pos++
		break
	}
	ms := p.members[base:]
	if depth > 0 || !p.lend {
		v := Value{Kind: Object, Members: make([]Member, len(ms))}
		if err := p.arrange(v.Members, ms, ordered); err != nil {
			return Value{}, err
		}
		clear(ms)
		p.members = p.members[:base]
		return v, nil
	}
	// The members of a lent value stay on the stack until release, sorted
	// above those gathered if they need sorting.
	n := len(ms)
	if ordered {
		return Value{Kind: Object, Members: ms[:n:n]}, nil
	}
	p.members = slices.Grow(p.members, n)[:base+2*n]
	v := Value{Kind: Object, Members: p.members[base+n : base+2*n : base+2*n]}
	if err := p.arrange(v.Members, p.members[base:base+n], false); err != nil {
		return Value{}, err
	}
	return v, nil
}

// arrange puts the members ms of an object in canonical order in dst,
// unless they are ordered already, refusing a duplicate name.
func (p *parser) arrange(dst, ms []Member, ordered bool) error {
	switch {
	case ordered:
		copy(dst, ms)
	case len(ms) <= maxPermuted:
		// Members are large: sort their indices, and move each member once,
		// to its place in the object.
		var order [maxPermuted]uint8
		for i := range ms {
			j := i
			for ; j > 0 && compareKeys(ms[order[j-1]].Key, ms[i].Key) > 0; j-- {
				order[j] = order[j-1]
			}
			order[j] = uint8(i)
		}
		for i, j := range order[:len(ms)] {
			if i > 0 && ms[j].Key == dst[i-1].Key {
				return p.errorf("duplicate member name %q", ms[j].Key)
			}
			dst[i] = ms[j]
		}
	default:
		slices.SortFunc(ms, func(a, b Member) int { return compareKeys(a.Key, b.Key) })
		for i := 1; i < len(ms); i++ {
			if ms[i].Key == ms[i-1].Key {
				return p.errorf("duplicate member name %q", ms[i].Key)
			}
		}
		copy(dst, ms)
	}
	return nil
}

// maxPermuted is the most members of an object sorted by a permutation.
const maxPermuted = 32

func (p *parser) array(depth int) (Value, error) {
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return Value{Kind: Array}, nil
	}
	base := len(p.items)
	for {
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.items = append(p.items, item)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end of input in array")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] != ']' {
			return Value{}, p.errorf("expected ',' or ']' in array")
		}
		p.pos++
		break
	}
	items := p.items[base:]
	v := Value{Kind: Array, Items: make([]Value, len(items))}
	copy(v.Items, items)
	clear(items)
	p.items = p.items[:base]
	return v, nil
}

// The classes of a byte in a string: plain ASCII is copied as it is, other
// bytes of UTF-8 too once the string is known to be valid UTF-8, and the
// rest ends the string, starts an escape or is refused.
const (
	plain = iota
	nonASCII
	special // '"', '\\' and control characters
)

var stringClass = func() (c [256]uint8) {
	for i := range c {
		switch {
		case i < 0x20 || i == '"' || i == '\\':
			c[i] = special
		case i >= utf8.RuneSelf:
			c[i] = nonASCII
		}
	}
	return c
}()

func (p *parser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	ascii := true
	for {
		for p.pos < len(p.data) && stringClass[p.data[p.pos]] == plain {
			p.pos++
		}
		if p.pos >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		switch c := p.data[p.pos]; {
		case c == '"':
			if !ascii && !utf8.Valid(p.data[start:p.pos]) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			p.pos++
			return p.src[start : p.pos-1], nil
		case c >= utf8.RuneSelf:
			ascii = false
			p.pos++
		case c == '\\':
			return p.escaped(start)
		default:
			return "", p.errorf("control character in string")
		}
	}
}

// escaped finishes a string, begun at start, at its first escape.
func (p *parser) escaped(start int) (string, error) {
	buf := append(p.buf[:0], p.data[start:p.pos]...)
	defer func() { p.buf = buf }()
	for {
		run := p.pos
		for p.pos < len(p.data) && stringClass[p.data[p.pos]] != special {
			p.pos++
		}
		buf = append(buf, p.data[run:p.pos]...)
		if p.pos >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		}
		p.pos++
		if p.pos >= len(p.data) {
			return "", p.errorf("unterminated escape")
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
					return "", p.errorf("lone surrogate in string")
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", p.errorf("lone surrogate in string")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
}

func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.errorf("short \\u escape")
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.errorf("invalid \\u escape")
		}
	}
	p.pos += 4
	return r, nil
}

func (p *parser) number() (Value, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return Value{}, p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return Value{}, p.errorf("invalid number: no digits after '.'")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return Value{}, p.errorf("invalid number: no digits in exponent")
		}
	}
	lit := p.src[start:p.pos]
	if canonicalAsIs(lit) {
		return Value{Kind: Number, Str: lit}, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return Value{}, &SyntaxError{Offset: start, Msg: "number out of the range of an IEEE 754 double"}
	}
	return Value{Kind: Number, Str: FormatNumber(f)}, nil
}

// canonicalAsIs reports whether a valid JSON number literal is already in
// canonical form: a plain decimal with at most 15 significant digits (which
// a double holds exactly, so its shortest form is the literal), no exponent,
// no trailing fraction zero, not zero, and not below 1e-6, where ECMAScript
// switches to exponents.
func canonicalAsIs(lit string) bool {
	i := 0
	if lit[0] == '-' {
		i++
	}
	intStart := i
	for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
		i++
	}
	intPart := lit[intStart:i]
	frac := ""
	if i < len(lit) {
		if lit[i] != '.' {
			return false // an exponent
		}
		frac = lit[i+1:]
		for j := 0; j < len(frac); j++ {
			if frac[j] < '0' || frac[j] > '9' {
				return false
			}
		}
		if frac[len(frac)-1] == '0' {
			return false
		}
	}
	if intPart == "0" {
		z := 0
		for z < len(frac) && frac[z] == '0' {
			z++
		}
		return frac != "" && z <= 5 && len(frac)-z <= 15
	}
	return len(intPart)+len(frac) <= 15
}

// FormatNumber writes f as ECMAScript's Number.prototype.toString does,
// which is the number form of RFC 8785 (section 3.2.2.3).
func FormatNumber(f float64) string {
	if f == 0 {
		return "0" // also for -0
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	// Shortest round-trip digits d1.d2...dk and exponent e: f = 0.d1...dk × 10^n with n = e+1.
	es := strconv.FormatFloat(f, 'e', -1, 64)
	neg := es[0] == '-'
	if neg {
		es = es[1:]
	}
	mant, exp, _ := strings.Cut(es, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	n := e + 1
	k := len(digits)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case k <= n && n <= 21:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		b.WriteString(digits[:n])
		b.WriteByte('.')
		b.WriteString(digits[n:])
	case -6 < n && n <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -n))
		b.WriteString(digits)
	default:
		b.WriteByte(digits[0])
		if k > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if n-1 >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(n - 1))
	}
	return b.String()
}

// compareKeys orders member names by their UTF-16 code units (RFC 8785
// 3.2.3), which the parser's names, valid UTF-8, allow without decoding:
// UTF-8 bytes order as code points do, and UTF-16 differs from that order
// only where a character above U+FFFF (a surrogate pair, D800-DBFF first)
// meets one of U+E000-U+FFFF. At the first byte that differs both names are
// at the same place of a character, so those are told apart by lead bytes:
// 0xEE-0xEF for U+E000-U+FFFF, 0xF0-0xF4 above U+FFFF.
func compareKeys(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	x, y := a[i], b[i]
	if x >= 0xEE && y >= 0xEE && (x >= 0xF0) != (y >= 0xF0) {
		return cmp.Compare(y, x)
	}
	return cmp.Compare(x, y)
}

// Append appends the canonical form of v to dst.
func Append(dst []byte, v *Value) []byte {
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Bool:
		if v.Bool {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case Number:
		return append(dst, v.Str...)
	case String:
		return AppendString(dst, v.Str)
	case Array:
		dst = append(dst, '[')
		for i := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = Append(dst, &v.Items[i])
		}
		return append(dst, ']')
	case Object:
		dst = append(dst, '{')
		for i := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, v.Members[i].Key)
			dst = append(dst, ':')
			dst = Append(dst, &v.Members[i].Value)
		}
		return append(dst, '}')
	}
	panic(errors.New("jcs: invalid kind"))
}

// AppendString appends s as a canonical JSON string: only '"', '\\' and
// control characters are escaped, in the short form where one exists.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Canonical parses data and returns its canonical form.
func Canonical(data []byte) ([]byte, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return Append(nil, &v), nil
}
