package sfu

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TrackInfo describes a published track to the signalling layer and to clients.
type TrackInfo struct {
	// ID is room-unique: the publisher's participant ID, "/", and its own track ID.
	ID          string `json:"track_id"`
	Participant string `json:"participant_id"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// Source is what the publisher declared: "camera", "microphone", "screen".
	Source    string `json:"source,omitempty"`
	Codec     string `json:"codec"`
	Simulcast bool   `json:"simulcast"`
	Muted     bool   `json:"muted"`
}

// TrackMeta is what a publisher declares about a track in its offer: the source and,
// for simulcast, the size of each layer (used to pick a layer for a render size).
type TrackMeta struct {
	TrackID string      `json:"track_id"`
	Source  string      `json:"source,omitempty"`
	Layers  []LayerMeta `json:"layers,omitempty"`
}

// LayerMeta describes one simulcast layer.
type LayerMeta struct {
	RID    string `json:"rid"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// layer is one received encoding of a track (one simulcast rid, or the only one).
type layer struct {
	rid     string
	height  int
	ssrc    atomic.Uint32
	pc      atomic.Pointer[webrtc.PeerConnection]
	lastPLI atomic.Int64 // unix nanos of the last keyframe request
	// retryGap is the current pause between keyframe requests made for subscribers still
	// waiting (doubles per unanswered request, reset by a keyframe).
	retryGap atomic.Int64
	cache    packetCache // video: the last packets, for NACK answers to every subscriber
	bytes    atomic.Uint64
	bitrate  atomic.Uint64 // bits/s over the last measurement period
	// loss accounting
	expected atomic.Uint64
	got      atomic.Uint64
}

// Track is a published track: its received layers and the DownTracks that forward it
// to subscribers. It outlives a publisher's transports, so a participant who reconnects
// resumes the same Track and subscribers see no change.
type Track struct {
	info    TrackInfo
	codec   string // canonical
	mime    string
	clock   uint32
	isVideo bool
	room    *Room
	stats   *Engine

	mu     sync.Mutex
	layers []*layer // low → high
	meta   TrackMeta
	closed bool

	downs atomic.Pointer[[]*DownTrack]
	muted atomic.Bool

	tap trackTap // recording (tap.go)

	levelExt atomic.Uint32 // audio-level extension ID on the publisher side (0: none)
	levelSum atomic.Uint64
	levelCnt atomic.Uint64
	smoothed float64 // room ticker only
}

func newTrack(r *Room, e *Engine, info TrackInfo, mime string, clock uint32) *Track {
	t := &Track{info: info, codec: canonicalCodec(mime), mime: mime, clock: clock, room: r, stats: e,
		isVideo: info.Kind == "video"}
	t.downs.Store(&[]*DownTrack{})
	return t
}

// Info returns the track's description.
func (t *Track) Info() TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.info
	info.Muted = t.muted.Load()
	info.Simulcast = len(t.layers) > 1
	return info
}

// layerFor returns the layer for rid, creating it (and re-sorting) if new. It reports
// whether the layer was new.
func (t *Track) layerFor(rid string) (*layer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.layers {
		if l.rid == rid {
			return l, false
		}
	}
	l := &layer{rid: rid}
	for _, m := range t.meta.Layers {
		if m.RID == rid {
			l.height = m.Height
		}
	}
	t.layers = append(t.layers, l)
	sortLayers(t.layers)
	return l, true
}

// layerSnapshot returns the layers, low to high.
func (t *Track) layerSnapshot() []*layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.layers)
}

// ridRank orders the rid names browsers use: q/h/f (Chrome, LiveKit), l/m/h, 0/1/2.
func ridRank(rids []string) func(string) int {
	scheme := map[string]int{"0": 0, "1": 1, "2": 2}
	for _, r := range rids {
		switch r {
		case "q", "f":
			scheme = map[string]int{"q": 0, "h": 1, "f": 2}
		case "l", "m":
			scheme = map[string]int{"l": 0, "m": 1, "h": 2}
		}
	}
	return func(rid string) int {
		if v, ok := scheme[strings.ToLower(rid)]; ok {
			return v
		}
		return 10
	}
}

// sortLayers orders layers by declared height when every layer has one, else by rid name.
func sortLayers(ls []*layer) {
	heights := true
	rids := make([]string, len(ls))
	for i, l := range ls {
		rids[i] = l.rid
		if l.height == 0 {
			heights = false
		}
	}
	rank := ridRank(rids)
	sort.SliceStable(ls, func(i, j int) bool {
		if heights {
			return ls[i].height < ls[j].height
		}
		if a, b := rank(ls[i].rid), rank(ls[j].rid); a != b {
			return a < b
		}
		return ls[i].rid < ls[j].rid
	})
}

