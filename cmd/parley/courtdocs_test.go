package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
)

// settledCase registers a case of source src, refers it to the world's mediator through its organisation, ends
// mediation with an agreement of terms and has every signer sign it (casestest.SignedAgreement): a settled case,
// ready for the court's decision.
func settledCase(t *testing.T, store *cases.Store, w *casestest.World, src cases.Source, terms []cases.Term) *cases.Case {
	t.Helper()
	ctx := context.Background()
	n := casestest.NewCase(src)
	if src.Entrusted() {
		n.CourtCaseNumber = "（2026）京73民初123号"
	}
	c, err := store.CreateCase(ctx, w.Clerk, n)
	if err != nil {
		t.Fatal(err)
	}
	c = casestest.WaiveChoice(t, store, c)
	yes := true
	steps := []struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{
		{w.Clerk, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}}},
		{w.Mediator, cases.ActAccept, cases.Params{}},
	}
	for _, p := range c.Parties {
		steps = append(steps, struct {
			p  cases.Principal
			a  cases.Action
			in cases.Params
		}{w.Clerk, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: p.ID, Note: "书面同意"}})
	}
	steps = append(steps, struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{w.Mediator, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement}})
	for _, st := range steps {
		res, err := store.Act(ctx, st.p, c.ID, st.a, st.in)
		if err != nil {
			t.Fatalf("%s: %v", st.a, err)
		}
		c = res.Case
	}
	casestest.SignedAgreement(t, store, c, true, terms)
	if c, err = store.Case(ctx, c.ID); err != nil || c.State != cases.StateSettled {
		t.Fatalf("after the agreement: %v %+v, want settled", err, c)
	}
	return c
}

// pdfWords is the text of a PDF with the white space taken out (pdftotext), or "" without pdftotext.
func pdfWords(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext not installed: text not checked")
		return ""
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

// pdfsigValid checks with poppler's pdfsig, when installed, that every signature of pdf is valid.
func pdfsigValid(t *testing.T, pdf []byte) {
	t.Helper()
	if _, err := exec.LookPath("pdfsig"); err != nil {
		t.Log("pdfsig not installed: not checked with poppler")
		return
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("pdfsig", path).CombinedOutput()
	if strings.Count(string(out), "Signature is Valid.") < 1 || strings.Contains(string(out), "Signature is Invalid") {
		t.Errorf("pdfsig does not find the court's signature valid:\n%s", out)
	}
}

// download GETs a court document, checking it is a PDF attachment whose X-Content-SHA256 is its own hash.
func download(t *testing.T, c *client, path string) (pdf []byte, docID string) {
	t.Helper()
	resp, body := c.get(path)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, truncate(body))
	}
	if resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s: %s, %s, nosniff %q: want a PDF attachment with nosniff", path, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), resp.Header.Get("X-Content-Type-Options"))
	}
	if got := sha256Hex(body); resp.Header.Get("X-Content-SHA256") != got {
		t.Errorf("GET %s: X-Content-SHA256 %s, the body's %s", path, resp.Header.Get("X-Content-SHA256"), got)
	}
	return body, resp.Header.Get("X-Document-ID")
}

