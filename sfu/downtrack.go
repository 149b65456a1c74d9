package sfu

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

type writeResult uint8

const (
	writeOK       writeResult = iota
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
}

func newDownTrack(t *Track, sub *Participant) *DownTrack {
	d := &DownTrack{track: t, sub: sub, needKF: t.isVideo}
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
	d.ssrc = uint32(ctx.SSRC())
	d.pt = uint8(chosen.PayloadType)
	d.levelExt = 0
	for _, ext := range ctx.HeaderExtensions() {
		if ext.URI == audioLevelURI {
			d.levelExt = uint8(ext.ID)
		}
	}
	d.needKF = d.track.isVideo
	go d.track.requestKeyframeFor(d, true)
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
	if d.allowed.Swap(v) == v || !v {
		return
	}
	d.mu.Lock()
	d.needKF = d.track.isVideo
	d.resync = !d.track.isVideo
	d.mu.Unlock()
	d.track.requestKeyframeFor(d, true)
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
		d.needKF = d.track.isVideo
		d.resync = !d.track.isVideo
		if !d.track.isVideo {
			d.current = l
		}
	}
}

// setTarget selects the layer to forward; the switch happens on its next keyframe.
func (d *DownTrack) setTarget(l *layer) {
	d.mu.Lock()
	changed := d.target != l
	d.target = l
	if d.current == nil && !d.track.isVideo {
		d.current = l
	}
	d.mu.Unlock()
	if changed && d.track.isVideo {
		d.track.requestKeyframe(l, true)
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

// write forwards one packet of layer l. It returns the bytes written, the outcome, and
// whether a keyframe should be requested from the publisher.
func (d *DownTrack) write(l *layer, p *rtp.Packet, kf bool, now int64) (int, writeResult, bool) {
	if !d.allowed.Load() {
		return 0, writeFiltered, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil {
		return 0, writeDropped, false
	}
	if d.track.isVideo {
		switch {
		case l != d.current:
			if l != d.target {
				return 0, writeFiltered, false
			}
			if !kf { // waiting to switch: keep asking (throttled) in case a keyframe was lost
				return 0, writeFiltered, true
			}
			d.current = l
			d.needKF = false
			d.rebase(p, now)
		case d.needKF:
			if !kf {
				return 0, writeFiltered, true
			}
			d.needKF = false
			d.rebase(p, now)
		case d.target != d.current && d.target != nil:
			// keep forwarding the current layer until the target's keyframe arrives
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
			d.rebase(p, now)
		}
	}
	if len(p.Payload) == 0 {
		d.seqOff++ // padding-only probe: drop it without leaving a sequence gap
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
	n, err := d.writer.WriteRTP(hdr, p.Payload)
	if err != nil {
		// Typically the transport is not ready yet. Video must not go on with
		// interframes after a lost keyframe: wait for (and ask for) another one.
		if d.track.isVideo && !d.needKF {
			d.needKF = true
			return 0, writeDropped, true
		}
		return 0, writeDropped, false
	}
	d.lastSeq, d.lastTS, d.lastAt = hdr.SequenceNumber, hdr.Timestamp, now
	d.packets++
	return n, writeOK, false
}

// rebase computes offsets so that packet p continues the outgoing stream: the next
// sequence number, and a timestamp advanced by the wall time since the last packet.
func (d *DownTrack) rebase(p *rtp.Packet, now int64) {
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
