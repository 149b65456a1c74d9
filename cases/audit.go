package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The audit trail: each case's events form a hash chain. An event's hash is
//
//	SHA-256( prev_hash || canonical JSON of {case_id, seq, at, actor_kind, actor_id, actor_name, type, visibility, data} )
//
// where the first event's prev_hash is 32 zero bytes and canonical JSON has sorted keys, no insignificant
// whitespace, and times in RFC 3339 UTC with microseconds. The case row keeps the number of events and the last
// hash, so deleting events at the end of the chain is detected too.

var genesis = make([]byte, sha256.Size)

// canonicalData re-encodes JSON-able data canonically (sorted keys, numbers as written).
func canonicalData(data map[string]any) ([]byte, error) {
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(raw)
}

func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// eventHash computes an event's hash from its fields and its canonical data.
func eventHash(prev []byte, caseID string, seq int64, at time.Time, actorKind, actorID, actorName, typ, vis string, data []byte) []byte {
	body, _ := json.Marshal(struct {
		ActorID    string          `json:"actor_id"`
		ActorKind  string          `json:"actor_kind"`
		ActorName  string          `json:"actor_name"`
		At         string          `json:"at"`
		CaseID     string          `json:"case_id"`
		Data       json.RawMessage `json:"data"`
		Seq        int64           `json:"seq"`
		Type       string          `json:"type"`
		Visibility string          `json:"visibility"`
	}{actorID, actorKind, actorName, at.UTC().Format("2006-01-02T15:04:05.000000Z"), caseID, data, seq, typ, vis})
	h := sha256.New()
	h.Write(prev)
	h.Write(body)
	return h.Sum(nil)
}

// appendEvent adds an event to a case's chain inside tx. The caller must hold the case row's lock
// (SELECT … FOR UPDATE), which serialises appends per case.
func (s *Store) appendEvent(ctx context.Context, tx pgx.Tx, caseID string, actor Principal, typ, vis string, data map[string]any, at time.Time) (*Event, error) {
	var count int64
	var head []byte
	if err := tx.QueryRow(ctx, `SELECT event_count, event_head FROM cases WHERE id = $1`, caseID).Scan(&count, &head); err != nil {
		return nil, fmt.Errorf("cases: append event: %w", err)
	}
	if head == nil {
		head = genesis
	}
	canon, err := canonicalData(data)
	if err != nil {
		return nil, fmt.Errorf("cases: append event: encode data: %w", err)
	}
	if vis == "" {
		vis = VisAll
	}
	seq := count + 1
	actorKind := string(actor.Kind)
	hash := eventHash(head, caseID, seq, at, actorKind, actor.ID, actor.Name, typ, vis, canon)
	if _, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, seq, at, actor_kind, actor_id, actor_name, type, visibility, data, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		caseID, seq, at, actorKind, actor.ID, actor.Name, typ, vis, string(canon), head, hash); err != nil {
		return nil, fmt.Errorf("cases: append event: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET event_count = $2, event_head = $3 WHERE id = $1`, caseID, seq, hash); err != nil {
		return nil, fmt.Errorf("cases: append event: %w", err)
	}
	// The webhook outbox is written in the same transaction (cases/webhooks.go).
	if err := s.enqueueWebhooks(ctx, tx, caseID, seq, at, actor, typ, vis, data, hash); err != nil {
		return nil, err
	}
	// So is the notice to the case's rooms (cases/changes.go).
	if err := notifyChange(ctx, tx, caseID, typ, vis); err != nil {
		return nil, fmt.Errorf("cases: append event: %w", err)
	}
	var d map[string]any
	_ = json.Unmarshal(canon, &d)
	return &Event{CaseID: caseID, Seq: seq, At: at, ActorKind: actorKind, ActorID: actor.ID, ActorName: actor.Name, Type: typ, Visibility: vis, Data: d, PrevHash: head, Hash: hash}, nil
}

// RecordEvent appends an event that is not a workflow transition (a session started, a document signed…).
func (s *Store) RecordEvent(ctx context.Context, caseID string, actor Principal, typ, vis string, data map[string]any) (*Event, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	var ev *Event
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		var err error
		ev, err = s.appendEvent(ctx, tx, caseID, actor, typ, vis, data, s.now())
		return err
	})
	return ev, dbErr("record event", err)
}

// Events returns a case's trail in order.
func (s *Store) Events(ctx context.Context, caseID string) ([]Event, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT case_id, seq, at, actor_kind, actor_id, actor_name, type, visibility, data::text, prev_hash, hash
		FROM case_events WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, dbErr("events", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var data string
		if err := rows.Scan(&e.CaseID, &e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Type, &e.Visibility, &data, &e.PrevHash, &e.Hash); err != nil {
			return nil, dbErr("events", err)
		}
		_ = json.Unmarshal([]byte(data), &e.Data)
		out = append(out, e)
	}
	return out, dbErr("events", rows.Err())
}

