package signaling_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// rawConn is a bare WebSocket for sending what a well-behaved client never would.
type rawConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func (h *harness) raw(t *testing.T) *rawConn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(h.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &rawConn{t: t, ws: ws}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// next returns the next message that is not a ping.
func (r *rawConn) next() signaling.Envelope {
	r.t.Helper()
	for {
		_ = r.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var env signaling.Envelope
		if err := r.ws.ReadJSON(&env); err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if env.Type != signaling.TypePing {
			return env
		}
	}
}

func (r *rawConn) expectError(code string) {
	r.t.Helper()
	env := r.next()
	if env.Type != signaling.TypeError {
		r.t.Fatalf("got %s %s, want error %s", env.Type, env.Data, code)
	}
	if e := decodeData[signaling.Error](r.t, env); e.Code != code {
		r.t.Fatalf("error code %q (%s), want %q", e.Code, e.Message, code)
	}
}

// TestJoinRefusals: tokens for another case or session, expired, forged; a session
// that has ended.
func TestJoinRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 30*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, "")) // the room of case-1/sess-1 exists

	otherSession := h.claims("p1", signaling.RoleParty, signaling.SideApplicant)
	otherSession.SessionID = "sess-2"
	otherCase := h.claims("p2", signaling.RoleParty, signaling.SideApplicant)
	otherCase.CaseID = "case-2"
	expired := h.claims("p3", signaling.RoleParty, signaling.SideApplicant)
	expired.ExpiresAt = time.Now().Add(-time.Second)
	forged, _ := signaling.IssueToken([]byte("not-the-server-key-not-the-server-key"), h.claims("p4", signaling.RoleMediator, ""))

	tests := []struct {
		name       string
		token      string
		caseID, id string
		want       string
	}{
		{"token for another session", h.token(otherSession), h.caseID, h.sess, signaling.CodeWrongSession},
		{"token for another case, same session id", h.token(otherCase), "case-2", h.sess, signaling.CodeWrongSession},
		{"expired token", h.tokenUnchecked(expired), h.caseID, h.sess, signaling.CodeTokenExpired},
		{"forged token", forged, h.caseID, h.sess, signaling.CodeBadToken},
		{"garbage token", "v1.abc.def", h.caseID, h.sess, signaling.CodeBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Dial(ctx, client.Config{URL: h.url, Token: tt.token, CaseID: tt.caseID, SessionID: tt.id, Loopback: true})
			if got := errCode(err); got != tt.want {
				t.Errorf("join: %v (code %q), want %q", err, got, tt.want)
			}
		})
	}
	for _, r := range h.rec.Records() {
		if r.Who != "med" {
			t.Errorf("refused join left a record: %+v", r)
		}
	}

	// Ending the session closes it for everyone, and a valid token no longer opens it.
	mark := med.Mark()
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end_session: %v", err)
	}
	env, err := med.WaitType(ctx, mark, signaling.TypeSessionEnding)
	if err != nil {
		t.Fatalf("no session_ending: %v", err)
	}
	if d := decodeData[signaling.EndingData](t, env); d.Reason != "ended" || d.By != "med" {
		t.Errorf("session_ending %+v, want ended by med", d)
	}
	late := h.claims("late", signaling.RoleMediator, "")
	_, err = client.Dial(ctx, client.Config{URL: h.url, Token: h.token(late), CaseID: h.caseID, SessionID: h.sess, Loopback: true})
	if got := errCode(err); got != signaling.CodeSessionClosed {
		t.Errorf("join after the end: %v, want %s", err, signaling.CodeSessionClosed)
	}
}

// tokenUnchecked signs claims even if expired (IssueToken does not check expiry).
func (h *harness) tokenUnchecked(c signaling.Claims) string { return h.token(c) }

