package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// room is one session: seats (admitted or waiting in the lobby), caucuses, and the
// media room. One mutex (mu) guards the state; sends are non-blocking queue pushes, so
// the lock is never held across network I/O, and no Recorder or RoomState call is made
// while holding it. recMu serialises the room's Recorder calls, so that the record keeps
// the order in which things happened (joined before left, caucus open before close); it
// is taken before mu, never while holding it. Media events are queued and delivered by
// the room's own goroutine.
type room struct {
	s         *Server
	caseID    string
	sessionID string
	media     MediaRoom
	log       *slog.Logger
	done      chan struct{}

	evMu     sync.Mutex
	evQueue  []MediaEvent
	evSignal chan struct{}

	recMu sync.Mutex

	saveSignal chan struct{} // a state change to write to RoomState
	saveStop   chan struct{}
	saverDone  chan struct{}
	saveOnce   sync.Once

	mu         sync.Mutex
	seats      map[string]*seat
	caucuses   map[string]*caucus
	nextCaucus int
	ended      bool
	emptied    bool // closed because everyone left (not a session end)
	moved      bool // handed to another node (drain): close without recording anyone's leave
}

// maxDroppableEvents bounds the queue for events that may be dropped (speaker,
// quality); events that change client state are always queued.
const maxDroppableEvents = 1024

// errRoomEmptied tells the server to retry with a fresh room: the one it found closed
// because its last participant left.
var errRoomEmptied = &Error{Code: CodeInternal, Message: "room closed while joining"}

// seat is one participant's place in the session; it survives reconnects.
type seat struct {
	claims    Claims
	conn      *conn
	sig       *mediaSignal
	admitted  bool
	admitting bool // an admission is being recorded
	check     *IdentityCheck
	resume    string
	grace     *time.Timer
	decode    []string
	part      MediaSeat
	since     time.Time
	joinedAt  time.Time // when joined was last sent, until the subscriber transport connects
}

type caucus struct {
	id      string
	members []string
	// consents are who consented to the caucus's separate recording; recording is true while it is recorded
	// (everyone in it consented). Not kept in the saved room state: a room rebuilt on another node records
	// the caucus again only after new consents.
	consents  map[string]bool
	recording bool
}

func newRoom(s *Server, caseID, sessionID string) *room {
	r := &room{
		s: s, caseID: caseID, sessionID: sessionID,
		log:      s.log.With("case_id", caseID, "session_id", sessionID),
		done:     make(chan struct{}),
		evSignal: make(chan struct{}, 1),
		seats:    map[string]*seat{}, caucuses: map[string]*caucus{},
	}
	go r.eventLoop()
	if s.cfg.RoomState != nil {
		r.saveSignal = make(chan struct{}, 1)
		r.saveStop = make(chan struct{})
		r.saverDone = make(chan struct{})
		go r.saveLoop()
	}
	return r
}

// onMediaEvent is called by the media plane; it must not block or take the room lock.
// Events that change client state (tracks, codec) are always queued; speaker and
// quality updates are dropped when the queue is long, since the next one replaces them.
func (r *room) onMediaEvent(ev MediaEvent) {
	r.evMu.Lock()
	if ev.Kind.droppable() && len(r.evQueue) >= maxDroppableEvents {
		r.evMu.Unlock()
		r.s.metrics.eventsDropped()
		return
	}
	r.evQueue = append(r.evQueue, ev)
	r.evMu.Unlock()
	select {
	case r.evSignal <- struct{}{}:
	default:
	}
}

func (r *room) eventLoop() {
	for {
		select {
		case <-r.done:
			return
		case <-r.evSignal:
		}
		r.evMu.Lock()
		batch := r.evQueue
		r.evQueue = nil
		r.evMu.Unlock()
		for _, ev := range batch {
			r.deliver(ev)
		}
	}
}

func (r *room) deliver(ev MediaEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Kind {
	case MediaTrackPublished:
		r.broadcastLocked(encode(TypeTrackPublished, "", TrackData{Track: *ev.Track}), r.seesTrackLocked(ev.Track))
	case MediaTrackUnpublished:
		r.broadcastLocked(encode(TypeTrackUnpublished, "", TrackData{Track: *ev.Track}), r.seesTrackLocked(ev.Track))
	case MediaTrackMuted:
		r.broadcastLocked(encode(TypeTrackMuted, "", TrackData{Track: *ev.Track}), r.seesTrackLocked(ev.Track))
	case MediaVideoPaused:
		if st := r.seats[ev.To]; st != nil && st.admitted && st.conn != nil {
			st.conn.send(encode(TypeVideoPaused, "", PausedData{TrackID: ev.Track.ID, ParticipantID: ev.Track.Participant,
				Paused: ev.Paused, Reason: "bandwidth"}))
		}
	case MediaActiveSpeaker:
		if st := r.seats[ev.To]; st != nil && st.admitted && st.conn != nil {
			st.conn.send(encode(TypeActiveSpeaker, "", SpeakerData{ParticipantID: ev.Participant, Level: ev.Level}))
		}
	case MediaQuality:
		r.broadcastLocked(encode(TypeQuality, "", QualityData{ParticipantID: ev.Participant, Quality: ev.Quality,
			Loss: ev.Loss, RTTMillis: ev.RTT.Milliseconds()}), nil)
	case MediaVideoCodec:
		r.broadcastLocked(encode(TypeVideoCodec, "", CodecData{Codec: ev.Codec}), nil)
	case MediaTransportState:
		if st := r.seats[ev.Participant]; st != nil && ev.Transport == TransportSubscriber && ev.State == "connected" && !st.joinedAt.IsZero() {
			if f := r.s.cfg.ObserveMediaConnected; f != nil {
				f(time.Since(st.joinedAt))
			}
			st.joinedAt = time.Time{}
		}
	}
}

