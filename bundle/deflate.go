package bundle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
)

// deflateChunk is how much of a large file one goroutine compresses. Each
// chunk is an independent run of deflate blocks, so a chunk's matches never
// reach into the one before: a little compression is lost, and every core
// works on a year's entries instead of one.
const deflateChunk = 1 << 20

// A parallelDeflater writes one zip entry (every file of a bundle) whose
// data it compresses in chunks on every core, in the way pigz does: each
// chunk but the last ends with a sync flush (byte-aligned, not final), the
// last with the final block, and their concatenation is one valid deflate
// stream.
type parallelDeflater struct {
	fh      *zip.FileHeader
	out     io.Writer // the entry's raw data
	buf     []byte
	crc     uint32
	size    int64
	queue   chan chan []byte // compressed chunks, in order
	written chan error       // the writer goroutine's outcome
	zsize   int64
}

// flaters compress at the fastest level: at the default one, deflating a
// year's entries took more time than evaluating every control; the fastest
// costs about a third more bytes.
var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// createParallel starts the zip entry name; Close completes it. Nothing
// else may be written to zw in between.
func createParallel(zw *zip.Writer, name string) (*parallelDeflater, error) {
	// The data descriptor carries the CRC and sizes, known only at the end.
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Flags: 0x8}
	out, err := zw.CreateRaw(fh)
	if err != nil {
		return nil, err
	}
	d := &parallelDeflater{fh: fh, out: out, queue: make(chan chan []byte, 2*runtime.GOMAXPROCS(0)), written: make(chan error, 1)}
	go func() {
		var err error
		for c := range d.queue {
			b := <-c
			if err == nil {
				_, err = d.out.Write(b)
				d.zsize += int64(len(b))
			}
		}
		d.written <- err
	}()
	return d, nil
}

func (d *parallelDeflater) Write(p []byte) (int, error) {
	d.crc = crc32.Update(d.crc, crc32.IEEETable, p)
	d.size += int64(len(p))
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), deflateChunk-len(d.buf))
		d.buf = append(d.buf, p[:k]...)
		p = p[k:]
		if len(d.buf) == deflateChunk {
			d.dispatch(false)
		}
	}
	return n, nil
}

// dispatch hands the buffered chunk to a goroutine; the queue's capacity
// bounds the chunks in flight.
func (d *parallelDeflater) dispatch(final bool) {
	chunk := d.buf
	d.buf = make([]byte, 0, deflateChunk)
	c := make(chan []byte, 1)
	d.queue <- c
	go func() {
		var b bytes.Buffer
		b.Grow(len(chunk)/2 + 64)
		w := flaters.Get().(*flate.Writer)
		w.Reset(&b)
		w.Write(chunk) // a bytes.Buffer does not fail
		if final {
			w.Close()
		} else {
			w.Flush()
		}
		flaters.Put(w)
		c <- b.Bytes()
	}()
}

// Close writes the last chunk and fills in the entry's CRC and sizes,
// which the zip writer puts in the data descriptor and the directory.
func (d *parallelDeflater) Close() error {
	d.dispatch(true)
	close(d.queue)
	if err := <-d.written; err != nil {
		return err
	}
	d.fh.CRC32 = d.crc
	d.fh.UncompressedSize64 = uint64(d.size)
	d.fh.CompressedSize64 = uint64(d.zsize)
	// The zip writer still reads the 32-bit sizes for the data descriptor
	// and the directory of an entry that is not zip64.
	const max32 = 1<<32 - 1
	if d.size >= max32 || d.zsize >= max32 {
		d.fh.ReaderVersion = 45 // zip64
		//lint:ignore SA1019 see above
		d.fh.CompressedSize, d.fh.UncompressedSize = max32, max32
	} else {
		//lint:ignore SA1019 see above
		d.fh.CompressedSize, d.fh.UncompressedSize = uint32(d.zsize), uint32(d.size)
	}
	return nil
}
