package sfu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The fan-out benchmark and the allocation test below push one publisher packet through
// Track.ingest to N real down tracks: each bound to its own subscriber PeerConnection
// made by the engine (the production interceptor set), written through Pion's RTPSender
// into SRTP and out of the engine's UDP socket over loopback. The receiving peers run
// in a child process (this test binary with PARLEY_SFU_BENCH_RECEIVER=1), so that the
// figures and allocation counts are the SFU's alone.

func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_SFU_BENCH_RECEIVER") == "1" {
		runBenchReceivers(os.Stdin, os.Stdout)
		return
	}
	code := m.Run()
	closeFanouts()
	os.Exit(code)
}

// runBenchReceivers answers one offer per input line (a JSON string) with an answer
// line, and reads and discards every track, until its input closes.
func runBenchReceivers(in io.Reader, out io.Writer) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	var pcs []*webrtc.PeerConnection
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var offer string
		if json.Unmarshal(sc.Bytes(), &offer) != nil {
			break
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			break
		}
		pcs = append(pcs, pc)
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
			}
		})
		answer := ""
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err == nil {
			if a, err := pc.CreateAnswer(nil); err == nil {
				done := webrtc.GatheringCompletePromise(pc)
				if pc.SetLocalDescription(a) == nil {
					<-done
					answer = pc.LocalDescription().SDP
				}
			}
		}
		_ = enc.Encode(answer)
	}
	for _, pc := range pcs {
		_ = pc.Close()
	}
}

// fanout is a video track with n connected subscribers and its publisher's stream (one
// stream for every benchmark that uses the fan-out, so its sequence numbers go on).
type fanout struct {
	e     *Engine
	t     *Track
	l     *layer
	downs []*DownTrack
	pcs   []*webrtc.PeerConnection
	cmd   *exec.Cmd
	stdin io.WriteCloser
	src   *source
}

// setDirect puts every down track on its direct route (on) or through Pion.
func (f *fanout) setDirect(tb testing.TB, on bool) {
	for i, d := range f.downs {
		var r *directRoute
		if on {
			if r = f.e.routeFor(f.pcs[i]); r == nil {
				tb.Fatalf("subscriber %d has no direct route", i)
			}
		}
		d.route.Store(r)
	}
}

var (
	fanoutMu sync.Mutex
	fanouts  = map[int]*fanout{}
)

// fanoutOf returns (building once) a track fanned out to n subscribers.
func fanoutOf(tb testing.TB, n int) *fanout {
	fanoutMu.Lock()
	defer fanoutMu.Unlock()
	if f := fanouts[n]; f != nil {
		return f
	}
	f, err := newFanout(n)
	if err != nil {
		if f != nil {
			f.close()
		}
		tb.Fatalf("fan-out to %d: %v", n, err)
	}
	fanouts[n] = f
	return f
}

func closeFanouts() {
	fanoutMu.Lock()
	defer fanoutMu.Unlock()
	for n, f := range fanouts {
		f.close()
		delete(fanouts, n)
	}
}

func newFanout(n int) (*fanout, error) {
	e, err := NewEngine(LoopbackConfig(), nil)
	if err != nil {
		return nil, err
	}
	f := &fanout{e: e}
	f.t = newTrack(nil, e, TrackInfo{ID: "pub/video", Participant: "pub", Kind: "video"}, webrtc.MimeTypeVP8, 90000)
	f.l, _ = f.t.layerFor("")
	f.cmd = exec.Command(os.Args[0], "-test.run=^$")
	f.cmd.Env = append(os.Environ(), "PARLEY_SFU_BENCH_RECEIVER=1")
	f.cmd.Stderr = os.Stderr
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		return f, err
	}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		return f, err
	}
	if err := f.cmd.Start(); err != nil {
		return f, err
	}
	answers := json.NewDecoder(stdout)
	enc := json.NewEncoder(f.stdin)
	connected := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		pc, err := e.newPeerConnection(roleSubscriber)
		if err != nil {
			return f, err
		}
		f.pcs = append(f.pcs, pc)
		var once sync.Once
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				once.Do(func() { connected <- struct{}{} })
			}
		})
		d := newDownTrack(f.t, nil)
		d.allowed.Store(true)
		d.route = new(atomic.Pointer[directRoute])
		sender, err := pc.AddTrack(d)
		if err != nil {
			return f, err
		}
		go func() { // as in production: the subscriber's RTCP is read
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		f.t.addDown(d)
		f.downs = append(f.downs, d)
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return f, err
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			return f, err
		}
		<-done
		if err := enc.Encode(pc.LocalDescription().SDP); err != nil {
			return f, err
		}
		var answer string
		if err := answers.Decode(&answer); err != nil || answer == "" {
			return f, fmt.Errorf("receiver %d gave no answer (%v)", i, err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			return f, err
		}
	}
	deadline := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-connected:
		case <-deadline:
			return f, fmt.Errorf("%d of %d subscribers connected", i, n)
		}
	}
	return f, nil
}

