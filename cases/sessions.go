package cases

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session statuses.
const (
	SessionScheduled = "scheduled"
	SessionLive      = "live"
	SessionEnded     = "ended"
)

// Session is a mediation session (a video room) of a case.
type Session struct {
	ID          string     `json:"id"`
	CaseID      string     `json:"case_id"`
	Title       string     `json:"title"`
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	CreatedBy   string     `json:"created_by,omitempty"`
	EndedBy     string     `json:"ended_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Attendance is one stay of one participant in a session.
type Attendance struct {
	ParticipantID string     `json:"participant_id"`
	Name          string     `json:"name"`
	Role          string     `json:"role"`
	Side          string     `json:"side,omitempty"`
	JoinedAt      time.Time  `json:"joined_at"`
	LeftAt        *time.Time `json:"left_at,omitempty"`
	LeftReason    string     `json:"left_reason,omitempty"`
	// Mode is how the participant took part: "video", "voice" or "text" ("" = video).
	Mode string `json:"mode"`
}

// IdentityCheck is the check a mediator made of a participant before admitting them (OMR Art. 17; OLR Art. 7).
type IdentityCheck struct {
	SessionID     string    `json:"session_id,omitempty"`
	ParticipantID string    `json:"participant_id"`
	Name          string    `json:"name"`
	Method        string    `json:"method"`
	Result        string    `json:"result"` // passed | failed
	Note          string    `json:"note,omitempty"`
	CheckedBy     string    `json:"checked_by"`
	CheckedByName string    `json:"checked_by_name"`
	At            time.Time `json:"at"`
}

// IdentityMethods are the ways a mediator may check identity.
var IdentityMethods = []string{"id_card_on_camera", "face_match", "sms_code", "known_to_mediator", "court_verified", "other"}

// ChatMessage is a text message in a session; Scope is "joint" or a caucus ID. A caucus message is readable only by
// its caucus's members (MayReadCaucus) until every party that was in the caucus consented to move it into the
// shared record; then everyone who may see the session reads it, marked Shared.
type ChatMessage struct {
	ID         int64            `json:"id,omitempty"`
	SenderID   string           `json:"sender_id"`
	SenderName string           `json:"sender_name"`
	Scope      string           `json:"scope"`
	Body       string           `json:"body"`
	At         time.Time        `json:"at"`
	CaucusRef  int64            `json:"caucus_ref,omitempty"` // the caucus it was said in (Caucus.Ref)
	Shared     bool             `json:"shared,omitempty"`
	SharedAt   *time.Time       `json:"shared_at,omitempty"`
	Consents   []MessageConsent `json:"consents,omitempty"` // shown to the caucus's members only
}

// MessageConsent is one party's consent to move a caucus message into the shared record.
type MessageConsent struct {
	PartyID string    `json:"party_id"`
	ByName  string    `json:"by_name"`
	At      time.Time `json:"at"`
}

// Caucus is a private session (背对背) held inside a session. Ref identifies it on the case (caucus IDs such as
// "caucus-1" repeat when a room is opened again).
type Caucus struct {
	Ref       int64        `json:"ref"`
	CaucusID  string       `json:"caucus_id"`
	Members   []string     `json:"members"`
	Mediators []string     `json:"mediators"` // the mediators who were in it: who opened it and who moved in
	OpenedBy  string       `json:"opened_by"`
	OpenedAt  time.Time    `json:"opened_at"`
	ClosedAt  *time.Time   `json:"closed_at,omitempty"`
	Readable  bool         `json:"readable"` // the caller is one of its members and reads what was said in it
	Notes     *CaucusNotes `json:"notes,omitempty"`
}

// CaucusNotes are the mediator's notes of a caucus, as confidential as the caucus itself.
type CaucusNotes struct {
	Body          string    `json:"body"`
	Version       int       `json:"version"`
	UpdatedBy     string    `json:"updated_by"`
	UpdatedByName string    `json:"updated_by_name"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// SessionDetail is a session with everything it left on the case.
type SessionDetail struct {
	Session
	Attendance     []Attendance    `json:"attendance"`
	IdentityChecks []IdentityCheck `json:"identity_checks"`
	Messages       []ChatMessage   `json:"messages"`
	Caucuses       []Caucus        `json:"caucuses"`
}

// NewSession is the input for scheduling or starting a session.
type NewSession struct {
	Title       string     `json:"title"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	Start       bool       `json:"start"`
}

// sessionStates are the case states in which sessions may be held.
var sessionStates = []State{StateInMediation, StateSigning}

// CreateSession schedules (or starts) a session; only an accepted mediator of a case in mediation may, and only
// once every party consented to online mediation (OMR Art. 4).
func (s *Store) CreateSession(ctx context.Context, p Principal, caseID string, n NewSession) (*Session, error) {
	f := map[string]string{}
	requireText(f, "title", n.Title, false, 200)
	if n.ScheduledAt != nil && n.ScheduledAt.Before(s.now().Add(-time.Hour)) {
		f["scheduled_at"] = "is in the past"
	}
	if err := Invalid(f); err != nil {
		return nil, err
	}
	var out *Session
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !slices.Contains(Relations(p, c), WhoMediator) {
			return Errorf(EFORBIDDEN, "sessions are run by a mediator who has accepted the case")
		}
		if !slices.Contains(sessionStates, c.State) {
			return Errorf(ECONFLICT, "the case is %s: sessions are held while it is in mediation", c.State)
		}
		var missing []string
		for _, party := range c.Parties {
			if !party.ConsentOnline {
				missing = append(missing, party.Name)
			}
		}
		if len(missing) > 0 {
			e := Errorf(EUNPROCESSABLE, "every party must consent to online mediation first (OMR Art. 4); no consent yet from: %s", joinNames(missing))
			e.Fields = map[string]string{"parties": "no consent yet from: " + joinNames(missing)}
			return e
		}
		now := s.now()
		out = &Session{CaseID: c.ID, Title: n.Title, Status: SessionScheduled, ScheduledAt: n.ScheduledAt, CreatedBy: p.ID, CreatedAt: now}
		if n.Start {
			out.Status, out.StartedAt = SessionLive, &now
		}
		if err := tx.QueryRow(ctx, `INSERT INTO mediation_sessions (case_id, title, status, scheduled_at, started_at, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.ID, out.Title, out.Status, out.ScheduledAt, out.StartedAt, p.ID, now).Scan(&out.ID); err != nil {
			return err
		}
		typ := "session.scheduled"
		if n.Start {
			typ = "session.started"
		}
		data := map[string]any{"session_id": out.ID, "title": out.Title}
		if out.ScheduledAt != nil {
			data["scheduled_at"] = out.ScheduledAt.UTC().Format(time.RFC3339)
		}
		_, err := s.appendEvent(ctx, tx, c.ID, p, typ, VisAll, data, now)
		return err
	})
	if err != nil {
		return nil, dbErr("create session", err)
	}
	return out, nil
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

