package sfu

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

type writeResult uint8

const (
	writeOK       writeResult = iota
	writeDirect               // encrypted into the caller's sendBatch: out when it is flushed
	writeFiltered             // deliberately not forwarded (caucus, other layer, waiting for keyframe)
	writeDropped              // should have gone out but could not
)

// errCodecMismatch is returned by Bind when the subscriber did not accept the track's codec.
var errCodecMismatch = errors.New("sfu: subscriber does not accept the track codec")

// DownTrack forwards one Track to one subscriber. It implements webrtc.TrackLocal and
// rewrites SSRC, payload type, sequence numbers and timestamps so that layer switches,
// caucus gating and publisher reconnects appear to the subscriber as one continuous stream.
type DownTrack struct {
	track *Track
	sub   *Participant

	// allowed is the precomputed forwarding permission (caucus); read on every packet.
	allowed atomic.Bool
	// renderHeight is the height the subscriber renders the track at (0: unknown).
	renderHeight atomic.Int32

	// up is the subscriber transport's connected flag (nil: always up, in unit tests).
	// Pion's writer drops packets silently until SRTP runs, so nothing is written before:
	// a keyframe written into that void would leave the subscriber waiting.
	up *atomic.Bool
	// route is the subscriber transport's direct route (nil holder: never direct).
	route *atomic.Pointer[directRoute]

	mu       sync.Mutex
	writer   webrtc.TrackLocalWriter
	ssrc     uint32
	pt       uint8
	levelExt uint8
	current  *layer // layer being forwarded
	target   *layer // layer wanted; switch happens on its next keyframe
	needKF   bool   // video: wait for a keyframe before forwarding (start, resume, resync)
	resync   bool   // audio: recompute offsets on the next packet
	started  bool
	lastSeq  uint16
	lastTS   uint32
	lastAt   int64
	seqOff   uint16
	tsOff    uint32
	ext      [1]rtp.Extension
	hdr      rtp.Header // reused per packet (the write is synchronous): no allocation
	packets  uint64
	octets   uint64
	// waitSince is when the current keyframe wait began (unix nanos; 0: not waiting, or
	// waiting for the transport first).
	waitSince int64
	waiting   bool // counted in the engine's KeyframesWaiting gauge
	// retargetAt is when the allocator last chose another layer (unix nanos): the bandwidth
	// pause waits for such a switch to settle.
	retargetAt int64
	// segs maps outgoing sequence numbers back to the publisher's (NACK answers): one
	// entry per run of packets forwarded with the same offsets, newest last.
	segs    [4]segment
	segN    int
	nackBuf []byte
	rtxAt   []int64 // per cache slot: when that packet was last sent again (unix nanos)
	rtxHdr  rtp.Header

	// The direct send path (direct.go). roc is the SRTP rollover counter of lastSeq: the
	// number of times the outgoing sequence numbers wrapped since the first packet.
	roc       uint32
	pionSeen  bool          // Pion's SRTP session has encrypted a packet of this stream
	sincePion uint32        // packets sent direct since the last one through Pion
	srtp      *srtp.Context // AES-CM-HMAC routes: Pion's context, of srtpFor, for srtpSSRC
	srtpFor   *directRoute
	srtpSSRC  uint32
	encHdr    rtp.Header // EncryptRTP's scratch header
	gcm       *gcmSender // AES-GCM routes: our own sender, of gcmFor
	gcmFor    *directRoute
}

// rtxMinInterval is the least time between two retransmissions of one packet to one
// subscriber: a receiver that repeats its NACK before the first answer could arrive (or
// that cannot keep up) must not turn the SFU into an amplifier.
const rtxMinInterval = 100 * time.Millisecond

// segment is a run of forwarded packets sharing the same sequence and timestamp offsets
// and source layer.
type segment struct {
	from   uint16 // first outgoing sequence number
	seqOff uint16
	tsOff  uint32
	l      *layer
	epoch  uint32
}

