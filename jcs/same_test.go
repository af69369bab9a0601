package jcs

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// sameAsReference fails t unless Parse, ParseFunc and Append treat data
// exactly as the reference implementation does (Canonical is Parse and
// Append).
func sameAsReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := Parse(data)
	want, wantErr := refParse(data)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("Parse(%q): error %v, reference %v", data, err, wantErr)
	}
	lent := false
	lentErr := ParseFunc(data, func(v Value) {
		lent = true
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("ParseFunc(%q) lends %#v, reference %#v", data, v, want)
		}
	})
	if !reflect.DeepEqual(lentErr, err) || lent != (err == nil) {
		t.Fatalf("ParseFunc(%q): error %v (f called: %t), Parse's %v", data, lentErr, lent, err)
	}
	if err != nil {
		se, ok := errors.AsType[*SyntaxError](err)
		if !ok || *se != *wantErr.(*SyntaxError) {
			t.Fatalf("Parse(%q): error %#v, reference %#v", data, err, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse(%q) = %#v, reference %#v", data, got, want)
	}
	if c, rc := Append(nil, &got), refAppend(nil, &want); string(c) != string(rc) {
		t.Fatalf("canonical form of %q is %q, reference %q", data, c, rc)
	}
}

var referenceSeeds = []string{
	`{}`, `[]`, `{"a":[1,2.5,"x",null,true]}`, `"\u00e9\n"`, `-0.0`, `1e21`, `{"b":1,"a":{"c":2}}`, `1E-7`,
	` { "b" : [ ] , "a" : { } } `, `{"a":1,"b":2,"a":3}`, `{"b":1,"a":2,"b":3,"a":4}`, `{"a":{"x":1,"x":2}}`,
	`{"\ufb33":1,"\ud83d\ude00":2,"a":3,"\u00e9":4}`, "{\"\uffff\":1,\"\U00010000\":2,\"\ue000\":3}",
	`{"a\u0000":1,"a":2}`, `["\ud800"]`, `"\udc00\ud800"`, `"\ud83d\u0041"`, `"\ud83d"`, `"\u12"`, `"\x"`,
	"\"\xff\\n\"", "\"\xff\"", "\"a\x01\\n\"", "\"\\n\x01\"", `"abc`, `"abc\`, `"a\"b\\c\/d\be\ff\ng\rh\ti"`,
	`[1,2,]`, `[1 2]`, `{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `tru`, `nul`, `falsey`, `[true,false,null]`,
	`1e400`, `-1e400`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `0.1e1`, `123456789012345678901234567890`,
	`0.000001`, `0.0000001`, `11.50`, `100000000000000000000`, `1e-400`, `[[[[[[[[[[]]]]]]]]]]`,
}

func FuzzSameAsReference(f *testing.F) {
	for _, s := range referenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsReference(t, data) })
}

func FuzzCompareKeys(f *testing.F) {
	f.Add("a", "b")
	f.Add("\uffff", "\U00010000")
	f.Add("\ue000a", "\ue000")
	f.Add("é", "e")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return // no member name is invalid UTF-8
		}
		if got, want := compareKeys(a, b), refCompareKeys(a, b); got != want {
			t.Fatalf("compareKeys(%q, %q) = %d, reference %d", a, b, got, want)
		}
	})
}

func TestSameAsReferenceSeeds(t *testing.T) {
	for _, s := range referenceSeeds {
		sameAsReference(t, []byte(s))
	}
	// Objects about maxPermuted members long, out of order, with and
	// without a duplicate.
	for _, n := range []int{31, 32, 33, 40} {
		for _, dup := range []bool{false, true} {
			var b strings.Builder
			b.WriteByte('{')
			for i := n - 1; i >= 0; i-- {
				fmt.Fprintf(&b, `"k%02d":%d,`, i, i)
			}
			if dup {
				b.WriteString(`"k07":0,`)
			}
			b.WriteString(`"\ue000":[],"\ud800\udc00":{}}`)
			sameAsReference(t, []byte(b.String()))
		}
	}
	sameAsReference(t, []byte(deep(64)))
	sameAsReference(t, []byte(deep(65)))
	sameAsReference(t, []byte(deep(100)))
}

// TestSameAsReferenceConformance holds the parser to the reference on the
// conformance records and on every prefix of a few of them.
func TestSameAsReferenceConformance(t *testing.T) {
	f, err := os.Open("../../shared/conformance/basic/records.jsonl")
	if err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		sameAsReference(t, sc.Bytes())
		if n%1000 == 0 {
			for i := range sc.Bytes() {
				sameAsReference(t, sc.Bytes()[:i])
			}
		}
		n++
	}
}

// TestSameAsReferenceRandom holds the parser to the reference on random
// documents, with keys from all over Unicode, and on their corruptions.
func TestSameAsReferenceRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		randomValue(r, &b, 0)
		doc := []byte(b.String())
		sameAsReference(t, doc)
		for range 3 {
			m := append([]byte(nil), doc...)
			switch i := r.IntN(len(m)); r.IntN(3) {
			case 0:
				m = m[:i]
			case 1:
				m[i] = byte(r.IntN(256))
			default:
				m = append(m[:i], m[i+1:]...)
			}
			sameAsReference(t, m)
		}
	}
}

func randomValue(r *rand.Rand, b *strings.Builder, depth int) {
	space := func() {
		if r.IntN(4) == 0 {
			b.WriteString(" \n\t\r"[:1+r.IntN(4)])
		}
	}
	space()
	k := r.IntN(8)
	if depth > 3 {
		k = r.IntN(5)
	}
	switch k {
	case 0:
		b.WriteString([]string{"null", "true", "false"}[r.IntN(3)])
	case 1, 2:
		b.WriteString([]string{"0", "-0", "1", "-12.5", "11.50", "1e21", "1E-7", "0.000001", "3.14159265358979323846",
			"123456789012345678", "2e-3", "-0.0", "9007199254740993", "1.5e300", "5e-324"}[r.IntN(15)])
	case 3, 4:
		randomString(r, b)
	case 5:
		b.WriteByte('[')
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomValue(r, b, depth+1)
		}
		b.WriteByte(']')
	default:
		b.WriteByte('{')
		n := r.IntN(10)
		if r.IntN(50) == 0 {
			n = 30 + r.IntN(20) // around maxPermuted
		}
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			space()
			randomString(r, b)
			space()
			b.WriteByte(':')
			randomValue(r, b, depth+1)
		}
		b.WriteByte('}')
	}
	space()
}

// randomString writes a JSON string drawn from a small alphabet, so that
// keys collide, share prefixes and meet the characters UTF-16 orders apart.
func randomString(r *rand.Rand, b *strings.Builder) {
	alphabet := []string{"a", "b", "ab", "é", "\ue000", "\uffff", "\U00010000", "\U0010ffff", "€",
		`\u0000`, `\n`, `\"`, `\\`, `\/`, `\u00e9`, `\ud83d\ude00`, `\uE000`, "\x7f"}
	b.WriteByte('"')
	for range r.IntN(4) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	b.WriteByte('"')
}
