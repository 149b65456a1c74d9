package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cluster"
	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/sfumedia"
)

// rooms is the video part of the server: the SFU engine, the signalling server, and the key join tokens are
// signed with.
type rooms struct {
	engine   *sfu.Engine
	sig      *signaling.Server
	tokenKey []byte
	wsURL    string           // this node's signalling URL
	cluster  *cluster.Cluster // nil on a single node (no Redis)
	cpu      cpuMeter
	// stopChanges ends the watcher of case changes (changesDone closes when it has).
	stopChanges context.CancelFunc
	changesDone chan struct{}
}

// mediaConfig turns the PARLEY_* media settings into an sfu.Config.
func mediaConfig(cfg *Config, turnSecret string) sfu.Config {
	mc := sfu.DefaultConfig()
	mc.UDPPort = cfg.MediaUDPPort
	mc.ICETCPPort = cfg.MediaTCPPort
	mc.NAT1To1IPs = splitList(cfg.PublicIP)
	if len(mc.NAT1To1IPs) == 0 && cfg.NodeMediaIP != "" {
		mc.NAT1To1IPs = []string{cfg.NodeMediaIP}
	}
	mc.ICEFilter = splitList(cfg.ICEFilter)
	mc.NoDirectSend = !cfg.MediaDirectSend
	mc.TURN.Enabled = cfg.TURN
	mc.TURN.UDPPort, mc.TURN.TCPPort = cfg.TURNPort, cfg.TURNPort
	mc.TURN.Host = cfg.TURNHost
	mc.TURN.RelayIP = cfg.TURNRelayIP
	mc.TURN.Secret = sfu.Secret(turnSecret)
	return mc
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// newRooms starts the SFU and the signalling server. Keys shared by every node (the join-token key, the TURN
// secret) live in server_secrets unless configured. With rdb (Redis) the node joins the cluster: rooms are
// placed through Redis leases and their state kept there (package cluster).
func newRooms(ctx context.Context, cfg *Config, store *cases.Store, logger *slog.Logger) (*rooms, error) {
	return newClusterRooms(ctx, cfg, store, nil, nil, logger)
}

// newClusterRooms is newRooms with Redis (nil: a single node) and the metrics registry (nil: none).
func newClusterRooms(ctx context.Context, cfg *Config, store *cases.Store, rdb *redis.Client, m *metrics, logger *slog.Logger) (*rooms, error) {
	key, err := store.Secret(ctx, "signaling:token-key", 32)
	if err != nil {
		return nil, err
	}
	turnSecret := cfg.TURNSecret
	if turnSecret == "" {
		b, err := store.Secret(ctx, "sfu:turn-secret", 32)
		if err != nil {
			return nil, err
		}
		turnSecret = fmt.Sprintf("%x", b)
	}
	engine, err := sfu.NewEngine(mediaConfig(cfg, turnSecret), logger)
	if err != nil {
		return nil, err
	}
	ws := cfg.NodeURL
	if ws == "" {
		ws = strings.Replace(strings.Replace(cfg.BaseURL, "https://", "wss://", 1), "http://", "ws://", 1) + "/rtc"
	}
	rm := &rooms{engine: engine, tokenKey: key, wsURL: ws}
	sc := signaling.DefaultConfig()
	sc.TokenKey = key
	sc.NodeID = cfg.NodeID
	sc.AllowedOrigins = splitList(cfg.RTCOrigins)
	sc.ObserveMediaConnected = m.observeMediaConnected
	if rdb != nil {
		sel, err := cluster.SelectorByName(cfg.PlacementSelector)
		if err != nil {
			_ = engine.Close()
			return nil, err
		}
		rm.cluster = cluster.New(rdb, cluster.Config{Node: cfg.NodeID, URL: ws, MediaIP: cfg.NodeMediaIP, LeaseTTL: cfg.LeaseTTL,
			Selector: sel, Load: rm.load, OnLost: rm.lost, OnReconnect: func() {
				if rm.sig != nil {
					rm.sig.SaveAll()
				}
			}}, logger)
		sc.Placement, sc.RoomState = rm.cluster, rm.cluster
	}
	rm.sig = signaling.NewServer(sc, sfumedia.New(engine), &rtcRecorder{store: store, log: logger.With("component", "rtc-recorder")}, logger)
	if rm.cluster != nil {
		rm.cluster.Start(ctx)
	}
	// Case-change notices to this node's rooms (cases/changes.go), until close.
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	rm.stopChanges, rm.changesDone = stop, make(chan struct{})
	go func() {
		defer close(rm.changesDone)
		store.WatchChanges(wctx, func(caseID, eventType string) {
			what := "case"
			if strings.HasPrefix(eventType, "document.") {
				what = "documents"
			}
			rm.sig.CaseChanged(caseID, what)
		})
	}()
	return rm, nil
}

// load is what this node tells the cluster registry about itself.
func (r *rooms) load() cluster.Load {
	st := r.engine.Stats()
	return cluster.Load{Rooms: st.Rooms, Participants: st.Participants, Tracks: st.Tracks, CPU: r.cpu.fraction()}
}

// lost gives up a room whose lease another node took (this node was cut off from Redis for longer than the
// lease): its clients are told to reconnect, and find the room on its new node.
func (r *rooms) lost(sessionID string) {
	if r.sig != nil {
		r.sig.GiveUp(context.Background(), sessionID)
	}
}

// signalURL returns the signalling URL of the node that hosts, or will host, the session's room: this node
// without a cluster, else the lease holder or the node the placement selector picks.
func (r *rooms) signalURL(ctx context.Context, sessionID string) (string, error) {
	if r.cluster == nil {
		return r.wsURL, nil
	}
	n, err := r.cluster.Locate(ctx, sessionID)
	if err != nil {
		if r.sig.Hosts(sessionID) {
			return r.wsURL, nil // Redis is down, but the room is here
		}
		return "", cases.Errorf(codeUnavailable, "the video service cannot place the session just now; try again in a few seconds")
	}
	return n.URL, nil
}

// ready reports whether the node may take new rooms (Redis answers, when there is a cluster).
func (r *rooms) ready() bool { return r.cluster == nil || r.cluster.Ready() && !r.sig.Draining() }

// drain hands this node's rooms to other nodes and waits (until ctx is done) for its clients to move.
func (r *rooms) drain(ctx context.Context) error {
	if r.cluster != nil {
		r.cluster.SetDraining(true)
	}
	return r.sig.Drain(ctx)
}

// close ends every room (telling clients the server is shutting down) and stops the media engine.
func (r *rooms) close(ctx context.Context) {
	if r.stopChanges != nil {
		r.stopChanges()
		<-r.changesDone
	}
	_ = r.sig.Close(ctx)
	if r.cluster != nil {
		r.cluster.Close(ctx)
	}
	_ = r.engine.Close()
}

// rtcRecorder keeps what happens in a room on the case: attendance, identity checks, chat, caucuses, the judge's
// arrival and the end of the session. It implements signaling.Recorder on the case store.
type rtcRecorder struct {
	store *cases.Store
	log   *slog.Logger
}

func (r *rtcRecorder) SessionOpen(ctx context.Context, caseID, sessionID string) (bool, error) {
	ss, err := r.store.Session(ctx, sessionID)
	if err != nil {
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			return false, nil
		}
		return false, err
	}
	return ss.CaseID == caseID && ss.Status == cases.SessionLive, nil
}

