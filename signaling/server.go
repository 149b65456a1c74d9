package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Key is a secret byte string that logs as redacted.
type Key []byte

// LogValue redacts the key in structured logs.
func (Key) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// TokenKey verifies join tokens (HMAC-SHA256, at least 32 bytes).
	TokenKey Key
	// NodeID names this server for Placement (default "local").
	NodeID string
	// Placement decides which node hosts a session (default: in-process). When it also
	// implements NodeDirectory, wrong_node errors carry the host's URL; when it
	// implements Mover, Drain hands rooms to other nodes.
	Placement Placement
	// RoomState, when set, keeps each room's seats, admissions and caucuses so that
	// another node (or this one after a restart) can rebuild the room.
	RoomState RoomState
	// SessionCheckInterval is how often each hosted room asks the Recorder whether its
	// session is still open, so that a session ended elsewhere (the case API, another
	// node) closes its room (default 5 s).
	SessionCheckInterval time.Duration
	// ObserveMediaConnected, when set, receives the time from joined to the
	// participant's subscriber transport connecting (for metrics).
	ObserveMediaConnected func(time.Duration)
	// MaxMessageBytes is the largest client message answered normally (default 64 KiB);
	// up to 4× that the message is refused with too_large, beyond it the socket closes.
	MaxMessageBytes int
	// MessageRate and MessageBurst limit client messages per connection (token bucket,
	// default 20/s, burst 60).
	MessageRate  float64
	MessageBurst int
	// HeartbeatInterval is the period of server pings (default 10 s); a connection
	// silent for three intervals is dropped (and its seat enters the reconnect grace).
	HeartbeatInterval time.Duration
	// ReconnectGrace is how long a dropped participant's seat is kept (default 30 s).
	ReconnectGrace time.Duration
	// JoinTimeout is how long a new connection may take to send join (default 10 s).
	JoinTimeout time.Duration
	// ICEServerTTL is the validity of TURN credentials sent in joined (default 12 h).
	ICEServerTTL time.Duration
	// AllowedOrigins lists the Origin values browsers may connect from ("*" for any).
	// Empty means same host only. Requests without Origin (native clients) are allowed.
	AllowedOrigins []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultConfig returns the defaults (the token key must still be set).
func DefaultConfig() Config {
	return Config{
		NodeID:            "local",
		MaxMessageBytes:   64 << 10,
		MessageRate:       20,
		MessageBurst:      60,
		HeartbeatInterval: 10 * time.Second,
		ReconnectGrace:    30 * time.Second,
		JoinTimeout:       10 * time.Second,
		ICEServerTTL:      12 * time.Hour,

		SessionCheckInterval: 5 * time.Second,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.NodeID == "" {
		c.NodeID = d.NodeID
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = d.MaxMessageBytes
	}
	if c.MessageRate <= 0 {
		c.MessageRate = d.MessageRate
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = d.MessageBurst
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.ReconnectGrace <= 0 {
		c.ReconnectGrace = d.ReconnectGrace
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = d.JoinTimeout
	}
	if c.ICEServerTTL <= 0 {
		c.ICEServerTTL = d.ICEServerTTL
	}
	if c.SessionCheckInterval <= 0 {
		c.SessionCheckInterval = d.SessionCheckInterval
	}
	if c.Placement == nil {
		c.Placement = NewLocalPlacement()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is the signalling server: it authenticates joins, runs the session rooms
// (lobby, moderation, caucus, chat) and drives the SFU. It does not listen: mount
// Handler() on a mux, or call Accept with an upgraded connection.
type Server struct {
	cfg      Config
	media    Media
	rec      Recorder
	log      *slog.Logger
	upgrader websocket.Upgrader
	metrics  counters

	mu       sync.Mutex
	rooms    map[string]*room
	opening  map[string]*opening // rooms being claimed and built, outside mu
	resumes  map[string]resumeRef
	closed   bool
	draining bool
	wg       sync.WaitGroup
	stop     chan struct{}
	bgDone   chan struct{}
	evicted  evictions // participants whose seat was revoked (evict.go)
}

// opening is a room being placed: others asking for the same session wait for it.
type opening struct {
	done chan struct{}
	room *room
	err  *Error
}

type resumeRef struct {
	sessionID     string
	participantID string
}

// NewServer returns a Server using media for the media plane and rec for the case
// record. Close stops it.
func NewServer(cfg Config, media Media, rec Recorder, logger *slog.Logger) *Server {
	cfg.fill()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, media: media, rec: rec, log: logger.With("component", "signaling"),
		rooms: map[string]*room{}, opening: map[string]*opening{}, resumes: map[string]resumeRef{},
		stop: make(chan struct{}), bgDone: make(chan struct{}),
	}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: s.checkOrigin,
	}
	go s.watchSessions()
	return s
}

func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(s.cfg.AllowedOrigins) == 0 {
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// Handler upgrades requests to WebSocket and serves them with Accept.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		s.Accept(r.Context(), ws)
	})
}

