package cases

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed calendars/*.txt
var calendarFS embed.FS

// Calendar knows which days are working days: Monday to Friday, minus public holidays, plus weekend days
// declared working days (调休). Dates are taken in the calendar's time zone.
//
// The holidays live in the database (table holidays, edited by the platform admin through the API); the built-in
// files and the holidays file seed it. A calendar is safe for concurrent use: the store swaps its entries when
// they change.
type Calendar struct {
	Loc      *time.Location
	mu       sync.RWMutex
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
		if f[1] != "holiday" && f[1] != "workday" {
			return fmt.Errorf("cases: calendar line %d: kind must be holiday or workday, got %q", n, f[1])
		}
		c.Set(Holiday{Day: d.Format("2006-01-02"), Kind: f[1], Name: strings.Join(f[2:], " ")})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cases: read calendar: %w", err)
	}
	return nil
}

// IsWorkingDay reports whether the calendar day containing t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	key := t.In(c.Loc).Format("2006-01-02")
	c.mu.RLock()
	defer c.mu.RUnlock()
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

// Holiday is one entry of the calendar: a weekday off (holiday) or a weekend day worked (workday, 调休).
type Holiday struct {
	Day  string `json:"day"`  // YYYY-MM-DD
	Kind string `json:"kind"` // holiday | workday
	Name string `json:"name,omitempty"`
}

// Valid reports problems with an entry, by field.
func (h Holiday) Valid() map[string]string {
	f := map[string]string{}
	if _, err := time.Parse("2006-01-02", h.Day); err != nil {
		f["day"] = "must be a date YYYY-MM-DD"
	}
	if h.Kind != "holiday" && h.Kind != "workday" {
		f["kind"] = "must be holiday or workday"
	}
	requireText(f, "name", h.Name, false, 100)
	return f
}

// Set adds or replaces one entry.
func (c *Calendar) Set(h Holiday) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.holidays, h.Day)
	delete(c.workdays, h.Day)
	if h.Kind == "workday" {
		c.workdays[h.Day] = h.Name
	} else {
		c.holidays[h.Day] = h.Name
	}
}

// Remove deletes the entry of a day (it becomes an ordinary weekday or weekend day).
func (c *Calendar) Remove(day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.holidays, day)
	delete(c.workdays, day)
}

// Replace sets the calendar's entries to hs.
func (c *Calendar) Replace(hs []Holiday) {
	c.mu.Lock()
	c.holidays, c.workdays = map[string]string{}, map[string]string{}
	c.mu.Unlock()
	for _, h := range hs {
		c.Set(h)
	}
}

// Entries lists the calendar's entries by day.
func (c *Calendar) Entries() []Holiday {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Holiday, 0, len(c.holidays)+len(c.workdays))
	for d, n := range c.holidays {
		out = append(out, Holiday{Day: d, Kind: "holiday", Name: n})
	}
	for d, n := range c.workdays {
		out = append(out, Holiday{Day: d, Kind: "workday", Name: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out
}

// LastYear is the last year the calendar has holidays entered for (0 when none).
func (c *Calendar) LastYear() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	last := 0
	for d := range c.holidays {
		var y int
		if _, err := fmt.Sscanf(d[:4], "%d", &y); err == nil && y > last {
			last = y
		}
	}
	return last
}

// Warning says, for a deadline computed by the calendar, whether it falls past the last year whose holidays were
// entered: such a deadline counts weekends only, and staff must be told ("holiday calendar for YEAR not yet
// entered"). It is "" when the calendar knows the deadline's year.
func (c *Calendar) Warning(deadline time.Time) string {
	y := deadline.In(c.Loc).Year()
	// A deadline at midnight ending 31 December lies in the next year's first instant: count the day it closes.
	if t := deadline.In(c.Loc); t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.YearDay() == 1 {
		y--
	}
	if y > c.LastYear() {
		return fmt.Sprintf("holiday calendar for %d not yet entered: this deadline counts weekends only", y)
	}
	return ""
}

// LoadHolidays makes the store's calendar the one kept in the database. An empty table is seeded from the
// calendar the store was built with (the built-in lists and the holidays file), first writer wins; afterwards
// the database is the source and every node reloads it (the overdue job does, each sweep).
func (s *Store) LoadHolidays(ctx context.Context) error {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM holidays`).Scan(&n); err != nil {
		return dbErr("holidays", err)
	}
	if n == 0 {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `LOCK TABLE holidays IN EXCLUSIVE MODE`); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM holidays`).Scan(&n); err != nil || n > 0 {
				return err
			}
			for _, h := range s.Cal.Entries() {
				if _, err := tx.Exec(ctx, `INSERT INTO holidays (day, kind, name, updated_by) VALUES ($1, $2, $3, 'seed')`, h.Day, h.Kind, h.Name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return dbErr("seed holidays", err)
		}
	}
	hs, err := s.Holidays(ctx)
	if err != nil {
		return err
	}
	s.Cal.Replace(hs)
	return nil
}

// Holidays lists the calendar's entries as kept in the database.
func (s *Store) Holidays(ctx context.Context) ([]Holiday, error) {
	rows, err := s.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), kind, name FROM holidays ORDER BY day`)
	if err != nil {
		return nil, dbErr("holidays", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Holiday, error) {
		var h Holiday
		err := r.Scan(&h.Day, &h.Kind, &h.Name)
		return h, err
	})
	if out == nil {
		out = []Holiday{}
	}
	return out, dbErr("holidays", err)
}

// SetHoliday adds or changes one calendar entry (the platform admin). Deadlines already computed keep their
// value; new ones use the entry at once.
func (s *Store) SetHoliday(ctx context.Context, p Principal, h Holiday) error {
	if !p.IsStaff(RoleAdmin) {
		return Errorf(EFORBIDDEN, "the holiday calendar is kept by the platform admin")
	}
	if err := Invalid(h.Valid()); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO holidays (day, kind, name, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (day) DO UPDATE SET kind = $2, name = $3, updated_by = $4, updated_at = $5`, h.Day, h.Kind, h.Name, p.Name, s.now()); err != nil {
		return dbErr("set holiday", err)
	}
	s.Cal.Set(h)
	s.log.Info("holiday calendar changed", "day", h.Day, "kind", h.Kind, "by", p.Name)
	return nil
}

// DeleteHoliday removes the entry of a day (the platform admin).
func (s *Store) DeleteHoliday(ctx context.Context, p Principal, day string) error {
	if !p.IsStaff(RoleAdmin) {
		return Errorf(EFORBIDDEN, "the holiday calendar is kept by the platform admin")
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return Errorf(ENOTFOUND, "no calendar entry for %q", day)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM holidays WHERE day = $1`, day)
	if err != nil {
		return dbErr("delete holiday", err)
	}
	if tag.RowsAffected() == 0 {
		return Errorf(ENOTFOUND, "no calendar entry for %s", day)
	}
	s.Cal.Remove(day)
	s.log.Info("holiday calendar changed", "day", day, "removed", true, "by", p.Name)
	return nil
}
