package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// The insider's phone: what a mediator or clerk who wants to take over a party's seat would put in its place.
const insiderPhone = "13711119999"

var confirmCodeRE = regexp.MustCompile(`确认码 (\d{6})`)

// messagesTo returns the notices sent to an address so far.
func (n *captureNotifier) messagesTo(to string) []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Message
	for _, m := range n.msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// last returns the body of the newest notice to an address, or "".
func (n *captureNotifier) last(to string) string {
	ms := n.messagesTo(to)
	if len(ms) == 0 {
		return ""
	}
	return ms[len(ms)-1].Body
}

// linkToken issues an invitation link for a party as staff and returns its token.
func linkToken(t *testing.T, e *testEnv, staff *client, caseID, partyID string) (int, string) {
	t.Helper()
	var inv invitationResponse
	st := staff.do("POST", "/api/v1/cases/"+caseID+"/invitations", invitationRequest{PartyID: partyID, Send: true}, &inv)
	return st, strings.TrimPrefix(inv.Link, e.app.cfg.BaseURL+"/join/")
}

// askCode asks for the link's one-time code and returns where it went (masked) and the status.
func askCode(t *testing.T, e *testEnv, tok string) (int, string) {
	t.Helper()
	var cs codeSent
	st := e.anonymous().do("POST", "/api/v1/invitations/"+tok+"/code", nil, &cs)
	return st, cs.SentTo
}

// trailTypes returns the types of a case's events as staff see them.
func trailTypes(t *testing.T, c *client, caseID string) []cases.Event {
	t.Helper()
	var evs []cases.Event
	if st := c.do("GET", "/api/v1/cases/"+caseID+"/events", nil, &evs); st != 200 {
		t.Fatalf("events: %d", st)
	}
	return evs
}

func lastOf(evs []cases.Event, typ string) *cases.Event {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return &evs[i]
		}
	}
	return nil
}

