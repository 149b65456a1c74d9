package signaling_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
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

// TestJoinWhileTheRoomEmpties: many joining at once just as the room's last participant leaves all get in (the
// closing room is waited for and a fresh one opened), none is refused with "room closed while joining".
func TestJoinWhileTheRoomEmpties(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 30*time.Second)
	for round := 0; round < 3; round++ {
		// A room of several publishers empties at once (closing their transports takes a while)…
		var olds []*client.Client
		for i := 0; i < 6; i++ {
			cl := h.dial(ctx, h.claims(fmt.Sprintf("m%d-%d", round, i), signaling.RoleMediator, ""))
			publish(ctx, t, cl, client.PublishOptions{Audio: true, Video: true})
			olds = append(olds, cl)
		}
		for _, cl := range olds {
			go cl.Close()
		}
		time.Sleep(20 * time.Millisecond) // …and the others come while it closes
		var wg sync.WaitGroup
		errs := make(chan error, 12)
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := h.claims(fmt.Sprintf("r%d-%d", round, i), signaling.RoleMediator, "")
				cfg := client.Config{URL: h.url, Token: h.token(c), CaseID: c.CaseID, SessionID: c.SessionID, Loopback: true, Logger: testLogger()}
				cl, err := client.Dial(ctx, cfg)
				if err != nil {
					errs <- err
					return
				}
				if cl.Joined() == nil {
					errs <- fmt.Errorf("%s not joined", c.ParticipantID)
				}
				cl.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
	}
}
