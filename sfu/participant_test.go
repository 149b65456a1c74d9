package sfu

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

type nopSignal struct{}

func (nopSignal) Offer(string)                              {}
func (nopSignal) Candidate(string, webrtc.ICECandidateInit) {}

// TestPublisherTransportOnFirstOffer: a seat that may publish has no publisher transport
// until it offers; candidates sent before are kept for the offer, at most
// maxPendingCandidates per transport (then refused as a bad candidate, keeping what was
// kept); a participant closed before its first offer makes none.
func TestPublisherTransportOnFirstOffer(t *testing.T) {
	e, err := NewEngine(LoopbackConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r, err := e.Room("s-lazy", func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Join("viewer", ParticipantOptions{CanPublish: true, CanSubscribe: true}, nopSignal{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.closeTransports()
	if p.pub.Load() != nil {
		t.Fatal("a publisher transport before any offer")
	}
	cand := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"}
	for _, tr := range []string{TransportPublisher, TransportSubscriber} {
		for i := 0; i < maxPendingCandidates; i++ {
			if err := p.AddCandidate(tr, cand); err != nil {
				t.Fatalf("%s candidate %d before the description: %v", tr, i, err)
			}
		}
		if err := p.AddCandidate(tr, cand); !errors.Is(err, ErrBadCandidate) {
			t.Fatalf("%s candidate %d: %v, want ErrBadCandidate", tr, maxPendingCandidates+1, err)
		}
	}
	if len(p.pubPending) != maxPendingCandidates || len(p.subPending) != maxPendingCandidates {
		t.Fatalf("kept %d publisher and %d subscriber candidates, want %d each", len(p.pubPending), len(p.subPending), maxPendingCandidates)
	}
	if p.pub.Load() != nil {
		t.Fatal("candidates made a publisher transport")
	}

	// The first offer makes it (and answers).
	client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.HandleOffer(offer.SDP, nil); err != nil {
		t.Fatalf("first offer: %v", err)
	}
	if p.pub.Load() == nil {
		t.Fatal("no publisher transport after the first offer")
	}
	if len(p.pubPending) != 0 {
		t.Fatalf("%d candidates still queued after the offer", len(p.pubPending))
	}

	// Closed before its first offer: the offer is refused and nothing is made.
	q, err := r.Join("closed", ParticipantOptions{CanPublish: true}, nopSignal{})
	if err != nil {
		t.Fatal(err)
	}
	q.closeTransports()
	if _, err := q.HandleOffer(offer.SDP, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("offer after close: %v, want ErrClosed", err)
	}
	if q.pub.Load() != nil {
		t.Fatal("a closed participant made a publisher transport")
	}
}
