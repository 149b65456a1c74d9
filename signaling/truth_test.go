package signaling_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// Tests that the server does what docs/signaling.md says (issue 10 §4).

// closeCode reads until the server closes the socket and returns the close code of
// its close frame (-1: the socket ended without one).
func (r *rawConn) closeCode() int {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_ = r.ws.SetReadDeadline(deadline)
		if _, _, err := r.ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
	return -1
}

// TestFiveFailedRequestsBeforeJoin: any five requests answered with an error before a
// successful join — garbage, unknown types, refused joins — close the connection with
// a 1008 close frame.
func TestFiveFailedRequestsBeforeJoin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	mixes := map[string][]string{
		"garbage":   {`no`, `{`, `[]`, `"x"`, `{"type":""}`},
		"mixed":     {`not json`, `{"type":"teleport","data":{}}`, `{"type":"chat","data":{"text":"hi"}}`, `{"type":"join","data":{"version":1,"token":"forged"}}`, `{"type":"join","data":{"version":7,"token":"x"}}`},
		"bad joins": {`{"type":"join","data":{"version":1,"token":"a"}}`, `{"type":"join","data":{"version":1,"token":"b"}}`, `{"type":"join","data":{"version":1,"token":"c"}}`, `{"type":"join","data":{"version":1,"token":"d"}}`, `{"type":"join","data":{"version":1,"resume":"e"}}`},
	}
	for name, msgs := range mixes {
		t.Run(name, func(t *testing.T) {
			r := h.raw(t)
			for i, m := range msgs {
				r.send(m)
				if env := r.next(); env.Type != signaling.TypeError {
					t.Fatalf("message %d: got %s, want error", i+1, env.Type)
				}
			}
			if code := r.closeCode(); code != websocket.ClosePolicyViolation {
				t.Errorf("after five failed requests: close code %d, want %d", code, websocket.ClosePolicyViolation)
			}
		})
	}
	t.Run("four then a join", func(t *testing.T) {
		r := h.raw(t)
		for _, m := range mixes["garbage"][:4] {
			r.send(m)
			r.next()
		}
		tok := h.token(h.claims("late", signaling.RoleClerk, ""))
		r.send(`{"type":"join","id":"j","data":{"version":1,"token":"` + tok + `","case_id":"case-1","session_id":"sess-1"}}`)
		if env := r.next(); env.Type != signaling.TypeJoined {
			t.Errorf("join after four failures: got %s %s, want joined", env.Type, env.Data)
		}
	})
}

// TestInvalidUTF8Refused: a text frame that is not UTF-8 is answered bad_message and the
// connection fails with 1007 (RFC 6455 §8.1); the room goes on.
func TestInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	r := h.raw(t)
	tok := h.token(h.claims("clerk", signaling.RoleClerk, ""))
	r.send(`{"type":"join","data":{"version":1,"token":"` + tok + `","case_id":"case-1","session_id":"sess-1"}}`)
	if env := r.next(); env.Type != signaling.TypeJoined {
		t.Fatalf("join: %s", env.Type)
	}
	r.send("{\"type\":\"chat\",\"data\":{\"text\":\"\xff\xfe bad\"}}")
	r.expectError(signaling.CodeBadMessage)
	if code := r.closeCode(); code != websocket.CloseInvalidFramePayloadData {
		t.Errorf("close code %d, want %d", code, websocket.CloseInvalidFramePayloadData)
	}
	for _, rec := range h.rec.Records() {
		if rec.Kind == "chat" {
			t.Errorf("invalid UTF-8 chat recorded: %q", rec.Text)
		}
	}
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "still here"}); err != nil {
		t.Errorf("room after the bad frame: %v", err)
	}
}