// AdmittedBefore implements signaling.AdmissionRecord: someone whose identity check passed in this session and
// whose last attendance did not end by removal or by leaving (it is open, or ended by a shutdown or a lost
// connection) was admitted and may enter again without the lobby.
func (r *rtcRecorder) AdmittedBefore(ctx context.Context, caseID, sessionID, participantID string) (*signaling.IdentityCheck, error) {
	d, err := r.store.SessionDetail(ctx, cases.System, sessionID)
	if err != nil {
		return nil, err
	}
	if d.CaseID != caseID {
		return nil, nil
	}
	var check *signaling.IdentityCheck
	for _, c := range d.IdentityChecks {
		if c.ParticipantID == participantID && c.Result == signaling.CheckPassed {
			check = &signaling.IdentityCheck{Method: c.Method, Result: c.Result, Note: c.Note}
		}
	}
	if check == nil {
		return nil, nil
	}
	var last *cases.Attendance
	for i := range d.Attendance {
		if d.Attendance[i].ParticipantID == participantID {
			last = &d.Attendance[i]
		}
	}
	if last != nil && last.LeftAt != nil && last.LeftReason != "shutdown" && last.LeftReason != "disconnected" {
		return nil, nil // removed, or left: through the lobby again
	}
	return check, nil
}

