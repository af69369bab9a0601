package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/waarborg/waarborg"
)

const (
	segmentSize = 64
	maxEntries  = 1 << 40 // entries of one tenant: pos keeps 40 bits for them
)

// pos is the rowid of segment seg of tenant tid.
func pos(tid int64, seg uint64) int64 { return tid<<40 | int64(seg) }

// tilePos is the rowid of a tile: 6 bits of level, 34 of tile index (a tile
// spans 256 nodes, so 2^42 leaves a tenant).
func tilePos(tid int64, level uint8, index uint64) int64 {
	return tid<<40 | int64(level)<<34 | int64(index)
}

// appendEntry appends one entry line of a segment (see schema.sql).
func appendEntry(buf []byte, p *waarborg.Pending) []byte {
	buf = append(buf, p.Record.ID...)
	buf = append(buf, '\t')
	buf = strconv.AppendInt(buf, p.ReceivedAt.UnixMilli(), 10)
	buf = append(buf, '\t')
	buf = hex.AppendEncode(buf, p.Hash[:])
	buf = append(buf, '\t')
	buf = append(buf, p.Record.Canonical...)
	return append(buf, '\n')
}

var errBadEntry = errors.New("malformed segment entry")

// parseEntry reads one entry line. A line that does not parse is reported
// as an error: waarborg never writes one, so it means the file was changed.
func parseEntry(line []byte, tenant string, idx uint64) (*waarborg.Stored, error) {
	id, rest, ok1 := bytes.Cut(line, []byte{'\t'})
	ms, rest, ok2 := bytes.Cut(rest, []byte{'\t'})
	hash, canonical, ok3 := bytes.Cut(rest, []byte{'\t'})
	received, err := strconv.ParseInt(string(ms), 10, 64)
	st := &waarborg.Stored{Tenant: tenant, ID: string(id), Index: idx, ReceivedAt: time.UnixMilli(received).UTC(), Canonical: canonical}
	if n, herr := hex.Decode(st.Hash[:], hash); !ok1 || !ok2 || !ok3 || err != nil || herr != nil || n != 32 {
		return st, fmt.Errorf("tenant %s entry %d: %w", tenant, idx, errBadEntry)
	}
	return st, nil
}

// readEntry reads entry idx of a tenant's log.
func readEntry(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tid int64, tenant string, idx uint64) (*waarborg.Stored, error) {
	var entries []byte
	err := q.QueryRowContext(ctx, "SELECT entries FROM segments WHERE pos = ?", pos(tid, idx/segmentSize)).Scan(&entries)
	if err != nil {
		return nil, fmt.Errorf("read segment of entry %d: %w", idx, err)
	}
	for k := idx % segmentSize; k > 0; k-- {
		i := bytes.IndexByte(entries, '\n')
		if i < 0 {
			return nil, fmt.Errorf("tenant %s entry %d: %w", tenant, idx, errBadEntry)
		}
		entries = entries[i+1:]
	}
	line, _, _ := bytes.Cut(entries, []byte{'\n'})
	return parseEntry(line, tenant, idx)
}
