package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-mediation/parley/recording"
	"github.com/pion/rtp"
)

// fakeTap counts what reaches it.
type fakeTap struct {
	mu      sync.Mutex
	opened  []TrackInfo
	closed  bool
	packets atomic.Int64
	ssrcs   sync.Map
	tclosed atomic.Int64
}

func (f *fakeTap) OpenTrack(info TrackInfo, _ uint32, _ func()) TrackTap {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, info)
	return fakeTrackTap{f}
}
func (f *fakeTap) Close() { f.mu.Lock(); f.closed = true; f.mu.Unlock() }

type fakeTrackTap struct{ f *fakeTap }

func (t fakeTrackTap) WriteRTP(p *rtp.Packet, _ int64) {
	t.f.packets.Add(1)
	t.f.ssrcs.Store(p.SSRC, true)
}
func (t fakeTrackTap) Close() { t.f.tclosed.Add(1) }

// TestTapJointRoomOnly: a tapped track reaches the tap only while its publisher is in the joint room (not in a
// caucus, not in the lobby), one simulcast layer at a time (the highest being received, after the once-a-second
// measurement), and the tap is closed with the track and the room.
func TestTapJointRoomOnly(t *testing.T) {
	t.Parallel()
	e := testEngine()
	e.rooms = map[string]*Room{}
	e.log = slog.New(slog.DiscardHandler)
	ft := &fakeTap{}
	e.tapFor = func(string) Tap { return ft }
	r := newRoom(e, "s1", nil)
	tr := newTrack(r, e, TrackInfo{ID: "pub/v", Participant: "pub", Kind: "video"}, "video/VP8", 90000)
	lq, _ := tr.layerFor("q")
	lf, _ := tr.layerFor("f")
	r.mu.Lock()
	r.tracks[tr.info.ID] = tr
	r.scopes["pub"] = ""
	tr.tap.ok.Store(true)
	r.mu.Unlock()
	r.openTap(tr)

	var st seqState
	send := func(l *layer, ssrc uint32, n int) {
		for i := 0; i < n; i++ {
			p := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), SSRC: ssrc}, Payload: vp8Payload(i == 0, true)}
			tr.ingest(l, &st, p, 100, time.Now().UnixNano())
		}
	}
	send(lq, 1, 5)
	send(lf, 2, 5)
	if got := ft.packets.Load(); got != 5 {
		t.Fatalf("two layers: tap got %d packets, want the 5 of the first layer only", got)
	}
	tr.measure(time.Second) // both layers carry data: the tap moves to the highest
	send(lq, 1, 5)
	send(lf, 2, 5)
	if got := ft.packets.Load(); got != 10 {
		t.Errorf("after measuring: tap got %d packets in all, want 5 more (of the top layer)", got)
	}
	if _, ok := ft.ssrcs.Load(uint32(2)); !ok {
		t.Errorf("the top layer never reached the tap")
	}

	r.SetScopes(map[string]string{"pub": "caucus-1"})
	before := ft.packets.Load()
	send(lf, 2, 5)
	if got := ft.packets.Load() - before; got != 0 {
		t.Errorf("caucus member's track: tap got %d packets, want 0", got)
	}
	r.SetScopes(map[string]string{"pub": ScopeLobby})
	send(lf, 2, 5)
	if got := ft.packets.Load() - before; got != 0 {
		t.Errorf("lobby track: tap got %d packets, want 0", got)
	}
	r.SetScopes(map[string]string{"pub": ""})
	send(lf, 2, 5)
	if got := ft.packets.Load() - before; got != 5 {
		t.Errorf("back in the joint room: tap got %d packets, want 5", got)
	}
	tr.muted.Store(true)
	send(lf, 2, 5)
	if got := ft.packets.Load() - before; got != 5 {
		t.Errorf("muted: tap got %d more packets, want none", got-5)
	}
	r.Close()
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if !ft.closed || ft.tclosed.Load() != 1 || len(ft.opened) != 1 {
		t.Errorf("after the room closed: tap closed %v, track taps closed %d, opened %d; want true, 1, 1", ft.closed, ft.tclosed.Load(), len(ft.opened))
	}
}

// benchSessions records every session, and forgets the trail.
type benchSessions struct{}

