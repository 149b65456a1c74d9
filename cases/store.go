package cases

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps Parley's case system in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Cal is the working-day calendar for windows and deadlines.
	Cal *Calendar
	// TokenMaxAge is the longest an API token lives (DefaultTokenMaxAge when zero).
	TokenMaxAge time.Duration
}

// NewStore returns a store on pool. A nil calendar means DefaultCalendar.
func NewStore(pool *pgxpool.Pool, cal *Calendar, logger *slog.Logger) *Store {
	if cal == nil {
		cal = DefaultCalendar()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, log: logger.With("component", "cases"), Now: time.Now, Cal: cal}
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// now returns the store's clock truncated to PostgreSQL's microsecond precision, so that what is hashed is
// exactly what is stored.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("cases: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// withCase runs fn in one transaction on the case caseID, locked (SELECT … FOR UPDATE) so that changes to one
// case are serialised; a case p may not see is answered as "<what> not found", as if it did not exist.
func (s *Store) withCase(ctx context.Context, p Principal, caseID, what string, fn func(tx pgx.Tx, c *Case) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := loadCase(ctx, tx, caseID, true)
		if err != nil {
			return err
		}
		if !CanView(p, c) {
			return Errorf(ENOTFOUND, "%s not found", what)
		}
		return fn(tx, c)
	})
}

// dbErr turns database errors into domain errors where the cause is the caller's input.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Errorf(ENOTFOUND, "%s: not found", op)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return Errorf(ECONFLICT, "%s: already exists", op)
		case "23503":
			return Errorf(EINVALID, "%s: refers to something that does not exist", op)
		case "22P02":
			return Errorf(EINVALID, "%s: malformed identifier", op)
		case "40001", "40P01":
			return Errorf(ECONFLICT, "%s: changed concurrently, try again", op)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("cases: %s: %w", op, err)
	}
	return fmt.Errorf("cases: %s: %w", op, err)
}

// Secret returns the named server secret, creating it with n random bytes on first use. Every process sharing
// the database gets the same value.
func (s *Store) Secret(ctx context.Context, name string, n int) ([]byte, error) {
	return s.SecretFunc(ctx, name, func() ([]byte, error) {
		b := make([]byte, n)
		_, err := rand.Read(b)
		return b, err
	})
}

// SecretFunc returns the named server secret, creating it with gen on first use (first writer wins).
func (s *Store) SecretFunc(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("cases: secret %s: %w", name, err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("cases: secret %s: generate: %w", name, err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("cases: secret %s: %w", name, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("cases: secret %s: %w", name, err)
	}
	return v, nil
}

// isUUID reports whether s looks like a UUID, so malformed IDs are answered as not found rather than sent to SQL.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}
