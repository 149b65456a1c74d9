package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// recWriter records what a DownTrack writes.
type recWriter struct {
	hdrs     []rtp.Header
	payloads [][]byte
	discard  bool
	n        int
}

func (w *recWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	if !w.discard {
		w.hdrs = append(w.hdrs, *h)
		w.payloads = append(w.payloads, append([]byte(nil), payload...))
	}
	return h.MarshalSize() + len(payload), nil
}

func (w *recWriter) Write(b []byte) (int, error) { return len(b), nil }

func testEngine() *Engine {
	cfg := DefaultConfig()
	_ = cfg.validate()
	return &Engine{cfg: cfg}
}

// testTrack builds a Track with the given layers and n bound DownTracks.
func testTrack(kind string, rids []string, n int, discard bool) (*Track, []*DownTrack, []*recWriter) {
	e := testEngine()
	mime, clock := "video/VP8", uint32(90000)
	if kind == "audio" {
		mime, clock = "audio/opus", 48000
	}
	t := newTrack(nil, e, TrackInfo{ID: "pub/t1", Participant: "pub", Kind: kind}, mime, clock)
	for _, rid := range rids {
		t.layerFor(rid)
	}
	var downs []*DownTrack
	var ws []*recWriter
	for i := 0; i < n; i++ {
		d := newDownTrack(t, nil)
		w := &recWriter{discard: discard}
		d.writer, d.ssrc, d.pt = w, uint32(1000+i), 100
		d.allowed.Store(true)
		t.addDown(d)
		downs = append(downs, d)
		ws = append(ws, w)
	}
	return t, downs, ws
}

// vp8Payload returns a VP8 payload: descriptor with S=1, then a frame header whose
// P bit marks a keyframe or not.
func vp8Payload(key bool, start bool) []byte {
	d := byte(0)
	if start {
		d = 0x10
	}
	frame := byte(0x01)
	if key {
		frame = 0x00
	}
	return []byte{d, frame, 0x9d, 0x01, 0x2a, 1, 2, 3, 4}
}

func TestKeyframeDetection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		codec   string
		payload []byte
		want    bool
	}{
		{"vp8 key start", CodecVP8, vp8Payload(true, true), true},
		{"vp8 delta", CodecVP8, vp8Payload(false, true), false},
		{"vp8 key continuation", CodecVP8, vp8Payload(true, false), false},
		{"vp8 extended descriptor key", CodecVP8, []byte{0x90, 0xe0, 0x80, 0x01, 0x05, 0x00, 0x10, 0x02, 0x00, 0x9d}, true},
		{"vp8 truncated", CodecVP8, []byte{0x90, 0x80}, false},
		{"vp8 empty", CodecVP8, nil, false},
		{"h264 idr", CodecH264, []byte{0x65, 0x88}, true},
		{"h264 sps", CodecH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", CodecH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", CodecH264, []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a truncated", CodecH264, []byte{0x18, 0x00, 0x09, 0x67}, false},
		{"h264 fu-a idr start", CodecH264, []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a idr middle", CodecH264, []byte{0x7c, 0x05, 0x00}, false},
		{"opus", CodecOpus, []byte{0xfc}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := isKeyframeStart(tt.codec, tt.payload); got != tt.want {
				t.Errorf("isKeyframeStart(%s, % x) = %v, want %v", tt.codec, tt.payload, got, tt.want)
			}
		})
	}
}

