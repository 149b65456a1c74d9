package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Transport names used in Signal.Candidate and Participant.AddCandidate.
const (
	TransportPublisher  = rolePublisher
	TransportSubscriber = roleSubscriber
)

// ErrNotAllowed is returned when a participant lacks the permission for an action.
var ErrNotAllowed = errors.New("sfu: not allowed")

// ErrBadDescription and ErrBadCandidate wrap a client's SDP or ICE candidate that the
// WebRTC stack refused (malformed or unusable), as opposed to one out of order.
var (
	ErrBadDescription = errors.New("sfu: unusable session description")
	ErrBadCandidate   = errors.New("sfu: unusable ICE candidate")
)

// negotiationTimeout bounds how long a subscriber offer waits for its answer.
const negotiationTimeout = 10 * time.Second

// Signal carries the SFU's half of the WebRTC negotiation to one client. Calls may come
// from any goroutine and must not block for long (queue them).
type Signal interface {
	// Offer sends an offer for the subscriber transport; the client answers with
	// Participant.SetAnswer.
	Offer(sdp string)
	// Candidate sends a local ICE candidate of the publisher or subscriber transport.
	Candidate(transport string, c webrtc.ICECandidateInit)
}

// Participant is a seat's media: a publisher transport (client → SFU) and a subscriber
// transport (SFU → client). Two transports mean the client always offers on one and the
// SFU always offers on the other, so simultaneous publishing never causes glare.
type Participant struct {
	id   string
	room *Room
	opts ParticipantOptions
	sig  Signal
	log  *slog.Logger

	// pub is made by the first publisher offer (publisherLocked) and replaced by
	// RestartPublisher, both under pubMu; read it with Load. Until then it is nil: a
	// seat that may publish but does not (a viewer of a hearing) costs no transport and
	// none of the receive-side interceptors' timers (NACK, reports, TWCC: 21 wake-ups a
	// second each).
	pub atomic.Pointer[webrtc.PeerConnection]
	sub *webrtc.PeerConnection

	remb    atomic.Uint64
	rembAt  atomic.Int64
	rrLoss  atomic.Uint64 // sum of fraction-lost (x/256), for connection quality
	rrCount atomic.Uint64
	bwLoss  atomic.Uint64 // the same, for the bandwidth estimate
	bwCount atomic.Uint64
	lossBW  atomic.Int64 // loss-based estimate, bits/s
	lossPM  atomic.Int64 // downstream loss in the last allocation period, per mille
	// lossPeak is the highest lossPM of the last lossPeakPeriods periods: receiver reports come about once a
	// second, irregularly, and one that carries only the audio's block (which gets through) says 0 between the
	// video's losses, so the pause rule looks at the recent peak.
	lossPeak atomic.Int64
	rtt      atomic.Int64
	pubUp    atomic.Bool
	subUp    atomic.Bool
	// route is the subscriber transport's direct send path (nil: through Pion), made
	// when it connects and again when ICE selects another pair; routeMu orders those.
	route   atomic.Pointer[directRoute]
	routeMu sync.Mutex

	pubMu      sync.Mutex // serialises publisher offers
	pubPending []webrtc.ICECandidateInit
	meta       map[string]TrackMeta

	mu          sync.Mutex
	downs       map[string]*DownTrack
	senders     map[string]*webrtc.RTPSender
	negotiating bool
	pending     bool
	negGen      uint64
	subPending  []webrtc.ICECandidateInit
	closed      bool

	pauseMu sync.Mutex // a leaf lock (taken under Room.mu)
	paused  map[string]*pauseState
	backoff map[string]time.Duration
	short   map[string]int // consecutive allocation ticks a track's share fell short

	// Owned by the room loop (allocate): what was sent to this subscriber, to tell a
	// REMB that limits the link from one that only follows what little it receives.
	sentOctets uint64
	sentAt     time.Time
	sentRate   int // bits/s of media payload sent in the last allocation period
	lossAge    int // allocation periods since the last receiver report (lossPM holds its loss for up to 3)
	lossHist   [lossPeakPeriods]int64
	lossHistN  int
}