func newDownTrack(t *Track, sub *Participant) *DownTrack {
	d := &DownTrack{track: t, sub: sub}
	if sub != nil {
		d.up = &sub.subUp
		d.route = &sub.route
	}
	d.mu.Lock()
	d.startWaitLocked(0)
	d.mu.Unlock()
	if ls := t.layerSnapshot(); len(ls) > 0 {
		d.target = ls[0]
		if len(ls) == 1 {
			d.current = ls[0]
		}
	}
	return d
}

// Bind is called by Pion when the subscriber's transport negotiated the track.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var chosen *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.track.mime) {
			chosen = &c
			break
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, errCodecMismatch
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writer = ctx.WriteStream()
	if ssrc := uint32(ctx.SSRC()); ssrc != d.ssrc {
		// Another stream for Pion's SRTP session: its counters and rollover start again.
		d.ssrc = ssrc
		d.packets, d.octets, d.roc, d.pionSeen, d.sincePion = 0, 0, 0, false, 0
	}
	d.pt = uint8(chosen.PayloadType)
	d.levelExt = 0
	for _, ext := range ctx.HeaderExtensions() {
		if ext.URI == audioLevelURI {
			d.levelExt = uint8(ext.ID)
		}
	}
	d.startWaitLocked(time.Now().UnixNano())
	if d.up == nil || d.up.Load() {
		// Bound on a connected transport (a track added later): it can receive now.
		// Otherwise the request goes out when the transport connects (transportUp).
		go d.track.requestKeyframeFor(d, kfReady)
	}
	return *chosen, nil
}

// Unbind is called by Pion when the track is removed from the transport.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.writer = nil
	d.mu.Unlock()
	return nil
}

// ID is the room-unique track ID.
func (d *DownTrack) ID() string { return d.track.info.ID }

// RID is empty: a subscriber receives one layer.
func (d *DownTrack) RID() string { return "" }

// StreamID is the publisher's participant ID (the MediaStream the client groups by).
func (d *DownTrack) StreamID() string { return d.track.info.Participant }