func TestSettleVideoCodec(t *testing.T) {
	t.Parallel()
	all := func(string) bool { return true }
	vp8Only := func(c string) bool { return c == CodecVP8 }
	tests := []struct {
		name    string
		allowed func(string) bool
		decs    [][]string
		want    string
	}{
		{"empty room prefers VP8", all, nil, CodecVP8},
		{"browsers decode both", all, [][]string{nil, {"VP8", "H264"}}, CodecVP8},
		{"iOS-only client forces H264", all, [][]string{nil, {"H264"}}, CodecH264},
		{"no common codec: majority", all, [][]string{{"VP8"}, {"VP8"}, {"H264"}}, CodecVP8},
		{"config forbids H264", vp8Only, [][]string{{"H264"}}, CodecVP8},
	}
	for _, tt := range tests {
		if got := settleVideoCodec(tt.allowed, tt.decs); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDownTrackWaitsForKeyframeAndRewrites(t *testing.T) {
	t.Parallel()
	tr, downs, ws := testTrack("video", []string{""}, 1, false)
	l := tr.layerSnapshot()[0]
	now := time.Now().UnixNano()
	send := func(seq uint16, ts uint32, key bool) {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: 5}, Payload: vp8Payload(key, true)}
		tr.forward(l, p, isKeyframeStart(CodecVP8, p.Payload), now, nil)
		now += int64(33 * time.Millisecond)
	}
	send(10, 1000, false) // delta before any keyframe: held back
	send(11, 4000, true)
	send(12, 7000, false)
	if got := len(ws[0].hdrs); got != 2 {
		t.Fatalf("forwarded %d packets, want 2", got)
	}
	if h := ws[0].hdrs[0]; h.SSRC != 1000 || h.PayloadType != 100 {
		t.Errorf("first packet ssrc/pt = %d/%d, want 1000/100", h.SSRC, h.PayloadType)
	}

	// Caucus gate: closed, nothing passes; reopened, resumes on a keyframe with
	// contiguous sequence numbers.
	downs[0].setAllowed(false)
	send(13, 10000, true)
	send(14, 13000, false)
	if got := len(ws[0].hdrs); got != 2 {
		t.Fatalf("forwarded %d packets while gated, want 2", got)
	}
	downs[0].setAllowed(true)
	send(15, 16000, false)
	send(500, 900000, true) // e.g. after a publisher reconnect, numbers jump
	send(501, 903000, false)
	if got := len(ws[0].hdrs); got != 4 {
		t.Fatalf("forwarded %d packets after reopening, want 4", got)
	}
	for i := 1; i < len(ws[0].hdrs); i++ {
		prev, cur := ws[0].hdrs[i-1], ws[0].hdrs[i]
		if cur.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d seq %d after %d, want contiguous", i, cur.SequenceNumber, prev.SequenceNumber)
		}
		if d := cur.Timestamp - prev.Timestamp; d == 0 || d > 1<<30 {
			t.Errorf("packet %d timestamp step %d, want small positive", i, d)
		}
	}
}

func TestSimulcastSwitchOnKeyframe(t *testing.T) {
	t.Parallel()
	tr, downs, ws := testTrack("video", []string{"f", "q", "h"}, 1, false)
	ls := tr.layerSnapshot()
	if ls[0].rid != "q" || ls[1].rid != "h" || ls[2].rid != "f" {
		t.Fatalf("layer order %s,%s,%s, want q,h,f", ls[0].rid, ls[1].rid, ls[2].rid)
	}
	d := downs[0]
	now := time.Now().UnixNano()
	seqs := map[*layer]uint16{ls[0]: 100, ls[1]: 2000, ls[2]: 30000}
	send := func(l *layer, key bool) {
		seqs[l]++
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seqs[l], Timestamp: uint32(seqs[l]) * 3000}, Payload: vp8Payload(key, true)}
		tr.forward(l, p, key, now, nil)
		now += int64(10 * time.Millisecond)
	}
	send(ls[0], true) // target is the lowest layer at first
	send(ls[1], true) // not the target: ignored
	send(ls[0], false)
	if got := len(ws[0].hdrs); got != 2 {
		t.Fatalf("forwarded %d, want 2 from the low layer", got)
	}
	d.setTarget(ls[2])
	send(ls[2], false) // no keyframe yet: keep the low layer
	send(ls[0], false)
	send(ls[2], true) // switch
	send(ls[0], false)
	send(ls[2], false)
	if got := len(ws[0].hdrs); got != 5 {
		t.Fatalf("forwarded %d, want 5", got)
	}
	if cur, _ := d.layers(); cur != ls[2] {
		t.Errorf("current layer %q, want f", cur.rid)
	}
	for i := 1; i < len(ws[0].hdrs); i++ {
		if ws[0].hdrs[i].SequenceNumber != ws[0].hdrs[i-1].SequenceNumber+1 {
			t.Errorf("seq gap at %d: %d → %d", i, ws[0].hdrs[i-1].SequenceNumber, ws[0].hdrs[i].SequenceNumber)
		}
	}
}

