package cases

import (
	"context"
	"strconv"

	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Recording is one recorded track of a session's joint room (issue 14). The bytes are in the blob store under
// BlobRef; SHA256 and Duration are also in the case's hash chain (the event EventSeq), which is what a later
// check of the file trusts.
type Recording struct {
	ID            string     `json:"id"`
	SessionID     string     `json:"session_id"`
	CaseID        string     `json:"case_id"`
	TrackID       string     `json:"track_id"`
	ParticipantID string     `json:"participant_id"`
	Kind          string     `json:"kind"`
	Codec         string     `json:"codec"`
	Container     string     `json:"container"`
	BlobRef       string     `json:"-"`
	Size          int64      `json:"size"`
	SHA256        string     `json:"sha256"`
	StartedAt     time.Time  `json:"started_at"`
	OffsetMS      int64      `json:"offset_ms"`
	DurationMS    int64      `json:"duration_ms"`
	Frames        int64      `json:"frames"`
	Dropped       int64      `json:"dropped"`
	EventSeq      int64      `json:"event_seq"`
	DeletedAt     *time.Time `json:"deleted_at,omitempty"`
	// CaucusID is set on a caucus's separate recording (recorded with every member's consent): CaucusRef is
	// its row in session_caucuses, and only its readers (MayReadCaucus) see it or open it.
	CaucusID  string `json:"caucus_id,omitempty"`
	CaucusRef *int64 `json:"caucus_ref,omitempty"`
}

// VisCaucus is the visibility of a trail event about a caucus's recording: only the readers of the caucus of
// that session_caucuses row see it (EventsFor).
func VisCaucus(ref int64) string { return "caucus:" + strconv.FormatInt(ref, 10) }

// openCaucusRef finds the row of the open caucus caucusID of a session (the latest of that ID).
func openCaucusRef(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sessionID, caucusID string) (int64, error) {
	var ref int64
	err := q.QueryRow(ctx, `SELECT id FROM session_caucuses WHERE session_id = $1 AND caucus_id = $2
		ORDER BY (closed_at IS NULL) DESC, opened_at DESC, id DESC LIMIT 1`, sessionID, caucusID).Scan(&ref)
	if err == pgx.ErrNoRows {
		return 0, Errorf(ENOTFOUND, "no caucus %q in the session", caucusID)
	}
	return ref, err
}

// caucusOfRef loads one caucus (with its mediators) by its session_caucuses row.
func (s *Store) caucusOfRef(ctx context.Context, sessionID string, ref int64) (*Caucus, error) {
	ks, err := caucuses(ctx, s.pool, sessionID)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if k.Ref == ref {
			return &k, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "caucus not found")
}

// RecordCaucusConsent puts a participant's consent to a caucus's recording into the trail, visible to the
// caucus's readers only; recording says that it completed everyone's consent and the recording started.
func (s *Store) RecordCaucusConsent(ctx context.Context, sessionID, caucusID, participantID string, recording bool, at time.Time) error {
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return err
	}
	ref, err := openCaucusRef(ctx, s.pool, sessionID, caucusID)
	if err != nil {
		return dbErr("caucus consent", err)
	}
	typ := "recording.caucus_consent"
	if recording {
		typ = "recording.caucus_started"
	}
	_, err = s.RecordEvent(ctx, ss.CaseID, System, typ, VisCaucus(ref), map[string]any{"session_id": sessionID, "caucus_id": caucusID,
		"caucus_ref": ref, "participant_id": participantID, "at": at.UTC().Format(time.RFC3339Nano)})
	return err
}

// RecordingSettings are an organisation's recording settings.
type RecordingSettings struct {
	// RecordSessions: the sessions of the organisation's cases are recorded unless the mediator says otherwise
	// before a session starts.
	RecordSessions bool `json:"record_sessions"`
	// PartiesViewRecordings: the parties (and their agents) may watch their own case's joint recording.
	PartiesViewRecordings bool `json:"parties_view_recordings"`
}

