package cases_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestWatchChanges: a committed document or workflow event everyone in the case may see reaches a watcher at
// once, naming the case and the event type; a staff-only event and a rolled-back one never do.
func TestWatchChanges(t *testing.T) {
	t.Parallel()
	s, _ := casestest.Store(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	w := casestest.Populate(t, s)
	c := casestest.InMediation(t, s, w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type notice struct{ id, typ string }
	got := make(chan notice, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchChanges(ctx, func(id, typ string) {
			if id == c.ID { // other tests' cases share the database's channel
				got <- notice{id, typ}
			}
		})
	}()
	// The watcher listens once a notice sent now arrives: send until one does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.RecordEvent(ctx, c.ID, cases.System, "document.generated", cases.VisAll, map[string]any{"n": 0}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no notice within 10 s of a committed document event")
			}
			continue
		}
		break
	}
	for len(got) > 0 {
		<-got
	}
	if _, err := s.RecordEvent(ctx, c.ID, cases.System, "service.sent", cases.VisStaff, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, c.ID, cases.System, "document.signed", cases.VisStaff, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.RecordEvent(ctx, c.ID, cases.System, "document.signed", cases.VisAll, map[string]any{"field": "sig-applicant"}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n.typ != "document.signed" {
			t.Fatalf("first notice after two staff-only events: %q, want document.signed (staff-only events are not announced)", n.typ)
		}
		t.Logf("notice %v after the commit", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("no notice of document.signed")
	}
	// A case that does not exist (a failed transaction) announces nothing.
	if _, err := s.RecordEvent(ctx, "00000000-0000-4000-8000-000000000000", cases.System, "document.signed", cases.VisAll, nil); err == nil {
		t.Fatal("an event on a missing case was recorded")
	}
	select {
	case n := <-got:
		t.Fatalf("unexpected notice %v", n)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchChanges did not return after its context ended")
	}
}
