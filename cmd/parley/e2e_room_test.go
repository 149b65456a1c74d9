package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// remoteMedia is what one tab receives from one other participant, from its subscriber PeerConnection's
// getStats() and the participant's <video> element.
type remoteMedia struct {
	Frames     float64 `json:"frames"`      // video frames decoded
	VideoBytes float64 `json:"video_bytes"` // inbound video bytes
	AudioBytes float64 `json:"audio_bytes"` // inbound audio bytes
	Width      int     `json:"width"`       // videoWidth of the participant's tile
	Played     float64 `json:"played"`      // getVideoPlaybackQuality().totalVideoFrames of the tile
}

const mediaJS = `(async () => {
	const s = window.__parley.session;
	const out = {};
	for (const r of await s.inboundStats()) {
		const o = out[r.participant_id] || (out[r.participant_id] = {frames: 0, video_bytes: 0, audio_bytes: 0, width: 0, played: 0});
		if (r.kind === 'video') { o.frames += r.frames; o.video_bytes += r.bytes; } else { o.audio_bytes += r.bytes; }
	}
	for (const t of document.querySelectorAll('.tile[data-participant]')) {
		const o = out[t.dataset.participant];
		const v = t.querySelector('video');
		if (o && v) { o.width = v.videoWidth; o.played = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }
	}
	return out;
})()`

func (tb *tab) media() map[string]remoteMedia {
	tb.e.t.Helper()
	return js[map[string]remoteMedia](tb, mediaJS)
}

// flows samples what tb receives twice, gap apart, and reports per participant whether video frames decoded,
// video frames shown by the tile's <video>, video bytes and audio bytes all grew.
func (tb *tab) flows(ids []string, gap time.Duration) (map[string]bool, map[string][2]remoteMedia) {
	tb.e.t.Helper()
	a := tb.media()
	time.Sleep(gap)
	b := tb.media()
	ok := map[string]bool{}
	seen := map[string][2]remoteMedia{}
	for _, id := range ids {
		x, y := a[id], b[id]
		seen[id] = [2]remoteMedia{x, y}
		ok[id] = y.Frames > x.Frames && y.Played > x.Played && y.VideoBytes > x.VideoBytes && y.AudioBytes > x.AudioBytes
	}
	return ok, seen
}

// expectMedia waits (up to 20 s) until tb receives video and audio from every participant in on (and, for the
// video, its tile shows a picture), and receives nothing at all from anyone in off.
func (tb *tab) expectMedia(what string, on, off []string) {
	tb.e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		flowing, seen := tb.flows(append(slices.Clone(on), off...), 1200*time.Millisecond)
		bad := []string{}
		for _, id := range on {
			if !flowing[id] || seen[id][1].Width == 0 {
				bad = append(bad, fmt.Sprintf("%s should flow: %+v", tb.e.names[id], seen[id]))
			}
		}
		for _, id := range off {
			x, y := seen[id][0], seen[id][1]
			if y.VideoBytes != x.VideoBytes || y.AudioBytes != x.AudioBytes {
				bad = append(bad, fmt.Sprintf("%s should be cut off: %+v", tb.e.names[id], seen[id]))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.fail("%s: %s", what, strings.Join(bad, "; "))
		}
	}
}

// status is the room session's status in the tab.
func (tb *tab) roomStatus() string {
	return js[string](tb, `window.__parley && window.__parley.session ? window.__parley.session.status : ''`)
}