// pauseState is a video track paused for this subscriber because its estimate cannot
// carry the track's lowest layer.
type pauseState struct {
	since time.Time
	retry time.Duration // try again after this long even if the estimate did not recover
}

// Bandwidth pause rule: a video track pauses when its share of the estimate has been
// below 90 % of its lowest layer's bitrate for pauseTicks allocation periods (3 s: a
// sustained shortage, not a blip) while the link shows it is really constrained — the
// subscriber's own REMB caps the estimate below rembConstrained, below what is being sent,
// and its receiver reports show loss (see constrained; a delay-based estimate or loss alone also come
// from a busy CPU, not only from a thin link) — and resumes when the share reaches 120 % of it,
// or, to probe, after the retry time (4 s, doubling up to 32 s while pauses recur).
const (
	pauseRetryMin = 4 * time.Second
	pauseRetryMax = 32 * time.Second
	audioReserve  = 40_000 // bits/s kept for each audio track before video gets a share
	pauseTicks    = 3
	// pauseSettle: after the allocator picks another layer for a track, the link first
	// drains what the old one sent (loss, a low REMB); only a shortage that outlasts it
	// pauses the video.
	pauseSettle = 5 * time.Second
)

func newParticipant(r *Room, id string, opts ParticipantOptions, sig Signal) (*Participant, error) {
	p := &Participant{
		id: id, room: r, opts: opts, sig: sig, log: r.log.With("participant_id", id),
		meta: map[string]TrackMeta{}, downs: map[string]*DownTrack{}, senders: map[string]*webrtc.RTPSender{},
		paused: map[string]*pauseState{}, backoff: map[string]time.Duration{}, short: map[string]int{},
	}
	if opts.CanSubscribe {
		pc, err := r.e.newPeerConnection(roleSubscriber)
		if err != nil {
			return nil, err
		}
		p.sub = pc
		p.wire(pc, TransportSubscriber, &p.subUp)
		pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
			go p.refreshRoute() // (not on ICE's own goroutine: routeFor asks the agent)
		})
	}
	return p, nil
}

// refreshRoute works out the subscriber transport's direct route again.
func (p *Participant) refreshRoute() {
	p.routeMu.Lock()
	defer p.routeMu.Unlock()
	var r *directRoute
	if p.subUp.Load() {
		r = p.room.e.routeFor(p.sub)
	}
	p.setRoute(r)
}

// setRoute installs r (nil: none) as the direct route; the caller holds routeMu.
func (p *Participant) setRoute(r *directRoute) {
	old := p.route.Load()
	if old != nil && r != nil && old.same(r) {
		return // down tracks keep their SRTP contexts
	}
	p.route.Store(r)
	switch {
	case old == nil && r != nil:
		p.room.e.routes.Add(1)
	case old != nil && r == nil:
		p.room.e.routes.Add(-1)
	}
	if (old == nil) != (r == nil) {
		p.log.Debug("direct route", "on", r != nil)
	}
}

// ID returns the participant ID.
func (p *Participant) ID() string { return p.id }

func (p *Participant) wirePublisher(pc *webrtc.PeerConnection) {
	p.wire(pc, TransportPublisher, &p.pubUp)
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { p.onTrack(pc, remote, recv) })
}

func (p *Participant) wire(pc *webrtc.PeerConnection, transport string, up *atomic.Bool) {
	// A publisher transport replaced by RestartPublisher speaks no more.
	stale := func() bool { return transport == TransportPublisher && p.pub.Load() != pc }
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && !stale() {
			p.sig.Candidate(transport, c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if stale() {
			return
		}
		was := up.Swap(s == webrtc.PeerConnectionStateConnected)
		p.log.Debug("transport state", "transport", transport, "state", s.String())
		if transport == TransportSubscriber && !was && s == webrtc.PeerConnectionStateConnected {
			p.refreshRoute()
			p.subscriberUp()
		}
		if transport == TransportSubscriber && s != webrtc.PeerConnectionStateConnected {
			p.routeMu.Lock()
			p.setRoute(nil)
			p.routeMu.Unlock()
		}
		switch s {
		case webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateDisconnected,
			webrtc.PeerConnectionStateFailed:
			p.room.onEvent(Event{Kind: EventTransportState, Participant: p.id, Transport: transport, State: s.String()})
		}
	})
}