// seesTrackLocked is who hears of a track: everyone, except that the lobby preview of
// someone waiting is for moderators only.
func (r *room) seesTrackLocked(t *TrackInfo) func(*seat) bool {
	if pub := r.seats[t.Participant]; pub != nil && !pub.admitted {
		return func(o *seat) bool { return o.claims.CanModerate }
	}
	return nil
}

// visibleTracksLocked is the track list for st (joined.tracks).
func (r *room) visibleTracksLocked(st *seat) []TrackInfo {
	out := []TrackInfo{}
	for _, t := range r.media.Tracks() {
		if keep := r.seesTrackLocked(&t); keep == nil || keep(st) {
			out = append(out, t)
		}
	}
	return out
}

// broadcastLocked sends b to every connected, admitted seat accepted by keep (nil: all).
func (r *room) broadcastLocked(b []byte, keep func(*seat) bool) {
	for _, st := range r.seats {
		if st.admitted && st.conn != nil && (keep == nil || keep(st)) {
			st.conn.send(b)
		}
	}
}

func (r *room) now() time.Time { return r.s.cfg.Now() }

// enter seats a participant who presented a valid token.
// readmit, when set, is the identity check of an earlier admission to this session that the record still
// holds (the seat was lost with a restart): the participant skips the lobby.
func (r *room) enter(ctx context.Context, c *conn, ref string, claims Claims, decode []string, readmit *IdentityCheck) (*seat, *Error) {
	// Held until Joined is recorded, so that a quick leave is recorded after it.
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	if r.emptied {
		r.mu.Unlock()
		return nil, errRoomEmptied
	}
	if r.ended {
		r.mu.Unlock()
		return nil, errorf(CodeSessionClosed, "the session has ended")
	}
	if st := r.seats[claims.ParticipantID]; st != nil {
		// Same person again with a token (new tab, a reconnect without the resume
		// token, or a seat rebuilt on this node after a move): take the seat over.
		r.mu.Unlock()
		return r.reattach(ctx, c, ref, claims.ParticipantID, decode)
	}
	st := &seat{claims: claims, decode: decode, since: r.now()}
	st.resume = r.s.newResume(r.sessionID, claims.ParticipantID)
	r.seats[claims.ParticipantID] = st
	r.attachLocked(st, c)
	if claims.Role.waitsInLobby() && readmit != nil {
		st.check = readmit
		r.log.Info("re-admitted from the record (seat lost with a restart)", "participant_id", claims.ParticipantID)
	}
	if claims.Role.waitsInLobby() && readmit == nil {
		if e := r.waitLocked(st, ref); e != nil {
			delete(r.seats, claims.ParticipantID)
			r.mu.Unlock()
			r.s.dropResume(st.resume)
			return nil, e
		}
		r.lobbyUpdateLocked()
		r.mu.Unlock()
		return st, nil
	}
	e := r.admitLocked(st, ref)
	if e == nil && readmit != nil {
		r.lobbyUpdateLocked()
	}
	r.mu.Unlock()
	if e != nil {
		r.dropSeat(st)
		return nil, e
	}
	r.recordJoinedHeld(ctx, claims)
	r.persist()
	return st, nil
}

// waitLocked puts a seat in the lobby and sends waiting. Someone who may publish gets a
// lobby preview: a media seat in MediaScopeLobby whose camera and microphone reach the
// moderators only (the identity check), and which receives nothing.
func (r *room) waitLocked(st *seat, ref string) *Error {
	d := WaitingData{Message: "waiting for the mediator to admit you"}
	if st.claims.CanPublish && st.claims.Mode != ModeText {
		opts := MediaOptions{CanPublish: true, CanSubscribe: st.claims.CanSubscribe, Decode: st.decode, Lobby: true}
		part, err := r.media.Join(st.claims.ParticipantID, opts, st.sig)
		if err != nil {
			r.log.Error("media join (lobby)", "participant_id", st.claims.ParticipantID, "err", err)
			return errorf(CodeInternal, "media unavailable")
		}
		st.part = part
		d.Preview = true
		d.ICEServers = r.s.media.ICEServers(st.claims.ParticipantID, r.s.cfg.ICEServerTTL)
		if d.ICEServers == nil {
			d.ICEServers = []webrtc.ICEServer{}
		}
		d.VideoCodec = r.media.VideoCodec()
	}
	st.conn.send(encode(TypeWaiting, ref, d))
	if d.Preview {
		st.sig.open()
	}
	return nil
}

// recordJoinedHeld records an entry; the caller holds recMu.
func (r *room) recordJoinedHeld(ctx context.Context, who Claims) {
	rctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := r.s.rec.Joined(rctx, who, r.now()); err != nil {
		r.log.Error("record joined", "participant_id", who.ParticipantID, "err", err)
	}
}

func (r *room) attachLocked(st *seat, c *conn) {
	if st.grace != nil {
		st.grace.Stop()
		st.grace = nil
	}
	if old := st.conn; old != nil && old != c {
		old.send(encode(TypeError, "", errorf(CodeAlreadyJoined, "this seat was taken over by another connection")))
		old.closeAfterFlush(websocket.CloseNormalClosure, "replaced")
	}
	st.conn = c
	st.sig = &mediaSignal{c: c}
}

