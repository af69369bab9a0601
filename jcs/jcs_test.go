package jcs

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestCanonicalRFC8785Example(t *testing.T) {
	in := `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	got, err := Canonical([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFormatNumber(t *testing.T) {
	// Values from RFC 8785 appendix B.
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		if got := FormatNumber(math.Float64frombits(tt.bits)); got != tt.want {
			t.Errorf("FormatNumber(%#x) = %s, want %s", tt.bits, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"duplicate key", `{"a":1,"a":2}`},
		{"trailing comma", `{"a":1,}`},
		{"lone surrogate", `"\ud800"`},
		{"low surrogate first", `"\udc00\ud800"`},
		{"invalid utf8", "\"\xff\""},
		{"overflow", `1e400`},
		{"leading zero", `01`},
		{"bare dot", `1.`},
		{"control char", "\"a\x01\""},
		{"two values", `1 2`},
		{"empty", ``},
		{"nan", `NaN`},
		{"plus", `+1`},
		{"deep", string(make([]byte, 0)) + deep(100)},
		{"truncated literal", `tru`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in)); err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", tt.in)
			}
		})
	}
}

func deep(n int) string {
	s := ""
	for range n {
		s += "["
	}
	for range n {
		s += "]"
	}
	return s
}

func TestKeyOrderUTF16(t *testing.T) {
	// RFC 8785 3.2.3: sorting by UTF-16 code units puts U+1F600 (surrogates D83D) before U+FB33.
	in := `{"\ufb33":1,"\ud83d\ude00":2,"a":3,"\u00e9":4}`
	got, err := Canonical([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"a\":3,\"\u00e9\":4,\"\U0001F600\":2,\"\ufb33\":1}"
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2.5,"x",null,true]}`, `"\u00e9\n"`, `-0.0`, `1e21`, `{"b":1,"a":{"c":2}}`, `1E-7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Canonical(data)
		if err != nil {
			return
		}
		// Canonical output is valid JSON, equal in meaning to the input, and a fixed point.
		var a, b any
		if err := json.Unmarshal(c, &b); err != nil {
			t.Fatalf("canonical form %q is not JSON: %v", c, err)
		}
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatalf("accepted %q that encoding/json rejects: %v", data, err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		ca, _ := Canonical(ja)
		cb, _ := Canonical(jb)
		if string(ca) != string(cb) {
			t.Fatalf("canonical form changes the meaning: %s vs %s", ja, jb)
		}
		c2, err := Canonical(c)
		if err != nil || string(c2) != string(c) {
			t.Fatalf("canonical form is not a fixed point: %q -> %q (%v)", c, c2, err)
		}
	})
}

func TestCanonicalAsIsAgreesWithFormatNumber(t *testing.T) {
	lits := []string{"0", "-0", "1", "-1", "10", "100000000000000", "999999999999999", "1000000000000000",
		"0.1", "0.10", "1.5", "-1.5", "0.000001", "0.0000001", "0.00001", "123456789012345", "1234567890.12345",
		"12345678901234.56", "0.123456789012345", "0.1234567890123456", "2.50", "1e3", "1.0", "227.3", "11.61", "0.0"}
	for _, lit := range lits {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatal(err)
		}
		if canonicalAsIs(lit) && FormatNumber(f) != lit {
			t.Errorf("%s taken as canonical, but its canonical form is %s", lit, FormatNumber(f))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		intDigits, fracDigits := r.IntN(12), r.IntN(10)
		lit := strconv.FormatInt(r.Int64N(pow10(intDigits)+1), 10)
		if fracDigits > 0 {
			lit += "." + fmt.Sprintf("%0*d", fracDigits, r.Int64N(pow10(fracDigits)))
		}
		f, _ := strconv.ParseFloat(lit, 64)
		if canonicalAsIs(lit) && FormatNumber(f) != lit {
			t.Fatalf("%s taken as canonical, but its canonical form is %s", lit, FormatNumber(f))
		}
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