// TestRateAbuseCloses: a burst over the rate limit is refused, but a connection that
// keeps flooding — more than 5 × burst refused messages within 10 s — is closed with a
// 1008 close frame.
func TestRateAbuseCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *signaling.Config) { c.MessageRate, c.MessageBurst = 5, 5 })
	r := h.raw(t)
	tok := h.token(h.claims("flood", signaling.RoleClerk, ""))
	r.send(`{"type":"join","data":{"version":1,"token":"` + tok + `","case_id":"case-1","session_id":"sess-1"}}`)
	if env := r.next(); env.Type != signaling.TypeJoined {
		t.Fatalf("join: %s", env.Type)
	}
	const threshold = 5 * 5
	refused, sent := 0, 0
	done := make(chan int, 1)
	go func() {
		code := -1
		for {
			_ = r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := r.ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					code = ce.Code
				}
				done <- code
				return
			}
			if strings.Contains(string(b), signaling.CodeRateLimited) {
				refused++
			}
		}
	}()
	for ; sent < 200; sent++ {
		if err := r.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","data":{"ts":1}}`)); err != nil {
			break // closed by the server
		}
	}
	code := <-done
	if code != websocket.ClosePolicyViolation {
		t.Errorf("flood of %d messages: close code %d, want %d", sent, code, websocket.ClosePolicyViolation)
	}
	if refused < threshold {
		t.Errorf("closed after %d refusals, want more than %d first", refused, threshold)
	}
	t.Logf("sent %d, refused %d, then closed with %d", sent, refused, code)
}

// TestAdmissionRequestErrors: an unknown identity-check method, or "other" without a
// note, is the moderator's mistake (identity_check), not a recording failure; nothing
// is recorded and the party keeps waiting.
func TestAdmissionRequestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.dial(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	for _, chk := range []signaling.IdentityCheck{
		{Method: "looked_friendly", Result: signaling.CheckPassed},
		{Method: "other", Result: signaling.CheckPassed},
		{Method: "other", Result: signaling.CheckPassed, Note: "   "},
	} {
		_, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "app", IdentityCheck: chk})
		if errCode(err) != signaling.CodeIdentityCheck {
			t.Errorf("admit with %+v: %v, want %s", chk, err, signaling.CodeIdentityCheck)
		}
	}
	for _, rec := range h.rec.Records() {
		if rec.Kind == "admitted" {
			t.Fatalf("a refused admission was recorded: %+v", rec)
		}
	}
	if app.Joined() != nil {
		t.Fatal("admitted despite the refused check")
	}
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "app",
		IdentityCheck: signaling.IdentityCheck{Method: "other", Result: signaling.CheckPassed, Note: "视频中核对了律师证"}}); err != nil {
		t.Fatalf("admit with other and a note: %v", err)
	}
	if _, err := app.WaitJoined(ctx); err != nil {
		t.Errorf("not admitted: %v", err)
	}
}