// SessionRecordingChoice is the mediator's choice for one session, made before it starts.
type SessionRecordingChoice struct {
	Record bool `json:"record"`
}

// MayViewRecording is the rule for watching a case's joint recording: the case's mediators, the judges of its
// court, and its parties and agents when the organisation allows it. Nobody else — not clerks, organisation
// admins, other mediators or the platform admin.
func MayViewRecording(p Principal, c *Case, partiesMayView bool) bool {
	if p.IsPartySide() {
		return partiesMayView && p.CaseID == c.ID
	}
	rel := Relations(p, c)
	return slices.Contains(rel, WhoMediator) || slices.Contains(rel, WhoJudge)
}

// OrgRecordingSettings returns an organisation's settings (all off for an unknown or empty ID).
func (s *Store) OrgRecordingSettings(ctx context.Context, orgID string) (RecordingSettings, error) {
	var rs RecordingSettings
	if !isUUID(orgID) {
		return rs, nil
	}
	err := s.pool.QueryRow(ctx, `SELECT record_sessions, parties_view_recordings FROM organisations WHERE id = $1`, orgID).
		Scan(&rs.RecordSessions, &rs.PartiesViewRecordings)
	if err == pgx.ErrNoRows {
		return RecordingSettings{}, nil
	}
	return rs, dbErr("recording settings", err)
}