// reattach gives a seat to a new connection: a reconnect within the grace period, or
// the same person joining again. Others see nothing.
func (r *room) reattach(_ context.Context, c *conn, ref, participantID string, decode []string) (*seat, *Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.seats[participantID]
	if r.ended || st == nil {
		return nil, errorf(CodeSessionClosed, "nothing to resume: the seat is gone, join with a token")
	}
	if decode != nil {
		st.decode = decode
	}
	r.attachLocked(st, c)
	r.s.metrics.reconnected()
	if !st.admitted {
		if e := r.waitLocked(st, ref); e != nil {
			return nil, e
		}
		return st, nil
	}
	if e := r.joinMediaLocked(st, ref, true); e != nil {
		return nil, e
	}
	return st, nil
}

// admitLocked puts a seat into the session: seats its media, sends joined, tells the
// others. The caller records Joined once it has released the lock.
func (r *room) admitLocked(st *seat, ref string) *Error {
	st.admitted = true
	if e := r.joinMediaLocked(st, ref, false); e != nil {
		st.admitted = false
		return e
	}
	info := r.infoLocked(st)
	r.broadcastLocked(encode(TypeParticipantJoined, "", info), func(o *seat) bool { return o != st })
	if st.claims.Role == RoleJudge {
		r.broadcastLocked(encode(TypeJudgePresent, "", info), nil)
	}
	return nil
}

// joinMediaLocked seats (or reseats) the participant's media and sends joined. Offers
// and candidates from the SFU are held until joined has been sent.
func (r *room) joinMediaLocked(st *seat, ref string, resumed bool) *Error {
	if !resumed && st.part != nil && r.media.Scope(st.claims.ParticipantID) == MediaScopeLobby {
		// Admitted from the lobby preview: keep the transports (the camera the mediator
		// saw goes on), join the room's scope, get subscribed. The subscriber offer
		// that follows is held until joined has been sent.
		st.sig.hold()
		r.media.SetScopes(map[string]string{st.claims.ParticipantID: ""})
		for _, t := range r.media.Tracks() {
			if t.Participant == st.claims.ParticipantID {
				b := encode(TypeTrackPublished, "", TrackData{Track: t})
				r.broadcastLocked(b, func(o *seat) bool { return o != st && !o.claims.CanModerate })
			}
		}
	} else {
		opts := MediaOptions{CanPublish: st.claims.CanPublish, CanSubscribe: st.claims.CanSubscribe,
			CanModerate: st.claims.CanModerate, Decode: st.decode}
		part, err := r.media.Join(st.claims.ParticipantID, opts, st.sig)
		if err != nil {
			r.log.Error("media join", "participant_id", st.claims.ParticipantID, "err", err)
			return errorf(CodeInternal, "media unavailable")
		}
		st.part = part
	}
	d := JoinedData{
		Version: ProtocolVersion, ParticipantID: st.claims.ParticipantID, Role: st.claims.Role,
		Resume: st.resume, Resumed: resumed,
		ICEServers: r.s.media.ICEServers(st.claims.ParticipantID, r.s.cfg.ICEServerTTL),
		VideoCodec: r.media.VideoCodec(), Tracks: r.visibleTracksLocked(st),
		Scope:      r.media.Scope(st.claims.ParticipantID),
		CanPublish: st.claims.CanPublish, CanSubscribe: st.claims.CanSubscribe, CanModerate: st.claims.CanModerate,
	}
	if d.ICEServers == nil {
		d.ICEServers = []webrtc.ICEServer{}
	}
	if d.Tracks == nil {
		d.Tracks = []TrackInfo{}
	}
	for _, o := range r.sortedSeatsLocked() {
		if o.admitted {
			d.Participants = append(d.Participants, r.infoLocked(o))
			d.JudgePresent = d.JudgePresent || o.claims.Role == RoleJudge
		}
	}
	d.Caucuses = r.caucusInfoLocked()
	st.conn.send(encode(TypeJoined, ref, d))
	st.joinedAt = time.Now()
	st.sig.open()
	if st.claims.CanModerate {
		r.lobbyUpdateLocked()
	}
	if len(r.caucuses) > 0 {
		st.conn.send(encode(TypeCaucusState, "", r.caucusStateFor(st)))
	}
	return nil
}

func (r *room) sortedSeatsLocked() []*seat {
	out := make([]*seat, 0, len(r.seats))
	for _, st := range r.seats {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].claims.ParticipantID < out[j].claims.ParticipantID })
	return out
}

func (r *room) infoLocked(st *seat) ParticipantInfo {
	return ParticipantInfo{ParticipantID: st.claims.ParticipantID, Name: st.claims.Name, Role: st.claims.Role,
		Side: st.claims.Side, Scope: r.media.Scope(st.claims.ParticipantID), Mode: st.claims.Mode}
}

// lobbyUpdateLocked tells moderators who waits.
func (r *room) lobbyUpdateLocked() {
	d := LobbyData{Waiting: []ParticipantInfo{}}
	for _, st := range r.sortedSeatsLocked() {
		if !st.admitted {
			d.Waiting = append(d.Waiting, ParticipantInfo{ParticipantID: st.claims.ParticipantID, Name: st.claims.Name,
				Role: st.claims.Role, Side: st.claims.Side, Mode: st.claims.Mode})
		}
	}
	r.broadcastLocked(encode(TypeLobby, "", d), func(st *seat) bool { return st.claims.CanModerate })
}