// joinFrameMS returns the tab's join → first remote frame in milliseconds: from the click on "enter" (staff),
// or from the admission (parties, who wait for the mediator in between), or from the page load (a reload with
// ?join=1), to the first decoded frame of the first remote video.
func (tb *tab) joinFrameMS(fromPageLoad bool) float64 {
	tb.e.t.Helper()
	tb.wait(`window.__parley.session.metrics.firstFrame > 0`)
	m := js[map[string]any](tb, `window.__parley.session.metrics`)
	f := func(k string) float64 { v, _ := m[k].(float64); return v }
	switch {
	case fromPageLoad:
		return f("firstFrame")
	case m["lobby"] == true:
		return f("firstFrame") - f("joined")
	}
	return f("firstFrame") - f("start")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// TestBrowserRoom runs a video session in Chromium with fake camera and microphone: the mediator starts it from
// the case page, two parties on phone-sized screens wait in the lobby and are admitted with an identity check,
// the judge drops in from the judge desk; everyone sees and hears everyone; a caucus cuts the other side off
// and the close restores them; a party's connection drops and comes back by itself; chat; the mediator ends
// the session. It measures join → first remote frame and screenshots the room at phone sizes.
func TestBrowserRoom(t *testing.T) {
	began := time.Now()
	e := browserE2E(t, "TestBrowserRoom")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// A case in mediation whose parties consented, and their invitation links.
	c := casestest.InMediation(t, e.store, w)
	applicant, respondent := c.Parties[0], c.Parties[1]
	link := func(partyID string) string {
		_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, partyID, "", time.Hour)
		must(err)
		return e.base + "/join/" + string(tok)
	}
	e.names = map[string]string{w.Mediator.ID: "mediator", applicant.ID: "applicant", respondent.ID: "respondent", w.Judge.ID: "judge"}

	// The mediator starts the session from the case page and enters the room.
	med := e.newTab("mediator", 1280, 800)
	med.login(w.Mediator)
	med.debug()
	sessionID := med.scheduleSession(c.ID, "第一次调解")
	med.click(`li[data-session] a[href^="/rooms/"]`)
	med.wait(`location.pathname === '/rooms/` + sessionID + `' && document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	med.click(`#join-room`)
	med.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room .tile.self.video-on')`)

	// The applicant (390×844) enters from the party page and waits in the lobby.
	partyA := e.newTab("applicant", 390, 844)
	partyA.enter(link(applicant.ID), applicant.Phone)
	partyA.debug()
	partyA.click(`a.btn[href="/rooms/` + sessionID + `"]`)
	partyA.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled && document.querySelector('#prejoin-preview').videoWidth > 0`)
	partyA.phoneShots("room-prejoin", 390, 844)
	partyA.checkAxe("the room's prejoin")
	partyA.click(`#join-room`)
	partyA.wait(`document.querySelector('#lobby') && window.__parley.session.status === 'lobby'`)
	partyA.phoneShots("room-lobby", 390, 844)

	// The mediator checks the applicant's identity and admits them.
	med.wait(`document.querySelector('#lobby-banner')`)
	med.click(`#open-people`)
	form := fmt.Sprintf(`form.admit-form[data-participant=%q]`, applicant.ID)
	med.wait(`document.querySelector('` + form + `')`)
	med.press(form + ` button[type=submit]`)
	med.wait(`document.querySelector('` + form + ` .field-error:not([hidden])')`) // no method chosen yet
	med.fill(form+` select[name=method]`, "id_card_on_camera")
	med.fill(form+` input[name=note]`, "身份证与本人一致")
	med.shot("room-mediator-admit-1280x800")
	med.press(form + ` button[type=submit]`)
	partyA.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room')`)

	// The respondent (360×640) likewise, admitted with an SMS code check.
	partyB := e.newTab("respondent", 360, 640)
	partyB.enter(link(respondent.ID), respondent.Phone)
	partyB.debug()
	partyB.click(`a.btn[href="/rooms/` + sessionID + `"]`)
	partyB.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	partyB.click(`#join-room`)
	partyB.wait(`window.__parley.session.status === 'lobby'`)
	form = fmt.Sprintf(`form.admit-form[data-participant=%q]`, respondent.ID)
	med.wait(`document.querySelector('` + form + `')`)
	med.fill(form+` select[name=method]`, "sms_code")
	med.press(form + ` button[type=submit]`)
	partyB.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room')`)
	med.click(`#close-panel`)

	// The judge drops in from the judge desk's live sessions ("join now" enters directly).
	judge := e.newTab("judge", 1280, 800)
	judge.login(w.Judge)
	judge.debug()
	judge.wait(`location.pathname === '/judge' && document.querySelector('#live-sessions a[href^="/rooms/"]')`)
	judge.click(`#live-sessions a[href^="/rooms/` + sessionID + `"]`)
	judge.wait(`window.__parley && window.__parley.session.status === 'joined'`)

	// Everyone sees and hears everyone else; everyone sees the judge's badge.
	everyone := map[*tab]string{med: w.Mediator.ID, partyA: applicant.ID, partyB: respondent.ID, judge: w.Judge.ID}
	tabs := []*tab{med, partyA, partyB, judge}
	others := func(self *tab) []string {
		var ids []string
		for _, tb := range tabs {
			if tb != self {
				ids = append(ids, everyone[tb])
			}
		}
		return ids
	}
	for _, tb := range tabs {
		tb.expectMedia("joint room", others(tb), nil)
		tb.wait(`document.querySelector('#judge-badge')`)
	}
	var joins []float64
	for _, tb := range []*tab{partyA, partyB, judge} {
		ms := tb.joinFrameMS(false)
		t.Logf("join → first remote frame, %s: %.0f ms", tb.name, ms)
		joins = append(joins, ms)
	}
	partyA.phoneShots("room-joint", 390, 844)
	partyA.checkAxe("the room in joint session")
	// On a phone the call has the whole screen; each tile says its role or side, and "（我）" is never cut.
	if !partyA.js(`getComputedStyle(document.querySelector('.top')).display === 'none' && document.querySelector('.tile.self .tile-me').innerText === '（我）' && document.querySelector('.tile.self .tile-me').getBoundingClientRect().right <= document.querySelector('.tile.self').getBoundingClientRect().right + 0.5 && [...document.querySelectorAll('#stage .tile')].every((x) => x.querySelector('.tile-badges .badge.side, .tile-badges .badge.role'))`) {
		t.Error("the applicant's phone room: the header shows, a tile has no role or side, or （我） is cut")
	}
	partyA.viewShot("room-joint-phone-390x844")
	e.pointAlias("point05-room-on-a-phone-390x844", "room-joint-phone-390x844")
	partyB.phoneShots("room-joint-judge-badge", 360, 640)
	judge.shot("room-judge-1280x800")

	// Grid view on the small phone, then English: the call goes on while the page changes language.
	partyB.press(`#toggle-layout`)
	partyB.wait(`document.querySelector('#stage').dataset.layout === 'grid'`)
	partyB.phoneShots("room-grid", 360, 640)
	partyB.press(`#room-lang`)
	partyB.wait(`document.documentElement.lang === 'en' && document.querySelector('#toggle-mic .ctrl-label').innerText === 'Mic' && window.__parley.session.status === 'joined'`)
	partyB.expectMedia("respondent after switching to English", []string{applicant.ID, w.Mediator.ID, w.Judge.ID}, nil)
	partyB.phoneShots("room-grid-en", 360, 640)

	// A caucus with the applicant's side: the respondent and the judge no longer receive the applicant or the
	// mediator, and the applicant no longer receives them; both sides see their indicator.
	med.click(`#open-people`)
	med.press(`[data-caucus-open=applicant]`)
	partyB.wait(`document.querySelector('#caucus-away')`)
	partyA.wait(`document.querySelector('#caucus-in')`)
	med.shot("room-mediator-caucus-1280x800")
	time.Sleep(500 * time.Millisecond) // packets already on their way
	partyB.expectMedia("respondent during the caucus", []string{w.Judge.ID}, []string{applicant.ID, w.Mediator.ID})
	judge.expectMedia("judge during the caucus", []string{respondent.ID}, []string{applicant.ID, w.Mediator.ID})
	partyA.expectMedia("applicant during the caucus", []string{w.Mediator.ID}, []string{respondent.ID, w.Judge.ID})
	partyB.phoneShots("room-caucus-away", 360, 640)
	// The judge, left with one side, is told what happens without taking a side.
	judge.wait(`document.querySelector('#caucus-away')`)
	if txt := judge.text(`#caucus-away`); !strings.Contains(txt, "一方当事人") {
		t.Errorf("the judge's caucus notice reads %q, want the neutral one", txt)
	}
	partyA.phoneShots("room-caucus-in", 390, 844)
	// The mediator steps back into the joint room (the respondent hears them again, still not the applicant),
	// then returns to the caucus.
	med.press(`[data-caucus-move=""]`)
	partyB.wait(`!document.querySelector('#caucus-away')`)
	partyB.expectMedia("respondent with the mediator back in the joint room", []string{w.Mediator.ID, w.Judge.ID}, []string{applicant.ID})
	med.press(`[data-caucus-move^="caucus"]`)
	partyB.wait(`document.querySelector('#caucus-away')`)
	partyB.expectMedia("respondent with the mediator back in the caucus", []string{w.Judge.ID}, []string{applicant.ID, w.Mediator.ID})
	// Chat in the caucus stays in it.
	partyA.click(`#open-chat`)
	partyA.fill(`.chat-form textarea`, "我方可以接受分期付款。")
	partyA.click(`#chat-send`)
	med.wait(`window.__parley.session.chat.some((m) => m.text === '我方可以接受分期付款。' && m.scope !== 'joint')`)
	partyA.phoneShots("room-chat-caucus", 390, 844)
	partyA.click(`#close-panel`)

	// Closing the caucus restores everyone.
	med.press(`[data-caucus-close]`)
	partyB.wait(`!document.querySelector('#caucus-away')`)
	partyB.expectMedia("respondent after the caucus", []string{applicant.ID, w.Mediator.ID, w.Judge.ID}, nil)
	partyA.expectMedia("applicant after the caucus", []string{respondent.ID, w.Mediator.ID, w.Judge.ID}, nil)
	if partyB.js(`window.__parley.session.chat.some((m) => m.text === '我方可以接受分期付款。')`) {
		t.Error("the other side received a message sent in the caucus")
	}
	med.click(`#close-panel`)

	// The parties agree during the call: the applicant signs the agreement in a sheet over the call, which goes
	// on, and the mediator's card shows the signature as it comes in.
	c, err := e.store.Case(ctx, c.ID)
	must(err)
	_, err = e.app.docs.CreateAgreement(ctx, w.Mediator, c, agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}})
	must(err)
	_, err = e.store.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	must(err)
	partyA.wait(`document.querySelector('#room-sign-open')`)
	partyA.click(`#room-sign-open`)
	partyA.wait(`document.querySelector('#room-sign-sheet #sigpad')`)
	partyA.viewShot("room-sign-sheet-390x844")
	e.pointAlias("point06-signing-in-the-room-390x844", "room-sign-sheet-390x844")
	partyA.signOnPage("")
	partyA.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room .tile.self')`)
	partyA.click(`#room-sign-close`)
	med.wait(`document.querySelector('#room-sign-chips li.done')`)
	med.shot("room-mediator-signatures-1280x800")

	// The applicant's connection drops: "reconnecting…" shows, then clears by itself and media resumes.
	js[bool](partyA, `(window.__parley.session.dropConnection(2500), true)`)
	partyA.wait(`document.querySelector('#reconnecting')`)
	partyA.phoneShots("room-reconnecting", 390, 844)
	partyA.wait(`window.__parley.session.status === 'joined' && !document.querySelector('#reconnecting')`)
	partyA.expectMedia("applicant after reconnecting", []string{respondent.ID, w.Mediator.ID, w.Judge.ID}, nil)
	partyB.expectMedia("respondent sees the applicant again", []string{applicant.ID}, nil)
	if ms := js[float64](partyA, `window.__parley.session.metrics.resumedFrame - window.__parley.session.metrics.resumed`); ms > 0 {
		t.Logf("join → first remote frame, applicant rejoining with the resume token: %.0f ms", ms)
		joins = append(joins, ms)
	}

	// The respondent switches camera (a new track on the same sender, no renegotiation): the others still see them.
	before := js[string](partyB, `window.__parley.local.video.id`)
	js[bool](partyB, `window.__parley.session.flipCamera().then(() => true)`)
	if after := js[string](partyB, `window.__parley.local.video.id`); after == before {
		t.Error("flipping the camera kept the same track")
	}
	partyA.expectMedia("applicant after the respondent switched camera", []string{respondent.ID}, nil)

	// The respondent chats with the joint room; the mediator mutes the respondent.
	partyB.click(`#open-chat`)
	partyB.fill(`.chat-form textarea`, "请问赔偿金额可以分两期支付吗？")
	partyB.click(`#chat-send`)
	med.wait(`window.__parley.session.chat.some((m) => m.text === '请问赔偿金额可以分两期支付吗？' && m.scope === 'joint')`)
	partyB.phoneShots("room-chat", 360, 640)
	partyB.click(`#close-panel`)
	med.click(`#open-people`)
	med.press(fmt.Sprintf(`button[data-mute=%q]`, respondent.ID))
	partyB.wait(`document.querySelector('#moderated') && document.querySelector('#toggle-mic[aria-pressed="true"]')`)
	med.click(`#close-panel`)

	// The judge reloads the room with ?join=1: page load → first frame.
	judge.open("/rooms/" + sessionID + "?join=1")
	judge.wait(`window.__parley && window.__parley.session.status === 'joined'`)
	med.expectMedia("mediator sees the judge again", []string{w.Judge.ID}, nil)
	ms := judge.joinFrameMS(true)
	t.Logf("join → first remote frame, judge reloading the page: %.0f ms", ms)
	joins = append(joins, ms)
	t.Logf("join→first-frame p50 %.0f ms over %d joins (Chromium %s, fake camera 320×240, this machine)", median(joins), len(joins), chromiumVersion(e))

	// The mediator ends the session for everyone.
	med.click(`#open-people`)
	med.press(`#end-session`)
	med.press(`#end-confirm`)
	for _, tb := range tabs {
		tb.wait(`document.querySelector('#room-end[data-status=ended]')`)
	}
	partyA.phoneShots("room-ended", 390, 844)
	ss, err := e.store.SessionDetail(ctx, w.Mediator, sessionID)
	must(err)
	if ss.Status != cases.SessionEnded {
		t.Errorf("session status %s after the mediator ended it", ss.Status)
	}
	methods := map[string]string{}
	for _, chk := range ss.IdentityChecks {
		methods[chk.ParticipantID] = chk.Method
	}
	if methods[applicant.ID] != "id_card_on_camera" || methods[respondent.ID] != "sms_code" {
		t.Errorf("identity checks recorded %v", methods)
	}
	roles := map[string]bool{}
	for _, a := range ss.Attendance {
		roles[a.Role] = true
	}
	if !roles["judge"] || !roles["party"] || !roles["mediator"] {
		t.Errorf("attendance %+v", ss.Attendance)
	}

	// The mediator lays out the session record from the record editor; the applicant signs it from the party page.
	med.open("/sessions/" + sessionID + "/record")
	med.fill(`[name=facts]`, "双方就赔偿数额和付款方式进行了协商，法官到场释明了司法确认程序。")
	med.click(`#save-record`)
	med.wait(`document.querySelector('#record-version').innerText.includes('1')`)
	med.click(`#record-document`)
	med.wait(`document.querySelector('#record-document-link')`)
	partyA.open("/party")
	partyA.click(`#todo-sign a[data-sign]`)
	partyA.signOnPage("")
	docs, err := e.store.Documents(ctx, c.ID)
	must(err)
	var record *cases.Document
	for i := range docs {
		if docs[i].Kind == cases.DocRecord {
			record = &docs[i]
		}
	}
	if record == nil || len(record.Signed()) != 1 || len(record.Signers) != 3 {
		t.Errorf("the session record: %+v", record)
	}

	e.checkNoJSErrors()
	t.Logf("room browser test: %d screenshots in %s; %s", e.shotCount, e.shots, time.Since(began).Round(time.Millisecond))
}

// debug asks the page to expose the room session to the test (localStorage parley.debug, read when a room
// session starts), and chooses the data-saver capture size (320×240): four live tabs on two cores.
func (tb *tab) debug() {
	tb.e.t.Helper()
	js[bool](tb, `(localStorage.setItem('parley.debug', '1'), localStorage.setItem('parley.datasaver', '1'), true)`)
}

// press clicks an element with a DOM click: the room's panels redraw when people come and go, which can move a
// button away from under a click at screen coordinates.
func (tb *tab) press(sel string) {
	tb.e.t.Helper()
	tb.wait(fmt.Sprintf(`document.querySelector(%q) && !document.querySelector(%q).disabled`, sel, sel))
	js[bool](tb, fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))
}

func (tb *tab) js(expr string) bool {
	tb.e.t.Helper()
	return js[bool](tb, expr)
}

func chromiumVersion(e *e2e) string {
	v, err := chromedp.Run(e.browser, chromedp.Evaluate[string](`navigator.userAgent.match(/Chrome\/([\d.]+)/)[1]`))
	if err != nil {
		return "?"
	}
	return v
}
