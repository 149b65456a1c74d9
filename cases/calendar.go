package cases

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"strings"
	"time"
)

//go:embed calendars/*.txt
var calendarFS embed.FS

// Calendar knows which days are working days: Monday to Friday, minus public holidays, plus weekend days
// declared working days (调休). Dates are taken in the calendar's time zone.
type Calendar struct {
	Loc      *time.Location
	holidays map[string]string // YYYY-MM-DD → name (a weekday off)
	workdays map[string]string // YYYY-MM-DD → name (a weekend day worked)
}

// NewCalendar returns a calendar in loc with no holidays.
func NewCalendar(loc *time.Location) *Calendar {
	if loc == nil {
		loc = time.UTC
	}
	return &Calendar{Loc: loc, holidays: map[string]string{}, workdays: map[string]string{}}
}

// DefaultCalendar returns the calendar for mainland China (Asia/Shanghai, or a fixed +08:00 zone where the zone
// database is missing) with the built-in holiday lists.
func DefaultCalendar() *Calendar {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("Etc/GMT-8", 8*3600)
	}
	c := NewCalendar(loc)
	entries, _ := calendarFS.ReadDir("calendars")
	for _, e := range entries {
		f, err := calendarFS.Open("calendars/" + e.Name())
		if err != nil {
			continue
		}
		_ = c.Load(f) // the embedded files are tested
		f.Close()
	}
	return c
}

// Load reads holiday lines ("YYYY-MM-DD holiday|workday [name]") into the calendar. Later lines win.
func (c *Calendar) Load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("cases: calendar line %d: want \"YYYY-MM-DD holiday|workday [name]\", got %q", n, line)
		}
		d, err := time.Parse("2006-01-02", f[0])
		if err != nil {
			return fmt.Errorf("cases: calendar line %d: bad date %q", n, f[0])
		}
		key := d.Format("2006-01-02")
		name := strings.Join(f[2:], " ")
		switch f[1] {
		case "holiday":
			c.holidays[key] = name
			delete(c.workdays, key)
		case "workday":
			c.workdays[key] = name
			delete(c.holidays, key)
		default:
			return fmt.Errorf("cases: calendar line %d: kind must be holiday or workday, got %q", n, f[1])
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cases: read calendar: %w", err)
	}
	return nil
}

// IsWorkingDay reports whether the calendar day containing t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	key := t.In(c.Loc).Format("2006-01-02")
	if _, ok := c.workdays[key]; ok {
		return true
	}
	if _, ok := c.holidays[key]; ok {
		return false
	}
	wd := t.In(c.Loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// StartOfDay returns midnight at the start of t's day in the calendar's zone.
func (c *Calendar) StartOfDay(t time.Time) time.Time {
	y, m, d := t.In(c.Loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.Loc)
}

// EndOfDay returns midnight at the end of t's day (the start of the next day) in the calendar's zone.
func (c *Calendar) EndOfDay(t time.Time) time.Time {
	y, m, d := t.In(c.Loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, c.Loc)
}

// AddWorkingDays returns the end of the n-th working day after t's day. As in the Civil Procedure Law's rule
// for periods, the day on which the period starts is not counted; a window of n working days therefore closes
// at midnight at the end of the n-th working day that follows.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	day := c.StartOfDay(t)
	for counted := 0; counted < n; {
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Loc)
		if c.IsWorkingDay(day) {
			counted++
		}
	}
	return c.EndOfDay(day)
}

// AddDays returns the end of the n-th calendar day after t's day, used for the mediation time limit and the
// 30-day judicial-confirmation window. As the Civil Procedure Law counts periods, the starting day is not
// counted, and a period whose last day is not a working day runs to the end of the next working day.
func (c *Calendar) AddDays(t time.Time, n int) time.Time {
	day := c.StartOfDay(t)
	last := time.Date(day.Year(), day.Month(), day.Day()+n, 0, 0, 0, 0, c.Loc)
	for !c.IsWorkingDay(last) {
		last = time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, c.Loc)
	}
	return c.EndOfDay(last)
}