// TestMediationStatement (issue 12 §3): in a case the court entrusted after filing, the judge's issue of the
// mediation statement (民事调解书) makes it once from the case and the agreement in force, signed by the court;
// it is served itself on each party that accepts electronic service (the record and its certificate name the
// stored PDF's SHA-256; the personal link opens the PDF); every download returns the same bytes; outsiders and
// non-委托 cases get none. A ruling on judicial confirmation is likewise made once.
func TestMediationStatement(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	terms := []cases.Term{
		{Kind: cases.TermPayment, Text: "被告李四于2026年12月31日前向原告北京某某科技有限公司支付赔偿款人民币十万元。"},
		{Kind: cases.TermCessation, Text: "被告李四立即停止销售侵害原告第ZL201910000000.0号发明专利权的产品。"},
	}
	c := settledCase(t, e.store, e.w, cases.SourceEntrustedOrdinary, terms)
	f := &fixture{testEnv: e, c: c}
	party, agent, judge, clerk := f.clientFor("party"), f.clientFor("agent"), f.clientFor("judge"), f.clientFor("clerk")
	statement := "/api/v1/cases/" + c.ID + "/mediation-statement"

	// Before the judge issues it there is none, with words for it.
	if st, raw := party.raw("GET", statement, nil); st != 404 || !strings.Contains(string(raw), "has not issued a mediation statement") {
		t.Errorf("a statement before its issue: %d %s, want 404", st, truncate(raw))
	}
	// The applicant takes service by SMS, the respondent's agent on the party's page.
	if st, raw := party.raw("POST", "/api/v1/cases/"+c.ID+"/service-address", cases.ServiceAddressInput{Channel: "sms", Address: "13900000001", Consent: true}); st != 201 {
		t.Fatalf("confirm the address: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/cases/"+c.ID+"/service-address", cases.ServiceAddressInput{Channel: "in_app", Consent: true}); st != 201 {
		t.Fatalf("confirm in-app: %d %s", st, raw)
	}
	if st, raw := judge.raw("POST", "/api/v1/cases/"+c.ID+"/actions/issue_statement", cases.Params{Note: "调解书已送达"}); st != 200 {
		t.Fatalf("issue the statement: %d %s", st, raw)
	}

	// Made once: the party's download, the clerk's and the judge's are the same bytes.
	pdf, docID := download(t, party, statement)
	if again, id2 := download(t, clerk, statement); sha256Hex(again) != sha256Hex(pdf) || id2 != docID || docID == "" {
		t.Errorf("the second download: %s (%s), want %s (%s)", sha256Hex(again), id2, sha256Hex(pdf), docID)
	}
	sum := sha256Hex(pdf)
	rep, err := signing.Verify(pdf, e.app.docs.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RoleCourt {
		t.Fatalf("statement verification: %v %+v", err, rep)
	}
	pdfsigValid(t, pdf)
	if dir := os.Getenv("PARLEY_KEEP_PDF"); dir != "" {
		os.WriteFile(filepath.Join(dir, "mediation-statement.pdf"), pdf, 0o644)
	}
	if txt := pdfWords(t, pdf); txt != "" {
		for _, want := range []string{c.CourtName, "民事调解书", "（2026）京73民初123号", "原告：北京某某科技有限公司", "被告：李四", "委托诉讼代理人：王律师",
			"经本院委托", e.w.Org.Name, "当事人自愿达成如下协议", "一、被告李四于2026年12月31日前", "二、被告李四立即停止销售",
			"上述协议，不违反法律规定，本院予以确认。", "本调解书经双方当事人签收后，即具有法律效力。", "审判员", e.w.Judge.Name, "二〇二六年十一月十六日"} {
			if !strings.Contains(txt, strings.Join(strings.Fields(want), "")) {
				t.Errorf("the statement lacks %q:\n%s", want, txt)
			}
		}
	}
	// By its ID (what the service record names): the same bytes, for the case's people only.
	if byID, _ := download(t, agent, "/api/v1/court-documents/"+docID); sha256Hex(byID) != sum {
		t.Errorf("by its ID: %s, want %s", sha256Hex(byID), sum)
	}
	for name, who := range map[string]*client{"another court's clerk": f.clientFor("other_clerk"), "another mediator": f.clientFor("other_mediator"), "anonymous": e.anonymous()} {
		for _, path := range []string{statement, "/api/v1/court-documents/" + docID, "/api/v1/cases/" + c.ID + "/ruling"} {
			if st, _ := who.raw("GET", path, nil); st != 404 && st != 401 {
				t.Errorf("%s GET %s: %d, want 404", name, path, st)
			}
		}
	}
	for _, bad := range []string{"nope", "00000000-0000-4000-8000-000000000000"} {
		if st, raw := party.raw("GET", "/api/v1/court-documents/"+bad, nil); st != 404 || !strings.Contains(string(raw), "court document not found") {
			t.Errorf("court document %q: %d %s, want 404", bad, st, truncate(raw))
		}
	}
	// Not a ruling: the case was not for judicial confirmation.
	if st, _ := party.raw("GET", "/api/v1/cases/"+c.ID+"/ruling", nil); st != 404 {
		t.Errorf("a ruling in an entrusted case: %d, want 404", st)
	}

	// Served itself: each record names the document and the PDF's SHA-256.
	var served []cases.ServiceRecord
	for _, r := range serviceRecords(t, clerk, c.ID) {
		if r.Kind == "mediation_statement" {
			served = append(served, r)
		}
	}
	if len(served) != 2 {
		t.Fatalf("%d services of the statement, want 2", len(served))
	}
	for _, r := range served {
		if r.DocumentID != docID || r.DocumentSHA256 != sum || r.Title != "民事调解书" {
			t.Errorf("service %s on %s names %q %s %s, want 民事调解书 %s %s", r.ID, r.PartyID, r.Title, r.DocumentID, r.DocumentSHA256, docID, sum)
		}
	}
	// The SMS carries the personal link to the PDF; opening it gives the same bytes and marks it opened.
	msg := e.notify.lastTo(t, "13900000001")
	m := servedLink.FindStringSubmatch(msg.Body)
	if m == nil || !strings.Contains(msg.Body, m[1]+"/document") {
		t.Fatalf("no personal link to the document in %q", msg.Body)
	}
	if linked, _ := download(t, e.anonymous(), "/api/v1/served/"+m[1]+"/document"); sha256Hex(linked) != sum {
		t.Errorf("through the personal link: %s, want %s", sha256Hex(linked), sum)
	}
	if st, _ := e.anonymous().raw("GET", "/api/v1/served/sv_forged/document", nil); st != 404 {
		t.Errorf("a forged link: %d, want 404", st)
	}
	var mine cases.ServiceRecord
	for _, r := range serviceRecords(t, party, c.ID) {
		if r.Kind == "mediation_statement" {
			mine = r
		}
	}
	if mine.Status != cases.ServiceOpened || mine.PartyID != c.Parties[0].ID {
		t.Errorf("the applicant's service after the link: %+v, want opened", mine)
	}
	// Its certificate lists the statement's SHA-256 (in two lines of 32); the other side cannot read it.
	cr, cert := party.get("/api/v1/service-records/" + mine.ID + "/certificate")
	if cr.StatusCode != 200 {
		t.Fatalf("certificate: %d", cr.StatusCode)
	}
	if dir := os.Getenv("PARLEY_KEEP_PDF"); dir != "" {
		os.WriteFile(filepath.Join(dir, "statement-service-certificate.pdf"), cert, 0o644)
	}
	if txt := pdfWords(t, cert); txt != "" && (!strings.Contains(txt, sum[:32]) || !strings.Contains(txt, sum[32:]) || !strings.Contains(txt, "民事调解书")) {
		t.Errorf("the certificate does not list the statement's SHA-256 %s:\n%s", sum, txt)
	}
	if r, _ := agent.get("/api/v1/service-records/" + mine.ID + "/certificate"); r.StatusCode != 404 {
		t.Errorf("the other side read the applicant's certificate: %d, want 404", r.StatusCode)
	}

	// The trail holds its issue once, with the hash; the stored bytes match it; the chain holds.
	evs, _ := e.store.Events(ctx, c.ID)
	issued := 0
	for _, ev := range evs {
		if ev.Type == "case.statement_issued" {
			issued++
			if ev.Data["sha256"] != sum || ev.Data["document_id"] != docID {
				t.Errorf("the trail's statement: %v", ev.Data)
			}
		}
	}
	if issued != 1 {
		t.Errorf("%d statements issued in the trail, want 1", issued)
	}
	if checks, err := e.store.CheckCourtDocuments(ctx, c.ID); err != nil || len(checks) != 1 || !checks[0].Matches {
		t.Errorf("court documents against the trail: %+v %v", checks, err)
	}
	if rep, err := e.store.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Errorf("chain: %+v %v", rep, err)
	}
	// The verification page knows the file.
	var vr verifyResponse
	if st := e.anonymous().do("POST", "/api/v1/verify", rawRequest{"application/pdf", pdf}, &vr); st != 200 || !vr.Known || vr.Document != docID || !vr.Report.Valid {
		t.Errorf("verify: %d %+v", st, vr)
	}

	// The court's bundle carries the stored statement.
	checkBundle(t, clerk, c.ID, "documents/mediation-statement.pdf", cases.CourtStatement, sum)

	// A case the court delegated before filing (委派) gets no statement, with words for why.
	d := settledCase(t, e.store, e.w, cases.SourceDelegated, nil)
	df := &fixture{testEnv: e, c: d}
	if st, raw := judge.raw("POST", "/api/v1/cases/"+d.ID+"/actions/issue_statement", cases.Params{}); st != 422 || !strings.Contains(string(raw), "entrusted after filing") {
		t.Errorf("a statement in a 委派 case: %d %s, want 422", st, truncate(raw))
	}
	dparty := df.clientFor("party")
	if st, raw := dparty.raw("GET", "/api/v1/cases/"+d.ID+"/mediation-statement", nil); st != 404 || !strings.Contains(string(raw), "entrusted after filing") {
		t.Errorf("GET the statement of a 委派 case: %d %s, want 404", st, truncate(raw))
	}

	// The ruling on judicial confirmation: the parties apply, the judge rejects with the reason; made once.
	for _, p := range []*client{dparty, df.clientFor("agent")} {
		if st, raw := p.raw("POST", "/api/v1/cases/"+d.ID+"/actions/apply_confirmation", nil); st != 200 {
			t.Fatalf("apply for confirmation: %d %s", st, raw)
		}
	}
	const reason = "调解协议约定的赔偿数额明显超出侵权损失，可能损害案外人合法权益。"
	if st, raw := judge.raw("POST", "/api/v1/cases/"+d.ID+"/actions/reject_confirmation", cases.Params{Reason: reason}); st != 200 {
		t.Fatalf("reject: %d %s", st, raw)
	}
	ruling, rulingID := download(t, dparty, "/api/v1/cases/"+d.ID+"/ruling")
	if dir := os.Getenv("PARLEY_KEEP_PDF"); dir != "" {
		os.WriteFile(filepath.Join(dir, "ruling-rejected.pdf"), ruling, 0o644)
	}
	if again, _ := download(t, clerk, "/api/v1/cases/"+d.ID+"/ruling"); sha256Hex(again) != sha256Hex(ruling) {
		t.Errorf("the ruling twice: %s then %s, want the same", sha256Hex(ruling), sha256Hex(again))
	}
	if rep, err := signing.Verify(ruling, e.app.docs.Keys.Roots(), time.Now()); err != nil || !rep.Valid || rep.Signatures[0].Role != signing.RoleCourt {
		t.Errorf("ruling verification: %v %+v", err, rep)
	}
	if txt := pdfWords(t, ruling); txt != "" && (!strings.Contains(txt, "驳回") || !strings.Contains(txt, "赔偿数额明显超出侵权损失")) {
		t.Errorf("the ruling lacks the rejection and its reason:\n%s", txt)
	}
	n := 0
	for _, r := range serviceRecords(t, clerk, d.ID) {
		if r.Kind == "confirmation_decision" {
			n++
			if r.DocumentID != rulingID || r.DocumentSHA256 != sha256Hex(ruling) {
				t.Errorf("the decision's service names %s %s, want the ruling %s %s", r.DocumentID, r.DocumentSHA256, rulingID, sha256Hex(ruling))
			}
		}
	}
	if n != 2 {
		t.Errorf("%d services of the decision, want 2 (one withheld: no address confirmed)", n)
	}
	checkBundle(t, clerk, d.ID, "documents/ruling.pdf", cases.CourtRuling, sha256Hex(ruling))
	if st, raw := judge.raw("GET", "/api/v1/cases/"+d.ID+"/mediation-statement", nil); st != 404 {
		t.Errorf("a statement in a confirmation case: %d %s, want 404", st, truncate(raw))
	}

	// `parley audit verify` checks the stored statement against its trail event, and finds a changed byte.
	env := envFunc(map[string]string{"PARLEY_DATABASE_URL": e.store.Pool().Config().ConnString(), "PARLEY_LOG_LEVEL": "warn", "PARLEY_DATA_DIR": t.TempDir()})
	var out strings.Builder
	if err := run(ctx, []string{"parley", "audit", "verify", c.ID}, env, &out, io.Discard); err != nil || !strings.Contains(out.String(), "1 court documents match their hash in the trail") {
		t.Errorf("audit verify: %v\n%s", err, out.String())
	}
	if _, err := e.store.Pool().Exec(ctx, `ALTER TABLE court_documents DISABLE TRIGGER court_documents_no_change;
		UPDATE court_documents SET pdf = pdf || '\x0a'::bytea WHERE id = '`+docID+`';
		ALTER TABLE court_documents ENABLE TRIGGER court_documents_no_change`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"parley", "audit", "verify", c.ID}, env, &out, io.Discard); err == nil || !strings.Contains(out.String(), "does NOT match its hash in the trail") {
		t.Errorf("audit verify of a changed statement: %v\n%s", err, out.String())
	}
	if _, err := e.store.Pool().Exec(ctx, `UPDATE court_documents SET title = 'x' WHERE id = $1`, docID); err == nil {
		t.Error("a stored court document was changed: want append-only")
	}
}

