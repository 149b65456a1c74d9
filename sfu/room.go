package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// ErrUnknownParticipant is returned for a participant not in the room.
var ErrUnknownParticipant = errors.New("sfu: unknown participant")

// ErrUnknownTrack is returned for a track not in the room.
var ErrUnknownTrack = errors.New("sfu: unknown track")

// roomTick is the period of the speaker/allocation/quality loop.
const roomTick = 250 * time.Millisecond

// Room is one session's media: participants, their published tracks, the caucus scopes
// that gate forwarding, and the room's video codec.
type Room struct {
	id      string
	e       *Engine
	log     *slog.Logger
	onEvent func(Event)
	tap     Tap        // set at creation (Engine.SetTap), or nil
	capMu   sync.Mutex // serialises syncCaucusTaps

	mu     sync.Mutex
	parts  map[string]*Participant
	tracks map[string]*Track
	scopes map[string]string // participant → caucus ID ("" = joint room)
	// recCaucus are the caucuses recorded with every member's consent (RecordCaucus).
	recCaucus map[string]bool
	decoders  map[string][]string
	codec     string
	speakers  map[string]*speakerState
	quality   map[string]string
	closed    bool
	done      chan struct{}
	wg        sync.WaitGroup
}

func newRoom(e *Engine, id string, onEvent func(Event)) *Room {
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	r := &Room{
		id: id, e: e, log: e.log.With("session_id", id), onEvent: onEvent,
		parts: map[string]*Participant{}, tracks: map[string]*Track{}, scopes: map[string]string{}, recCaucus: map[string]bool{},
		decoders: map[string][]string{}, speakers: map[string]*speakerState{}, quality: map[string]string{},
		done: make(chan struct{}),
	}
	r.codec = settleVideoCodec(e.cfg.allows, nil)
	if e.tapFor != nil {
		r.tap = e.tapFor(id)
	}
	r.wg.Add(1)
	go r.loop()
	return r
}

// ID returns the session ID the room serves.
func (r *Room) ID() string { return r.id }

func (r *Room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Room) counts() (participants, tracks int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.parts), len(r.tracks)
}

// VideoCodec returns the codec video publishers must use ("VP8" or "H264").
func (r *Room) VideoCodec() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.codec
}

// ScopeLobby is the scope of a participant waiting in the lobby who shows camera and
// microphone for the identity check (OMR Art. 17): its media reaches only participants
// with CanModerate, and it receives nothing at all (not even an m-section). Moving it to
// another scope (admission) subscribes it, and the others to it.
const ScopeLobby = "lobby"

// ParticipantOptions are a participant's media permissions and capabilities.
type ParticipantOptions struct {
	CanPublish   bool
	CanSubscribe bool
	// CanModerate lets the participant receive lobby media (ScopeLobby).
	CanModerate bool
	// Lobby seats the participant in ScopeLobby (unless it already has a scope).
	Lobby bool
	// Decode lists the video codecs the client can decode; empty means VP8 and H264.
	Decode []string
}

// Join seats a participant, or reseats it with fresh transports if the ID is already
// in the room (reconnect): its published tracks, caucus scope and subscriptions are
// kept, so the others notice nothing.
func (r *Room) Join(id string, opts ParticipantOptions, sig Signal) (*Participant, error) {
	if sig == nil {
		return nil, fmt.Errorf("sfu: join %s: nil signal", id)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	old := r.parts[id]
	r.mu.Unlock()
	if old != nil {
		old.closeTransports()
	}
	p, err := newParticipant(r, id, opts, sig)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.closeTransports()
		return nil, ErrClosed
	}
	r.parts[id] = p
	if _, ok := r.scopes[id]; !ok {
		r.scopes[id] = ""
		if opts.Lobby {
			r.scopes[id] = ScopeLobby
		}
	}
	r.decoders[id] = opts.Decode
	if _, ok := r.speakers[id]; !ok {
		r.speakers[id] = &speakerState{}
	}
	codecEvent := r.settleLocked()
	var subs []*Track
	if opts.CanSubscribe && r.scopes[id] != ScopeLobby {
		for _, t := range r.tracks {
			if t.info.Participant != id && r.subscribesLocked(p, t.info.Participant) {
				subs = append(subs, t)
			}
		}
	}
	r.mu.Unlock()
	if codecEvent != "" {
		r.onEvent(Event{Kind: EventVideoCodec, Codec: codecEvent})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].info.ID < subs[j].info.ID })
	for _, t := range subs {
		p.subscribe(t)
	}
	if len(subs) > 0 {
		p.negotiate()
	}
	return p, nil
}

