package cases_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestCaseNumbersPerScopeAndYear: Parley's own numbers count per scope (the mediation organisation of a direct
// application, the court of a referral) and per calendar year in the calendar's zone; the scope's number code
// tells them apart; each number still parses as a 案号; ten creations at once in one scope get ten numbers.
func TestCaseNumbersPerScopeAndYear(t *testing.T) {
	// 23:50 on 31 December 2026 in Beijing.
	s, clock := casestest.Store(t, time.Date(2026, 12, 31, 15, 50, 0, 0, time.UTC))
	w := casestest.Populate(t, s)
	ctx := context.Background()
	if w.Org.NumberCode == "" || w.Court.NumberCode == "" || w.Org.NumberCode == w.Court.NumberCode {
		t.Fatalf("number codes: org %q, court %q; want two different codes", w.Org.NumberCode, w.Court.NumberCode)
	}
	direct := func(p cases.Principal) *cases.Case {
		t.Helper()
		n := casestest.NewCase(cases.SourceDirect)
		n.OrganisationID = w.Org.ID
		c, err := s.CreateCase(ctx, p, n)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		return c
	}
	referral := func() *cases.Case {
		t.Helper()
		c, err := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
		if err != nil {
			t.Fatalf("create referral: %v", err)
		}
		return c
	}
	want := func(c *cases.Case, year int, code string, seq int64) {
		t.Helper()
		if w := cases.ParleyNumber(year, code, seq); c.Number != w {
			t.Errorf("number %s, want %s", c.Number, w)
		}
		n, err := cases.ParseCaseNumber(c.Number)
		if err != nil || n.Year != year || int64(n.Seq) != seq {
			t.Errorf("%s parses as %+v, %v; want a 案号 of %d, sequence %d", c.Number, n, err, year, seq)
		}
	}
	want(direct(w.OrgAdmin), 2026, w.Org.NumberCode, 1)
	want(direct(w.OrgAdmin), 2026, w.Org.NumberCode, 2)
	want(referral(), 2026, w.Court.NumberCode, 1) // the court counts on its own
	// Ten at once in one scope: ten different numbers, 3…12.
	var wg sync.WaitGroup
	numbers := make(chan string, 10)
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := casestest.NewCase(cases.SourceDirect)
			n.OrganisationID = w.Org.ID
			c, err := s.CreateCase(ctx, w.OrgAdmin, n)
			if err != nil {
				errs <- err
				return
			}
			numbers <- c.Number
		}()
	}
	wg.Wait()
	close(numbers)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create: %v", err)
	}
	seen := map[string]bool{}
	for n := range numbers {
		if seen[n] {
			t.Errorf("number %s given twice", n)
		}
		seen[n] = true
	}
	for i := int64(3); i <= 12; i++ {
		if n := cases.ParleyNumber(2026, w.Org.NumberCode, i); !seen[n] {
			t.Errorf("no case got %s (got %v)", n, seen)
		}
	}
	// Midnight in Beijing (16:00 UTC): 2027 begins at 1 in both scopes.
	clock.T = time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC)
	want(direct(w.OrgAdmin), 2027, w.Org.NumberCode, 1)
	want(referral(), 2027, w.Court.NumberCode, 1)
	want(direct(w.OrgAdmin), 2027, w.Org.NumberCode, 2)
	// Another organisation: its own sequence and its own code.
	other, err := s.CreateCase(ctx, w.Admin, func() cases.NewCase {
		n := casestest.NewCase(cases.SourceDirect)
		n.OrganisationID = w.OtherOrg.ID
		return n
	}())
	if err != nil {
		t.Fatal(err)
	}
	want(other, 2027, w.OtherOrg.NumberCode, 1)
	// The number stays unique in the database, whatever the counters say.
	if _, err := s.Pool().Exec(ctx, `UPDATE case_number_counters SET last = 1 WHERE scope = $1 AND year = 2027`, w.Org.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCase(ctx, w.OrgAdmin, func() cases.NewCase {
		n := casestest.NewCase(cases.SourceDirect)
		n.OrganisationID = w.Org.ID
		return n
	}()); err == nil {
		t.Errorf("a number given twice was stored")
	}
	// …and that failure gave nothing away: the counter did not move.
	var last int64
	if err := s.Pool().QueryRow(ctx, `SELECT last FROM case_number_counters WHERE scope = $1 AND year = 2027`, w.Org.ID).Scan(&last); err != nil || last != 1 {
		t.Errorf("after a rolled-back creation the counter is %d (%v), want 1", last, err)
	}
}
