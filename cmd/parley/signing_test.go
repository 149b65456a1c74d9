package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// device plays a signer's phone against the HTTP API: it holds a P-256 key that never leaves it, draws a
// signature, and signs what the server prepares, the way the browser does with WebCrypto.
type device struct {
	t      *testing.T
	c      *client
	key    *signingtest.Device
	caseID string
	selfID string
	seed   int
}

func newDevice(t *testing.T, c *client, caseID, selfID string, seed int) *device {
	k, err := signingtest.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	return &device{t: t, c: c, key: k, caseID: caseID, selfID: selfID, seed: seed}
}

// prepare runs step 1 and returns the status and the answer.
func (d *device) prepare(docID, field string) (int, prepareResponse) {
	d.t.Helper()
	pub := base64.StdEncoding.EncodeToString(d.key.SPKI())
	proof, err := d.key.Sign(keyProofMessage(d.caseID, d.selfID, pub))
	if err != nil {
		d.t.Fatal(err)
	}
	var out prepareResponse
	st := d.c.do("POST", "/api/v1/documents/"+docID+"/prepare", prepareRequest{Field: field, PublicKey: pub,
		Proof: base64.StdEncoding.EncodeToString(proof), Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(d.seed, 600, 240))}, &out)
	return st, out
}

// finish signs what prepare returned and runs step 2.
func (d *device) finish(docID string, p prepareResponse) int {
	d.t.Helper()
	tbs, err := base64.StdEncoding.DecodeString(p.ToBeSigned)
	if err != nil {
		d.t.Fatal(err)
	}
	sig, err := d.key.Sign(tbs)
	if err != nil {
		d.t.Fatal(err)
	}
	return d.c.do("POST", "/api/v1/documents/"+docID+"/finish", finishRequest{Field: p.Field, Signature: base64.StdEncoding.EncodeToString(sig)}, nil)
}

// sign prepares and finishes, preparing again when another signer got in first (409), as the browser does.
func (d *device) sign(docID, field string) {
	d.t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		st, p := d.prepare(docID, field)
		if st != 200 {
			d.t.Fatalf("prepare %s: %d", field, st)
		}
		switch st := d.finish(docID, p); st {
		case 200:
			return
		case 409:
			continue
		default:
			d.t.Fatalf("finish %s: %d", field, st)
		}
	}
	d.t.Fatalf("sign %s: still conflicting after 5 attempts", field)
}

func (f *fixture) download(c *client, docID string) []byte {
	f.t.Helper()
	st, pdf := c.raw("GET", "/api/v1/documents/"+docID+"/pdf", nil)
	if st != 200 || !strings.HasPrefix(string(pdf), "%PDF-") {
		f.t.Fatalf("download: %d %.40q", st, pdf)
	}
	return pdf
}

// checkWithPoppler runs pdfsig and qpdf on a file and returns pdfsig's output.
func checkWithPoppler(t *testing.T, pdf []byte, wantSigs int) string {
	t.Helper()
	for _, tool := range []string{"pdfsig", "qpdf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make test installs poppler-utils and qpdf)", tool)
		}
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	out, _ := exec.Command("pdfsig", path).CombinedOutput()
	if n := strings.Count(string(out), "Signature is Valid."); n != wantSigs {
		t.Errorf("pdfsig finds %d valid signatures, want %d:\n%s", n, wantSigs, out)
	}
	if !strings.Contains(string(out), "Total document signed") {
		t.Errorf("pdfsig: the last signature does not cover the whole document:\n%s", out)
	}
	return string(out)
}

