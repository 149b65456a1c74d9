package cases

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	Ended    int // cases ended as time_limit_passed
	Returned int // referrals returned unanswered
}

// Sweep ends cases whose time limit has passed without an extension and returns referrals whose 3-working-day
// answer window closed, recording each in the trail. Several processes may sweep at once: each candidate is
// claimed with FOR UPDATE SKIP LOCKED and the transition re-checks the state under the lock, so every case is
// handled exactly once.
func (s *Store) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := s.now()
	jobs := []struct {
		query  string
		action Action
		params Params
		count  *int
	}{
		{`SELECT id FROM cases WHERE state = 'in_mediation' AND due_at < $1 ORDER BY due_at LIMIT 200`, ActEnd,
			Params{Ground: GroundTimeLimit, Note: "the time limit passed without an extension agreed by every party (OMR Art. 24–25)"}, &res.Ended},
		{`SELECT id FROM cases WHERE state = 'referred' AND answer_due_at < $1 ORDER BY answer_due_at LIMIT 200`, ActReturnUnanswered, Params{}, &res.Returned},
	}
	for _, j := range jobs {
		rows, err := s.pool.Query(ctx, j.query, now)
		if err != nil {
			return res, dbErr("sweep", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return res, dbErr("sweep", err)
		}
		for _, id := range ids {
			done, err := s.sweepOne(ctx, id, j.action, j.params)
			if err != nil {
				return res, err
			}
			if done {
				*j.count++
			}
		}
	}
	return res, nil
}

