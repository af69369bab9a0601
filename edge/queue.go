package edge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The queue is a directory of append-only segment files and a cursor file.
//
// A segment is named by the sequence number of its first entry (20 digits,
// ".log"); each entry is one line: the CRC-32C of the record's canonical
// JSON in 8 hex digits, a space, the JSON, "\n". An append is written and
// fsynced before it returns. A crash can leave the last line of the last
// segment torn: Open cuts it off (it was never acknowledged). A bad line
// anywhere else is corruption, and Open refuses the queue rather than
// skip data.
//
// The cursor file holds the sequence number of the first entry not yet
// forwarded; it is replaced atomically (write, fsync, rename). A crash
// after a forward and before its cursor is written sends entries twice,
// which the central server takes as idempotent duplicates.
//
// Why files and not SQLite: the bound is on bytes on disk, and with
// segment files the queue's size is exactly the sum of their sizes, which
// shrinks as soon as forwarded segments are deleted; a SQLite file keeps
// its pages (and its WAL) after deletes. An append is one sequential write
// and one fsync, and the format is simple enough to check whole at start.

const (
	segmentExt = ".log"
	cursorFile = "cursor"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFull is returned by Append when the queue holds its maximum of bytes.
var ErrFull = errors.New("edge queue is full")

// A Queue is a durable FIFO of records' canonical JSON, bounded in bytes.
// It is safe for concurrent use.
type Queue struct {
	dir      string
	maxBytes int64
	segMax   int64

	mu       sync.Mutex
	segments []*segment // in order; the last one takes appends
	next     uint64     // the sequence number of the next append
	cursor   uint64     // the first entry not yet acknowledged
	size     int64      // bytes in all segments
	read     readPos    // where the entry at cursor starts, when known
	notify   chan struct{}
}

type segment struct {
	first uint64 // sequence number of its first entry
	count uint64
	size  int64
	f     *os.File // open for appends; only the last segment
}

type readPos struct {
	valid  bool
	seq    uint64
	seg    uint64 // first of the segment
	offset int64
}

// An Entry is one queued record.
type Entry struct {
	Seq  uint64
	JSON []byte // the record's canonical JSON
	end  int64  // offset after the entry in its segment
	seg  uint64
}

// OpenQueue opens (creating if needed) the queue in dir, bounded to
// maxBytes of segment data.
func OpenQueue(dir string, maxBytes int64) (*Queue, error) {
	if maxBytes <= 0 {
		return nil, errors.New("edge queue: the maximum size must be positive")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("edge queue: %w", err)
	}
	q := &Queue{dir: dir, maxBytes: maxBytes, segMax: min(64<<20, max(maxBytes/16, 1<<20)), notify: make(chan struct{}, 1)}
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, n := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(n), segmentExt), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("edge queue: unexpected file %s", n)
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	for i, first := range firsts {
		last := i == len(firsts)-1
		s, err := q.scan(first, last)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			prev := q.segments[len(q.segments)-1]
			if prev.first+prev.count != first {
				return nil, fmt.Errorf("edge queue: segment %d does not follow segment %d (%d entries)", first, prev.first, prev.count)
			}
		}
		q.segments = append(q.segments, s)
		q.size += s.size
	}
	if n := len(q.segments); n > 0 {
		q.next = q.segments[n-1].first + q.segments[n-1].count
		q.cursor = q.segments[0].first
	}
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("edge queue: %w", err)
	default:
		c, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("edge queue: cursor: %w", err)
		}
		if len(q.segments) == 0 {
			q.next = c
		}
		if c > q.next {
			return nil, fmt.Errorf("edge queue: cursor %d is past the last entry %d", c, q.next)
		}
		q.cursor = max(c, q.cursor)
	}
	if err := q.dropForwarded(); err != nil {
		return nil, err
	}
	return q, nil
}

// scan checks a segment and counts its entries; the last segment is
// opened for appends, with a torn last line cut off.
func (q *Queue) scan(first uint64, last bool) (*segment, error) {
	path := q.segPath(first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("edge queue: %w", err)
	}
	s := &segment{first: first}
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			f.Close()
			return nil, fmt.Errorf("edge queue: read %s: %w", path, err)
		}
		if _, ok := decodeLine(line); !ok {
			if !last || err != io.EOF && !lastLine(r) {
				f.Close()
				return nil, fmt.Errorf("edge queue: %s: entry %d is corrupt", path, first+s.count)
			}
			// A torn write at the very end: never acknowledged, cut off.
			if err := f.Truncate(s.size); err != nil {
				f.Close()
				return nil, fmt.Errorf("edge queue: %w", err)
			}
			break
		}
		s.count++
		s.size += int64(len(line))
		if err == io.EOF {
			break
		}
	}
	if !last {
		f.Close()
		return s, nil
	}
	if _, err := f.Seek(s.size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	return s, nil
}

// lastLine reports whether r has nothing left.
func lastLine(r *bufio.Reader) bool {
	_, err := r.Peek(1)
	return err == io.EOF
}

// decodeLine checks one line (with or without its "\n") and returns the
// JSON it holds.
func decodeLine(line []byte) ([]byte, bool) {
	if len(line) < 10 || line[len(line)-1] != '\n' || line[8] != ' ' {
		return nil, false
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return nil, false
	}
	js := line[9 : len(line)-1]
	if crc32.Checksum(js, castagnoli) != uint32(sum) {
		return nil, false
	}
	return js, true
}

