//go:build linux

package sfu

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// directPair is one down track of the engine's bound to a real Pion subscriber in this
// process, with what the subscriber received.
type directPair struct {
	e    *Engine
	t    *Track
	l    *layer
	d    *DownTrack
	pc   *webrtc.PeerConnection
	got  chan uint32 // the index each received packet carries
	rcv  *webrtc.PeerConnection
	seqs chan uint16
}

func newDirectPair(t *testing.T, role webrtc.DTLSRole, profiles ...dtls.SRTPProtectionProfile) *directPair {
	t.Helper()
	e, err := NewEngine(LoopbackConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	p := &directPair{e: e, got: make(chan uint32, 1<<16), seqs: make(chan uint16, 1<<16)}
	p.t = newTrack(nil, e, TrackInfo{ID: "pub/video", Participant: "pub", Kind: "video"}, webrtc.MimeTypeVP8, 90000)
	p.l, _ = p.t.layerFor("")
	if p.pc, err = e.newPeerConnection(roleSubscriber); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.pc.Close() })
	p.d = newDownTrack(p.t, nil)
	p.d.allowed.Store(true)
	p.d.route = new(atomic.Pointer[directRoute])
	if _, err := p.pc.AddTrack(p.d); err != nil {
		t.Fatal(err)
	}
	p.t.addDown(p.d)

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if role != webrtc.DTLSRoleAuto {
		if err := se.SetAnsweringDTLSRole(role); err != nil {
			t.Fatal(err)
		}
	}
	if len(profiles) > 0 {
		se.SetSRTPProtectionProfiles(profiles...)
	}
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	if p.rcv, err = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.rcv.Close() })
	p.rcv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if len(pkt.Payload) >= 14 {
				p.got <- binary.BigEndian.Uint32(pkt.Payload[10:])
				p.seqs <- pkt.SequenceNumber
			}
		}
	})
	connected := make(chan struct{})
	var once atomic.Bool
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && once.CompareAndSwap(false, true) {
			close(connected)
		}
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	if err := p.rcv.SetRemoteDescription(*p.pc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := p.rcv.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g = webrtc.GatheringCompletePromise(p.rcv)
	if err := p.rcv.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-g
	if err := p.pc.SetRemoteDescription(*p.rcv.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		t.Fatal("the subscriber did not connect")
	}
	return p
}

// send forwards n packets of the source, index from, starting at sequence number seq,
// in bursts the receiver's socket keeps up with.
func (p *directPair) send(st *seqState, seq uint16, from, n uint32) uint16 {
	for i := uint32(0); i < n; i++ {
		idx := from + i
		payload := append(vp8Payload(idx == 0, true), make([]byte, 200)...)
		binary.BigEndian.PutUint32(payload[10:], idx)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, SequenceNumber: seq,
			Timestamp: idx * 3000, Marker: true}, Payload: payload}
		p.t.ingest(p.l, st, pkt, len(payload)+12, time.Now().UnixNano())
		seq++
		if i%16 == 15 {
			time.Sleep(time.Millisecond)
		}
	}
	return seq
}

// expect waits for the packets of indexes [from, from+n) in order.
func (p *directPair) expect(t *testing.T, from, n uint32) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for i := uint32(0); i < n; i++ {
		select {
		case idx := <-p.got:
			if idx != from+i {
				t.Fatalf("received packet %d, want %d (a packet lost or undecryptable: the rollover counter, the keys)", idx, from+i)
			}
		case <-deadline:
			t.Fatalf("received packets up to %d of [%d, %d)", from+i, from, from+n)
		}
	}
}

