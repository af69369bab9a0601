package segment_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/internal/segment"
)

func pending(i int) *waarborg.Pending {
	r := &waarborg.Record{ID: fmt.Sprintf("r-%d", i), Canonical: []byte(fmt.Sprintf(`{"id":"r-%d","n":%d}`, i, i))}
	return &waarborg.Pending{Record: r, Hash: r.Hash(), ReceivedAt: time.UnixMilli(1_700_000_000_000 + int64(i)).UTC()}
}

// text returns the segments of entries 0 to n-1.
func text(n int) [][]byte {
	var segs [][]byte
	for i := range n {
		if i%segment.Size == 0 {
			segs = append(segs, nil)
		}
		segs[len(segs)-1] = segment.Append(segs[len(segs)-1], pending(i))
	}
	return segs
}

func TestEntryAndReader(t *testing.T) {
	segs := text(150)
	for _, idx := range []uint64{0, 1, 63, 64, 100, 149} {
		st, err := segment.Entry(segs[idx/segment.Size], "acme", idx)
		p := pending(int(idx))
		if err != nil || st.ID != p.Record.ID || st.Index != idx || st.Tenant != "acme" || st.Hash != p.Hash ||
			!st.ReceivedAt.Equal(p.ReceivedAt) || !bytes.Equal(st.Canonical, p.Record.Canonical) {
			t.Errorf("Entry(%d) = %+v, %v", idx, st, err)
		}
	}
	if _, err := segment.Entry(segs[2], "acme", 150); !errors.Is(err, segment.ErrMalformed) {
		t.Errorf("Entry past the segment's end: %v, want ErrMalformed", err)
	}
	tests := []struct {
		name     string
		from, to uint64
	}{
		{"all", 0, 150},
		{"inside one segment", 3, 9},
		{"across segments", 60, 130},
		{"past the end", 140, 1 << 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := segment.Reader{Tenant: "acme", From: tc.from, To: tc.to}
			var got []uint64
			for s := tc.from / segment.Size; s < uint64(len(segs)) && s*segment.Size < tc.to; s++ {
				ok := r.Segment(s, segs[s], func(st *waarborg.Stored, err error) bool {
					if err != nil || st.ID != pending(int(st.Index)).Record.ID {
						t.Fatalf("entry %d: %+v, %v", st.Index, st, err)
					}
					got = append(got, st.Index)
					return true
				})
				if !ok {
					t.Fatal("Segment stopped")
				}
			}
			want := min(tc.to, 150) - tc.from
			if uint64(len(got)) != want || got[0] != tc.from {
				t.Errorf("read %d entries from %v, want %d from %d", len(got), got[:1], want, tc.from)
			}
		})
	}
}

// A changed entry is an error, never a panic or a silently different
// entry.
func TestParseMalformed(t *testing.T) {
	good := strings.TrimSuffix(string(segment.Append(nil, pending(1))), "\n")
	f := strings.Split(good, "\t")
	tests := []struct{ name, line string }{
		{"empty", ""},
		{"no tabs", "abc"},
		{"three fields", strings.Join(f[:3], "\t")},
		{"time not a number", strings.Join([]string{f[0], "x", f[2], f[3]}, "\t")},
		{"hash not hex", strings.Join([]string{f[0], f[1], strings.Repeat("zz", 32), f[3]}, "\t")},
		{"hash short", strings.Join([]string{f[0], f[1], f[2][:62], f[3]}, "\t")},
		{"hash long", strings.Join([]string{f[0], f[1], f[2] + "00", f[3]}, "\t")},
		{"hash odd", strings.Join([]string{f[0], f[1], f[2] + "0", f[3]}, "\t")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &waarborg.Stored{Tenant: "acme", Index: 7}
			if err := segment.Parse(st, []byte(tc.line)); !errors.Is(err, segment.ErrMalformed) {
				t.Errorf("Parse(%q) = %v, want ErrMalformed", tc.line, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(bytes.TrimSuffix(segment.Append(nil, pending(1)), []byte{'\n'}))
	f.Add([]byte("a\t1\t" + strings.Repeat("0", 66) + "\t{}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		st := &waarborg.Stored{}
		if err := segment.Parse(st, line); err != nil {
			return
		}
		// What parses is written back as it was.
		p := &waarborg.Pending{Record: &waarborg.Record{ID: st.ID, Canonical: st.Canonical}, Hash: st.Hash, ReceivedAt: st.ReceivedAt}
		if again := segment.Append(nil, p); !bytes.Equal(again, append(line, '\n')) {
			// A time with leading zeros or a + sign, or upper-case hex,
			// parses to the same entry but is not what Append writes.
			st2 := &waarborg.Stored{}
			if err := segment.Parse(st2, bytes.TrimSuffix(again, []byte{'\n'})); err != nil || st2.ID != st.ID || st2.Hash != st.Hash ||
				!st2.ReceivedAt.Equal(st.ReceivedAt) || !bytes.Equal(st2.Canonical, st.Canonical) {
				t.Errorf("%q parses to %+v, which does not read back: %v", line, st, err)
			}
		}
	})
}
