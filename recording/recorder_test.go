package recording

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// trail is a Sessions that keeps what it is told.
type trail struct {
	record bool
	mu     sync.Mutex
	events []string
	skip   []string
}

func (s *trail) add(e string)                                       { s.mu.Lock(); s.events = append(s.events, e); s.mu.Unlock() }
func (s *trail) ShouldRecord(context.Context, string) (bool, error) { return s.record, nil }
func (s *trail) RecordingStarted(context.Context, string, time.Time) error {
	s.add("started")
	return nil
}
func (s *trail) RecordingRefused(_ context.Context, _ string, _ time.Time, reason string) error {
	s.add("refused: " + reason)
	return nil
}
func (s *trail) RecordingStopped(_ context.Context, _ string, _ time.Time, _ int, _ uint64, skip []string) error {
	s.mu.Lock()
	s.skip = skip
	s.mu.Unlock()
	s.add("stopped")
	return nil
}
func (s *trail) RecordingFile(context.Context, File) error { s.add("file"); return nil }

func (s *trail) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// TestRecorderDecides: a session the case system does not record records nothing and leaves no event; one whose
// store is below the floor is refused with the reason in the trail; a track of a codec without a container here
// is not recorded and the stop event says so.
func TestRecorderDecides(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := NewDirStore(t.TempDir())
	for _, tc := range []struct {
		name  string
		rec   bool
		floor int64
		want  string // the first event
	}{
		{"not recorded", false, 0, ""},
		{"below the floor", true, 1 << 62, "refused: recording: not enough free space"},
		{"recorded", true, 1 << 20, "started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trail{record: tc.rec}
			r, err := New(Config{Store: store, SpoolDir: t.TempDir(), Floor: tc.floor}, tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := r.Open("s1")
			early := s.OpenTrack(TrackInfo{ID: "p/a", Kind: "audio", Codec: "opus"}, nil) // most likely while it is being decided
			if !tc.rec {
				// Not recorded: the track opened meanwhile ends its goroutine at once, and no new one opens.
				deadline := time.Now().Add(10 * time.Second)
				for r.Stats().Tracks != 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if n := r.Stats().Tracks; n != 0 {
					t.Errorf("tracks still running: %d (early track opened: %v), want 0", n, early != nil)
				}
				if s.OpenTrack(TrackInfo{ID: "p/b", Kind: "audio", Codec: "opus"}, nil) != nil {
					t.Errorf("a track opened on a session that is not recorded")
				}
			}
			if tc.want == "started" {
				deadline := time.Now().Add(10 * time.Second)
				for !s.Recording() && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if h := s.OpenTrack(TrackInfo{ID: "p/v", Kind: "video", Codec: "AV1"}, nil); h != nil {
					t.Errorf("an AV1 track was taken")
				}
			}
			s.Close()
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			ev := tr.got()
			switch {
			case tc.want == "" && len(ev) != 0:
				t.Errorf("events %v, want none", ev)
			case tc.want != "" && (len(ev) == 0 || !strings.HasPrefix(ev[0], tc.want)):
				t.Errorf("events %v, want first %q", ev, tc.want)
			}
			if tc.want == "started" && (len(tr.skip) != 1 || !strings.Contains(tr.skip[0], "AV1")) {
				t.Errorf("stop event lists %v as not recorded, want the AV1 track", tr.skip)
			}
			if r.Open("s2") != nil {
				t.Errorf("a closed recorder opened a session")
			}
		})
	}
}
