package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
)

// TestBrowserRecordingPlayback (issue 14): a short recorded session — the mediator's Pion client publishes the
// test clip and writes in the chat — leaves its per-track files and the composed file; the mediator's playback
// page in Chromium plays the composed file, seeks into its middle (the range requests answer, the frame there
// decodes), the per-track players load too, and the session's events stand beside them with their times.
func TestBrowserRecordingPlayback(t *testing.T) {
	e := browserE2E(t, "TestBrowserRecordingPlayback")
	if e == nil {
		return
	}
	if e.app.recs.rec == nil {
		t.Fatal("no recorder")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := e.w
	if _, err := e.store.SetOrgRecordingSettings(ctx, w.OrgAdmin, w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	c := casestest.InMediation(t, e.store, w)
	ss, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := joinClaims(w.Mediator, c, ss)
	if err != nil {
		t.Fatal(err)
	}
	cl.ExpiresAt = time.Now().Add(5 * time.Minute)
	tok, err := signaling.IssueToken(e.app.rooms.tokenKey, cl)
	if err != nil {
		t.Fatal(err)
	}
	med, err := rtcclient.Dial(ctx, rtcclient.Config{URL: e.app.rooms.wsURL, Token: tok, CaseID: c.ID, SessionID: ss.ID, Loopback: true})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer med.Close()
	if err := med.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	time.Sleep(2 * time.Second)
	const said = "现在开始调解，本次会议全程录音录像。"
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: said}); err != nil {
		t.Fatalf("chat: %v", err)
	}
	time.Sleep(2 * time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	var composed cases.Recording
	waitUntil(t, 30*time.Second, "the composed file", func() bool {
		list, err := e.store.SessionRecordings(ctx, w.Mediator, ss.ID)
		for _, r := range list {
			if r.Kind == "composed" {
				composed = r
			}
		}
		return err == nil && composed.ID != ""
	})
	if composed.DurationMS < 3000 {
		t.Fatalf("composed file of %d ms, want the ~4 s of the session", composed.DurationMS)
	}

	tb := e.newTab("mediator", 1280, 900)
	tb.login(w.Mediator)
	tb.open("/sessions/" + ss.ID + "/recordings")
	sel := fmt.Sprintf(`#recordings video[data-recording=%q]`, composed.ID)
	tb.wait(`document.querySelector('#recordings li:first-child ` + fmt.Sprintf(`video[data-recording=%q]`, composed.ID) + `')`)
	// Play it, then seek to the middle and wait for the frame there.
	played := js[string](tb, `(async () => {
		const v = document.querySelector('`+sel+`');
		v.muted = true;
		try { await v.play(); } catch (e) { return 'play: ' + e.name + ' ' + e.message; }
		await new Promise((ok) => setTimeout(ok, 300));
		v.pause();
		if (v.error) return 'error ' + v.error.code;
		return 'ok';
	})()`)
	if played != "ok" {
		tb.fail("the composed file does not play: %s", played)
	}
	mid := float64(composed.DurationMS) / 2000
	res := js[map[string]any](tb, fmt.Sprintf(`(async () => {
		const v = document.querySelector('%s');
		const seeked = new Promise((ok) => v.addEventListener('seeked', ok, {once: true}));
		v.currentTime = %f;
		await Promise.race([seeked, new Promise((ok) => setTimeout(ok, 10000))]);
		const t0 = Date.now();
		while (v.readyState < 2 && Date.now() - t0 < 10000) await new Promise((ok) => setTimeout(ok, 50));
		return {t: v.currentTime, ready: v.readyState, duration: v.duration, w: v.videoWidth, h: v.videoHeight, error: v.error ? v.error.code : 0};
	})()`, sel, mid))
	if tt, _ := res["t"].(float64); tt < mid-0.5 || tt > mid+0.5 || res["ready"].(float64) < 2 || res["error"].(float64) != 0 {
		tb.fail("after seeking to %.1f s: %v, want currentTime near it and readyState ≥ 2", mid, res)
	}
	if d, _ := res["duration"].(float64); d < mid {
		t.Errorf("the browser reads a duration of %v s, want about %.1f", res["duration"], 2*mid)
	}
	if res["w"].(float64) == 0 {
		t.Errorf("the composed video has no picture: %v", res)
	}
	// Every per-track original loads (its metadata, so its duration is known).
	tb.wait(`[...document.querySelectorAll('#recordings .rec-player')].every((p) => p.readyState >= 1 && !p.error)`)
	if n := js[int](tb, `document.querySelectorAll('#recordings .rec-player').length`); n != 3 {
		t.Errorf("%d players, want the composed file and the two tracks", n)
	}
	if heads := js[string](tb, `[...document.querySelectorAll('#recordings .top-line strong')].map((x) => x.textContent).join('|')`); strings.Count(heads, w.Mediator.Name) != 2 || strings.Contains(heads, w.Mediator.ID) {
		t.Errorf("track headings %q, want the mediator's name on both tracks", heads)
	}
	// The events beside them: the mediator's join and the chat, at their times; choosing the chat seeks there.
	tb.wait(fmt.Sprintf(`[...document.querySelectorAll('#recordings-timeline li')].some((li) => li.textContent.includes(%q))`, said))
	at := js[float64](tb, fmt.Sprintf(`(async () => {
		const li = [...document.querySelectorAll('#recordings-timeline li')].find((li) => li.textContent.includes(%q));
		const v = document.querySelector('%s');
		const seeked = new Promise((ok) => v.addEventListener('seeked', ok, {once: true}));
		const b = li.querySelector('button');
		b.click();
		await Promise.race([seeked, new Promise((ok) => setTimeout(ok, 10000))]);
		const [h, m, s] = b.textContent.split(':').map(Number);
		return v.currentTime - (h * 3600 + m * 60 + s) + Number(v.dataset.offset) / 1000;
	})()`, said, sel))
	if at < -1 || at > 1 { // the button shows whole seconds
		t.Errorf("choosing the chat message put the composed file %.2f s from the message's time, want within 1 s", at)
	}
	tb.shot("recording-playback-1280")
	tb.checkTranslated("playback page")
	e.checkNoJSErrors()
}

// TestBrowserCaucusRecordingConsent (issue 14): in a recorded session, the applicant in Chromium (390×844) is put
// into a caucus by the mediator (a Pion client); the caucus's banner asks for consent to its recording; after the
// applicant's tap it waits for the mediator's, and once the mediator consented it says the caucus is recorded; the
// files of that caucus are stored apart, for its readers only.
func TestBrowserCaucusRecordingConsent(t *testing.T) {
	e := browserE2E(t, "TestBrowserCaucusRecordingConsent")
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := e.w
	if _, err := e.store.SetOrgRecordingSettings(ctx, w.OrgAdmin, w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	c := casestest.InMediation(t, e.store, w)
	ss, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := joinClaims(w.Mediator, c, ss)
	if err != nil {
		t.Fatal(err)
	}
	cl.ExpiresAt = time.Now().Add(5 * time.Minute)
	tok, err := signaling.IssueToken(e.app.rooms.tokenKey, cl)
	if err != nil {
		t.Fatal(err)
	}
	med, err := rtcclient.Dial(ctx, rtcclient.Config{URL: e.app.rooms.wsURL, Token: tok, CaseID: c.ID, SessionID: ss.ID, Loopback: true})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer med.Close()
	if err := med.Publish(ctx, rtcclient.PublishOptions{Audio: true}); err != nil {
		t.Fatalf("publish: %v", err)
	}

	applicant := c.Parties[0]
	_, inv, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, applicant.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tb := e.newTab("applicant", 390, 844)
	tb.enter(e.base+"/join/"+string(inv), applicant.Phone)
	tb.debug()
	tb.click(`a.btn[href="/rooms/` + ss.ID + `"]`)
	tb.wait(`document.querySelector('#recording-notice') && document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	tb.click(`#join-room`)
	tb.wait(`window.__parley && window.__parley.session.status === 'lobby'`)
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: applicant.ID,
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed}}); err != nil {
		t.Fatalf("admit: %v", err)
	}
	tb.wait(`window.__parley.session.status === 'joined' && document.querySelector('#recording-indicator')`)
	env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{applicant.ID}})
	if err != nil {
		t.Fatalf("caucus_open: %v", err)
	}
	var ref signaling.CaucusRef
	if err := json.Unmarshal(env.Data, &ref); err != nil {
		t.Fatal(err)
	}
	tb.wait(`document.querySelector('#caucus-in #caucus-record-consent')`)
	tb.viewShot("room-caucus-consent-ask-390x844")
	tb.click(`#caucus-record-consent`)
	tb.wait(`document.querySelector('#caucus-recording') && !document.querySelector('#caucus-record-consent')`)
	if txt := tb.text(`#caucus-recording`); !strings.Contains(txt, "等待") {
		t.Errorf("after consenting the banner reads %q, want that it waits for the others", txt)
	}
	if _, err := med.Request(ctx, signaling.TypeCaucusRecordConsent, ref); err != nil {
		t.Fatalf("the mediator's consent: %v", err)
	}
	tb.wait(`document.querySelector('#caucus-recording') && document.querySelector('#caucus-recording').textContent.includes('正在录音录像')`)
	tb.viewShot("room-caucus-recorded-390x844")
	time.Sleep(2 * time.Second)
	if _, err := med.Request(ctx, signaling.TypeCaucusClose, ref); err != nil {
		t.Fatalf("caucus_close: %v", err)
	}
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	waitUntil(t, 20*time.Second, "the caucus's files", func() bool {
		var n int
		_ = e.store.Pool().QueryRow(ctx, `SELECT count(*) FROM session_recordings WHERE session_id = $1 AND caucus_ref IS NOT NULL`, ss.ID).Scan(&n)
		return n >= 2 // the applicant's audio and video at least, and the mediator's audio
	})
	e.checkNoJSErrors()
}

