package edge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func lines(from, n int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	return out
}

func peekAll(t *testing.T, q *Queue) []string {
	t.Helper()
	es, err := q.Peek(1<<30, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, string(e.JSON))
	}
	return out
}

func TestQueue(t *testing.T) {
	dir := t.TempDir()
	q, err := OpenQueue(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	q.segMax = 100 // many segments
	for i := 0; i < 30; i += 3 {
		if err := q.Append(lines(i, 3)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := q.Peek(5, 1<<20)
	if err != nil || len(es) != 5 || string(es[4].JSON) != `{"n":4}` || es[4].Seq != 4 {
		t.Fatalf("peek = %v, %v", es, err)
	}
	if err := q.Ack(es[4]); err != nil {
		t.Fatal(err)
	}
	es, _ = q.Peek(2, 1<<20)
	if len(es) != 2 || string(es[0].JSON) != `{"n":5}` {
		t.Fatalf("after ack: %+v", es)
	}
	q.Close()

	// Reopened, the queue goes on where it was.
	q, err = OpenQueue(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got := peekAll(t, q)
	if len(got) != 25 || got[0] != `{"n":5}` || got[24] != `{"n":29}` {
		t.Fatalf("reopened: %d entries %q", len(got), got)
	}
	es, _ = q.Peek(100, 1<<20)
	if err := q.Ack(es[len(es)-1]); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("drained queue: %+v", st)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(names) != 0 {
		t.Fatalf("segments left: %v", names)
	}
	if err := q.Append(lines(30, 1)); err != nil {
		t.Fatal(err)
	}
	es, _ = q.Peek(10, 1<<20)
	if len(es) != 1 || es[0].Seq != 30 {
		t.Fatalf("after drain: %+v", es)
	}
	q.Close()
}

func TestQueueBound(t *testing.T) {
	q, err := OpenQueue(t.TempDir(), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Append(lines(0, 4)); err != nil { // 4 × 18 bytes
		t.Fatal(err)
	}
	if err := q.Append(lines(4, 2)); !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if st := q.Stats(); st.Entries != 4 {
		t.Fatalf("a refused append wrote: %+v", st)
	}
	if err := q.AppendOver(lines(4, 2)); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Entries != 6 || st.Bytes <= 100 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestQueueCrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(path string)
		entries int
		fails   bool
	}{
		{"torn last line", func(p string) { appendFile(p, `0000abcd {"n":`) }, 3, false},
		{"bad checksum on the last line", func(p string) { appendFile(p, "00000000 {\"n\":9}\n") }, 3, false},
		{"bad line in the middle", func(p string) {
			b, _ := os.ReadFile(p)
			b[12] = 'X'
			os.WriteFile(p, b, 0o600)
		}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := OpenQueue(dir, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Append(lines(0, 3)); err != nil {
				t.Fatal(err)
			}
			q.Close()
			names, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			tc.damage(names[0])
			q, err = OpenQueue(dir, 1<<20)
			if tc.fails {
				if err == nil {
					t.Fatal("a corrupt queue opened")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if got := peekAll(t, q); len(got) != tc.entries {
				t.Fatalf("entries = %q", got)
			}
			// Appends go on after the cut.
			if err := q.Append(lines(3, 1)); err != nil {
				t.Fatal(err)
			}
			if got := peekAll(t, q); len(got) != tc.entries+1 || got[len(got)-1] != `{"n":3}` {
				t.Fatalf("after append: %q", got)
			}
		})
	}
}

func appendFile(path, s string) {
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(s)
	f.Close()
}
