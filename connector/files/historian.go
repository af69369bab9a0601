package files

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/record"
)

// Historian CSV: one sample a row, with a header naming the columns.
//
//	tag      tag, tagname, name, point, pointname
//	time     time, timestamp, ts, datetime, date
//	value    value, val, pv
//	quality  quality, q, status (optional)
//
// The value must be a number (its text is kept). The quality is good, bad
// or uncertain in any case, or an OPC DA quality code (192-255 good, 64-127
// uncertain, 0-63 bad); empty means good. The record id is derived from the
// source, the tag and the instant, so one sample is one record.
var historianColumns = map[string][]string{
	"tag":     {"tag", "tagname", "name", "point", "pointname"},
	"time":    {"time", "timestamp", "ts", "datetime", "date"},
	"value":   {"value", "val", "pv"},
	"quality": {"quality", "q", "status"},
}

func readHistorian(ctx context.Context, r io.Reader, opts *Options, emit func(Item) error) error {
	return csvRows(ctx, r, historianColumns, []string{"tag", "time", "value"}, opts, emit,
		func(line int, h *header, row []string) Item {
			tag := h.get(row, "tag")
			if tag == "" {
				return refused(line, "tag", waarborg.RuleRequired, "is empty")
			}
			ts, t, err := parseTime(h.get(row, "time"), opts.Location)
			if err != nil {
				return refused(line, "time", waarborg.RuleFormat, "%v", err)
			}
			value, err := numberText(h.get(row, "value"), opts.DecimalComma, true)
			if err != nil {
				return refused(line, "value", waarborg.RuleFormat, "%v", err)
			}
			quality, ok := historianQuality(h.get(row, "quality"))
			if !ok {
				return refused(line, "quality", waarborg.RuleEnum, "%q is not good, bad, uncertain or an OPC DA quality code", h.get(row, "quality"))
			}
			rec, err := record.New(record.Envelope{
				ID:     record.HashID("hist", opts.Source, tag, t.Format(time.RFC3339Nano)),
				Tenant: opts.Tenant, Source: opts.Source, Type: "historian.sample", Time: ts,
			}, record.String("tag", tag), record.Number("value", value), record.String(ifSet(quality, "quality"), quality))
			return built(line, rec, err)
		})
}

// ifSet returns key when v is not empty: optional members are left out.
func ifSet(v, key string) string {
	if v == "" {
		return ""
	}
	return key
}

func historianQuality(q string) (string, bool) {
	switch strings.ToLower(q) {
	case "":
		return "", true
	case "good", "g", "ok":
		return "good", true
	case "bad", "b":
		return "bad", true
	case "uncertain", "u", "questionable":
		return "uncertain", true
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 || n > 255 {
		return "", false
	}
	switch n >> 6 {
	case 3:
		return "good", true
	case 1:
		return "uncertain", true
	case 0:
		return "bad", true
	}
	return "", false // 128-191 is not used by OPC DA
}
