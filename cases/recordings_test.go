package cases_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestRecordingSettingsAndTrail: the organisation's setting decides unless the mediator chose for the session
// before it started; a stored file's hash goes into the chain, which still verifies; only the case's mediators and
// the court's judges (and the parties when the organisation allows it) may watch.
func TestRecordingSettingsAndTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := casestest.Store(t, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	w := casestest.Populate(t, s)
	c := casestest.InMediation(t, s, w)

	ss, err := s.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解"})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _, err := s.SessionRecorded(ctx, ss.ID); err != nil || rec {
		t.Fatalf("default: recorded %v (%v), want off", rec, err)
	}
	if _, err := s.SetOrgRecordingSettings(ctx, w.Mediator, w.Org.ID, cases.RecordingSettings{RecordSessions: true}); cases.ErrorCode(err) != cases.EFORBIDDEN {
		t.Errorf("a mediator sets the organisation's setting: got %v, want forbidden", err)
	}
	if _, err := s.SetOrgRecordingSettings(ctx, w.OrgAdmin, w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	if rec, pv, err := s.SessionRecorded(ctx, ss.ID); err != nil || !rec || pv {
		t.Fatalf("organisation records: got %v %v (%v), want recorded, parties may not view", rec, pv, err)
	}
	if _, err := s.SetSessionRecording(ctx, w.Mediator, ss.ID, false); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := s.SessionRecorded(ctx, ss.ID); rec {
		t.Errorf("mediator's choice off: still recorded")
	}
	if _, err := s.SetSessionRecording(ctx, w.Mediator, ss.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartSession(ctx, w.Mediator, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSessionRecording(ctx, w.Mediator, ss.ID, false); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("choice after the start: got %v, want conflict", err)
	}
	if _, err := s.SetSessionRecording(ctx, casestest.PartyPrincipal(c, 0), ss.ID, false); err == nil {
		t.Errorf("a party chose the recording")
	}

	if err := s.RecordSessionEvent(ctx, ss.ID, "recording.started", nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.AddRecording(ctx, cases.Recording{SessionID: ss.ID, TrackID: "p1/audio", ParticipantID: "p1", Kind: "audio",
		Codec: "opus", Container: "webm", BlobRef: "dir:0123", Size: 1234, SHA256: "ab12", StartedAt: time.Now(), DurationMS: 8000})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Fatalf("chain after recording: %+v %v", rep, err)
	}
	hs, err := s.RecordingHashes(ctx, c.ID)
	if err != nil || len(hs) != 1 || hs[0].SHA256 != "ab12" || hs[0].Size != 1234 || hs[0].BlobRef != "dir:0123" {
		t.Fatalf("hashes: got %+v %v", hs, err)
	}

	party := casestest.PartyPrincipal(c, 0)
	for _, tc := range []struct {
		name string
		p    cases.Principal
		want string // "" = may watch
	}{
		{"mediator", w.Mediator, ""},
		{"judge of the court", w.Judge, ""},
		{"clerk", w.Clerk, cases.EFORBIDDEN},
		{"org admin", w.OrgAdmin, cases.EFORBIDDEN},
		{"other mediator of the org", w.OrgMediator, cases.EFORBIDDEN},
		{"judge of another court", w.OtherJudge, cases.ENOTFOUND},
		{"party", party, cases.EFORBIDDEN},
	} {
		_, err := s.RecordingFor(ctx, tc.p, r.ID)
		if got := cases.ErrorCode(err); got != tc.want && !(tc.want == "" && err == nil) {
			t.Errorf("%s: got %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := s.SetOrgRecordingSettings(ctx, w.OrgAdmin, w.Org.ID, cases.RecordingSettings{RecordSessions: true, PartiesViewRecordings: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecordingFor(ctx, party, r.ID)
	if err != nil {
		t.Fatalf("party with the organisation's leave: %v", err)
	}
	if err := s.RecordingViewed(ctx, party, got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordingFor(ctx, w.Mediator, "not-a-uuid"); cases.ErrorCode(err) != cases.ENOTFOUND {
		t.Errorf("bad id: got %v", err)
	}

	if err := s.MarkRecordingDeleted(ctx, r.ID, "retention"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordingFor(ctx, w.Mediator, r.ID); cases.ErrorCode(err) != cases.ENOTFOUND {
		t.Errorf("deleted recording: got %v, want not found", err)
	}
	evs, _ := s.Events(ctx, c.ID)
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Type] = true
	}
	for _, typ := range []string{"recording.setting", "recording.started", "recording.file", "recording.viewed", "recording.deleted"} {
		if !seen[typ] {
			t.Errorf("no %s event in the trail", typ)
		}
	}
	if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Fatalf("chain at the end: %+v %v", rep, err)
	}
	if hs, _ := s.RecordingHashes(ctx, c.ID); len(hs) != 1 || !hs[0].Deleted || hs[0].SHA256 != "ab12" {
		t.Errorf("hash kept after deletion: got %+v", hs)
	}
}
