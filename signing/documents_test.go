package signing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// pdftotext extracts the text of pages first…last (0 = all).
func pdftotext(t *testing.T, pdf []byte, first, last int) string {
	t.Helper()
	args := []string{}
	if first > 0 {
		args = append(args, "-f", fmt.Sprint(first), "-l", fmt.Sprint(last))
	}
	args = append(args, writeTemp(t, pdf), "-")
	out, err := exec.Command(tool(t, "pdftotext"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// squash removes white space: pdftotext drops or inserts spaces between Chinese and Latin text.
func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("text of the generated document differs from %s (run with -update after checking the change):\n--- got\n%s", path, got)
	}
}

func sampleRecord(lang string) *SessionRecord {
	at := func(h, m int) time.Time { return time.Date(2025, 2, 20, h, m, 0, 0, testZone) }
	return &SessionRecord{
		Meta: Meta{
			DocumentID: "DOC-2025-000122", CaseNumber: "(2025)京0108民诉前调1234号", Court: "北京市海淀区人民法院",
			VerifyBaseURL: "https://parley.example.cn", Lang: lang, Created: at(11, 0),
		},
		Organisation: "北京市海淀区知识产权纠纷人民调解委员会",
		Start:        at(9, 30), End: at(10, 45),
		Participants: []Participant{
			{Name: "王五", Role: RoleMediator, Attends: "视频"},
			{Name: "张三", Role: RoleApplicant, Attends: "视频"},
			{Name: "李四", Role: RoleAgent, RoleLabel: "被申请人北京某某科技有限公司的委托代理人", Attends: "视频"},
			{Name: "陈法官", Role: RoleJudge, Attends: "视频", NoSignature: true},
		},
		IdentityChecks: []IdentityCheck{
			{Participant: "张三", Method: "人脸识别＋身份证件比对", Result: "通过", By: "平台", At: at(9, 25)},
			{Participant: "李四", Method: "律师执业证＋授权委托书核验", Result: "通过", By: "调解员王五", At: at(9, 27)},
		},
		Attendance: []Attendance{
			{Participant: "王五", Joined: at(9, 20), Left: at(10, 46)},
			{Participant: "张三", Joined: at(9, 24), Left: at(10, 45)},
			{Participant: "李四", Joined: at(9, 26), Left: at(10, 45)},
			{Participant: "陈法官", Joined: at(10, 0), Left: at(10, 20)},
		},
		Sections: []RecordSection{
			{Heading: "（一）调解员告知", Statements: []Statement{
				{Speaker: "调解员王五", Text: "本次调解依据《人民法院在线调解规则》进行。调解过程中当事人作出的妥协让步，不得在后续诉讼中作为对其不利的根据。各方是否同意在线调解？"},
				{Speaker: "张三", Text: "同意。"},
				{Speaker: "李四", Text: "同意。"},
			}},
			{Heading: "（二）各方陈述", Statements: []Statement{
				{Speaker: "张三", Text: "被申请人未经许可使用了我拍摄的三幅照片，请求赔偿五万元。"},
				{Speaker: "李四", Text: "被申请人承认使用了照片，但认为赔偿数额过高，愿意赔偿两万元。"},
				{Text: "陈法官于10:00进入调解室，向双方释明类案裁判标准，于10:20离开。"},
			}},
		},
		ConfirmedFacts: []string{
			"被申请人在其微信公众号使用了申请人享有著作权的摄影作品三幅。",
			"双方同意以三万元为基础协商赔偿数额。",
		},
	}
}

func TestAgreementDocument(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	doc, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc.PDF)
	if doc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 field %s does not match the PDF", doc.SHA256)
	}
	if err := qpdfCheck(t, doc.PDF); err != nil {
		t.Error(err)
	}
	var names []string
	for _, f := range doc.Fields {
		names = append(names, f.Name+"/"+f.Signer)
		if f.Rect.Empty() || f.Rect.X1 < 0 || f.Rect.X2 > pageW || f.Rect.Y1 < 90 || f.Rect.Y2 > pageH-60 || f.Page < 1 || f.Page > doc.Pages {
			t.Errorf("field %s: page %d rect %+v outside the content area", f.Name, f.Page, f.Rect)
		}
	}
	want := "sig-applicant-1/张三 sig-respondent-1/李四 sig-mediator-1/王五 sig-organisation/北京市海淀区知识产权纠纷人民调解委员会"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("fields %s, want %s", got, want)
	}
	text := pdftotext(t, doc.PDF, 0, 0)
	for _, s := range []string{"调解协议书", "申请人：张三", "北京某某科技有限公司", "委托代理人：李四", "争议焦点", "人民币20,000.00元",
		"本协议自各方当事人签名之日起生效", "调解员：王五（签名）", fmt.Sprintf("第 %d 页 / 共 %d 页", doc.Pages, doc.Pages),
		"https://parley.example.cn/verify?doc=DOC-2025-000123", "文书编号：DOC-2025-000123"} {
		if !strings.Contains(squash(text), squash(s)) {
			t.Errorf("text lacks %q", s)
		}
	}
	for page := 1; page <= doc.Pages; page++ {
		pt := squash(pdftotext(t, doc.PDF, page, page))
		if !strings.Contains(pt, "(2025)京0108民诉前调1234号") || !strings.Contains(pt, fmt.Sprintf("第%d页", page)) {
			t.Errorf("page %d lacks the case number or its page number", page)
		}
	}
	golden(t, "agreement-zh.txt", text)
}

