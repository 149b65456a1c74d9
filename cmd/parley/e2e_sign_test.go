package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// drawJS draws a signature-like stroke on the signature pad by dispatching pointer events, as a finger would.
const drawJS = `(() => {
	const c = document.querySelector('#sigpad');
	const r = c.getBoundingClientRect();
	const ev = (type, x, y) => c.dispatchEvent(new PointerEvent(type, {pointerId: 7, pointerType: 'touch', isPrimary: true,
		clientX: r.left + x, clientY: r.top + y, bubbles: true, cancelable: true, pressure: 0.6, button: 0, buttons: type === 'pointerup' ? 0 : 1}));
	ev('pointerdown', 24, r.height / 2);
	for (let i = 1; i <= 60; i++) ev('pointermove', 24 + i * (r.width - 60) / 60, r.height / 2 + Math.sin(i / 3.5) * r.height / 4 + Math.cos(i / 9) * 12);
	ev('pointerup', r.width - 36, r.height / 2);
	ev('pointerdown', 60, r.height * 0.75);
	for (let i = 1; i <= 20; i++) ev('pointermove', 60 + i * 8, r.height * 0.75 - i * 2);
	ev('pointerup', 220, r.height * 0.75 - 40);
	return true;
})()`

// fetchBytes fetches a URL in the tab (with its cookies) and returns the body.
func (tb *tab) fetchBytes(url string) []byte {
	tb.e.t.Helper()
	b64 := js[string](tb, fmt.Sprintf(`(async () => {
		const r = await fetch(%q, {credentials: 'same-origin'});
		if (!r.ok) return 'HTTP ' + r.status;
		const u8 = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
		return btoa(s);
	})()`, url))
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.fail("fetch %s: %s", url, b64)
	}
	return b
}

// signOnPage signs the document open in the tab: a drawn stroke, the confirmation box, the device signing.
func (tb *tab) signOnPage(shots string) {
	tb.e.t.Helper()
	// The pages are drawn in the browser from the very revision the page downloaded (pdf.js).
	tb.wait(`document.querySelector('#sign-box #sigpad') && document.querySelector('#pages[data-source=pdf][data-rendered=true] canvas.page-img[data-rendered=true]')`)
	if shots != "" {
		tb.phoneShots(shots+"-pages", 390, 844)
	}
	// Signing without a drawing is caught on the page.
	tb.click(`#sign-agree`)
	tb.click(`#sign-submit`)
	tb.wait(`document.querySelector('#sign-box .field-error')`)
	js[bool](tb, `(document.querySelector('#sigpad').scrollIntoView({block: 'center'}), true)`)
	js[bool](tb, drawJS)
	tb.wait(`document.querySelector('.sigpad-hint').hidden && !document.querySelector('#pad-undo').disabled`)
	if shots != "" {
		tb.phoneShots(shots+"-pad", 390, 844)
	}
	tb.click(`#sign-submit`)
	tb.wait(`document.querySelector('#sign-done')`)
	if shots != "" {
		tb.phoneShots(shots+"-done", 390, 844)
	}
}