func TestChooseLayer(t *testing.T) {
	t.Parallel()
	mk := func(h int, bps uint64) *layer {
		l := &layer{height: h}
		l.bitrate.Store(bps)
		return l
	}
	ls := []*layer{mk(180, 150_000), mk(360, 500_000), mk(720, 1_500_000)}
	tests := []struct {
		share, render int
		want          int
	}{
		{3_000_000, -1, 2},
		{3_000_000, 360, 1},
		{3_000_000, 0, 0},
		{600_000, -1, 1},
		{100_000, -1, 0},
		{3_000_000, 1080, 2},
	}
	for _, tt := range tests {
		got := chooseLayer(ls, tt.share, tt.render)
		if got != ls[tt.want] {
			t.Errorf("chooseLayer(share %d, render %d) = height %d, want %d", tt.share, tt.render, got.height, ls[tt.want].height)
		}
	}
}

func TestSpeakerHysteresis(t *testing.T) {
	t.Parallel()
	var s speakerState
	loud, quiet := 110.0, 30.0
	steps := []struct {
		cands []speakerCandidate
		want  string
		chg   bool
	}{
		{[]speakerCandidate{{"a", loud}, {"b", quiet}}, "", false},
		{[]speakerCandidate{{"a", loud}, {"b", quiet}}, "a", true},
		{[]speakerCandidate{{"a", loud - 5}, {"b", loud}}, "a", false}, // one tick is not enough
		{[]speakerCandidate{{"a", loud}, {"b", quiet}}, "a", false},
		{[]speakerCandidate{{"a", quiet}, {"b", loud}}, "a", false},
		{[]speakerCandidate{{"a", quiet}, {"b", loud}}, "b", true},
		{[]speakerCandidate{{"a", quiet}, {"b", quiet}}, "b", false},
		{[]speakerCandidate{{"a", quiet}, {"b", quiet}}, "", true},
	}
	for i, st := range steps {
		got, _, chg := s.update(st.cands)
		if got != st.want || chg != st.chg {
			t.Errorf("step %d: got %q changed=%v, want %q changed=%v", i, got, chg, st.want, st.chg)
		}
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	f, err := parseFilter([]string{"lo", "127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.loopback() || !f.loopbackOnly() || !f.keepInterface("lo") || f.keepInterface("eth0") {
		t.Errorf("loopback filter misbehaves: %+v", f)
	}
	if _, err := parseFilter([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted, want error")
	}
}

// BenchmarkForward measures the per-packet cost of the forwarding loop (caucus gate,
// layer check, sequence/timestamp rewrite, write) for one source packet fanned out to
// N subscribers. ns/op is per source packet; divide by N for per-forwarded-packet cost.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 4, 20, 100} {
		for _, kind := range []string{"audio", "video"} {
			b.Run(fmt.Sprintf("%s/subscribers=%d", kind, n), func(b *testing.B) {
				tr, _, ws := testTrack(kind, []string{""}, n, true)
				l := tr.layerSnapshot()[0]
				payload := vp8Payload(true, true)
				if kind == "audio" {
					payload = make([]byte, 80)
				}
				payload = append(payload, make([]byte, 1000-len(payload))...)
				p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: payload}
				now := time.Now().UnixNano()
				var st seqState
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p.SequenceNumber++
					p.Timestamp += 3000
					now += 1e6
					tr.ingest(l, &st, p, 1012, now)
				}
				b.StopTimer()
				if ws[n-1].n == 0 {
					b.Fatal("nothing forwarded")
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd-pkt")
			})
		}
	}
}

// FuzzKeyframeStart: the payload parsers read what publishers send; they must never
// panic, whatever the bytes.
func FuzzKeyframeStart(f *testing.F) {
	f.Add([]byte{0x90, 0xe0, 0x80, 0x01, 0x05, 0x00, 0x10}, true)
	f.Add(vp8Payload(true, true), true)
	f.Add([]byte{0x18, 0x00, 0x02, 0x67, 0x42, 0xff, 0xff}, false)
	f.Add([]byte{0x7c, 0x85}, false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, vp8 bool) {
		codec := CodecH264
		if vp8 {
			codec = CodecVP8
		}
		_ = isKeyframeStart(codec, b)
	})
}

