package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestBrowser drives the front end in Chromium through a case's life: a clerk registers a referral and refers
// it to a mediator found with the specialty filter; the mediator accepts on the desk and invites a party; the
// party, on a phone-sized screen, enters through the link, consents, types the one-time code and sees the case
// (and checks the camera); the mediator keeps the session record through a conflicting save, records the
// agreement; the parties apply for judicial confirmation and the judge confirms it from the queue; the
// statistics page draws its charts. Along the way every main page is screenshotted at 360×640 and 390×844
// (PARLEY_SCREENSHOT_DIR, default out/screenshots).
func TestBrowser(t *testing.T) {
	began := time.Now()
	e := browserE2E(t, "TestBrowser")
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
	_, err := e.store.UpdateProfile(ctx, w.Mediator.ID, cases.ProfileUpdate{Specialties: []string{"patent", "trade_secret"},
		Background: "原专利代理师，擅长通信领域专利纠纷。", CaseScope: "专利、商业秘密", Free: true})
	must(err)
	_, err = e.store.UpdateProfile(ctx, w.Mediator2.ID, cases.ProfileUpdate{Specialties: []string{"trademark"}, Background: "商标代理人。", FeeNote: "按标的额收费"})
	must(err)

	// The clerk registers a referral. A first try without the respondent's phone shows the error next to it.
	clerk := e.newTab("clerk", 1280, 900)
	clerk.login(w.Clerk)
	clerk.wait(`location.pathname === '/clerk'`)
	clerk.click(`.qr-panel summary`)
	clerk.wait(`document.querySelector('.qr-panel img').naturalWidth > 0`)
	clerk.click(`#register-referral`)
	clerk.wait(`document.querySelector('#referral-form')`)
	clerk.fill(`#referral-form [name=title]`, "北京星云科技有限公司与李某侵害发明专利权纠纷")
	clerk.fill(`[name=dispute_type]`, "patent")
	clerk.fill(`[name=claim_amount_fen]`, "500000")
	clerk.fill(`[name=summary]`, "申请人主张被申请人销售的路由器落入其发明专利保护范围，请求停止侵权并赔偿。")
	clerk.fill(`[name="parties[0].name"]`, "北京星云科技有限公司")
	clerk.fill(`[name="parties[0].legal_rep"]`, "张星云")
	clerk.fill(`[name="parties[0].phone"]`, "13900000011")
	clerk.fill(`[name="parties[1].kind"]`, "person")
	clerk.fill(`[name="parties[1].name"]`, "李某")
	clerk.click(`#register`)
	clerk.wait(`document.querySelector('[name="parties[1].phone"][aria-invalid="true"]') && document.querySelector('[name="parties[1].phone"]').closest('.field').querySelector('.field-error')`)
	clerk.checkTranslated("the referral's errors")
	clerk.fill(`[name="parties[1].phone"]`, "13900000012")
	clerk.click(`#register`)
	clerk.wait(`/^\/cases\//.test(location.pathname) && document.querySelector('#action-refer[open]')`)
	caseID := strings.TrimPrefix(js[string](clerk, `location.pathname`), "/cases/")
	// Inside the parties' 2-working-day window the court refers only once every party waived the joint choice
	// (OMR Art. 10): both parties waive, each its own act, and the clerk reloads the case.
	registered, err := e.store.Case(ctx, caseID)
	must(err)
	casestest.WaiveChoice(t, e.store, registered)
	clerk.open("/cases/" + caseID + "?action=refer")
	clerk.wait(`document.querySelector('#action-refer[open]')`)
	clerk.wait(`document.querySelectorAll('#action-refer li[data-mediator]').length >= 2`)
	clerk.fill(`#action-refer select[name=specialty_filter]`, "patent")
	clerk.wait(fmt.Sprintf(`(() => { const l = [...document.querySelectorAll('#action-refer li[data-mediator]')].map((x) => x.dataset.mediator); return l.length === 1 && l[0] === %q; })()`, w.Mediator.ID))
	clerk.click(fmt.Sprintf(`#action-refer li[data-mediator=%q] input[type=checkbox]`, w.Mediator.ID))
	clerk.shot("clerk-refer-1280x900")
	clerk.click(`#action-refer button[type=submit]`)
	clerk.wait(`document.querySelector('.page-head .chip.s-referred')`)
	c, err := e.store.Case(ctx, caseID)
	must(err)
	if c.State != cases.StateReferred || len(c.Mediators) != 1 || c.Mediators[0].AccountID != w.Mediator.ID || c.OrganisationID != w.Org.ID {
		t.Fatalf("after the referral: state %s, mediators %+v, organisation %q; want referred to %s through %s", c.State, c.Mediators, c.OrganisationID, w.Mediator.ID, w.Org.ID)
	}

	// The mediator sees it on the desk with the answer window counting down, and accepts.
	med := e.newTab("mediator", 1280, 900)
	med.login(w.Mediator)
	med.wait(`location.pathname === '/desk'`)
	med.wait(fmt.Sprintf(`document.querySelector('#case-list a.title[href="/cases/%s"]')`, caseID))
	if cd := med.text(`#case-list .countdown`); !strings.Contains(cd, "剩余") {
		t.Errorf("the desk's countdown reads %q, want the time left", cd)
	}
	med.shot("desk-1280x900")
	med.phoneShots("desk", 1280, 900)
	med.click(fmt.Sprintf(`#case-list a.title[href="/cases/%s"]`, caseID))
	med.wait(`document.querySelector('#action-accept')`)
	med.action("accept", nil)
	med.wait(`document.querySelector('.page-head .chip.s-in_mediation')`)
	applicant, respondent := c.Parties[0], c.Parties[1]
	med.click(fmt.Sprintf(`button[data-invite=%q]`, applicant.ID))
	med.wait(`document.querySelector('input.invite-link')`)
	link := js[string](med, `document.querySelector('input.invite-link').value`)
	if !strings.HasPrefix(link, e.base+"/join/pi_") {
		t.Fatalf("invitation link %q", link)
	}
	// The checklist says what each party still has to do, and no session can start before every consent.
	med.wait(`document.querySelector('#checklist-blocked') && document.querySelector('#schedule input[name=start]').disabled`)
	if txt := med.text(`#checklist-blocked`); !strings.Contains(txt, applicant.Name) || !strings.Contains(txt, respondent.Name) {
		t.Errorf("the checklist's warning reads %q, want both parties named", txt)
	}
	med.phoneShots("case-mediator", 1280, 900)
	med.checkAxe("the mediator's case page")
	med.checkFocusOrder("the mediator's case page", 30)
	med.do(med.viewport(390, 844))
	med.pointShot("point02-checklist-390x844", "#checklist")
	med.do(med.viewport(1280, 900))

	// The applicant, on a phone, enters through the link: who it is for, consent, the one-time code.
	party := e.newTab("party", 390, 844)
	party.open(strings.TrimPrefix(link, e.base))
	party.wait(`document.querySelector('#join-case')`)
	if txt := party.text(`#join-info`); !strings.Contains(txt, c.Number) || !strings.Contains(txt, "139****0011") {
		t.Errorf("the invitation page shows %q, want the case number %s and the masked phone", txt, c.Number)
	}
	party.phoneShots("join-1-info", 390, 844)
	party.checkAxe("the invitation page")
	party.click(`#join-continue`)
	party.wait(`document.querySelector('#consent-yes')`)
	party.phoneShots("join-2-consent", 390, 844)
	party.click(`#consent-yes`)
	party.click(`#send-code`)
	party.wait(`!document.querySelector('#code-form').hidden`)
	party.typeIn(`#code-form input[name=code]`, e.notify.lastCode(t, applicant.Phone))
	party.phoneShots("join-3-code", 390, 844)
	party.click(`#code-form button[type=submit]`)
	party.wait(`location.pathname === '/party' && document.querySelector('.page-head .chip.s-in_mediation')`)
	if h1 := party.text(`main h1`); h1 != c.Title {
		t.Errorf("the party page's title is %q, want %q", h1, c.Title)
	}
	c, err = e.store.Case(ctx, caseID)
	must(err)
	if !c.Parties[0].ConsentOnline {
		t.Error("the applicant's consent to online mediation was not recorded")
	}
	party.phoneShots("party-case", 390, 844)
	party.checkAxe("the party's case page")
	party.checkFocusOrder("the party's case page", 30)

	// The mediator discloses a possible conflict and asks for more time; the party answers both on the phone.
	med.action("disclose", map[string]string{"text": "本人曾于 2019 年为申请人代理过一件与本案无关的商标申请。"})
	med.action("request_extension", map[string]string{"days": "10", "reason": "需等待被申请人提交销售数据。"})
	party.open("/party")
	party.wait(`document.querySelector('#todo-disclosure') && document.querySelector('#todo-extension')`)
	party.phoneShots("party-todo", 390, 844)
	party.click(`#disclosure-continue`)
	party.wait(`document.querySelector('#todo-disclosure .alert.ok')`)
	party.click(`#extension-agree`)
	party.wait(`document.querySelector('#todo-extension .alert.ok')`)
	c, err = e.store.Case(ctx, caseID)
	must(err)
	if p := c.Pending; p == nil || p.Disclosure == nil || p.Disclosure.Answers[applicant.ID] != "continue" || p.Extension == nil || p.Extension.Consents[applicant.ID].IsZero() {
		t.Errorf("after the party's answers the case waits for %+v", c.Pending)
	}

	// The device check: the fake camera plays, the network is measured.
	party.open("/device")
	party.click(`#start-media`)
	party.wait(`document.querySelector('#preview') && document.querySelector('#preview').videoWidth > 0`)
	party.wait(`document.querySelector('[data-check=camera][data-status=ok]')`)
	party.click(`#check-network`)
	party.wait(`document.querySelector('#network-figures')`)
	party.phoneShots("device-check", 390, 844)
	party.checkAxe("the device check")
	party.checkFocusOrder("the device check", 15)

	// A session, and its record kept through a conflicting save from elsewhere.
	yes := true
	_, err = e.store.Act(ctx, w.Clerk, caseID, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: respondent.ID, Note: "书面同意"})
	must(err)
	med.open("/cases/" + caseID)
	med.wait(fmt.Sprintf(`document.querySelector('#checklist-ready') && document.querySelector('#checklist li[data-party=%q] [data-item=consent][data-state=done]') && document.querySelector('#checklist li[data-party=%q] [data-item=entered][data-state=done]')`, applicant.ID, applicant.ID))
	med.click(`#schedule summary`)
	med.fill(`#schedule [name=title]`, "第一次调解")
	med.click(`#schedule [name=start]`)
	med.click(`#schedule button[type=submit]`)
	med.wait(`document.querySelector('li[data-session] .chip.live')`)
	sessionID := js[string](med, `document.querySelector('li[data-session]').dataset.session`)
	// The device check opened for the live session ends with "进入调解室".
	party.open("/party")
	party.click(`li.caseitem a[href^="/device?session="]`)
	party.wait(`location.pathname === '/device' && document.querySelector('#device-enter')`)
	party.pointShot("point04-device-exit-390x844", "#device-exit")
	if txt, href := party.text(`#device-enter`), js[string](party, `document.querySelector('#device-enter').getAttribute('href')`); txt != "进入调解室" || href != "/rooms/"+sessionID {
		t.Errorf("the device check ends with %q → %s, want 进入调解室 → /rooms/%s", txt, href, sessionID)
	}
	med.open("/sessions/" + sessionID + "/record")
	med.fill(`[name=facts]`, "2026年11月16日在线调解，双方均已核验身份。")
	med.click(`#add-statement`)
	med.fill(`[name="statements[0].speaker"]`, "张星云")
	med.fill(`[name="statements[0].role"]`, "applicant")
	med.fill(`[name="statements[0].text"]`, "请求停止侵权并赔偿。")
	med.click(`#add-fact`)
	med.fill(`[name="confirmed_facts[0]"]`, "被申请人销售了涉案路由器。")
	med.click(`#save-record`)
	med.wait(`document.querySelector('#record-version').innerText.includes('1')`)
	_, err = e.store.SaveRecord(ctx, w.Mediator, sessionID, cases.SessionRecord{Facts: "在另一台设备上保存的内容。", Version: 1})
	must(err)
	med.fill(`[name=facts]`, "2026年11月16日在线调解，双方均已核验身份，同意继续协商。")
	med.click(`#save-record`)
	med.wait(`document.querySelector('#record-conflict')`)
	if txt := med.text(`#record-conflict`); !strings.Contains(txt, "在另一台设备上保存的内容") {
		t.Errorf("the conflict does not show the other version: %q", txt)
	}
	med.phoneShots("record-conflict", 1280, 900)
	med.click(`#keep-mine`)
	med.wait(`!document.querySelector('#record-conflict') && document.querySelector('#record-version').innerText.includes('3')`)
	rec, err := e.store.Record(ctx, sessionID)
	must(err)
	if rec.Version != 3 || !strings.Contains(rec.Facts, "同意继续协商") || len(rec.Statements) != 1 || len(rec.ConfirmedFacts) != 1 {
		t.Errorf("record after keeping mine: %+v", rec)
	}

	// An agreement signed on paper: mediation ends with one, the mediator uploads its scan, and it takes effect
	// only when every party has signed the confirmation sheet online (the applicant on the phone).
	med.open("/cases/" + caseID)
	// Ending with an agreement is a green action of its own; the other endings stay behind the red one.
	if !js[bool](med, `getComputedStyle(document.querySelector('#action-end_agreement button[type=submit]')).backgroundColor === 'rgb(18, 107, 55)' && ![...document.querySelectorAll('#action-end [name=ground] option')].some((o) => o.value === 'agreement_reached')`) {
		t.Error("ending with an agreement is not a green action of its own")
	}
	med.do(med.viewport(390, 844))
	med.click(`#action-end_agreement summary`)
	med.pointShot("point07-agreement-action-390x844", "#action-end_agreement")
	med.click(`#action-end_agreement summary`)
	med.do(med.viewport(1280, 900))
	med.action("end_agreement", nil)
	med.wait(`document.querySelector('.page-head .chip.s-signing')`)
	sheetID := med.uploadOffline(e.scanFile(t))
	// Signing is bound to a checked identity (the mediator saw each identity card on camera).
	c, err = e.store.Case(ctx, caseID)
	must(err)
	identityChecked(t, e.store, c, w.Mediator)
	party.open("/party")
	party.click(`#todo-sign a[data-sign]`)
	party.wait(`location.pathname === '/sign/` + sheetID + `' && document.querySelector('#sheet-scan a[href$="/pdf"]')`)
	// A drawing not yet submitted survives a switch of language (and back).
	party.wait(`document.querySelector('#sign-box #sigpad')`)
	js[bool](party, `(document.querySelector('#sigpad').scrollIntoView({block: 'center'}), true)`)
	js[bool](party, drawJS)
	party.wait(`document.querySelector('.sigpad-hint').hidden`)
	// (The pad drawn before a switch is marked, so the waits see the page drawn again, not the old one.)
	js[bool](party, `(document.querySelector('#sigpad').dataset.old = '1') === '1'`)
	party.click(`.lang-btn`)
	party.wait(`document.documentElement.lang === 'en' && document.querySelector('#sign-box #sigpad:not([data-old])') && document.querySelector('.sigpad-hint').hidden && !document.querySelector('#pad-clear').disabled`)
	js[bool](party, `(document.querySelector('#sigpad').dataset.old = '1') === '1'`)
	party.click(`.lang-btn`)
	party.wait(`document.documentElement.lang === 'zh-CN' && document.querySelector('#sign-box #sigpad:not([data-old])') && document.querySelector('.sigpad-hint').hidden`)
	party.click(`#pad-clear`)
	party.signOnPage("sign-confirmation-sheet")
	c, err = e.store.Case(ctx, caseID)
	must(err)
	if c.State != cases.StateSigning {
		t.Errorf("after one party confirmed the paper agreement the case is %s, want signing", c.State)
	}
	e.signAs(t, casestest.PartyPrincipal(c, 1), caseID, sheetID, "sig-respondent-1")
	e.signAs(t, w.Mediator, caseID, sheetID, "sig-mediator-1")
	if sheet, err := e.store.Document(ctx, sheetID); err == nil && sheet.SealField() != nil {
		_, err = e.app.docs.Seal(ctx, w.OrgAdmin, sheetID)
		must(err)
	}
	med.open("/cases/" + caseID)
	med.wait(`document.querySelector('.page-head .chip.s-settled') && document.querySelector('#document-list li[data-kind=confirmation_sheet][data-status=complete]')`)

	// Both parties apply for judicial confirmation: the applicant on the phone, the respondent elsewhere.
	party.open("/party")
	party.click(`#apply-confirmation`)
	party.wait(`document.querySelector('dialog.sheet[open]')`)
	party.viewShot("sheet-apply-confirmation-390x844")
	e.pointAlias("point09-confirmation-sheet-390x844", "sheet-apply-confirmation-390x844")
	party.confirmSheet()
	party.wait(`document.querySelector('#todo-confirmation .alert.ok')`)
	party.phoneShots("party-confirmation", 390, 844)
	c, err = e.store.Case(ctx, caseID)
	must(err)
	_, err = e.store.Act(ctx, casestest.PartyPrincipal(c, 1), caseID, cases.ActApplyConfirmation, cases.Params{})
	must(err)

	// The judge confirms it from the queue.
	judge := e.newTab("judge", 1280, 900)
	judge.login(w.Judge)
	judge.wait(`location.pathname === '/judge'`)
	item := fmt.Sprintf(`#confirmation-queue li[data-case=%q]`, caseID)
	judge.wait(`document.querySelector('` + item + `')`)
	judge.shot("judge-1280x900")
	judge.phoneShots("judge", 1280, 900)
	judge.click(item + ` #action-confirm summary`)
	judge.fill(item+` #action-confirm [name=note]`, "（2026）京73民特1号")
	judge.click(item + ` #action-confirm button[type=submit]`)
	judge.confirmSheet()
	judge.wait(`!document.querySelector('#confirmation-queue')`)
	c, err = e.store.Case(ctx, caseID)
	must(err)
	if c.State != cases.StateConfirmed {
		t.Fatalf("after the judge confirmed: %s", c.State)
	}
	party.open("/party")
	party.wait(`document.querySelector('.page-head .chip.s-confirmed')`)
	party.click(`.lang-btn`)
	party.wait(`document.documentElement.lang === 'en' && document.querySelector('.page-head .chip.s-confirmed') && document.querySelector('.page-head .chip').innerText === 'Judicially confirmed'`)
	party.phoneShots("party-confirmed-en", 390, 844)

	// Statistics: charts, each with its table.
	judge.open("/stats")
	judge.wait(`document.querySelector('#chart-states svg') && document.querySelector('#chart-months svg') && document.querySelector('#chart-orgs svg') && document.querySelector('#chart-mediators svg') && document.querySelector('#chart-grounds svg')`)
	if got := judge.text(`#kpi-success .value`); got != "100%" {
		t.Errorf("success rate shows %q, want 100%%", got)
	}
	if n := js[int](judge, `document.querySelectorAll('figure.chart svg[role=img] title').length === document.querySelectorAll('figure.chart svg').length ? document.querySelectorAll('figure.chart table').length : -1`); n < 5 {
		t.Errorf("charts with a title and a table: %d, want 5", n)
	}
	judge.shot("stats-1280x900")
	judge.phoneShots("stats", 1280, 900)

	// The public pages, an online application (its errors first), English.
	visitor := e.newTab("visitor", 390, 844)
	visitor.open("/")
	visitor.phoneShots("home", 390, 844)
	// The home screen: the shell's manifest and every icon it lists load from the server itself.
	if n := js[int](visitor, `fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())
		.then(async (m) => m.display === 'standalone' ? (await Promise.all(m.icons.map((i) => fetch(i.src).then((r) => r.ok)))).filter(Boolean).length : -1)`); n < 4 {
		t.Errorf("the web app manifest's icons: %d load, want 4 (and display standalone)", n)
	}
	visitor.open("/login")
	visitor.phoneShots("login", 390, 844)
	visitor.checkAxe("the login page")
	visitor.checkFocusOrder("the login page", 12)
	visitor.open("/apply")
	visitor.wait(`document.querySelector('#apply-form')`)
	visitor.click(`#submit-application`)
	visitor.wait(`document.querySelector('[name=organisation_id][aria-invalid="true"]') && document.querySelector('[name="applicant.phone"][aria-invalid="true"]')`)
	visitor.phoneShots("apply-errors", 390, 844)
	visitor.pointShot("point03-10-apply-errors-390x844", "#apply-form .form-alert")
	visitor.fill(`[name=organisation_id]`, w.Org.ID)
	visitor.fill(`#apply-form [name=title]`, "王某与某网店著作权侵权纠纷")
	visitor.fill(`[name=dispute_type]`, "copyright")
	visitor.fill(`[name=summary]`, "某网店未经许可使用申请人拍摄的摄影作品。")
	visitor.fill(`[name="applicant.name"]`, "王某")
	visitor.fill(`[name="applicant.phone"]`, "13900000021")
	visitor.fill(`[name="respondents[0].kind"]`, "person")
	visitor.fill(`[name="respondents[0].name"]`, "赵某")
	visitor.fill(`[name="respondents[0].phone"]`, "13900000022")
	visitor.click(`[name=consent_online]`)
	visitor.click(`#submit-application`)
	visitor.wait(`document.querySelector('#apply-done')`)
	visitor.phoneShots("apply-done", 390, 844)
	visitor.click(`.lang-btn`)
	visitor.wait(`document.documentElement.lang === 'en'`)
	visitor.open("/")
	if h1 := visitor.text(`main h1`); h1 != "Online mediation of IP disputes" {
		t.Errorf("in English the home page says %q", h1)
	}
	visitor.phoneShots("home-en", 390, 844)

	// The other desks.
	clerk.open("/clerk")
	clerk.phoneShots("clerk", 1280, 900)
	clerk.open("/clerk/new")
	clerk.phoneShots("referral-form", 1280, 900)
	org := e.newTab("orgadmin", 1280, 900)
	org.login(w.OrgAdmin)
	org.wait(`location.pathname === '/org' && document.querySelector('.caselist a.title')`)
	org.phoneShots("org", 1280, 900)
	ipo := e.newTab("ipoffice", 1280, 900)
	ipo.login(w.Officer)
	ipo.wait(`location.pathname === '/ipoffice' && document.querySelector('#roster-list')`)
	ipo.phoneShots("ipoffice", 1280, 900)

	// Password change (a mistyped repeat is caught first), then logout.
	ipo.open("/password")
	ipo.fill(`[name=current_password]`, w.Password)
	ipo.fill(`[name=new_password]`, "a brand new passphrase")
	ipo.fill(`[name=repeat]`, "a brand new passphrasf")
	ipo.click(`form button[type=submit]`)
	ipo.wait(`document.querySelector('[name=repeat][aria-invalid="true"]')`)
	ipo.fill(`[name=repeat]`, "a brand new passphrase")
	ipo.click(`#revoke-no`)
	ipo.click(`form button[type=submit]`)
	ipo.wait(`location.pathname === '/ipoffice'`)
	acc, err := e.store.Account(ctx, w.Officer.ID)
	must(err)
	if _, err := e.store.Authenticate(ctx, acc.Username, "a brand new passphrase", "127.0.0.1"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	ipo.click(`#logout`)
	ipo.wait(`location.pathname === '/' && !document.querySelector('.top .who') && document.querySelector('.hero')`)
	med.open("/cases/" + caseID)
	med.phoneShots("case-confirmed", 1280, 900)

	// In a new court case the parties may choose their mediator jointly, from the court's roster.
	fresh, err := e.store.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	must(err)
	_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, fresh.ID, fresh.Parties[0].ID, "", time.Hour)
	must(err)
	chooser := e.newTab("chooser", 360, 640)
	chooser.enter(e.base+"/join/"+string(tok), fresh.Parties[0].Phone)
	chooser.wait(`document.querySelector('#todo-choose li[data-mediator]')`)
	chooser.fill(`#todo-choose select[name=specialty_filter]`, "patent")
	chooser.wait(fmt.Sprintf(`document.querySelectorAll('#todo-choose li[data-mediator]').length === 1 && document.querySelector('#todo-choose li[data-mediator=%q]')`, w.Mediator.ID))
	chooser.click(fmt.Sprintf(`#todo-choose li[data-mediator=%q] button`, w.Mediator.ID))
	chooser.wait(`document.querySelector('#todo-choose .alert.ok')`)
	chooser.phoneShots("party-choose", 360, 640)
	fresh, err = e.store.Case(ctx, fresh.ID)
	must(err)
	if fresh.Pending == nil || fresh.Pending.MediatorChoices[fresh.Parties[0].ID] != w.Mediator.ID {
		t.Errorf("the party's choice was not recorded: %+v", fresh.Pending)
	}

	e.checkNoJSErrors()
	// No page offered an action the server then refused (the record's conflicting save is provoked on purpose).
	e.checkNoRefusals(regexp.MustCompile(`^PUT /api/v1/sessions/[^/]+/record → 409$`))
	t.Logf("browser tests: %d screenshots in %s; %s", e.shotCount, e.shots, time.Since(began).Round(time.Millisecond))
}
