package bundle

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"testing"
)

// TestParallelDeflate writes entries of several sizes around the chunk
// size beside ordinary ones and reads them back through archive/zip,
// which checks each CRC and size.
func TestParallelDeflate(t *testing.T) {
	var line bytes.Buffer
	for i := 0; line.Len() < 3*deflateChunk+12345; i++ {
		fmt.Fprintf(&line, `{"index":%d,"id":"pc.%07d","record":{"quantity":%d}}`+"\n", i, i, i*7%1000)
	}
	data := line.Bytes()
	sizes := []int{0, 1, deflateChunk - 1, deflateChunk, deflateChunk + 1, len(data)}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, n := range sizes {
		d, err := createParallel(zw, fmt.Sprintf("big-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		// Odd write sizes, so that writes straddle chunk boundaries.
		for p := data[:n]; len(p) > 0; {
			k := min(len(p), 100003)
			if _, err := d.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(fmt.Sprintf("small-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("between"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2*len(sizes) {
		t.Fatalf("%d files, want %d", len(zr.File), 2*len(sizes))
	}
	for i, n := range sizes {
		f := zr.File[2*i]
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !bytes.Equal(got, data[:n]) {
			t.Errorf("%s: read %d bytes, want the %d written", f.Name, len(got), n)
		}
	}
}