func TestSigningFlowOverHTTP(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mediator := f.login(f.w.Mediator)
	applicant := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	agent := f.enter(f.c.ID, f.c.Parties[1].ID, f.c.Parties[1].Agents[0].ID)

	// Agreement reached: the case moves to signing and the mediator drafts the agreement.
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/agreement_effective", cases.Params{Note: "双方于调解现场签署纸质协议。"}, nil); st != 403 {
		t.Errorf("a mediator's note made the agreement effective: %d, want 403", st)
	}
	st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/agreement", agreementRequest{
		Facts:  "申请人系涉案发明专利的专利权人。被申请人在其网店销售了涉案产品。",
		Issues: []string{"被诉产品是否落入专利权保护范围", "赔偿数额"},
		Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人自本协议签订之日起停止销售涉案产品。"},
			{Kind: cases.TermPayment, Text: "被申请人赔偿申请人经济损失及合理开支共计人民币十二万元。"}},
		Schedule: []installmentIn{{AmountFen: 6000000, Due: "2026-12-31", Method: "银行转账", Payer: "李四", Payee: "北京某某科技有限公司"},
			{AmountFen: 6000000, Due: "2027-01-31", Method: "银行转账", Payer: "李四", Payee: "北京某某科技有限公司"}},
	}, &doc)
	if st != 201 {
		t.Fatalf("draft agreement: %d", st)
	}
	id := doc.Document.ID
	if got := []string{doc.Fields[0].Field, doc.Fields[1].Field, doc.Fields[2].Field, doc.Fields[3].Field}; strings.Join(got, ",") != "sig-applicant-1,sig-respondent-1,sig-mediator-1,sig-organisation" {
		t.Fatalf("fields %v", got)
	}
	appDev := newDevice(t, applicant, f.c.ID, f.c.Parties[0].ID, 1)
	agentDev := newDevice(t, agent, f.c.ID, f.c.Parties[1].Agents[0].ID, 2)
	medDev := newDevice(t, mediator, f.c.ID, f.w.Mediator.ID, 3)

	// Refusals: someone else's field, a forged proof of key possession, a blank drawing, a wrong signature.
	if st, _ := agentDev.prepare(id, "sig-applicant-1"); st != 403 {
		t.Errorf("the agent prepared the applicant's field: %d", st)
	}
	bad := prepareRequest{Field: "sig-applicant-1", PublicKey: base64.StdEncoding.EncodeToString(appDev.key.SPKI()), Proof: base64.StdEncoding.EncodeToString(make([]byte, 64)),
		Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(1, 600, 240))}
	if st := applicant.do("POST", "/api/v1/documents/"+id+"/prepare", bad, nil); st != 400 {
		t.Errorf("forged key proof: %d, want 400", st)
	}
	if st, p := appDev.prepare(id, "sig-applicant-1"); st != 200 {
		t.Fatalf("prepare: %d", st)
	} else if st := applicant.do("POST", "/api/v1/documents/"+id+"/finish", finishRequest{Field: p.Field, Signature: base64.StdEncoding.EncodeToString(make([]byte, 64))}, nil); st != 400 {
		t.Errorf("wrong device signature: %d, want 400", st)
	}

	// Two parties at the same moment: both prepare on version 1 and finish together. Both end up in the file.
	_, p1 := appDev.prepare(id, "sig-applicant-1")
	_, p2 := agentDev.prepare(id, "sig-respondent-1")
	var wg sync.WaitGroup
	results := make([]int, 2)
	for i, job := range []func() int{func() int { return appDev.finish(id, p1) }, func() int { return agentDev.finish(id, p2) }} {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = job() }()
	}
	wg.Wait()
	if !(results[0] == 200 && results[1] == 409 || results[0] == 409 && results[1] == 200) {
		t.Fatalf("simultaneous finishes: %v, want one 200 and one 409 (prepare again)", results)
	}
	if results[0] == 409 {
		appDev.sign(id, "sig-applicant-1")
	} else {
		agentDev.sign(id, "sig-respondent-1")
	}
	if st, _ := appDev.prepare(id, "sig-applicant-1"); st != 409 {
		t.Errorf("signing twice: %d, want 409", st)
	}
	// The last party's signature made the agreement effective.
	var cr caseResponse
	mediator.do("GET", "/api/v1/cases/"+f.c.ID, nil, &cr)
	if cr.Case.State != cases.StateSettled || cr.Case.EffectiveAt == nil {
		t.Fatalf("after both parties signed the case is %s", cr.Case.State)
	}
	// The seal waits for the mediator.
	orgAdmin := f.login(f.w.OrgAdmin)
	if st := orgAdmin.do("POST", "/api/v1/documents/"+id+"/seal", nil, nil); st != 409 {
		t.Errorf("seal before the mediator signed: %d, want 409", st)
	}
	// A finish repeated after its first attempt committed (a lost answer, a retry) answers 200 with the document.
	st, mp := medDev.prepare(id, "sig-mediator-1")
	if st != 200 {
		t.Fatalf("prepare the mediator's field: %d", st)
	}
	if st := medDev.finish(id, mp); st != 200 {
		t.Fatalf("finish: %d", st)
	}
	if st := medDev.finish(id, mp); st != 200 {
		t.Errorf("repeated finish: %d, want 200", st)
	}
	if st := orgAdmin.do("POST", "/api/v1/documents/"+id+"/seal", nil, &doc); st != 200 || doc.Document.Status != cases.DocComplete {
		t.Fatalf("seal: %d, status %s", st, doc.Document.Status)
	}
	sealed := doc.Document.CurrentVersion
	if st := orgAdmin.do("POST", "/api/v1/documents/"+id+"/seal", nil, &doc); st != 200 || doc.Document.CurrentVersion != sealed {
		t.Errorf("repeated seal: %d, version %d, want 200 and version %d", st, doc.Document.CurrentVersion, sealed)
	}
	final := f.download(applicant, id)
	checkWithPoppler(t, final, 4)
	_, rootPEM := f.anonymous().raw("GET", "/api/v1/ca/root.pem", nil)
	if !testing.Short() {
		independentCheck(t, "agreement.pdf", final, rootPEM, 4)
	}
	var vr verifyResponse
	if st := f.anonymous().do("POST", "/api/v1/verify", rawRequest{"application/pdf", final}, &vr); st != 200 || !vr.Report.Valid || !vr.Known || len(vr.Report.Signatures) != 4 {
		t.Fatalf("verify: %d %+v", st, vr)
	}
	for _, s := range vr.Report.Signatures {
		if !s.ChainValid || !s.TimestampValid || s.CaseNumber != f.c.Number && s.Role != "organisation" {
			t.Errorf("signature %s: chain %v, timestamp %v, case number %q", s.Field, s.ChainValid, s.TimestampValid, s.CaseNumber)
		}
	}
	// A flipped byte inside the signed range is reported.
	tampered := append([]byte(nil), final...)
	tampered[len(tampered)/3] ^= 0x01
	if st := f.anonymous().do("POST", "/api/v1/verify", rawRequest{"application/pdf", tampered}, &vr); st != 200 || vr.Report.Valid || vr.Known {
		t.Errorf("tampered file: %d valid=%v known=%v", st, vr.Report.Valid, vr.Known)
	}
	if st := f.anonymous().do("POST", "/api/v1/verify", rawRequest{"application/pdf", []byte("hello")}, nil); st != 422 {
		t.Errorf("not a PDF: %d, want 422", st)
	}
	// The completion certificate exists and is signed by the platform.
	var docs []documentResponse
	applicant.do("GET", "/api/v1/cases/"+f.c.ID+"/documents", nil, &docs)
	var completion *cases.Document
	for _, d := range docs {
		if d.Document.Kind == cases.DocCompletion && d.Document.ParentID == id {
			completion = d.Document
		}
	}
	if completion == nil || completion.Status != cases.DocComplete {
		t.Fatalf("no signed completion certificate among %d documents", len(docs))
	}
	compPDF := f.download(applicant, completion.ID)
	checkWithPoppler(t, compPDF, 1)
	if !testing.Short() {
		independentCheck(t, "completion.pdf", compPDF, rootPEM, 1)
	}

	// Judicial confirmation: both parties apply, the judge confirms, the court signs the agreement.
	for _, c := range []*client{applicant, agent} {
		if st := c.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/apply_confirmation", nil, nil); st != 200 {
			t.Fatalf("apply for confirmation: %d", st)
		}
	}
	judge := f.login(f.w.Judge)
	if st := judge.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/confirm", cases.Params{Note: "协议内容不违反法律规定"}, nil); st != 200 {
		t.Fatalf("confirm: %d", st)
	}
	confirmed := f.download(judge, id)
	checkWithPoppler(t, confirmed, 5)
	if !testing.Short() {
		independentCheck(t, "confirmed.pdf", confirmed, rootPEM, 5)
	}
	if st := f.anonymous().do("POST", "/api/v1/verify", rawRequest{"application/pdf", confirmed}, &vr); st != 200 || !vr.Report.Valid || vr.Report.Signatures[4].Role != "court" {
		t.Errorf("confirmed agreement: %+v", vr.Report)
	}
	// The trail records every signature and the audit chain holds.
	evs, _ := f.store.Events(ctx, f.c.ID)
	n := 0
	for _, e := range evs {
		if e.Type == "document.signed" || e.Type == "document.sealed" || e.Type == "document.court_signed" {
			n++
		}
	}
	if n < 6 {
		t.Errorf("%d signature events on the trail, want at least 6", n)
	}
	if rep, err := f.store.VerifyChain(ctx, f.c.ID); err != nil || !rep.Valid {
		t.Errorf("audit chain: %+v %v", rep, err)
	}
	// Someone of another case cannot even see the document.
	if st := f.login(f.w.OtherMediator).do("GET", "/api/v1/documents/"+id, nil, nil); st != 404 {
		t.Errorf("a mediator elsewhere opened the document: %d", st)
	}
	// A page renders as an image for the phone.
	if st, png := applicant.raw("GET", "/api/v1/documents/"+id+"/pages/1?width=400", nil); st != 200 || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("page image: %d", st)
	}
}

