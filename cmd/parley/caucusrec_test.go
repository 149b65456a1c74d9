package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
)

// TestCaucusRecordingThroughTheCaseAPI (issue 14): in a recorded session, a caucus not everyone consented to
// leaves no file; one whose members and mediator all consented in the room leaves a recording of its own, hash-
// chained, that its member party (whatever the organisation's setting for the joint recording) and its mediator
// open, and that the other side and the court's judge neither see in the list or the trail nor open.
func TestCaucusRecordingThroughTheCaseAPI(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := f.store.SetOrgRecordingSettings(ctx, f.w.OrgAdmin, f.w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	mediatorHTTP := f.login(f.w.Mediator)
	appHTTP := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	resHTTP := f.enter(f.c.ID, f.c.Parties[1].ID, "")
	judgeHTTP := f.login(f.w.Judge)
	med, _ := f.dialRoom(ctx, mediatorHTTP, f.session.ID)
	app, aj := f.dialRoom(ctx, appHTTP, f.session.ID)
	res, rj := f.dialRoom(ctx, resHTTP, f.session.ID)
	for _, p := range []struct {
		cl *rtcclient.Client
		id string
	}{{app, aj.ParticipantID}, {res, rj.ParticipantID}} {
		if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: p.id,
			IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed}}); err != nil {
			t.Fatalf("admit: %v", err)
		}
		if _, err := p.cl.WaitJoined(ctx); err != nil {
			t.Fatalf("not admitted: %v", err)
		}
	}
	for _, cl := range []*rtcclient.Client{med, app} {
		if err := cl.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	waitUntil(t, 30*time.Second, "media", func() bool {
		return med.Stats()[aj.ParticipantID+"/video"].Keyframes > 0 && res.Stats()[f.w.Mediator.ID+"/audio"].Packets > 25
	})
	caucus := func() string {
		env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{aj.ParticipantID}})
		if err != nil {
			t.Fatalf("caucus_open: %v", err)
		}
		var ref signaling.CaucusRef
		if err := json.Unmarshal(env.Data, &ref); err != nil {
			t.Fatal(err)
		}
		return ref.CaucusID
	}
	closeCaucus := func(id string) {
		if _, err := med.Request(ctx, signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: id}); err != nil {
			t.Fatalf("caucus_close: %v", err)
		}
	}
	// Without the mediator's consent: nothing of the caucus.
	first := caucus()
	if _, err := app.Request(ctx, signaling.TypeCaucusRecordConsent, signaling.CaucusRef{CaucusID: first}); err != nil {
		t.Fatalf("consent: %v", err)
	}
	time.Sleep(time.Second)
	closeCaucus(first)
	// With everyone's.
	second := caucus()
	for _, cl := range []*rtcclient.Client{app, med} {
		if _, err := cl.Request(ctx, signaling.TypeCaucusRecordConsent, signaling.CaucusRef{CaucusID: second}); err != nil {
			t.Fatalf("consent: %v", err)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	closeCaucus(second)
	time.Sleep(time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	var list recordingsResponse
	waitUntil(t, 30*time.Second, "the recording to stop", func() bool {
		evs, _ := f.store.Events(ctx, f.c.ID)
		for _, e := range evs {
			if e.Type == "recording.stopped" {
				return mediatorHTTP.do("GET", "/api/v1/sessions/"+f.session.ID+"/recordings", nil, &list) == 200
			}
		}
		return false
	})
	var inCaucus []cases.Recording
	joint := 0
	for _, r := range list.Recordings {
		switch r.CaucusID {
		case "":
			joint++
		case second:
			inCaucus = append(inCaucus, r)
		default:
			t.Errorf("a recording of caucus %q, which the mediator did not consent to: %+v", r.CaucusID, r)
		}
	}
	if len(inCaucus) != 4 || joint != 4 {
		t.Fatalf("%d caucus recordings and %d of the joint room, want 4 and 4 (the two publishers' audio and video)", len(inCaucus), joint)
	}
	media := "/api/v1/recordings/" + inCaucus[0].ID + "/media"
	for name, tc := range map[string]struct {
		c    *client
		want int
	}{"mediator": {mediatorHTTP, 200}, "member party": {appHTTP, 200}, "other side": {resHTTP, 404}, "judge": {judgeHTTP, 404}, "clerk": {f.login(f.w.Clerk), 404}} {
		if st, _, _ := tc.c.getWith(media, nil); st != tc.want {
			t.Errorf("%s opens the caucus recording: %d, want %d", name, st, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		c          *client
		wantCaucus int
	}{"member party": {appHTTP, 4}, "other side": {resHTTP, 0}, "judge": {judgeHTTP, 0}} {
		var l recordingsResponse
		tc.c.do("GET", "/api/v1/sessions/"+f.session.ID+"/recordings", nil, &l)
		n := 0
		for _, r := range l.Recordings {
			if r.CaucusID != "" {
				n++
			}
		}
		if n != tc.wantCaucus {
			t.Errorf("%s's list has %d caucus recordings, want %d", name, n, tc.wantCaucus)
		}
	}
	// The trail: the caucus's events for its readers only, and in the chain.
	for name, tc := range map[string]struct {
		p    cases.Principal
		want bool
	}{"mediator": {f.w.Mediator, true}, "judge": {f.w.Judge, false}} {
		evs, err := f.store.EventsFor(ctx, tc.p, f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		seen := false
		for _, e := range evs {
			seen = seen || e.Type == "recording.caucus_started" || (e.Type == "recording.file" && e.Data["caucus_id"] != nil)
		}
		if seen != tc.want {
			t.Errorf("%s sees the caucus recording's events: %v, want %v", name, seen, tc.want)
		}
	}
	if rep, err := f.store.VerifyChain(ctx, f.c.ID); err != nil || !rep.Valid {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	var out bytes.Buffer
	if checked, bad, err := verifyRecordings(ctx, f.store, f.app.recs.blobs, f.c.ID, &out); err != nil || checked != 8 || bad != 0 {
		t.Errorf("verify: %d checked, %d bad, %v: %s; want the 8 files", checked, bad, err, out.String())
	}
}
