package signaling

import (
	"context"
	"sync"
	"time"
)

// IdentityCheck is what a mediator records when admitting someone from the lobby
// (OMR Art. 17: identity is verified before a session starts).
type IdentityCheck struct {
	// Method is how identity was checked, e.g. "id_card_on_camera", "face_match",
	// "known_to_mediator", "court_verified".
	Method string `json:"method"`
	// Result is "passed" or "failed". Only "passed" admits.
	Result string `json:"result"`
	// Note is free text for the record.
	Note string `json:"note,omitempty"`
}

// Identity check results.
const (
	CheckPassed = "passed"
	CheckFailed = "failed"
)

// Recorder is what the signalling layer needs from the case system: the attendance log
// and the session's chat and caucus record. Its errors are logged; only Admitted is a
// precondition (an admission that cannot be recorded is refused).
type Recorder interface {
	// SessionOpen reports whether the session of the case exists and has not ended.
	SessionOpen(ctx context.Context, caseID, sessionID string) (bool, error)
	// Joined records that a participant entered the session (after admission for those
	// who wait in the lobby), with who.Mode (video, voice or text). A judge joining is a
	// Joined with Role judge.
	Joined(ctx context.Context, who Claims, at time.Time) error
	// Left records that a participant left: reason is "left", "removed",
	// "disconnected", "session_ended" or "shutdown".
	Left(ctx context.Context, who Claims, at time.Time, reason string) error
	// Admitted records an admission from the lobby with the identity check made.
	Admitted(ctx context.Context, who, by Claims, check IdentityCheck, at time.Time) error
	// Chat records a text message. scope is "joint" or the caucus ID, so caucus content
	// stays with its caucus.
	Chat(ctx context.Context, from Claims, scope, text string, at time.Time) error
	// Caucus records a caucus opening (open) or closing, with its members.
	Caucus(ctx context.Context, by Claims, caucusID string, open bool, members []string, at time.Time) error
	// SessionEnded records the end of the session by a moderator.
	SessionEnded(ctx context.Context, by Claims, at time.Time) error
}

// CaucusEntryRecorder is implemented by a Recorder that also keeps who moved into a caucus (caucus_move): a
// moderator who moves in hears what is said there and so becomes one of the caucus's readers.
type CaucusEntryRecorder interface {
	CaucusEntered(ctx context.Context, by Claims, caucusID string, at time.Time) error
}

// CaucusConsentRecorder is implemented by a Recorder that keeps the consents to a caucus's recording: by
// consented; recording is true when that consent completed everyone's and the caucus's recording starts.
type CaucusConsentRecorder interface {
	CaucusRecordConsent(ctx context.Context, by Claims, caucusID string, recording bool, at time.Time) error
}

// AdmissionRecord is implemented by Recorders that can tell whether someone was admitted to the session
// before and has not left it for good (removed, or left of their own accord): their seat was lost with a node
// restart that had no saved room state. Such a person enters again without the lobby, keeping the identity
// check already recorded. It returns nil when the person must wait in the lobby.
type AdmissionRecord interface {
	AdmittedBefore(ctx context.Context, caseID, sessionID, participantID string) (*IdentityCheck, error)
}

// Record is one entry of a MemRecorder.
type Record struct {
	Kind      string // joined, left, admitted, chat, caucus_open, caucus_close, session_ended
	CaseID    string
	SessionID string
	Who       string
	By        string
	Role      Role
	Check     IdentityCheck
	Scope     string
	Text      string
	Mode      string // joined: video, voice or text
	Reason    string
	Members   []string
	At        time.Time
}

// MemRecorder is an in-memory Recorder for tests and demos. Sessions are open unless
// ended (or closed with EndSession); Fail makes the next call of a kind fail.
type MemRecorder struct {
	mu      sync.Mutex
	records []Record
	ended   map[string]bool
	fail    map[string]error
	hold    map[string]chan struct{}
	entered map[string]chan struct{}
}

// NewMemRecorder returns an empty MemRecorder.
func NewMemRecorder() *MemRecorder {
	return &MemRecorder{ended: map[string]bool{}, fail: map[string]error{}, hold: map[string]chan struct{}{},
		entered: map[string]chan struct{}{}}
}