func appendLine(b, js []byte) []byte {
	b = fmt.Appendf(b, "%08x ", crc32.Checksum(js, castagnoli))
	b = append(b, js...)
	return append(b, '\n')
}

func (q *Queue) segPath(first uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", first, segmentExt))
}

// Append writes records' canonical JSON durably, in order, all or none.
// It returns ErrFull, writing nothing, when they would take the queue
// past its bound.
func (q *Queue) Append(jsons [][]byte) error { return q.append(jsons, false) }

// AppendOver is Append past the bound: for the few records that say the
// bound was reached.
func (q *Queue) AppendOver(jsons [][]byte) error { return q.append(jsons, true) }

func (q *Queue) append(jsons [][]byte, over bool) error {
	var buf []byte
	for _, js := range jsons {
		if bytes.IndexByte(js, '\n') >= 0 {
			return errors.New("edge queue: an entry must be one line")
		}
		buf = appendLine(buf, js)
	}
	if len(buf) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !over && q.size+int64(len(buf)) > q.maxBytes {
		return ErrFull
	}
	s, err := q.writable(int64(len(buf)))
	if err != nil {
		return err
	}
	if _, err := s.f.Write(buf); err != nil {
		// The segment may hold part of buf: cut it back, so that the
		// next append does not follow a torn line.
		s.f.Truncate(s.size)
		s.f.Seek(s.size, io.SeekStart)
		return fmt.Errorf("edge queue: write: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("edge queue: sync: %w", err)
	}
	s.size += int64(len(buf))
	s.count += uint64(len(jsons))
	q.size += int64(len(buf))
	q.next += uint64(len(jsons))
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

// writable returns the segment to append n bytes to, starting a new one
// when the last is full or there is none.
func (q *Queue) writable(n int64) (*segment, error) {
	if k := len(q.segments); k > 0 {
		s := q.segments[k-1]
		if s.size == 0 || s.size+n <= q.segMax {
			return s, nil
		}
		if err := s.f.Close(); err != nil {
			return nil, err
		}
		s.f = nil
	}
	f, err := os.OpenFile(q.segPath(q.next), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("edge queue: %w", err)
	}
	if err := syncDir(q.dir); err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{first: q.next, f: f}
	q.segments = append(q.segments, s)
	return s, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("edge queue: sync directory: %w", err)
	}
	return nil
}

// Notify is signalled after each append.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

// Peek returns up to n entries (and about maxBytes) from the first not yet
// acknowledged, in order, without removing them.
func (q *Queue) Peek(n int, maxBytes int64) ([]Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Entry
	var total int64
	seq := q.cursor
	for _, s := range q.segments {
		if seq >= s.first+s.count || len(out) >= n || total >= maxBytes {
			continue
		}
		f := s.f
		if f == nil {
			var err error
			if f, err = os.Open(q.segPath(s.first)); err != nil {
				return nil, fmt.Errorf("edge queue: %w", err)
			}
			defer f.Close()
		}
		var off int64
		at := s.first
		if q.read.valid && q.read.seg == s.first && q.read.seq == seq {
			off, at = q.read.offset, seq
		}
		r := bufio.NewReaderSize(io.NewSectionReader(f, off, s.size-off), 1<<16)
		for at < s.first+s.count && len(out) < n && total < maxBytes {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return nil, fmt.Errorf("edge queue: read entry %d: %w", at, err)
			}
			off += int64(len(line))
			if at >= seq {
				js, ok := decodeLine(line)
				if !ok {
					return nil, fmt.Errorf("edge queue: entry %d is corrupt", at)
				}
				out = append(out, Entry{Seq: at, JSON: js, end: off, seg: s.first})
				total += int64(len(line))
				seq = at + 1
			}
			at++
		}
	}
	return out, nil
}

// Ack marks every entry up to e (included) as forwarded, and deletes the
// segments no longer needed.
func (q *Queue) Ack(e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.Seq < q.cursor {
		return nil
	}
	q.cursor = e.Seq + 1
	q.read = readPos{valid: true, seq: q.cursor, seg: e.seg, offset: e.end}
	tmp := filepath.Join(q.dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(q.cursor, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("edge queue: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("edge queue: sync cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(q.dir, cursorFile)); err != nil {
		return fmt.Errorf("edge queue: %w", err)
	}
	if err := syncDir(q.dir); err != nil {
		return err
	}
	return q.dropForwarded()
}

// dropForwarded deletes the segments whose entries are all forwarded; when
// everything is, the last one too, so that an idle queue takes no space.
func (q *Queue) dropForwarded() error {
	for len(q.segments) > 0 {
		s := q.segments[0]
		if q.cursor < s.first+s.count {
			break
		}
		if s.f != nil {
			s.f.Close()
		}
		if err := os.Remove(q.segPath(s.first)); err != nil {
			return fmt.Errorf("edge queue: %w", err)
		}
		q.size -= s.size
		q.segments = q.segments[1:]
		q.read.valid = q.read.valid && q.read.seg != s.first
	}
	return nil
}

// QueueStats is the state of a queue.
type QueueStats struct {
	Entries  uint64 // not yet forwarded
	Bytes    int64  // on disk
	MaxBytes int64
}

// Stats reports how much the queue holds.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{Entries: q.next - q.cursor, Bytes: q.size, MaxBytes: q.maxBytes}
}

// Close closes the queue's files.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var err error
	for _, s := range q.segments {
		if s.f != nil {
			err = errors.Join(err, s.f.Close())
			s.f = nil
		}
	}
	return err
}
