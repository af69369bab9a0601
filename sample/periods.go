package sample

import (
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// Periods returns the population of a manual control of the built-in
// catalog over [from, to): the labels of the calendar quarters (AC-05,
// "2026-Q1") or ISO weeks (LM-04, "2026-W05") wholly inside it, in UTC and
// in order, as controls.md defines them and the controls engine evaluates
// them. A unit that straddles from or to is left out, so a calendar year
// holds 51 or 52 whole ISO weeks, and an ISO year 52 or 53.
//
// A control that is not a manual control of the catalog, or To before From,
// is an error of kind waarborg.EINVALID.
func Periods(control string, from, to time.Time) ([]string, error) {
	ctl, ok := controls.Default().Control(control)
	if !ok || ctl.Automated {
		return nil, waarborg.Errorf(waarborg.EINVALID, "sample periods: %q is not a manual control of the catalog", control)
	}
	from, to = from.UTC(), to.UTC()
	if to.Before(from) {
		return nil, waarborg.Errorf(waarborg.EINVALID, "sample periods: period ends (%s) before it starts (%s)",
			to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	var start time.Time
	var next func(time.Time) time.Time
	var label func(time.Time) string
	switch ctl.Frequency {
	case Quarterly:
		start = time.Date(from.Year(), (from.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 3, 0) }
		label = waarborg.QuarterLabel
	case Weekly:
		start = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7)) // back to Monday
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
		label = waarborg.WeekLabel
	default:
		return nil, waarborg.Errorf(waarborg.EINVALID, "sample periods: %s is %s, neither quarterly nor weekly", control, ctl.Frequency)
	}
	if start.Before(from) {
		start = next(start)
	}
	labels := []string{}
	for end := next(start); !end.After(to); start, end = end, next(end) {
		labels = append(labels, label(start))
	}
	return labels, nil
}
