package signing

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestConfirmationSheetAndCourtStamp lays out the confirmation sheet of an agreement signed on paper, signs it as
// every field's signer, then adds the court's confirmation as a visible stamp on the last page: every signature
// stays valid and the whole file is clean for qpdf and poppler.
func TestConfirmationSheetAndCourtStamp(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	scanSum := strings.Repeat("0123456789abcdef", 4)
	sheet := &ConfirmationSheet{
		Meta:         Meta{DocumentID: "SHEET-1", CaseNumber: "(2025)京0108民诉前调1234号", Court: "北京市海淀区人民法院", VerifyBaseURL: "https://parley.example.cn", Created: testNow},
		Organisation: "北京市知识产权纠纷人民调解委员会", Mediators: []string{"王五"},
		Parties:    []Party{{Role: RoleApplicant, Kind: Company, Name: "北京某某科技有限公司"}, {Role: RoleRespondent, Kind: Person, Name: "李四", Agent: &Agent{Name: "赵律师"}}},
		ScanSHA256: scanSum, ScanPages: 3, ScanDocument: "SCAN-1", SignedOn: "2025-02-19", Terms: []string{"被申请人赔偿申请人人民币五万元。"},
	}
	doc, err := (&Generator{Font: p.font}).ConfirmationSheet(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range doc.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "sig-applicant-1 sig-respondent-1 sig-mediator-1 sig-organisation" {
		t.Errorf("fields %s", got)
	}
	if doc.Fields[0].Party != 0 || doc.Fields[1].Party != 1 || doc.Fields[1].Signer != "赵律师" {
		t.Errorf("party fields %+v", doc.Fields[:2])
	}
	text := squash(pdftotext(t, doc.PDF, 0, 0))
	for _, s := range []string{"线下调解协议确认书", scanSum[:32], scanSum[32:], "SCAN-1", "2025-02-19", "被申请人赔偿申请人人民币五万元"} {
		if text != "" && !strings.Contains(text, s) {
			t.Errorf("the sheet lacks %q", s)
		}
	}
	pdf := doc.PDF
	for i, f := range doc.Fields[:3] {
		pdf = p.deviceSign(t, pdf, f.Name, Subject{Name: f.Signer, Role: f.Role, CaseNumber: sheet.CaseNumber}, 20+i, testNow.Add(time.Duration(i)*time.Minute))
	}
	pdf, err = Sign(context.Background(), pdf, Request{Field: "sig-organisation", Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow.Add(5 * time.Minute), Validation: p.validation(),
		Appearance: Appearance{Name: sheet.Organisation, Role: "调解专用章", Seal: true, Font: p.font}}, p.org.Key, p.tsaAt(testNow.Add(5*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	stamp := &CourtStamp{Court: "北京市海淀区人民法院", CaseNumber: sheet.CaseNumber, Date: testNow}
	pdf, err = Sign(context.Background(), pdf, Request{Field: "sig-court", NewField: &NewField{Page: doc.Pages, Rect: CourtStampRect()}, Cert: p.org.Cert, Chain: p.org.Chain,
		Time: testNow.Add(6 * time.Minute), Validation: p.validation(), Reason: "司法确认",
		Appearance: Appearance{Name: stamp.Court, Role: "司法确认", Stamp: stamp, Font: p.font}}, p.org.Key, p.tsaAt(testNow.Add(6*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	checkAllValid(t, pdf, 5)
	if !bytes.Contains(pdf, []byte("/T (sig-court)")) && !bytes.Contains(pdf, []byte("sig-court")) {
		t.Error("no court field")
	}
	if n, err := PageCount(pdf); err != nil || n != doc.Pages {
		t.Errorf("PageCount: %d %v, want %d", n, err, doc.Pages)
	}
	// What the sheet needs.
	bad := *sheet
	bad.ScanSHA256 = "abc"
	if _, err := (&Generator{Font: p.font}).ConfirmationSheet(&bad); err == nil {
		t.Error("a sheet without the scan's SHA-256 was laid out")
	}
	// The stamp needs a font.
	if _, err := Sign(context.Background(), doc.PDF, Request{Field: "sig-court", NewField: &NewField{Page: 1, Rect: CourtStampRect()}, Cert: p.org.Cert, Chain: p.org.Chain,
		Time: testNow, Appearance: Appearance{Stamp: stamp}}, p.org.Key, p.tsaAt(testNow)); err == nil {
		t.Error("a stamp without a font was drawn")
	}
}

// FuzzPageCount feeds arbitrary bytes to PageCount, which reads uploaded scans: it must never panic.
func FuzzPageCount(f *testing.F) {
	v := sharedAgreement(f)
	f.Add(v[0])
	f.Add(v[0][:len(v[0])/2])
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj\ntrailer << /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"))
	f.Add([]byte("%PDF-1.4\n%%EOF"))
	f.Add([]byte("not a pdf"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := PageCount(data)
		if err == nil && n < 0 {
			t.Fatalf("%d pages", n)
		}
	})
}
