package files

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

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
	cr.ReuseRecord = true
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
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(err, errLongLine) {
			if err := emit(refused(pe.StartLine, "", waarborg.RuleFormat, "not a CSV row: %v", pe.Err)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(fields) == 1 && fields[0] == "" {
			continue
		}
		if err := emit(row(line, h, fields)); err != nil {
			return err
		}
	}
}
