package cases_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestHolidayCalendarInTheDatabase: the calendar is seeded into the database once, edited there by the platform
// admin only, read back by every node; a deadline past the last year entered counts weekends only and says so.
func TestHolidayCalendarInTheDatabase(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	if err := s.LoadHolidays(ctx); err != nil {
		t.Fatal(err)
	}
	hs, err := s.Holidays(ctx)
	if err != nil || len(hs) == 0 || len(hs) != len(cases.DefaultCalendar().Entries()) {
		t.Fatalf("seeded %d entries (%v), want the built-in %d", len(hs), err, len(cases.DefaultCalendar().Entries()))
	}
	last := s.Cal.LastYear()
	if last != 2026 {
		t.Fatalf("last year %d, want 2026 (the built-in list)", last)
	}
	// A deadline in 2027: weekends only, with the warning; none for 2026.
	start := time.Date(2026, 12, 28, 10, 0, 0, 0, s.Cal.Loc) // Monday
	due := s.Cal.AddWorkingDays(start, 5)                    // Tue 29 … Mon 4 Jan: 1 January counts as a working day
	if want := time.Date(2027, 1, 5, 0, 0, 0, 0, s.Cal.Loc); !due.Equal(want) {
		t.Errorf("5 working days from 28 December: %s, want %s (weekends only in 2027)", due, want)
	}
	if w := s.Cal.Warning(due); !strings.Contains(w, "holiday calendar for 2027 not yet entered") {
		t.Errorf("warning %q", w)
	}
	if w := s.Cal.Warning(time.Date(2026, 12, 31, 0, 0, 0, 0, s.Cal.Loc)); w != "" {
		t.Errorf("a 2026 deadline warned %q", w)
	}
	if w := s.Cal.Warning(time.Date(2027, 1, 1, 0, 0, 0, 0, s.Cal.Loc)); w != "" {
		t.Errorf("a deadline closing at the end of 31 December 2026 warned %q", w)
	}
	// Only the platform admin edits; the change takes effect at once and reaches another node.
	nyd := cases.Holiday{Day: "2027-01-01", Kind: "holiday", Name: "元旦"}
	wantCode(t, s.SetHoliday(ctx, w.Clerk, nyd), cases.EFORBIDDEN)
	wantCode(t, s.SetHoliday(ctx, w.Admin, cases.Holiday{Day: "2027-13-01", Kind: "holiday"}), cases.EINVALID)
	wantCode(t, s.SetHoliday(ctx, w.Admin, cases.Holiday{Day: "2027-01-01", Kind: "vacation"}), cases.EINVALID)
	if err := s.SetHoliday(ctx, w.Admin, nyd); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Cal.AddWorkingDays(start, 5), time.Date(2027, 1, 6, 0, 0, 0, 0, s.Cal.Loc); !got.Equal(want) {
		t.Errorf("after entering 1 January: %s, want %s", got, want)
	}
	if s.Cal.LastYear() != 2027 || s.Cal.Warning(due) != "" {
		t.Errorf("after entering 2027: last year %d, warning %q", s.Cal.LastYear(), s.Cal.Warning(due))
	}
	other := cases.NewStore(s.Pool(), cases.DefaultCalendar(), nil)
	if err := other.LoadHolidays(ctx); err != nil {
		t.Fatal(err)
	}
	if other.Cal.IsWorkingDay(time.Date(2027, 1, 1, 12, 0, 0, 0, other.Cal.Loc)) {
		t.Error("another node does not see the admin's entry")
	}
	wantCode(t, s.DeleteHoliday(ctx, w.Judge, "2027-01-01"), cases.EFORBIDDEN)
	if err := s.DeleteHoliday(ctx, w.Admin, "2027-01-01"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteHoliday(ctx, w.Admin, "2027-01-01"), cases.ENOTFOUND)
	if !s.Cal.IsWorkingDay(time.Date(2027, 1, 1, 12, 0, 0, 0, s.Cal.Loc)) {
		t.Error("a removed holiday is still off")
	}
}

// TestCourtDeadlinesFlagged: the court's 3 working days to refer after the parties' choice window, and its 30 days
// to decide on a confirmation application (CPL Art. 187), listed for its clerks and judges and flagged overdue.
func TestCourtDeadlinesFlagged(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	find := func(p cases.Principal, kind string) *cases.CourtDeadline {
		t.Helper()
		list, err := s.CourtDeadlines(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range list {
			if list[i].CaseID == c.ID && list[i].Kind == kind {
				return &list[i]
			}
		}
		return nil
	}
	d := find(w.Clerk, "assign_mediator")
	// Registered Monday 16 Nov 10:00: the parties choose until the end of Wednesday 18; the court refers by the
	// end of Monday 23 (Thu, Fri, Mon).
	if want := time.Date(2026, 11, 24, 0, 0, 0, 0, s.Cal.Loc); d == nil || !d.DueAt.Equal(want) || d.Overdue {
		t.Fatalf("assign deadline %+v, want due %s, not overdue", d, want)
	}
	if list, _ := s.CourtDeadlines(ctx, w.OtherClerk); len(list) != 0 {
		t.Errorf("another court sees %+v", list)
	}
	_, err = s.CourtDeadlines(ctx, w.Mediator)
	wantCode(t, err, cases.EFORBIDDEN)
	clock.Advance(8 * 24 * time.Hour) // Tuesday 24
	if d := find(w.Judge, "assign_mediator"); d == nil || !d.Overdue {
		t.Fatalf("after the court's 3 working days: %+v, want overdue", d)
	}
	// Referred after the window (no waiver needed now), mediated, settled; both parties apply.
	c = act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}})
	if find(w.Clerk, "assign_mediator") != nil {
		t.Error("a referred case still shows the assign deadline")
	}
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	casestest.SignedAgreement(t, s, c, true, nil) // every party signs: the agreement takes effect
	c, _ = s.Case(ctx, c.ID)
	c = act(t, s, casestest.PartyPrincipal(c, 0), c, cases.ActApplyConfirmation, cases.Params{})
	clock.Advance(24 * time.Hour)
	applied := clock.Now()
	c = act(t, s, casestest.PartyPrincipal(c, 1), c, cases.ActApplyConfirmation, cases.Params{})
	if c.State != cases.StateConfirmationPending {
		t.Fatalf("state %s", c.State)
	}
	d = find(w.Judge, "decide_confirmation")
	if want := cases.ConfirmationDecideBy(s.Cal, applied); d == nil || !d.DueAt.Equal(want) || d.Overdue || !d.Since.Equal(applied.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("decide deadline %+v, want due %s from %s", d, want, applied)
	}
	clock.Advance(35 * 24 * time.Hour)
	if d := find(w.Clerk, "decide_confirmation"); d == nil || !d.Overdue {
		t.Errorf("after 35 days: %+v, want overdue", d)
	}
}