// TestBrowserSigning signs an agreement in Chromium: the mediator ends mediation with an agreement and drafts it
// from a template on the case page; each party signs on a phone-sized screen with a stroke drawn on the pad
// (WebCrypto key in IndexedDB, prepare/finish); the mediator signs; the organisation's admin affixes the seal;
// the downloaded PDF verifies on the verify page, through POST /api/v1/verify and with pdfsig; the judge reads
// the verification report in the confirmation queue and confirms, the court signs, and the case shows it.
func TestBrowserSigning(t *testing.T) {
	began := time.Now()
	e := browserE2E(t, "TestBrowserSigning")
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
	c := casestest.InMediation(t, e.store, w)
	applicant, respondent := c.Parties[0], c.Parties[1]
	identityChecked(t, e.store, c, w.Mediator)

	// The company applicant has uploaded its seal picture with its letter of authority (issue 13 §8): its
	// agreement prints the picture beside its legal representative's signature.
	for _, m := range []struct {
		kind, name string
		body       []byte
	}{{cases.MatSealImage, "seal.png", sealPNG(t)}, {cases.MatAuthorityLetter, "letter.png", signingtest.SignaturePNG(3, 600, 800)}} {
		_, err := e.store.UploadMaterial(ctx, casestest.PartyPrincipal(c, 0), c.ID, cases.NewMaterial{Filename: m.name, Kind: m.kind, Visibility: cases.MatMediators, Length: int64(len(m.body))}, bytes.NewReader(m.body), cases.MaterialLimits{})
		must(err)
	}

	// The mediator drafts the agreement from the template while mediating.
	med := e.newTab("mediator", 1280, 900)
	med.login(w.Mediator)
	med.open("/cases/" + c.ID)
	med.click(`#agreement-editor summary`)
	med.wait(`document.querySelector('#agreement-form textarea[name="terms[0].text"]') && document.querySelector('#agreement-form textarea[name="terms[0].text"]').value`)
	// Each term has its kind; a declaration of validity or ownership warns that it bars judicial confirmation.
	med.fill(`#agreement-form [name="terms[2].kind"]`, "validity_ownership")
	med.wait(`!document.querySelector('#agreement-form [data-warn=validity_ownership]').hidden`)
	med.fill(`#agreement-form [name="terms[2].kind"]`, "payment")
	med.wait(`document.querySelector('#agreement-form [data-warn=validity_ownership]').hidden`)
	med.fill(`#agreement-form [name=facts]`, "申请人系 ZL202010000001.X 号发明专利的专利权人。被申请人在其网店销售了被诉路由器产品。")
	med.click(`[data-add=schedule]`)
	med.fill(`#agreement-form [name="schedule[0].amount_fen"]`, "60000")
	med.fill(`#agreement-form [name="schedule[0].due"]`, "2026-12-31")
	med.click(`[data-add=schedule]`)
	med.fill(`#agreement-form [name="schedule[1].amount_fen"]`, "60000")
	med.fill(`#agreement-form [name="schedule[1].due"]`, "xx")
	med.click(`#agreement-submit`)
	med.wait(`document.querySelector('#agreement-form [name="schedule[1].due"][aria-invalid="true"]')`)
	med.fill(`#agreement-form [name="schedule[1].due"]`, "2027-01-31")
	med.shot("agreement-editor-1280x900")
	med.click(`#agreement-submit`)
	med.wait(`document.querySelector('#document-list li[data-kind=agreement][data-status=signing]')`)
	docID := js[string](med, `document.querySelector('#document-list li[data-kind=agreement][data-status=signing]').dataset.document`)

	// The draft is not offered for signing before the mediator records the agreement: the applicant's page says
	// who must act first, and offers to read it, not to sign it.
	link := func(partyID string) string {
		_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, partyID, "", time.Hour)
		must(err)
		return e.base + "/join/" + string(tok)
	}
	partyA := e.newTab("applicant", 390, 844)
	partyA.enter(link(applicant.ID), applicant.Phone)
	partyA.wait(`document.querySelector('#todo-sign [data-blocked=agreement_not_reached]') && !document.querySelector('#todo-sign a.btn:not(.secondary)')`)
	partyA.pointShot("point01-sign-blocked-390x844", "#todo-sign")
	// The mediator records that an agreement was reached: now it can be signed.
	med.action("end_agreement", nil)
	med.wait(`document.querySelector('.page-head .chip.s-signing')`)
	med.wait(`document.querySelector('#request-signatures button[data-invite]')`)
	med.phoneShots("case-documents", 1280, 900)
	d, err := e.store.Document(ctx, docID)
	must(err)
	var content agreementRequest
	must(json.Unmarshal(d.Content, &content))
	if len(content.Schedule) != 2 || content.Schedule[0].AmountFen != 6000000 || len(content.Terms) < 3 || len(content.Issues) != 2 ||
		content.Terms[0].Kind != cases.TermCessation || content.Terms[2].Kind != cases.TermPayment {
		t.Errorf("the agreement's content: %+v", content)
	}

	// The applicant signs on a phone: the case page says there is something to sign.
	partyA.open("/party")
	partyA.wait(`document.querySelector('#todo-sign a.btn[data-sign]:not(.secondary)')`)
	partyA.phoneShots("party-to-sign", 390, 844)
	partyA.click(`#todo-sign a[data-sign]`)
	partyA.wait(`location.pathname === '/sign/` + docID + `'`)
	partyA.click(`#zoom-in`)
	partyA.wait(`document.querySelector('.zoom-level').innerText === '125%'`)
	partyA.click(`#zoom-fit`)
	partyA.wait(`document.querySelector('#pages[data-source=pdf][data-rendered=true] canvas.page-img[data-rendered=true]')`)
	// The signature page (the last), from its top: the seal picture's box above the representative's own box.
	js[bool](partyA, `(() => { const c = [...document.querySelectorAll('#pages canvas.page-img')].pop(); c.scrollIntoView({block: 'start'}); scrollBy(0, c.getBoundingClientRect().height * 0.12); return true; })()`)
	partyA.do(chromedp.Sleep(150 * time.Millisecond))
	partyA.viewShot("point08-seal-image-390x844")
	if pdf, _, err := e.store.DocumentPDF(ctx, docID, 0); err != nil || !bytes.Contains(pdf, []byte("/Subtype /Image")) {
		t.Errorf("the agreement carries no picture of the company's seal (%v)", err)
	}
	partyA.signOnPage("sign-applicant")
	e.pointAlias("point11-signature-pad-390x844", "sign-applicant-pad-390x844")

	// The respondent opens the agreement on the smaller phone. What it signs is what it sees: a prepared
	// signature that does not cover the revision on the screen is refused before the key signs anything.
	partyB := e.newTab("respondent", 360, 640)
	partyB.enter(link(respondent.ID), respondent.Phone)
	partyB.click(`#todo-sign a[data-sign]`)
	tamperedSignature(partyB, docID)
	if f := signedFields(t, e, docID); f["sig-respondent-1"] {
		t.Fatal("the respondent's field was signed from a prepared signature that did not match the document shown")
	}
	// The document changes while the respondent reads it (the mediator signs): the respondent's press of the
	// button does not sign the new version silently; the page shows it and the respondent signs again.
	partyB.open("/sign/" + docID)
	partyB.wait(`document.querySelector('#sign-box #sigpad') && document.querySelector('#shown-revision')`)
	shownBefore := js[string](partyB, `document.querySelector('#shown-revision').dataset.version`)
	med.open("/cases/" + c.ID)
	med.click(`#document-list a[data-sign="` + docID + `"]`)
	med.signOnPage("")
	partyB.wait(`document.querySelector('#pages[data-rendered=true]')`)
	js[bool](partyB, `(document.querySelector('#sigpad').scrollIntoView({block: 'center'}), true)`)
	js[bool](partyB, drawJS)
	partyB.click(`#sign-agree`)
	partyB.click(`#sign-submit`)
	partyB.wait(`document.querySelector('#sign-changed') && document.querySelector('#shown-revision').dataset.version !== ` + strconv.Quote(shownBefore))
	if f := signedFields(t, e, docID); f["sig-respondent-1"] {
		t.Fatal("the respondent's signature was applied to a version it had not been shown")
	}
	partyB.phoneShots("sign-changed", 360, 640)
	partyB.signOnPage("")
	cs, err := e.store.Case(ctx, c.ID)
	must(err)
	if cs.State != cases.StateSettled {
		t.Errorf("after both parties signed the case is %s, want settled", cs.State)
	}

	// The organisation's admin seals.
	org := e.newTab("orgadmin", 1280, 900)
	org.login(w.OrgAdmin)
	org.open("/cases/" + c.ID)
	org.click(`#seal-` + docID)
	org.confirmSheet()
	org.wait(`document.querySelector('#document-list li[data-document="` + docID + `"][data-status=complete]') && document.querySelector('#document-list a[data-completion]')`)
	org.shot("case-sealed-1280x900")

	// The applicant downloads the signed agreement; it verifies on the verify page, over the API and with pdfsig.
	partyA.open("/sign/" + docID)
	partyA.wait(`document.querySelector('#doc-status[data-status=complete]') && document.querySelector('#download-pdf')`)
	pdf := partyA.fetchBytes(js[string](partyA, `document.querySelector('#download-pdf').href`))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the download is not a PDF: %.40q", pdf)
	}
	vr := verifyOverHTTP(t, e.base, pdf)
	if !vr.Report.Valid || !vr.Known || len(vr.Report.Signatures) != 4 {
		t.Errorf("POST /api/v1/verify: valid %v, known %v, %d signatures; want a valid, known file with 4", vr.Report.Valid, vr.Known, len(vr.Report.Signatures))
	}
	checkWithPoppler(t, pdf, 4)
	path := filepath.Join(t.TempDir(), "agreement.pdf")
	must(os.WriteFile(path, pdf, 0o644))
	visitor := e.newTab("visitor", 390, 844)
	visitor.open("/verify?doc=" + docID)
	visitor.wait(`document.querySelector('#version-list li')`)
	if err := chromedp.Do(visitor.ctx, chromedp.SetUploadFiles(chromedp.CSS(`#verify-file`), []string{path})); err != nil {
		t.Fatalf("upload: %v", err)
	}
	visitor.wait(`document.querySelector('#verify-report[data-valid=true][data-signatures="4"]') && document.querySelector('#version-match.ok')`)
	if n := js[int](visitor, `document.querySelectorAll('#verify-report .sig-report[data-valid=true]').length`); n != 4 {
		t.Errorf("the verify page shows %d valid signatures, want 4", n)
	}
	// The PAdES level of the document and of each signature is shown (issue 9).
	if lv := js[string](visitor, `document.querySelector('#verify-level').dataset.level + '|' + Array.from(document.querySelectorAll('#verify-report .sig-report .level'), (e) => e.dataset.level).join(',')`); !strings.HasPrefix(lv, "B-") || strings.Count(lv, "B-") != 5 {
		t.Errorf("the verify page shows levels %q, want the document's and four signatures' (B-T or higher)", lv)
	}
	visitor.phoneShots("verify-report", 390, 844)

	// Both parties apply for judicial confirmation; the judge reads the verification report and confirms.
	partyA.open("/party")
	partyA.click(`#apply-confirmation`)
	partyA.confirmSheet()
	partyA.wait(`document.querySelector('#todo-confirmation .alert.ok')`)
	_, err = e.store.Act(ctx, casestest.PartyPrincipal(c, 1), c.ID, cases.ActApplyConfirmation, cases.Params{})
	must(err)
	judge := e.newTab("judge", 1280, 900)
	judge.login(w.Judge)
	item := fmt.Sprintf(`#confirmation-queue li[data-case=%q]`, c.ID)
	judge.wait(`document.querySelector('` + item + ` .agreement-box button[data-verify]')`)
	judge.click(item + ` details.read-agreement summary`)
	judge.wait(`document.querySelector('` + item + ` details.read-agreement .page-img') && document.querySelector('` + item + ` details.read-agreement .page-img').naturalWidth > 0`)
	judge.click(item + ` .agreement-box button[data-verify]`)
	judge.wait(`document.querySelector('` + item + ` #verify-report[data-valid=true][data-signatures="4"]')`)
	judge.shot("judge-verify-1280x900")
	judge.phoneShots("judge-verify", 1280, 900)
	judge.click(item + ` #action-confirm summary`)
	judge.fill(item+` #action-confirm [name=note]`, "（2026）京73民特2号")
	judge.click(item + ` #action-confirm button[type=submit]`)
	judge.confirmSheet()
	judge.wait(`!document.querySelector('#confirmation-queue')`)
	cs, err = e.store.Case(ctx, c.ID)
	must(err)
	if cs.State != cases.StateConfirmed {
		t.Fatalf("after the judge confirmed the case is %s", cs.State)
	}
	confirmed := partyA.fetchBytes("/api/v1/documents/" + docID + "/pdf")
	vr = verifyOverHTTP(t, e.base, confirmed)
	if !vr.Report.Valid || len(vr.Report.Signatures) != 5 || vr.Report.Signatures[4].Role != "court" {
		t.Errorf("the confirmed agreement: valid %v with %d signatures; want 5, the last the court's", vr.Report.Valid, len(vr.Report.Signatures))
	}
	checkWithPoppler(t, confirmed, 5)
	// The case shows it: confirmed, and the agreement with the court's signature.
	partyA.open("/party")
	partyA.wait(`document.querySelector('.page-head .chip.s-confirmed') && document.querySelector('#document-list li[data-document="` + docID + `"] .sig-chip.court')`)
	partyA.phoneShots("party-confirmed-signed", 390, 844)
	med.open("/cases/" + c.ID)
	med.wait(`document.querySelector('.page-head .chip.s-confirmed') && document.querySelector('#document-list .sig-chip.court')`)

	e.checkNoJSErrors()
	t.Logf("signing browser test: %d screenshots in %s; %s", e.shotCount, e.shots, time.Since(began).Round(time.Millisecond))
}