// Accept serves one upgraded WebSocket until it closes.
func (s *Server) Accept(ctx context.Context, ws *websocket.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.WriteMessage(websocket.TextMessage, encode(TypeSessionEnding, "", EndingData{Reason: "shutdown"}))
		_ = ws.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	c := newConn(ws, s.cfg, s.log)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(s.cfg.HeartbeatInterval)
	}()
	defer func() {
		c.waitCloseFrame()
		c.close()
		<-writerDone
	}()

	st, ok := s.joinPhase(ctx, c)
	if !ok {
		return
	}
	for {
		req, err := c.read(s.cfg)
		if err == errRefused {
			continue
		}
		if err != nil {
			st.room.disconnected(st.seat, c)
			return
		}
		if req.Type == TypeLeave {
			st.room.leave(ctx, st.seat, "left")
			c.closeAfterFlush(websocket.CloseNormalClosure, "left")
			<-c.done
			return
		}
		st.room.handle(ctx, st.seat, c, req)
	}
}

type joined struct {
	room *room
	seat *seat
}

// maxJoinFailures is how many requests answered with an error (of any kind: bad
// message, rate limited, refused join, request before join) a connection may make
// before a successful join; the next closes it with 1008.
const maxJoinFailures = 5

// joinPhase reads until a successful join (or gives up after maxJoinFailures failed
// requests or the join timeout).
func (s *Server) joinPhase(ctx context.Context, c *conn) (joined, bool) {
	deadline := time.AfterFunc(s.cfg.JoinTimeout, func() {
		c.send(encode(TypeError, "", errorf(CodeNotJoined, "no join within %s", s.cfg.JoinTimeout)))
		c.closeAfterFlush(websocket.ClosePolicyViolation, "join timeout")
	})
	defer deadline.Stop()
	failures := 0
	for failures+c.refused < maxJoinFailures {
		req, err := c.read(s.cfg)
		if err == errRefused {
			continue
		}
		if err != nil {
			return joined{}, false
		}
		switch req.Type {
		case TypeJoin:
		case TypePing:
			c.send(encode(TypePong, req.ID, req.Data))
			continue
		case TypePong:
			continue
		default:
			c.send(encode(TypeError, req.ID, errorf(CodeNotJoined, "%s before join", req.Type)))
			failures++
			continue
		}
		j, e := s.join(ctx, c, req.ID, req.Data.(*JoinData))
		if e != nil {
			c.send(encode(TypeError, req.ID, e))
			failures++
			continue
		}
		return j, true
	}
	c.log.Info("closing a connection after failed requests before join", "failed", failures+c.refused)
	c.closeAfterFlush(websocket.ClosePolicyViolation, "too many failed requests")
	return joined{}, false
}

