package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-mediation/parley/sfu"
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
	// Placement decides which node hosts a session (default: in-process).
	Placement Placement
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
	engine   *sfu.Engine
	rec      Recorder
	log      *slog.Logger
	upgrader websocket.Upgrader

	mu      sync.Mutex
	rooms   map[string]*room
	resumes map[string]resumeRef
	closed  bool
	wg      sync.WaitGroup
	evicted evictions // participants whose seat was revoked (evict.go)
}

type resumeRef struct {
	sessionID     string
	participantID string
}

// NewServer returns a Server using engine for media and rec for the case record.
func NewServer(cfg Config, engine *sfu.Engine, rec Recorder, logger *slog.Logger) *Server {
	cfg.fill()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, engine: engine, rec: rec, log: logger.With("component", "signaling"),
		rooms: map[string]*room{}, resumes: map[string]resumeRef{},
	}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: s.checkOrigin,
	}
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
		return joined{}, errorf(CodeRecordFailed, "could not check the session")
	}
	if !open {
		return joined{}, errorf(CodeSessionClosed, "the session has ended")
	}
	claims.Mode = d.Mode
	for attempt := 0; ; attempt++ {
		r, e := s.roomFor(ctx, claims)
		if e != nil {
			return joined{}, e
		}
		st, e := r.enter(ctx, c, ref, claims, d.Decode)
		if e == errRoomEmptied && attempt < 3 {
			continue // the room closed as its last participant left; open a new one
		}
		if e != nil {
			return joined{}, e
		}
		return joined{room: r, seat: st}, nil
	}
}

func (s *Server) resume(ctx context.Context, c *conn, ref string, d *JoinData) (joined, *Error) {
	s.mu.Lock()
	rr, ok := s.resumes[d.Resume]
	r := s.rooms[rr.sessionID]
	s.mu.Unlock()
	if !ok || r == nil {
		return joined{}, errorf(CodeSessionClosed, "nothing to resume: the seat is gone, join with a token")
	}
	st, e := r.reattach(ctx, c, ref, rr.participantID, d.Decode)
	if e != nil {
		return joined{}, e
	}
	return joined{room: r, seat: st}, nil
}

// roomFor returns the session's room, claiming the session for this node.
func (s *Server) roomFor(ctx context.Context, c Claims) (*room, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errorf(CodeSessionClosed, "server shutting down")
	}
	if r, ok := s.rooms[c.SessionID]; ok {
		if r.caseID != c.CaseID {
			return nil, errorf(CodeWrongSession, "the token is for another case or session")
		}
		return r, nil
	}
	host, err := s.cfg.Placement.Claim(ctx, c.SessionID, s.cfg.NodeID)
	if err != nil {
		s.log.Error("placement claim", "session_id", c.SessionID, "err", err)
		return nil, errorf(CodeInternal, "could not place the session")
	}
	if host != s.cfg.NodeID {
		return nil, &Error{Code: CodeWrongNode, Message: "the session is hosted by another node", Node: host}
	}
	r := newRoom(s, c.CaseID, c.SessionID)
	media, err := s.engine.Room(c.SessionID, r.onMediaEvent)
	if err != nil {
		_ = s.cfg.Placement.Release(ctx, c.SessionID, s.cfg.NodeID)
		return nil, errorf(CodeInternal, "media engine unavailable")
	}
	r.media = media
	s.rooms[c.SessionID] = r
	return r, nil
}

func (s *Server) forgetRoom(ctx context.Context, r *room) {
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
	if err := s.cfg.Placement.Release(ctx, r.sessionID, s.cfg.NodeID); err != nil {
		s.log.Warn("placement release", "session_id", r.sessionID, "err", err)
	}
}

func (s *Server) newResume(sessionID, participantID string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.resumes[tok] = resumeRef{sessionID: sessionID, participantID: participantID}
	s.mu.Unlock()
	return tok
}

func (s *Server) dropResume(tok string) {
	s.mu.Lock()
	delete(s.resumes, tok)
	s.mu.Unlock()
}

// Close ends every room gracefully (clients get session_ending with reason
// "shutdown") and waits, until ctx is done, for the connections to finish.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.end(ctx, "shutdown", nil)
	}
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

// recordCtx bounds a Recorder call; it survives the cancellation of the connection's
// context so that a "left" is recorded even when the client vanished.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