// settleLocked recomputes the room codec; it returns the new codec if it changed.
func (r *Room) settleLocked() string {
	decs := make([][]string, 0, len(r.decoders))
	for _, d := range r.decoders {
		decs = append(decs, d)
	}
	c := settleVideoCodec(r.e.cfg.allows, decs)
	if c == r.codec {
		return ""
	}
	r.codec = c
	return c
}

// Participant returns a seated participant.
func (r *Room) Participant(id string) (*Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[id]
	return p, ok
}

// Remove takes a participant out of the room: its transports close and its tracks are
// unpublished.
func (r *Room) Remove(id string) {
	r.mu.Lock()
	p := r.parts[id]
	delete(r.parts, id)
	delete(r.scopes, id)
	delete(r.decoders, id)
	delete(r.speakers, id)
	delete(r.quality, id)
	var gone []*Track
	for tid, t := range r.tracks {
		if t.info.Participant == id {
			gone = append(gone, t)
			delete(r.tracks, tid)
		}
	}
	others := r.participantsLocked()
	codecEvent := ""
	if p != nil {
		codecEvent = r.settleLocked()
	}
	r.mu.Unlock()
	if p != nil {
		p.closeTransports()
	}
	for _, t := range gone {
		r.dropTrack(t, others)
	}
	if codecEvent != "" {
		r.onEvent(Event{Kind: EventVideoCodec, Codec: codecEvent})
	}
}

func (r *Room) participantsLocked() []*Participant {
	out := make([]*Participant, 0, len(r.parts))
	for _, p := range r.parts {
		out = append(out, p)
	}
	return out
}

// dropTrack removes a track from every subscriber and announces it.
func (r *Room) dropTrack(t *Track, subs []*Participant) {
	t.close()
	for _, s := range subs {
		s.unsubscribe(t.info.ID)
	}
	info := t.Info()
	r.onEvent(Event{Kind: EventTrackUnpublished, Participant: info.Participant, Track: &info})
}

// publish registers (or finds) the track a publisher's transport just received.
func (r *Room) publish(p *Participant, clientTrackID, kind, mime string, clock uint32) (*Track, bool) {
	id := p.id + "/" + clientTrackID
	meta, hasMeta := p.metaFor(clientTrackID) // before r.mu: HandleOffer takes pubMu, then r.mu
	r.mu.Lock()
	t := r.tracks[id]
	var stale *Track
	if t != nil && t.mime != mime {
		stale, t = t, nil
	}
	isNew := t == nil
	if isNew {
		t = newTrack(r, r.e, TrackInfo{ID: id, Participant: p.id, Kind: kind, Codec: canonicalCodec(mime)}, mime, clock)
		if hasMeta {
			t.setMeta(meta)
		}
		t.tap.ok.Store(r.scopes[p.id] == "")
		r.tracks[id] = t
	}
	subs := r.participantsLocked()
	r.mu.Unlock()
	if stale != nil {
		r.dropTrack(stale, subs)
	}
	if isNew {
		r.openTap(t)
	}
	return t, isNew
}