// disconnected handles a connection that ended without leave: the seat waits
// ReconnectGrace for the participant to come back.
func (r *room) disconnected(st *seat, c *conn) {
	r.mu.Lock()
	if st.conn != c || r.ended {
		r.mu.Unlock()
		return
	}
	st.conn = nil
	if !st.admitted {
		delete(r.seats, st.claims.ParticipantID)
		r.s.dropResume(st.resume)
		r.lobbyUpdateLocked()
		empty := r.markEmptyLocked()
		preview := st.part != nil
		r.mu.Unlock()
		if preview {
			r.media.Remove(st.claims.ParticipantID)
		}
		if empty {
			r.closeEmpty(context.Background())
		}
		return
	}
	defer r.mu.Unlock()
	r.log.Info("participant disconnected; holding the seat", "participant_id", st.claims.ParticipantID,
		"grace", r.s.cfg.ReconnectGrace)
	r.holdSeatLocked(st)
}

// holdSeatLocked starts the reconnect grace of a seat without a connection.
func (r *room) holdSeatLocked(st *seat) {
	st.grace = time.AfterFunc(r.s.cfg.ReconnectGrace, func() {
		r.mu.Lock()
		gone := st.conn == nil && r.seats[st.claims.ParticipantID] == st
		r.mu.Unlock()
		if gone {
			r.leave(context.Background(), st, "disconnected")
		}
	})
}

// dropSeat removes a seat that never got in.
func (r *room) dropSeat(st *seat) {
	r.mu.Lock()
	if r.seats[st.claims.ParticipantID] == st {
		delete(r.seats, st.claims.ParticipantID)
	}
	r.mu.Unlock()
	r.s.dropResume(st.resume)
}

// leave takes a seat out of the session for good.
func (r *room) leave(ctx context.Context, st *seat, reason string) {
	r.recMu.Lock()
	r.mu.Lock()
	if r.seats[st.claims.ParticipantID] != st || r.moved {
		r.mu.Unlock()
		r.recMu.Unlock()
		return
	}
	delete(r.seats, st.claims.ParticipantID)
	if st.grace != nil {
		st.grace.Stop()
	}
	wasAdmitted := st.admitted
	if wasAdmitted {
		r.broadcastLocked(encode(TypeParticipantLeft, "", LeftData{ParticipantID: st.claims.ParticipantID, Reason: reason}), nil)
	} else {
		r.lobbyUpdateLocked()
	}
	r.mu.Unlock()
	r.s.dropResume(st.resume)
	r.media.Remove(st.claims.ParticipantID)
	if wasAdmitted {
		rctx, cancel := recordCtx(ctx)
		if err := r.s.rec.Left(rctx, st.claims, r.now(), reason); err != nil {
			r.log.Error("record left", "participant_id", st.claims.ParticipantID, "err", err)
		}
		cancel()
	}
	r.recMu.Unlock()
	r.mu.Lock()
	changed := r.pruneCaucusesLocked(st.claims.ParticipantID)
	if changed {
		r.sendCaucusStateLocked()
	}
	empty := r.markEmptyLocked()
	r.mu.Unlock()
	r.persist()
	if empty {
		r.closeEmpty(ctx)
	}
}

// markEmptyLocked marks the room closed if nobody is left in it (seated, waiting or
// within the reconnect grace).
func (r *room) markEmptyLocked() bool {
	if len(r.seats) > 0 || r.ended {
		return false
	}
	r.ended, r.emptied = true, true
	return true
}

// closeEmpty frees the media room and the placement of an empty room. The session is
// not ended: the next join opens a fresh room.
func (r *room) closeEmpty(ctx context.Context) {
	r.log.Info("room empty; closing it")
	r.media.Close()
	close(r.done)
	r.stopSaver(nil)
	r.s.forgetRoom(ctx, r, true)
}

// end closes the session for everyone: reason "ended" (by a moderator or the case API)
// or "shutdown".
func (r *room) end(ctx context.Context, reason string, by *Claims) {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	var final *roomSnapshot
	if reason == "shutdown" {
		snap := r.snapshotLocked()
		final = &snap
	}
	r.ended = true
	d := EndingData{Reason: reason}
	if by != nil {
		d.By = by.ParticipantID
	}
	var admitted []Claims
	for _, st := range r.seats {
		if st.grace != nil {
			st.grace.Stop()
		}
		if st.conn != nil {
			st.conn.send(encode(TypeSessionEnding, "", d))
			st.conn.closeAfterFlush(websocket.CloseGoingAway, reason)
		}
		if st.admitted {
			admitted = append(admitted, st.claims)
		}
	}
	r.seats = map[string]*seat{}
	r.mu.Unlock()
	leftReason := "session_ended"
	if reason == "shutdown" {
		leftReason = "shutdown"
	}
	for _, c := range admitted {
		rctx, cancel := recordCtx(ctx)
		if err := r.s.rec.Left(rctx, c, r.now(), leftReason); err != nil {
			r.log.Error("record left", "participant_id", c.ParticipantID, "err", err)
		}
		cancel()
	}
	r.media.Close()
	close(r.done)
	r.stopSaver(final)
	// A session that ended is forgotten by the cluster; one shut down with its node
	// stays, so that it can be rebuilt elsewhere.
	r.s.forgetRoom(ctx, r, reason != "shutdown")
}

