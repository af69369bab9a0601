package waarborg

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/waarborg/waarborg/jcs"
)

// sameRecordAsReference fails t unless ParseRecord treats line exactly as
// the reference does: the same record, or the same error.
func sameRecordAsReference(t *testing.T, line []byte) {
	t.Helper()
	r, err := ParseRecord(line)
	want, wantErr := refParseRecord(line)
	if !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("ParseRecord(%s): error %#v, reference %#v", line, err, wantErr)
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("ParseRecord(%s) = %#v, reference %#v", line, r, want)
	}
}

var recordSeeds = []string{
	`{"id":"a","tenant":"t","source":"ede/l1/scada","type":"production.count","time":"2026-03-01T06:00:00Z","data":{"line":"l","product":"p","quantity":1.5,"unit":"kg","start":"2026-03-01T05:00:00+01:00","end":"2026-03-01T06:00:00Z"}}`,
	`{"id":"a","tenant":"t","source":"ede/l1/scada","type":"production.count","time":"2026-03-01T06:00:00Z","data":{"line":"l","product":"p","quantity":-1,"unit":"kg","start":"2026-03-01T07:00:00+01:00","end":"2026-03-01T06:00:00Z"}}`,
	`{"id":"c","tenant":"t","source":"s","type":"correction","time":"2026-03-01T06:00:00.5Z","actor":"x","data":{"corrects":"a","type":"batch.end","reason":"r","data":{"batch_id":"b","line":"l","quantity_good":1,"quantity_scrap":0,"unit":"kg"}}}`,
	`{"id":"c","tenant":"t","source":"s","type":"correction","time":"2026-03-01T06:00:00.5Z","actor":"x","data":{"corrects":"a b","type":"batch.end","reason":"r","data":{"batch_id":"b","line":"l","quantity_good":1,"quantity_scrap":"0","unit":"kg"}}}`,
	`{"id":"g","tenant":"t","source":"s","type":"source.gap","time":"2026-03-01T06:00:00Z","data":{"detail":"d","since":"2026-03-01T05:00:00Z","until":"2026-03-01T06:00:00Z","expected_seq":3,"received_seq":-1}}`,
	`{"id":"m","tenant":"t","source":"s","type":"machine.runtime","time":"2026-03-01T06:00:00Z","data":{"line":"l","start":"2026-03-01T05:00:00Z","end":"2026-03-01T06:00:00Z","run_seconds":3600.001}}`,
	`{"id":"i","tenant":"t","source":"s","type":"incident.open","time":"2026-03-01T06:00:00Z","data":{"incident_id":"i","severity":"high","refs":["a",1]}}`,
	`{"id":"e","tenant":"t","source":"s","type":"incident.escalate","time":"2026-03-01T06:00:00Z","data":{"incident_id":"i","level":1.5,"to":"x"}}`,
	`{"id":"x","tenant":"t","source":"s","type":"exception.accept","time":"2026-03-01T06:00:00Z","data":{"control":"PC-02","subject":"b1","response":"r"}}`,
	`{"id":"h","tenant":"t","source":"s","type":"historian.sample","time":"2026-02-29T06:00:00Z","data":{"tag":"x","value":1,"quality":"meh"}}`,
	`{"id":"h","tenant":"T","source":"s//t","type":"nope","time":"2026-03-01T06:00:00Z","data":{},"x":1}`,
	`{"id":"a","tenant":"t","source":"s","type":"change.approve","time":"2026-03-01t06:00:00.123456789123z","data":{"change_id":"c"}}`,
	`{}`, `[]`, `{"id":1}`, `{"id":"a","data":[]}`, `{"id":"a","id":"b"}`,
}

func FuzzParseRecordSameAsReference(f *testing.F) {
	for _, s := range recordSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) { sameRecordAsReference(t, line) })
}