// TestActiveSpeakerNeverSelf: each receiver is told the loudest participant it can hear,
// never itself: the loudest speaker hears the second loudest.
func TestActiveSpeakerNeverSelf(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 40*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	res := h.enter(ctx, med, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	publish(ctx, t, app, client.PublishOptions{Audio: true, AudioLevel: 10}) // loudest, −10 dBov
	publish(ctx, t, res, client.PublishOptions{Audio: true, AudioLevel: 30}) // −30 dBov
	speaker := func(cl *client.Client) (signaling.SpeakerData, bool) {
		var last signaling.SpeakerData
		found := false
		for _, m := range cl.Messages() {
			if m.Type == signaling.TypeActiveSpeaker {
				last, found = decodeData[signaling.SpeakerData](t, m), true
			}
		}
		return last, found
	}
	waitFor(t, 15*time.Second, "active_speaker everywhere", func() bool {
		a, ok1 := speaker(app)
		m, ok2 := speaker(med)
		r, ok3 := speaker(res)
		return ok1 && ok2 && ok3 && a.ParticipantID == "res" && m.ParticipantID == "app" && r.ParticipantID == "app"
	}, func() {
		for n, cl := range map[string]*client.Client{"app": app, "med": med, "res": res} {
			d, _ := speaker(cl)
			t.Logf("%s: %+v", n, d)
		}
	})
	for n, cl := range map[string]*client.Client{"app": app, "med": med, "res": res} {
		for _, m := range cl.Messages() {
			if m.Type == signaling.TypeActiveSpeaker && decodeData[signaling.SpeakerData](t, m).ParticipantID == n {
				t.Errorf("%s was told it is the active speaker itself", n)
			}
		}
	}
	// The level follows the speaker's current (smoothed) level, not the one of the
	// moment it took over.
	waitFor(t, 5*time.Second, "current levels (app hears res ≈ −30, med hears app ≈ −10 dBov)", func() bool {
		a, _ := speaker(app)
		m, _ := speaker(med)
		return a.Level >= -34 && a.Level <= -29 && m.Level >= -14 && m.Level <= -9
	}, func() {
		a, _ := speaker(app)
		m, _ := speaker(med)
		t.Logf("app hears %+v, med hears %+v", a, m)
	})
}

// TestCodecSwitchByPublisherRestart: the path of docs/signaling.md §6.14 for a client
// whose stack cannot change codec on its transceivers: on video_codec it sends
// publisher_restart, builds a fresh publisher PeerConnection and offers the same track
// IDs; everyone, the H.264-only newcomer included, then receives H.264.
func TestCodecSwitchByPublisherRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 40*time.Second)
	restart := client.Config{RestartOnCodec: true}
	med := h.dialWith(ctx, h.claims("med", signaling.RoleMediator, ""), restart)
	app := h.dialWith(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant), restart)
	admit(ctx, t, med, "app")
	if _, err := app.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	publish(ctx, t, med, client.PublishOptions{Audio: true, Video: true})
	publish(ctx, t, app, client.PublishOptions{Audio: true, Video: true})
	waitFor(t, 15*time.Second, "VP8 video", func() bool {
		return med.Stats()["app/video"].Keyframes > 0 && app.Stats()["med/video"].Keyframes > 0
	})
	markMed := med.Mark()
	ios := h.dial(ctx, h.claims("ios", signaling.RoleClerk, ""), "H264")
	isH264 := func(cl *client.Client, tr string) bool {
		s := cl.Stats()[tr]
		return strings.EqualFold(s.Codec, "video/H264") && s.Keyframes > 0
	}
	waitFor(t, 20*time.Second, "H.264 from both publishers everywhere", func() bool {
		return isH264(ios, "med/video") && isH264(ios, "app/video") && isH264(med, "app/video") && isH264(app, "med/video")
	}, func() {
		for name, cl := range map[string]*client.Client{"med": med, "app": app, "ios": ios} {
			for tr, s := range cl.Stats() {
				t.Logf("%s <- %s: %s %d packets %d keyframes", name, tr, s.Codec, s.Packets, s.Keyframes)
			}
		}
	})
	// The audio of the restarted transports still flows (same track IDs, continued).
	a0 := packets(ios, "app/audio")
	waitFor(t, 5*time.Second, "audio after the restart", func() bool { return packets(ios, "app/audio") > a0+20 })
	var unpub, pub bool
	for _, m := range med.Messages()[markMed:] {
		if m.Type == signaling.TypeTrackUnpublished && strings.Contains(string(m.Data), `"app/video"`) {
			unpub = true
		}
		if unpub && m.Type == signaling.TypeTrackPublished && strings.Contains(string(m.Data), `"app/video"`) {
			pub = strings.Contains(string(m.Data), "H264")
		}
	}
	if !unpub || !pub {
		t.Errorf("med saw track_unpublished %v then track_published in H264 %v for app/video, want both", unpub, pub)
	}
	// publisher_restart without the permission to publish.
	obs := h.claims("obs", signaling.RoleClerk, "")
	obs.CanPublish = false
	o := h.dial(ctx, obs)
	if _, err := o.Request(ctx, signaling.TypePublisherRestart, nil); errCode(err) != signaling.CodeForbidden {
		t.Errorf("publisher_restart without can_publish: %v, want %s", err, signaling.CodeForbidden)
	}
}