// handOff closes the room on this node without ending the session: every client is
// told to reconnect (to url when known), nobody's leave is recorded, and the saved
// state stays for the node that takes the room over.
func (r *room) handOff(ctx context.Context, url string, save bool) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	snap := r.snapshotLocked()
	r.ended, r.moved = true, true
	d := ReconnectData{Reason: "drain", URL: url}
	for _, st := range r.seats {
		if st.grace != nil {
			st.grace.Stop()
		}
		if st.conn != nil {
			st.conn.send(encode(TypeReconnect, "", d))
			st.conn.closeAfterFlush(websocket.CloseServiceRestart, "reconnect")
		}
	}
	r.mu.Unlock()
	if save {
		r.stopSaver(&snap)
	} else {
		r.stopSaver(nil) // another node holds the room now: its state is newer than ours
	}
	r.media.Close()
	close(r.done)
	r.s.forgetRoom(ctx, r, false)
}

// handle serves one request of a joined connection.
func (r *room) handle(ctx context.Context, st *seat, c *conn, req Request) {
	reply := func(e *Error) {
		if e != nil {
			c.send(encode(TypeError, req.ID, e))
		}
	}
	switch req.Type {
	case TypePing:
		c.send(encode(TypePong, req.ID, req.Data))
		return
	case TypePong:
		return
	case TypeJoin:
		reply(errorf(CodeAlreadyJoined, "this connection has joined already"))
		return
	}
	r.mu.Lock()
	admitted, part, sig := st.admitted, st.part, st.sig
	current := st.conn == c
	r.mu.Unlock()
	if !current {
		reply(errorf(CodeBadState, "this connection no longer holds the seat"))
		return
	}
	if !admitted && !(part != nil && lobbyPreviewRequest(req)) {
		reply(errorf(CodeNotAdmitted, "%s: wait until a mediator admits you", req.Type))
		return
	}
	if req.Type == TypePublisherRestart {
		if err := part.RestartPublisher(); err != nil {
			reply(mediaError(err))
			return
		}
		sig.publisherRestarted()
		c.send(encode(TypeAck, req.ID, nil))
		return
	}
	if req.Type == TypeCaucusRecordConsent {
		if d, _ := req.Data.(*CaucusRef); d != nil {
			reply(r.caucusRecordConsent(ctx, st, c, req.ID, d.CaucusID))
		}
		return
	}
	switch d := req.Data.(type) {
	case *SDPData:
		if req.Type == TypeOffer {
			answer, err := part.HandleOffer(d.SDP, d.Tracks)
			if err != nil {
				reply(mediaError(err))
				return
			}
			c.send(encode(TypeAnswer, req.ID, SDPData{SDP: answer}))
			sig.publisherReady()
			return
		}
		reply(mediaError(part.SetAnswer(d.SDP)))
	case *CandidateData:
		reply(mediaError(part.AddCandidate(d.Transport, d.Candidate)))
	case *TrackRef:
		if err := r.media.Unpublish(st.claims.ParticipantID, d.TrackID); err != nil {
			reply(errorf(CodeNotFound, "no track %q of yours", d.TrackID))
			return
		}
		c.send(encode(TypeAck, req.ID, nil))
	case *MuteData:
		if !r.ownsTrack(st, d.TrackID) {
			reply(errorf(CodeNotFound, "no track %q of yours", d.TrackID))
			return
		}
		if err := r.media.MuteTrack(d.TrackID, d.Muted); err != nil {
			reply(mediaError(err))
			return
		}
		c.send(encode(TypeAck, req.ID, nil))
	case *RenderData:
		reply(mediaError(part.SetRenderSize(d.TrackID, d.Width, d.Height)))
	case *ChatData:
		if e := r.chat(ctx, st, d.Text); e != nil {
			reply(e)
			return
		}
		c.send(encode(TypeAck, req.ID, nil))
	default:
		if !st.claims.CanModerate {
			reply(errorf(CodeForbidden, "%s is for moderators", req.Type))
			return
		}
		if e := r.moderate(ctx, st, c, req); e != nil {
			reply(e)
			return
		}
	}
}

// lobbyPreviewRequest reports whether req is allowed while waiting with a lobby
// preview: publishing to the moderators, nothing else.
func lobbyPreviewRequest(req Request) bool {
	switch req.Type {
	case TypeOffer, TypeMute, TypeUnpublish, TypePublisherRestart:
		return true
	case TypeCandidate:
		d, _ := req.Data.(*CandidateData)
		return d != nil && d.Transport == TransportPublisher
	}
	return false
}

func (r *room) ownsTrack(st *seat, trackID string) bool {
	for _, t := range r.media.Tracks() {
		if t.ID == trackID {
			return t.Participant == st.claims.ParticipantID
		}
	}
	return false
}

func mediaError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrMediaNotAllowed):
		return errorf(CodeForbidden, "your token does not allow this")
	case errors.Is(err, ErrMediaUnknownTrack):
		return errorf(CodeNotFound, "unknown track")
	case errors.Is(err, ErrMediaBadDescription), errors.Is(err, ErrMediaBadCandidate):
		return errorf(CodeBadMessage, "%v", err)
	default:
		return errorf(CodeBadState, "%v", err)
	}
}

func scopeName(scope string) string {
	if scope == "" {
		return "joint"
	}
	return scope
}