// subscriberUp asks every publisher this participant waits for for a keyframe, now that
// it can be delivered (a keyframe requested before arrived while nothing could be sent).
func (p *Participant) subscriberUp() {
	now := time.Now().UnixNano()
	for _, d := range p.downTracks() {
		d.transportUp(now)
	}
}

func (p *Participant) downTracks() []*DownTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*DownTrack, 0, len(p.downs))
	for _, d := range p.downs {
		out = append(out, d)
	}
	return out
}

// connected reports whether every negotiated transport is connected (a transport not
// negotiated yet — nothing published or nothing to receive — does not count).
func (p *Participant) connected() bool {
	if pub := p.pub.Load(); pub != nil && pub.RemoteDescription() != nil && !p.pubUp.Load() {
		return false
	}
	if p.sub != nil && p.sub.RemoteDescription() != nil && !p.subUp.Load() {
		return false
	}
	return true
}

func (p *Participant) metaFor(clientTrackID string) (TrackMeta, bool) {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	m, ok := p.meta[clientTrackID]
	return m, ok
}

// HandleOffer answers an offer for the publisher transport. tracks declares the
// source and simulcast layers of the offered tracks (optional). Video is constrained to
// the room's codec.
func (p *Participant) HandleOffer(sdp string, tracks []TrackMeta) (string, error) {
	if !p.opts.CanPublish {
		return "", ErrNotAllowed
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	pub, err := p.publisherLocked()
	if err != nil {
		return "", err
	}
	for _, m := range tracks {
		p.meta[m.TrackID] = m
		p.room.mu.Lock()
		t := p.room.tracks[p.id+"/"+m.TrackID]
		p.room.mu.Unlock()
		if t != nil {
			t.setMeta(m)
		}
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("sfu: publisher offer: %w: %w", ErrBadDescription, err)
	}
	codec := p.room.VideoCodec()
	var prefs []webrtc.RTPCodecParameters
	for _, c := range codecParams {
		if c.name == codec {
			cp := c.params
			cp.PayloadType = 0
			prefs = append(prefs, cp)
		}
	}
	for _, tr := range pub.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && len(prefs) > 0 {
			if err := tr.SetCodecPreferences(prefs); err != nil {
				p.log.Debug("codec preferences", "err", err)
			}
		}
	}
	answer, err := pub.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("sfu: publisher answer: %w", err)
	}
	if err := pub.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("sfu: publisher answer: %w", err)
	}
	for _, c := range p.pubPending {
		_ = pub.AddICECandidate(c)
	}
	p.pubPending = nil
	return answer.SDP, nil
}