// Hold makes the next call of kind block until release is called (a slow database);
// entered is closed when that call has begun.
func (m *MemRecorder) Hold(kind string) (entered <-chan struct{}, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, e := make(chan struct{}), make(chan struct{})
	m.hold[kind], m.entered[kind] = h, e
	var once sync.Once
	return e, func() { once.Do(func() { close(h) }) }
}

func (m *MemRecorder) wait(kind string) {
	m.mu.Lock()
	h, e := m.hold[kind], m.entered[kind]
	delete(m.hold, kind)
	delete(m.entered, kind)
	m.mu.Unlock()
	if h != nil {
		close(e)
		<-h
	}
}

// Records returns a copy of everything recorded.
func (m *MemRecorder) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}

// Fail makes calls of kind ("admitted", "joined", …) return err until cleared with nil.
func (m *MemRecorder) Fail(kind string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail[kind] = err
}

// EndSession marks a session ended without a moderator (as the case API would).
func (m *MemRecorder) EndSession(caseID, sessionID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended[caseID+"/"+sessionID] = true
}

func (m *MemRecorder) add(r Record) error {
	m.wait(r.Kind)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail[r.Kind]; err != nil {
		return err
	}
	m.records = append(m.records, r)
	if r.Kind == "session_ended" {
		m.ended[r.CaseID+"/"+r.SessionID] = true
	}
	return nil
}

// SessionOpen implements Recorder.
func (m *MemRecorder) SessionOpen(_ context.Context, caseID, sessionID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail["session_open"]; err != nil {
		return false, err
	}
	return !m.ended[caseID+"/"+sessionID], nil
}

// Joined implements Recorder.
func (m *MemRecorder) Joined(_ context.Context, who Claims, at time.Time) error {
	return m.add(Record{Kind: "joined", CaseID: who.CaseID, SessionID: who.SessionID, Who: who.ParticipantID, Role: who.Role, Mode: who.Mode, At: at})
}

// Left implements Recorder.
func (m *MemRecorder) Left(_ context.Context, who Claims, at time.Time, reason string) error {
	return m.add(Record{Kind: "left", CaseID: who.CaseID, SessionID: who.SessionID, Who: who.ParticipantID, Role: who.Role, Reason: reason, At: at})
}

// Admitted implements Recorder.
func (m *MemRecorder) Admitted(_ context.Context, who, by Claims, check IdentityCheck, at time.Time) error {
	return m.add(Record{Kind: "admitted", CaseID: who.CaseID, SessionID: who.SessionID, Who: who.ParticipantID, By: by.ParticipantID, Role: who.Role, Check: check, At: at})
}

// Chat implements Recorder.
func (m *MemRecorder) Chat(_ context.Context, from Claims, scope, text string, at time.Time) error {
	return m.add(Record{Kind: "chat", CaseID: from.CaseID, SessionID: from.SessionID, Who: from.ParticipantID, Scope: scope, Text: text, At: at})
}

// Caucus implements Recorder.
func (m *MemRecorder) Caucus(_ context.Context, by Claims, caucusID string, open bool, members []string, at time.Time) error {
	kind := "caucus_close"
	if open {
		kind = "caucus_open"
	}
	return m.add(Record{Kind: kind, CaseID: by.CaseID, SessionID: by.SessionID, By: by.ParticipantID, Scope: caucusID, Members: append([]string(nil), members...), At: at})
}

// CaucusRecordConsent implements CaucusConsentRecorder (Kind "caucus_record_consent", Text "recording" when
// the caucus's recording started).
func (m *MemRecorder) CaucusRecordConsent(_ context.Context, by Claims, caucusID string, recording bool, at time.Time) error {
	r := Record{Kind: "caucus_record_consent", CaseID: by.CaseID, SessionID: by.SessionID, By: by.ParticipantID, Scope: caucusID, At: at}
	if recording {
		r.Text = "recording"
	}
	return m.add(r)
}

// SessionEnded implements Recorder.
func (m *MemRecorder) SessionEnded(_ context.Context, by Claims, at time.Time) error {
	return m.add(Record{Kind: "session_ended", CaseID: by.CaseID, SessionID: by.SessionID, By: by.ParticipantID, At: at})
}
