package docflow_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// flow is a document service over a fresh schema with a populated world and a case whose mediation ended with an
// agreement.
type flow struct {
	t     *testing.T
	svc   *docflow.Service
	store *cases.Store
	clock *casestest.Clock
	w     *casestest.World
	c     *cases.Case
	devs  map[string]*signingtest.Device
}

func newFlow(t *testing.T) *flow {
	t.Helper()
	store, clock := casestest.Store(t, time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC))
	w := casestest.Populate(t, store)
	font, err := signing.FindFont()
	if err != nil {
		t.Skipf("no CJK font: %v", err)
	}
	kek, err := signing.NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.NewKeyRing(kek)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := docflow.LoadKeys(context.Background(), docflow.KeyConfig{Operator: "Parley test", BaseURL: "http://127.0.0.1", KEK: ring}, store)
	if err != nil {
		t.Fatal(err)
	}
	svc := docflow.New(store, keys, font, "http://127.0.0.1", store.Cal.Loc, nil)
	svc.Now = clock.Now
	f := &flow{t: t, svc: svc, store: store, clock: clock, w: w, devs: map[string]*signingtest.Device{}}
	f.c = casestest.InMediation(t, store, w)
	f.c = f.act(w.Mediator, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	identityChecked(t, store, f.c, w.Mediator)
	return f
}

// identityChecked records a passed identity check of every party and agent of c (signing is bound to an identity,
// cases.SigningIdentity: without one no certificate is issued).
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

func (f *flow) act(p cases.Principal, a cases.Action, in cases.Params) *cases.Case {
	f.t.Helper()
	res, err := f.store.Act(context.Background(), p, f.c.ID, a, in)
	if err != nil {
		f.t.Fatalf("%s: %v", a, err)
	}
	f.c = res.Case
	return res.Case
}

func (f *flow) reload() *cases.Case {
	f.t.Helper()
	c, err := f.store.Case(context.Background(), f.c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	f.c = c
	return c
}

func (f *flow) party(i int) cases.Principal { return casestest.PartyPrincipal(f.c, i) }

// sign prepares and finishes field as p, on p's own device key.
func (f *flow) sign(p cases.Principal, docID, field string) (*cases.Document, docflow.FinishRequest, error) {
	f.t.Helper()
	dev := f.devs[p.ID]
	if dev == nil {
		var err error
		if dev, err = signingtest.NewDevice(); err != nil {
			f.t.Fatal(err)
		}
		f.devs[p.ID] = dev
	}
	pub := base64.StdEncoding.EncodeToString(dev.SPKI())
	proof, _ := dev.Sign(docflow.KeyProofMessage(f.c.ID, p.ID, pub))
	prep, err := f.svc.Prepare(context.Background(), p, docID, docflow.PrepareRequest{Field: field, PublicKey: pub,
		Proof: base64.StdEncoding.EncodeToString(proof), Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(len(f.devs), 600, 240))})
	if err != nil {
		return nil, docflow.FinishRequest{}, err
	}
	tbs, _ := base64.StdEncoding.DecodeString(prep.ToBeSigned)
	sig, _ := dev.Sign(tbs)
	in := docflow.FinishRequest{Field: field, Signature: base64.StdEncoding.EncodeToString(sig)}
	d, err := f.svc.Finish(context.Background(), p, docID, in)
	return d, in, err
}

func (f *flow) mustSign(p cases.Principal, docID, field string) *cases.Document {
	f.t.Helper()
	d, _, err := f.sign(p, docID, field)
	if err != nil {
		f.t.Fatalf("sign %s as %s: %v", field, p.Name, err)
	}
	return d
}

func (f *flow) agreement(terms ...cases.Term) *cases.Document {
	f.t.Helper()
	if len(terms) == 0 {
		terms = []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币十万元。"}}
	}
	d, err := f.svc.CreateAgreement(context.Background(), f.w.Mediator, f.c, docflow.AgreementRequest{Terms: terms})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := cases.ErrorCode(err); got != code {
		t.Fatalf("error %v (code %q), want %s", err, got, code)
	}
}