func (s *Server) join(ctx context.Context, c *conn, ref string, d *JoinData) (joined, *Error) {
	if d.Version != ProtocolVersion {
		return joined{}, errorf(CodeVersion, "server speaks version %d", ProtocolVersion)
	}
	if d.Resume != "" {
		return s.resume(ctx, c, ref, d)
	}
	claims, err := VerifyToken(s.cfg.TokenKey, d.Token, s.cfg.Now())
	switch {
	case errors.Is(err, ErrTokenExpired):
		return joined{}, errorf(CodeTokenExpired, "join token expired")
	case err != nil:
		return joined{}, errorf(CodeBadToken, "join token refused")
	}
	if d.CaseID != claims.CaseID || d.SessionID != claims.SessionID {
		return joined{}, errorf(CodeWrongSession, "the token is for another case or session")
	}
	if s.refused(claims) {
		return joined{}, errorf(CodeBadToken, "join token refused")
	}
	rctx, cancel := recordCtx(ctx)
	open, err := s.rec.SessionOpen(rctx, claims.CaseID, claims.SessionID)
	cancel()
	if err != nil {
		s.log.Error("session open check", "session_id", claims.SessionID, "err", err)
		return joined{}, errorf(CodeUnavailable, "the session cannot be checked just now; try again")
	}
	if !open {
		return joined{}, errorf(CodeSessionClosed, "the session has ended")
	}
	claims.Mode = d.Mode
	// Someone admitted before whose seat is gone with a restart re-enters without the lobby. The check is
	// made here, before any room lock; enter uses it only if the room has no seat for them.
	var readmit *IdentityCheck
	if ar, ok := s.rec.(AdmissionRecord); ok && claims.Role.waitsInLobby() {
		actx, cancel := recordCtx(ctx)
		readmit, err = ar.AdmittedBefore(actx, claims.CaseID, claims.SessionID, claims.ParticipantID)
		cancel()
		if err != nil {
			s.log.Warn("admission record", "session_id", claims.SessionID, "err", err)
			readmit = nil // the lobby, then
		}
	}
	for attempt := 0; ; attempt++ {
		r, e := s.roomFor(ctx, claims.CaseID, claims.SessionID)
		if e != nil {
			return joined{}, e
		}
		st, e := r.enter(ctx, c, ref, claims, d.Decode, readmit)
		if e == errRoomEmptied && attempt < 20 {
			// The room closed as its last participant left: once it is gone, open a new one. Until then
			// roomFor finds the closing room again (many joining at once as a room empties: a load test's next
			// stage, everyone reconnecting together).
			select {
			case <-r.done:
			case <-ctx.Done():
				return joined{}, errorf(CodeUnavailable, "the room is closing; try again")
			case <-time.After(3 * time.Second):
			}
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond) // forgetRoom runs right after done closes
			continue
		}
		if e != nil {
			return joined{}, e
		}
		return joined{room: r, seat: st}, nil
	}
}

// resume takes a seat back with a resume token. The token names its session, so a
// node that does not host the room yet (the room's node was lost or drained) can claim
// the session, rebuild the room from RoomState, and seat the participant again.
func (s *Server) resume(ctx context.Context, c *conn, ref string, d *JoinData) (joined, *Error) {
	s.mu.Lock()
	rr, ok := s.resumes[d.Resume]
	r := s.rooms[rr.sessionID]
	s.mu.Unlock()
	if !ok || r == nil {
		sessionID := resumeSession(d.Resume)
		if sessionID == "" || s.cfg.RoomState == nil {
			return joined{}, errorf(CodeSessionClosed, "nothing to resume: the seat is gone, join with a token")
		}
		var e *Error
		if r, e = s.roomFor(ctx, "", sessionID); e != nil {
			return joined{}, e
		}
		s.mu.Lock()
		rr, ok = s.resumes[d.Resume]
		s.mu.Unlock()
		if !ok || rr.sessionID != sessionID {
			return joined{}, errorf(CodeSessionClosed, "nothing to resume: the seat is gone, join with a token")
		}
	}
	st, e := r.reattach(ctx, c, ref, rr.participantID, d.Decode)
	if e != nil {
		return joined{}, e
	}
	return joined{room: r, seat: st}, nil
}