// chat records a message with the sender's scope and, once it is stored, delivers it
// to everyone in that scope: caucus content stays in its caucus, and a message the
// record could not keep is refused (record_failed) rather than acknowledged and lost.
func (r *room) chat(ctx context.Context, st *seat, text string) *Error {
	scope := r.media.Scope(st.claims.ParticipantID)
	at := r.now()
	r.recMu.Lock()
	rctx, cancel := recordCtx(ctx)
	err := r.s.rec.Chat(rctx, st.claims, scopeName(scope), text, at)
	cancel()
	r.recMu.Unlock()
	if err != nil {
		r.log.Error("record chat", "participant_id", st.claims.ParticipantID, "err", err)
		return errorf(CodeRecordFailed, "the message could not be stored; try again")
	}
	msg := encode(TypeChat, "", ChatData{Text: text, From: st.claims.ParticipantID, Name: st.claims.Name,
		Role: st.claims.Role, Scope: scopeName(scope), At: at.UnixMilli()})
	r.mu.Lock()
	r.broadcastLocked(msg, func(o *seat) bool { return r.media.Scope(o.claims.ParticipantID) == scope })
	r.mu.Unlock()
	return nil
}

// moderate runs a moderator action.
func (r *room) moderate(ctx context.Context, st *seat, c *conn, req Request) *Error {
	switch d := req.Data.(type) {
	case *AdmitData:
		return r.admit(ctx, st, c, req.ID, d)
	case *RemoveData:
		r.mu.Lock()
		target := r.seats[d.ParticipantID]
		if target == nil {
			r.mu.Unlock()
			return errorf(CodeNotFound, "no participant %q", d.ParticipantID)
		}
		if target.conn != nil {
			target.conn.send(encode(TypeRemoved, "", EndingData{Reason: d.Reason, By: st.claims.ParticipantID}))
			target.conn.closeAfterFlush(websocket.CloseNormalClosure, "removed")
		}
		r.mu.Unlock()
		r.leave(ctx, target, "removed")
		c.send(encode(TypeAck, req.ID, nil))
	case *MuteParticipantData:
		r.mu.Lock()
		target := r.seats[d.ParticipantID]
		r.mu.Unlock()
		if target == nil || !target.admitted {
			return errorf(CodeNotFound, "no participant %q in the session", d.ParticipantID)
		}
		r.media.MuteParticipant(d.ParticipantID, d.Kind, d.Muted)
		action := "unmute"
		if d.Muted {
			action = "mute"
		}
		r.mu.Lock()
		if target.conn != nil {
			target.conn.send(encode(TypeModerated, "", ModeratedData{Action: action, Kind: d.Kind, By: st.claims.ParticipantID}))
		}
		r.mu.Unlock()
		c.send(encode(TypeAck, req.ID, nil))
	case *CaucusOpenData:
		return r.caucusOpen(ctx, st, c, req.ID, d)
	case *CaucusRef:
		if req.Type == TypeCaucusClose {
			return r.caucusClose(ctx, st, c, req.ID, d.CaucusID)
		}
		return r.caucusMove(ctx, st, c, req.ID, d.CaucusID)
	case nil:
		if req.Type == TypeEndSession {
			r.recMu.Lock()
			rctx, cancel := recordCtx(ctx)
			if err := r.s.rec.SessionEnded(rctx, st.claims, r.now()); err != nil {
				r.log.Error("record session ended", "err", err)
			}
			cancel()
			r.recMu.Unlock()
			c.send(encode(TypeAck, req.ID, nil))
			r.end(ctx, "ended", &st.claims)
			return nil
		}
		return errorf(CodeBadState, "unexpected %s", req.Type)
	default:
		return errorf(CodeBadState, "unexpected %s", req.Type)
	}
	return nil
}

// admit admits someone from the lobby once the admission (with its identity check) is
// recorded; the recording happens outside the room lock, with the seat marked so that
// a second admission of the same person waits its turn.
func (r *room) admit(ctx context.Context, by *seat, c *conn, ref string, d *AdmitData) *Error {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	target := r.seats[d.ParticipantID]
	if target == nil {
		r.mu.Unlock()
		return errorf(CodeNotFound, "nobody %q in the lobby", d.ParticipantID)
	}
	if target.admitted || target.admitting {
		r.mu.Unlock()
		return errorf(CodeBadState, "%q is already admitted", d.ParticipantID)
	}
	if e := d.IdentityCheck.check(); e != nil {
		r.mu.Unlock()
		return e
	}
	if d.IdentityCheck.Result != CheckPassed {
		r.mu.Unlock()
		return errorf(CodeIdentityCheck, "identity check %s: not admitted", d.IdentityCheck.Result)
	}
	if target.conn == nil {
		r.mu.Unlock()
		return errorf(CodeBadState, "%q is not connected", d.ParticipantID)
	}
	target.admitting = true
	who, byClaims := target.claims, by.claims
	r.mu.Unlock()

	rctx, cancel := recordCtx(ctx)
	err := r.s.rec.Admitted(rctx, who, byClaims, d.IdentityCheck, r.now())
	cancel()

	r.mu.Lock()
	target.admitting = false
	if err != nil {
		r.mu.Unlock()
		r.log.Error("record admission", "participant_id", d.ParticipantID, "err", err)
		return errorf(CodeRecordFailed, "the admission could not be recorded; try again")
	}
	if r.seats[d.ParticipantID] != target || target.conn == nil || r.ended {
		r.mu.Unlock()
		return errorf(CodeNotFound, "%q left the lobby", d.ParticipantID)
	}
	check := d.IdentityCheck
	target.check = &check
	if e := r.admitLocked(target, ""); e != nil {
		r.mu.Unlock()
		return e
	}
	r.lobbyUpdateLocked()
	c.send(encode(TypeAck, ref, nil))
	r.mu.Unlock()
	r.recordJoinedHeld(ctx, who)
	r.persist()
	return nil
}