// TestEffectOnlyFromEveryPartysSignature: the agreement takes effect at the last party's signature, in its
// transaction and dated at it; no action by staff or Parley can make it effective otherwise (OMR Art. 19).
func TestEffectOnlyFromEveryPartysSignature(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	// A staff note no longer makes an agreement effective, nor can Parley without a signed document.
	_, err := f.store.Act(ctx, f.w.Mediator, f.c.ID, cases.ActAgreementEffective, cases.Params{Note: "双方于调解现场签署纸质协议。"})
	wantCode(t, err, cases.EFORBIDDEN)
	_, err = f.store.Act(ctx, cases.System, f.c.ID, cases.ActAgreementEffective, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE)

	d := f.agreement()
	f.mustSign(f.party(0), d.ID, "sig-applicant-1")
	f.clock.Advance(time.Hour)
	_, err = f.store.Act(ctx, cases.System, f.c.ID, cases.ActAgreementEffective, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE)
	if c := f.reload(); c.State != cases.StateSigning || c.EffectiveAt != nil {
		t.Fatalf("one party signed: %s, effective %v", c.State, c.EffectiveAt)
	}
	// The mediator's signature is not a party's.
	f.mustSign(f.w.Mediator, d.ID, "sig-mediator-1")
	if c := f.reload(); c.State != cases.StateSigning {
		t.Fatalf("after the mediator: %s", c.State)
	}
	f.clock.Advance(time.Hour)
	d = f.mustSign(f.party(1), d.ID, "sig-respondent-1")
	c := f.reload()
	last := d.Signed()["sig-respondent-1"]
	if c.State != cases.StateSettled || c.EffectiveAt == nil || !c.EffectiveAt.Equal(last.CreatedAt) {
		t.Fatalf("after the last party: %s, effective %v, signature at %v", c.State, c.EffectiveAt, last.CreatedAt)
	}
	if want := f.store.Cal.AddDays(last.CreatedAt, 30); c.ConfirmationDueAt == nil || !c.ConfirmationDueAt.Equal(want) {
		t.Errorf("confirmation due %v, want %v", c.ConfirmationDueAt, want)
	}
	// The effect is the event right after the signature: the same transaction wrote both.
	evs, err := f.store.Events(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Type == "case.agreement_effective" {
			if i == 0 || evs[i-1].Seq != last.EventSeq || evs[i-1].Type != "document.signed" || e.Data["document_id"] != d.ID {
				t.Errorf("effect event #%d follows %+v, want the signature #%d", e.Seq, evs[i-1], last.EventSeq)
			}
		}
	}
	// Once effective, nothing makes it effective again.
	_, err = f.store.Act(ctx, cases.System, f.c.ID, cases.ActAgreementEffective, cases.Params{})
	wantCode(t, err, cases.ECONFLICT)
}

