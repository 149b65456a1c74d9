package signing

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// printableMargin is the band along every page edge that office printers may not print (5 mm): nothing may be
// drawn there.
const printableMargin = 5 / 25.4 * 72

// grayPages renders every page of pdf with pdftoppm as 8-bit gray images (PGM) at dpi.
func grayPages(t *testing.T, pdf []byte, dpi int) [][][]byte {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(tool(t, "pdftoppm"), "-gray", "-r", fmt.Sprint(dpi), writeTemp(t, pdf), filepath.Join(dir, "p")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "p-*.pgm"))
	var pages [][][]byte
	for i := 1; i <= len(files); i++ {
		name := ""
		for _, f := range files {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSuffix(filepath.Base(f)[2:], ".pgm"), "%d", &n); err == nil && n == i {
				name = f
			}
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(bytes.NewReader(raw))
		var w, h, maxv int
		if _, err := fmt.Fscanf(r, "P5\n%d %d\n%d\n", &w, &h, &maxv); err != nil {
			t.Fatalf("%s: not a PGM: %v", name, err)
		}
		rest := raw[len(raw)-w*h:]
		rows := make([][]byte, h)
		for y := range h {
			rows[y] = rest[y*w : (y+1)*w]
		}
		pages = append(pages, rows)
	}
	return pages
}

// inkIn counts dark pixels in the PDF rectangle r (points, origin bottom left), leaving out a border of inset
// pixels.
func inkIn(page [][]byte, r Rect, dpi, inset int) int {
	s := float64(dpi) / 72
	n := 0
	for y := int((pageH-r.Y2)*s) + inset; y < int((pageH-r.Y1)*s)-inset && y < len(page); y++ {
		for x := int(r.X1*s) + inset; x < int(r.X2*s)-inset && x < len(page[y]); x++ {
			if x >= 0 && y >= 0 && page[y][x] < 0xA0 {
				n++
			}
		}
	}
	return n
}

// inkOutsidePrintable counts pixels that are not white within printableMargin of the page edges.
func inkOutsidePrintable(page [][]byte, dpi int) int {
	m := int(math.Ceil(printableMargin * float64(dpi) / 72))
	n := 0
	for y, row := range page {
		for x, v := range row {
			if (y < m || y >= len(page)-m || x < m || x >= len(row)-m) && v < 0xF0 {
				n++
			}
		}
	}
	return n
}