// Kind is audio or video.
func (d *DownTrack) Kind() webrtc.RTPCodecType {
	if d.track.isVideo {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// setAllowed updates the caucus permission. Turning it on makes video wait for a
// keyframe (requested at once) and rebases sequence numbers and timestamps.
func (d *DownTrack) setAllowed(v bool) {
	if d.allowed.Load() == v {
		return
	}
	d.mu.Lock()
	if !v {
		d.allowed.Store(false)
		if d.waiting { // a gated DownTrack does not wait
			d.waiting = false
			d.track.stats.kfWaiting.Add(-1)
		}
		d.mu.Unlock()
		return
	}
	// Wait first, then open: no packet may pass between the two (a delta frame first).
	d.startWaitLocked(time.Now().UnixNano())
	d.resync = !d.track.isVideo
	d.allowed.Store(true)
	d.mu.Unlock()
	d.track.requestKeyframeFor(d, kfForce)
}

// resyncLayer is called when layer l gets a new receiver (publisher reconnect): its
// sequence numbers and timestamps restart, so the subscriber waits for a keyframe.
func (d *DownTrack) resyncLayer(l *layer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.current == nil && d.target == nil {
		d.target = l
	}
	if d.current == l || d.current == nil {
		d.startWaitLocked(time.Now().UnixNano())
		d.resync = !d.track.isVideo
		if !d.track.isVideo {
			d.current = l
		}
	}
}

// settling reports whether the allocator chose another layer for d within the last
// window: the link is still draining what the old layer sent.
func (d *DownTrack) settling(now time.Time, window time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.retargetAt != 0 && now.UnixNano()-d.retargetAt < int64(window)
}

// setTarget selects the layer to forward; the switch happens on its next keyframe.
func (d *DownTrack) setTarget(l *layer) {
	d.mu.Lock()
	changed := d.target != l
	d.target = l
	if changed {
		d.retargetAt = time.Now().UnixNano()
	}
	if d.current == nil && !d.track.isVideo {
		d.current = l
	}
	d.mu.Unlock()
	if changed && d.track.isVideo {
		d.track.requestKeyframe(l, kfForce)
	}
}

// wantedLayer is the layer whose keyframe the DownTrack waits for.
func (d *DownTrack) wantedLayer() *layer {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.target != nil {
		return d.target
	}
	return d.current
}

func (d *DownTrack) layers() (current, target *layer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current, d.target
}

// startWaitLocked makes a video DownTrack wait for a keyframe (start, resume, caucus
// open, publisher reconnect, lost keyframe). now 0 means the wait's clock starts when the
// subscriber transport comes up.
func (d *DownTrack) startWaitLocked(now int64) {
	if !d.track.isVideo {
		return
	}
	d.needKF = true
	if d.up != nil && !d.up.Load() {
		now = 0
	}
	d.waitSince = now
	if !d.waiting {
		d.waiting = true
		d.track.stats.kfWaiting.Add(1)
	}
}

// endWaitLocked records a finished wait: the keyframe that ends it is being forwarded.
func (d *DownTrack) endWaitLocked(now int64) {
	d.needKF = false
	if !d.waiting {
		return
	}
	d.waiting = false
	e := d.track.stats
	e.kfWaiting.Add(-1)
	e.kfWaits.Add(1)
	if d.waitSince != 0 && now > d.waitSince {
		e.kfWaitNanos.Add(uint64(now - d.waitSince))
	}
	d.waitSince = 0
}

// transportUp is called when the subscriber transport connected: a DownTrack waiting for
// a keyframe starts its wait clock and asks for one now that it can be delivered.
func (d *DownTrack) transportUp(now int64) {
	d.mu.Lock()
	waiting := d.needKF || (d.target != nil && d.target != d.current)
	if d.needKF && d.waitSince == 0 {
		d.waitSince = now
	}
	d.mu.Unlock()
	if waiting && d.track.isVideo {
		d.track.requestKeyframeFor(d, kfReady)
	}
}

// detach is called when the DownTrack leaves its track: a wait in progress is no longer
// counted as waiting.
func (d *DownTrack) detach() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.waiting {
		d.waiting = false
		d.track.stats.kfWaiting.Add(-1)
	}
	d.writer = nil
}

// write forwards one packet of layer l. It returns the bytes written, the outcome, and
// whether a keyframe should be requested from the publisher. It does not allocate.
func (d *DownTrack) write(l *layer, p *rtp.Packet, kf bool, now int64, out *sendBatch) (int, writeResult, bool) {
	if !d.allowed.Load() {
		return 0, writeFiltered, false
	}
	if d.up != nil && !d.up.Load() {
		return 0, writeFiltered, false // nothing can be delivered yet; asked again when up
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil {
		return 0, writeFiltered, false // not negotiated yet, or being removed
	}
	if d.track.isVideo {
		switch {
		case l != d.current:
			if l != d.target {
				return 0, writeFiltered, false
			}
			if !kf { // waiting to switch: keep asking (throttled, backing off) in case a keyframe was lost
				return 0, writeFiltered, true
			}
			d.current = l
			d.endWaitLocked(now)
			d.rebase(l, p, now)
		case d.needKF:
			if !kf {
				return 0, writeFiltered, true
			}
			d.endWaitLocked(now)
			d.rebase(l, p, now)
		}
	} else {
		if d.current == nil {
			d.current = l
		}
		if l != d.current {
			return 0, writeFiltered, false
		}
		if d.resync || !d.started {
			d.resync = false
			d.rebase(l, p, now)
		}
	}
	if len(p.Payload) == 0 {
		d.seqOff++ // padding-only probe: drop it without leaving a sequence gap
		d.pushSegment(d.lastSeq+1, l)
		return 0, writeFiltered, false
	}
	hdr := &d.hdr
	*hdr = rtp.Header{
		Version:        2,
		Marker:         p.Marker,
		PayloadType:    d.pt,
		SequenceNumber: p.SequenceNumber - d.seqOff,
		Timestamp:      p.Timestamp - d.tsOff,
		SSRC:           d.ssrc,
	}
	if d.levelExt != 0 {
		if id := uint8(d.track.levelExt.Load()); id != 0 {
			if v := p.GetExtension(id); len(v) > 0 {
				hdr.Extensions = d.ext[:0:1] // reuse: no allocation per packet
				_ = hdr.SetExtension(d.levelExt, v)
			}
		}
	}
	if r := d.directRoute(out); r != nil {
		if n, ok := d.writeDirect(r, hdr, p.Payload, out); ok {
			d.sent(hdr, len(p.Payload), now)
			return n, writeDirect, false
		}
	}
	n, err := d.writer.WriteRTP(hdr, p.Payload)
	if err != nil || n == 0 {
		// n == 0 without an error is Pion's writer before SRTP runs: nothing went out.
		// Video must not go on with interframes after a lost keyframe: wait for (and ask
		// for) another one.
		if d.track.isVideo && !d.needKF {
			d.startWaitLocked(now)
			return 0, writeDropped, true
		}
		return 0, writeDropped, false
	}
	d.pionSeen, d.sincePion = true, 0
	d.sent(hdr, len(p.Payload), now)
	return n, writeOK, false
}

// sent accounts a packet written: the stream's newest sequence number (a late packet of
// the publisher's, forwarded out of order, leaves it), its rollover counter and the
// sender report's counters.
func (d *DownTrack) sent(hdr *rtp.Header, size int, now int64) {
	if d.packets == 0 || hdr.SequenceNumber-d.lastSeq < 0x8000 {
		if d.packets != 0 && hdr.SequenceNumber < d.lastSeq {
			d.roc++
		}
		d.lastSeq, d.lastTS, d.lastAt = hdr.SequenceNumber, hdr.Timestamp, now
	}
	d.packets++
	d.octets += uint64(size)
}

// rocOf is the rollover counter of outgoing sequence number seq, near lastSeq.
func (d *DownTrack) rocOf(seq uint16) uint32 {
	switch {
	case d.packets == 0:
		return 0
	case seq-d.lastSeq < 0x8000 && seq < d.lastSeq:
		return d.roc + 1 // ahead, past a wrap
	case seq-d.lastSeq >= 0x8000 && seq > d.lastSeq && d.roc > 0:
		return d.roc - 1 // behind, before the last wrap
	}
	return d.roc
}

// directRoute is the route this packet takes on the direct path, or nil when it goes
// through Pion: no batch (tests), no route, the stream's first packet, or its turn to
// keep Pion's SRTP state current.
func (d *DownTrack) directRoute(out *sendBatch) *directRoute {
	if out == nil || d.route == nil || !d.pionSeen || d.sincePion >= directSyncEvery {
		return nil
	}
	return d.route.Load()
}

// writeDirect encrypts the packet into a slot of out for route r. It reports false
// (nothing added) when the packet must go through Pion instead.
func (d *DownTrack) writeDirect(r *directRoute, hdr *rtp.Header, payload []byte, out *sendBatch) (int, bool) {
	hl := hdr.MarshalSize()
	if hl+len(payload)+srtpOverhead > directSlot {
		return 0, false
	}
	if !d.senderFor(r, hdr.SequenceNumber) {
		return 0, false
	}
	buf := out.slot(r)
	if _, err := hdr.MarshalTo(buf); err != nil {
		return 0, false
	}
	copy(buf[hl:], payload)
	pkt := buf[:hl+len(payload)]
	var enc []byte
	if r.gcm != nil {
		var ok bool
		if enc, ok = d.gcm.seal(pkt, hl, hdr, d.rocOf(hdr.SequenceNumber)); !ok {
			return 0, false
		}
	} else {
		var err error
		enc, err = d.srtp.EncryptRTP(buf[:0], pkt, &d.encHdr)
		if err != nil || len(enc) > len(buf) || &enc[0] != &buf[0] {
			return 0, false // (never: the slot is large enough to encrypt in place)
		}
	}
	out.commit(len(enc))
	d.sincePion++
	return len(enc), true
}

// senderFor makes sure the down track has its SRTP sender for route r: for AES-GCM its
// own (srtpgcm.go), which takes each packet's rollover counter; for AES-CM-HMAC a Pion
// context, started at the rollover counter of sequence number seq.
func (d *DownTrack) senderFor(r *directRoute, seq uint16) bool {
	if r.gcm != nil {
		if d.gcm == nil || d.gcmFor != r {
			g, err := r.gcm.sender(r.cryptex != srtp.CryptexModeDisabled)
			if err != nil {
				return false
			}
			d.gcm, d.gcmFor = g, r
		}
		return true
	}
	if d.srtp == nil || d.srtpFor != r || d.srtpSSRC != d.ssrc {
		ctx, err := r.context()
		if err != nil {
			return false
		}
		ctx.SetROC(d.ssrc, d.rocOf(seq))
		d.srtp, d.srtpFor, d.srtpSSRC = ctx, r, d.ssrc
	}
	return true
}

// srtpOverhead is the most SRTP adds to an RTP packet: the 16-byte tag of AES-GCM (the
// 10 of AES-CM-HMAC-SHA1-80), and with cryptex an empty extension header of 4.
const srtpOverhead = 16 + 4

// senderReport builds the RTCP sender report of the outgoing stream (RFC 3550 §6.4.1):
// the RTP time of now extrapolated from the last packet.
func (d *DownTrack) senderReport(now time.Time) (*rtcp.SenderReport, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil || !d.started || d.packets == 0 {
		return nil, false
	}
	rtpTime := d.lastTS
	if el := now.UnixNano() - d.lastAt; el > 0 {
		rtpTime += uint32(uint64(el) * uint64(d.track.clock) / 1e9)
	}
	return &rtcp.SenderReport{SSRC: d.ssrc, NTPTime: ntpTime(now), RTPTime: rtpTime,
		PacketCount: uint32(d.packets), OctetCount: uint32(d.octets)}, true
}

// pushSegment starts a new run of offsets at outgoing sequence number from.
func (d *DownTrack) pushSegment(from uint16, l *layer) {
	if d.segN == len(d.segs) {
		copy(d.segs[:], d.segs[1:])
		d.segN--
	}
	d.segs[d.segN] = segment{from: from, seqOff: d.seqOff, tsOff: d.tsOff, l: l, epoch: l.cache.epoch.Load()}
	d.segN++
}

// retransmit answers a subscriber's NACK for outgoing sequence number seq from the
// layer's shared packet cache. It reports whether the packet was sent again.
func (d *DownTrack) retransmit(seq uint16) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil || !d.started || d.lastSeq-seq >= 0x8000 {
		return false
	}
	var sg *segment
	for i := d.segN - 1; i >= 0; i-- {
		if seq-d.segs[i].from < 0x8000 {
			sg = &d.segs[i]
			break
		}
	}
	if sg == nil {
		return false
	}
	if d.nackBuf == nil {
		d.nackBuf = make([]byte, cacheSlotSize)
		d.rtxAt = make([]int64, cacheSlots)
	}
	now := time.Now().UnixNano()
	slot := &d.rtxAt[int(seq)%cacheSlots]
	if now-*slot < rtxMinInterval.Nanoseconds() {
		return false
	}
	n, ts, marker, ok := sg.l.cache.get(sg.epoch, seq+sg.seqOff, d.nackBuf)
	if !ok {
		return false
	}
	*slot = now
	d.rtxHdr = rtp.Header{Version: 2, Marker: marker, PayloadType: d.pt, SequenceNumber: seq,
		Timestamp: ts - sg.tsOff, SSRC: d.ssrc}
	w, err := d.writer.WriteRTP(&d.rtxHdr, d.nackBuf[:n])
	return err == nil && w > 0
}

// rebase computes offsets so that packet p continues the outgoing stream: the next
// sequence number, and a timestamp advanced by the wall time since the last packet.
func (d *DownTrack) rebase(l *layer, p *rtp.Packet, now int64) {
	defer d.pushSegment(p.SequenceNumber-d.seqOff, l)
	if !d.started {
		d.started = true
		d.seqOff, d.tsOff = 0, 0
		return
	}
	d.seqOff = p.SequenceNumber - (d.lastSeq + 1)
	delta := uint32(0)
	if el := now - d.lastAt; el > 0 {
		delta = uint32(uint64(el) * uint64(d.track.clock) / 1e9)
	}
	if delta == 0 {
		delta = 1
	}
	d.tsOff = p.Timestamp - (d.lastTS + delta)
}