// TestBrowserRecordingH264 (issue 14): in a room settled on H.264 the original is a fragmented MP4, which the
// playback page plays in Chromium and seeks into.
func TestBrowserRecordingH264(t *testing.T) {
	e := browserE2E(t, "TestBrowserRecordingH264")
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := e.w
	if _, err := e.store.SetOrgRecordingSettings(ctx, w.OrgAdmin, w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	c := casestest.InMediation(t, e.store, w)
	ss, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := joinClaims(w.Mediator, c, ss)
	if err != nil {
		t.Fatal(err)
	}
	cl.ExpiresAt = time.Now().Add(5 * time.Minute)
	tok, err := signaling.IssueToken(e.app.rooms.tokenKey, cl)
	if err != nil {
		t.Fatal(err)
	}
	med, err := rtcclient.Dial(ctx, rtcclient.Config{URL: e.app.rooms.wsURL, Token: tok, CaseID: c.ID, SessionID: ss.ID, Loopback: true, Decode: []string{signaling.CodecH264}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer med.Close()
	if err := med.Publish(ctx, rtcclient.PublishOptions{Video: true}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	time.Sleep(4 * time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	var video cases.Recording
	waitUntil(t, 20*time.Second, "the H.264 file", func() bool {
		list, _ := e.store.SessionRecordings(ctx, w.Mediator, ss.ID)
		for _, r := range list {
			if r.Kind == "video" {
				video = r
			}
		}
		return video.ID != ""
	})
	if video.Container != "mp4" || video.Codec != "h264" {
		t.Fatalf("video recorded as %s/%s, want h264 in mp4", video.Codec, video.Container)
	}
	tb := e.newTab("mediator", 1280, 800)
	tb.login(w.Mediator)
	tb.open("/sessions/" + ss.ID + "/recordings")
	sel := fmt.Sprintf(`#recordings video[data-recording=%q]`, video.ID)
	tb.wait(`document.querySelector('` + sel + `')`)
	mid := float64(video.DurationMS) / 2000
	res := js[map[string]any](tb, fmt.Sprintf(`(async () => {
		const v = document.querySelector('%s');
		const t0 = Date.now();
		while (v.readyState < 1 && !v.error && Date.now() - t0 < 10000) await new Promise((ok) => setTimeout(ok, 50));
		if (v.error) return {error: v.error.code, t: 0, ready: v.readyState, duration: 0, w: 0};
		const seeked = new Promise((ok) => v.addEventListener('seeked', ok, {once: true}));
		v.currentTime = %f;
		await Promise.race([seeked, new Promise((ok) => setTimeout(ok, 10000))]);
		while (v.readyState < 2 && !v.error && Date.now() - t0 < 20000) await new Promise((ok) => setTimeout(ok, 50));
		return {t: v.currentTime, ready: v.readyState, duration: v.duration, w: v.videoWidth, error: v.error ? v.error.code : 0};
	})()`, sel, mid))
	if tt, _ := res["t"].(float64); tt < mid-0.5 || tt > mid+0.5 || res["ready"].(float64) < 2 || res["error"].(float64) != 0 || res["w"].(float64) != 320 {
		tb.fail("the H.264 recording after seeking to %.1f s: %v, want it played there (readyState ≥ 2, 320 px wide)", mid, res)
	}
	if d, _ := res["duration"].(float64); d < 2*mid-0.5 || d > 2*mid+0.5 {
		t.Errorf("Chromium reads a duration of %v s, want %.1f", res["duration"], 2*mid)
	}
	tb.shot("recording-playback-h264-1280")
	// The composer reads the MP4 too.
	waitUntil(t, 30*time.Second, "the composed file of the H.264 session", func() bool {
		list, _ := e.store.SessionRecordings(ctx, w.Mediator, ss.ID)
		for _, r := range list {
			if r.Kind == "composed" && r.DurationMS > 2000 {
				return true
			}
		}
		return false
	})
	e.checkNoJSErrors()
}