const sessionCols = `id, case_id, title, status, scheduled_at, started_at, ended_at, COALESCE(created_by::text, ''), ended_by, created_at`

func scanSession(r pgx.Row) (*Session, error) {
	var ss Session
	err := r.Scan(&ss.ID, &ss.CaseID, &ss.Title, &ss.Status, &ss.ScheduledAt, &ss.StartedAt, &ss.EndedAt, &ss.CreatedBy, &ss.EndedBy, &ss.CreatedAt)
	return &ss, err
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id string) (*Session, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "session not found")
	}
	ss, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM mediation_sessions WHERE id = $1`, id))
	if err != nil {
		return nil, dbErr("session", err)
	}
	return ss, nil
}

// Sessions lists a case's sessions, newest first.
func (s *Store) Sessions(ctx context.Context, caseID string) ([]Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM mediation_sessions WHERE case_id = $1 ORDER BY created_at DESC`, caseID)
	if err != nil {
		return nil, dbErr("sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) {
		ss, err := scanSession(r)
		return *ss, err
	})
	return out, dbErr("sessions", err)
}

// LiveSession is a session under way, with what a desk shows of its case.
type LiveSession struct {
	Session
	CaseNumber string `json:"case_number"`
	CaseTitle  string `json:"case_title"`
	CaseState  State  `json:"case_state"`
	Present    int    `json:"present"` // participants in the room now
}