// sweepOne applies a system action to one case unless another process holds it or already handled it.
func (s *Store) sweepOne(ctx context.Context, id string, a Action, in Params) (bool, error) {
	done := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var got string
		err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE id = $1 FOR UPDATE SKIP LOCKED`, id).Scan(&got)
		if err == pgx.ErrNoRows {
			return nil // another process is on it
		}
		if err != nil {
			return err
		}
		c, err := loadCase(ctx, tx, id, false)
		if err != nil {
			return err
		}
		env, err := s.env(ctx, tx, c, in)
		if err != nil {
			return err
		}
		before := cloneCase(c)
		out, err := Apply(c, a, System, in, env)
		if err != nil {
			// Handled meanwhile (state changed, extension granted): nothing to do.
			if code := ErrorCode(err); code == ECONFLICT || code == EUNPROCESSABLE {
				return nil
			}
			return err
		}
		if err := saveCase(ctx, tx, before, c, env.Now); err != nil {
			return err
		}
		if _, err := s.appendEvent(ctx, tx, c.ID, System, out.EventType, out.Visibility, out.Data, env.Now); err != nil {
			return err
		}
		done = true
		return nil
	})
	return done, dbErr("sweep", err)
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// Another node (or the admin through it) may have changed the holiday calendar.
		if err := s.reloadHolidays(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("reload holiday calendar", "err", err)
		}
		res, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("overdue sweep failed", "err", err)
		case res.Ended > 0 || res.Returned > 0:
			logger.Info("overdue sweep", "ended", res.Ended, "returned", res.Returned)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// The court's own deadlines (tracked, flagged when overdue; nothing happens by itself):
//   - assign_mediator: a court case still registered must be referred within 3 working days after the parties'
//     2-working-day window to choose a mediator jointly closed (OMR Art. 10);
//   - decide_confirmation: an application for judicial confirmation must be decided within 30 days of its
//     receipt, the day the last party applied (CPL Art. 187);
//   - answer_confirmation_request: a direct application's parties applied to this court, which has to accept or
//     refuse it (no deadline of its own; listed so that it is not forgotten).

// CourtDeadline is one deadline of the court on a case.
type CourtDeadline struct {
	CaseID          string     `json:"case_id"`
	CaseNumber      string     `json:"case_number"`
	CaseTitle       string     `json:"case_title"`
	State           State      `json:"state"`
	Kind            string     `json:"kind"` // assign_mediator | decide_confirmation | answer_confirmation_request
	Since           time.Time  `json:"since"`
	DueAt           *time.Time `json:"due_at,omitempty"`
	Overdue         bool       `json:"overdue"`
	CalendarWarning string     `json:"calendar_warning,omitempty"` // the deadline lies past the last year of the holiday calendar
}

// CourtDeadlineFor returns the court's deadline on case c at now, if it has one.
func CourtDeadlineFor(c *Case, cal *Calendar, now time.Time) *CourtDeadline {
	d := &CourtDeadline{CaseID: c.ID, CaseNumber: c.Number, CaseTitle: c.Title, State: c.State}
	switch {
	case c.State == StateRegistered && c.Source != SourceDirect && c.CourtID != "" && c.ChooseDueAt != nil:
		d.Kind, d.Since = "assign_mediator", *c.ChooseDueAt
		// The window's last day is the starting day, not counted (CPL Art. 85).
		d.DueAt = ptr(cal.AddWorkingDays(c.ChooseDueAt.Add(-time.Nanosecond), 3))
	case c.State == StateConfirmationPending && c.Pending != nil && len(c.Pending.ConfirmationApps) > 0:
		for _, at := range c.Pending.ConfirmationApps {
			if at.After(d.Since) {
				d.Since = at
			}
		}
		d.Kind, d.DueAt = "decide_confirmation", ptr(ConfirmationDecideBy(cal, d.Since))
	case c.State == StateSettled && c.CourtID == "" && c.Pending != nil && c.Pending.CourtRequest != nil:
		d.Kind, d.Since = "answer_confirmation_request", c.Pending.CourtRequest.At
	default:
		return nil
	}
	if d.DueAt != nil {
		d.Overdue = now.After(*d.DueAt)
		d.CalendarWarning = cal.Warning(*d.DueAt)
	}
	return d
}

// CourtDeadlines lists the deadlines of the caller's court (its clerks and judges), overdue ones first.
func (s *Store) CourtDeadlines(ctx context.Context, p Principal) ([]CourtDeadline, error) {
	if !p.IsStaff(RoleClerk, RoleJudge) || p.OrgID == "" {
		return nil, Errorf(EFORBIDDEN, "the court's deadlines are for its clerks and judges")
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM cases c WHERE (c.court_id::text = $1 AND c.state IN ('registered', 'confirmation_pending'))
		OR (c.court_id IS NULL AND c.state = 'settled' AND c.pending->'court_request'->>'court_id' = $1) ORDER BY c.created_at LIMIT 500`, p.OrgID)
	if err != nil {
		return nil, dbErr("court deadlines", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr("court deadlines", err)
	}
	now := s.now()
	out := []CourtDeadline{}
	for _, id := range ids {
		c, err := s.Case(ctx, id)
		if err != nil {
			return nil, err
		}
		if d := CourtDeadlineFor(c, s.Cal, now); d != nil {
			out = append(out, *d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Overdue != out[j].Overdue {
			return out[i].Overdue
		}
		return out[i].DueAt != nil && (out[j].DueAt == nil || out[i].DueAt.Before(*out[j].DueAt))
	})
	return out, nil
}

// CalendarWarnings lists, for staff, the warnings on a case's deadlines that lie past the last year of the
// holiday calendar (each computed from weekends only).
func CalendarWarnings(c *Case, cal *Calendar, now time.Time) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t *time.Time) {
		if t == nil {
			return
		}
		if w := cal.Warning(*t); w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	add(c.ChooseDueAt)
	add(c.AnswerDueAt)
	add(c.DueAt)
	add(c.ConfirmationDueAt)
	if d := CourtDeadlineFor(c, cal, now); d != nil {
		add(d.DueAt)
	}
	return out
}

// reloadHolidays replaces the calendar's entries with the database's, when the table has any.
func (s *Store) reloadHolidays(ctx context.Context) error {
	hs, err := s.Holidays(ctx)
	if err != nil || len(hs) == 0 {
		return err
	}
	s.Cal.Replace(hs)
	return nil
}
