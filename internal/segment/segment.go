// Package segment is the text in which the stores (sqlite, postgres) keep a
// tenant's log: segments of Size consecutive entries, one row each, so that
// an append writes and a full pass reads one row per Size entries instead
// of one per entry. A segment's entries are one line each, in log order:
//
//	<id> TAB <received_at, Unix ms> TAB <hex content hash> TAB <canonical JSON> LF
//
// (neither a record id nor canonical JSON holds a raw tab or newline). Only
// the store packages import it; it does no I/O.
package segment

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/waarborg/waarborg"
)

// Size is the number of entries of a full segment: segment s holds
// entries Size·s to Size·s+Size-1. Stored logs depend on it.
const Size = 64

// Append appends the entry line of p.
func Append(buf []byte, p *waarborg.Pending) []byte {
	buf = append(buf, p.Record.ID...)
	buf = append(buf, '\t')
	buf = strconv.AppendInt(buf, p.ReceivedAt.UnixMilli(), 10)
	buf = append(buf, '\t')
	buf = hex.AppendEncode(buf, p.Hash[:])
	buf = append(buf, '\t')
	buf = append(buf, p.Record.Canonical...)
	return append(buf, '\n')
}

// ErrMalformed reports an entry that does not parse: the stores never
// write one, so it means the database was changed behind them.
var ErrMalformed = errors.New("malformed segment entry")

// Parse reads one entry line (without its LF) into st, whose Tenant and
// Index name the entry in the error. st.Canonical refers into line.
func Parse(st *waarborg.Stored, line []byte) error {
	id, rest, ok1 := bytes.Cut(line, []byte{'\t'})
	ms, rest, ok2 := bytes.Cut(rest, []byte{'\t'})
	hash, canonical, ok3 := bytes.Cut(rest, []byte{'\t'})
	received, err := strconv.ParseInt(string(ms), 10, 64)
	st.ID, st.ReceivedAt, st.Canonical = string(id), time.UnixMilli(received).UTC(), canonical
	// hex.Decode writes half of what it reads: a longer field would
	// overrun the hash.
	if !ok1 || !ok2 || !ok3 || err != nil || len(hash) != hex.EncodedLen(len(st.Hash)) {
		return fmt.Errorf("tenant %s entry %d: %w", st.Tenant, st.Index, ErrMalformed)
	}
	if _, err := hex.Decode(st.Hash[:], hash); err != nil {
		return fmt.Errorf("tenant %s entry %d: %w", st.Tenant, st.Index, ErrMalformed)
	}
	return nil
}

// Entry returns entry idx of a tenant's log from entries, the text of the
// segment that holds it. Canonical refers into entries.
func Entry(entries []byte, tenant string, idx uint64) (*waarborg.Stored, error) {
	st := &waarborg.Stored{Tenant: tenant, Index: idx}
	for k := idx % Size; k > 0; k-- {
		i := bytes.IndexByte(entries, '\n')
		if i < 0 {
			return nil, fmt.Errorf("tenant %s entry %d: %w", tenant, idx, ErrMalformed)
		}
		entries = entries[i+1:]
	}
	line, _, _ := bytes.Cut(entries, []byte{'\n'})
	return st, Parse(st, line)
}

// EntryOf is Entry for the entry that the store's id index puts record id
// at. An entry that holds another id means the index was changed: it is
// reported, not returned as the record asked for.
func EntryOf(entries []byte, tenant, id string, idx uint64) (*waarborg.Stored, error) {
	st, err := Entry(entries, tenant, idx)
	if err == nil && st.ID != id {
		return nil, fmt.Errorf("tenant %s: the id index puts record %q at entry %d, which holds %q: %w", tenant, id, idx, st.ID, ErrMalformed)
	}
	return st, err
}

// A Reader parses the segments of a range of a tenant's log as a scan
// reads them, in order. A full pass reads millions of entries: the Stored
// values come in blocks, not one allocation each.
type Reader struct {
	Tenant   string
	From, To uint64 // the entries wanted: From ≤ index < To

	block []waarborg.Stored
}

// Segment yields the wanted entries of segment seg, whose text is entries;
// their Canonical refers into it, so it must not change afterwards. An
// entry that does not parse is yielded with its error. Segment reports
// whether the scan goes on: not after an error or once yield returns false.
func (r *Reader) Segment(seg uint64, entries []byte, yield func(*waarborg.Stored, error) bool) bool {
	for idx := seg * Size; len(entries) > 0 && idx < r.To; idx++ {
		line, rest, _ := bytes.Cut(entries, []byte{'\n'})
		entries = rest
		if idx < r.From {
			continue
		}
		if len(r.block) == 0 {
			r.block = make([]waarborg.Stored, 256)
		}
		st := &r.block[0]
		r.block = r.block[1:]
		st.Tenant, st.Index = r.Tenant, idx
		if err := Parse(st, line); err != nil {
			yield(st, err)
			return false
		}
		if !yield(st, nil) {
			return false
		}
	}
	return true
}