// TestInsiderCannotTakeOverAPartysSeat plays the insider attack of issue 8 §1 end to end over HTTP: a mediator
// rewrites the respondent's phone to their own, issues a link, enters with the code, prepares and finishes the
// respondent's signature; then a clerk alone tries the same; then a clerk with a second clerk's approval. The
// first two are stopped at the first step (the phone does not change, so the code never reaches the insider);
// the third changes the phone only after the approval, tells the old phone, revokes the party's links and
// sessions, and still gets no signing certificate until a new identity check by someone other than the
// requester passes. The old phone and the trail show each step.
func TestInsiderCannotTakeOverAPartysSeat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w := f.w
	caseID := f.c.ID
	victim := f.c.Parties[1] // 李四, a natural person with an identity-card number
	oldPhone := victim.Phone
	mediator := f.login(w.Mediator)
	clerk := f.login(w.Clerk)
	clerk2acc, err := f.store.CreateAccount(ctx, cases.NewAccount{OrgID: w.Court.ID, Role: cases.RoleClerk, Username: "clerk-two", DisplayName: "王书记员", Password: w.Password})
	if err != nil {
		t.Fatal(err)
	}
	clerk2p, _ := f.store.AccountPrincipal(ctx, clerk2acc.ID)
	clerk2 := f.login(clerk2p)

	// The real party is in the case: it entered with its link and has a live session.
	real := f.enter(caseID, victim.ID, "")
	if st := real.do("GET", "/api/v1/cases/"+caseID, nil, nil); st != 200 {
		t.Fatalf("the real party reads its case: %d", st)
	}
	// Agreement reached and drafted: the respondent's field is waiting.
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/agreement", agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}}, &doc); st != 201 {
		t.Fatalf("draft: %d", st)
	}
	docID := doc.Document.ID

	// 1. The mediator rewrites the phone: refused, by PATCH and by the correction procedure alike.
	phone := insiderPhone
	st, raw := mediator.raw("PATCH", "/api/v1/cases/"+caseID+"/parties/"+victim.ID, cases.PartyPatch{Phone: &phone})
	if st != 422 || !strings.Contains(string(raw), "contact_correction_required") {
		t.Fatalf("mediator PATCH phone: %d %s, want 422 contact_correction_required", st, raw)
	}
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/parties/"+victim.ID+"/contact-corrections", cases.ContactChange{Phone: &phone, Reason: "当事人换号"}, nil); st != 403 {
		t.Fatalf("mediator asks for a correction: %d, want 403", st)
	}
	// Its link's code still goes to the party's own phone: the mediator cannot enter.
	st, medTok := linkToken(t, f.testEnv, mediator, caseID, victim.ID)
	if st != 201 {
		t.Fatalf("mediator link: %d", st)
	}
	if st, to := askCode(t, f.testEnv, medTok); st != 202 || to != maskContact(oldPhone) {
		t.Fatalf("code: %d to %s, want the old phone %s", st, to, maskContact(oldPhone))
	}
	if got := f.notify.messagesTo(insiderPhone); len(got) != 0 {
		t.Fatalf("the insider's phone received %d notices after the mediator's attempt: %+v", len(got), got)
	}
	// The old phone shows the attempt (a code it did not ask for); the trail shows the mediator's link and no change.
	if !codeRE.MatchString(f.notify.last(oldPhone)) {
		t.Errorf("the old phone's last notice: %q, want the code of the mediator's link", f.notify.last(oldPhone))
	}
	if evs := trailTypes(t, clerk, caseID); lastOf(evs, "invitation.created") == nil || lastOf(evs, "invitation.created").ActorID != w.Mediator.ID || lastOf(evs, "contact.corrected") != nil || lastOf(evs, "party.updated") != nil {
		t.Errorf("trail after the mediator's attempt: want the mediator's link and no change of contact")
	}

	// 2. A clerk alone asks for the correction: nothing changes until it is confirmed.
	var cr correctionResponse
	noReason := cases.ContactChange{Phone: &phone}
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/parties/"+victim.ID+"/contact-corrections", noReason, nil); st != 400 {
		t.Errorf("a correction without a reason: %d, want 400", st)
	}
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/parties/"+victim.ID+"/contact-corrections", cases.ContactChange{Phone: &phone, Reason: "当事人来电称已换号"}, &cr); st != 202 {
		t.Fatalf("clerk asks: %d", st)
	}
	corr := cr.Correction
	if corr.Status != cases.CorrectionPending {
		t.Fatalf("correction %s, want pending", corr.Status)
	}
	// The old phone is asked, in a sentence naming who asked, what and why.
	ask := f.notify.last(oldPhone)
	if !confirmCodeRE.MatchString(ask) || !strings.Contains(ask, w.Clerk.Name) || !strings.Contains(ask, "当事人来电称已换号") || !strings.Contains(ask, maskContact(insiderPhone)) {
		t.Fatalf("old phone's request notice: %q", ask)
	}
	var cs caseResponse
	clerk.do("GET", "/api/v1/cases/"+caseID, nil, &cs)
	if cs.Case.Party(victim.ID).Phone != oldPhone {
		t.Fatalf("the phone changed before confirmation: %s", cs.Case.Party(victim.ID).Phone)
	}
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/contact-corrections/"+corr.ID+"/approve", nil, nil); st != 403 {
		t.Fatalf("the clerk approves their own request: %d, want 403 (four eyes)", st)
	}
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/contact-corrections/"+corr.ID+"/approve", nil, nil); st != 403 {
		t.Fatalf("the mediator approves: %d, want 403", st)
	}
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/contact-corrections/"+corr.ID+"/confirm", codeRequest{"000000"}, nil); st != 422 {
		t.Fatalf("a guessed code: %d, want 422", st)
	}
	st, tok := linkToken(t, f.testEnv, clerk, caseID, victim.ID)
	if st != 201 {
		t.Fatalf("clerk link: %d", st)
	}
	if st, to := askCode(t, f.testEnv, tok); st != 202 || to != maskContact(oldPhone) {
		t.Fatalf("code after the clerk's request: %d to %s, want the old phone", st, to)
	}
	if got := f.notify.messagesTo(insiderPhone); len(got) != 0 {
		t.Fatalf("the insider's phone received notices while the correction waited: %+v", got)
	}
	if evs := trailTypes(t, clerk, caseID); lastOf(evs, "contact.correction_requested") == nil || lastOf(evs, "contact.corrected") != nil {
		t.Fatalf("trail: want the request recorded and nothing corrected")
	}
	// The newer link revoked the mediator's earlier one.
	if st, _ := askCode(t, f.testEnv, medTok); st != 404 {
		t.Errorf("a replaced link still works: %d, want 404", st)
	}
	// The clerk withdraws; the old phone is told nothing changed.
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/contact-corrections/"+corr.ID+"/reject", rejectRequest{Note: "撤回"}, &cr); st != 200 || cr.Correction.Status != cases.CorrectionCancelled {
		t.Fatalf("withdraw: %d %s", st, cr.Correction.Status)
	}
	if body := f.notify.last(oldPhone); !strings.Contains(body, "已被撤回") {
		t.Fatalf("old phone after the withdrawal: %q", body)
	}
	if ev := lastOf(trailTypes(t, clerk, caseID), "contact.correction_cancelled"); ev == nil || ev.Data["requested_by"] != w.Clerk.ID {
		t.Errorf("trail after the withdrawal: %+v", ev)
	}

	// 3. A clerk with a second clerk's approval: the correction takes effect only then.
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/parties/"+victim.ID+"/contact-corrections", cases.ContactChange{Phone: &phone, Reason: "法院核实当事人已更换手机号"}, &cr); st != 202 {
		t.Fatalf("clerk asks again: %d", st)
	}
	corr = cr.Correction
	if st, to := askCode(t, f.testEnv, tok); st != 202 && st != 429 || (st == 202 && to != maskContact(oldPhone)) {
		t.Fatalf("before approval the link's code goes to %s (%d)", to, st)
	}
	if st := clerk2.do("POST", "/api/v1/cases/"+caseID+"/contact-corrections/"+corr.ID+"/approve", nil, &cr); st != 200 || cr.Correction.Status != cases.CorrectionApplied {
		t.Fatalf("second clerk approves: %d %+v", st, cr.Correction)
	}
	if cr.Revoked == nil || cr.Revoked.Invitations < 1 || cr.Revoked.Sessions < 1 {
		t.Fatalf("revoked %+v: want the party's open link and its session", cr.Revoked)
	}
	// The old phone is told what changed, by whom, and how to object.
	told := f.notify.last(oldPhone)
	for _, want := range []string{"联系电话由", maskContact(insiderPhone), w.Clerk.Name, "王书记员", "第二名工作人员复核", "异议", corr.ID[:8]} {
		if !strings.Contains(told, want) {
			t.Errorf("old phone's notice lacks %q: %q", want, told)
		}
	}
	// The party's session, its open links and the links issued before are gone.
	if st := real.do("GET", "/api/v1/cases/"+caseID, nil, nil); st != 401 {
		t.Errorf("the party's session after the correction: %d, want 401", st)
	}
	if st, _ := askCode(t, f.testEnv, tok); st != 404 {
		t.Errorf("an old link after the correction: %d, want 404", st)
	}
	// The trail records who asked and who approved.
	evs := trailTypes(t, clerk, caseID)
	ev := lastOf(evs, "contact.corrected")
	if ev == nil || ev.Data["requested_by"] != w.Clerk.ID || ev.Data["confirmed_by"] != clerk2p.ID || ev.Data["confirmation"] != cases.ConfirmSecondStaff {
		t.Fatalf("trail: %+v", ev)
	}

	f.clock.Advance(time.Minute)
	// Now the insider's phone gets the code of a new link and enters as the party…
	st, tok = linkToken(t, f.testEnv, clerk, caseID, victim.ID)
	if st != 201 {
		t.Fatalf("link: %d", st)
	}
	if st, to := askCode(t, f.testEnv, tok); st != 202 || to != maskContact(insiderPhone) {
		t.Fatalf("code: %d to %s", st, to)
	}
	insider := f.anonymous()
	var me meResponse
	if st := insider.do("POST", "/api/v1/invitations/"+tok+"/verify", verifyRequest{f.notify.lastCode(t, insiderPhone)}, &me); st != 200 {
		t.Fatalf("enter: %d", st)
	}
	insider.csrf = me.CSRFToken
	// …but gets no signing certificate: the contact was corrected by staff, so a new identity check must pass.
	dev := newDevice(t, insider, caseID, victim.ID, 9)
	st, raw = dev.rawPrepare(docID, "sig-respondent-1")
	if st != 422 || !strings.Contains(string(raw), cases.IdentityRecheckRequired) {
		t.Fatalf("prepare after the correction: %d %s, want 422 %s", st, raw, cases.IdentityRecheckRequired)
	}
	// A check by the clerk who asked for the correction does not count.
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/identity-checks", cases.NewIdentityCheck{ParticipantID: victim.ID, Method: "court_verified", Result: "passed"}, nil); st != 201 {
		t.Fatalf("clerk's check: %d", st)
	}
	if st, raw := dev.rawPrepare(docID, "sig-respondent-1"); st != 422 {
		t.Fatalf("prepare after the requester's own check: %d %s, want 422", st, raw)
	}
	// A check by the mediator, who sees the person on camera, does.
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/identity-checks", cases.NewIdentityCheck{ParticipantID: victim.ID, Method: "id_card_on_camera", Result: "passed"}, nil); st != 201 {
		t.Fatalf("mediator's check: %d", st)
	}
	st, p := dev.prepare(docID, "sig-respondent-1")
	if st != 200 {
		t.Fatalf("prepare after a new check: %d", st)
	}
	// The certificate names that check and carries the hash of the person's identity-card number.
	blk, _ := pem.Decode([]byte(p.Certificate))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	idev := signing.IdentityOf(cert)
	if idev == nil || idev.Method != "id_card_on_camera" || idev.CheckedBy != w.Mediator.Name || idev.IDHash != signing.IdentifierHash("id_card", f.c.Number, victim.IDNumber) {
		t.Fatalf("certificate identity %+v", idev)
	}
	if strings.Contains(string(cert.RawSubject), victim.IDNumber) {
		t.Fatal("the certificate carries the identity-card number in clear")
	}
	if st := dev.finish(docID, p); st != 200 {
		t.Fatalf("finish: %d", st)
	}
}