// setMeta records the publisher's declaration (layer sizes).
func (t *Track) setMeta(m TrackMeta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.meta = m
	if m.Source != "" {
		t.info.Source = m.Source
	}
	for _, l := range t.layers {
		for _, lm := range m.Layers {
			if lm.RID == l.rid {
				l.height = lm.Height
			}
		}
	}
	sortLayers(t.layers)
}

// addDown and removeDown update the copy-on-write subscriber list read by the packet path.
func (t *Track) addDown(d *DownTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*DownTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, d)
	t.downs.Store(&next)
}

func (t *Track) removeDown(d *DownTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

func (t *Track) downSnapshot() []*DownTrack { return *t.downs.Load() }

// attach starts reading a newly received encoding (first publish, another simulcast
// layer, or a republish after reconnect). Subscribers forwarding that layer resync on
// its next keyframe.
func (t *Track) attach(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, pc *webrtc.PeerConnection) {
	l, _ := t.layerFor(remote.RID())
	l.ssrc.Store(uint32(remote.SSRC()))
	l.pc.Store(pc)
	l.cache.reset()
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			t.levelExt.Store(uint32(ext.ID))
		}
	}
	for _, d := range t.downSnapshot() {
		d.resyncLayer(l)
	}
	if t.isVideo {
		t.requestKeyframe(l, kfForce)
	}
	go t.readLoop(l, remote, recv, pc)
	go drainRTCP(recv, remote.RID())
}

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

func drainRTCP(recv *webrtc.RTPReceiver, rid string) {
	for {
		var err error
		if rid == "" {
			_, _, err = recv.ReadRTCP()
		} else {
			_, _, err = recv.ReadSimulcastRTCP(rid)
		}
		if err != nil {
			return
		}
	}
}

// readLoop reads one layer until its receiver closes. If the publisher switches the
// codec on the same transceiver (a browser renegotiating after a room codec change),
// the track is republished under the new codec and this loop hands over.
func (t *Track) readLoop(l *layer, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, pc *webrtc.PeerConnection) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	seq := seqState{out: newSendBatch()}
	pt, havePT := uint8(0), false
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if uint32(remote.SSRC()) != l.ssrc.Load() {
			return // a newer receiver took over this layer
		}
		if pkt.PayloadType != pt || !havePT {
			if havePT && t.room != nil {
				if c := remote.Codec(); canonicalCodec(c.MimeType) != "" && !strings.EqualFold(c.MimeType, t.mime) {
					t.room.recodec(t, remote, recv, pc)
					return
				}
			}
			pt, havePT = pkt.PayloadType, true
		}
		t.ingest(l, &seq, &pkt, n, time.Now().UnixNano())
	}
}

// seqState is one read loop's own state: the highest sequence number seen (loss
// accounting) and the batch its forwarded packets are sent in (nil: each is written
// through Pion).
type seqState struct {
	max  uint16
	seen bool
	out  *sendBatch
}

// ingest accounts one received packet and forwards it.
func (t *Track) ingest(l *layer, st *seqState, pkt *rtp.Packet, size int, now int64) {
	t.stats.received.Add(1)
	l.bytes.Add(uint64(size))
	l.got.Add(1)
	if !st.seen {
		st.max, st.seen = pkt.SequenceNumber, true
		l.expected.Add(1)
		t.stats.expectedUp.Add(1)
	} else if d := pkt.SequenceNumber - st.max; d != 0 && d < 0x8000 {
		l.expected.Add(uint64(d))
		st.max = pkt.SequenceNumber
		t.stats.expectedUp.Add(uint64(d))
	}
	if id := uint8(t.levelExt.Load()); id != 0 {
		if ext := pkt.GetExtension(id); len(ext) > 0 {
			t.levelSum.Add(uint64(127 - ext[0]&0x7f))
			t.levelCnt.Add(1)
		}
	}
	if t.muted.Load() {
		t.stats.filtered.Add(1)
		return
	}
	kf := false
	if t.isVideo {
		kf = isKeyframeStart(t.codec, pkt.Payload)
		if kf {
			l.retryGap.Store(0)
		}
		l.cache.put(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload)
	}
	t.tapPacket(l, pkt, now)
	t.forward(l, pkt, kf, now, st.out)
}