// roomFor returns the session's room, claiming the session for this node and
// rebuilding the room from RoomState when another node (or an earlier run of this one)
// left state behind. The claim runs outside the server lock; concurrent joins of one
// session wait for the first. caseID "" (a resume) takes the case from the saved state.
func (s *Server) roomFor(ctx context.Context, caseID, sessionID string) (*room, *Error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errorf(CodeSessionClosed, "server shutting down")
		}
		if r, ok := s.rooms[sessionID]; ok {
			s.mu.Unlock()
			if caseID != "" && r.caseID != caseID {
				return nil, errorf(CodeWrongSession, "the token is for another case or session")
			}
			return r, nil
		}
		if op, ok := s.opening[sessionID]; ok {
			s.mu.Unlock()
			select {
			case <-op.done:
			case <-ctx.Done():
				return nil, errorf(CodeUnavailable, "gave up waiting for the room; try again")
			}
			if op.err != nil {
				return nil, op.err
			}
			continue
		}
		if s.draining {
			s.mu.Unlock()
			return nil, s.elsewhere(ctx, sessionID)
		}
		op := &opening{done: make(chan struct{})}
		s.opening[sessionID] = op
		s.mu.Unlock()

		r, e := s.openRoom(ctx, caseID, sessionID)
		s.mu.Lock()
		delete(s.opening, sessionID)
		if r != nil {
			s.rooms[sessionID] = r
		}
		op.room, op.err = r, e
		close(op.done)
		s.mu.Unlock()
		if e != nil {
			return nil, e
		}
		if caseID != "" && r.caseID != caseID {
			return nil, errorf(CodeWrongSession, "the token is for another case or session")
		}
		return r, nil
	}
}

// elsewhere answers a join this node will not host: wrong_node with the host that
// Placement names, or "try again".
func (s *Server) elsewhere(ctx context.Context, sessionID string) *Error {
	if m, ok := s.cfg.Placement.(Mover); ok {
		if host, err := m.Move(ctx, sessionID, s.cfg.NodeID); err == nil && host != "" && host != s.cfg.NodeID {
			return s.wrongNode(ctx, host)
		}
	}
	return errorf(CodeUnavailable, "this node is shutting down; try again")
}

func (s *Server) wrongNode(ctx context.Context, host string) *Error {
	e := &Error{Code: CodeWrongNode, Message: "the session is hosted by another node", Node: host}
	if dir, ok := s.cfg.Placement.(NodeDirectory); ok {
		if u, err := dir.NodeURL(ctx, host); err == nil {
			e.URL = u
		}
	}
	return e
}

// openRoom claims the session and builds its room (rebuilt from saved state if any).
func (s *Server) openRoom(ctx context.Context, caseID, sessionID string) (*room, *Error) {
	host, err := s.cfg.Placement.Claim(ctx, sessionID, s.cfg.NodeID)
	if err != nil {
		s.log.Error("placement claim", "session_id", sessionID, "err", err)
		return nil, errorf(CodeUnavailable, "the session cannot be placed just now; try again")
	}
	if host != s.cfg.NodeID {
		return nil, s.wrongNode(ctx, host)
	}
	var saved []byte
	if s.cfg.RoomState != nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		saved, err = s.cfg.RoomState.Load(lctx, sessionID)
		cancel()
		if err != nil {
			// Without the saved state the room would send admitted parties back to the
			// lobby: refuse for now rather than lose their seats.
			_ = s.cfg.Placement.Release(context.WithoutCancel(ctx), sessionID, s.cfg.NodeID)
			s.log.Error("load room state", "session_id", sessionID, "err", err)
			return nil, errorf(CodeUnavailable, "the session's state cannot be read just now; try again")
		}
	}
	if caseID == "" {
		var snap struct {
			CaseID string `json:"case_id"`
		}
		if saved == nil || json.Unmarshal(saved, &snap) != nil || snap.CaseID == "" {
			_ = s.cfg.Placement.Release(context.WithoutCancel(ctx), sessionID, s.cfg.NodeID)
			return nil, errorf(CodeSessionClosed, "nothing to resume: the seat is gone, join with a token")
		}
		caseID = snap.CaseID
	}
	r := newRoom(s, caseID, sessionID)
	media, err := s.media.Room(sessionID, r.onMediaEvent)
	if err != nil {
		close(r.done)
		r.stopSaver(nil)
		_ = s.cfg.Placement.Release(context.WithoutCancel(ctx), sessionID, s.cfg.NodeID)
		return nil, errorf(CodeInternal, "media engine unavailable")
	}
	r.media = media
	if saved != nil {
		n, err := r.rebuild(saved)
		if err != nil {
			r.log.Error("saved room state unreadable; starting afresh", "err", err)
		} else if n > 0 {
			s.metrics.rebuilt.Add(1)
			r.log.Info("room rebuilt from saved state", "seats", n)
		}
	}
	s.metrics.opened.Add(1)
	return r, nil
}