// recodec republishes a track whose publisher switched codec on the same transceiver:
// the old Track is dropped (subscribers renegotiate) and a new one with the same ID
// takes over the receiver.
func (r *Room) recodec(old *Track, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, pc *webrtc.PeerConnection) {
	p, ok := r.Participant(old.info.Participant)
	if !ok {
		return
	}
	codec := remote.Codec()
	r.log.Info("publisher switched codec", "track_id", old.info.ID, "from", old.mime, "to", codec.MimeType)
	clientID := strings.TrimPrefix(old.info.ID, old.info.Participant+"/")
	t, isNew := r.publish(p, clientID, old.info.Kind, codec.MimeType, codec.ClockRate)
	t.attach(remote, recv, pc)
	if isNew {
		r.announce(t)
	}
}

// announce subscribes everyone else to a new track and tells the signalling layer.
func (r *Room) announce(t *Track) {
	r.mu.Lock()
	var subs []*Participant
	for _, s := range r.parts {
		if r.subscribesLocked(s, t.info.Participant) {
			subs = append(subs, s)
		}
	}
	r.mu.Unlock()
	for _, s := range subs {
		if s.id != t.info.Participant && s.opts.CanSubscribe {
			s.subscribe(t)
			s.negotiate()
		}
	}
	info := t.Info()
	r.onEvent(Event{Kind: EventTrackPublished, Participant: info.Participant, Track: &info})
}

// Unpublish removes one of a participant's tracks.
func (r *Room) Unpublish(participantID, trackID string) error {
	r.mu.Lock()
	t := r.tracks[trackID]
	if t == nil || t.info.Participant != participantID {
		r.mu.Unlock()
		return ErrUnknownTrack
	}
	delete(r.tracks, trackID)
	subs := r.participantsLocked()
	r.mu.Unlock()
	r.dropTrack(t, subs)
	return nil
}