func (r *room) caucusOpen(ctx context.Context, by *seat, c *conn, ref string, d *CaucusOpenData) *Error {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	members := slices.Clone(d.Members)
	slices.Sort(members)
	members = slices.Compact(members)
	for _, m := range members {
		st := r.seats[m]
		if st == nil || !st.admitted {
			r.mu.Unlock()
			return errorf(CodeNotFound, "no participant %q in the session", m)
		}
		if r.memberOfLocked(m) != "" {
			r.mu.Unlock()
			return errorf(CodeBadState, "%q is already in a caucus", m)
		}
	}
	r.nextCaucus++
	id := fmt.Sprintf("caucus-%d", r.nextCaucus)
	r.caucuses[id] = &caucus{id: id, members: members}
	scopes := map[string]string{by.claims.ParticipantID: id}
	for _, m := range members {
		scopes[m] = id
	}
	r.media.SetScopes(scopes)
	c.send(encode(TypeAck, ref, CaucusRef{CaucusID: id}))
	r.sendCaucusStateLocked()
	byClaims := by.claims
	r.mu.Unlock()
	r.persist()
	rctx, cancel := recordCtx(ctx)
	if err := r.s.rec.Caucus(rctx, byClaims, id, true, members, r.now()); err != nil {
		r.log.Error("record caucus", "caucus_id", id, "err", err)
	}
	cancel()
	return nil
}

func (r *room) caucusClose(ctx context.Context, by *seat, c *conn, ref, id string) *Error {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	cc := r.caucuses[id]
	if cc == nil {
		r.mu.Unlock()
		return errorf(CodeNotFound, "no open caucus %q", id)
	}
	delete(r.caucuses, id)
	if cc.recording {
		if mr, ok := r.media.(MediaCaucusRecorder); ok {
			mr.RecordCaucus(id, false)
		}
	}
	scopes := map[string]string{}
	for pid := range r.seats {
		if r.media.Scope(pid) == id {
			scopes[pid] = ""
		}
	}
	for _, m := range cc.members {
		scopes[m] = ""
	}
	r.media.SetScopes(scopes)
	c.send(encode(TypeAck, ref, nil))
	r.sendCaucusStateLocked()
	byClaims, members := by.claims, slices.Clone(cc.members)
	r.mu.Unlock()
	r.persist()
	rctx, cancel := recordCtx(ctx)
	if err := r.s.rec.Caucus(rctx, byClaims, id, false, members, r.now()); err != nil {
		r.log.Error("record caucus", "caucus_id", id, "err", err)
	}
	cancel()
	return nil
}

// caucusMove moves the moderator between caucuses and the joint room ("").
func (r *room) caucusMove(ctx context.Context, by *seat, c *conn, ref, id string) *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id != "" && r.caucuses[id] == nil {
		return errorf(CodeNotFound, "no open caucus %q", id)
	}
	if m := r.memberOfLocked(by.claims.ParticipantID); m != "" && m != id {
		return errorf(CodeBadState, "caucus members stay in their caucus until it closes")
	}
	// Whoever moves in hears what is said there: the record keeps them as one of the caucus's readers.
	if cr, ok := r.s.rec.(CaucusEntryRecorder); ok && id != "" {
		rctx, cancel := recordCtx(ctx)
		if err := cr.CaucusEntered(rctx, by.claims, id, r.now()); err != nil {
			r.log.Error("record caucus entry", "caucus_id", id, "err", err)
		}
		cancel()
	}
	// Someone who has not consented comes into a recorded caucus: its recording stops first (until they
	// consent too).
	if cc := r.caucuses[id]; cc != nil && cc.recording && !cc.consents[by.claims.ParticipantID] {
		cc.recording = false
		if mr, ok := r.media.(MediaCaucusRecorder); ok {
			mr.RecordCaucus(id, false)
		}
	}
	r.media.SetScopes(map[string]string{by.claims.ParticipantID: id})
	c.send(encode(TypeAck, ref, nil))
	r.sendCaucusStateLocked()
	r.persist()
	return nil
}

// caucusRecordConsent records that someone in caucus id consents to its separate recording; once everyone in
// it (its members and the moderators present) consented, the caucus is recorded apart from the joint room
// (MediaCaucusRecorder) until it closes or someone who has not consented moves in.
func (r *room) caucusRecordConsent(ctx context.Context, st *seat, c *conn, ref, id string) *Error {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	r.mu.Lock()
	pid := st.claims.ParticipantID
	cc := r.caucuses[id]
	if cc == nil {
		r.mu.Unlock()
		return errorf(CodeNotFound, "no open caucus %q", id)
	}
	if r.media.Scope(pid) != id {
		r.mu.Unlock()
		return errorf(CodeBadState, "only those in caucus %q consent to its recording", id)
	}
	if cc.consents == nil {
		cc.consents = map[string]bool{}
	}
	cc.consents[pid] = true
	start := false
	if !cc.recording && r.allConsentedLocked(cc) {
		cc.recording, start = true, true
		if mr, ok := r.media.(MediaCaucusRecorder); ok {
			mr.RecordCaucus(id, true)
		}
	}
	c.send(encode(TypeAck, ref, nil))
	r.sendCaucusStateLocked()
	by := st.claims
	r.mu.Unlock()
	if cr, ok := r.s.rec.(CaucusConsentRecorder); ok {
		rctx, cancel := recordCtx(ctx)
		if err := cr.CaucusRecordConsent(rctx, by, id, start, r.now()); err != nil {
			r.log.Error("record caucus consent", "caucus_id", id, "err", err)
		}
		cancel()
	}
	return nil
}