// checkBundle takes the case's bundle and checks that its manifest lists the court document at path with sum,
// and that the file there has that SHA-256.
func checkBundle(t *testing.T, c *client, caseID, path, kind, sum string) {
	t.Helper()
	resp, body := c.get("/api/v1/cases/" + caseID + "/bundle")
	if resp.StatusCode != 200 {
		t.Fatalf("bundle: %d %s", resp.StatusCode, truncate(body))
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Files []struct{ Path, Kind, SHA256 string } `json:"files"`
	}
	found := false
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		switch zf.Name {
		case "manifest.json":
			if err := json.Unmarshal(data, &man); err != nil {
				t.Fatal(err)
			}
		case path:
			found = sha256Hex(data) == sum
		}
	}
	listed := false
	for _, f := range man.Files {
		listed = listed || f.Path == path && f.Kind == kind && f.SHA256 == sum
	}
	if !found || !listed {
		t.Errorf("the bundle of %s: %s with SHA-256 %s in the zip %v, in the manifest %v (%+v)", caseID, path, sum, found, listed, man.Files)
	}
}

// courtDocMatrix adds the court-document endpoints to TestAuthorisationMatrix: the fixture's case is in
// mediation, so nobody gets a statement; unknown documents and links are not found.
func courtDocMatrix() []matrixCall {
	return []matrixCall{
		{route: "GET /api/v1/cases/{id}/mediation-statement", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/mediation-statement" }, allow: []string{}},
		{route: "GET /api/v1/court-documents/{id}", path: fixed("/api/v1/court-documents/00000000-0000-4000-8000-000000000000"), allow: []string{}},
		{route: "GET /api/v1/served/{token}/document", path: fixed("/api/v1/served/sv_unknown/document"), allow: []string{}},
	}
}

// TestBrowserCourtDocuments (issue 12 §3): once the judge issued the mediation statement of an entrusted case, the
// applicant's page on a phone (360×640) links the statement and, in its served documents, the PDF served on it; the
// clerk's case page links the statement too; each link opens the stored PDF.
func TestBrowserCourtDocuments(t *testing.T) {
	e := browserE2E(t, "TestBrowserCourtDocuments")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	c := settledCase(t, e.store, w, cases.SourceEntrustedOrdinary, nil)
	if _, err := e.store.ConfirmServiceAddress(ctx, casestest.PartyPrincipal(c, 0), c.ID, cases.ServiceAddressInput{Channel: cases.ChannelInApp, Consent: true}); err != nil {
		t.Fatal(err)
	}
	// The applicant enters through its invitation while the case is open.
	_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, c.Parties[0].ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	app := e.newTab("applicant", 360, 640)
	app.enter(e.base+"/join/"+string(tok), c.Parties[0].Phone)
	res, err := e.store.Act(ctx, w.Judge, c.ID, cases.ActIssueStatement, cases.Params{})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := e.app.docs.IssueCourtDocument(ctx, res.Case, cases.CourtStatement) // served by docs.Issued
	if err != nil {
		t.Fatal(err)
	}
	// opens fetches a link from the page, as the page's user, and answers its status, type and SHA-256.
	const opens = `(async (sel) => {
	  const a = document.querySelector(sel);
	  if (!a) return 'no link ' + sel;
	  const r = await fetch(a.getAttribute('href'));
	  const sum = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await r.arrayBuffer()))).map((b) => b.toString(16).padStart(2, '0')).join('');
	  return r.status + ' ' + r.headers.get('content-type') + ' ' + sum;
	})`
	want := "200 application/pdf " + d.SHA256
	app.open("/party")
	app.wait(`document.querySelector('#statement-link') && document.querySelector('#service-records a[href^="/api/v1/court-documents/"]')`)
	if got := app.text(`#statement-link`); got != "法院民事调解书（PDF）" {
		t.Errorf("the statement's link reads %q", got)
	}
	for _, sel := range []string{`#statement-link`, `#service-records a[href="/api/v1/court-documents/` + d.ID + `"]`} {
		if got := js[string](app, opens+`(`+"`"+sel+"`"+`)`); got != want {
			t.Errorf("the party's %s opens %q, want %q", sel, got, want)
		}
	}
	app.pointShot("court-documents-party-360x640", `#statement-link`)
	for _, problem := range js[[]string](app, phoneCheck) {
		t.Errorf("the party's page at 360×640: %s", problem)
	}
	app.checkTranslated("the party's page with a mediation statement")
	clerk := e.newTab("clerk", 1280, 900)
	clerk.login(w.Clerk)
	clerk.open("/cases/" + c.ID)
	clerk.wait(`document.querySelector('#statement-link')`)
	if got := js[string](clerk, opens+"(`#statement-link`)"); got != want {
		t.Errorf("the clerk's statement link opens %q, want %q", got, want)
	}
	e.checkNoJSErrors()
	// Entering a settled case, the invitation does not ask the consent question (it is past): nothing refused.
	e.checkNoRefusals()
}