// publisherLocked is the publisher transport, made now if this is the first offer. The
// caller holds pubMu; closeTransports marks the participant closed before it takes pubMu,
// so a transport made here is either seen and closed by it or never made.
func (p *Participant) publisherLocked() (*webrtc.PeerConnection, error) {
	if pub := p.pub.Load(); pub != nil {
		return pub, nil
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	pc, err := p.room.e.newPeerConnection(rolePublisher)
	if err != nil {
		return nil, err
	}
	p.pub.Store(pc)
	p.wirePublisher(pc)
	return pc, nil
}

// RestartPublisher replaces the publisher transport with a fresh one, for a client
// that must publish in another video codec and cannot renegotiate its transceivers (a
// PeerConnection's codec set is fixed at its first negotiation in some stacks, Pion
// among them). The client closes its publisher PeerConnection, makes a new one and
// offers on it (HandleOffer), with the same track IDs. Published tracks stay in the
// room: a track that comes back in the same codec continues for its viewers (from a
// keyframe), one in another codec is republished (unpublished, then published).
func (p *Participant) RestartPublisher() error {
	if !p.opts.CanPublish {
		return ErrNotAllowed
	}
	pc, err := p.room.e.newPeerConnection(rolePublisher)
	if err != nil {
		return err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		_ = pc.Close()
		return ErrClosed
	}
	p.pubMu.Lock()
	old := p.pub.Swap(pc)
	p.pubPending = nil
	p.pubUp.Store(false)
	p.wirePublisher(pc)
	p.pubMu.Unlock()
	if old != nil {
		_ = old.GracefulClose()
	}
	p.log.Info("publisher transport restarted")
	return nil
}

// SetAnswer applies the client's answer to the SFU's subscriber offer, then sends the
// next offer if changes queued up meanwhile.
func (p *Participant) SetAnswer(sdp string) error {
	if p.sub == nil {
		return ErrNotAllowed
	}
	p.mu.Lock()
	if !p.negotiating {
		p.mu.Unlock()
		return fmt.Errorf("sfu: answer without an offer in flight")
	}
	p.mu.Unlock()
	err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	p.mu.Lock()
	pendingCands := p.subPending
	p.subPending = nil
	p.negotiating = false
	again := p.pending
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("sfu: subscriber answer: %w: %w", ErrBadDescription, err)
	}
	for _, c := range pendingCands {
		_ = p.sub.AddICECandidate(c)
	}
	if p.subUp.Load() {
		p.refreshRoute() // the answer may have changed the header encryption (cryptex)
	}
	if again {
		p.negotiate()
	}
	return nil
}

// AddCandidate adds a remote ICE candidate for one of the transports.
func (p *Participant) AddCandidate(transport string, c webrtc.ICECandidateInit) error {
	switch transport {
	case TransportPublisher:
		if !p.opts.CanPublish {
			return ErrNotAllowed
		}
		p.pubMu.Lock()
		defer p.pubMu.Unlock()
		pub := p.pub.Load()
		if pub == nil || pub.RemoteDescription() == nil { // before the first offer: kept for it
			if len(p.pubPending) >= maxPendingCandidates {
				return fmt.Errorf("%w: too many before the offer", ErrBadCandidate)
			}
			p.pubPending = append(p.pubPending, c)
			return nil
		}
		return badCandidate(pub.AddICECandidate(c))
	case TransportSubscriber:
		if p.sub == nil {
			return ErrNotAllowed
		}
		p.mu.Lock()
		if p.sub.RemoteDescription() == nil {
			if len(p.subPending) >= maxPendingCandidates {
				p.mu.Unlock()
				return fmt.Errorf("%w: too many before the answer", ErrBadCandidate)
			}
			p.subPending = append(p.subPending, c)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		return badCandidate(p.sub.AddICECandidate(c))
	}
	return fmt.Errorf("sfu: unknown transport %q", transport)
}

// maxPendingCandidates bounds the candidates a client may send for a transport before
// its description: a browser gathers a handful per interface, so more is a broken or
// hostile client, and each one kept is memory until the description comes.
const maxPendingCandidates = 64

func badCandidate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrBadCandidate, err)
}

// SetRenderSize records the size at which the client renders a track (0×0: hidden);
// the layer allocator uses it for simulcast tracks.
func (p *Participant) SetRenderSize(trackID string, width, height int) error {
	p.mu.Lock()
	d := p.downs[trackID]
	p.mu.Unlock()
	if d == nil {
		return ErrUnknownTrack
	}
	d.renderHeight.Store(int32(max(height, 0)))
	video, audio := p.videoShareCount()
	p.allocateOne(d, p.estimate(), video, audio)
	return nil
}

