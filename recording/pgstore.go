package recording

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGStore keeps blobs as PostgreSQL large objects, so that every node sees them. PostgreSQL
// does not tell a client its free disk space, so Free reports Quota minus what the large
// objects of the database already use (pg_largeobject), or -1 without a quota.
type PGStore struct {
	Pool  *pgxpool.Pool
	Quota int64 // bytes the recordings may use in the database; 0 = unknown
}

const pgPrefix = "pg:"

func parsePGRef(ref string) (uint32, error) {
	s, ok := strings.CutPrefix(ref, pgPrefix)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrBadRef, ref)
	}
	oid, err := strconv.ParseUint(s, 10, 32)
	if err != nil || oid == 0 {
		return 0, fmt.Errorf("%w: %q", ErrBadRef, ref)
	}
	return uint32(oid), nil
}

// Put implements Store: one transaction creates the large object and writes it.
func (s *PGStore) Put(ctx context.Context, r io.Reader) (Blob, error) {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	los := tx.LargeObjects()
	oid, err := los.Create(ctx, 0)
	if err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: create: %w", err)
	}
	lo, err := los.Open(ctx, oid, pgx.LargeObjectModeWrite)
	if err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: open: %w", err)
	}
	h := newHashingReader(r)
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(lo, h, buf); err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: write: %w", err)
	}
	if err := lo.Close(); err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: close: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Blob{}, fmt.Errorf("recording: pg put: commit: %w", err)
	}
	return Blob{Ref: pgPrefix + strconv.FormatUint(uint64(oid), 10), Size: h.n, SHA256: h.sum()}, nil
}

// Open implements Store. The reader holds a read-only transaction (one pooled connection)
// until it is closed.
func (s *PGStore) Open(ctx context.Context, ref string) (Reader, error) {
	oid, err := parsePGRef(ref)
	if err != nil {
		return nil, err
	}
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("recording: pg open: %w", err)
	}
	los := tx.LargeObjects()
	lo, err := los.Open(ctx, oid, pgx.LargeObjectModeRead)
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		if isUndefinedObject(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
		return nil, fmt.Errorf("recording: pg open: %w", err)
	}
	size, err := lo.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = lo.Seek(0, io.SeekStart)
	}
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("recording: pg open: size: %w", err)
	}
	return &pgReader{LargeObject: lo, tx: tx, ctx: context.WithoutCancel(ctx), size: size}, nil
}

type pgReader struct {
	*pgx.LargeObject
	tx   pgx.Tx
	ctx  context.Context
	size int64
}

func (r *pgReader) Size() int64 { return r.size }

func (r *pgReader) Close() error {
	err := r.LargeObject.Close()
	if rerr := r.tx.Rollback(r.ctx); err == nil && rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
		err = rerr
	}
	return err
}

// Delete implements Store.
func (s *PGStore) Delete(ctx context.Context, ref string) error {
	oid, err := parsePGRef(ref)
	if err != nil {
		return err
	}
	_, err = s.Pool.Exec(ctx, `SELECT lo_unlink($1) FROM pg_largeobject_metadata WHERE oid = $1`, oid)
	if err != nil {
		return fmt.Errorf("recording: pg delete: %w", err)
	}
	return nil
}

// Free implements Store.
func (s *PGStore) Free(ctx context.Context) (int64, error) {
	if s.Quota <= 0 {
		return -1, nil
	}
	var used int64
	if err := s.Pool.QueryRow(ctx, `SELECT pg_total_relation_size('pg_largeobject')`).Scan(&used); err != nil {
		return 0, fmt.Errorf("recording: pg free: %w", err)
	}
	return max(s.Quota-used, 0), nil
}

func isUndefinedObject(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42704"
}