// TestLobbyPreview (issue 10 §3): someone waiting in the lobby publishes camera and
// microphone for the identity check; the SFU forwards it to moderators and to nobody
// else — not to admitted parties, not to a non-moderating clerk, not to another waiting
// party — and the waiting party receives nothing. After admission the same tracks
// reach everyone and the admitted party receives the room.
func TestLobbyPreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 60*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	clerk := h.dial(ctx, h.claims("clerk", signaling.RoleClerk, ""))
	publish(ctx, t, med, client.PublishOptions{Audio: true, Video: true})
	publish(ctx, t, app, client.PublishOptions{Audio: true, Video: true})

	res := h.dial(ctx, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	other := h.dial(ctx, h.claims("rag", signaling.RoleAgent, signaling.SideRespondent))
	if res.Joined() != nil {
		t.Fatal("respondent admitted without a check")
	}
	publish(ctx, t, res, client.PublishOptions{Audio: true, Video: true})
	publish(ctx, t, other, client.PublishOptions{Audio: true, Video: true})
	waitFor(t, 15*time.Second, "lobby media at the mediator", func() bool {
		return packets(med, "res/video") > 20 && packets(med, "res/audio") > 20 && packets(med, "rag/video") > 20
	})
	time.Sleep(time.Second) // give a leak the time to show
	nonMods := map[string]*client.Client{"app": app, "clerk": clerk, "rag": other}
	for name, cl := range nonMods {
		for _, tr := range []string{"res/audio", "res/video"} {
			if n := packets(cl, tr); n != 0 {
				t.Errorf("%s received %d packets of %s from the lobby, want 0", name, n, tr)
			}
		}
		for _, m := range cl.Messages() {
			if m.Type == signaling.TypeTrackPublished && strings.Contains(string(m.Data), `"res/`) {
				t.Errorf("%s was told of the lobby track: %s", name, m.Data)
			}
		}
	}
	for tr, s := range res.Stats() {
		if s.Packets > 0 {
			t.Errorf("the waiting party received %d packets of %s, want nothing", s.Packets, tr)
		}
	}
	if _, err := res.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "hello?"}); errCode(err) != signaling.CodeNotAdmitted {
		t.Errorf("chat from the lobby: %v, want %s", err, signaling.CodeNotAdmitted)
	}

	markApp := app.Mark()
	admit(ctx, t, med, "res")
	if _, err := res.WaitJoined(ctx); err != nil {
		t.Fatalf("not admitted: %v", err)
	}
	if _, err := app.WaitSince(ctx, markApp, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeTrackPublished && strings.Contains(string(e.Data), `"res/video"`)
	}); err != nil {
		t.Errorf("app not told of res/video after admission: %v", err)
	}
	waitFor(t, 15*time.Second, "the admitted party's preview camera at everyone, and the room at the admitted party", func() bool {
		return packets(app, "res/video") > 10 && packets(clerk, "res/audio") > 10 &&
			packets(res, "med/video") > 10 && packets(res, "app/audio") > 10
	})
	if n := packets(app, "rag/video") + packets(res, "rag/video") + packets(clerk, "rag/audio"); n != 0 {
		t.Errorf("%d packets of the party still waiting reached non-moderators, want 0", n)
	}
}