// onTrack handles a track (or simulcast layer) arriving on the publisher transport.
func (p *Participant) onTrack(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	kind := "audio"
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = "video"
	}
	codec := remote.Codec()
	t, isNew := p.room.publish(p, remote.ID(), kind, codec.MimeType, codec.ClockRate)
	t.attach(remote, recv, pc)
	if isNew {
		p.room.announce(t)
	}
}

// subscribe adds a DownTrack for t to the subscriber transport (negotiated later).
func (p *Participant) subscribe(t *Track) {
	if p.sub == nil || !canDecode(p.opts.Decode, t.codec) {
		return
	}
	p.mu.Lock()
	if p.closed || p.downs[t.info.ID] != nil {
		p.mu.Unlock()
		return
	}
	d := newDownTrack(t, p)
	d.renderHeight.Store(-1)
	d.allowed.Store(p.room.allowed(p.id, t.info.Participant) && !p.isPaused(t.info.ID))
	sender, err := p.sub.AddTrack(d)
	if err != nil {
		p.mu.Unlock()
		p.log.Warn("subscribe", "track_id", t.info.ID, "err", err)
		return
	}
	p.downs[t.info.ID] = d
	p.senders[t.info.ID] = sender
	p.mu.Unlock()
	// No codec preferences here: Pion fixes a connection's codec set at its first
	// negotiation, so every subscriber offer lists all codecs (a later track may use
	// the other one after a room codec switch); Bind picks the track's own.
	// The keyframe request of a subscription is made when its DownTrack can deliver it:
	// at Bind on a connected transport, else when the transport connects. Asked before,
	// the keyframe would arrive while nothing can be written.
	t.addDown(d)
	go p.readSenderRTCP(d, sender)
}

// unsubscribe removes the DownTrack of a track and renegotiates.
func (p *Participant) unsubscribe(trackID string) {
	p.mu.Lock()
	d := p.downs[trackID]
	sender := p.senders[trackID]
	delete(p.downs, trackID)
	delete(p.senders, trackID)
	closed := p.closed
	p.mu.Unlock()
	if d == nil {
		return
	}
	d.track.removeDown(d)
	d.detach()
	if !closed && sender != nil {
		_ = p.sub.RemoveTrack(sender)
		p.negotiate()
	}
}

// negotiate sends a subscriber offer, or marks one pending if an offer is in flight:
// changes made meanwhile are coalesced into the next offer.
func (p *Participant) negotiate() {
	if p.sub == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if p.negotiating {
		p.pending = true
		p.mu.Unlock()
		return
	}
	p.negotiating, p.pending = true, false
	p.negGen++
	gen := p.negGen
	p.mu.Unlock()

	offer, err := p.sub.CreateOffer(nil)
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Warn("subscriber offer", "err", err)
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		return
	}
	time.AfterFunc(negotiationTimeout, func() {
		p.mu.Lock()
		stuck := p.negotiating && p.negGen == gen && !p.closed
		if stuck {
			p.negotiating = false
			p.pending = false
		}
		p.mu.Unlock()
		if stuck {
			p.log.Warn("subscriber answer timed out; offering again")
			p.negotiate()
		}
	})
	p.sig.Offer(offer.SDP)
}

// readSenderRTCP handles a subscriber's feedback for one forwarded track: keyframe
// requests go to the publisher (throttled), NACKs are answered from the track's packet
// cache, REMB and receiver reports feed the layer allocator and the connection quality.
func (p *Participant) readSenderRTCP(d *DownTrack, sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch v := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.room.e.subKeyframeReqs.Add(1)
				d.track.requestKeyframeFor(d, kfSubscriber)
			case *rtcp.TransportLayerNack:
				if d.track.isVideo {
					p.answerNack(d, v)
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.remb.Store(uint64(v.Bitrate))
				p.rembAt.Store(time.Now().UnixNano())
			case *rtcp.ReceiverReport:
				for _, rr := range v.Reports {
					p.noteReport(rr)
				}
			}
		}
	}
}