func (f *fanout) close() {
	for _, pc := range f.pcs {
		_ = pc.Close()
	}
	if f.stdin != nil {
		_ = f.stdin.Close()
	}
	if f.cmd != nil && f.cmd.Process != nil {
		done := make(chan struct{})
		go func() { _ = f.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = f.cmd.Process.Kill()
		}
	}
	_ = f.e.Close()
}

// source is a publisher's VP8 stream of size-byte packets: a keyframe first, then delta
// frames (what a subscriber forwards once it started).
type source struct {
	p   rtp.Packet
	st  seqState
	now int64
}

func newSource(size int) *source {
	payload := append(vp8Payload(true, true), make([]byte, size)...)[:size]
	return &source{p: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Marker: true}, Payload: payload},
		now: time.Now().UnixNano(), st: seqState{out: newSendBatch()}}
}

// benchSize is the payload size of the fan-out's packets.
const benchSize = 1000

// source is the fan-out's publisher stream: its first packet (a keyframe) starts every
// down track.
func (f *fanout) source() *source {
	if f.src == nil {
		f.src = newSource(benchSize)
		f.src.next(f.t, f.l, benchSize)
	}
	return f.src
}

func (s *source) next(t *Track, l *layer, size int) {
	s.p.SequenceNumber++
	s.p.Timestamp += 3000
	s.now += 1e6
	t.ingest(l, &s.st, &s.p, size+12, s.now)
	s.p.Payload[1] = 0x01 // after the first packet: delta frames
}

// BenchmarkForwardPion: one 1000-byte VP8 packet of a publisher fanned out to N real
// subscribers — through Pion's write path (path=pion: Pion's SRTP session, ice.Conn, one
// sendto per packet) and on the direct path (path=direct: the down track's own SRTP,
// one sendmmsg per source packet) — the cost per source packet (ns/op), per forwarded
// packet (ns/fwd-pkt, cpu-ns/fwd-pkt) and allocations per source packet.
func BenchmarkForwardPion(b *testing.B) {
	if testing.Short() {
		b.Skip("builds real peer connections")
	}
	for _, n := range []int{1, 20, 250} {
		for _, path := range []string{"pion", "direct"} {
			b.Run(fmt.Sprintf("subscribers=%d/path=%s", n, path), func(b *testing.B) {
				f := fanoutOf(b, n)
				src := f.source()
				f.setDirect(b, path == "direct")
				fwd0, direct0 := f.e.forwarded.Load(), f.e.direct.Load()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for i := 0; i < b.N; i++ {
					src.next(f.t, f.l, benchSize)
				}
				cpu := processCPU() - cpu0
				b.StopTimer()
				fwd, direct := f.e.forwarded.Load()-fwd0, f.e.direct.Load()-direct0
				if want := uint64(b.N) * uint64(n); fwd != want {
					b.Fatalf("forwarded %d packets, want %d (dropped %d, filtered %d)", fwd, want, f.e.dropped.Load(), f.e.filtered.Load())
				}
				if path == "pion" && direct != 0 || path == "direct" && direct+uint64(n)*(1+uint64(b.N)/directSyncEvery) < fwd {
					b.Fatalf("%d of %d packets sent direct on path %s", direct, fwd, path)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fwd), "ns/fwd-pkt")
				// CPU time of this process (the receivers run in another) per forwarded
				// packet: on a shared machine steadier than the wall time.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(fwd), "cpu-ns/fwd-pkt")
			})
		}
	}
}

// processCPU is this process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestForwardPathAllocationFree: forwarding a packet to real subscribers allocates
// nothing, through Pion's SRTP write path and on the direct path (what runs in the
// background — ICE keepalives, RTCP — averages out to zero per packet).
func TestForwardPathAllocationFree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real peer connections")
	}
	f := fanoutOf(t, 4)
	src := f.source()
	for _, path := range []string{"pion", "direct"} {
		f.setDirect(t, path == "direct")
		src.next(f.t, f.l, benchSize) // (a new route: the down tracks make their SRTP contexts)
		fwd0, direct0 := f.e.forwarded.Load(), f.e.direct.Load()
		allocs := testing.AllocsPerRun(2000, func() { src.next(f.t, f.l, benchSize) })
		if fwd := f.e.forwarded.Load() - fwd0; fwd < 2000*4 {
			t.Fatalf("path %s: forwarded %d packets, want at least %d", path, fwd, 2000*4)
		}
		if direct := f.e.direct.Load() - direct0; path == "direct" && direct < 2000*4 {
			t.Fatalf("path direct: %d packets sent direct, want at least %d", direct, 2000*4)
		}
		if raceEnabled {
			t.Logf("path %s: %.1f allocations per source packet under the race detector (not judged: it defeats sync.Pool)", path, allocs)
			continue
		}
		if allocs != 0 {
			t.Errorf("path %s: %.1f allocations per source packet fanned out to 4 subscribers, want 0", path, allocs)
		}
	}
}
