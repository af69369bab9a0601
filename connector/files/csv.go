package files

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/waarborg/waarborg"
)

// csvRows reads a CSV export with a header row: the delimiter (',', ';' or
// tab) is taken from the header line, a UTF-8 byte order mark is dropped,
// and each later row is handed to row with the line it starts on. A row the
// CSV syntax refuses becomes a refused Item and reading goes on.
func csvRows(ctx context.Context, r io.Reader, names map[string][]string, required []string, opts *Options,
	emit func(Item) error, row func(line int, h *header, fields []string) Item) error {
	br := bufio.NewReaderSize(&lineLimit{r: r}, 64<<10)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = sniffDelimiter(br)
	cr.FieldsPerRecord = -1
	cols, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file is empty: a header row is expected")
		}
		return fmt.Errorf("header: %w", err)
	}
	h, err := newHeader(append([]string(nil), cols...), names, opts.Columns, required)
	if err != nil {
		line, _ := cr.FieldPos(0)
		return fmt.Errorf("line %d: %w", line, err)
	}
	return mapRows(ctx, cr, h, emit, row)
}

// rowChunk is a run of consecutive rows, mapped by one worker.
type rowChunk struct {
	lines []int
	rows  [][]string // nil where the row was refused while reading
	items []Item
	done  chan struct{}
}

const chunkRows = 1024

// mapRows maps rows to items on all but one core (the one the ledger
// writer needs, as in waarborg ingest) and emits them in input order.
// Memory stays bounded by the chunks in flight.
func mapRows(ctx context.Context, cr *csv.Reader, h *header, emit func(Item) error, row func(line int, h *header, fields []string) Item) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	toMap := make(chan *rowChunk, workers)
	ordered := make(chan *rowChunk, workers+2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range toMap {
				for i, fields := range c.rows {
					if fields != nil {
						c.items[i] = row(c.lines[i], h, fields)
					}
				}
				close(c.done)
			}
		})
	}
	var readErr error
	go func() {
		defer close(ordered)
		defer close(toMap)
		c := &rowChunk{done: make(chan struct{})}
		send := func() bool {
			for _, ch := range []chan *rowChunk{toMap, ordered} {
				select {
				case ch <- c:
				case <-ctx.Done():
					return false
				}
			}
			c = &rowChunk{done: make(chan struct{})}
			return true
		}
		for {
			fields, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe) && !errors.Is(err, errLongLine):
				c.lines = append(c.lines, pe.StartLine)
				c.rows = append(c.rows, nil)
				c.items = append(c.items, refused(pe.StartLine, "", waarborg.RuleFormat, "not a CSV row: %v", pe.Err))
			case err != nil:
				readErr = err
				return
			case len(fields) == 1 && fields[0] == "":
				continue
			default:
				line, _ := cr.FieldPos(0)
				c.lines = append(c.lines, line)
				c.rows = append(c.rows, fields)
				c.items = append(c.items, Item{})
			}
			if len(c.rows) >= chunkRows && !send() {
				return
			}
		}
		if len(c.rows) > 0 {
			send()
		}
	}()
	var emitErr error
	for c := range ordered {
		<-c.done
		for _, it := range c.items {
			if emitErr != nil {
				break
			}
			if emitErr = emit(it); emitErr != nil {
				cancel()
			}
		}
	}
	wg.Wait()
	switch {
	case emitErr != nil:
		return emitErr
	case readErr != nil:
		return readErr
	}
	return ctx.Err()
}