// answerNack resends the packets a subscriber reports lost, from the shared cache.
func (p *Participant) answerNack(d *DownTrack, n *rtcp.TransportLayerNack) {
	e := p.room.e
	var asked, sent uint64
	for i := range n.Nacks {
		n.Nacks[i].Range(func(seq uint16) bool {
			asked++
			if d.retransmit(seq) {
				sent++
			}
			return true
		})
	}
	e.nacks.Add(asked)
	e.retransmits.Add(sent)
}

// sendReports sends one RTCP sender report per forwarded track (room loop, every
// second): what Pion's report interceptor did with a lock on every packet, done here from
// the DownTracks' counters.
func (p *Participant) sendReports(now time.Time) {
	if p.sub == nil || !p.subUp.Load() {
		return
	}
	var pkts []rtcp.Packet
	for _, d := range p.downTracks() {
		if sr, ok := d.senderReport(now); ok {
			pkts = append(pkts, sr)
		}
	}
	if len(pkts) == 0 {
		return
	}
	if err := p.sub.WriteRTCP(pkts); err == nil {
		p.room.e.reports.Add(uint64(len(pkts)))
	}
}

func (p *Participant) noteReport(rr rtcp.ReceptionReport) {
	p.room.e.lossSum.Add(uint64(rr.FractionLost))
	p.room.e.lossReports.Add(1)
	p.rrLoss.Add(uint64(rr.FractionLost))
	p.rrCount.Add(1)
	p.bwLoss.Add(uint64(rr.FractionLost))
	p.bwCount.Add(1)
	if rr.LastSenderReport != 0 {
		now := ntpMiddle(time.Now())
		if d := now - rr.LastSenderReport - rr.Delay; d < 65536*10 {
			p.rtt.Store(int64(time.Duration(d) * time.Second / 65536))
		}
	}
}

// ntpTime returns the 64-bit NTP timestamp of t.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// ntpMiddle returns the middle 32 bits of the NTP timestamp of t (RFC 3550 §6.4.1).
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// downstream returns the mean loss fraction reported since the last call and the RTT.
func (p *Participant) downstream() (float64, time.Duration) {
	sum, n := p.rrLoss.Swap(0), p.rrCount.Swap(0)
	loss := 0.0
	if n > 0 {
		loss = float64(sum) / float64(n) / 256
	}
	return loss, time.Duration(p.rtt.Load())
}

// estimate returns the subscriber's available bandwidth in bits/s, from the RTCP the
// subscriber sends anyway: a loss-based estimate kept here from the fraction lost in its
// receiver reports (grow 8 % per update below 2 % loss, hold up to 10 %, cut by half the
// loss above), capped by a recent REMB (the receiver's own delay-based estimate: the
// subscriber transport does not negotiate transport-wide feedback, so browsers send
// REMB). Nothing of it costs per forwarded packet; Pion's send-side GCC, which did (a
// history insert and a pacer call per packet, 5 µs), is not used.
func (p *Participant) estimate() int {
	maxBW := p.room.e.cfg.MaxVideoBitrate
	est := int(p.lossBW.Load())
	if est == 0 {
		est = min(1_500_000, maxBW)
	}
	if at := p.rembAt.Load(); at != 0 && time.Since(time.Unix(0, at)) < 5*time.Second {
		est = min(est, int(p.remb.Load()))
	}
	return max(est, 50_000)
}

// updateLossEstimate folds the receiver reports since the last call into the
// loss-based estimate (called once per allocation period).
func (p *Participant) updateLossEstimate() {
	sum, n := p.bwLoss.Swap(0), p.bwCount.Swap(0)
	cur := p.lossBW.Load()
	if cur == 0 {
		cur = int64(min(1_500_000, p.room.e.cfg.MaxVideoBitrate))
	}
	if p.lossAge++; p.lossAge > 3 {
		p.lossPM.Store(0) // no receiver report for 3 periods: no loss known (a browser reports about once a second, irregularly)
	}
	if n > 0 {
		p.lossAge = 0
		loss := float64(sum) / float64(n) / 256
		p.lossPM.Store(int64(loss * 1000))
		switch {
		case loss < 0.02:
			cur = cur * 108 / 100
		case loss > 0.10:
			cur = int64(float64(cur) * (1 - 0.5*loss))
		}
	}
	cur = min(max(cur, 50_000), int64(p.room.e.cfg.MaxVideoBitrate))
	p.lossBW.Store(cur)
	p.lossHist[p.lossHistN%lossPeakPeriods] = p.lossPM.Load()
	p.lossHistN++
	peak := int64(0)
	for _, v := range p.lossHist {
		peak = max(peak, v)
	}
	p.lossPeak.Store(peak)
}

