package postgres

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/jackc/pgx/v5"
)

// copyData is the stream of a COPY … FROM STDIN (FORMAT binary), built in
// memory. pgx's CopyFrom encodes every value through its type map, which
// cost ingest 0.5 s of CPU a million ids; appended as they are here, the
// fields cost a fifth of that, and a segment's text is written straight
// into its row instead of into a buffer of its own first.
type copyData []byte

// newCopy starts a stream of about size bytes of rows.
func newCopy(size int) copyData {
	c := make(copyData, 0, 19+size+2)
	c = append(c, "PGCOPY\n\xff\r\n\x00"...)
	return append(c, 0, 0, 0, 0, 0, 0, 0, 0) // no flags, no header extension
}

// row starts a row of n fields.
func (c copyData) row(n int) copyData { return binary.BigEndian.AppendUint16(c, uint16(n)) }

func (c copyData) int4(v int32) copyData {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(c, 4), uint32(v))
}

func (c copyData) int8(v int64) copyData {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(c, 8), uint64(v))
}

// text appends a text field; its binary form is its bytes.
func (c copyData) text(s string) copyData {
	return append(binary.BigEndian.AppendUint32(c, uint32(len(s))), s...)
}

// open starts a field of a length not known yet; close ends it.
func (c copyData) open() (copyData, int) { return append(c, 0, 0, 0, 0), len(c) }

func (c copyData) close(at int) { binary.BigEndian.PutUint32(c[at:], uint32(len(c)-at-4)) }

// send ends the stream and runs it as copy, a COPY … FROM STDIN statement
// with FORMAT binary, in tx.
func (c copyData) send(ctx context.Context, tx pgx.Tx, copy string) error {
	c = binary.BigEndian.AppendUint16(c, 0xffff)
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c), copy)
	return err
}