// SetOrgRecordingSettings changes a mediation organisation's settings: its own admin or the platform admin.
func (s *Store) SetOrgRecordingSettings(ctx context.Context, p Principal, orgID string, rs RecordingSettings) (RecordingSettings, error) {
	if !isUUID(orgID) {
		return rs, Errorf(ENOTFOUND, "organisation not found")
	}
	if !p.IsStaff(RoleAdmin) && !(p.IsStaff(RoleOrgAdmin) && p.OrgID == orgID) {
		return rs, Errorf(EFORBIDDEN, "only the organisation's admin sets its recording settings")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE organisations SET record_sessions = $2, parties_view_recordings = $3
		WHERE id = $1 AND kind = 'mediation_org'`, orgID, rs.RecordSessions, rs.PartiesViewRecordings)
	if err != nil {
		return rs, dbErr("recording settings", err)
	}
	if tag.RowsAffected() == 0 {
		return rs, Errorf(ENOTFOUND, "organisation not found")
	}
	return rs, nil
}

// SetSessionRecording records the mediator's choice for a session that has not started yet; the choice is an
// event in the trail.
func (s *Store) SetSessionRecording(ctx context.Context, p Principal, sessionID string, record bool) (*Session, error) {
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	err = s.withCase(ctx, p, ss.CaseID, "session", func(tx pgx.Tx, c *Case) error {
		if !slices.Contains(Relations(p, c), WhoMediator) {
			return Errorf(EFORBIDDEN, "sessions are run by a mediator who has accepted the case")
		}
		tag, err := tx.Exec(ctx, `UPDATE mediation_sessions SET record = $2 WHERE id = $1 AND status = 'scheduled'`, sessionID, record)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ECONFLICT, "recording is chosen before the session starts")
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, "recording.setting", VisAll, map[string]any{"session_id": sessionID, "record": record}, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("session recording", err)
	}
	return s.Session(ctx, sessionID)
}

// SessionRecorded reports whether a session is recorded: the mediator's choice for it, else the setting of the
// case's organisation (off when the case has none), and the organisation's playback setting for parties.
func (s *Store) SessionRecorded(ctx context.Context, sessionID string) (recorded, partiesView bool, err error) {
	if !isUUID(sessionID) {
		return false, false, Errorf(ENOTFOUND, "session not found")
	}
	err = s.pool.QueryRow(ctx, `SELECT COALESCE(m.record, o.record_sessions, false), COALESCE(o.parties_view_recordings, false)
		FROM mediation_sessions m JOIN cases c ON c.id = m.case_id LEFT JOIN organisations o ON o.id = c.organisation_id
		WHERE m.id = $1`, sessionID).Scan(&recorded, &partiesView)
	if err == pgx.ErrNoRows {
		return false, false, Errorf(ENOTFOUND, "session not found")
	}
	return recorded, partiesView, dbErr("session recorded", err)
}

// RecordSessionEvent appends a recording event (recording.started, recording.refused, recording.stopped) of a
// session to its case's trail, as Parley's own action.
func (s *Store) RecordSessionEvent(ctx context.Context, sessionID, typ string, data map[string]any) error {
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["session_id"] = sessionID
	_, err = s.RecordEvent(ctx, ss.CaseID, System, typ, VisAll, data)
	return err
}

// AddRecording stores a finished file's description and puts its SHA-256, size and duration into the case's
// hash chain (event recording.file), in one transaction.
func (s *Store) AddRecording(ctx context.Context, r Recording) (*Recording, error) {
	ss, err := s.Session(ctx, r.SessionID)
	if err != nil {
		return nil, err
	}
	r.CaseID = ss.CaseID
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, r.CaseID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT gen_random_uuid()::text`).Scan(&r.ID); err != nil {
			return err
		}
		data := map[string]any{
			"recording_id": r.ID, "session_id": r.SessionID, "track_id": r.TrackID, "participant_id": r.ParticipantID,
			"kind": r.Kind, "codec": r.Codec, "container": r.Container, "sha256": r.SHA256, "size": r.Size,
			"duration_ms": r.DurationMS, "offset_ms": r.OffsetMS, "started_at": r.StartedAt.UTC().Format(time.RFC3339Nano),
		}
		vis := VisAll
		if r.CaucusID != "" { // a caucus's own recording: as confidential as the caucus
			ref, err := openCaucusRef(ctx, tx, r.SessionID, r.CaucusID)
			if err != nil {
				return err
			}
			r.CaucusRef, vis = &ref, VisCaucus(ref)
			data["caucus_id"], data["caucus_ref"] = r.CaucusID, ref
		}
		ev, err := s.appendEvent(ctx, tx, r.CaseID, System, "recording.file", vis, data, s.now())
		if err != nil {
			return err
		}
		r.EventSeq = ev.Seq
		_, err = tx.Exec(ctx, `INSERT INTO session_recordings (id, session_id, case_id, track_id, participant_id, kind, codec, container,
			blob_ref, size, sha256, started_at, offset_ms, duration_ms, frames, dropped, event_seq, caucus_ref)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			r.ID, r.SessionID, r.CaseID, r.TrackID, r.ParticipantID, r.Kind, r.Codec, r.Container, r.BlobRef, r.Size, r.SHA256,
			r.StartedAt, r.OffsetMS, r.DurationMS, r.Frames, r.Dropped, r.EventSeq, r.CaucusRef)
		return err
	})
	if err != nil {
		return nil, dbErr("add recording", err)
	}
	return &r, nil
}

const recordingCols = `id, session_id, case_id, track_id, participant_id, kind, codec, container, blob_ref, size, sha256,
	started_at, offset_ms, duration_ms, frames, dropped, event_seq, deleted_at, caucus_ref,
	COALESCE((SELECT k.caucus_id FROM session_caucuses k WHERE k.id = caucus_ref), '')`

func scanRecording(r pgx.Row) (Recording, error) {
	var x Recording
	err := r.Scan(&x.ID, &x.SessionID, &x.CaseID, &x.TrackID, &x.ParticipantID, &x.Kind, &x.Codec, &x.Container, &x.BlobRef,
		&x.Size, &x.SHA256, &x.StartedAt, &x.OffsetMS, &x.DurationMS, &x.Frames, &x.Dropped, &x.EventSeq, &x.DeletedAt,
		&x.CaucusRef, &x.CaucusID)
	return x, err
}

// mayOpenCaucusRecording reports whether p is one of the readers of the caucus whose recording r is.
func (s *Store) mayOpenCaucusRecording(ctx context.Context, p Principal, c *Case, r Recording) (bool, error) {
	k, err := s.caucusOfRef(ctx, r.SessionID, *r.CaucusRef)
	if err != nil {
		return false, err
	}
	return MayReadCaucus(p, c, *k), nil
}

// viewRecordings loads the case of a session and checks that p may watch its recordings: a case p may not see
// is not found; a case p sees but whose recordings it may not watch is forbidden.
func (s *Store) viewRecordings(ctx context.Context, p Principal, caseID string) error {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return err
	}
	if !CanView(p, c) {
		return Errorf(ENOTFOUND, "recording not found")
	}
	rs, err := s.OrgRecordingSettings(ctx, c.OrganisationID)
	if err != nil {
		return err
	}
	if !MayViewRecording(p, c, rs.PartiesViewRecordings) {
		return Errorf(EFORBIDDEN, "the recordings of this case are for its mediators and the court's judges")
	}
	return nil
}

// SessionRecordings lists the recordings of a session for p.
func (s *Store) SessionRecordings(ctx context.Context, p Principal, sessionID string) ([]Recording, error) {
	ss, err := s.Session(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	joint := s.viewRecordings(ctx, p, ss.CaseID)
	if joint != nil && ErrorCode(joint) != EFORBIDDEN {
		return nil, joint
	}
	rows, err := s.pool.Query(ctx, `SELECT `+recordingCols+` FROM session_recordings WHERE session_id = $1 ORDER BY started_at, track_id`, sessionID)
	if err != nil {
		return nil, dbErr("recordings", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recording, error) { return scanRecording(r) })
	if err != nil {
		return nil, dbErr("recordings", err)
	}
	// The joint room's recordings for those who may watch them; a caucus's for its readers only (a party of
	// the caucus reads its own caucus whatever the organisation's setting for the joint recording).
	var c *Case
	out := []Recording{}
	for _, r := range all {
		if r.CaucusRef == nil {
			if joint == nil {
				out = append(out, r)
			}
			continue
		}
		if c == nil {
			if c, err = s.Case(ctx, ss.CaseID); err != nil {
				return nil, err
			}
		}
		ok, err := s.mayOpenCaucusRecording(ctx, p, c, r)
		if err != nil {
			return nil, dbErr("recordings", err)
		}
		if ok {
			out = append(out, r)
		}
	}
	if joint != nil && len(out) == 0 {
		return nil, joint
	}
	return out, nil
}

// ParticipantName returns the name a participant of a session had in its attendance ("" if none).
func (s *Store) ParticipantName(ctx context.Context, sessionID, participantID string) (string, error) {
	if !isUUID(sessionID) {
		return "", nil
	}
	var name string
	err := s.pool.QueryRow(ctx, `SELECT name FROM session_attendance WHERE session_id = $1 AND participant_id = $2 ORDER BY joined_at DESC LIMIT 1`,
		sessionID, participantID).Scan(&name)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return name, dbErr("participant name", err)
}

// RecordingsOfSession lists a session's recordings, deleted ones included, for documents made by the case's
// staff (the session record lists every file with its hash); no access check.
func (s *Store) RecordingsOfSession(ctx context.Context, sessionID string) ([]Recording, error) {
	if !isUUID(sessionID) {
		return nil, Errorf(ENOTFOUND, "session not found")
	}
	// Not the caucuses' own recordings: the session record goes to both sides.
	rows, err := s.pool.Query(ctx, `SELECT `+recordingCols+` FROM session_recordings WHERE session_id = $1 AND caucus_ref IS NULL ORDER BY started_at, track_id`, sessionID)
	if err != nil {
		return nil, dbErr("recordings", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recording, error) { return scanRecording(r) })
	return out, dbErr("recordings", err)
}

// RecordingFor returns one recording if p may watch it (checked on every request).
func (s *Store) RecordingFor(ctx context.Context, p Principal, id string) (*Recording, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "recording not found")
	}
	r, err := scanRecording(s.pool.QueryRow(ctx, `SELECT `+recordingCols+` FROM session_recordings WHERE id = $1`, id))
	if err == pgx.ErrNoRows {
		return nil, Errorf(ENOTFOUND, "recording not found")
	}
	if err != nil {
		return nil, dbErr("recording", err)
	}
	if r.CaucusRef != nil {
		// A caucus's own recording: its readers only; to anyone else it does not exist.
		c, err := s.Case(ctx, r.CaseID)
		if err != nil {
			return nil, err
		}
		ok, err := s.mayOpenCaucusRecording(ctx, p, c, r)
		if err != nil {
			return nil, dbErr("recording", err)
		}
		if !ok {
			return nil, Errorf(ENOTFOUND, "recording not found")
		}
	} else if err := s.viewRecordings(ctx, p, r.CaseID); err != nil {
		return nil, err
	}
	if r.DeletedAt != nil {
		return nil, Errorf(ENOTFOUND, "the recording was deleted after its retention period (its hash stays in the trail)")
	}
	return &r, nil
}

// RecordingViewed puts a viewing of a recording into the trail.
func (s *Store) RecordingViewed(ctx context.Context, p Principal, r *Recording) error {
	vis := VisAll
	if r.CaucusRef != nil {
		vis = VisCaucus(*r.CaucusRef)
	}
	_, err := s.RecordEvent(ctx, r.CaseID, p, "recording.viewed", vis, map[string]any{"recording_id": r.ID, "session_id": r.SessionID})
	return err
}

// RecordingHash is what the trail says of one recorded file, for checking the stored bytes against it.
type RecordingHash struct {
	ID       string
	BlobRef  string
	SHA256   string // from the hash-chained event, not from the recordings table
	Size     int64
	EventSeq int64
	Deleted  bool
}

// RecordingHashes returns a case's recordings with the hash and size their trail event holds. Verify the chain
// first (VerifyChain): then these values are what was written when each file was stored.
func (s *Store) RecordingHashes(ctx context.Context, caseID string) ([]RecordingHash, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.blob_ref, COALESCE(e.data->>'sha256', ''), COALESCE((e.data->>'size')::bigint, -1), r.event_seq, r.deleted_at IS NOT NULL
		FROM session_recordings r LEFT JOIN case_events e ON e.case_id = r.case_id AND e.seq = r.event_seq AND e.type = 'recording.file'
		WHERE r.case_id = $1 ORDER BY r.event_seq`, caseID)
	if err != nil {
		return nil, dbErr("recording hashes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RecordingHash, error) {
		var h RecordingHash
		err := r.Scan(&h.ID, &h.BlobRef, &h.SHA256, &h.Size, &h.EventSeq, &h.Deleted)
		return h, err
	})
	if err != nil {
		return nil, dbErr("recording hashes", err)
	}
	return out, nil
}

