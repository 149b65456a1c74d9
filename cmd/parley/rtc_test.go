package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
)

// dialRoom asks the case API for a join token as c and connects a Pion client with it (loopback only).
func (f *fixture) dialRoom(ctx context.Context, c *client, sessionID string) (*rtcclient.Client, joinResponse) {
	f.t.Helper()
	var j joinResponse
	if st := c.do("POST", "/api/v1/sessions/"+sessionID+"/join", nil, &j); st != 200 {
		f.t.Fatalf("join token: %d", st)
	}
	cl, err := rtcclient.Dial(ctx, rtcclient.Config{URL: j.URL, Token: j.Token, CaseID: j.CaseID, SessionID: j.SessionID, Loopback: true})
	if err != nil {
		f.t.Fatalf("dial as %s: %v", j.Role, err)
	}
	f.t.Cleanup(cl.Close)
	return cl, j
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRoomThroughTheCaseAPI runs a real session: tokens from the case API, Pion clients over loopback, and
// everything the room records landing on the case in PostgreSQL.
func TestRoomThroughTheCaseAPI(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mediatorHTTP := f.login(f.w.Mediator)
	partyHTTP := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	judgeHTTP := f.login(f.w.Judge)

	med, mj := f.dialRoom(ctx, mediatorHTTP, f.session.ID)
	if mj.Role != "mediator" || !mj.CanModerate || mj.Lobby || med.Joined() == nil {
		t.Fatalf("mediator join: %+v", mj)
	}
	party, pj := f.dialRoom(ctx, partyHTTP, f.session.ID)
	if pj.Role != "party" || !pj.Lobby || party.Joined() != nil {
		t.Fatalf("party should wait in the lobby: %+v", pj)
	}
	// The mediator admits with an identity check that the case does not accept: refused, nothing recorded.
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: pj.ParticipantID,
		IdentityCheck: signaling.IdentityCheck{Method: "guessed", Result: signaling.CheckPassed}}); err == nil {
		t.Fatal("an admission with an unknown identity-check method was accepted")
	}
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: pj.ParticipantID,
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed, Note: "身份证与本人一致"}}); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if _, err := party.WaitJoined(ctx); err != nil {
		t.Fatalf("party not admitted: %v", err)
	}
	for _, cl := range []*rtcclient.Client{med, party} {
		if err := cl.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	// The judge drops in without admission and receives both publishers' video.
	judge, jj := f.dialRoom(ctx, judgeHTTP, f.session.ID)
	if jj.Role != "judge" || judge.Joined() == nil {
		t.Fatalf("judge join: %+v", jj)
	}
	waitUntil(t, 20*time.Second, "the judge to receive video from both publishers", func() bool {
		n := 0
		for _, s := range judge.Stats() {
			if s.Kind == "video" && s.Keyframes > 0 {
				n++
			}
		}
		return n == 2
	})
	if _, err := party.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "我同意继续调解"}); err != nil {
		t.Fatalf("chat: %v", err)
	}
	env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{pj.ParticipantID}})
	if err != nil {
		t.Fatalf("caucus: %v", err)
	}
	_ = env
	waitUntil(t, 10*time.Second, "the caucus to be recorded", func() bool {
		d, err := f.store.SessionDetail(ctx, f.w.Mediator, f.session.ID)
		return err == nil && len(d.Caucuses) == 1
	})
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	waitUntil(t, 10*time.Second, "the session to end in the database", func() bool {
		ss, err := f.store.Session(ctx, f.session.ID)
		return err == nil && ss.Status == cases.SessionEnded
	})
	d, err := f.store.SessionDetail(ctx, f.w.Mediator, f.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{}
	for _, a := range d.Attendance {
		roles[a.Role] = true
		if a.LeftAt == nil {
			t.Errorf("%s (%s) has no leave time after the session ended", a.Name, a.Role)
		}
	}
	for _, r := range []string{"mediator", "party", "judge"} {
		if !roles[r] {
			t.Errorf("attendance lacks a %s: %+v", r, d.Attendance)
		}
	}
	if len(d.IdentityChecks) != 1 || d.IdentityChecks[0].Method != "id_card_on_camera" || d.IdentityChecks[0].CheckedBy != f.w.Mediator.ID {
		t.Errorf("identity checks %+v", d.IdentityChecks)
	}
	if !slices.ContainsFunc(d.Messages, func(m cases.ChatMessage) bool { return m.Body == "我同意继续调解" && m.Scope == "joint" }) {
		t.Errorf("chat not kept: %+v", d.Messages)
	}
	evs, _ := f.store.Events(ctx, f.c.ID)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	for _, want := range []string{"session.identity_checked", "session.judge_joined", "session.ended"} {
		if !slices.Contains(types, want) {
			t.Errorf("the trail lacks %s: %v", want, types)
		}
	}
	// An ended session gives no more tokens.
	if st := mediatorHTTP.do("POST", "/api/v1/sessions/"+f.session.ID+"/join", nil, nil); st != 409 {
		t.Errorf("join an ended session: %d, want 409", st)
	}
}