// TestModeratorActionsRefusedForParty: a party may not admit, remove, mute others,
// open a caucus or end the session.
func TestModeratorActionsRefusedForParty(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 30*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	waiting := h.dial(ctx, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	if waiting.Joined() != nil {
		t.Fatal("a party entered without admission")
	}
	check := signaling.IdentityCheck{Method: "m", Result: signaling.CheckPassed}
	actions := []struct {
		typ  string
		data any
	}{
		{signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "res", IdentityCheck: check}},
		{signaling.TypeRemove, signaling.RemoveData{ParticipantID: "med"}},
		{signaling.TypeMuteParticipant, signaling.MuteParticipantData{ParticipantID: "med", Muted: true}},
		{signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{"app"}}},
		{signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: "caucus-1"}},
		{signaling.TypeCaucusMove, signaling.CaucusRef{}},
		{signaling.TypeEndSession, nil},
	}
	for _, a := range actions {
		if _, err := app.Request(ctx, a.typ, a.data); errCode(err) != signaling.CodeForbidden {
			t.Errorf("party %s: %v, want %s", a.typ, err, signaling.CodeForbidden)
		}
	}
	if waiting.Joined() != nil {
		t.Error("the waiting party was admitted by a party")
	}
	// The lobby party cannot do anything media-related either.
	if _, err := waiting.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "hi"}); errCode(err) != signaling.CodeNotAdmitted {
		t.Errorf("chat from the lobby: %v, want %s", err, signaling.CodeNotAdmitted)
	}
	// The room is fine: the mediator still acts.
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "still here"}); err != nil {
		t.Errorf("mediator chat after refusals: %v", err)
	}
}

// TestAdmission: admission needs a passed identity check, is recorded with it, and is
// refused if it cannot be recorded.
func TestAdmission(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 30*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.dial(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	if _, err := med.Wait(ctx, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeLobby && strings.Contains(string(e.Data), `"app"`)
	}); err != nil {
		t.Fatalf("mediator not told of the waiting party: %v", err)
	}
	failed := signaling.AdmitData{ParticipantID: "app", IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckFailed}}
	if _, err := med.Request(ctx, signaling.TypeAdmit, failed); errCode(err) != signaling.CodeIdentityCheck {
		t.Errorf("admit with a failed check: %v, want %s", err, signaling.CodeIdentityCheck)
	}
	h.rec.Fail("admitted", errors.New("database down"))
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "app",
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed}}); errCode(err) != signaling.CodeRecordFailed {
		t.Errorf("admit while the record fails: %v, want %s", err, signaling.CodeRecordFailed)
	}
	if app.Joined() != nil {
		t.Fatal("admitted although the admission was not recorded")
	}
	h.rec.Fail("admitted", nil)
	admit(ctx, t, med, "app")
	if _, err := app.WaitJoined(ctx); err != nil {
		t.Fatalf("not admitted: %v", err)
	}
	var rec *signaling.Record
	for _, r := range h.rec.Records() {
		if r.Kind == "admitted" && r.Who == "app" {
			rec = &r
		}
	}
	if rec == nil || rec.By != "med" || rec.Check.Method != "id_card_on_camera" || rec.Check.Result != signaling.CheckPassed {
		t.Errorf("admission record %+v, want app admitted by med with the check", rec)
	}
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: "app",
		IdentityCheck: signaling.IdentityCheck{Method: "m", Result: signaling.CheckPassed}}); errCode(err) != signaling.CodeBadState {
		t.Errorf("admitting twice: %v, want %s", err, signaling.CodeBadState)
	}
}

