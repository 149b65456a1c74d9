package sfu

import (
	"sync/atomic"

	"github.com/pion/rtp"
)

// Tap receives a copy of the joint room's media as the room forwards it, for recording.
// The SFU does not know what is done with it; cmd/parley plugs the recorder in through
// Engine.SetTap.
//
// What reaches a tap: packets of the tracks whose publisher is in the joint room (scope
// ""): never a caucus member's while it is in a caucus, never the lobby's, nothing of a
// muted track. Of a simulcast track only one layer, the highest one being received (a
// switch happens when the measured layers change, once a second, and the new layer's
// keyframe is requested at once). Packets are as received: no rewriting, so a new SSRC
// tells the tap that the stream changed (a layer switch or a publisher's reconnect).
type Tap interface {
	// OpenTrack is called once for each published track, outside every SFU lock;
	// requestKeyframe asks the publisher for a keyframe of the tapped layer (throttled
	// like every keyframe request). It returns nil for a track not to be tapped.
	OpenTrack(info TrackInfo, clockRate uint32, requestKeyframe func()) TrackTap
	// Close is called once when the room closes, after every TrackTap's Close.
	Close()
}

// TrackTap receives one track's packets.
type TrackTap interface {
	// WriteRTP is called on the packet path: it must copy what it keeps, never block and
	// never call back into the SFU. now is the arrival time (unix nanoseconds).
	WriteRTP(pkt *rtp.Packet, now int64)
	// Close: the track was unpublished or the room closed.
	Close()
}

// SetTap sets the function that gives each new room its Tap (nil: none). It is called
// with Engine.mu held, when the room is created, and must not block.
func (e *Engine) SetTap(f func(sessionID string) Tap) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tapFor = f
}

type tapHolder struct{ TrackTap }

// trackTap is a Track's part of the tap: the sink, whether the publisher's scope lets the
// track be tapped, and the layer tapped.
type trackTap struct {
	sink  atomic.Pointer[tapHolder]
	ok    atomic.Bool
	layer atomic.Pointer[layer]
}

// openTap gives a new track its TrackTap (outside every lock).
func (r *Room) openTap(t *Track) {
	if r.tap == nil {
		return
	}
	info := t.Info()
	s := r.tap.OpenTrack(info, t.clock, func() { t.requestKeyframe(t.tap.layer.Load(), kfForce) })
	if s == nil {
		return
	}
	t.tap.sink.Store(&tapHolder{s})
	if t.isClosed() { // unpublished meanwhile
		t.closeTap()
	}
}

// tapPacket hands a packet of layer l to the tap if l is the tapped layer.
func (t *Track) tapPacket(l *layer, pkt *rtp.Packet, now int64) {
	h := t.tap.sink.Load()
	if h == nil || !t.tap.ok.Load() {
		return
	}
	cur := t.tap.layer.Load()
	if cur == nil {
		if !t.tap.layer.CompareAndSwap(nil, l) {
			cur = t.tap.layer.Load()
		} else {
			cur = l
		}
	}
	if cur == l {
		h.WriteRTP(pkt, now)
	}
}

// retapLayer moves the tap to the highest layer being received (once a second, after the
// bitrates are measured).
func (t *Track) retapLayer(layers []*layer) {
	if t.tap.sink.Load() == nil || len(layers) < 2 {
		return
	}
	var best *layer
	for _, l := range layers { // low → high
		if l.bitrate.Load() > 0 {
			best = l
		}
	}
	if best != nil && t.tap.layer.Swap(best) != best {
		t.requestKeyframe(best, kfForce)
	}
}

func (t *Track) closeTap() {
	if h := t.tap.sink.Swap(nil); h != nil {
		h.Close()
	}
}

func (t *Track) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