// LiveSessions lists the sessions under way in the cases p may see.
func (s *Store) LiveSessions(ctx context.Context, p Principal) ([]LiveSession, error) {
	vis, vargs := visibleClause(p, 1)
	rows, err := s.pool.Query(ctx, `SELECT `+prefixCols("m.", sessionCols)+`, c.number, c.title, c.state,
		(SELECT count(DISTINCT participant_id) FROM session_attendance a WHERE a.session_id = m.id AND a.left_at IS NULL)
		FROM mediation_sessions m JOIN cases c ON c.id = m.case_id
		WHERE m.status = 'live' AND `+vis+` ORDER BY m.started_at DESC LIMIT 200`, vargs...)
	if err != nil {
		return nil, dbErr("live sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LiveSession, error) {
		var ls LiveSession
		ss := &ls.Session
		err := r.Scan(&ss.ID, &ss.CaseID, &ss.Title, &ss.Status, &ss.ScheduledAt, &ss.StartedAt, &ss.EndedAt, &ss.CreatedBy, &ss.EndedBy, &ss.CreatedAt,
			&ls.CaseNumber, &ls.CaseTitle, &ls.CaseState, &ls.Present)
		return ls, err
	})
	return out, dbErr("live sessions", err)
}

func prefixCols(prefix, cols string) string {
	return prefix + `id, ` + prefix + `case_id, ` + prefix + `title, ` + prefix + `status, ` + prefix + `scheduled_at, ` + prefix + `started_at, ` +
		prefix + `ended_at, COALESCE(` + prefix + `created_by::text, ''), ` + prefix + `ended_by, ` + prefix + `created_at`
}

// StartSession turns a scheduled session live.
func (s *Store) StartSession(ctx context.Context, p Principal, id string) (*Session, error) {
	return s.sessionTransition(ctx, p, id, SessionScheduled, SessionLive, "session.started")
}

// EndSession ends a live session (by a mediator over HTTP, or by the room when the mediator ends it there).
func (s *Store) EndSession(ctx context.Context, p Principal, id string) (*Session, error) {
	return s.sessionTransition(ctx, p, id, SessionLive, SessionEnded, "session.ended")
}

func (s *Store) sessionTransition(ctx context.Context, p Principal, id, from, to, typ string) (*Session, error) {
	ss, err := s.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	err = s.withCase(ctx, p, ss.CaseID, "session", func(tx pgx.Tx, c *Case) error {
		if p.Kind != KindSystem && !slices.Contains(Relations(p, c), WhoMediator) {
			return Errorf(EFORBIDDEN, "sessions are run by a mediator who has accepted the case")
		}
		if to == SessionLive && !slices.Contains(sessionStates, c.State) {
			return Errorf(ECONFLICT, "the case is %s: sessions are held while it is in mediation", c.State)
		}
		now := s.now()
		q := `UPDATE mediation_sessions SET status = $3, started_at = $4 WHERE id = $1 AND status = $2`
		if to == SessionEnded {
			q = `UPDATE mediation_sessions SET status = $3, ended_at = $4, ended_by = $5 WHERE id = $1 AND status = $2`
		}
		args := []any{id, from, to, now}
		if to == SessionEnded {
			args = append(args, p.Name)
		}
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ECONFLICT, "the session is not %s", from)
		}
		if to == SessionEnded {
			if _, err := tx.Exec(ctx, `UPDATE session_attendance SET left_at = $2, left_reason = 'session ended' WHERE session_id = $1 AND left_at IS NULL`, id, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE session_caucuses SET closed_at = $2 WHERE session_id = $1 AND closed_at IS NULL`, id, now); err != nil {
				return err
			}
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, typ, VisAll, map[string]any{"session_id": id}, now)
		return err
	})
	if err != nil {
		return nil, dbErr("session", err)
	}
	return s.Session(ctx, id)
}

// SessionOpen reports whether a session is live; a join token for any other session is refused.
func (s *Store) SessionOpen(ctx context.Context, id string) (bool, error) {
	ss, err := s.Session(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return false, nil
		}
		return false, err
	}
	return ss.Status == SessionLive, nil
}

// RecordJoin notes that a participant entered a session's room.
func (s *Store) RecordJoin(ctx context.Context, sessionID string, a Attendance) error {
	mode := a.Mode
	switch mode {
	case "":
		mode = "video"
	case "video", "voice", "text":
	default:
		return Errorf(EINVALID, "attendance mode must be video, voice or text")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_attendance (session_id, participant_id, name, role, side, joined_at, mode) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sessionID, a.ParticipantID, a.Name, a.Role, a.Side, a.JoinedAt.UTC(), mode)
	return dbErr("record join", err)
}

// RecordLeave notes that a participant left a session's room (closing their open stay).
func (s *Store) RecordLeave(ctx context.Context, sessionID, participantID string, at time.Time, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE session_attendance SET left_at = $3, left_reason = $4
		WHERE id = (SELECT id FROM session_attendance WHERE session_id = $1 AND participant_id = $2 AND left_at IS NULL ORDER BY joined_at DESC LIMIT 1)`,
		sessionID, participantID, at.UTC(), reason)
	return dbErr("record leave", err)
}

// RecordIdentityCheck records on the case the identity check a mediator made before admitting a participant.
func (s *Store) RecordIdentityCheck(ctx context.Context, sessionID string, chk IdentityCheck) error {
	f := map[string]string{}
	if !slices.Contains(IdentityMethods, chk.Method) {
		f["method"] = "must be one of id_card_on_camera, face_match, sms_code, known_to_mediator, court_verified, other"
	}
	if chk.Result != "passed" && chk.Result != "failed" {
		f["result"] = "must be passed or failed"
	}
	requireText(f, "note", chk.Note, chk.Method == "other", 1000)
	if err := Invalid(f); err != nil {
		return err
	}
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, ss.CaseID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO identity_checks (case_id, session_id, participant_id, name, method, result, note, checked_by, checked_by_name, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, ss.CaseID, sessionID, chk.ParticipantID, chk.Name, chk.Method, chk.Result, chk.Note,
			chk.CheckedBy, chk.CheckedByName, chk.At.UTC()); err != nil {
			return err
		}
		actor := Principal{Kind: KindAccount, ID: chk.CheckedBy, Name: chk.CheckedByName}
		// The note may hold an ID number: it stays in identity_checks, where only the case's staff and the
		// participant read it (MayReadIdentityNote), not in the trail everyone reads.
		_, err := s.appendEvent(ctx, tx, ss.CaseID, actor, "session.identity_checked", VisAll, map[string]any{
			"session_id": sessionID, "participant_id": chk.ParticipantID, "name": chk.Name, "method": chk.Method, "result": chk.Result}, s.now())
		return err
	})
	return dbErr("record identity check", err)
}