// TestBadMessages: garbage, oversized, unknown and out-of-order messages get errors
// and neither the connection nor the room dies.
func TestBadMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *signaling.Config) {
		c.MaxMessageBytes = 8 << 10
		c.MessageRate, c.MessageBurst = 50, 20
	})
	ctx := testCtx(t, 30*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))

	r := h.raw(t)
	r.send(`{"type":"chat","data":{"text":"before join"}}`)
	r.expectError(signaling.CodeNotJoined)
	r.send(`this is not json`)
	r.expectError(signaling.CodeBadMessage)
	r.send(`{"type":"join","data":{"version":99,"token":"x"}}`)
	r.expectError(signaling.CodeVersion)
	tok := h.token(h.claims("raw", signaling.RoleClerk, ""))
	r.send(`{"type":"join","id":"j","data":{"version":1,"token":"` + tok + `","case_id":"case-1","session_id":"sess-1"}}`)
	if env := r.next(); env.Type != signaling.TypeJoined || env.Ref != "j" {
		t.Fatalf("join: got %s %s, want joined", env.Type, env.Data)
	}
	cases := []struct {
		name, msg, code string
	}{
		{"garbage", "\x00\x01garbage{", signaling.CodeBadMessage},
		{"unknown type", `{"type":"self_destruct","data":{}}`, signaling.CodeUnknownType},
		{"oversized", `{"type":"chat","data":{"text":"` + strings.Repeat("a", 9<<10) + `"}}`, signaling.CodeTooLarge},
		{"second join", `{"type":"join","data":{"version":1,"token":"` + tok + `"}}`, signaling.CodeAlreadyJoined},
		{"answer without an offer", `{"type":"answer","data":{"sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}}`, signaling.CodeBadState},
		{"unparsable offer", `{"type":"offer","data":{"sdp":"v=0\r\nnonsense"}}`, signaling.CodeBadMessage},
		{"offer that parses but is unusable", `{"type":"offer","data":{"sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}}`, signaling.CodeBadMessage},
		{"unparsable candidate", `{"type":"candidate","data":{"transport":"publisher","candidate":{"candidate":"candidate:x y"}}}`, signaling.CodeBadMessage},
		{"candidate for a transport never offered", `{"type":"candidate","data":{"transport":"subscriber","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}}`, ""},
		{"unpublish unknown track", `{"type":"unpublish","data":{"track_id":"raw/x"}}`, signaling.CodeNotFound},
		{"close unknown caucus", `{"type":"caucus_close","data":{"caucus_id":"caucus-9"}}`, signaling.CodeForbidden},
		{"wrong types", `{"type":"render","data":{"track_id":7}}`, signaling.CodeBadMessage},
	}
	for _, c := range cases {
		r.send(c.msg)
		if c.code == "" {
			continue // queued quietly until the subscriber transport exists
		}
		env := r.next()
		if env.Type != signaling.TypeError {
			t.Errorf("%s: got %s, want error %s", c.name, env.Type, c.code)
			continue
		}
		if e := decodeData[signaling.Error](t, env); e.Code != c.code {
			t.Errorf("%s: error %q (%s), want %q", c.name, e.Code, e.Message, c.code)
		}
	}
	// A burst over the rate limit is refused, not fatal.
	for i := 0; i < 60; i++ {
		r.send(`{"type":"ping","data":{"ts":1}}`)
	}
	limited := false
	for i := 0; i < 60; i++ {
		env := r.next()
		if env.Type == signaling.TypeError && strings.Contains(string(env.Data), signaling.CodeRateLimited) {
			limited = true
		}
	}
	if !limited {
		t.Error("60 messages at once were not rate limited")
	}
	time.Sleep(time.Second) // refill
	r.send(`{"type":"ping","id":"alive","data":{"ts":2}}`)
	var env signaling.Envelope
	for env = r.next(); env.Ref != "alive"; env = r.next() {
	}
	if env.Type != signaling.TypePong {
		t.Errorf("after the abuse: got %s, want pong", env.Type)
	}
	// The room lives on for everyone else.
	if _, err := med.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "room alive"}); err != nil {
		t.Errorf("mediator after the bad messages: %v", err)
	}
	if _, err := med.Wait(ctx, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeParticipantJoined && strings.Contains(string(e.Data), `"raw"`)
	}); err != nil {
		t.Errorf("mediator never saw the clerk join: %v", err)
	}
}

// TestServerClose: shutting down tells every client the session is ending.
func TestServerClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.dial(ctx, h.claims("app", signaling.RoleParty, signaling.SideApplicant)) // in the lobby
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.srv.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, cl := range map[string]*client.Client{"med": med, "app": app} {
		env, err := cl.Wait(ctx, func(e signaling.Envelope) bool { return e.Type == signaling.TypeSessionEnding })
		if err != nil {
			t.Errorf("%s not told of the shutdown: %v", name, err)
			continue
		}
		if d := decodeData[signaling.EndingData](t, env); d.Reason != "shutdown" {
			t.Errorf("%s: session_ending %+v, want shutdown", name, d)
		}
	}
	if !hasRecordReason(h.rec.Records(), "med", "shutdown") {
		t.Errorf("no left record with reason shutdown: %+v", h.rec.Records())
	}
}

func hasRecordReason(rs []signaling.Record, who, reason string) bool {
	for _, r := range rs {
		if r.Kind == "left" && r.Who == who && r.Reason == reason {
			return true
		}
	}
	return false
}

// TestEmptyRoomCloses: when the last participant leaves, the room and its media are
// freed; the session is not ended, and the next join opens a fresh room.
func TestEmptyRoomCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	waitFor(t, 2*time.Second, "a room", func() bool { return h.engine.Stats().Rooms == 1 })
	med.Close()
	waitFor(t, 5*time.Second, "the empty room to close", func() bool { return h.engine.Stats().Rooms == 0 })
	again := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	if j := again.Joined(); j == nil || j.Resumed {
		t.Fatalf("rejoin after the room emptied: %+v, want a fresh join", j)
	}
	if got := h.engine.Stats().Rooms; got != 1 {
		t.Errorf("rooms after rejoining: %d, want 1", got)
	}
}