// Tracks returns the published tracks.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	ts := make([]*Track, 0, len(r.tracks))
	for _, t := range r.tracks {
		ts = append(ts, t)
	}
	r.mu.Unlock()
	out := make([]TrackInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// MuteParticipant mutes (or unmutes) every track of kind ("audio", "video", or "" for
// both) a participant publishes. Muting is enforced here: no packet is forwarded.
func (r *Room) MuteParticipant(participantID, kind string, muted bool) int {
	r.mu.Lock()
	var ts []*Track
	for _, t := range r.tracks {
		if t.info.Participant == participantID && (kind == "" || t.info.Kind == kind) {
			ts = append(ts, t)
		}
	}
	r.mu.Unlock()
	for _, t := range ts {
		r.setMuted(t, muted)
	}
	return len(ts)
}

// MuteTrack mutes or unmutes one track.
func (r *Room) MuteTrack(trackID string, muted bool) error {
	r.mu.Lock()
	t := r.tracks[trackID]
	r.mu.Unlock()
	if t == nil {
		return ErrUnknownTrack
	}
	r.setMuted(t, muted)
	return nil
}

func (r *Room) setMuted(t *Track, muted bool) {
	if t.muted.Swap(muted) == muted {
		return
	}
	if !muted && t.isVideo {
		now := time.Now().UnixNano()
		for _, d := range t.downSnapshot() {
			d.mu.Lock()
			d.startWaitLocked(now)
			d.mu.Unlock()
		}
		for _, l := range t.layerSnapshot() {
			t.requestKeyframe(l, kfForce)
		}
	}
	info := t.Info()
	r.onEvent(Event{Kind: EventTrackMuted, Participant: info.Participant, Track: &info})
}

// SetScopes moves participants between the joint room (""), caucuses (any other
// value) and the lobby (ScopeLobby). Media flows only between participants with the same
// scope, and from the lobby to moderators. The permission of every (track, subscriber)
// pair is recomputed here, once, so the packet path only reads a precomputed flag. A
// participant leaving the lobby is subscribed to the room's tracks, and the others to
// its tracks.
func (r *Room) SetScopes(scopes map[string]string) {
	r.mu.Lock()
	var admitted []string
	for id, s := range scopes {
		if r.scopes[id] == ScopeLobby && s != ScopeLobby {
			admitted = append(admitted, id)
		}
		r.scopes[id] = s
	}
	retapped := r.applyScopesLocked()
	type sub struct {
		p *Participant
		t *Track
	}
	var subs []sub
	for _, id := range admitted {
		for _, t := range r.tracks {
			for _, p := range r.parts {
				pubIsNew := t.info.Participant == id && p.id != id
				subIsNew := p.id == id && t.info.Participant != id
				if (pubIsNew || subIsNew) && p.opts.CanSubscribe && r.subscribesLocked(p, t.info.Participant) {
					subs = append(subs, sub{p, t})
				}
			}
		}
	}
	r.mu.Unlock()
	for _, t := range retapped { // a recording resumes on a keyframe
		t.requestKeyframe(t.tap.layer.Load(), kfForce)
	}
	r.syncCaucusTaps()
	sort.Slice(subs, func(i, j int) bool { return subs[i].t.info.ID < subs[j].t.info.ID })
	touched := map[*Participant]bool{}
	for _, s := range subs {
		s.p.subscribe(s.t)
		touched[s.p] = true
	}
	for p := range touched {
		p.negotiate()
	}
}

// Scope returns a participant's current scope.
func (r *Room) Scope(participantID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.scopes[participantID]
}

// CanHear reports whether media of publisher currently reaches subscriber (scopes and
// the lobby rule; not mutes or bandwidth pauses).
func (r *Room) CanHear(subscriber, publisher string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forwardsLocked(subscriber, publisher)
}

// forwardsLocked is the scope rule: same scope, except that lobby media goes to
// moderators only and nothing goes to the lobby.
func (r *Room) forwardsLocked(sub, pub string) bool {
	ss, ps := r.scopes[sub], r.scopes[pub]
	switch {
	case ss == ScopeLobby:
		return false
	case ps == ScopeLobby:
		p := r.parts[sub]
		return p != nil && p.opts.CanModerate
	}
	return ss == ps
}

// subscribesLocked reports whether s gets a DownTrack (an m-section) for pub's tracks:
// never in the lobby, and lobby tracks only for moderators. Caucus scopes do not
// remove DownTracks (they only gate packets), so leaving a caucus needs no
// renegotiation.
func (r *Room) subscribesLocked(s *Participant, pub string) bool {
	if r.scopes[s.id] == ScopeLobby {
		return false
	}
	return r.scopes[pub] != ScopeLobby || s.opts.CanModerate
}

// applyScopesLocked recomputes every forwarding permission and whether each track may be
// tapped (its publisher is in the joint room); it returns the video tracks whose tap just
// reopened, which need a keyframe.
func (r *Room) applyScopesLocked() (retapped []*Track) {
	for _, t := range r.tracks {
		for _, d := range t.downSnapshot() {
			d.setAllowed(r.forwardsLocked(d.sub.id, t.info.Participant) && !d.sub.isPaused(t.info.ID))
		}
		joint := r.scopes[t.info.Participant] == ""
		if !t.tap.ok.Swap(joint) && joint && t.isVideo {
			retapped = append(retapped, t)
		}
	}
	return retapped
}

// refreshAllowed recomputes one DownTrack's permission (after a bandwidth pause
// changed).
func (r *Room) refreshAllowed(d *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d.setAllowed(r.forwardsLocked(d.sub.id, d.track.info.Participant) && !d.sub.isPaused(d.track.info.ID))
}

// allowed is the permission for a new DownTrack.
func (r *Room) allowed(sub, pub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forwardsLocked(sub, pub)
}

// Close closes every participant and stops the room.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	parts := r.participantsLocked()
	tracks := r.tracks
	r.parts = map[string]*Participant{}
	r.tracks = map[string]*Track{}
	close(r.done)
	r.mu.Unlock()
	for _, p := range parts {
		p.closeTransports()
	}
	for _, t := range tracks {
		t.closeTap()
	}
	if r.tap != nil {
		r.tap.Close()
	}
	r.wg.Wait()
	r.e.forgetRoom(r)
}

