package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/signaling"
)

// TestCaseChanged: a case change reaches every admitted participant of the case's room (what changed, nothing
// of it), not one waiting in the lobby, and no room of another case.
func TestCaseChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	lobby := h.dial(ctx, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	if lobby.Joined() != nil {
		t.Fatal("the respondent was admitted without a check")
	}
	marks := map[string]int{"med": med.Mark(), "app": app.Mark(), "res": lobby.Mark()}
	if n := h.srv.CaseChanged("another-case", "documents"); n != 0 {
		t.Fatalf("another case's change told %d rooms", n)
	}
	if n := h.srv.CaseChanged(h.caseID, "documents"); n != 1 {
		t.Fatalf("the case's change told %d rooms, want 1", n)
	}
	for name, cl := range map[string]interface {
		WaitType(context.Context, int, string) (signaling.Envelope, error)
	}{"med": med, "app": app} {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		env, err := cl.WaitType(wctx, marks[name], signaling.TypeCaseChanged)
		cancel()
		if err != nil {
			t.Fatalf("%s: no case_changed: %v", name, err)
		}
		if d := decodeData[signaling.CaseChangedData](t, env); d.What != "documents" {
			t.Fatalf("%s: case_changed says %+v", name, d)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if env, err := lobby.WaitType(wctx, marks["res"], signaling.TypeCaseChanged); err == nil {
		t.Fatalf("a participant in the lobby was told %+v", env)
	}
}