func (r *rtcRecorder) Joined(ctx context.Context, who signaling.Claims, at time.Time) error {
	if err := r.store.RecordJoin(ctx, who.SessionID, cases.Attendance{ParticipantID: who.ParticipantID, Name: who.Name, Role: string(who.Role), Side: who.Side, JoinedAt: at, Mode: who.Mode}); err != nil {
		return err
	}
	if who.Role == signaling.RoleJudge {
		_, err := r.store.RecordEvent(ctx, who.CaseID, cases.Principal{Kind: cases.KindAccount, ID: who.ParticipantID, Name: who.Name, Role: cases.RoleJudge},
			"session.judge_joined", cases.VisAll, map[string]any{"session_id": who.SessionID})
		return err
	}
	return nil
}

func (r *rtcRecorder) Left(ctx context.Context, who signaling.Claims, at time.Time, reason string) error {
	return r.store.RecordLeave(ctx, who.SessionID, who.ParticipantID, at, reason)
}

func (r *rtcRecorder) Admitted(ctx context.Context, who, by signaling.Claims, check signaling.IdentityCheck, at time.Time) error {
	return r.store.RecordIdentityCheck(ctx, who.SessionID, cases.IdentityCheck{ParticipantID: who.ParticipantID, Name: who.Name,
		Method: check.Method, Result: check.Result, Note: check.Note, CheckedBy: by.ParticipantID, CheckedByName: by.Name, At: at})
}

func (r *rtcRecorder) Chat(ctx context.Context, from signaling.Claims, scope, text string, at time.Time) error {
	return r.store.RecordMessage(ctx, from.SessionID, cases.ChatMessage{SenderID: from.ParticipantID, SenderName: from.Name, Scope: scope, Body: text, At: at})
}

func (r *rtcRecorder) Caucus(ctx context.Context, by signaling.Claims, caucusID string, open bool, members []string, at time.Time) error {
	if open {
		return r.store.RecordCaucusOpened(ctx, by.SessionID, cases.Caucus{CaucusID: caucusID, Members: members, OpenedBy: by.ParticipantID, OpenedAt: at})
	}
	return r.store.RecordCaucusClosed(ctx, by.SessionID, caucusID, at)
}

// CaucusEntered implements signaling.CaucusEntryRecorder: a mediator who moves into a caucus becomes one of its
// readers.
func (r *rtcRecorder) CaucusEntered(ctx context.Context, by signaling.Claims, caucusID string, at time.Time) error {
	return r.store.RecordCaucusEntered(ctx, by.SessionID, caucusID, by.ParticipantID, string(by.Role), at)
}

// CaucusRecordConsent implements signaling.CaucusConsentRecorder: each consent to a caucus's recording, and its
// start, in the trail with the caucus's confidentiality.
func (r *rtcRecorder) CaucusRecordConsent(ctx context.Context, by signaling.Claims, caucusID string, recording bool, at time.Time) error {
	return r.store.RecordCaucusConsent(ctx, by.SessionID, caucusID, by.ParticipantID, recording, at)
}

func (r *rtcRecorder) SessionEnded(ctx context.Context, by signaling.Claims, at time.Time) error {
	p, err := r.store.AccountPrincipal(ctx, by.ParticipantID)
	if err != nil {
		p = cases.System
	}
	_, err = r.store.EndSession(ctx, p, by.SessionID)
	if cases.ErrorCode(err) == cases.ECONFLICT {
		return nil // already ended over HTTP
	}
	return err
}

// iceServer is one STUN/TURN entry for the browser's RTCPeerConnection.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

type joinResponse struct {
	Token         string      `json:"token"`
	URL           string      `json:"url"` // the signalling WebSocket
	CaseID        string      `json:"case_id"`
	SessionID     string      `json:"session_id"`
	ParticipantID string      `json:"participant_id"`
	Role          string      `json:"role"`
	CanPublish    bool        `json:"can_publish"`
	CanModerate   bool        `json:"can_moderate"`
	Lobby         bool        `json:"lobby"` // the participant waits until a mediator admits them
	ICEServers    []iceServer `json:"ice_servers"`
	ExpiresAt     time.Time   `json:"expires_at"`
}