// TestDirectPath: on the direct path (own SRTP, batched sendmmsg) a real Pion subscriber
// decrypts every packet in order, in either DTLS role, across a sequence-number wrap
// that happens while the route is direct; a new route can be found mid-stream (the down track's own context starts at the
// right rollover counter); the one packet in directSyncEvery through Pion keeps Pion's
// SRTP state right, so when the route goes, Pion's packets decrypt too.
func TestDirectPath(t *testing.T) {
	for _, c := range []struct {
		role    webrtc.DTLSRole
		profile dtls.SRTPProtectionProfile
		name    string
	}{
		{webrtc.DTLSRoleClient, dtls.SRTP_AEAD_AES_128_GCM, "aes-gcm"}, // our own AES-GCM sender
		{webrtc.DTLSRoleServer, dtls.SRTP_AEAD_AES_128_GCM, "aes-gcm"},
		{webrtc.DTLSRoleClient, dtls.SRTP_AES128_CM_HMAC_SHA1_80, "aes-cm-hmac"}, // Pion's SRTP context
	} {
		role := c.role
		t.Run(fmt.Sprintf("subscriber-dtls-%s/%s", role, c.name), func(t *testing.T) {
			p := newDirectPair(t, role, c.profile)
			st := seqState{out: newSendBatch()}
			seq := uint16(65536 - 40 - 500)

			// Before a route: through Pion (and the first packet always is).
			seq = p.send(&st, seq, 0, 40)
			p.expect(t, 0, 40)
			if p.e.direct.Load() != 0 {
				t.Fatalf("%d packets direct before there was a route", p.e.direct.Load())
			}

			r := p.e.routeFor(p.pc)
			if r == nil {
				t.Fatal("no direct route for a connected UDP subscriber on loopback")
			}
			if gcm := c.profile != dtls.SRTP_AES128_CM_HMAC_SHA1_80; (r.gcm != nil) != gcm {
				t.Fatalf("route's AES-GCM keys %v for profile %v", r.gcm != nil, c.profile)
			}
			p.d.route.Store(r)
			n := uint32(directSyncEvery + 3000) // one packet through Pion among them; a wrap 500 in
			seq = p.send(&st, seq, 40, n)
			p.expect(t, 40, n)
			direct := p.e.direct.Load()
			if want := uint64(n - 1); direct != want {
				t.Errorf("%d packets sent direct, want %d (all but the one that keeps Pion in step)", direct, want)
			}

			// The route goes (ICE moved to a pair the registry does not know): Pion sends.
			p.d.route.Store(nil)
			seq = p.send(&st, seq, 40+n, 200)
			p.expect(t, 40+n, 200)

			// A new route (ICE picked another pair) mid-stream, past the wrap: the down
			// track's new context starts at rollover counter 1.
			r2 := p.e.routeFor(p.pc)
			if r2 == nil || r2 == r {
				t.Fatal("no new direct route")
			}
			p.d.route.Store(r2)
			const left = 2000
			p.send(&st, seq, 40+n+200, left)
			p.expect(t, 40+n+200, left)
			if direct := p.e.direct.Load(); direct != uint64(n-1+left) {
				t.Errorf("%d packets direct, want %d", direct, n-1+left)
			}
			if d := p.e.dropped.Load(); d != 0 {
				t.Errorf("%d packets dropped", d)
			}
			if fwd, want := p.e.forwarded.Load(), uint64(40+n+200+left); fwd != want {
				t.Errorf("forwarded %d packets, want %d", fwd, want)
			}
			if p.d.roc != 1 {
				t.Errorf("rollover counter %d after one wrap, want 1", p.d.roc)
			}
		})
	}
}

// TestDirectRoutes: a connected UDP subscriber of the engine's gets a direct route (the reflection into Pion still finds the DTLS connection: a Pion
// upgrade that renames it fails here), NoDirectSend turns the path off, and a closed
// transport has none.
func TestDirectRoutes(t *testing.T) {
	p := newDirectPair(t, webrtc.DTLSRoleAuto)
	if p.e.routeFor(p.pc) == nil {
		t.Fatal("no direct route: dtlsConnOf or the socket registry no longer match Pion")
	}
	if _, _, ok := dtlsConnOf(p.pc.SCTP().Transport()); !ok {
		t.Fatal("dtlsConnOf cannot read Pion's DTLS connection")
	}
	cfg := LoopbackConfig()
	cfg.NoDirectSend = true
	e, err := NewEngine(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.sockets != nil {
		t.Fatal("NoDirectSend kept the socket registry")
	}
	_ = p.pc.Close()
	if p.e.routeFor(p.pc) != nil {
		t.Fatal("a closed transport still has a direct route")
	}
}
