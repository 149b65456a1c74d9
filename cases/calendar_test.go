package cases

import (
	"strings"
	"testing"
	"time"
)

func TestCalendarWorkingDays(t *testing.T) {
	cal := DefaultCalendar()
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, cal.Loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name  string
		start string
		n     int
		want  string // the end of this day
	}{
		{"plain week", "2026-11-16 10:00", 3, "2026-11-19"},                    // Mon → Thu
		{"across a weekend", "2026-11-19 10:00", 3, "2026-11-24"},              // Thu → Fri, Mon, Tue
		{"started on a Saturday", "2026-11-21 10:00", 2, "2026-11-24"},         // Sat → Mon, Tue
		{"National Day week", "2026-09-30 09:00", 3, "2026-10-10"},             // Oct 1–7 off, Sat Oct 10 worked: 8, 9, 10
		{"Spring Festival with 调休", "2026-02-13 09:00", 2, "2026-02-24"},       // Sat Feb 14 worked, Feb 15–23 off
		{"New Year with a Sunday worked", "2025-12-31 18:00", 1, "2026-01-04"}, // Jan 1–3 off, Sun Jan 4 worked
		{"late at night still counts from that day", "2026-11-16 23:59", 1, "2026-11-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.AddWorkingDays(at(tt.start), tt.n)
			want := cal.EndOfDay(at(tt.want + " 12:00"))
			if !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.start, tt.n, got, want)
			}
		})
	}
}

func TestCalendarDaysRollPastHolidays(t *testing.T) {
	cal := DefaultCalendar()
	start := time.Date(2026, 9, 1, 10, 0, 0, 0, cal.Loc)
	// 30 days after Sept 1 is Oct 1, a holiday: the period runs to the next working day, Oct 8.
	if got, want := cal.AddDays(start, 30), time.Date(2026, 10, 9, 0, 0, 0, 0, cal.Loc); !got.Equal(want) {
		t.Errorf("AddDays = %s, want %s", got, want)
	}
	// 7 days after Mon Nov 16 is Mon Nov 23: a working day.
	start = time.Date(2026, 11, 16, 10, 0, 0, 0, cal.Loc)
	if got, want := cal.AddDays(start, 7), time.Date(2026, 11, 24, 0, 0, 0, 0, cal.Loc); !got.Equal(want) {
		t.Errorf("AddDays = %s, want %s", got, want)
	}
	// 15 days after Fri Nov 6 is Sat Nov 21: runs to Mon Nov 23.
	start = time.Date(2026, 11, 6, 10, 0, 0, 0, cal.Loc)
	if got, want := cal.AddDays(start, 15), time.Date(2026, 11, 24, 0, 0, 0, 0, cal.Loc); !got.Equal(want) {
		t.Errorf("AddDays = %s, want %s", got, want)
	}
}

func TestCalendarLoad(t *testing.T) {
	cal := NewCalendar(time.UTC)
	if err := cal.Load(strings.NewReader("# comment\n2027-01-01 holiday New Year\n2027-01-09 workday\n\n")); err != nil {
		t.Fatal(err)
	}
	if cal.IsWorkingDay(time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Error("2027-01-01 is a working day, want a holiday")
	}
	if !cal.IsWorkingDay(time.Date(2027, 1, 9, 12, 0, 0, 0, time.UTC)) {
		t.Error("Saturday 2027-01-09 is not a working day, want one (调休)")
	}
	for _, bad := range []string{"2027-13-01 holiday", "2027-01-01", "2027-01-01 vacation", "tomorrow holiday"} {
		if err := NewCalendar(time.UTC).Load(strings.NewReader(bad)); err == nil {
			t.Errorf("Load(%q) = nil, want an error", bad)
		}
	}
}
