package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// A party's journey, counted and timed: every tap the test makes for the party, every code it types, every
// signature it draws, and the wall-clock time of this machine from the journey's first step to its last
// (page loads, API round trips, rendering, and the test's own polling every 50 ms), without the checks the test
// makes on the way. The human estimate adds the keystroke-level model's operators (Card, Moran and Newell):
// pointing and tapping, typing, one mental preparation per decision, a drawn signature.
const (
	klmTap     = 1.2  // s: point at a control and tap it (P + K)
	klmDigit   = 0.3  // s: type one digit of a code (K, on a phone's number pad)
	klmMental  = 1.35 // s: decide what to do next (M), once per tap and once per code (read it from the SMS)
	klmDrawing = 4.0  // s: draw a signature with a finger
)

// journeyMeter measures one journey of one party's tab.
type journeyMeter struct {
	tb                        *tab
	name                      string
	taps, codes, digits, draw int
	began                     time.Time
	paused                    time.Duration // the checks' time, left out of the figure
}

func (tb *tab) journey(name string) *journeyMeter {
	return &journeyMeter{tb: tb, name: name, began: time.Now()}
}

// tap taps a control as the party would; a control that never comes is a dead end.
func (m *journeyMeter) tap(sel string) {
	m.tb.e.t.Helper()
	m.taps++
	ctx, cancel := context.WithTimeout(m.tb.ctx, 15*time.Second)
	defer cancel()
	cond := fmt.Sprintf(`!!document.querySelector(%q)`, sel)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		m.tb.fail("journey %s: a dead end before tap %d: the page offers no %s", m.name, m.taps, sel)
	}
	m.tb.click(sel)
}

// typeCode types a code the party received, digit by digit.
func (m *journeyMeter) typeCode(sel, code string) {
	m.tb.e.t.Helper()
	m.codes++
	m.digits += len(code)
	m.tb.typeIn(sel, code)
}

// sign draws a signature on the pad.
func (m *journeyMeter) sign() {
	m.tb.e.t.Helper()
	m.draw++
	js[bool](m.tb, `(document.querySelector('#sigpad').scrollIntoView({block: 'center'}), true)`)
	js[bool](m.tb, drawJS)
}

// check runs the harness's checks on the page the party sees (nothing untranslated), off the clock.
func (m *journeyMeter) check(where string) {
	m.tb.e.t.Helper()
	t0 := time.Now()
	m.tb.checkTranslated(m.name + ": " + where)
	m.paused += time.Since(t0)
}

// seconds is the machine's time so far.
func (m *journeyMeter) seconds() float64 { return (time.Since(m.began) - m.paused).Seconds() }

// human is the keystroke-level estimate of a person's time: the machine's time (the person waits for it) plus
// the operators.
func (m *journeyMeter) human(machine float64) float64 {
	return machine + float64(m.taps)*(klmTap+klmMental) + float64(m.digits)*klmDigit + float64(m.codes)*klmMental + float64(m.draw)*klmDrawing
}

// done logs the figures in a fixed format and fails the test when the journey needs more taps, codes or
// drawings than it does today (the regression guard).
func (m *journeyMeter) done(maxTaps, maxCodes, maxDraw int) {
	m.tb.e.t.Helper()
	s := m.seconds()
	extra := ""
	if m.codes > 0 {
		extra += fmt.Sprintf(", %d code", m.codes)
	}
	if m.draw > 0 {
		extra += fmt.Sprintf(", %d drawing", m.draw)
	}
	m.tb.e.t.Logf("journey %s: %d taps%s, %.1f s machine, ≈ %.1f s for a person (KLM)", m.name, m.taps, extra, s, m.human(s))
	if m.taps > maxTaps || m.codes > maxCodes || m.draw > maxDraw {
		m.tb.e.t.Errorf("journey %s takes %d taps, %d codes, %d drawings; it took at most %d, %d, %d", m.name, m.taps, m.codes, m.draw, maxTaps, maxCodes, maxDraw)
	}
}

