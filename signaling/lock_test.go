package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/signaling"
)

// TestRecorderNotUnderRoomLock holds the Recorder (a slow database) during an
// admission, a caucus opening and a caucus closing, and checks that the room still
// answers another participant meanwhile: the room lock is not held across the call.
func TestRecorderNotUnderRoomLock(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t, 40*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	judge := h.dial(ctx, h.claims("judge", signaling.RoleJudge, ""))
	app := h.dial(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant))

	// probe needs the room lock (handle reads the seat under it) but no Recorder call.
	probe := func(during string) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := judge.Request(pctx, signaling.TypeUnpublish, signaling.TrackRef{TrackID: "nothing"})
		if errCode(err) != signaling.CodeNotFound {
			t.Fatalf("room request while the record of %s is slow: %v, want not_found at once", during, err)
		}
	}
	run := func(kind string, req func() error) {
		t.Helper()
		entered, release := h.rec.Hold(kind)
		done := make(chan error, 1)
		go func() { done <- req() }()
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not recorded", kind)
		}
		probe(kind)
		release()
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	run("admitted", func() error {
		_, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "app",
			IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed}})
		return err
	})
	if _, err := app.WaitJoined(ctx); err != nil {
		t.Fatalf("not admitted: %v", err)
	}
	var caucusID string
	run("caucus_open", func() error {
		env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{"app"}})
		if err == nil {
			caucusID = decodeData[signaling.CaucusRef](t, env).CaucusID
		}
		return err
	})
	run("caucus_close", func() error {
		_, err := med.Request(ctx, signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: caucusID})
		return err
	})
	kinds := map[string]int{}
	waitFor(t, 5*time.Second, "the records", func() bool {
		kinds = map[string]int{}
		for _, r := range h.rec.Records() {
			kinds[r.Kind]++
		}
		return kinds["admitted"] == 1 && kinds["caucus_open"] == 1 && kinds["caucus_close"] == 1
	}, func() { t.Logf("records: %v", kinds) })
}

// TestChatAckedOnlyOnceStored: with the record failing (database outage) a chat
// message is refused with record_failed and reaches nobody; once the record works again
// it is acknowledged and delivered.
func TestChatAckedOnlyOnceStored(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t, 30*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	judge := h.dial(ctx, h.claims("judge", signaling.RoleJudge, ""))
	mark := judge.Mark()
	h.rec.Fail("chat", context.DeadlineExceeded)
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "lost?"}); errCode(err) != signaling.CodeRecordFailed {
		t.Fatalf("chat while the record fails: %v, want record_failed", err)
	}
	h.rec.Fail("chat", nil)
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "kept"}); err != nil {
		t.Fatalf("chat: %v", err)
	}
	env, err := judge.WaitType(ctx, mark, signaling.TypeChat)
	if err != nil {
		t.Fatalf("judge got no chat: %v", err)
	}
	if got := decodeData[signaling.ChatData](t, env).Text; got != "kept" {
		t.Errorf("first chat delivered: %q, want %q (the unstored one must not be delivered)", got, "kept")
	}
}