// forgetRoom drops a closed room; with clear its saved state goes too (the session
// ended or the room emptied), else it stays for the node that takes the room over.
func (s *Server) forgetRoom(ctx context.Context, r *room, clear bool) {
	s.mu.Lock()
	if s.rooms[r.sessionID] == r {
		delete(s.rooms, r.sessionID)
	}
	for tok, rr := range s.resumes {
		if rr.sessionID == r.sessionID {
			delete(s.resumes, tok)
		}
	}
	s.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	if clear && s.cfg.RoomState != nil {
		dctx, cancel := context.WithTimeout(bg, 2*time.Second)
		if err := s.cfg.RoomState.Delete(dctx, r.sessionID); err != nil {
			s.log.Warn("delete room state", "session_id", r.sessionID, "err", err)
		}
		cancel()
	}
	// After a move the lease is the next node's, and Release (which only deletes a lease this node holds)
	// leaves it alone; after a drain with no node to move to, it frees the session for the join API.
	rctx, cancel := context.WithTimeout(bg, 2*time.Second)
	defer cancel()
	if err := s.cfg.Placement.Release(rctx, r.sessionID, s.cfg.NodeID); err != nil {
		s.log.Warn("placement release", "session_id", r.sessionID, "err", err)
	}
}

// newResume makes a resume token for a seat: 24 random bytes, then the session it
// belongs to, so that any node can find the room's saved state.
func (s *Server) newResume(sessionID, participantID string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b) + "." + sessionID
	s.keepResume(tok, sessionID, participantID)
	return tok
}

// keepResume registers a resume token (one restored from saved state).
func (s *Server) keepResume(tok, sessionID, participantID string) {
	s.mu.Lock()
	s.resumes[tok] = resumeRef{sessionID: sessionID, participantID: participantID}
	s.mu.Unlock()
}

// resumeSession returns the session a resume token names, or "".
func resumeSession(tok string) string {
	i := strings.IndexByte(tok, '.')
	if i < 0 || i == len(tok)-1 || len(tok)-i-1 > 128 {
		return ""
	}
	return tok[i+1:]
}

func (s *Server) dropResume(tok string) {
	s.mu.Lock()
	delete(s.resumes, tok)
	s.mu.Unlock()
}

// EndSession closes the session's room if this node hosts it (the session was ended
// through the case API); the others hear it within SessionCheckInterval.
func (s *Server) EndSession(ctx context.Context, sessionID string) {
	s.mu.Lock()
	r := s.rooms[sessionID]
	s.mu.Unlock()
	if r != nil {
		r.end(ctx, "ended", nil)
	}
}

// CaseChanged tells every admitted participant of this node's rooms of case caseID that the case's documents
// or state changed (what: "documents" or "case"), so that their pages look again at once — the agreement's card
// in the room, the signatures as they land. It says nothing of the change itself; participants read the case
// through the API, which authorises them. It returns how many rooms it told.
func (s *Server) CaseChanged(caseID, what string) int {
	rooms := s.roomsOfCase(caseID)
	if len(rooms) == 0 {
		return 0
	}
	msg := encode(TypeCaseChanged, "", CaseChangedData{What: what})
	for _, r := range rooms {
		r.mu.Lock()
		r.broadcastLocked(msg, nil)
		r.mu.Unlock()
	}
	return len(rooms)
}

// roomsOfCase returns this node's rooms of case caseID.
func (s *Server) roomsOfCase(caseID string) []*room {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rooms []*room
	for _, r := range s.rooms {
		if r.caseID == caseID {
			rooms = append(rooms, r)
		}
	}
	return rooms
}