// scanFile writes a PDF standing in for the scan of an agreement signed on paper and returns its path.
func (e *e2e) scanFile(t *testing.T) string {
	t.Helper()
	doc, err := (&signing.Generator{Font: e.app.docs.Font}).Completion(&signing.Completion{Meta: signing.Meta{DocumentID: cases.NewID(), CaseNumber: "（2026）纸质第1号"},
		DocumentTitle: "纸质调解协议（扫描件）", SignedDocumentID: "paper", DocumentSHA256: strings.Repeat("ab", 32), DocumentPages: 1,
		Signers: []signing.CompletionSigner{{Name: "张三", Role: signing.RoleApplicant}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(path, doc.PDF, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// uploadOffline uploads the scan of an agreement signed on paper from the case page (a first try without the file
// is refused next to the control) and returns the confirmation sheet's ID.
func (tb *tab) uploadOffline(scan string) string {
	tb.e.t.Helper()
	tb.click(`#offline-agreement summary`)
	tb.wait(`document.querySelector('#offline-form [name="terms[0].kind"]')`)
	tb.fill(`#offline-form [name="terms[0].kind"]`, "payment")
	tb.fill(`#offline-form [name="terms[0].text"]`, "被申请人于2026年12月31日前赔偿申请人人民币八万元。")
	tb.click(`#offline-submit`)
	tb.wait(`document.querySelector('#offline-form [name=pdf][aria-invalid="true"]')`)
	if err := chromedp.Do(tb.ctx, chromedp.SetUploadFiles(chromedp.CSS(`#offline-form [name=pdf]`), []string{scan})); err != nil {
		tb.fail("upload: %v", err)
	}
	tb.fill(`#offline-form [name=signed_on]`, "2026-11-15")
	tb.shot("offline-upload-1280x900")
	tb.click(`#offline-submit`)
	tb.wait(`document.querySelector('#document-list li[data-kind=confirmation_sheet][data-status=signing] a[data-scan]')`)
	return js[string](tb, `document.querySelector('#document-list li[data-kind=confirmation_sheet]').dataset.document`)
}

// signAs signs a field through the document service with a device key of p's (for signers without a tab).
func (e *e2e) signAs(t *testing.T, p cases.Principal, caseID, docID, field string) {
	t.Helper()
	ctx := context.Background()
	dev, err := signingtest.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(dev.SPKI())
	proof, _ := dev.Sign(keyProofMessage(caseID, p.ID, pub))
	prep, err := e.app.docs.Prepare(ctx, p, docID, prepareRequest{Field: field, PublicKey: pub, Proof: base64.StdEncoding.EncodeToString(proof),
		Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(9, 600, 240))})
	if err != nil {
		t.Fatalf("prepare %s: %v", field, err)
	}
	tbs, _ := base64.StdEncoding.DecodeString(prep.ToBeSigned)
	sig, _ := dev.Sign(tbs)
	if _, err := e.app.docs.Finish(ctx, p, docID, finishRequest{Field: field, Signature: base64.StdEncoding.EncodeToString(sig)}); err != nil {
		t.Fatalf("finish %s: %v", field, err)
	}
}

// verifyOverHTTP posts a PDF to the server's verification endpoint.
func verifyOverHTTP(t *testing.T, base string, pdf []byte) verifyResponse {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/verify", "application/pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out verifyResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Report == nil {
		t.Fatalf("POST /api/v1/verify: %d %v", resp.StatusCode, err)
	}
	return out
}

// sealPNG draws a red round seal, as a company would scan its own.
func sealPNG(t *testing.T) []byte {
	t.Helper()
	const n = 300
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			if d := math.Hypot(float64(x-n/2), float64(y-n/2)); (d > 130 && d < 144) || d < 36 {
				img.SetNRGBA(x, y, color.NRGBA{200, 20, 30, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
