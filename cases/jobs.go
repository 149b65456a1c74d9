package cases

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Job kinds: the steps that follow a signature's commit and must happen even if the process dies right after it.
const (
	JobCompletion = "completion" // generate and sign the certificate of completion of a complete document
)

// Job is one durable after-signature step.
type Job struct {
	ID         int64
	Kind       string
	DocumentID string
	CaseID     string
	Attempts   int
}

// enqueueJob records a job in the transaction that made it necessary, so it exists exactly when that commits.
func enqueueJob(ctx context.Context, tx pgx.Tx, kind string, d *Document, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO document_jobs (kind, document_id, case_id, run_after, created_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (kind, document_id) DO NOTHING`, kind, d.ID, d.CaseID, now)
	return err
}

// ClaimJob claims the oldest due job (of document docID when it is not ""), leasing it for lease: a node that dies
// holding it leaves it to another after the lease. Several nodes claim at once safely (FOR UPDATE SKIP LOCKED).
// It returns nil when nothing is due.
func (s *Store) ClaimJob(ctx context.Context, docID string, lease time.Duration) (*Job, error) {
	now := s.now()
	var j Job
	err := s.pool.QueryRow(ctx, `UPDATE document_jobs SET attempts = attempts + 1, locked_until = $1
		WHERE id = (SELECT id FROM document_jobs WHERE done_at IS NULL AND run_after <= $2 AND (locked_until IS NULL OR locked_until < $2)
			AND ($3 = '' OR document_id::text = $3) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, document_id, case_id, attempts`, now.Add(lease), now, docID).Scan(&j.ID, &j.Kind, &j.DocumentID, &j.CaseID, &j.Attempts)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr("claim job", err)
	}
	return &j, nil
}

// JobDone marks a job done.
func (s *Store) JobDone(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE document_jobs SET done_at = $2, locked_until = NULL, last_error = '' WHERE id = $1`, id, s.now())
	return dbErr("job done", err)
}

// JobFailed releases a job to be retried after retry, keeping the error.
func (s *Store) JobFailed(ctx context.Context, id int64, cause error, retry time.Duration) error {
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	_, err := s.pool.Exec(ctx, `UPDATE document_jobs SET locked_until = NULL, last_error = $2, run_after = $3 WHERE id = $1`, id, msg, s.now().Add(retry))
	return dbErr("job failed", err)
}

// PendingJobs counts the jobs not done yet (for health and tests).
func (s *Store) PendingJobs(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM document_jobs WHERE done_at IS NULL`).Scan(&n)
	return n, dbErr("pending jobs", err)
}