// rawPrepare runs step 1 and returns the status and the raw answer.
func (d *device) rawPrepare(docID, field string) (int, []byte) {
	d.t.Helper()
	pub := base64.StdEncoding.EncodeToString(d.key.SPKI())
	proof, err := d.key.Sign(keyProofMessage(d.caseID, d.selfID, pub))
	if err != nil {
		d.t.Fatal(err)
	}
	return d.c.raw("POST", "/api/v1/documents/"+docID+"/prepare", prepareRequest{Field: field, PublicKey: pub,
		Proof: base64.StdEncoding.EncodeToString(proof), Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(d.seed, 600, 240))})
}

// identityChecked records, as the mediator would after seeing each person's identity card on camera, a passed
// identity check of every party and agent of c: signing needs one (cases.SigningIdentity).
func identityChecked(t testing.TB, s *cases.Store, c *cases.Case, by cases.Principal) {
	t.Helper()
	for _, p := range c.Parties {
		ids := []string{p.ID}
		for _, a := range p.Agents {
			ids = append(ids, a.ID)
		}
		for _, id := range ids {
			if _, err := s.RecordCaseIdentityCheck(context.Background(), by, c.ID, cases.NewIdentityCheck{ParticipantID: id, Method: "id_card_on_camera", Result: "passed"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// freshCase registers another referral of the fixture's court (whose contacts the matrix corrects, leaving the
// fixture's parties and their sessions alone).
func (f *fixture) freshCase() *cases.Case {
	f.t.Helper()
	c, err := f.store.CreateCase(context.Background(), f.w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// newCorrection has the clerk ask for a correction of a party's phone in a fresh case and returns its path.
func (f *fixture) newCorrection() string {
	f.t.Helper()
	ph := "13500000003"
	c := f.freshCase()
	res, err := f.store.RequestContactCorrection(context.Background(), f.w.Clerk, c.ID, c.Parties[1].ID, cases.ContactChange{Phone: &ph, Reason: "当事人换号"})
	if err != nil {
		f.t.Fatal(err)
	}
	return "/api/v1/cases/" + c.ID + "/contact-corrections/" + res.Correction.ID
}

// newInvitationID issues a link for the applicant and returns its ID.
func (f *fixture) newInvitationID() string {
	inv, _, err := f.store.CreateInvitation(context.Background(), f.w.Clerk, f.c.ID, f.c.Parties[0].ID, "", time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return inv.ID
}

// tamperedSignature makes the page's prepare answer cover other bytes than the revision it shows (one byte of
// the update changed, as a server that swapped the document would), signs, and checks that the page refuses
// before the device key signs: no finish request, and the mismatch explained.
func tamperedSignature(tb *tab, docID string) {
	tb.e.t.Helper()
	js[bool](tb, `(() => {
		window.__finishes = 0;
		window.__realFetch = window.fetch;
		window.fetch = async (url, opts) => {
			const u = String(url);
			if (u.includes('/finish')) window.__finishes++;
			const r = await window.__realFetch(url, opts);
			if (!u.includes('/prepare') || !r.ok) return r;
			const body = await r.json();
			const upd = Uint8Array.from(atob(body.revision.update), (ch) => ch.charCodeAt(0));
			upd[upd.length - 3] ^= 0x01;
			let s = '';
			for (const b of upd) s += String.fromCharCode(b);
			body.revision.update = btoa(s);
			return new Response(JSON.stringify(body), {status: r.status, headers: r.headers});
		};
		return true;
	})()`)
	tb.wait(`document.querySelector('#sign-box #sigpad') && document.querySelector('#pages[data-rendered=true]')`)
	js[bool](tb, `(document.querySelector('#sigpad').scrollIntoView({block: 'center'}), true)`)
	js[bool](tb, drawJS)
	tb.click(`#sign-agree`)
	tb.click(`#sign-submit`)
	tb.wait(`document.querySelector('#sign-box .alert.error')`)
	msg := js[string](tb, `document.querySelector('#sign-box .alert.error').innerText`)
	if !strings.Contains(msg, "不一致") {
		tb.fail("the mismatch is explained as %q", msg)
	}
	if n := js[int](tb, `window.__finishes`); n != 0 {
		tb.fail("the page sent %d finish requests for a mismatching prepared signature", n)
	}
	tb.phoneShots("sign-mismatch", 360, 640)
	js[bool](tb, `(window.fetch = window.__realFetch, true)`)
}

// signedFields returns which fields of a document are signed, from the store.
func signedFields(t *testing.T, e *e2e, docID string) map[string]bool {
	t.Helper()
	d, err := e.store.Document(context.Background(), docID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for f := range d.Signed() {
		out[f] = true
	}
	return out
}

// TestIdentityVerifierGatesTheCertificate plugs a verification service (on loopback) in through the
// IdentityVerifier interface: a party without a passed check gets no signing certificate; a failed verification
// keeps it so; a passed one yields a certificate that names the service.
func TestIdentityVerifierGatesTheCertificate(t *testing.T) {
	e := newTestEnv(t)
	var pass atomic.Bool
	var asked atomic.Value
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req cases.VerificationRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad", 400)
			return
		}
		asked.Store(req)
		json.NewEncoder(w).Encode(cases.VerificationResult{Passed: pass.Load(), Reference: "FV-20261116-0001"})
	}))
	defer svc.Close()
	e.app.verifier = &httpVerifier{url: svc.URL, name: "某实名核验服务", client: svc.Client()}
	c := casestest.InMediation(t, e.store, e.w)
	mediator := e.login(e.w.Mediator)
	if st := mediator.do("POST", "/api/v1/cases/"+c.ID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+c.ID+"/agreement", agreementRequest{Terms: []cases.Term{{Kind: cases.TermOther, Text: "双方和解。"}}}, &doc); st != 201 {
		t.Fatalf("draft: %d", st)
	}
	respondent := c.Parties[1]
	party := e.enter(c.ID, respondent.ID, "")
	dev := newDevice(t, party, c.ID, respondent.ID, 4)
	if st, raw := dev.rawPrepare(doc.Document.ID, "sig-respondent-1"); st != 422 || !strings.Contains(string(raw), cases.IdentityCheckRequired) {
		t.Fatalf("prepare without any check: %d %s", st, raw)
	}
	var chk cases.CaseIdentityCheck
	if st := party.do("POST", "/api/v1/identity/verify", verifyIdentityRequest{Evidence: base64.StdEncoding.EncodeToString([]byte("sdk-token"))}, &chk); st != 201 || chk.Result != "failed" {
		t.Fatalf("failed verification: %d %+v", st, chk)
	}
	if req, _ := asked.Load().(cases.VerificationRequest); req.IDNumber != respondent.IDNumber || req.Name != respondent.Name || string(req.Evidence) != "sdk-token" {
		t.Errorf("the service was asked %+v", req)
	}
	if st, raw := dev.rawPrepare(doc.Document.ID, "sig-respondent-1"); st != 422 || !strings.Contains(string(raw), cases.IdentityLatestCheckFailed) {
		t.Fatalf("prepare after a failed verification: %d %s", st, raw)
	}
	e.clock.Advance(time.Minute)
	pass.Store(true)
	if st := party.do("POST", "/api/v1/identity/verify", verifyIdentityRequest{}, &chk); st != 201 || chk.Result != "passed" {
		t.Fatalf("passed verification: %d %+v", st, chk)
	}
	st, p := dev.prepare(doc.Document.ID, "sig-respondent-1")
	if st != 200 {
		t.Fatalf("prepare after verification: %d", st)
	}
	blk, _ := pem.Decode([]byte(p.Certificate))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if ev := signing.IdentityOf(cert); ev == nil || ev.Method != cases.MethodVerifier || ev.CheckedBy != "某实名核验服务" {
		t.Fatalf("certificate evidence %+v", ev)
	}
	if st := dev.finish(doc.Document.ID, p); st != 200 {
		t.Fatalf("finish: %d", st)
	}
}

// TestBrowserContactCorrection drives the contact pages in Chromium: the clerk asks for a correction of the
// respondent's phone with a reason; the request waits; a judge of the court approves it (four eyes); the old
// phone is told and the respondent's page (logged in before) is logged out; the applicant, in its own session,
// changes its own phone with the code sent to the new one.
func TestBrowserContactCorrection(t *testing.T) {
	e := browserE2E(t, "TestBrowserContactCorrection")
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
		return e.base + "/join/" + string(tok)
	}
	partyB := e.newTab("respondent", 390, 844)
	partyB.enter(link(respondent.ID), respondent.Phone)

	clerk := e.newTab("clerk", 1280, 900)
	clerk.login(w.Clerk)
	clerk.open("/cases/" + c.ID)
	sel := `#contacts details:has(form[data-correct="` + respondent.ID + `"])`
	clerk.wait(`document.querySelector('` + sel + `')`)
	clerk.click(sel + ` summary`)
	clerk.fill(`form[data-correct="`+respondent.ID+`"] [name=phone]`, insiderPhone)
	clerk.click(`form[data-correct="` + respondent.ID + `"] button[type=submit]`)
	clerk.wait(`document.querySelector('form[data-correct="` + respondent.ID + `"] [name=reason][aria-invalid=true]')`)
	clerk.fill(`form[data-correct="`+respondent.ID+`"] [name=reason]`, "当事人来电称已更换手机号码")
	clerk.click(`form[data-correct="` + respondent.ID + `"] button[type=submit]`)
	clerk.wait(`document.querySelector('#correction-list li[data-status=pending]')`)
	if got, _ := e.store.Case(ctx, c.ID); got.Party(respondent.ID).Phone != respondent.Phone {
		t.Fatal("the phone changed before the correction was confirmed")
	}
	if js[bool](clerk, `!!document.querySelector('#correction-list button[data-approve]')`) {
		t.Error("the requester is offered to approve their own correction")
	}
	clerk.shot("contact-correction-pending-1280x900")

	judge := e.newTab("judge", 1280, 900)
	judge.login(w.Judge)
	judge.open("/cases/" + c.ID)
	judge.wait(`document.querySelector('#correction-list button[data-approve]')`)
	judge.click(`#correction-list button[data-approve]`)
	judge.wait(`document.querySelector('#correction-list li[data-status=applied]')`)
	if got, _ := e.store.Case(ctx, c.ID); got.Party(respondent.ID).Phone != insiderPhone {
		t.Fatalf("after the approval the phone is %s", got.Party(respondent.ID).Phone)
	}
	if body := e.notify.last(respondent.Phone); !strings.Contains(body, "第二名工作人员复核") || !strings.Contains(body, "异议") {
		t.Errorf("the old phone was told %q", body)
	}
	judge.open("/cases/" + c.ID)
	judge.wait(`[...document.querySelectorAll('.timeline .what')].some((x) => x.innerText.includes('联系方式已更正'))`)
	judge.shot("contact-corrected-trail-1280x900")
	// The respondent's session ended: its page no longer loads the case.
	partyB.open("/party")
	partyB.wait(`document.querySelector('main h1') && !document.querySelector('.page-head .chip') && document.body.innerText.includes('邀请链接')`)

	// The applicant changes its own phone from its session.
	partyA := e.newTab("applicant", 390, 844)
	partyA.enter(link(applicant.ID), applicant.Phone)
	partyA.click(`#own-contact summary`)
	partyA.fill(`#own-contact-form [name=phone]`, "13655556666")
	partyA.click(`#own-contact-form button[type=submit]`)
	partyA.wait(`document.querySelector('#own-contact-code')`)
	code := confirmCodeRE.FindStringSubmatch(e.notify.last("13655556666"))
	if code == nil {
		code = codeRE.FindStringSubmatch(e.notify.last("13655556666"))
	}
	if code == nil {
		t.Fatalf("no code to the new phone: %q", e.notify.last("13655556666"))
	}
	partyA.typeIn(`#own-contact-code [name=code]`, code[1])
	partyA.click(`#own-contact-code button[type=submit]`)
	partyA.wait(`document.querySelector('#own-contact .alert.ok')`)
	partyA.phoneShots("own-contact-changed", 390, 844)
	if body := e.notify.last(applicant.Phone); !strings.Contains(body, "如非您本人操作") {
		t.Errorf("the old phone was told %q", body)
	}
	e.checkNoJSErrors()
}

// TestCorrectionEvictsTheRoomSeat: when staff correct a party's contact, whoever holds the party's seat in a live
// room is put out, and the join token issued before cannot bring it back.
func TestCorrectionEvictsTheRoomSeat(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	victim := f.c.Parties[1]
	partyHTTP := f.enter(f.c.ID, victim.ID, "")
	seat, j := f.dialRoom(ctx, partyHTTP, f.session.ID)
	mark := seat.Mark()
	clerk := f.login(f.w.Clerk)
	judge := f.login(f.w.Judge)
	phone := insiderPhone
	var cr correctionResponse
	if st := clerk.do("POST", "/api/v1/cases/"+f.c.ID+"/parties/"+victim.ID+"/contact-corrections", cases.ContactChange{Phone: &phone, Reason: "换号"}, &cr); st != 202 {
		t.Fatalf("ask: %d", st)
	}
	if st := judge.do("POST", "/api/v1/cases/"+f.c.ID+"/contact-corrections/"+cr.Correction.ID+"/approve", nil, &cr); st != 200 {
		t.Fatalf("approve: %d", st)
	}
	if _, err := seat.WaitType(ctx, mark, signaling.TypeRemoved); err != nil {
		t.Fatalf("the party's seat was not ended: %v", err)
	}
	again, err := rtcclient.Dial(ctx, rtcclient.Config{URL: j.URL, Token: j.Token, CaseID: j.CaseID, SessionID: j.SessionID, Loopback: true})
	if err == nil {
		again.Close()
		t.Fatal("the join token issued before the correction still admits")
	}
	if st := partyHTTP.do("POST", "/api/v1/sessions/"+f.session.ID+"/join", nil, nil); st != 401 {
		t.Errorf("a new join token for the revoked session: %d, want 401", st)
	}
}

// TestAgentSeatCannotBeAddedByTheInsider closes the side door of the insider attack: an agent signs for its
// party, so a mediator cannot add one; a clerk can, the party is told at its own phone, and the agent's identity
// check by that clerk does not count for a signing certificate.
func TestAgentSeatCannotBeAddedByTheInsider(t *testing.T) {
	f := newFixture(t)
	caseID, party := f.c.ID, f.c.Parties[0]
	mediator, clerk := f.login(f.w.Mediator), f.login(f.w.Clerk)
	agent := cases.NewAgent{Name: "赵代理", Phone: insiderPhone}
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/parties/"+party.ID+"/agents", agent, nil); st != 403 {
		t.Fatalf("the mediator adds an agent: %d, want 403", st)
	}
	var cr caseResponse
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/parties/"+party.ID+"/agents", agent, &cr); st != 201 {
		t.Fatalf("the clerk adds an agent: %d", st)
	}
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/agreement", agreementRequest{Terms: []cases.Term{{Kind: cases.TermOther, Text: "双方和解。"}}}, &doc); st != 201 {
		t.Fatalf("draft: %d", st)
	}
	added := cr.Case.Party(party.ID).Agents[len(cr.Case.Party(party.ID).Agents)-1]
	if body := f.notify.last(party.Phone); !strings.Contains(body, "赵代理") || !strings.Contains(body, "异议") {
		t.Errorf("the party was told %q", body)
	}
	f.clock.Advance(time.Minute)
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/identity-checks", cases.NewIdentityCheck{ParticipantID: added.ID, Method: "court_verified", Result: "passed"}, nil); st != 201 {
		t.Fatalf("clerk's check: %d", st)
	}
	ag := f.enter(caseID, party.ID, added.ID)
	dev := newDevice(t, ag, caseID, added.ID, 6)
	if st, raw := dev.rawPrepare(doc.Document.ID, "sig-applicant-1"); st != 422 || !strings.Contains(string(raw), cases.IdentityRecheckRequired) {
		t.Fatalf("the agent prepares on the adder's own check: %d %s", st, raw)
	}
	f.clock.Advance(time.Minute)
	if st := mediator.do("POST", "/api/v1/cases/"+caseID+"/identity-checks", cases.NewIdentityCheck{ParticipantID: added.ID, Method: "id_card_on_camera", Result: "passed"}, nil); st != 201 {
		t.Fatalf("mediator's check: %d", st)
	}
	if st, _ := dev.prepare(doc.Document.ID, "sig-applicant-1"); st != 200 {
		t.Fatalf("the agent prepares after the mediator's check: %d", st)
	}
}

func TestIdentityVerifierSettings(t *testing.T) {
	for _, tc := range []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{}, true},
		{map[string]string{"PARLEY_IDENTITY_VERIFIER_URL": "https://verify.example.cn/v1/check"}, true},
		{map[string]string{"PARLEY_IDENTITY_VERIFIER_URL": "verify.example.cn"}, false},
		{map[string]string{"PARLEY_IDENTITY_VERIFIER_URL": "ftp://verify.example.cn"}, false},
		{map[string]string{"PARLEY_IDENTITY_VERIFIER_URL": "https://verify.example.cn", "PARLEY_IDENTITY_VERIFIER_NAME": " "}, false},
	} {
		_, _, err := parseConfig("serve", nil, func(k string) string { return tc.env[k] }, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("%v: err %v, want ok %v", tc.env, err, tc.ok)
		}
	}
}
