// Package files imports what plants and ERPs export — historian CSV,
// ISA-95 B2MML production performance XML, ERP goods-receipt CSV — as
// evidence records. Each reader streams its input (memory stays bounded by
// one row or one production response), numbers every record and every
// error with the input line it came from, and derives record ids from the
// content (the tag and instant of a sample, the document of a posting, the
// production response of a batch), so that importing a file twice changes
// nothing. Quantities keep their decimal text.
//
// cmd/waarborg (the import command) and the connector configuration use it.
package files

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/decimal"
)

// A Format names one kind of export.
type Format string

// The formats read.
const (
	HistorianCSV Format = "historian-csv" // tag, time, value, quality → historian.sample
	B2MML        Format = "b2mml"         // ProductionPerformance → batch.start, production.count, batch.end
	ERPCSV       Format = "erp-csv"       // goods movements → erp.posting
)

// Formats lists the formats, for usage texts.
func Formats() []Format { return []Format{HistorianCSV, B2MML, ERPCSV} }

// Options say where the imported records go and how to read what an export
// leaves open.
type Options struct {
	Tenant string
	Source string // the records' source path, e.g. "ede/historian"
	// Location gives the offset of times written without one (common in
	// CSV exports and in B2MML dateTimes). Nil: such times are errors.
	Location *time.Location
	// DecimalComma reads "12,5" as 12.5 in CSV files. Without it, a comma
	// in a number is an error rather than a guess.
	DecimalComma bool
	// Columns maps a field (as named in the CSV readers' docs, such as
	// "posting_time") to the header of the column that holds it, for
	// exports whose headers are not among the names recognised.
	Columns map[string]string
	// Line is the production line of B2MML responses that name no equipment.
	Line string
}

// An Item is one outcome of reading an export: a record, or the reason an
// entry was refused. Err is a *waarborg.RecordError whose Line is Line.
type Item struct {
	Line   int
	Record *waarborg.Record
	Err    error
}

// Read reads one export of the given format and calls emit for each record
// or refused entry, in input order. It stops when emit returns an error
// (and returns it), when ctx ends, or when the input cannot be read on (an
// I/O error; malformed XML is reported as a last refused Item instead).
func Read(ctx context.Context, f Format, r io.Reader, opts Options, emit func(Item) error) error {
	if !waarborg.ValidTenant(opts.Tenant) {
		return fmt.Errorf("tenant %q: must be 1-64 characters of a-z0-9-", opts.Tenant)
	}
	if opts.Source == "" {
		return errors.New("a source is required")
	}
	// A bad source would refuse every entry; say it once instead.
	if !waarborg.ValidSource(opts.Source) {
		return fmt.Errorf("source %q: must be a /-separated path of 1-256 characters with no empty segment", opts.Source)
	}
	switch f {
	case HistorianCSV:
		return readHistorian(ctx, r, &opts, emit)
	case B2MML:
		return readB2MML(ctx, r, &opts, emit)
	case ERPCSV:
		return readERP(ctx, r, &opts, emit)
	}
	return fmt.Errorf("unknown format %q (one of %v)", f, Formats())
}

// refused makes the Item of an entry that breaks a rule.
func refused(line int, field, rule, format string, args ...any) Item {
	return Item{Line: line, Err: &waarborg.RecordError{Line: line, Field: field, Rule: rule, Msg: fmt.Sprintf(format, args...)}}
}

// built makes the Item of a record built from an entry, or of the reason
// ParseRecord refused it.
func built(line int, rec *waarborg.Record, err error) Item {
	if err != nil {
		var re *waarborg.RecordError
		if errors.As(err, &re) {
			re.Line = line
		}
		return Item{Line: line, Err: err}
	}
	return Item{Line: line, Record: rec}
}

// maxLine bounds one input line, as waarborg ingest does: a longer line is
// an error, not buffered.
const maxLine = 1 << 20

// lineLimit passes a reader on and fails once a line grows past maxLine.
type lineLimit struct {
	r   io.Reader
	run int // bytes since the last newline
}

var errLongLine = fmt.Errorf("a line longer than %d bytes", maxLine)

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.run = 0
		} else if l.run++; l.run > maxLine {
			return 0, errLongLine
		}
	}
	return n, err
}