// MarkRecordingDeleted notes that a recording's bytes were deleted after retention; the row and its trail event
// (with the hash) stay, and the deletion is an event too.
func (s *Store) MarkRecordingDeleted(ctx context.Context, id, reason string) error {
	if !isUUID(id) {
		return Errorf(ENOTFOUND, "recording not found")
	}
	var caseID, sessionID string
	if err := s.pool.QueryRow(ctx, `SELECT case_id, session_id FROM session_recordings WHERE id = $1`, id).Scan(&caseID, &sessionID); err != nil {
		return dbErr("delete recording", err)
	}
	return dbErr("delete recording", s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE session_recordings SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, id, s.now())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = s.appendEvent(ctx, tx, caseID, System, "recording.deleted", VisAll, map[string]any{"recording_id": id, "session_id": sessionID, "reason": reason}, s.now())
		return err
	}))
}

// ExpiredRecordings lists recordings stored before cutoff whose bytes have not been deleted yet (retention).
func (s *Store) ExpiredRecordings(ctx context.Context, cutoff time.Time, limit int) ([]Recording, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordingCols+` FROM session_recordings WHERE deleted_at IS NULL AND created_at < $1
		ORDER BY created_at LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, dbErr("expired recordings", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recording, error) { return scanRecording(r) })
	return out, dbErr("expired recordings", err)
}
