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

// CaucusTap is implemented by a Tap that also records caucuses whose members all consented (Room.RecordCaucus):
// while a track's publisher is in such a caucus, the track's packets go to a TrackTap of that caucus, opened
// when the publisher enters it (or the caucus's recording starts) and closed when it leaves (or the caucus
// closes), apart from the joint room's, which gets nothing meanwhile. Called outside every SFU lock.
type CaucusTap interface {
	OpenCaucusTrack(info TrackInfo, caucusID string, clockRate uint32, requestKeyframe func()) TrackTap
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
	// caucus is the sink of the recorded caucus the publisher is in (nil: none); caucusID is its caucus,
	// guarded by Room.capMu.
	caucus   atomic.Pointer[tapHolder]
	caucusID string
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
		return
	}
	r.syncCaucusTaps() // published while in a recorded caucus
}

// tapPacket hands a packet of layer l to the tap if l is the tapped layer.
func (t *Track) tapPacket(l *layer, pkt *rtp.Packet, now int64) {
	h := t.tap.sink.Load()
	if h == nil || !t.tap.ok.Load() {
		if h = t.tap.caucus.Load(); h == nil {
			return
		}
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
	if h := t.tap.caucus.Swap(nil); h != nil {
		h.Close()
	}
}

// RecordCaucus starts (on) or stops the recording of a caucus: every member consented (signalling decides).
// The tracks of the publishers in it go to the tap's caucus recording from now on, never to the joint room's.
func (r *Room) RecordCaucus(caucusID string, on bool) {
	r.mu.Lock()
	if on {
		r.recCaucus[caucusID] = true
	} else {
		delete(r.recCaucus, caucusID)
	}
	r.mu.Unlock()
	r.syncCaucusTaps()
}

// syncCaucusTaps opens a caucus TrackTap for every track whose publisher is in a recorded caucus and has none
// for it yet, and closes those of publishers who left it (or whose caucus is no longer recorded). It runs
// outside r.mu (the tap's calls may take their own locks); capMu keeps two runs from opening one twice.
func (r *Room) syncCaucusTaps() {
	ct, ok := r.tap.(CaucusTap)
	if !ok {
		return
	}
	r.capMu.Lock()
	defer r.capMu.Unlock()
	type change struct {
		t      *Track
		caucus string
	}
	var changes []change
	r.mu.Lock()
	for _, t := range r.tracks {
		want := r.scopes[t.info.Participant]
		if want == ScopeLobby || !r.recCaucus[want] {
			want = ""
		}
		if want != t.tap.caucusID {
			changes = append(changes, change{t, want})
		}
	}
	r.mu.Unlock()
	for _, c := range changes {
		t := c.t
		if h := t.tap.caucus.Swap(nil); h != nil {
			h.Close()
		}
		t.tap.caucusID = c.caucus
		if c.caucus == "" {
			continue
		}
		s := ct.OpenCaucusTrack(t.Info(), c.caucus, t.clock, func() { t.requestKeyframe(t.tap.layer.Load(), kfForce) })
		if s == nil {
			continue
		}
		t.tap.caucus.Store(&tapHolder{s})
		if t.isClosed() { // unpublished meanwhile
			t.closeTap()
		} else if t.isVideo {
			t.requestKeyframe(t.tap.layer.Load(), kfForce)
		}
	}
}

func (t *Track) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