// RecordMessage keeps a chat message with its session; a caucus message is tied to the caucus open under that ID
// now, so that it stays with that very caucus.
func (s *Store) RecordMessage(ctx context.Context, sessionID string, m ChatMessage) error {
	if m.Scope == "" {
		m.Scope = "joint"
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_messages (session_id, sender_id, sender_name, scope, body, at, caucus_ref)
		VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $4 = 'joint' THEN NULL ELSE
			(SELECT id FROM session_caucuses WHERE session_id = $1 AND caucus_id = $4 AND closed_at IS NULL ORDER BY opened_at DESC, id DESC LIMIT 1) END)`,
		sessionID, m.SenderID, m.SenderName, m.Scope, m.Body, m.At.UTC())
	return dbErr("record message", err)
}

// RecordCaucusOpened notes that a caucus opened. A caucus of the same ID still open (its room closed without
// closing it) is closed first: a new room numbers its caucuses afresh.
func (s *Store) RecordCaucusOpened(ctx context.Context, sessionID string, c Caucus) error {
	return dbErr("record caucus", s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE session_caucuses SET closed_at = $3 WHERE session_id = $1 AND caucus_id = $2 AND closed_at IS NULL`,
			sessionID, c.CaucusID, c.OpenedAt.UTC()); err != nil {
			return err
		}
		var ref int64
		if err := tx.QueryRow(ctx, `INSERT INTO session_caucuses (session_id, caucus_id, members, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			sessionID, c.CaucusID, c.Members, c.OpenedBy, c.OpenedAt.UTC()).Scan(&ref); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO session_caucus_presence (caucus_ref, participant_id, role, at) VALUES ($1, $2, 'mediator', $3) ON CONFLICT DO NOTHING`,
			ref, c.OpenedBy, c.OpenedAt.UTC())
		return err
	}))
}

