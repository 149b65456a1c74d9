package cases

import (
	"context"
	"log/slog"
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