func TestEnglishAgreement(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	a := sampleAgreement("en")
	a.Parties[0].Name, a.Parties[1].Name, a.Parties[1].Agent.Name = "Zhang San", "Beijing Example Technology Co., Ltd.", "Li Si"
	a.Terms = []string{"The respondent pays CNY 30,000 in two instalments.", "The applicant withdraws the lawsuit."}
	doc, err := (&Generator{Font: p.font}).Agreement(a)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, doc.PDF, 0, 0)
	for _, s := range []string{"Mediation Agreement", "Applicant: Zhang San", "Agreed terms", "CNY 20,000.00", fmt.Sprintf("Page 1 of %d", doc.Pages), "takes effect"} {
		if !strings.Contains(squash(text), squash(s)) {
			t.Errorf("text lacks %q", s)
		}
	}
	golden(t, "agreement-en.txt", text)
}

func TestSessionRecordDocument(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	doc, err := (&Generator{Font: p.font}).SessionRecord(sampleRecord("zh"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range doc.Fields {
		names = append(names, f.Name)
	}
	if got, want := strings.Join(names, " "), "sig-mediator-1 sig-applicant-1 sig-agent-1"; got != want {
		t.Errorf("fields %s, want %s (the judge does not sign)", got, want)
	}
	text := pdftotext(t, doc.PDF, 0, 0)
	for _, s := range []string{"调解笔录", "人脸识别＋身份证件比对", "出席记录", "2025-02-20 10:00:00 +08:00", "调解员王五：本次调解依据", "经各方确认的事实", "以上笔录已经各参加人在线阅读"} {
		if !strings.Contains(squash(text), squash(s)) {
			t.Errorf("text lacks %q", s)
		}
	}
	golden(t, "record-zh.txt", text)
	// Sign it as every participant with a field.
	pdf := doc.PDF
	for i, f := range doc.Fields {
		pdf = p.deviceSign(t, pdf, f.Name, Subject{Name: f.Signer, Role: f.Role, CaseNumber: "(2025)京0108民诉前调1234号"}, 10+i, testNow.Add(time.Duration(i)*time.Minute))
	}
	checkAllValid(t, pdf, len(doc.Fields))
}

func TestCompletionCertificate(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	final := v[len(v)-1]
	rep, err := Verify(final, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	signers := CompletionSigners(rep)
	methods := []string{"人脸识别＋短信验证码", "律师执业证核验＋短信验证码", "调解员账户登录＋短信验证码", "机构印章密钥（服务器持有）"}
	for i := range signers {
		signers[i].IdentityMethod = methods[i]
	}
	c := &Completion{
		Meta: Meta{DocumentID: "CERT-2025-000123", CaseNumber: "(2025)京0108民诉前调1234号",
			VerifyBaseURL: "https://parley.example.cn", Created: testNow.Add(11 * time.Minute)},
		DocumentTitle: "调解协议书", SignedDocumentID: "DOC-2025-000123", DocumentSHA256: rep.SHA256,
		DocumentPages: 2, Completed: signers[len(signers)-1].SignedAt, Signers: signers,
		Events: []AuditEvent{{At: testNow.Add(5 * time.Minute), Text: "最后一方当事人签名，调解协议生效"}},
	}
	doc, err := (&Generator{Font: p.font}).Completion(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Fields) != 1 || doc.Fields[0].Name != "sig-platform" {
		t.Fatalf("fields %+v, want sig-platform", doc.Fields)
	}
	text := squash(pdftotext(t, doc.PDF, 0, 0))
	for _, s := range []string{"签署完成证明", rep.SHA256[:32], rep.SHA256[32:], signers[0].CertSHA256[:32], "张三", "王五", "调解协议生效"} {
		if !strings.Contains(text, s) {
			t.Errorf("certificate text lacks %q", s)
		}
	}
	platform, err := NewKeyPair(p.ca, Subject{Name: "Parley 平台", Role: RolePlatform}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(context.Background(), doc.PDF, Request{
		Field: "sig-platform", Appearance: Appearance{Name: "Parley 在线调解平台", Role: "平台签章", Font: p.font},
		Cert: platform.Cert, Chain: platform.Chain, Time: c.Created, Validation: p.validation(),
	}, platform.Key, p.tsaAt(c.Created))
	if err != nil {
		t.Fatal(err)
	}
	checkAllValid(t, signed, 1)
}

func TestDocumentInputErrors(t *testing.T) {
	t.Parallel()
	g := &Generator{Font: getPKI(t).font}
	mut := func(f func(a *Agreement)) *Agreement { a := sampleAgreement("zh"); f(a); return a }
	for name, a := range map[string]*Agreement{
		"no document ID":     mut(func(a *Agreement) { a.DocumentID = "" }),
		"no case number":     mut(func(a *Agreement) { a.CaseNumber = " " }),
		"one party":          mut(func(a *Agreement) { a.Parties = a.Parties[:1] }),
		"bad role":           mut(func(a *Agreement) { a.Parties[0].Role = RoleMediator }),
		"no terms":           mut(func(a *Agreement) { a.Terms = nil }),
		"no mediator":        mut(func(a *Agreement) { a.Mediators = nil }),
		"bad language":       mut(func(a *Agreement) { a.Lang = "fr" }),
		"duplicate fields":   mut(func(a *Agreement) { a.Parties[1].Field = "sig-applicant-1" }),
		"field with a point": mut(func(a *Agreement) { a.Parties[1].Field = "sig.x" }),
	} {
		if _, err := g.Agreement(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r := sampleRecord("zh")
	r.Participants = nil
	if _, err := g.SessionRecord(r); err == nil {
		t.Error("record without participants accepted")
	}
	if _, err := (&Generator{}).Agreement(sampleAgreement("zh")); err == nil {
		t.Error("generator without font accepted")
	}
}

func TestLongAgreementPagination(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	a := sampleAgreement("zh")
	for i := 0; i < 40; i++ {
		a.Terms = append(a.Terms, fmt.Sprintf("第%d项补充约定：双方同意就本纠纷涉及的其他作品另行协商，协商不成的，任何一方均可依法向人民法院起诉。", i+1))
	}
	a.Mediators = []string{"王五", "赵六", "孙七"}
	doc, err := (&Generator{Font: p.font}).Agreement(a)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages < 3 {
		t.Fatalf("%d pages, want at least 3", doc.Pages)
	}
	last := pdftotext(t, doc.PDF, doc.Pages, doc.Pages)
	if !strings.Contains(squash(last), fmt.Sprintf("第%d页/共%d页", doc.Pages, doc.Pages)) {
		t.Errorf("last page lacks its page number")
	}
	for _, f := range doc.Fields {
		if f.Rect.Y1 < pageH-contentBot-1 {
			t.Errorf("field %s runs into the footer: %+v", f.Name, f.Rect)
		}
	}
	if len(doc.Fields) != 6 {
		t.Errorf("%d fields, want 6", len(doc.Fields))
	}
}

// TestReproducibleDocuments checks that fixed inputs give identical bytes.
func TestReproducibleDocuments(t *testing.T) {
	t.Parallel()
	g := &Generator{Font: getPKI(t).font}
	a, err := g.Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PDF, b.PDF) {
		t.Error("two renderings of the same agreement differ")
	}
}

// TestReproducibleSignatures signs with a deterministic random source, fixed clocks and keys generated from it:
// the signed file must come out byte for byte the same.
func TestReproducibleSignatures(t *testing.T) {
	run := func() []byte {
		cryptotest.SetGlobalRandom(t, 42)
		p, err := newTestPKI()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
		if err != nil {
			t.Fatal(err)
		}
		pdf := p.deviceSign(t, doc.PDF, "sig-applicant-1", Subject{Name: "张三", Role: RoleApplicant}, 1, testNow)
		return p.sealSign(t, pdf, "sig-organisation", testNow.Add(time.Minute))
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Errorf("signed outputs differ (%d and %d bytes)", len(a), len(b))
	}
}

// TestRenderedSignatures renders the signature page with pdftoppm and checks that ink appears in every
// signature box once signed, and not before. (Look at the PNG too: PARLEY_KEEP_RENDER=dir keeps it.)
func TestRenderedSignatures(t *testing.T) {
	t.Parallel()
	v := sharedAgreement(t)
	doc, err := (&Generator{Font: getPKI(t).font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	const dpi = 50
	render := func(pdf []byte, page int) image.Image {
		dir := t.TempDir()
		out, err := exec.Command(tool(t, "pdftoppm"), "-png", "-r", fmt.Sprint(dpi), "-f", fmt.Sprint(page), "-l", fmt.Sprint(page), writeTemp(t, pdf), filepath.Join(dir, "p")).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
		if len(files) != 1 {
			t.Fatalf("pdftoppm wrote %v", files)
		}
		raw := readFile(t, files[0])
		if keep := os.Getenv("PARLEY_KEEP_RENDER"); keep != "" {
			os.WriteFile(filepath.Join(keep, fmt.Sprintf("page%d-%d.png", page, len(pdf))), raw, 0o644)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	// ink counts dark pixels inside a field rectangle, leaving out its border.
	ink := func(img image.Image, r Rect) int {
		s := float64(dpi) / 72
		n := 0
		for y := int((pageH-r.Y2)*s) + 3; y < int((pageH-r.Y1)*s)-3; y++ {
			for x := int(r.X1*s) + 3; x < int(r.X2*s)-3; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				if cr+cg+cb < 3*0x9000 {
					n++
				}
			}
		}
		return n
	}
	page := doc.Fields[0].Page
	before, after := render(v[0], page), render(v[len(v)-1], page)
	for _, f := range doc.Fields {
		if n := ink(before, f.Rect); n > 5 {
			t.Errorf("%s: %d dark pixels before signing, want none", f.Name, n)
		}
		if n := ink(after, f.Rect); n < 60 {
			t.Errorf("%s: %d dark pixels after signing, want a visible signature", f.Name, n)
		}
	}
	// The QR code in the footer (bottom right) is drawn.
	if n := ink(after, Rect{pageW - marginR - 54, 14, pageW - marginR, 68}); n < 200 {
		t.Errorf("QR code area has %d dark pixels", n)
	}
}

// TestCompanySignsByItsRepresentative: a company without an agent signs under its seal by its legal
// representative, named in the signature block (and on the field).
func TestCompanySignsByItsRepresentative(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	a := sampleAgreement("zh")
	a.Parties[1].Agent = nil
	doc, err := (&Generator{Font: p.font}).Agreement(a)
	if err != nil {
		t.Fatal(err)
	}
	text := squash(pdftotext(t, doc.PDF, 0, 0))
	for _, s := range []string{"被申请人：北京某某科技有限公司（盖章）", "法定代表人：赵六（签名）"} {
		if !strings.Contains(text, squash(s)) {
			t.Errorf("the signature block lacks %q", s)
		}
	}
	if f := doc.Fields[1]; f.Signer != "赵六" {
		t.Errorf("the company's field is signed by %q, want its representative", f.Signer)
	}
}