// TestNackAnsweredFromSharedCache: two subscribers with different offsets (one joined
// later, one saw a padding packet dropped) get the packet they NACK from the one cache
// of the layer, under their own sequence numbers; a repeated NACK within
// rtxMinInterval is not answered twice; a packet never forwarded is not sent.
func TestNackAnsweredFromSharedCache(t *testing.T) {
	t.Parallel()
	tr, downs, ws := testTrack("video", []string{""}, 2, false)
	l := tr.layerSnapshot()[0]
	now := time.Now().UnixNano()
	send := func(seq uint16, key bool, only *DownTrack, payload []byte) {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 5}, Payload: payload}
		if payload == nil {
			p.Payload = append(vp8Payload(key, true), byte(seq))
		}
		var st seqState
		if only != nil { // the other subscriber is not yet allowed
			for _, d := range downs {
				d.allowed.Store(d == only)
			}
		}
		tr.ingest(l, &st, p, len(p.Payload)+12, now)
		now += int64(10 * time.Millisecond)
	}
	send(100, true, downs[0], nil)
	send(101, false, downs[0], nil)
	for _, d := range downs {
		d.allowed.Store(true)
	}
	send(102, true, nil, nil)       // subscriber 1 starts here
	send(103, false, nil, []byte{}) // padding only: dropped, both rebase by one
	send(104, false, nil, nil)
	send(105, false, nil, nil)

	for i, w := range ws {
		var last rtp.Header
		for _, h := range w.hdrs {
			last = h
		}
		want := 3 // subscriber 0: 100, 101, 102, 104, 105 → 5; subscriber 1: 102, 104, 105
		if i == 0 {
			want = 5
		}
		if len(w.hdrs) != want {
			t.Fatalf("subscriber %d got %d packets, want %d", i, len(w.hdrs), want)
		}
		// NACK the packet that came from publisher seq 104 (one before the last).
		out := last.SequenceNumber - 1
		before := len(w.hdrs)
		if !downs[i].retransmit(out) {
			t.Fatalf("subscriber %d: NACK of %d not answered", i, out)
		}
		got := w.hdrs[before]
		if got.SequenceNumber != out || got.SSRC != downs[i].ssrc || w.payloads[before][len(w.payloads[before])-1] != 104 {
			t.Errorf("subscriber %d: resent seq %d ssrc %d payload tag %d, want %d, %d, 104", i, got.SequenceNumber, got.SSRC,
				w.payloads[before][len(w.payloads[before])-1], out, downs[i].ssrc)
		}
		if ts := w.hdrs[before-2].Timestamp; got.Timestamp != ts {
			t.Errorf("subscriber %d: resent timestamp %d, want the original %d", i, got.Timestamp, ts)
		}
		if downs[i].retransmit(out) {
			t.Errorf("subscriber %d: a repeated NACK within %s was answered again", i, rtxMinInterval)
		}
		if downs[i].retransmit(last.SequenceNumber + 5) {
			t.Errorf("subscriber %d: a NACK for a packet never sent was answered", i)
		}
	}
	// Subscriber 1 never got publisher packet 101: its NACK for the number before its
	// first packet finds nothing.
	if downs[1].retransmit(ws[1].hdrs[0].SequenceNumber - 1) {
		t.Error("subscriber 1: a packet from before its start was resent")
	}
}

// TestKeyframeWaitCounters: a video DownTrack counts one wait from its start until its
// first keyframe, and one for each caucus reopening.
func TestKeyframeWaitCounters(t *testing.T) {
	t.Parallel()
	tr, downs, _ := testTrack("video", []string{""}, 1, true)
	e := tr.stats
	l := tr.layerSnapshot()[0]
	if got := e.Stats().KeyframesWaiting; got != 1 {
		t.Fatalf("waiting %d at the start, want 1", got)
	}
	now := time.Now().UnixNano()
	send := func(seq uint16, key bool) {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: vp8Payload(key, true)}
		tr.forward(l, p, key, now, nil)
		now += int64(time.Millisecond)
	}
	send(1, false)
	send(2, true)
	send(3, false)
	downs[0].setAllowed(false)
	downs[0].setAllowed(true)
	send(4, false)
	send(5, true)
	st := e.Stats()
	if st.KeyframeWaits != 2 || st.KeyframesWaiting != 0 {
		t.Errorf("waits %d, waiting %d; want 2, 0", st.KeyframeWaits, st.KeyframesWaiting)
	}
}
