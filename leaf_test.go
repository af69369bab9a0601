package waarborg

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"
)

// The leaf is exactly the text of records.md, so that anyone can recompute it.
func TestLeafIsTheSpecText(t *testing.T) {
	received := time.Date(2026, 3, 1, 7, 0, 0, 123456789, time.FixedZone("", 3600))
	hash := sha256.Sum256([]byte("{}"))
	got := string(Leaf("acme-foods", "pc.0001", received, hash))
	want := "waarborg-leaf/v1\n" +
		"acme-foods\n" +
		"pc.0001\n" +
		"2026-03-01T06:00:00.123Z\n" +
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\n"
	if got != want {
		t.Errorf("Leaf =\n%q\nwant\n%q", got, want)
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","tenant":"t","source":"ede/l1/scada","type":"production.count","time":"2026-03-01T06:00:00Z","data":{"line":"l","product":"p","quantity":1.5,"unit":"kg","start":"2026-03-01T05:00:00+01:00","end":"2026-03-01T06:00:00Z"}}`,
		`{"id":"c","tenant":"t","source":"s","type":"correction","time":"2026-03-01T06:00:00.5Z","actor":"x","data":{"corrects":"a","type":"batch.end","reason":"r","data":{"batch_id":"b","line":"l","quantity_good":1,"quantity_scrap":0,"unit":"kg"}}}`,
		`{"id":"g","tenant":"t","source":"s","type":"source.gap","time":"2026-03-01T06:00:00Z","data":{"detail":"d","since":"2026-03-01T05:00:00Z","until":"2026-03-01T06:00:00Z","expected_seq":3}}`,
		`{}`, `[]`, `{"id":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			if _, ok := err.(*RecordError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// An accepted record's canonical form is accepted again, as the same record.
		r2, err := ParseRecord(r.Canonical)
		if err != nil {
			t.Fatalf("canonical form %s rejected: %v", r.Canonical, err)
		}
		if string(r2.Canonical) != string(r.Canonical) || r2.Hash() != r.Hash() || !r2.Time.Equal(r.Time) || r2.ID != r.ID {
			t.Fatalf("canonical form parses differently: %s", r.Canonical)
		}
	})
}

func TestAppendReceivedMatchesTimeFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1e6, time.FixedZone("x", 3600)),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(1<<35), r.Int64N(1e9)))
	}
	for _, tm := range times {
		if got, want := FormatReceived(tm), tm.UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Fatalf("FormatReceived(%v) = %s, want %s", tm, got, want)
		}
	}
}
