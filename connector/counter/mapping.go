package counter

import (
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/decimal"
	"github.com/waarborg/waarborg/connector/record"
)

// A Mapping says what a counter's events are as records.
type Mapping struct {
	Tenant, Source string
	Line, Product  string
	Unit           string
	BatchID        string // optional
	// Factor is the quantity one count stands for ("1" when empty; "0.001"
	// for a counter of grams recorded in kg). A decimal text: exact.
	Factor string
	// Key names the counter in record ids, which are KEY:START-END for a
	// count and KEY:gap:SINCE-UNTIL for a gap, so that a count is
	// written once however often it is sent.
	Key string
}

// Check reports what in m would make its records invalid.
func (m *Mapping) Check() error {
	for _, f := range []struct{ name, v string }{
		{"tenant", m.Tenant}, {"source", m.Source}, {"line", m.Line}, {"product", m.Product}, {"unit", m.Unit}, {"key", m.Key},
	} {
		if f.v == "" {
			return &waarborg.RecordError{Field: f.name, Rule: waarborg.RuleRequired, Msg: "is required"}
		}
	}
	_, err := m.records([]Event{{Kind: Count, Start: time.Unix(0, 0), End: time.Unix(1, 0)},
		{Kind: Gap, Start: time.Unix(0, 0), End: time.Unix(1, 0), Detail: "check"}}, time.Unix(1, 0))
	return err
}

// Records writes events as production.count and source.gap records; now is
// when a gap is written (its record time, not before its end).
func (m *Mapping) Records(evs []Event, now time.Time) ([]*waarborg.Record, error) {
	return m.records(evs, now)
}

func (m *Mapping) records(evs []Event, now time.Time) ([]*waarborg.Record, error) {
	factor := decimal.FromUint(1)
	if m.Factor != "" {
		f, err := decimal.Parse(m.Factor)
		if err != nil || f.Sign() < 0 {
			return nil, &waarborg.RecordError{Field: "factor", Rule: waarborg.RuleFormat, Msg: "must be a decimal number ≥ 0"}
		}
		factor = f
	}
	out := make([]*waarborg.Record, 0, len(evs))
	for _, ev := range evs {
		start, end := stamp(ev.Start), stamp(ev.End)
		var (
			rec *waarborg.Record
			err error
		)
		switch ev.Kind {
		case Count:
			rec, err = record.New(record.Envelope{
				ID: record.ID(m.Key, compact(ev.Start)+"-"+compact(ev.End)), Tenant: m.Tenant, Source: m.Source,
				Type: "production.count", Time: end,
			},
				record.String("line", m.Line), record.String(ifSet(m.BatchID, "batch_id"), m.BatchID),
				record.String("product", m.Product), record.Number("quantity", factor.MulUint(ev.Delta).String()),
				record.String("unit", m.Unit), record.String("start", start), record.String("end", end))
		case Gap:
			span, until := compact(ev.Start)+"-"+compact(ev.End), "until"
			if ev.End.IsZero() {
				span, until = compact(ev.Start)+"-open", "" // an open gap has no until
			}
			rec, err = record.New(record.Envelope{
				ID: record.ID(m.Key, "gap", span), Tenant: m.Tenant, Source: m.Source,
				Type: "source.gap", Time: stamp(maxTime(now, ev.End)),
			}, record.String("detail", ev.Detail), record.String("since", start), record.String(until, end))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func ifSet(v, key string) string {
	if v == "" {
		return ""
	}
	return key
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stamp writes a record time: UTC, milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// compact writes a time for an id.
func compact(t time.Time) string { return t.UTC().Format("20060102T150405.000Z") }