// loop runs speaker detection every tick, layer allocation every second and
// connection quality every two seconds.
func (r *Room) loop() {
	defer r.wg.Done()
	tk := time.NewTicker(roomTick)
	defer tk.Stop()
	for n := 1; ; n++ {
		select {
		case <-r.done:
			return
		case <-tk.C:
		}
		r.speakerTick()
		if n%4 == 0 {
			r.allocateTick(4 * roomTick)
		}
		if n%8 == 0 {
			r.qualityTick()
		}
	}
}

func (r *Room) speakerTick() {
	r.mu.Lock()
	type aud struct {
		pub string
		t   *Track
	}
	var auds []aud
	for _, t := range r.tracks {
		if !t.isVideo && r.scopes[t.info.Participant] != ScopeLobby {
			auds = append(auds, aud{t.info.Participant, t})
		}
	}
	subs := make([]string, 0, len(r.parts))
	for id := range r.parts {
		subs = append(subs, id)
	}
	states := r.speakers
	r.mu.Unlock()

	for _, a := range auds {
		a.t.smoothed = smooth(a.t.smoothed, a.t.levelSum.Swap(0), a.t.levelCnt.Swap(0))
		if a.t.muted.Load() {
			a.t.smoothed = 0
		}
	}
	var events []Event
	r.mu.Lock()
	for _, sub := range subs {
		st := states[sub]
		if st == nil {
			continue
		}
		var cands []speakerCandidate
		for _, a := range auds {
			// Only what sub can hear: same scope, not sub itself (one does not hear
			// oneself through the SFU).
			if a.pub != sub && r.forwardsLocked(sub, a.pub) {
				cands = append(cands, speakerCandidate{a.pub, a.t.smoothed})
			}
		}
		if who, level, changed := st.update(cands); changed {
			events = append(events, Event{Kind: EventActiveSpeaker, To: sub, Participant: who, Level: level - 127})
		}
	}
	r.mu.Unlock()
	for _, ev := range events {
		r.onEvent(ev)
	}
}

func (r *Room) allocateTick(period time.Duration) {
	r.mu.Lock()
	ts := make([]*Track, 0, len(r.tracks))
	for _, t := range r.tracks {
		ts = append(ts, t)
	}
	parts := r.participantsLocked()
	r.mu.Unlock()
	for _, t := range ts {
		t.measure(period)
	}
	now := time.Now()
	for _, p := range parts {
		p.allocate()
		p.sendReports(now)
	}
}

func (r *Room) qualityTick() {
	r.mu.Lock()
	parts := r.participantsLocked()
	pubTracks := map[string][]*Track{}
	for _, t := range r.tracks {
		pubTracks[t.info.Participant] = append(pubTracks[t.info.Participant], t)
	}
	r.mu.Unlock()
	var events []Event
	for _, p := range parts {
		var exp, got uint64
		for _, t := range pubTracks[p.id] {
			e, g := t.lossFraction()
			exp, got = exp+e, got+g
		}
		up := 0.0
		if exp > 0 && got < exp {
			up = float64(exp-got) / float64(exp)
		}
		down, rtt := p.downstream()
		loss := max(up, down)
		q := QualityExcellent
		switch {
		case !p.connected():
			q = QualityLost
		case loss > 0.08 || rtt > 600*time.Millisecond:
			q = QualityPoor
		case loss > 0.02 || rtt > 300*time.Millisecond:
			q = QualityGood
		}
		r.mu.Lock()
		changed := r.quality[p.id] != q
		r.quality[p.id] = q
		r.mu.Unlock()
		if changed {
			events = append(events, Event{Kind: EventConnectionQuality, Participant: p.id, Quality: q, Loss: loss, RTT: rtt})
		}
	}
	for _, ev := range events {
		r.onEvent(ev)
	}
}