// joinClaims decides who enters a session in which role: parties and agents (through the lobby), the case's
// mediators (moderating), a judge of the case's court (any time, without admission), a clerk of the court
// (watching). Everyone else is refused.
func joinClaims(p cases.Principal, c *cases.Case, ss *cases.Session) (signaling.Claims, error) {
	cl := signaling.Claims{CaseID: c.ID, SessionID: ss.ID, ParticipantID: p.ID, Name: p.Name, CanSubscribe: true}
	rel := cases.Relations(p, c)
	switch {
	case p.Kind == cases.KindParty:
		cl.Role, cl.Side, cl.CanPublish = signaling.RoleParty, string(p.Side), true
	case p.Kind == cases.KindAgent:
		cl.Role, cl.Side, cl.CanPublish = signaling.RoleAgent, string(p.Side), true
	case slices.Contains(rel, cases.WhoMediator):
		cl.Role, cl.CanPublish, cl.CanModerate = signaling.RoleMediator, true, true
	case slices.Contains(rel, cases.WhoJudge):
		cl.Role, cl.CanPublish = signaling.RoleJudge, true
	case slices.Contains(rel, cases.WhoClerk):
		cl.Role = signaling.RoleClerk
	default:
		return cl, cases.Errorf(cases.EFORBIDDEN, "the session is for the parties, their agents, the case's mediators and the court's judges and clerks")
	}
	return cl, nil
}

func handleJoin(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		ss, err := a.sessionForCaller(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		c, err := a.store.Case(r.Context(), ss.CaseID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		cl, err := joinClaims(p, c, ss)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if ss.Status != cases.SessionLive {
			fail(w, r, a.log, cases.Errorf(cases.ECONFLICT, "the session is %s: it can be joined while it is live", ss.Status))
			return
		}
		cl.ExpiresAt = time.Now().Add(5 * time.Minute)
		tok, err := signaling.IssueToken(a.rooms.tokenKey, cl)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		url, err := a.rooms.signalURL(r.Context(), ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := joinResponse{Token: tok, URL: url, CaseID: c.ID, SessionID: ss.ID, ParticipantID: cl.ParticipantID, Role: string(cl.Role),
			CanPublish: cl.CanPublish, CanModerate: cl.CanModerate, Lobby: cl.Role == signaling.RoleParty || cl.Role == signaling.RoleAgent,
			ICEServers: []iceServer{}, ExpiresAt: cl.ExpiresAt}
		for _, s := range a.rooms.engine.ICEServers(cl.ParticipantID, 12*time.Hour) {
			cred, _ := s.Credential.(string)
			out.ICEServers = append(out.ICEServers, iceServer{URLs: s.URLs, Username: s.Username, Credential: cred})
		}
		encode(w, http.StatusOK, out)
	})
}

// serverStats is what the load command reads from a running server.
type serverStats struct {
	Media         sfu.Stats `json:"media"`
	CPUSeconds    float64   `json:"cpu_seconds"` // user + system CPU time of the process so far
	RSSBytes      int64     `json:"rss_bytes"`
	HeapBytes     uint64    `json:"heap_bytes"`
	Goroutines    int       `json:"goroutines"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	PID           int       `json:"pid"` // for the load command's core pinning and /proc reading on the same host
}

func handleRTCStats(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).IsStaff(cases.RoleAdmin) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "server statistics are for the platform admin"))
			return
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		out := serverStats{Media: a.rooms.engine.Stats(), CPUSeconds: tvSeconds(ru.Utime) + tvSeconds(ru.Stime), RSSBytes: currentRSS(),
			HeapBytes: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(), UptimeSeconds: time.Since(a.started).Seconds(), PID: os.Getpid()}
		encode(w, http.StatusOK, out)
	})
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// currentRSS reads the resident set size from /proc (Linux); 0 elsewhere.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, rss int64
	if _, err := fmt.Sscan(string(b), &size, &rss); err != nil {
		return 0
	}
	return rss * int64(os.Getpagesize())
}