func TestSessionRecordSignedByParticipants(t *testing.T) {
	f := newFixture(t)
	mediator := f.login(f.w.Mediator)
	var rec cases.SessionRecord
	mediator.do("GET", "/api/v1/sessions/"+f.session.ID+"/record", nil, &rec)
	rec.Facts = "双方围绕赔偿数额进行了协商。"
	rec.Statements = []cases.RecordStatement{{Speaker: "申请人", Text: "要求赔偿十五万元。"}, {Speaker: "被申请人", Text: "愿意赔偿十万元。"}}
	rec.ConfirmedFacts = []string{"被申请人曾销售涉案产品 200 件。"}
	if st := mediator.do("PUT", "/api/v1/sessions/"+f.session.ID+"/record", rec, &rec); st != 200 {
		t.Fatalf("save record: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/sessions/"+f.session.ID+"/record-document", recordDocRequest{}, &doc); st != 201 {
		t.Fatalf("record document: %d", st)
	}
	applicant := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	respondent := f.enter(f.c.ID, f.c.Parties[1].ID, "")
	signers := map[string]*device{}
	signers[f.c.Parties[0].ID] = newDevice(t, applicant, f.c.ID, f.c.Parties[0].ID, 4)
	signers[f.c.Parties[1].ID] = newDevice(t, respondent, f.c.ID, f.c.Parties[1].ID, 5)
	signers[f.w.Mediator.ID] = newDevice(t, mediator, f.c.ID, f.w.Mediator.ID, 6)
	for _, s := range doc.Document.Signers {
		dev := signers[s.SubjectID]
		if dev == nil {
			t.Fatalf("no device for %s (%s)", s.Field, s.Name)
		}
		dev.sign(doc.Document.ID, s.Field)
	}
	pdf := f.download(mediator, doc.Document.ID)
	checkWithPoppler(t, pdf, len(doc.Document.Signers))
	if _, err := exec.LookPath("pdftotext"); err == nil {
		path := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(path, pdf, 0o600)
		out, _ := exec.Command("pdftotext", path, "-").Output()
		for _, want := range []string{"调解笔录", "要求赔偿十五万元", f.c.Number} {
			if !strings.Contains(string(out), want) {
				t.Errorf("pdftotext lacks %q", want)
			}
		}
	}
}