// TestBrowserJourneyTiming counts and times a party's two journeys of issue 13 on a 390×844 phone: from the
// invitation link to the room's lobby (straight from the case page, and through the device check, which ends in
// the room), and from the agreement card appearing in the call to "signed" (in a sheet over the call). It fails
// when a journey needs more taps than it does now, meets a control that never comes (a dead end), shows an
// untranslated error, or is refused by the server. docs/journey.md keeps the figures, before and after.
func TestBrowserJourneyTiming(t *testing.T) {
	e := browserE2E(t, "TestBrowserJourneyTiming")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	applicant, respondent := c.Parties[0], c.Parties[1]
	link := func(partyID string) string {
		_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, partyID, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return "/join/" + string(tok)
	}
	s, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	med := e.newTab("mediator", 1280, 800)
	med.login(w.Mediator)
	med.open("/rooms/" + s.ID)
	med.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	med.click(`#join-room`)
	med.wait(`document.querySelector('.room .tile.self')`)

	// The invitation link → the lobby, straight from the case page: who it is for, consent, the code, the
	// case page's "进入调解室", the pre-join screen's camera preview and "join".
	partyA := e.newTab("applicant", 390, 844)
	j := partyA.journey("link→lobby")
	partyA.open(link(applicant.ID))
	j.check("the invitation")
	j.tap(`#join-continue`)
	j.tap(`#consent-yes`)
	j.tap(`#send-code`)
	partyA.wait(`!document.querySelector('#code-form').hidden`)
	j.typeCode(`#code-form input[name=code]`, e.notify.lastCode(t, applicant.Phone))
	j.tap(`#code-form button[type=submit]`)
	partyA.wait(`location.pathname === '/party'`)
	j.check("the case page")
	j.tap(`li.caseitem a.btn[href="/rooms/` + s.ID + `"]`)
	partyA.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	j.check("the pre-join screen")
	j.tap(`#join-room`)
	partyA.wait(`document.querySelector('#lobby')`)
	j.done(6, 1, 0)

	// The same through the device check (camera, microphone, speaker, network), which ends with "进入调解室".
	partyB := e.newTab("respondent", 390, 844)
	j = partyB.journey("link→lobby via the device check")
	partyB.open(link(respondent.ID))
	j.tap(`#join-continue`)
	j.tap(`#consent-yes`)
	j.tap(`#send-code`)
	partyB.wait(`!document.querySelector('#code-form').hidden`)
	j.typeCode(`#code-form input[name=code]`, e.notify.lastCode(t, respondent.Phone))
	j.tap(`#code-form button[type=submit]`)
	partyB.wait(`location.pathname === '/party'`)
	j.tap(`li.caseitem a[href^="/device"]`)
	j.tap(`#start-media`)
	partyB.wait(`document.querySelector('[data-check=camera][data-status=ok]')`)
	j.tap(`#play-tone`)
	partyB.wait(`document.querySelector('[data-check=speaker][data-status=warn]')`)
	j.tap(`#heard-yes`)
	j.tap(`#check-network`)
	partyB.wait(`document.querySelector('#network-figures')`)
	j.check("the device check")
	j.tap(`#device-enter`)
	partyB.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	j.tap(`#join-room`)
	partyB.wait(`document.querySelector('#lobby')`)
	j.done(11, 1, 0)

	// The mediator admits the applicant; the agreement is made ready during the call.
	med.press(`#open-people`)
	form := fmt.Sprintf(`form.admit-form[data-participant=%q]`, applicant.ID)
	med.wait(`document.querySelector('` + form + `')`)
	med.fill(form+` select[name=method]`, "id_card_on_camera")
	med.press(form + ` button[type=submit]`)
	partyA.wait(`document.querySelector('.room .tile.self')`)
	if _, err := e.app.docs.CreateAgreement(ctx, w.Mediator, c, agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement}); err != nil {
		t.Fatal(err)
	}
	ready := time.Now()
	partyA.wait(`document.querySelector('#room-sign-open')`)
	t.Logf("journey agreement ready→card: %.1f s (case_changed; the room also looks every 15 s by itself)", time.Since(ready).Seconds())

	// The agreement card → "signed", in a sheet over the call: open, tick the confirmation, draw, sign.
	j = partyA.journey("agreement card→signed")
	j.tap(`#room-sign-open`)
	partyA.wait(`document.querySelector('#room-sign-sheet #sigpad') && document.querySelector('#pages[data-rendered=true]')`)
	j.check("the signing sheet")
	j.tap(`#sign-agree`)
	j.sign()
	partyA.wait(`document.querySelector('.sigpad-hint').hidden`)
	j.tap(`#sign-submit`)
	partyA.wait(`document.querySelector('#sign-done')`)
	j.check("the signed sheet")
	j.done(3, 0, 1)
	t.Logf("journey agreement ready→signed: %.1f s machine (the card's wait included)", time.Since(ready).Seconds()-j.paused.Seconds())
	if !partyA.js(`!!document.querySelector('.room .tile.self')`) {
		t.Error("after signing in the sheet the applicant is no longer in the call")
	}

	e.checkNoRefusals()
	e.checkNoJSErrors()
}