// TestParseRecordSameAsReference holds ParseRecord to the reference on the
// conformance records, and on each of them with one envelope or data member
// removed or given another value, so that every rule is broken somewhere.
func TestParseRecordSameAsReference(t *testing.T) {
	for _, s := range recordSeeds {
		sameRecordAsReference(t, []byte(s))
	}
	f, err := os.Open("../shared/conformance/basic/records.jsonl")
	if err != nil {
		t.Skip("conformance data not beside the checkout:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	r := rand.New(rand.NewPCG(5, 6))
	others := []string{`-1`, `0`, `1.5`, `"x"`, `""`, `true`, `null`, `[]`, `["a",2]`, `{}`, `"a b"`,
		`"2026-03-01T05:00:00Z"`, `"2026-03-01T07:00:00+01:00"`, `"2026-02-30T05:00:00Z"`, `"high"`, `"batch.end"`}
	// Records are kept to be compared again at the end: what ParseRecord
	// returns must own all it holds, nothing of the parser's that a later
	// parse reuses.
	type kept struct {
		line []byte
		rec  *Record
	}
	var keep []kept
	for sc.Scan() {
		line := sc.Bytes()
		sameRecordAsReference(t, line)
		rec, err := ParseRecord(line)
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, kept{append([]byte(nil), line...), rec})
		if r.IntN(10) != 0 {
			continue
		}
		v, err := jcs.Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range []*jcs.Value{&v, dataOf(&v)} {
			for i := range obj.Members {
				saved := obj.Members[i]
				obj.Members = append(obj.Members[:i], obj.Members[i+1:]...)
				sameRecordAsReference(t, jcs.Append(nil, &v))
				obj.Members = append(obj.Members[:i], append([]jcs.Member{saved}, obj.Members[i:]...)...)
				for range 3 {
					other, err := jcs.Parse([]byte(others[r.IntN(len(others))]))
					if err != nil {
						t.Fatal(err)
					}
					obj.Members[i].Value = other
					sameRecordAsReference(t, jcs.Append(nil, &v))
				}
				obj.Members[i] = saved
			}
		}
	}
	for _, k := range keep {
		if want, _ := refParseRecord(k.line); !reflect.DeepEqual(k.rec, want) {
			t.Fatalf("record of %s became %#v, reference %#v", k.line, k.rec, want)
		}
	}
}

func dataOf(v *jcs.Value) *jcs.Value {
	if d, ok := v.Get("data"); ok {
		return d
	}
	return &jcs.Value{}
}

func TestParseTimeSameAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for range 200000 {
		s := fmt.Sprintf("%04d-%02d-%02d%s%02d:%02d:%02d%s%s",
			[]int{0, 1, 1600, 1900, 1970, 2000, 2024, 2026, 2100, 9999}[r.IntN(10)]+r.IntN(2),
			r.IntN(14), r.IntN(33), pick("T", "t", " "), r.IntN(26), r.IntN(61), r.IntN(61),
			pick("", "", ".", ".5", ".123", ".123456789", ".1234567891234"),
			pick("Z", "z", "", "+01:00", "-06:00", "+23:59", "-23:59", "+24:00", "+01:60", "+0100", "+1:00"))
		got, ok := ParseTime(s)
		want, wantOK := refParseTime(s)
		if got != want || ok != wantOK {
			t.Fatalf("ParseTime(%q) = %v, %v; reference %v, %v", s, got, ok, want, wantOK)
		}
	}
}

// TestParseRecordConcurrently parses records on several goroutines at once,
// as ingest does, for the race detector to watch the parsers they share.
func TestParseRecordConcurrently(t *testing.T) {
	var lines [][]byte
	for _, s := range recordSeeds {
		lines = append(lines, []byte(s))
	}
	if more, err := readLines("../shared/conformance/basic/records.jsonl", 2000); err == nil {
		lines = append(lines, more...)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, line := range lines {
				r, err := ParseRecord(line)
				want, wantErr := refParseRecord(line)
				if !reflect.DeepEqual(r, want) || !reflect.DeepEqual(err, wantErr) {
					t.Errorf("ParseRecord(%s) = %v, %v; reference %v, %v", line, r, err, want, wantErr)
					return
				}
			}
		})
	}
	wg.Wait()
}