// TestVoiceMode: a participant who takes part by voice is shown so to the others and
// recorded with that mode; an unknown mode is refused.
func TestVoiceMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.dialWith(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant), client.Config{Mode: signaling.ModeVoice})
	lobby, err := med.Wait(ctx, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeLobby && strings.Contains(string(e.Data), `"app"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeData[signaling.LobbyData](t, lobby); len(d.Waiting) != 1 || d.Waiting[0].Mode != signaling.ModeVoice {
		t.Errorf("lobby %+v, want app waiting by voice", d)
	}
	admit(ctx, t, med, "app")
	j, err := app.WaitJoined(ctx)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]string{}
	for _, p := range j.Participants {
		modes[p.ParticipantID] = p.Mode
	}
	if modes["app"] != signaling.ModeVoice || modes["med"] != signaling.ModeVideo {
		t.Errorf("joined.participants modes %v, want app voice and med video", modes)
	}
	var rec *signaling.Record
	for _, r := range h.rec.Records() {
		if r.Kind == "joined" && r.Who == "app" {
			rec = &r
		}
	}
	if rec == nil || rec.Mode != signaling.ModeVoice {
		t.Errorf("joined record %+v, want mode voice", rec)
	}
}

// TestBandwidthPause (issue 10 §2): a subscriber whose estimate cannot carry even the
// lowest layer of a video track is told video_paused and gets no video from it while
// its audio goes on; when the estimate recovers the video resumes (from a keyframe)
// and it is told so. The limit is the subscriber's own REMB and receiver reports with
// loss, as a browser on a slow link sends them; cmd/parley's TestBrowserThinLink does
// the same with a shaped link. A low REMB without loss does not pause.
func TestBandwidthPause(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 60*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	publish(ctx, t, med, client.PublishOptions{Audio: true, Video: true, VideoBitrate: 300_000})
	waitFor(t, 15*time.Second, "video at app", func() bool { return app.Stats()["med/video"].Keyframes > 0 && packets(app, "med/audio") > 10 })
	mark := app.Mark()
	remb := func(stop chan struct{}, bps uint64, lost uint8) {
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			_ = app.SendREMB(bps)
			if lost > 0 {
				_ = app.SendLossReport(lost)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}
	// A REMB of 60 kbit/s alone (a delay-based estimate dipping, nothing lost): no pause.
	stop := make(chan struct{})
	go remb(stop, 60_000, 0)
	if _, err := app.WaitSince(testCtx(t, 6*time.Second), mark, func(e signaling.Envelope) bool { return e.Type == signaling.TypeVideoPaused }); err == nil {
		close(stop)
		t.Fatal("video_paused under a low REMB without any loss")
	}
	close(stop)
	stop = make(chan struct{})
	go remb(stop, 60_000, 128) // 60 kbit/s with half the packets lost: audio, not video
	env, err := app.WaitSince(ctx, mark, func(e signaling.Envelope) bool { return e.Type == signaling.TypeVideoPaused })
	if err != nil {
		close(stop)
		t.Fatalf("no video_paused under a 60 kbit/s estimate: %v", err)
	}
	pausedAt := time.Since(app.Started())
	if d := decodeData[signaling.PausedData](t, env); !d.Paused || d.TrackID != "med/video" || d.Reason != "bandwidth" {
		t.Errorf("video_paused %+v, want med/video paused for bandwidth", d)
	}
	time.Sleep(500 * time.Millisecond)
	v0, a0 := packets(app, "med/video"), packets(app, "med/audio")
	s0, _ := med.Sent()
	time.Sleep(1500 * time.Millisecond)
	v1, a1 := packets(app, "med/video"), packets(app, "med/audio")
	s1, _ := med.Sent()
	close(stop)
	if v1 != v0 {
		t.Errorf("%d video packets while paused, want 0", v1-v0)
	}
	// Audio goes on: what the publisher sent in the window arrives (a few in flight at its edges).
	if sent := s1 - s0; sent == 0 || a1-a0+5 < sent*9/10 {
		t.Errorf("audio while video paused: %d packets received of %d sent in 1.5 s", a1-a0, sent)
	}
	mark = app.Mark()
	keys := app.Stats()["med/video"].Keyframes
	if _, err := app.WaitSince(ctx, mark, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeVideoPaused && !decodeData[signaling.PausedData](t, e).Paused
	}); err != nil {
		t.Fatalf("video never resumed after the estimate recovered: %v", err)
	}
	waitFor(t, 10*time.Second, "video again, from a keyframe", func() bool {
		s := app.Stats()["med/video"]
		return s.Keyframes > keys && s.Packets > v1+10
	})
	t.Logf("paused %.1f s after join; resumed %.1f s after the limit lifted", pausedAt.Seconds(), time.Since(app.Started()).Seconds()-pausedAt.Seconds()-2)
}