// allConsentedLocked reports whether every member of cc and everyone present in it consented.
func (r *room) allConsentedLocked(cc *caucus) bool {
	for _, m := range cc.members {
		if !cc.consents[m] {
			return false
		}
	}
	for pid, st := range r.seats {
		if st.admitted && r.media.Scope(pid) == cc.id && !cc.consents[pid] {
			return false
		}
	}
	return true
}

func (r *room) memberOfLocked(pid string) string {
	for id, cc := range r.caucuses {
		if slices.Contains(cc.members, pid) {
			return id
		}
	}
	return ""
}

// pruneCaucusesLocked drops a participant who left from caucus member lists.
func (r *room) pruneCaucusesLocked(pid string) bool {
	changed := false
	for _, cc := range r.caucuses {
		if i := slices.Index(cc.members, pid); i >= 0 {
			cc.members = slices.Delete(cc.members, i, i+1)
			changed = true
		}
	}
	return changed
}

func (r *room) caucusInfoLocked() []CaucusInfo {
	out := []CaucusInfo{}
	ids := make([]string, 0, len(r.caucuses))
	for id := range r.caucuses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ci := CaucusInfo{CaucusID: id, Members: slices.Clone(r.caucuses[id].members), Present: []string{}}
		for _, st := range r.sortedSeatsLocked() {
			if st.admitted && r.media.Scope(st.claims.ParticipantID) == id {
				ci.Present = append(ci.Present, st.claims.ParticipantID)
			}
		}
		out = append(out, ci)
	}
	return out
}

func (r *room) caucusStateFor(st *seat) CaucusStateData {
	scope := r.media.Scope(st.claims.ParticipantID)
	d := CaucusStateData{Caucuses: r.caucusInfoLocked(), Scope: scope}
	for i, ci := range d.Caucuses { // consents and recording only for those in the caucus
		if cc := r.caucuses[ci.CaucusID]; cc != nil && (ci.CaucusID == scope || slices.Contains(cc.members, st.claims.ParticipantID)) {
			for _, p := range ci.Present {
				if cc.consents[p] {
					d.Caucuses[i].RecordConsents = append(d.Caucuses[i].RecordConsents, p)
				}
			}
			d.Caucuses[i].Recording = cc.recording
		}
	}
	for _, o := range r.seats {
		if o.admitted && o.claims.CanModerate {
			if s := r.media.Scope(o.claims.ParticipantID); s != "" && s != scope {
				d.PrivateSession = true
			}
		}
	}
	return d
}

func (r *room) sendCaucusStateLocked() {
	for _, st := range r.seats {
		if st.admitted && st.conn != nil {
			st.conn.send(encode(TypeCaucusState, "", r.caucusStateFor(st)))
		}
	}
}

// mediaSignal carries the SFU's offers and candidates to one connection. It holds them
// until joined has been sent, and holds each transport's candidates until the
// description they belong to has been sent (offer or answer), so a client never gets a
// candidate it cannot apply yet.
type mediaSignal struct {
	c        *conn
	mu       sync.Mutex
	opened   bool
	pubReady bool
	subReady bool
	held     [][]byte // before open
	pubHeld  [][]byte
	subHeld  [][]byte
}

func (m *mediaSignal) open() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened = true
	for _, b := range m.held {
		m.c.send(b)
	}
	m.held = nil
	m.flushLocked()
}

// hold queues the SFU's offers and candidates again until the next open.
func (m *mediaSignal) hold() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened = false
}

func (m *mediaSignal) flushLocked() {
	if !m.opened {
		return
	}
	if m.pubReady {
		for _, b := range m.pubHeld {
			m.c.send(b)
		}
		m.pubHeld = nil
	}
	if m.subReady {
		for _, b := range m.subHeld {
			m.c.send(b)
		}
		m.subHeld = nil
	}
}

// publisherRestarted holds publisher candidates again until the answer to the new
// transport's offer has been sent.
func (m *mediaSignal) publisherRestarted() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pubReady = false
	m.pubHeld = nil
}

func (m *mediaSignal) publisherReady() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pubReady = true
	m.flushLocked()
}

// Offer implements MediaSignal.
func (m *mediaSignal) Offer(sdp string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := encode(TypeOffer, "", SDPData{SDP: sdp})
	if !m.opened {
		m.held = append(m.held, b)
		m.subReady = true
		return
	}
	m.c.send(b)
	m.subReady = true
	m.flushLocked()
}

// Candidate implements MediaSignal.
func (m *mediaSignal) Candidate(transport string, ci webrtc.ICECandidateInit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := encode(TypeCandidate, "", CandidateData{Transport: transport, Candidate: ci})
	ready := m.opened && (transport == TransportPublisher && m.pubReady || transport == TransportSubscriber && m.subReady)
	switch {
	case ready:
		m.c.send(b)
	case transport == TransportPublisher:
		m.pubHeld = append(m.pubHeld, b)
	default:
		m.subHeld = append(m.subHeld, b)
	}
}