// ChainReport is the result of verifying a case's audit chain.
type ChainReport struct {
	CaseID   string `json:"case_id"`
	Events   int64  `json:"events"`
	Valid    bool   `json:"valid"`
	Head     string `json:"head"`
	BadSeq   int64  `json:"bad_seq,omitempty"`
	Problem  string `json:"problem,omitempty"`
	Verified string `json:"verified_at"`
}

// VerifyChain recomputes a case's chain from the stored events and compares it with the stored hashes and with
// the head kept on the case: an edited field, a deleted or inserted event, or a cut-off tail are all reported.
func (s *Store) VerifyChain(ctx context.Context, caseID string) (*ChainReport, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	var count int64
	var head []byte
	if err := s.pool.QueryRow(ctx, `SELECT event_count, event_head FROM cases WHERE id = $1`, caseID).Scan(&count, &head); err != nil {
		return nil, dbErr("verify chain", err)
	}
	rep := &ChainReport{CaseID: caseID, Events: count, Valid: true, Head: hex.EncodeToString(head), Verified: s.now().Format(time.RFC3339)}
	fail := func(seq int64, format string, args ...any) (*ChainReport, error) {
		rep.Valid, rep.BadSeq, rep.Problem = false, seq, fmt.Sprintf(format, args...)
		return rep, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor_kind, actor_id, actor_name, type, visibility, data::text, prev_hash, hash
		FROM case_events WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, dbErr("verify chain", err)
	}
	type row struct {
		seq                            int64
		at                             time.Time
		kind, id, name, typ, vis, data string
		prev, hash                     []byte
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.at, &r.kind, &r.id, &r.name, &r.typ, &r.vis, &r.data, &r.prev, &r.hash); err != nil {
			rows.Close()
			return nil, dbErr("verify chain", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("verify chain", err)
	}
	prev := genesis
	for i, r := range all {
		want := int64(i + 1)
		if r.seq != want {
			return fail(want, "event %d is missing (next stored event is %d)", want, r.seq)
		}
		if !bytes.Equal(r.prev, prev) {
			return fail(r.seq, "event %d does not link to the event before it", r.seq)
		}
		canon, err := canonicalJSON([]byte(r.data))
		if err != nil {
			return fail(r.seq, "event %d has unreadable data", r.seq)
		}
		got := eventHash(prev, caseID, r.seq, r.at, r.kind, r.id, r.name, r.typ, r.vis, canon)
		if !bytes.Equal(got, r.hash) {
			return fail(r.seq, "event %d was changed after it was written (its content no longer matches its hash)", r.seq)
		}
		prev = r.hash
	}
	switch {
	case int64(len(all)) != count:
		return fail(int64(len(all))+1, "the case records %d events but %d are stored", count, len(all))
	case count > 0 && !bytes.Equal(prev, head):
		return fail(count, "the last event does not match the head recorded on the case")
	}
	return rep, nil
}

// EventsFor returns the trail of a case as p may read it (see EventFor): the events meant for p, without the
// other side's contact details or another participant's identity-check note.
func (s *Store) EventsFor(ctx context.Context, p Principal, caseID string) ([]Event, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	evs, err := s.Events(ctx, caseID)
	if err != nil {
		return nil, err
	}
	out := []Event{}
	readable := map[string]bool{} // caucus visibility → whether p reads that caucus
	for _, e := range evs {
		if strings.HasPrefix(e.Visibility, "caucus:") {
			ok, seen := readable[e.Visibility]
			if !seen {
				ok = s.readsCaucusOf(ctx, p, c, e)
				readable[e.Visibility] = ok
			}
			if ok {
				out = append(out, e) // nothing in these events is about either side's contact details
			}
			continue
		}
		if v, ok := EventFor(p, c, e); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// readsCaucusOf reports whether p reads the caucus of an event with a caucus visibility (VisCaucus).
func (s *Store) readsCaucusOf(ctx context.Context, p Principal, c *Case, e Event) bool {
	ref, err := strconv.ParseInt(strings.TrimPrefix(e.Visibility, "caucus:"), 10, 64)
	sessionID, _ := e.Data["session_id"].(string)
	if err != nil || !isUUID(sessionID) {
		return false
	}
	k, err := s.caucusOfRef(ctx, sessionID, ref)
	return err == nil && MayReadCaucus(p, c, *k)
}