// parseTime reads a timestamp: RFC 3339 with an offset (kept as written),
// or a local date and time without one ("2026-03-01 06:00:00", "2026-03-01",
// "01.03.2026 06:00"), placed in loc and written with loc's offset then.
func parseTime(s string, loc *time.Location) (text string, t time.Time, err error) {
	s = strings.TrimSpace(s)
	if t, ok := waarborg.ParseTime(s); ok {
		return s, t, nil
	}
	if len(s) >= 19 && s[10] == ' ' {
		// RFC 3339 allows a space for T in prose; records do not.
		if t, ok := waarborg.ParseTime(s[:10] + "T" + s[11:]); ok {
			return s[:10] + "T" + s[11:], t, nil
		}
	}
	for _, layout := range localLayouts {
		lt, perr := time.Parse(layout, s)
		if perr != nil {
			continue
		}
		if loc == nil {
			return "", time.Time{}, errors.New("has no offset from UTC: give the time zone of the export (--tz)")
		}
		lt = time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), loc)
		text = lt.Format("2006-01-02T15:04:05.999999999Z07:00")
		return text, lt.UTC(), nil
	}
	return "", time.Time{}, errors.New("is not a timestamp (RFC 3339, or a date and time such as 2026-03-01 06:00:00)")
}

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"02.01.2006 15:04:05.999999999",
	"02.01.2006 15:04",
	"02.01.2006",
	"2006/01/02 15:04:05.999999999",
	"2006/01/02",
}

// numberText turns a number as exports write it into the text of a JSON
// number, keeping its digits: a leading '+' and leading zeros go, ".5"
// becomes "0.5", a trailing minus (as SAP writes negatives) moves to the
// front, and with decimalComma "12,5" becomes "12.5". Grouping separators
// are refused rather than guessed at.
func numberText(s string, decimalComma, allowExp bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is empty")
	}
	neg := false
	switch {
	case s[0] == '-':
		neg, s = true, s[1:]
	case s[0] == '+':
		s = s[1:]
	case len(s) > 1 && s[len(s)-1] == '-':
		neg, s = true, s[:len(s)-1]
	}
	if s == "" {
		return "", errors.New("is not a number")
	}
	if decimalComma {
		if strings.Contains(s, ".") {
			return "", fmt.Errorf("%q has a '.' but the decimal separator is a comma", s)
		}
		s = strings.Replace(s, ",", ".", 1)
	} else if strings.Contains(s, ",") {
		return "", fmt.Errorf("%q has a ',': if it is the decimal separator, say so (--decimal-comma)", s)
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if !allowExp {
			return "", fmt.Errorf("%q has an exponent; a quantity is written in plain digits", s)
		}
		mant, exp = s[:i], s[i:]
	}
	intPart, frac, hasPoint := strings.Cut(mant, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasPoint && frac != "" {
		out += "." + frac
	} else if hasPoint && mant == "." {
		return "", fmt.Errorf("%q is not a number", s)
	}
	out += exp
	if neg {
		out = "-" + out
	}
	if !strings.ContainsAny(mant, "0123456789") || !decimal.ValidJSON(out) {
		return "", fmt.Errorf("%q is not a number", s)
	}
	return out, nil
}

// header maps the columns of a CSV header to fields. names lists, per
// field, the normalised headers that mean it; opts.Columns overrides them.
type header struct {
	index map[string]int // field → column
}

// normHeader lower-cases a header and drops spaces, '_', '-' and '.', so
// that "Posting Time", "posting_time" and "POSTINGTIME" are one name.
func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\ufeff':
			return -1
		}
		return r
	}, s)
}

func newHeader(cols []string, names map[string][]string, overrides map[string]string, required []string) (*header, error) {
	h := &header{index: map[string]int{}}
	for field, col := range overrides {
		if _, ok := names[field]; !ok {
			var known []string
			for f := range names {
				known = append(known, f)
			}
			slices.Sort(known)
			return nil, fmt.Errorf("column mapping names field %q; the fields are %s", field, strings.Join(known, ", "))
		}
		i := slices.IndexFunc(cols, func(c string) bool { return normHeader(c) == normHeader(col) })
		if i < 0 {
			return nil, fmt.Errorf("column mapping %s=%s: the header has no column %q", field, col, col)
		}
		h.index[field] = i
	}
	for i, c := range cols {
		n := normHeader(c)
		for field, aliases := range names {
			if _, done := h.index[field]; done {
				continue
			}
			if slices.Contains(aliases, n) {
				h.index[field] = i
			}
		}
	}
	var missing []string
	for _, f := range required {
		if _, ok := h.index[f]; !ok {
			missing = append(missing, fmt.Sprintf("%s (a column named %s)", f, strings.Join(names[f], ", ")))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the header has no column for %s", strings.Join(missing, "; "))
	}
	return h, nil
}

// get returns the trimmed value of field in row, "" when absent.
func (h *header) get(row []string, field string) string {
	i, ok := h.index[field]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// sniffDelimiter picks ',', ';' or tab, whichever the first line holds most
// of outside quotes; ',' when it holds none.
func sniffDelimiter(br *bufio.Reader) rune {
	peek, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(peek, '\n'); i >= 0 {
		peek = peek[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(peek) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
