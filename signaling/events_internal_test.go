package signaling

import (
	"testing"
	"time"
)

// TestStateEventsNeverDropped floods a room whose delivery is stalled with speaker
// updates and track events: every track event stays queued, speaker updates are capped.
func TestStateEventsNeverDropped(t *testing.T) {
	s := NewServer(Config{TokenKey: make(Key, 32)}, nil, NewMemRecorder(), nil)
	defer s.Close(t.Context())
	r := newRoom(s, "case", "sess")
	defer close(r.done)
	r.mu.Lock() // stall delivery
	track := func(i int) MediaEvent {
		return MediaEvent{Kind: MediaTrackPublished, Track: &TrackInfo{ID: "p/t" + string(rune('a'+i%26))}}
	}
	r.onMediaEvent(track(0))
	time.Sleep(50 * time.Millisecond) // the loop takes it and waits for the lock
	const speakers = 5000
	tracks := 0
	for i := 0; i < speakers; i++ {
		r.onMediaEvent(MediaEvent{Kind: MediaActiveSpeaker, To: "x", Participant: "y"})
		if i%16 == 0 {
			r.onMediaEvent(track(i))
			tracks++
		}
		if i%1000 == 0 {
			r.onMediaEvent(MediaEvent{Kind: MediaVideoCodec, Codec: CodecH264})
		}
	}
	r.evMu.Lock()
	got := map[MediaEventKind]int{}
	for _, ev := range r.evQueue {
		got[ev.Kind]++
	}
	r.evMu.Unlock()
	r.mu.Unlock()
	if got[MediaTrackPublished] != tracks || got[MediaVideoCodec] != 5 {
		t.Errorf("queued track events %d, codec events %d; want %d and 5 (none dropped)", got[MediaTrackPublished], got[MediaVideoCodec], tracks)
	}
	if got[MediaActiveSpeaker] > maxDroppableEvents {
		t.Errorf("queued speaker events %d, want at most %d", got[MediaActiveSpeaker], maxDroppableEvents)
	}
	if s.Stats().EventsDropped == 0 {
		t.Error("dropped speaker events not counted")
	}
}