// TestFinishAndSealAreIdempotent: a repeated finish or seal whose first attempt committed answers the document,
// not a conflict; someone else's repeat is still refused.
func TestFinishAndSealAreIdempotent(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	d := f.agreement()
	_, in, err := f.sign(f.party(0), d.ID, "sig-applicant-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Finish(ctx, f.party(0), d.ID, in)
	if err != nil || again.CurrentVersion != 2 {
		t.Fatalf("repeated finish: %v, version %d", err, again.CurrentVersion)
	}
	_, err = f.svc.Finish(ctx, f.party(1), d.ID, in)
	wantCode(t, err, cases.EFORBIDDEN)
	f.mustSign(f.party(1), d.ID, "sig-respondent-1")
	f.mustSign(f.w.Mediator, d.ID, "sig-mediator-1")
	first, err := f.svc.Seal(ctx, f.w.OrgAdmin, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Seal(ctx, f.w.Mediator, d.ID)
	if err != nil || second.CurrentVersion != first.CurrentVersion || second.Status != cases.DocComplete {
		t.Fatalf("repeated seal: %v, version %d (first %d)", err, second.CurrentVersion, first.CurrentVersion)
	}
	_, err = f.svc.Seal(ctx, f.party(0), d.ID)
	wantCode(t, err, cases.EFORBIDDEN)
	if n, _ := f.store.PendingJobs(ctx); n != 0 {
		t.Errorf("%d document jobs left", n)
	}
}

// scanPDF is a PDF standing in for the scan of an agreement signed on paper.
func scanPDF(t *testing.T, font *signing.Font) []byte {
	t.Helper()
	doc, err := (&signing.Generator{Font: font}).Completion(&signing.Completion{Meta: signing.Meta{DocumentID: cases.NewID(), CaseNumber: "（2026）纸质第1号"},
		DocumentTitle: "纸质调解协议", SignedDocumentID: "paper", DocumentSHA256: strings.Repeat("ab", 32), DocumentPages: 2,
		Signers: []signing.CompletionSigner{{Name: "张三", Role: signing.RoleApplicant}}})
	if err != nil {
		t.Fatal(err)
	}
	return doc.PDF
}

// TestOfflineAgreementConfirmedOnline: an agreement signed on paper is uploaded as a scan; it takes effect only
// when every party has signed the confirmation sheet that names the scan's SHA-256, and the sheet then goes the
// way of an agreement (mediator, seal, completion certificate, judicial confirmation with the court's stamp).
func TestOfflineAgreementConfirmedOnline(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	scan := scanPDF(t, f.svc.Font)
	terms := []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币五万元。"}, {Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}
	for name, in := range map[string]docflow.OfflineRequest{
		"not a PDF":       {PDF: base64.StdEncoding.EncodeToString([]byte("hello, this is not a scan")), Terms: terms},
		"not base64":      {PDF: "%%%", Terms: terms},
		"untyped term":    {PDF: base64.StdEncoding.EncodeToString(scan), Terms: []cases.Term{{Text: "赔偿"}}},
		"no terms":        {PDF: base64.StdEncoding.EncodeToString(scan)},
		"bad signing day": {PDF: base64.StdEncoding.EncodeToString(scan), Terms: terms, SignedOn: "yesterday"},
	} {
		_, err := f.svc.CreateOffline(ctx, f.w.Mediator, f.c, in, 20<<20)
		if cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	_, err := f.svc.CreateOffline(ctx, f.w.OrgAdmin, f.c, docflow.OfflineRequest{PDF: base64.StdEncoding.EncodeToString(scan), Terms: terms}, 20<<20)
	wantCode(t, err, cases.EFORBIDDEN)
	draft := f.agreement() // an online draft the paper agreement replaces
	sheet, err := f.svc.CreateOffline(ctx, f.w.Mediator, f.c, docflow.OfflineRequest{PDF: base64.StdEncoding.EncodeToString(scan), Terms: terms, SignedOn: "2026-11-15"}, 20<<20)
	if err != nil {
		t.Fatal(err)
	}
	if sheet.Kind != cases.DocConfirmationSheet || sheet.ParentID == "" || len(sheet.Signers) != 4 {
		t.Fatalf("sheet: kind %s parent %q, %d signers", sheet.Kind, sheet.ParentID, len(sheet.Signers))
	}
	if d, _ := f.store.Document(ctx, draft.ID); d.Status != cases.DocSuperseded {
		t.Errorf("the online draft is %s, want superseded", d.Status)
	}
	stored, _, err := f.store.DocumentPDF(ctx, sheet.ParentID, 0)
	if err != nil || string(stored) != string(scan) {
		t.Fatalf("the scan is not stored as uploaded: %v", err)
	}
	sheetPDF, _, _ := f.store.DocumentPDF(ctx, sheet.ID, 0)
	if text := pdfText(t, sheetPDF); text != "" {
		sum := docflow.SHA256Hex(scan)
		for _, want := range []string{sum[:32], sum[32:], "线下调解协议确认书", f.c.Number, "被申请人停止销售涉案产品"} {
			if !strings.Contains(text, want) {
				t.Errorf("the confirmation sheet does not show %q", want)
			}
		}
	}
	// One party's confirmation is not the agreement's effect.
	f.mustSign(f.party(0), sheet.ID, "sig-applicant-1")
	if c := f.reload(); c.State != cases.StateSigning {
		t.Fatalf("after one party confirmed: %s", c.State)
	}
	sheet = f.mustSign(f.party(1), sheet.ID, "sig-respondent-1")
	if c := f.reload(); c.State != cases.StateSettled || !c.EffectiveAt.Equal(sheet.Signed()["sig-respondent-1"].CreatedAt) {
		t.Fatalf("after every party confirmed: %s, effective %v", c.State, c.EffectiveAt)
	}
	f.mustSign(f.w.Mediator, sheet.ID, "sig-mediator-1")
	if _, err := f.svc.Seal(ctx, f.w.OrgAdmin, sheet.ID); err != nil {
		t.Fatal(err)
	}
	docs, _ := f.store.Documents(ctx, f.c.ID)
	found := false
	for _, d := range docs {
		found = found || d.Kind == cases.DocCompletion && d.ParentID == sheet.ID && d.Status == cases.DocComplete
	}
	if !found {
		t.Error("no certificate of completion for the confirmation sheet")
	}
	for i := range f.c.Parties {
		f.act(f.party(i), cases.ActApplyConfirmation, cases.Params{})
	}
	res, err := f.svc.Confirm(ctx, f.w.Judge, f.c.ID, cases.Params{Note: "确认"})
	if err != nil || res.Case.State != cases.StateConfirmed {
		t.Fatalf("confirm: %v", err)
	}
	final, _, _ := f.store.DocumentPDF(ctx, sheet.ID, 0)
	rep, err := signing.Verify(final, f.svc.Keys.Roots(), f.clock.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 5 || rep.Signatures[4].Role != signing.RoleCourt {
		t.Fatalf("confirmed sheet: %v %+v", err, rep)
	}
}

// pdfText returns pdftotext's text of a PDF, or "" when poppler is not installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext not installed: text not checked")
		return ""
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

type failingTSA struct{}

func (failingTSA) Timestamp(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("the timestamp authority is down")
}

// TestConfirmationIsAtomicWithTheCourtsSignature: judicial confirmation needs a complete agreement, and when the
// court's signature cannot be applied the case is not confirmed; when it is, the stamp is visible on the page.
func TestConfirmationIsAtomicWithTheCourtsSignature(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	d := f.agreement()
	for i := range f.c.Parties {
		d = f.mustSign(f.party(i), d.ID, d.Signers[i].Field)
	}
	// Without the mediator's signature and the seal the agreement is not complete: no application, no confirmation.
	_, err := f.store.Act(ctx, f.party(0), f.c.ID, cases.ActApplyConfirmation, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE)
	d = f.mustSign(f.w.Mediator, d.ID, "sig-mediator-1")
	if _, err := f.svc.Seal(ctx, f.w.OrgAdmin, d.ID); err != nil {
		t.Fatal(err)
	}
	for i := range f.c.Parties {
		f.act(f.party(i), cases.ActApplyConfirmation, cases.Params{})
	}
	// The court's signing fails (the timestamp authority is down): no confirmation, nothing stored.
	before, _ := f.store.Document(ctx, d.ID)
	tsa := f.svc.Keys.TSA
	f.svc.Keys.TSA = failingTSA{}
	_, err = f.svc.Confirm(ctx, f.w.Judge, f.c.ID, cases.Params{Note: "确认"})
	f.svc.Keys.TSA = tsa
	if err == nil {
		t.Fatal("confirmed although the court's signature failed")
	}
	after, _ := f.store.Document(ctx, d.ID)
	if c := f.reload(); c.State != cases.StateConfirmationPending || c.DecidedAt != nil || after.CurrentVersion != before.CurrentVersion {
		t.Fatalf("after a failed court signature: %s, decided %v, version %d (was %d)", c.State, c.DecidedAt, after.CurrentVersion, before.CurrentVersion)
	}
	evs, _ := f.store.Events(ctx, f.c.ID)
	for _, e := range evs {
		if e.Type == "case.confirm" || e.Type == "document.court_signed" {
			t.Errorf("event %s on the trail after the failed confirmation", e.Type)
		}
	}
	// The generic action cannot confirm without the signature either.
	_, err = f.store.Act(ctx, f.w.Judge, f.c.ID, cases.ActConfirm, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE)
	// Another court's judge cannot.
	_, err = f.svc.Confirm(ctx, f.w.OtherJudge, f.c.ID, cases.Params{})
	wantCode(t, err, cases.ENOTFOUND)
	res, err := f.svc.Confirm(ctx, f.w.Judge, f.c.ID, cases.Params{Note: "确认"})
	if err != nil || res.Case.State != cases.StateConfirmed {
		t.Fatalf("confirm: %v", err)
	}
	signed, _ := f.store.Document(ctx, d.ID)
	if v, ok := signed.Signed()[cases.CourtField]; !ok || v.SignerRole != signing.RoleCourt || v.EventSeq >= res.Event.Seq {
		t.Fatalf("court signature %+v, confirm event #%d", v, res.Event.Seq)
	}
	final, _, _ := f.store.DocumentPDF(ctx, d.ID, 0)
	rep, err := signing.Verify(final, f.svc.Keys.Roots(), f.clock.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 5 {
		t.Fatalf("confirmed agreement: %v %+v", err, rep)
	}
	// The court's stamp fills the field the unsigned agreement declared (with its rectangle): confirmation changes
	// nothing the verifier must treat as a modification, and every earlier signature stays intact.
	unsigned, _, _ := f.store.DocumentPDF(ctx, d.ID, 1)
	if !bytes.Contains(unsigned, []byte("/T (sig-court)")) {
		t.Error("the unsigned agreement does not declare the court's field")
	}
	if len(rep.Modifications) != 0 {
		t.Errorf("confirmation modified the agreement: %+v", rep.Modifications)
	}
	for _, sg := range rep.Signatures {
		if !sg.Valid || sg.ModifiedAfter {
			t.Errorf("signature %s after confirmation: valid %v, modified after %v", sg.Field, sg.Valid, sg.ModifiedAfter)
		}
	}
	pdfsigAllValid(t, final, len(rep.Signatures))
	prev, _, _ := f.store.DocumentPDF(ctx, d.ID, before.CurrentVersion)
	if gained := redPixels(t, final, signed.Pages) - redPixels(t, prev, signed.Pages); gained >= 0 && gained < 500 {
		t.Errorf("the court's stamp adds %d red pixels to the last page: it is not visible", gained)
	} else {
		t.Logf("the court's stamp adds %d red pixels to page %d", gained, signed.Pages)
	}
}

// pdfsigAllValid checks with poppler's pdfsig that the PDF holds at least n signatures and that each one's
// cryptographic check passes (Parley's root is not in poppler's trust store: only the signatures are judged).
func pdfsigAllValid(t *testing.T, pdf []byte, n int) {
	t.Helper()
	if _, err := exec.LookPath("pdfsig"); err != nil {
		t.Log("pdfsig not installed: not checked")
		return
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, _ := exec.Command("pdfsig", "-nocert", path).CombinedOutput()
	got := strings.Count(string(out), "Signature Validation: Signature is Valid.")
	if got < n || strings.Contains(string(out), "Signature Validation: Signature is Invalid") || strings.Contains(string(out), "Digest Mismatch") {
		t.Errorf("pdfsig: %d valid signatures, want %d:\n%s", got, n, out)
	}
}

// redPixels renders a page with pdftoppm (annotations' appearances included) and counts strongly red pixels; -1
// when poppler is not installed.
func redPixels(t *testing.T, pdf []byte, page int) int {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		return -1
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "d.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftoppm", "-f", fmt.Sprint(page), "-l", fmt.Sprint(page), "-r", "60", path).Output()
	if err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	// PPM (P6): header "P6\nW H\n255\n" then RGB triples.
	var w, h, maxv int
	if _, err := fmt.Sscanf(string(out), "P6\n%d %d\n%d", &w, &h, &maxv); err != nil || len(out) < w*h*3 {
		t.Fatalf("ppm header: %v", err)
	}
	px := out[len(out)-w*h*3:]
	red := 0
	for i := 0; i+2 < len(px); i += 3 {
		if px[i] > 150 && px[i+1] < 100 && px[i+2] < 100 {
			red++
		}
	}
	return red
}

// TestValidityOwnershipTermBarsConfirmation: an agreement that declares the validity or ownership of an IP right
// is not accepted for judicial confirmation (CPLI Art. 355), whatever the dispute type says.
func TestValidityOwnershipTermBarsConfirmation(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	if f.c.DisputeType == cases.DisputeOwnershipValidity {
		t.Fatal("the fixture's dispute must not be an ownership dispute")
	}
	d := f.agreement(cases.Term{Kind: cases.TermPayment, Text: "被申请人支付许可费十万元。"},
		cases.Term{Kind: cases.TermValidityOwnership, Text: "双方确认涉案专利权合法有效，归申请人所有。"})
	for i := range f.c.Parties {
		d = f.mustSign(f.party(i), d.ID, d.Signers[i].Field)
	}
	if c := f.reload(); c.State != cases.StateSettled {
		t.Fatalf("state %s", c.State)
	}
	_, err := f.store.Act(ctx, f.party(0), f.c.ID, cases.ActApplyConfirmation, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE)
	var e *cases.Error
	if !errors.As(err, &e) || e.Fields["terms"] != "validity_ownership" {
		t.Errorf("the refusal does not name the term: %v", err)
	}
	// An untyped term is refused when the agreement is drafted.
	_, err = f.svc.CreateAgreement(ctx, f.w.Mediator, f.c, docflow.AgreementRequest{Terms: []cases.Term{{Kind: "ownership?", Text: "x"}}})
	if cases.ErrorCode(err) != cases.EINVALID && cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("untyped term: %v", err)
	}
}

// TestCompletionJobRunsOnceAcrossNodes: the certificate of completion is a durable job; when the request that
// completed the document could not run it, sweepers on several nodes at once produce exactly one certificate.
func TestCompletionJobRunsOnceAcrossNodes(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	ctx := context.Background()
	d := f.agreement()
	for i := range f.c.Parties {
		d = f.mustSign(f.party(i), d.ID, d.Signers[i].Field)
	}
	d = f.mustSign(f.w.Mediator, d.ID, "sig-mediator-1")
	// The node dies right after the seal's commit: the job is there, the certificate is not.
	f.svc.Hook = func(point string) {
		if point == "seal:committed" {
			panic("killed")
		}
	}
	func() {
		defer func() { recover() }()
		f.svc.Seal(ctx, f.w.OrgAdmin, d.ID)
	}()
	f.svc.Hook = nil
	if n, _ := f.store.PendingJobs(ctx); n != 1 {
		t.Fatalf("%d pending jobs after the seal, want 1", n)
	}
	var wg sync.WaitGroup
	done := make([]int, 3)
	for i := range done {
		node := *f.svc
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[i], _ = node.RunJobs(ctx)
		}()
	}
	wg.Wait()
	if done[0]+done[1]+done[2] != 1 {
		t.Errorf("jobs done by the three nodes: %v, want one in all", done)
	}
	docs, _ := f.store.Documents(ctx, f.c.ID)
	n := 0
	for _, x := range docs {
		if x.Kind == cases.DocCompletion && x.ParentID == d.ID {
			n++
			if x.Status != cases.DocComplete {
				t.Errorf("certificate is %s", x.Status)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d certificates of completion, want 1", n)
	}
}

// TestCompanySealImageOnTheAgreement (issue 13 §8): a company's seal picture is printed on its agreement beside
// its representative's signature once the company has uploaded it with a letter of authority, not before; a seal
// image must be a picture, and one the mediators can see.
func TestCompanySealImageOnTheAgreement(t *testing.T) {
	f := newFlow(t)
	ctx := context.Background()
	company := f.party(0) // 北京某某科技有限公司, legal representative 张三, no agent
	upload := func(kind, vis, name string, body []byte) error {
		_, err := f.store.UploadMaterial(ctx, company, f.c.ID, cases.NewMaterial{Filename: name, Kind: kind, Visibility: vis, Length: int64(len(body))}, bytes.NewReader(body), cases.MaterialLimits{})
		return err
	}
	seal := signingtest.SignaturePNG(7, 400, 400)
	wantCode(t, upload(cases.MatSealImage, cases.MatMediators, "seal.pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")), cases.EMaterialType)
	wantCode(t, upload(cases.MatSealImage, cases.MatCourt, "seal.png", seal), cases.EINVALID)
	if err := upload(cases.MatSealImage, cases.MatMediators, "seal.png", seal); err != nil {
		t.Fatal(err)
	}
	caption := "印章图像（非电子签章）"
	text := func() string {
		d := f.agreement()
		pdf, _, err := f.store.DocumentPDF(ctx, d.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return pdfText(t, pdf)
	}
	if got := text(); strings.Contains(got, caption) {
		t.Errorf("the seal picture is on the agreement without a letter of authority")
	}
	if err := upload(cases.MatAuthorityLetter, cases.MatShared, "letter.png", signingtest.SignaturePNG(8, 600, 800)); err != nil {
		t.Fatal(err)
	}
	got := text()
	if got == "" {
		return // no poppler
	}
	for _, s := range []string{caption, "申请人：北京某某科技有限公司（盖章）", "法定代表人：张三（签名）"} {
		if !strings.Contains(got, s) {
			t.Errorf("the agreement lacks %q once the letter of authority is uploaded", s)
		}
	}
}