// forward writes one packet to every subscriber of the track. It is the hot path:
// one atomic load for the subscriber list, one atomic load per subscriber for the
// caucus gate, a short per-subscriber lock for the rewriting state, no allocation.
// Packets for subscribers with a direct route are collected in out and sent together
// at the end (direct.go).
func (t *Track) forward(l *layer, pkt *rtp.Packet, kf bool, now int64, out *sendBatch) {
	var fwd, bytes, filtered, dropped, direct uint64
	wantKF := false
	for _, d := range *t.downs.Load() {
		n, res, pli := d.write(l, pkt, kf, now, out)
		switch res {
		case writeOK:
			fwd++
			bytes += uint64(n)
		case writeDirect:
			direct++
			bytes += uint64(n)
		case writeFiltered:
			filtered++
		case writeDropped:
			dropped++
		}
		wantKF = wantKF || pli
	}
	if direct != 0 {
		failed := uint64(out.flush())
		direct -= failed
		dropped += failed
		fwd += direct
		t.stats.direct.Add(direct)
	}
	if fwd != 0 {
		t.stats.forwarded.Add(fwd)
		t.stats.bytes.Add(bytes)
	}
	if filtered != 0 {
		t.stats.filtered.Add(filtered)
	}
	if dropped != 0 {
		t.stats.dropped.Add(dropped)
	}
	if wantKF {
		t.requestKeyframeAt(l, kfRetry, now)
	}
}

// Why a keyframe is requested; each reason has its own throttle per published layer.
type kfReason uint8

const (
	// kfForce: a subscriber starts or resumes (subscribe, transport connected, caucus
	// opened, publisher reconnected, layer switch): at most every KeyframeMinInterval/5.
	kfForce kfReason = iota
	// kfRetry: a subscriber is still waiting and a delta frame came: the pause starts at
	// KeyframeMinInterval/5 and doubles per unanswered request up to 4×KeyframeMinInterval.
	kfRetry
	// kfSubscriber: the subscriber's own PLI/FIR: at most every KeyframeMinInterval.
	kfSubscriber
	// kfReady: a waiting DownTrack just became deliverable (its subscriber transport
	// connected, or it was bound on a connected one). A request made before could not be
	// answered in time for it, so only requests of the last keyframeCoalesce are
	// enough: that is what several viewers arriving together share.
	kfReady
)

// keyframeCoalesce is the throttle of kfReady requests per layer.
const keyframeCoalesce = 20 * time.Millisecond

// requestKeyframe sends a PLI for layer l to the publisher, throttled per layer.
func (t *Track) requestKeyframe(l *layer, why kfReason) {
	t.requestKeyframeAt(l, why, time.Now().UnixNano())
}

func (t *Track) requestKeyframeAt(l *layer, why kfReason, now int64) {
	if l == nil || !t.isVideo {
		return
	}
	last := l.lastPLI.Load()
	base := t.stats.cfg.KeyframeMinInterval.Nanoseconds()
	gap := base / 5
	switch why {
	case kfRetry:
		gap = max(l.retryGap.Load(), base/5)
	case kfSubscriber:
		gap = base
	case kfReady:
		gap = keyframeCoalesce.Nanoseconds()
	}
	if now-last < gap || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if why == kfRetry {
		l.retryGap.Store(min(2*gap, 4*base))
	}
	pc := l.pc.Load()
	ssrc := l.ssrc.Load()
	if pc == nil || ssrc == 0 {
		return
	}
	t.stats.kfRequests.Add(1)
	_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// requestKeyframeFor asks for a keyframe on the layer a subscriber is waiting for.
func (t *Track) requestKeyframeFor(d *DownTrack, why kfReason) {
	t.requestKeyframe(d.wantedLayer(), why)
}

// measure updates per-layer bitrates (called once per room tick of length dt).
func (t *Track) measure(dt time.Duration) {
	ls := t.layerSnapshot()
	for _, l := range ls {
		b := l.bytes.Swap(0)
		l.bitrate.Store(uint64(float64(b*8) / dt.Seconds()))
	}
	t.retapLayer(ls)
}

// lossFraction returns the upstream loss fraction since the last call.
func (t *Track) lossFraction() (expected, got uint64) {
	for _, l := range t.layerSnapshot() {
		expected += l.expected.Swap(0)
		got += l.got.Swap(0)
	}
	return expected, got
}

func (t *Track) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.closeTap()
}
