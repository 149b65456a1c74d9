package cases

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Case-change notices: when a case's documents or workflow state change, every node hears it at once (PostgreSQL
// NOTIFY, sent by the transaction that appends the event, so only on its commit), and the video rooms of that
// case tell their participants to look again — the agreement's card in the room comes when the agreement can be
// signed, and the mediator sees each signature as it lands, instead of at the next poll. A notice names the case
// and the event type only, never what the event says, and only events everyone in the case may see (VisAll).

// ChangeChannel is the PostgreSQL notification channel of case changes.
const ChangeChannel = "parley_case_changes"

// noticeWorthy reports whether an event of type typ and visibility vis is announced to the case's rooms.
func noticeWorthy(typ, vis string) bool {
	return vis == VisAll && (strings.HasPrefix(typ, "document.") || strings.HasPrefix(typ, "case."))
}

// notifyChange queues the notice of an event inside its transaction (delivered on commit, dropped on rollback).
func notifyChange(ctx context.Context, tx pgx.Tx, caseID, typ, vis string) error {
	if !noticeWorthy(typ, vis) {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, caseID+" "+typ)
	return err
}

// WatchChanges calls fn for every case-change notice until ctx ends, on a connection of its own (LISTEN). A lost connection is opened again (after 1 s, doubling to 30 s); notices sent meanwhile are lost —
// the rooms still look now and then by themselves. fn runs on the watching goroutine: it must not block.
func (s *Store) WatchChanges(ctx context.Context, fn func(caseID, eventType string)) {
	wait := time.Second
	for ctx.Err() == nil {
		err := s.watchOnce(ctx, fn, func() { wait = time.Second })
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("case-change notices: connection lost; listening again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (s *Store) watchOnce(ctx context.Context, fn func(caseID, eventType string), listening func()) error {
	// A connection of its own, beside the pool (whose connections it would otherwise take one of for good),
	// with the pool's settings (search path included); its session LISTENs until it is closed here.
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+ChangeChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if id, typ, ok := strings.Cut(n.Payload, " "); ok && isUUID(id) {
			fn(id, typ)
		}
	}
}