func (p *Participant) videoShareCount() (video, audio int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.downs {
		if !d.allowed.Load() {
			continue
		}
		if d.track.isVideo {
			video++
		} else {
			audio++
		}
	}
	return video, audio
}

// allocate chooses a simulcast layer for each forwarded video track.
func (p *Participant) allocate() {
	p.mu.Lock()
	downs := make([]*DownTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	p.mu.Unlock()
	p.updateLossEstimate()
	p.measureSent(downs, time.Now())
	est := p.estimate()
	video, audio := p.videoShareCount()
	for _, d := range downs {
		p.allocateOne(d, est, video, audio)
		p.pauseCheck(d, est, video, audio, time.Now())
	}
}

// rembConstrained is the REMB below which a subscriber's own estimate counts as a thin
// link. Browsers send REMB as their normal receive-side estimate (the subscriber transport
// offers no transport-cc); it trails what they receive and dips on a busy CPU, and loss on
// a busy machine comes from the CPU as often as from the link, so neither an ordinary REMB
// nor loss alone pauses video (loss lowers the layer instead): only a REMB below this does.
const rembConstrained = 200_000

// pauseLossPM is the downstream loss (per mille, from the subscriber's receiver reports)
// that must come with a constraining REMB before video pauses: a link that cannot carry
// the lowest layer loses packets at its queue; a REMB that only dips (a delay-based
// estimator draining a queue after a layer switch) loses none, and the low layer then
// plays on.
const pauseLossPM = 50

// lossPeakPeriods is how many allocation periods (seconds) the pause rule's loss looks back.
const lossPeakPeriods = 5

// measureSent updates the media rate sent to this subscriber over the last allocation
// period (called by allocate only).
func (p *Participant) measureSent(downs []*DownTrack, now time.Time) {
	var total uint64
	for _, d := range downs {
		d.mu.Lock()
		total += d.octets
		d.mu.Unlock()
	}
	if el := now.Sub(p.sentAt); !p.sentAt.IsZero() && el > 0 && total >= p.sentOctets {
		p.sentRate = int(float64(total-p.sentOctets) * 8 / el.Seconds())
	}
	p.sentOctets, p.sentAt = total, now
}

// constrained reports whether the subscriber's link shows a real limit: a recent REMB at
// or below the estimate, below rembConstrained and below the lowest layer (low) itself (the
// whole estimate cannot carry one such video), while more is being sent than the REMB
// allows, and packets are being lost (pauseLossPM). A browser's REMB is its receive-side estimate and
// follows what it receives (Chrome caps it near 1.5 × the incoming rate): with only audio
// arriving (a caucus elsewhere, a probe after a pause) it is low without any thin link,
// and after a probe starts it climbs from there; neither loses packets, so neither pauses.
// (Whether the REMB climbs is no sign either way: on a thin link it saws up and down.)
func (p *Participant) constrained(est, low int) bool {
	at := p.rembAt.Load()
	remb := int(p.remb.Load())
	return at != 0 && time.Since(time.Unix(0, at)) < 5*time.Second && remb <= est && remb < min(rembConstrained, low) &&
		p.sentRate > remb*5/4 && p.lossPeak.Load() >= pauseLossPM
}

// isPaused reports whether trackID is paused for this subscriber for lack of bandwidth.
func (p *Participant) isPaused(trackID string) bool {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	return p.paused[trackID] != nil
}

// pauseCheck pauses or resumes one video DownTrack by the bandwidth pause rule and
// tells the subscriber.
func (p *Participant) pauseCheck(d *DownTrack, est, video, audio int, now time.Time) {
	if !d.track.isVideo {
		return
	}
	ls := d.track.layerSnapshot()
	if len(ls) == 0 {
		return
	}
	low := int(ls[0].bitrate.Load())
	id := d.track.info.ID
	p.pauseMu.Lock()
	st := p.paused[id]
	change, pause := false, false
	switch {
	case st == nil && low > 0 && d.allowed.Load():
		share := (est - audio*audioReserve) / max(video, 1)
		if share >= low*9/10 || !p.constrained(est, low) || d.settling(now, pauseSettle) {
			delete(p.short, id)
			break
		}
		p.short[id]++
		if p.short[id] >= pauseTicks {
			delete(p.short, id)
			retry := max(p.backoff[id], pauseRetryMin)
			p.paused[id] = &pauseState{since: now, retry: retry}
			change, pause = true, true
		}
	case st != nil:
		share := (est - audio*audioReserve) / (video + 1) // as if it were forwarded again
		recovered := low == 0 || share >= low*12/10
		if recovered || now.Sub(st.since) >= st.retry {
			delete(p.paused, id)
			if recovered {
				delete(p.backoff, id)
			} else {
				p.backoff[id] = min(st.retry*2, pauseRetryMax) // a probe: if it pauses again, wait longer
			}
			change = true
		}
	}
	p.pauseMu.Unlock()
	if !change {
		return
	}
	p.room.refreshAllowed(d)
	p.log.Debug("bandwidth pause", "track_id", id, "paused", pause, "estimate", est, "lowest_layer", low)
	info := d.track.Info()
	p.room.onEvent(Event{Kind: EventVideoPaused, To: p.id, Participant: info.Participant, Track: &info, Paused: pause})
}

// allocateOne gives d an equal share of the estimate and picks the highest layer that
// fits both the share and the render size.
func (p *Participant) allocateOne(d *DownTrack, est, video, audio int) {
	if !d.track.isVideo {
		return
	}
	ls := d.track.layerSnapshot()
	if len(ls) == 0 {
		return
	}
	share := (est - audio*40_000) / max(video, 1)
	d.setTarget(chooseLayer(ls, share, int(d.renderHeight.Load())))
}

// chooseLayer picks from layers (low → high) the highest whose measured bitrate fits
// share and which is not larger than needed for renderHeight (-1: unknown, 0: hidden).
func chooseLayer(ls []*layer, share, renderHeight int) *layer {
	top := len(ls) - 1
	switch {
	case renderHeight == 0:
		top = 0
	case renderHeight > 0:
		heights := true
		for _, l := range ls {
			heights = heights && l.height > 0
		}
		if heights {
			for i, l := range ls {
				if l.height >= renderHeight {
					top = i
					break
				}
			}
		} else {
			switch {
			case renderHeight <= 200:
				top = 0
			case renderHeight <= 400:
				top = min(1, top)
			}
		}
	}
	chosen := ls[0]
	for _, l := range ls[:top+1] {
		if int(l.bitrate.Load()) <= share {
			chosen = l
		}
	}
	return chosen
}

// closeTransports closes both transports; published Tracks stay in the room.
func (p *Participant) closeTransports() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	downs := p.downs
	p.downs = map[string]*DownTrack{}
	p.senders = map[string]*webrtc.RTPSender{}
	p.mu.Unlock()
	for _, d := range downs {
		d.track.removeDown(d)
		d.detach()
	}
	p.pubMu.Lock()
	pub := p.pub.Load()
	p.pubMu.Unlock()
	if pub != nil {
		_ = pub.GracefulClose()
	}
	if p.sub != nil {
		_ = p.sub.GracefulClose()
		p.routeMu.Lock()
		p.setRoute(nil)
		p.routeMu.Unlock()
	}
}
