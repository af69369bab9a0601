package waarborg

import (
	"fmt"
	"time"
)

// ParsePeriod returns the UTC bounds [start, end) of a calendar quarter
// ("2026-Q1") or an ISO week ("2026-W05"). A period ends at the first
// instant of the next one.
func ParsePeriod(s string) (start, end time.Time, ok bool) {
	if len(s) < 7 || s[4] != '-' {
		return start, end, false
	}
	year, ok1 := atoi(s[:4])
	n, ok2 := atoi(s[6:])
	if !ok1 || !ok2 {
		return start, end, false
	}
	switch s[5] {
	case 'Q':
		if n < 1 || n > 4 || len(s) != 7 {
			return start, end, false
		}
		start = time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 3, 0), true
	case 'W':
		if n < 1 || n > isoWeeks(year) || len(s) != 8 {
			return start, end, false
		}
		start = isoWeek1(year).AddDate(0, 0, 7*(n-1))
		return start, start.AddDate(0, 0, 7), true
	}
	return start, end, false
}

// isoWeek1 returns the Monday of ISO week 1: the week with the year's first Thursday.
func isoWeek1(year int) time.Time {
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
	return jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
}

func isoWeeks(year int) int {
	_, w := time.Date(year, 12, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

// QuarterLabel and WeekLabel name the calendar quarter and ISO week of t (UTC).
func QuarterLabel(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

// WeekLabel names the ISO week of t (UTC), as "2026-W05".
func WeekLabel(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// ParseBound reads a period bound: a date as its UTC midnight (controls.md:
// "from and to given as dates mean midnight UTC"), or an RFC 3339 instant.
func ParseBound(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "want YYYY-MM-DD or an RFC 3339 time, got %q", s)
	}
	return t.UTC(), nil
}