func (benchSessions) ShouldRecord(context.Context, string) (bool, error)                { return true, nil }
func (benchSessions) RecordingStarted(context.Context, string, time.Time) error         { return nil }
func (benchSessions) RecordingRefused(context.Context, string, time.Time, string) error { return nil }
func (benchSessions) RecordingStopped(context.Context, string, time.Time, int, uint64, []string) error {
	return nil
}
func (benchSessions) RecordingFile(context.Context, recording.File) error { return nil }

func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkForwardRecording: 10 rooms × 4 participants, each publishing an audio and a video track to the 3
// others, with recording off and on (the real recorder writing WebM into a directory store). ns/pkt is the
// forwarding path's time per received packet; cpu-ns/pkt is the whole process's CPU per received packet,
// which includes the recorder's writer goroutines; the difference between on and off is the recorder's cost.
// dropped/pkt counts what the recorder's queues refused (the loop feeds packets far faster than real time).
// Video frames are 4 packets of 1,000 bytes, audio packets 80 bytes.
func BenchmarkForwardRecording(b *testing.B) {
	const rooms, people = 10, 4
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("recording=%v", on), func(b *testing.B) {
			var rec *recording.Recorder
			if on {
				store, err := recording.NewDirStore(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				rec, err = recording.New(recording.Config{Store: store, SpoolDir: b.TempDir(), QueueLen: 2048}, benchSessions{}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			type pub struct {
				t  *Track
				l  *layer
				st seqState
				p  rtp.Packet
			}
			var pubs []*pub
			var sessions []*recording.Session
			var taps []*recording.Track
			for r := 0; r < rooms; r++ {
				var s *recording.Session
				if on {
					s = rec.Open(fmt.Sprintf("room-%d", r))
					sessions = append(sessions, s)
				}
				for i := 0; i < people; i++ {
					for _, kind := range []string{"audio", "video"} {
						tr, _, _ := testTrack(kind, []string{""}, people-1, true)
						tr.tap.ok.Store(true)
						pl := make([]byte, 1000)
						if kind == "audio" {
							pl = make([]byte, 80)
						}
						if on {
							codec, clock := "VP8", uint32(90000)
							if kind == "audio" {
								codec, clock = "opus", 48000
							}
							rt := s.OpenTrack(recording.TrackInfo{ID: fmt.Sprintf("p%d/%s", i, kind), Participant: fmt.Sprintf("p%d", i), Kind: kind, Codec: codec, ClockRate: clock}, nil)
							tr.tap.sink.Store(&tapHolder{rt})
							taps = append(taps, rt)
						}
						pubs = append(pubs, &pub{t: tr, l: tr.layerSnapshot()[0], p: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: uint32(len(pubs) + 1), Marker: true}, Payload: pl}})
					}
				}
			}
			for _, s := range sessions {
				for !s.Recording() {
					time.Sleep(time.Millisecond)
				}
			}
			now := time.Now().UnixNano()
			b.ReportAllocs()
			cpu0 := cpuNanos()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pb := pubs[i%len(pubs)]
				pb.p.SequenceNumber++
				if pb.t.isVideo { // frames of 4 packets (a 1 Mbit/s 30 fps stream), a keyframe every 30 frames
					first := pb.p.SequenceNumber%4 == 1
					pb.p.Marker = pb.p.SequenceNumber%4 == 0
					if first {
						pb.p.Timestamp += 3000
					}
					copy(pb.p.Payload, vp8Payload(pb.p.SequenceNumber%120 == 1, first))
				} else {
					pb.p.Timestamp += 960
				}
				now += 20000
				pb.t.ingest(pb.l, &pb.st, &pb.p, len(pb.p.Payload)+12, now)
			}
			b.StopTimer()
			elapsed := b.Elapsed()
			var dropped uint64
			if on {
				for _, t := range taps {
					t.Close()
				}
				for _, s := range sessions {
					s.Close()
				}
				dropped = rec.Stats().Dropped
				if err := rec.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuNanos() - cpu0 // includes finishing the files: the recorder's whole cost
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/pkt")
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/pkt")
			b.ReportMetric(float64(dropped)/float64(b.N), "dropped/pkt")
		})
	}
}