// RecordCaucusEntered notes that a moderator moved into an open caucus: they become one of its readers.
func (s *Store) RecordCaucusEntered(ctx context.Context, sessionID, caucusID, participantID, role string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO session_caucus_presence (caucus_ref, participant_id, role, at)
		SELECT id, $3, $4, $5 FROM session_caucuses WHERE session_id = $1 AND caucus_id = $2 AND closed_at IS NULL
		ORDER BY opened_at DESC, id DESC LIMIT 1 ON CONFLICT DO NOTHING`, sessionID, caucusID, participantID, role, at.UTC())
	return dbErr("record caucus", err)
}

// RecordCaucusClosed notes that a caucus closed.
func (s *Store) RecordCaucusClosed(ctx context.Context, sessionID, caucusID string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE session_caucuses SET closed_at = $3 WHERE session_id = $1 AND caucus_id = $2 AND closed_at IS NULL`, sessionID, caucusID, at.UTC())
	return dbErr("record caucus", err)
}

// caucuses loads a session's caucuses with the mediators who were in them and their notes.
func caucuses(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sessionID string) ([]Caucus, error) {
	rows, err := q.Query(ctx, `SELECT k.id, k.caucus_id, k.members, k.opened_by, k.opened_at, k.closed_at,
		COALESCE((SELECT array_agg(participant_id ORDER BY at) FROM session_caucus_presence pr WHERE pr.caucus_ref = k.id AND pr.role = 'mediator'), '{}'),
		n.body, n.version, n.updated_by, n.updated_by_name, n.updated_at
		FROM session_caucuses k LEFT JOIN session_caucus_notes n ON n.caucus_ref = k.id
		WHERE k.session_id = $1 ORDER BY k.opened_at, k.id`, sessionID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Caucus, error) {
		var c Caucus
		var body, by, byName *string
		var version *int
		var at *time.Time
		err := r.Scan(&c.Ref, &c.CaucusID, &c.Members, &c.OpenedBy, &c.OpenedAt, &c.ClosedAt, &c.Mediators, &body, &version, &by, &byName, &at)
		if body != nil {
			c.Notes = &CaucusNotes{Body: *body, Version: *version, UpdatedBy: *by, UpdatedByName: *byName, UpdatedAt: *at}
		}
		return c, err
	})
}

// SessionDetail returns a session with its attendance, identity checks, caucuses and the messages p may read:
// the joint chat, the caucus messages moved into the shared record, and what was said in the caucuses p was a
// member of (MayReadCaucus) — nothing of any other caucus, whoever p is. Identity-check notes are blanked for
// readers other than the case's staff and the participant checked; a party sees only its own caucuses.
func (s *Store) SessionDetail(ctx context.Context, p Principal, id string) (*SessionDetail, error) {
	ss, err := s.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := s.Case(ctx, ss.CaseID)
	if err != nil || !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "session not found")
	}
	d := &SessionDetail{Session: *ss}
	rows, err := s.pool.Query(ctx, `SELECT participant_id, name, role, side, joined_at, left_at, left_reason, mode FROM session_attendance WHERE session_id = $1 ORDER BY joined_at, id`, id)
	if err != nil {
		return nil, dbErr("attendance", err)
	}
	if d.Attendance, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attendance, error) {
		var a Attendance
		err := r.Scan(&a.ParticipantID, &a.Name, &a.Role, &a.Side, &a.JoinedAt, &a.LeftAt, &a.LeftReason, &a.Mode)
		return a, err
	}); err != nil {
		return nil, dbErr("attendance", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT COALESCE(session_id::text, ''), participant_id, name, method, result, note, checked_by, checked_by_name, at
		FROM identity_checks WHERE session_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, dbErr("identity checks", err)
	}
	if d.IdentityChecks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (IdentityCheck, error) {
		var c IdentityCheck
		err := r.Scan(&c.SessionID, &c.ParticipantID, &c.Name, &c.Method, &c.Result, &c.Note, &c.CheckedBy, &c.CheckedByName, &c.At)
		return c, err
	}); err != nil {
		return nil, dbErr("identity checks", err)
	}
	for i := range d.IdentityChecks {
		if !MayReadIdentityNote(p, c, d.IdentityChecks[i].ParticipantID) {
			d.IdentityChecks[i].Note = ""
		}
	}
	all, err := caucuses(ctx, s.pool, id)
	if err != nil {
		return nil, dbErr("caucuses", err)
	}
	readable := map[int64]bool{}
	d.Caucuses = []Caucus{}
	for _, k := range all {
		k.Readable = MayReadCaucus(p, c, k)
		readable[k.Ref] = k.Readable
		if !k.Readable {
			k.Notes = nil
			if p.IsPartySide() {
				continue // a party does not learn of the other side's caucuses from the record
			}
		}
		d.Caucuses = append(d.Caucuses, k)
	}
	msgs, err := s.sessionMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	d.Messages = []ChatMessage{}
	for _, m := range msgs {
		switch {
		case m.Scope == "joint":
		case m.CaucusRef != 0 && readable[m.CaucusRef]:
		case m.Shared:
			m.Consents = nil
		default:
			continue
		}
		d.Messages = append(d.Messages, m)
	}
	return d, nil
}

