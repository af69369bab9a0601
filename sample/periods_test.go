package sample_test

import (
	"slices"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/sample"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// isoYear returns the bounds of an ISO week-numbering year.
func isoYear(t *testing.T, year int) (time.Time, time.Time) {
	t.Helper()
	from, _, ok1 := waarborg.ParsePeriod(waarborg.WeekLabel(day(year, 1, 4)))
	to, _, ok2 := waarborg.ParsePeriod(waarborg.WeekLabel(day(year+1, 1, 4)))
	if !ok1 || !ok2 {
		t.Fatal("ParsePeriod failed")
	}
	return from, to
}

func TestPeriods(t *testing.T) {
	iso2026From, iso2026To := isoYear(t, 2026)
	iso2025From, iso2025To := isoYear(t, 2025)
	tests := []struct {
		name        string
		control     string
		from, to    time.Time
		n           int
		first, last string
	}{
		{"calendar year quarters", "AC-05", day(2026, 1, 1), day(2027, 1, 1), 4, "2026-Q1", "2026-Q4"},
		{"partial quarters left out", "AC-05", day(2026, 1, 2), day(2026, 12, 31), 2, "2026-Q2", "2026-Q3"},
		{"quarter ending at to", "AC-05", day(2025, 10, 1), day(2026, 1, 1), 1, "2025-Q4", "2025-Q4"},
		{"less than a quarter", "AC-05", day(2026, 1, 1), day(2026, 3, 31), 0, "", ""},
		{"empty period", "AC-05", day(2026, 1, 1), day(2026, 1, 1), 0, "", ""},
		// 2026 begins on a Thursday: W01 starts on 29 Dec 2025 and W53
		// ends on 4 Jan 2027, so neither is wholly inside the year.
		{"calendar 2026 weeks", "LM-04", day(2026, 1, 1), day(2027, 1, 1), 51, "2026-W02", "2026-W52"},
		// 2024 begins on a Monday; 2025-W01 starts on 30 Dec 2024.
		{"calendar 2024 weeks", "LM-04", day(2024, 1, 1), day(2025, 1, 1), 52, "2024-W01", "2024-W52"},
		// 2021 begins inside 2020-W53.
		{"calendar 2021 weeks", "LM-04", day(2021, 1, 1), day(2022, 1, 1), 51, "2021-W01", "2021-W51"},
		{"ISO year 2026 weeks", "LM-04", iso2026From, iso2026To, 53, "2026-W01", "2026-W53"},
		{"ISO year 2025 weeks", "LM-04", iso2025From, iso2025To, 52, "2025-W01", "2025-W52"},
		{"week labelled with the previous year", "LM-04", day(2020, 12, 28), day(2021, 1, 4), 1, "2020-W53", "2020-W53"},
		{"week labelled with the next year", "LM-04", day(2024, 12, 30), day(2025, 1, 6), 1, "2025-W01", "2025-W01"},
		{"week from a Monday instant after midnight", "LM-04", day(2026, 1, 5).Add(time.Second), day(2026, 1, 19), 1, "2026-W03", "2026-W03"},
		{"bounds in another zone", "LM-04", day(2026, 1, 5).In(time.FixedZone("EST", -5*3600)), day(2026, 1, 12).In(time.FixedZone("CET", 3600)), 1, "2026-W02", "2026-W02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sample.Periods(tt.control, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != tt.n {
				t.Fatalf("Periods = %v (%d), want %d", got, len(got), tt.n)
			}
			if tt.n > 0 && (got[0] != tt.first || got[len(got)-1] != tt.last) {
				t.Errorf("Periods = %s … %s, want %s … %s", got[0], got[len(got)-1], tt.first, tt.last)
			}
			for i, l := range got {
				start, end, ok := waarborg.ParsePeriod(l)
				if !ok || start.Before(tt.from) || end.After(tt.to) {
					t.Errorf("%s [%s, %s) is not wholly inside the period", l, start, end)
				}
				if i > 0 {
					if prev, _, _ := waarborg.ParsePeriod(got[i-1]); !prev.Before(start) || l <= got[i-1] {
						t.Errorf("%s follows %s", l, got[i-1])
					}
				}
			}
		})
	}
}

func TestPeriodsInvalid(t *testing.T) {
	tests := []struct {
		name     string
		control  string
		from, to time.Time
	}{
		{"automated control", "PC-01", day(2026, 1, 1), day(2027, 1, 1)},
		{"unknown control", "XX-99", day(2026, 1, 1), day(2027, 1, 1)},
		{"to before from", "AC-05", day(2027, 1, 1), day(2026, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sample.Periods(tt.control, tt.from, tt.to)
			if code := waarborg.ErrorCode(err); code != waarborg.EINVALID {
				t.Errorf("error %v of kind %q, want %q", err, code, waarborg.EINVALID)
			}
		})
	}
}

// TestPeriodsMatchEngine: the periods sampled are the population the
// controls engine tests. With no records every period lacks its review, so
// the engine's exception subjects are its whole population.
func TestPeriodsMatchEngine(t *testing.T) {
	bounds := [][2]time.Time{
		{day(2026, 1, 1), day(2027, 1, 1)},
		{day(2024, 1, 1), day(2025, 1, 1)},
		{day(2020, 11, 17).Add(13 * time.Hour), day(2021, 4, 1).Add(time.Nanosecond)},
		{day(2025, 12, 29), day(2026, 1, 5)},
		{day(2026, 2, 3), day(2026, 2, 3)},
	}
	for _, b := range bounds {
		res, err := controls.Evaluate(controls.Default(), controls.Input{Tenant: "t", From: b[0], To: b[1]})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Controls {
			if c.ID != "AC-05" && c.ID != "LM-04" {
				continue
			}
			var subjects []string
			for _, e := range c.Exceptions {
				subjects = append(subjects, e.Subject)
			}
			got, err := sample.Periods(c.ID, b[0], b[1])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.Population || !slices.Equal(got, subjects) {
				t.Errorf("%s over [%s, %s): Periods = %v, engine population %d with subjects %v", c.ID, b[0], b[1], got, c.Population, subjects)
			}
		}
	}
}
