package cases

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Parley's own case numbers (issue 12 §3): one sequence per scope and calendar year. The scope is the mediation
// organisation a case is registered with, else the court that referred it, else the platform; the number names
// the scope by its organisation's number code (migration 120):
//
//	（2026）知调12字第000001号   the first case of 2026 of the organisation (or court) with number_code 12
//	（2026）知调字第000001号     the first case of 2026 registered with neither (the platform)
//
// Both keep the shape of a court's 案号 that checkCourtCaseNumber knows.

// PlatformScope is the numbering scope of cases with neither an organisation nor a court.
const PlatformScope = "platform"

// nextCaseNumber takes the next number of the case's scope for the year of now in the calendar's zone. It runs
// inside the case-creation transaction: the counter row stays locked until that transaction ends, so concurrent
// creations in one scope wait for each other and never share a number, and a rollback gives the number back.
func (s *Store) nextCaseNumber(ctx context.Context, tx pgx.Tx, organisationID, courtID string, now time.Time) (string, error) {
	scope, code := PlatformScope, ""
	for _, id := range []string{organisationID, courtID} {
		if id == "" {
			continue
		}
		if err := tx.QueryRow(ctx, `SELECT id::text, number_code FROM organisations WHERE id = $1`, id).Scan(&scope, &code); err != nil {
			return "", fmt.Errorf("cases: number scope %s: %w", id, err)
		}
		break
	}
	year := now.In(s.Cal.Loc).Year()
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO case_number_counters (scope, year, last) VALUES ($1, $2, 1)
		ON CONFLICT (scope, year) DO UPDATE SET last = case_number_counters.last + 1 RETURNING last`, scope, year).Scan(&seq); err != nil {
		return "", fmt.Errorf("cases: case number: %w", err)
	}
	return ParleyNumber(year, code, seq), nil
}

// ParleyNumber writes Parley's number of the seq-th case of year in the scope whose number code is code (empty for
// the platform).
func ParleyNumber(year int, code string, seq int64) string {
	return fmt.Sprintf("（%d）知调%s字第%06d号", year, code, seq)
}