// sessionMessages loads every message of a session with its consents (unfiltered: callers apply MayReadCaucus).
func (s *Store) sessionMessages(ctx context.Context, sessionID string) ([]ChatMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, sender_id, sender_name, scope, body, at, COALESCE(caucus_ref, 0), shared_at
		FROM session_messages WHERE session_id = $1 ORDER BY at, id`, sessionID)
	if err != nil {
		return nil, dbErr("messages", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChatMessage, error) {
		var m ChatMessage
		err := r.Scan(&m.ID, &m.SenderID, &m.SenderName, &m.Scope, &m.Body, &m.At, &m.CaucusRef, &m.SharedAt)
		m.Shared = m.SharedAt != nil
		return m, err
	})
	if err != nil {
		return nil, dbErr("messages", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT c.message_id, c.party_id::text, c.by_name, c.at FROM session_message_consents c
		JOIN session_messages m ON m.id = c.message_id WHERE m.session_id = $1 ORDER BY c.at`, sessionID)
	if err != nil {
		return nil, dbErr("messages", err)
	}
	byMsg := map[int64][]MessageConsent{}
	for rows.Next() {
		var mid int64
		var mc MessageConsent
		if err := rows.Scan(&mid, &mc.PartyID, &mc.ByName, &mc.At); err != nil {
			rows.Close()
			return nil, dbErr("messages", err)
		}
		byMsg[mid] = append(byMsg[mid], mc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("messages", err)
	}
	for i := range msgs {
		msgs[i].Consents = byMsg[msgs[i].ID]
	}
	return msgs, nil
}

