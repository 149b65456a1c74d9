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

// ChatMessage is a text message in a session; Scope is "joint" or a caucus ID.
type ChatMessage struct {
	SenderID   string    `json:"sender_id"`
	SenderName string    `json:"sender_name"`
	Scope      string    `json:"scope"`
	Body       string    `json:"body"`
	At         time.Time `json:"at"`
}

// Caucus is a private session (背对背) held inside a session.
type Caucus struct {
	CaucusID string     `json:"caucus_id"`
	Members  []string   `json:"members"`
	OpenedBy string     `json:"opened_by"`
	OpenedAt time.Time  `json:"opened_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
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
			return &Error{Code: EUNPROCESSABLE, Message: "every party must consent to online mediation first (OMR Art. 4)", Fields: map[string]string{"parties": "no consent yet from: " + joinNames(missing)}}
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
		_, err := s.appendEvent(ctx, tx, ss.CaseID, actor, "session.identity_checked", VisAll, map[string]any{
			"session_id": sessionID, "participant_id": chk.ParticipantID, "name": chk.Name, "method": chk.Method, "result": chk.Result, "note": chk.Note}, s.now())
		return err
	})
	return dbErr("record identity check", err)
}

// RecordMessage keeps a chat message with its session.
func (s *Store) RecordMessage(ctx context.Context, sessionID string, m ChatMessage) error {
	if m.Scope == "" {
		m.Scope = "joint"
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_messages (session_id, sender_id, sender_name, scope, body, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		sessionID, m.SenderID, m.SenderName, m.Scope, m.Body, m.At.UTC())
	return dbErr("record message", err)
}

// RecordCaucusOpened notes that a caucus opened.
func (s *Store) RecordCaucusOpened(ctx context.Context, sessionID string, c Caucus) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO session_caucuses (session_id, caucus_id, members, opened_by, opened_at) VALUES ($1, $2, $3, $4, $5)`,
		sessionID, c.CaucusID, c.Members, c.OpenedBy, c.OpenedAt.UTC())
	return dbErr("record caucus", err)
}

// RecordCaucusClosed notes that a caucus closed.
func (s *Store) RecordCaucusClosed(ctx context.Context, sessionID, caucusID string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE session_caucuses SET closed_at = $3 WHERE session_id = $1 AND caucus_id = $2 AND closed_at IS NULL`, sessionID, caucusID, at.UTC())
	return dbErr("record caucus", err)
}

// SessionDetail returns a session with its attendance, identity checks, caucuses and the messages p may read:
// a party or agent sees the joint chat and the caucuses it was in, never the other side's caucus.
func (s *Store) SessionDetail(ctx context.Context, p Principal, id string) (*SessionDetail, error) {
	ss, err := s.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.CaseFor(ctx, p, ss.CaseID); err != nil {
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
	rows, err = s.pool.Query(ctx, `SELECT caucus_id, members, opened_by, opened_at, closed_at FROM session_caucuses WHERE session_id = $1 ORDER BY opened_at, id`, id)
	if err != nil {
		return nil, dbErr("caucuses", err)
	}
	if d.Caucuses, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Caucus, error) {
		var c Caucus
		err := r.Scan(&c.CaucusID, &c.Members, &c.OpenedBy, &c.OpenedAt, &c.ClosedAt)
		return c, err
	}); err != nil {
		return nil, dbErr("caucuses", err)
	}
	mine := map[string]bool{"joint": true}
	for _, c := range d.Caucuses {
		if !p.IsPartySide() || slices.Contains(c.Members, p.ID) || slices.Contains(c.Members, p.PartyID) {
			mine[c.CaucusID] = true
		}
	}
	rows, err = s.pool.Query(ctx, `SELECT sender_id, sender_name, scope, body, at FROM session_messages WHERE session_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, dbErr("messages", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChatMessage, error) {
		var m ChatMessage
		err := r.Scan(&m.SenderID, &m.SenderName, &m.Scope, &m.Body, &m.At)
		return m, err
	})
	if err != nil {
		return nil, dbErr("messages", err)
	}
	d.Messages = []ChatMessage{}
	for _, m := range msgs {
		if mine[m.Scope] {
			d.Messages = append(d.Messages, m)
		}
	}
	if p.IsPartySide() {
		var own []Caucus
		for _, c := range d.Caucuses {
			if mine[c.CaucusID] {
				own = append(own, c)
			}
		}
		d.Caucuses = own
	}
	if d.Caucuses == nil {
		d.Caucuses = []Caucus{}
	}
	return d, nil
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