// TestRenderEveryDocumentType renders every document type, unsigned and signed, with pdftoppm: each signature
// box is empty before and inked after signing, nothing is drawn in the unprintable band along the edges, every
// page shows the document ID and its page check code, and a page holding signatures only says so.
func TestRenderEveryDocumentType(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	gen := &Generator{Font: p.font}
	const caseNo = "(2025)京0108民诉前调1234号"
	ctx := context.Background()

	// A long agreement whose signatures fall on a page of their own.
	long := sampleAgreement("zh")
	long.Cause = "侵害作品信息网络传播权纠纷"
	long.Referral = ReferralEntrusted
	for i := 0; i < 14; i++ { // with LXGW WenKai the signatures then start a page of their own
		long.Terms = append(long.Terms, fmt.Sprintf("第%d项补充约定：双方同意就本纠纷涉及的其他作品另行协商，协商不成的，任何一方均可依法向人民法院起诉。", i+1))
	}
	record := sampleRecord("zh")
	type docCase struct {
		name, id string
		doc      *Document
	}
	var docs []docCase
	for _, a := range []*Agreement{sampleAgreement("zh"), long} { // English: TestEnglishAgreement
		d, err := gen.Agreement(a)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, docCase{"agreement-" + a.Lang + fmt.Sprint(d.Pages), a.DocumentID, d})
	}
	rd, err := gen.SessionRecord(record)
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, docCase{"session-record", record.DocumentID, rd})
	cd, err := gen.Completion(&Completion{Meta: Meta{DocumentID: "CERT-1", CaseNumber: caseNo, VerifyBaseURL: "https://parley.example.cn", Created: testNow},
		DocumentTitle: "调解协议书", SignedDocumentID: "DOC-1", DocumentSHA256: strings.Repeat("ab", 32), DocumentPages: 2, Completed: testNow,
		Signers: []CompletionSigner{{Field: "sig-applicant-1", Name: "张三", Role: RoleApplicant, SignedAt: testNow, CertSHA256: strings.Repeat("cd", 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, docCase{"completion", "CERT-1", cd})

	const dpi = 40
	for _, dc := range docs {
		signed := dc.doc.PDF
		for i, f := range dc.doc.Fields {
			switch f.Role {
			case RoleOrganisation, RolePlatform, RoleCourt:
				signed = p.sealSign(t, signed, f.Name, testNow.Add(time.Duration(i)*time.Minute))
			default:
				signed = p.deviceSign(t, signed, f.Name, Subject{Name: f.Signer, Role: f.Role, CaseNumber: caseNo}, i+1, testNow.Add(time.Duration(i)*time.Minute))
			}
		}
		lta, err := MakeLTA(ctx, signed, &CASource{CA: p.ca}, ValidationOptions{Extra: p.tsa.Certificates()}, p.tsa)
		if err != nil {
			t.Fatal(err)
		}
		before, after := grayPages(t, dc.doc.PDF, dpi), grayPages(t, lta, dpi)
		if len(before) != dc.doc.Pages || len(after) != dc.doc.Pages {
			t.Fatalf("%s: rendered %d and %d pages, want %d", dc.name, len(before), len(after), dc.doc.Pages)
		}
		for _, f := range dc.doc.Fields {
			if n := inkIn(before[f.Page-1], f.Rect, dpi, 2); n > 3 {
				t.Errorf("%s %s: %d dark pixels before signing", dc.name, f.Name, n)
			}
			if n := inkIn(after[f.Page-1], f.Rect, dpi, 2); n < 40 {
				t.Errorf("%s %s: %d dark pixels after signing, want a visible signature", dc.name, f.Name, n)
			}
		}
		for i, pg := range after {
			if n := inkOutsidePrintable(pg, dpi); n > 0 {
				t.Errorf("%s page %d: %d pixels drawn within %.0f pt of the edge", dc.name, i+1, n, printableMargin)
			}
		}
		if len(dc.doc.PageCodes) != dc.doc.Pages {
			t.Fatalf("%s: %d page codes for %d pages", dc.name, len(dc.doc.PageCodes), dc.doc.Pages)
		}
		seen := map[string]bool{}
		for pg := 1; pg <= dc.doc.Pages; pg++ {
			text := squash(pdftotext(t, dc.doc.PDF, pg, pg))
			code := dc.doc.PageCodes[pg-1]
			if !strings.Contains(text, code) || seen[code] || !strings.Contains(text, squash(dc.id)) {
				t.Errorf("%s page %d: page code %s or document ID missing or repeated:\n%s", dc.name, pg, code, text)
			}
			seen[code] = true
		}
	}
	// However the text falls, a page with signatures only says so and whose agreement it belongs to, and a
	// page with agreement text does not.
	note := squash("（此页无正文，为" + "张三与北京某某科技有限公司侵害作品信息网络传播权纠纷调解协议书签署页）")
	check := func(n int, d *Document) (found bool) {
		for pg := d.Fields[0].Page; pg <= d.Pages; pg++ {
			text := squash(pdftotext(t, d.PDF, pg, pg))
			hasNote := strings.Contains(text, note)
			hasText := strings.Contains(text, "补充约定") || strings.Contains(text, "本协议自")
			if hasNote && hasText {
				t.Errorf("%d terms, page %d: the note is on a page with agreement text", n, pg)
			}
			found = found || hasNote
		}
		return found
	}
	found := check(14, docs[1].doc)
	for n := 10; n < 40 && !found; n++ { // another font breaks the pages elsewhere
		a := sampleAgreement("zh")
		a.Cause = long.Cause
		for i := 0; i < n; i++ {
			a.Terms = append(a.Terms, fmt.Sprintf("第%d项补充约定：双方同意就本纠纷涉及的其他作品另行协商，协商不成的，任何一方均可依法向人民法院起诉。", i+1))
		}
		d, err := gen.Agreement(a)
		if err != nil {
			t.Fatal(err)
		}
		found = check(n, d)
	}
	if !found {
		t.Error("no layout put the signatures on a page of their own with the note")
	}
	d := docs[1].doc
	if first := squash(pdftotext(t, d.PDF, 1, 1)); strings.Contains(first, "此页无正文") || !strings.Contains(first, "委托调解法院") || !strings.Contains(first, "案由：侵害作品信息网络传播权纠纷") {
		t.Errorf("first page: cause of action, court and referral wrong:\n%s", first)
	}
}

// TestAgreementStatesWhatACourtExpects: cause of action, addresses (住所 / 住址), an individual's sex and date
// of birth, each agent's scope of authority and the court with its kind of referral.
func TestAgreementStatesWhatACourtExpects(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	a := sampleAgreement("zh")
	a.Cause = "侵害商标权纠纷"
	a.Referral = ReferralDelegated
	for i := range a.Parties {
		if a.Parties[i].Kind == Person {
			a.Parties[i].Sex, a.Parties[i].Birth, a.Parties[i].Address = SexFemale, time.Date(1988, 6, 3, 0, 0, 0, 0, testZone), "北京市朝阳区某某路 8 号"
		} else {
			a.Parties[i].Address = "北京市海淀区某某大街 1 号"
		}
		if a.Parties[i].Agent == nil {
			a.Parties[i].Agent = &Agent{Name: "赵律师", Firm: "北京某某律师事务所"}
		}
		a.Parties[i].Agent.Authority = []string{AuthoritySpecial, "一般授权"}[i%2]
	}
	doc, err := (&Generator{Font: p.font}).Agreement(a)
	if err != nil {
		t.Fatal(err)
	}
	text := squash(pdftotext(t, doc.PDF, 1, 1))
	for _, want := range []string{"案由：侵害商标权纠纷", "委派调解法院：", "性别：女", "出生日期：1988年6月3日", "住址：北京市朝阳区某某路8号", "住所：北京市海淀区某某大街1号", "代理权限：特别授权", "代理权限：一般授权"} {
		if !strings.Contains(text, squash(want)) {
			t.Errorf("agreement lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []func(*Agreement){
		func(a *Agreement) { a.Referral = "sent" },
		func(a *Agreement) { a.Parties[0].Sex = "x" },
		func(a *Agreement) { a.Parties[0].Agent = &Agent{Name: "某", Authority: "全权"} },
	} {
		b := sampleAgreement("zh")
		bad(b)
		if _, err := (&Generator{Font: p.font}).Agreement(b); err == nil {
			t.Error("an invalid referral, sex or authority was accepted")
		}
	}
}

// TestSealNameNeverCrowds: at any length of name the characters along a seal's rim keep apart from each other,
// stay inside the rim and clear of the star and the role text in the middle.
func TestSealNameNeverCrowds(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	names := []string{"调", "某某调解中心", "北京市海淀区知识产权纠纷人民调解委员会", "中国（北京）知识产权保护中心调解室",
		strings.Repeat("知识产权", 12), "Beijing IP Mediation Center Co., Ltd.", strings.Repeat("深圳市南山区科技园某某知识产权服务有限公司", 3)}
	for _, name := range names {
		for _, box := range [][2]float64{{150, 110}, {120, 120}, {90, 80}} {
			w, h := box[0], box[1]
			r := (min(w, h-10) - 4) / 2
			stroke := max(0.8, r*0.05)
			runes := []rune(name)
			widths := make([]float64, len(runes))
			for i, ch := range runes {
				widths[i] = p.font.runeWidth(ch, 1)
			}
			gs := sealNameLayout(widths, 0, 0, r, stroke)
			if len(gs) != len(runes) {
				t.Fatalf("%s: %d glyphs placed of %d", name, len(gs), len(runes))
			}
			// Each glyph's box: advance × (descent 0.12 … ascent 0.88) of its size, rotated by phi.
			corners := func(g sealGlyph) [4][2]float64 {
				c, s := math.Cos(g.phi), math.Sin(g.phi)
				var out [4][2]float64
				for i, pt := range [4][2]float64{{0, -0.12 * g.size}, {g.advance, -0.12 * g.size}, {g.advance, 0.88 * g.size}, {0, 0.88 * g.size}} {
					out[i] = [2]float64{g.x + pt[0]*c - pt[1]*s, g.y + pt[0]*s + pt[1]*c}
				}
				return out
			}
			for i, g := range gs {
				for _, pt := range corners(g) {
					d := math.Hypot(pt[0], pt[1])
					if d > r-stroke {
						t.Errorf("%s in %v×%v: glyph %d reaches the rim (%.2f > %.2f)", name, w, h, i, d, r-stroke)
					}
					if d < r*0.30 {
						t.Errorf("%s: glyph %d reaches the star (%.2f)", name, i, d)
					}
					if pt[1] < -r*0.55+r*0.2 && math.Abs(pt[0]) < 0.6*r {
						t.Errorf("%s: glyph %d reaches the role text", name, i)
					}
				}
				if i > 0 && overlap(corners(gs[i-1]), corners(g)) {
					t.Errorf("%s in %v×%v: glyphs %d and %d overlap (size %.2f)", name, w, h, i-1, i, g.size)
				}
			}
		}
	}
}

// overlap reports whether two convex quadrilaterals intersect (separating axis theorem).
func overlap(a, b [4][2]float64) bool {
	for _, poly := range [][4][2]float64{a, b} {
		for i := range 4 {
			p, q := poly[i], poly[(i+1)%4]
			nx, ny := q[1]-p[1], p[0]-q[0]
			minA, maxA := math.Inf(1), math.Inf(-1)
			minB, maxB := math.Inf(1), math.Inf(-1)
			for _, v := range a {
				d := v[0]*nx + v[1]*ny
				minA, maxA = min(minA, d), max(maxA, d)
			}
			for _, v := range b {
				d := v[0]*nx + v[1]*ny
				minB, maxB = min(minB, d), max(maxB, d)
			}
			if maxA <= minB || maxB <= minA {
				return false
			}
		}
	}
	return true
}

// sealPicture draws a red round seal, as a company would photograph or scan its own, as PNG.
func sealPicture(t testing.TB) []byte {
	t.Helper()
	const n = 320
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{200, 20, 30, 255}
	for y := range n {
		for x := range n {
			dx, dy := float64(x-n/2), float64(y-n/2)
			d := math.Hypot(dx, dy)
			// A ring, and a star-like disc in the middle.
			if (d > 140 && d < 156) || d < 40 {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCompanySealImageBesideItsSignature (issue 13 §8): the seal picture a company uploaded with its letter of
// authority is printed in a box of its own beside (above) the signature of the person who signs for it, captioned
// as an image and not a digital seal; the agent's line has its own box (the field), which stays empty until
// signed; no field is added for the picture.
func TestCompanySealImageBesideItsSignature(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	plain, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	a := sampleAgreement("zh")
	a.Parties[1].SealImage = sealPicture(t)
	doc, err := (&Generator{Font: p.font}).Agreement(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Fields) != len(plain.Fields) {
		t.Errorf("%d fields with a seal picture, want %d as without: the picture is not a field", len(doc.Fields), len(plain.Fields))
	}
	text := squash(pdftotext(t, doc.PDF, 0, 0))
	for _, s := range []string{"被申请人：北京某某科技有限公司（盖章）", "印章图像（非电子签章）", "委托代理人：" + a.Parties[1].Agent.Name + "（签名）"} {
		if !strings.Contains(text, squash(s)) {
			t.Errorf("the signature block lacks %q", s)
		}
	}
	f := doc.Fields[1]
	if f.Signer != a.Parties[1].Agent.Name {
		t.Errorf("the company's field is signed by %q, want its agent %q", f.Signer, a.Parties[1].Agent.Name)
	}
	const dpi = 72
	page := grayPages(t, doc.PDF, dpi)[f.Page-1]
	sealBox := Rect{X1: f.Rect.X1, Y1: f.Rect.Y2 + 6, X2: f.Rect.X2, Y2: f.Rect.Y2 + 6 + sealBoxH}
	if n := inkIn(page, sealBox, dpi, 3); n < 400 {
		t.Errorf("%d dark pixels in the seal picture's box, want the picture", n)
	}
	if n := inkIn(page, f.Rect, dpi, 3); n > 5 {
		t.Errorf("%d dark pixels in the agent's signature box before signing, want none", n)
	}
	if n := inkOutsidePrintable(page, dpi); n > 0 {
		t.Errorf("%d pixels drawn within %v pt of the page edges", n, printableMargin)
	}
	if keep := os.Getenv("PARLEY_KEEP_RENDER"); keep != "" {
		os.WriteFile(filepath.Join(keep, "agreement-seal-image.pdf"), doc.PDF, 0o644)
	}

	// Only a company has a seal picture, and it must be a picture.
	for name, mod := range map[string]func(*Agreement){
		"person":  func(a *Agreement) { a.Parties[0].SealImage = sealPicture(t) },
		"not png": func(a *Agreement) { a.Parties[1].SealImage = []byte("%PDF-1.7 not a picture") },
	} {
		a := sampleAgreement("zh")
		mod(a)
		if _, err := (&Generator{Font: p.font}).Agreement(a); err == nil {
			t.Errorf("%s: generated, want a refusal", name)
		}
	}
}