// ShareCaucusMessage records p's consent, as a party (or its agent) that was in the message's caucus, to move one
// caucus message into the shared record. The consent is its own act on the trail; the message moves when every
// party that was in the caucus has consented (OMR Art. 18: caucus content stays out of the shared record unless
// that party agrees). Staff cannot consent for a party.
func (s *Store) ShareCaucusMessage(ctx context.Context, p Principal, sessionID string, messageID int64) (*ChatMessage, error) {
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	var out *ChatMessage
	err = s.withCase(ctx, p, ss.CaseID, "session", func(tx pgx.Tx, c *Case) error {
		if !p.IsPartySide() {
			return Errorf(EFORBIDDEN, "only a party that was in the caucus (or its agent) can agree to move its words into the shared record")
		}
		var m ChatMessage
		err := tx.QueryRow(ctx, `SELECT id, sender_id, sender_name, scope, body, at, COALESCE(caucus_ref, 0), shared_at FROM session_messages
			WHERE id = $1 AND session_id = $2 FOR UPDATE`, messageID, sessionID).Scan(&m.ID, &m.SenderID, &m.SenderName, &m.Scope, &m.Body, &m.At, &m.CaucusRef, &m.SharedAt)
		if err == pgx.ErrNoRows {
			return Errorf(ENOTFOUND, "message not found")
		}
		if err != nil {
			return err
		}
		ks, err := caucuses(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		var k *Caucus
		for i := range ks {
			if ks[i].Ref == m.CaucusRef {
				k = &ks[i]
			}
		}
		if k == nil || !MayReadCaucus(p, c, *k) {
			return Errorf(ENOTFOUND, "message not found")
		}
		if m.SharedAt != nil {
			return Errorf(ECONFLICT, "the message is already in the shared record")
		}
		now := s.now()
		tag, err := tx.Exec(ctx, `INSERT INTO session_message_consents (message_id, party_id, by_kind, by_id, by_name, at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, m.ID, p.PartyID, string(p.Kind), p.ID, p.Name, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ECONFLICT, "your side has already agreed to share this message")
		}
		var agreed []string
		rows, err := tx.Query(ctx, `SELECT party_id::text FROM session_message_consents WHERE message_id = $1`, m.ID)
		if err != nil {
			return err
		}
		if agreed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		waiting := []string{}
		for _, pid := range CaucusParties(c, *k) {
			if !slices.Contains(agreed, pid) {
				waiting = append(waiting, pid)
			}
		}
		data := map[string]any{"session_id": sessionID, "message_id": m.ID, "party_id": p.PartyID}
		if _, err := s.appendEvent(ctx, tx, c.ID, p, "session.caucus_share_consented", VisSide(p.Side), data, now); err != nil {
			return err
		}
		if len(waiting) == 0 {
			if _, err := tx.Exec(ctx, `UPDATE session_messages SET shared_at = $2 WHERE id = $1`, m.ID, now); err != nil {
				return err
			}
			m.SharedAt, m.Shared = &now, true
			if _, err := s.appendEvent(ctx, tx, c.ID, p, "session.caucus_message_shared", VisAll, map[string]any{
				"session_id": sessionID, "message_id": m.ID, "sender": m.SenderName, "said_at": m.At.UTC().Format(time.RFC3339), "text": m.Body}, now); err != nil {
				return err
			}
		}
		out = &m
		return nil
	})
	if err != nil {
		return nil, dbErr("share message", err)
	}
	return out, nil
}

// SaveCaucusNotes replaces the notes of a caucus; only a mediator who was in the caucus writes them, and the
// caller passes the version it edited (0 for the first save).
func (s *Store) SaveCaucusNotes(ctx context.Context, p Principal, sessionID string, ref int64, body string, version int) (*CaucusNotes, error) {
	f := map[string]string{}
	requireText(f, "body", body, false, 20000)
	if version < 0 {
		f["version"] = "must be 0 or more"
	}
	if err := Invalid(f); err != nil {
		return nil, err
	}
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	var out *CaucusNotes
	err = s.withCase(ctx, p, ss.CaseID, "session", func(tx pgx.Tx, c *Case) error {
		ks, err := caucuses(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		var k *Caucus
		for i := range ks {
			if ks[i].Ref == ref {
				k = &ks[i]
			}
		}
		if k == nil || !MayReadCaucus(p, c, *k) {
			return Errorf(ENOTFOUND, "caucus not found")
		}
		if p.Kind != KindAccount {
			return Errorf(EFORBIDDEN, "caucus notes are kept by the mediator who was in the caucus")
		}
		cur := 0
		if k.Notes != nil {
			cur = k.Notes.Version
		}
		if cur != version {
			return Errorf(ECONFLICT, "the notes were changed by someone else (version %d, you edited %d): reload them", cur, version)
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO session_caucus_notes (caucus_ref, body, version, updated_by, updated_by_name, updated_at) VALUES ($1, $2, 1, $3, $4, $5)
			ON CONFLICT (caucus_ref) DO UPDATE SET body = $2, version = session_caucus_notes.version + 1, updated_by = $3, updated_by_name = $4, updated_at = $5`,
			ref, body, p.ID, p.Name, now); err != nil {
			return err
		}
		out = &CaucusNotes{Body: body, Version: cur + 1, UpdatedBy: p.ID, UpdatedByName: p.Name, UpdatedAt: now}
		// The trail says that notes were written, never what they say.
		_, err = s.appendEvent(ctx, tx, c.ID, p, "session.caucus_notes_saved", VisStaff, map[string]any{"session_id": sessionID, "caucus_ref": ref, "version": cur + 1}, now)
		return err
	})
	if err != nil {
		return nil, dbErr("caucus notes", err)
	}
	return out, nil
}

// SessionRecord is the mediator's record of a session (调解笔录 content): facts, statements and confirmed facts.
type SessionRecord struct {
	SessionID      string            `json:"session_id"`
	Facts          string            `json:"facts"`
	Statements     []RecordStatement `json:"statements"`
	ConfirmedFacts []string          `json:"confirmed_facts"`
	Version        int               `json:"version"`
	UpdatedBy      string            `json:"updated_by,omitempty"`
	UpdatedAt      *time.Time        `json:"updated_at,omitempty"`
}

// RecordStatement is one participant's statement in the record.
type RecordStatement struct {
	Speaker string `json:"speaker"`
	Role    string `json:"role"`
	Text    string `json:"text"`
}

// Valid reports problems with the record, by field.
func (r SessionRecord) Valid() map[string]string {
	f := map[string]string{}
	requireText(f, "facts", r.Facts, false, 20000)
	if len(r.Statements) > 200 {
		f["statements"] = "at most 200 statements"
	}
	for i, st := range r.Statements {
		requireText(f, "statements["+itoa(i)+"].speaker", st.Speaker, true, 100)
		requireText(f, "statements["+itoa(i)+"].role", st.Role, false, 50)
		requireText(f, "statements["+itoa(i)+"].text", st.Text, true, 10000)
	}
	if len(r.ConfirmedFacts) > 100 {
		f["confirmed_facts"] = "at most 100 confirmed facts"
	}
	for i, cf := range r.ConfirmedFacts {
		requireText(f, "confirmed_facts["+itoa(i)+"]", cf, true, 2000)
	}
	return f
}

func itoa(i int) string { return strconv.Itoa(i) }

// Record returns a session's record (empty when nothing was written yet).
func (s *Store) Record(ctx context.Context, sessionID string) (*SessionRecord, error) {
	r := &SessionRecord{SessionID: sessionID, Statements: []RecordStatement{}, ConfirmedFacts: []string{}}
	var content []byte
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT content, version, updated_by, updated_at FROM session_records WHERE session_id = $1`, sessionID).Scan(&content, &r.Version, &r.UpdatedBy, &at)
	if err == pgx.ErrNoRows {
		return r, nil
	}
	if err != nil {
		return nil, dbErr("record", err)
	}
	if err := json.Unmarshal(content, r); err != nil {
		return nil, dbErr("record", err)
	}
	r.SessionID, r.UpdatedAt = sessionID, &at
	if r.Statements == nil {
		r.Statements = []RecordStatement{}
	}
	if r.ConfirmedFacts == nil {
		r.ConfirmedFacts = []string{}
	}
	return r, nil
}

// SaveRecord replaces a session's record. The caller passes the version it edited; a stale version is refused
// (ECONFLICT) so that two editors never overwrite each other silently.
func (s *Store) SaveRecord(ctx context.Context, p Principal, sessionID string, r SessionRecord) (*SessionRecord, error) {
	if err := Invalid(r.Valid()); err != nil {
		return nil, err
	}
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	err = s.withCase(ctx, p, ss.CaseID, "session", func(tx pgx.Tx, c *Case) error {
		if !slices.Contains(Relations(p, c), WhoMediator) {
			return Errorf(EFORBIDDEN, "the record is written by a mediator of the case")
		}
		content, err := json.Marshal(struct {
			Facts          string            `json:"facts"`
			Statements     []RecordStatement `json:"statements"`
			ConfirmedFacts []string          `json:"confirmed_facts"`
		}{r.Facts, r.Statements, r.ConfirmedFacts})
		if err != nil {
			return err
		}
		now := s.now()
		var version int
		err = tx.QueryRow(ctx, `SELECT version FROM session_records WHERE session_id = $1 FOR UPDATE`, sessionID).Scan(&version)
		switch {
		case err == pgx.ErrNoRows:
			if r.Version != 0 {
				return Errorf(ECONFLICT, "the record does not exist yet: save it with version 0")
			}
			_, err = tx.Exec(ctx, `INSERT INTO session_records (session_id, content, version, updated_by, updated_at) VALUES ($1, $2, 1, $3, $4)`, sessionID, content, p.Name, now)
		case err != nil:
			return err
		case version != r.Version:
			return Errorf(ECONFLICT, "the record was changed by someone else (version %d, you edited %d): reload it", version, r.Version)
		default:
			_, err = tx.Exec(ctx, `UPDATE session_records SET content = $2, version = version + 1, updated_by = $3, updated_at = $4 WHERE session_id = $1`, sessionID, content, p.Name, now)
		}
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, "session.record_saved", VisStaff, map[string]any{"session_id": sessionID, "version": r.Version + 1}, now)
		return err
	})
	if err != nil {
		return nil, dbErr("save record", err)
	}
	return s.Record(ctx, sessionID)
}