// watchSessions closes rooms whose session ended somewhere else.
func (s *Server) watchSessions() {
	defer close(s.bgDone)
	tk := time.NewTicker(s.cfg.SessionCheckInterval)
	defer tk.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tk.C:
		}
		s.mu.Lock()
		rooms := make([]*room, 0, len(s.rooms))
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
		for _, r := range rooms {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			open, err := s.rec.SessionOpen(ctx, r.caseID, r.sessionID)
			cancel()
			if err == nil && !open {
				r.log.Info("session ended elsewhere; closing the room")
				r.end(context.Background(), "ended", nil)
			}
		}
	}
}

// Drain prepares this node to stop without ending anyone's session: it takes no new
// rooms, hands each room to another node (Mover) and tells its clients to reconnect
// (message reconnect, with the new node's URL when known), then waits, until ctx is
// done, for the connections to finish. Without a Mover the clients are told to
// reconnect through the join API, which places the room anew once this node's lease is
// released.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		url := ""
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if m, ok := s.cfg.Placement.(Mover); ok {
			if host, err := m.Move(mctx, r.sessionID, s.cfg.NodeID); err == nil && host != "" && host != s.cfg.NodeID {
				if e := s.wrongNode(mctx, host); e.URL != "" {
					url = e.URL
				}
			} else if err != nil {
				r.log.Warn("drain: no node to move to", "err", err)
			}
		}
		cancel()
		s.metrics.moved.Add(1)
		r.handOff(ctx, url, true)
	}
	return s.waitConns(ctx)
}

// GiveUp closes the session's room here without ending the session, because another
// node holds its lease now: clients are told to reconnect (they find the new host
// through the join API or wrong_node), and this node neither records leaves nor
// overwrites the saved state.
func (s *Server) GiveUp(ctx context.Context, sessionID string) {
	s.mu.Lock()
	r := s.rooms[sessionID]
	s.mu.Unlock()
	if r != nil {
		r.handOff(ctx, "", false)
	}
}

// SaveAll writes every hosted room's state again (the state store may have lost it).
func (s *Server) SaveAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rooms {
		r.persist()
	}
}

// Hosts reports whether this node hosts the session's room now.
func (s *Server) Hosts(sessionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.rooms[sessionID]
	return ok
}

// Draining reports whether Drain has been called.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func (s *Server) waitConns(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends every room gracefully (clients get session_ending with reason
// "shutdown") and waits, until ctx is done, for the connections to finish.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	<-s.bgDone
	for _, r := range rooms {
		r.end(ctx, "shutdown", nil)
	}
	return s.waitConns(ctx)
}

// Stats are the server's counters and gauges (for metrics).
type Stats struct {
	Rooms         int    // hosted now
	Seats         int    // seated now (admitted or waiting, connected or in grace)
	Connected     int    // seats with a live connection
	RoomsOpened   uint64 // since start
	RoomsRebuilt  uint64 // rooms rebuilt from saved state (taken over from another node)
	RoomsMoved    uint64 // rooms handed to another node by Drain
	Reconnects    uint64 // seats taken back by a new connection
	EventsDropped uint64 // speaker/quality events dropped on a full queue
	StateErrors   uint64 // failed RoomState writes
}

// Stats returns the current figures.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	st := Stats{Rooms: len(rooms), RoomsOpened: s.metrics.opened.Load(), RoomsRebuilt: s.metrics.rebuilt.Load(),
		RoomsMoved: s.metrics.moved.Load(), Reconnects: s.metrics.reconnects.Load(),
		EventsDropped: s.metrics.dropped.Load(), StateErrors: s.metrics.stateErrors.Load()}
	for _, r := range rooms {
		r.mu.Lock()
		st.Seats += len(r.seats)
		for _, se := range r.seats {
			if se.conn != nil {
				st.Connected++
			}
		}
		r.mu.Unlock()
	}
	return st
}

type counters struct {
	opened, rebuilt, moved, reconnects, dropped, stateErrors atomic.Uint64
}

func (c *counters) eventsDropped() { c.dropped.Add(1) }
func (c *counters) reconnected()   { c.reconnects.Add(1) }

// recordCtx bounds a Recorder call; it survives the cancellation of the connection's
// context so that a "left" is recorded even when the client vanished.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
