package signing

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
	"rsc.io/qr"
)

// This file is a small flow-layout engine on top of gopdf: A4 pages with a header (case number) and a footer
// (page numbers, document ID, verification URL and its QR code), wrapped paragraphs with Chinese line-breaking
// rules, simple tables and signature blocks whose rectangles are recorded as signature fields.

const (
	pageW      = 595.28
	pageH      = 841.89
	marginL    = 62.0
	marginR    = 62.0
	contentTop = 82.0
	contentBot = pageH - 92.0
	contentW   = pageW - marginL - marginR

	sizeTitle = 20.0
	sizeH     = 12.5
	sizeBody  = 10.5
	sizeSmall = 8.5
	sizeTiny  = 7.0
)

// layout lays a document out; it runs twice, the first time only to count pages.
type layout struct {
	pdf   *gopdf.GoPdf
	font  *Font
	lab   labels
	meta  Meta
	title string
	total int // total pages, known in the second pass
	page  int
	// Page check codes: the body text of each page is hashed while it is drawn (hashes); the second pass
	// prints the first pass's codes (prevHashes) in every footer. sigNote, when set, opens every new page
	// with "（此页无正文，为……签署页）".
	chrome     bool
	pageText   []string
	hashes     []string
	prevHashes []string
	sigNote    string
	y          float64
	fields     []Field
	err        error
	qr         *qr.Code
}

func newLayout(font *Font, meta Meta, title string, total int, prevHashes []string) (*layout, error) {
	l := &layout{font: font, lab: labelsFor(meta.Lang), meta: meta, title: title, total: total, prevHashes: prevHashes}
	l.pdf = &gopdf.GoPdf{}
	l.pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	l.pdf.SetInfo(gopdf.PdfInfo{
		Title:        title,
		Subject:      meta.CaseNumber,
		Creator:      "Parley",
		Producer:     "Parley (gopdf)",
		CreationDate: meta.Created,
	})
	if err := l.pdf.AddTTFFontData("cjk", font.data); err != nil {
		return nil, fmt.Errorf("signing: load font into gopdf: %w", err)
	}
	if u := meta.verifyURL(); u != "" {
		code, err := qr.Encode(u, qr.M)
		if err != nil {
			return nil, fmt.Errorf("signing: QR code: %w", err)
		}
		l.qr = code
	}
	l.newPage()
	return l, nil
}

func (l *layout) fail(err error) {
	if err != nil && l.err == nil {
		l.err = err
	}
}

func (l *layout) setFont(size float64) {
	l.fail(l.pdf.SetFont("cjk", "", size))
}

func (l *layout) gray(v uint8) { l.pdf.SetTextColor(v, v, v) }

// text draws s with its top-left corner at (x, y).
func (l *layout) text(x, y, size float64, s string) {
	if s == "" {
		return
	}
	if !l.chrome {
		l.pageText = append(l.pageText, s)
	}
	l.setFont(size)
	l.pdf.SetXY(x, y)
	l.fail(l.pdf.Cell(nil, s))
}

func (l *layout) width(s string, size float64) float64 { return l.font.textWidth(s, size) }

// closePage records the check code of the page being finished.
func (l *layout) closePage() {
	if l.page == 0 {
		return
	}
	l.hashes = append(l.hashes, pageCheckCode(l.meta.DocumentID, l.page, l.pageText))
	l.pageText = nil
}

// pageCheckCode is the first 16 hex digits of SHA-256 over the document ID, the page number and the body
// text drawn on the page, in drawing order (NUL-separated). A page taken from another document, or a page
// whose text differs, shows another code than the one the signed document records for that page.
func pageCheckCode(docID string, page int, text []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "parley-page\x00%s\x00%d", docID, page)
	for _, t := range text {
		h.Write([]byte{0})
		h.Write([]byte(t))
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))[:16])
}

func (l *layout) newPage() {
	l.closePage()
	l.pdf.AddPage()
	l.page++
	l.y = contentTop
	l.chrome = true
	defer func() { l.chrome = false }()
	// Header.
	l.gray(90)
	l.text(marginL, 40, sizeSmall, l.lab.platform)
	if l.meta.CaseNumber != "" {
		s := l.lab.caseNo + l.meta.CaseNumber
		if l.meta.RefLabel != "" {
			s = l.meta.RefLabel + l.meta.CaseNumber
		}
		l.text(pageW-marginR-l.width(s, sizeSmall), 40, sizeSmall, s)
	}
	l.pdf.SetStrokeColor(150, 150, 150)
	l.pdf.SetLineWidth(0.5)
	l.pdf.Line(marginL, 56, pageW-marginR, 56)
	// Footer.
	fy := pageH - 74.0
	l.pdf.Line(marginL, fy, pageW-marginR, fy)
	total := "?"
	if l.total > 0 {
		total = fmt.Sprint(l.total)
	}
	pn := l.lab.pageOf(l.page, total)
	l.text((pageW-l.width(pn, sizeSmall))/2, fy+8, sizeSmall, pn)
	if l.meta.DocumentID != "" {
		s := l.lab.docID + l.meta.DocumentID
		code := "················"
		if l.page <= len(l.prevHashes) {
			code = l.prevHashes[l.page-1]
		}
		s += "　" + l.lab.pageHash + code
		l.text(marginL, fy+24, sizeTiny, s)
	}
	if u := l.meta.verifyURL(); u != "" {
		for i, line := range l.font.wrap(l.lab.verifyAt+u, contentW-70, sizeTiny) {
			l.text(marginL, fy+35+float64(i)*9, sizeTiny, line)
		}
	}
	if l.qr != nil {
		l.drawQR(pageW-marginR-54, fy+6, 54)
	}
	l.gray(0)
	if l.sigNote != "" {
		l.chrome = false
		l.para(l.sigNote, sizeBody, 0, 0)
		l.space(6)
	}
}

// drawQR draws the code as vector squares (runs of dark modules merged) inside a size × size box.
func (l *layout) drawQR(x, y, size float64) {
	n := l.qr.Size
	m := size / float64(n+2)
	l.pdf.SetFillColor(0, 0, 0)
	for row := 0; row < n; row++ {
		for col := 0; col < n; {
			if !l.qr.Black(col, row) {
				col++
				continue
			}
			start := col
			for col < n && l.qr.Black(col, row) {
				col++
			}
			l.pdf.RectFromUpperLeftWithStyle(x+m*float64(start+1), y+m*float64(row+1), m*float64(col-start)+0.05, m+0.05, "F")
		}
	}
}

// ensure starts a new page unless h more points fit.
func (l *layout) ensure(h float64) {
	if l.y+h > contentBot {
		l.newPage()
	}
}

func (l *layout) space(h float64) { l.y += h }

// titleBlock draws the centred title and, below it, the case number.
func (l *layout) titleBlock(title, sub string) {
	l.text((pageW-l.width(title, sizeTitle))/2, l.y, sizeTitle, title)
	l.y += sizeTitle * 1.6
	if sub != "" {
		l.text((pageW-l.width(sub, sizeBody))/2, l.y, sizeBody, sub)
		l.y += sizeBody * 1.8
	}
	l.y += 6
}

func (l *layout) heading(s string) {
	l.ensure(sizeH*1.6 + sizeBody*3)
	l.y += 6
	l.text(marginL, l.y, sizeH, s)
	l.y += sizeH * 1.7
}

// para draws wrapped text; indent is the left indent, hang the extra indent of continuation lines.
func (l *layout) para(s string, size, indent, hang float64) {
	lead := size * 1.65
	for _, p := range strings.Split(strings.TrimSpace(s), "\n") {
		lines := l.font.wrapHanging(p, contentW-indent, contentW-indent-hang, size)
		for i, line := range lines {
			l.ensure(lead)
			x := marginL + indent
			if i > 0 {
				x += hang
			}
			l.text(x, l.y, size, line)
			l.y += lead
		}
	}
}

// field draws "label value" with continuation lines aligned after the label.
func (l *layout) field(label, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	lw := l.width(label, sizeBody)
	lead := sizeBody * 1.65
	lines := l.font.wrap(value, contentW-lw, sizeBody)
	for i, line := range lines {
		l.ensure(lead)
		if i == 0 {
			l.text(marginL, l.y, sizeBody, label)
		}
		l.text(marginL+lw, l.y, sizeBody, line)
		l.y += lead
	}
}

// numbered draws a numbered list.
func (l *layout) numbered(items []string, format func(int) string) {
	for i, it := range items {
		n := format(i + 1)
		l.para(n+strings.TrimSpace(it), sizeBody, 0, l.width(n, sizeBody))
	}
}

// table draws rows under a header; widths are fractions of the content width.
func (l *layout) table(header []string, widths []float64, rows [][]string, size float64) {
	lead := size * 1.45
	pad := 3.0
	colW := make([]float64, len(widths))
	for i, w := range widths {
		colW[i] = w * contentW
	}
	draw := func(cells []string, shade bool) {
		wrapped := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			wrapped[i] = l.font.wrap(c, colW[i]-2*pad, size)
			n = max(n, len(wrapped[i]))
		}
		h := float64(n)*lead + 2*pad
		if l.y+h > contentBot {
			l.newPage()
			if !shade {
				l.tableRow(header, colW, lead, pad, size, true)
			}
		}
		l.tableRow(cells, colW, lead, pad, size, shade)
	}
	draw(header, true)
	for _, r := range rows {
		draw(r, false)
	}
	l.y += 6
}

func (l *layout) tableRow(cells []string, colW []float64, lead, pad, size float64, shade bool) {
	wrapped := make([][]string, len(cells))
	n := 1
	for i, c := range cells {
		wrapped[i] = l.font.wrap(c, colW[i]-2*pad, size)
		n = max(n, len(wrapped[i]))
	}
	h := float64(n)*lead + 2*pad
	if shade {
		l.pdf.SetFillColor(236, 236, 236)
		l.pdf.RectFromUpperLeftWithStyle(marginL, l.y, contentW, h, "F")
	}
	l.pdf.SetStrokeColor(120, 120, 120)
	l.pdf.SetLineWidth(0.4)
	x := marginL
	for i, lines := range wrapped {
		l.pdf.RectFromUpperLeftWithStyle(x, l.y, colW[i], h, "D")
		for j, line := range lines {
			l.text(x+pad, l.y+pad+float64(j)*lead+(lead-size)/2, size, line)
		}
		x += colW[i]
	}
	l.y += h
}

// Signature block geometry.
const (
	sigBoxW = 200.0
	sigBoxH = 66.0
)

// sealBoxH is the height of an organisation's seal box: room for a round seal of about 36 mm.
const sealBoxH = 112.0

// signatureBlock draws a label on the left and an empty box on the right and records the box as field name.
func (l *layout) signatureBlock(name, role, signer string, party int, labelLines []string) {
	boxH := sigBoxH
	if role == RoleOrganisation {
		boxH = sealBoxH
	}
	h := max(boxH, float64(len(labelLines))*sizeBody*1.6) + 14
	l.ensure(h)
	top := l.y
	for i, s := range labelLines {
		l.text(marginL, top+8+float64(i)*sizeBody*1.6, sizeBody, s)
	}
	bx := pageW - marginR - sigBoxW
	// A light frame marks where the signature goes.
	l.pdf.SetStrokeColor(190, 190, 190)
	l.pdf.SetLineWidth(0.4)
	l.pdf.SetLineType("dashed")
	l.pdf.RectFromUpperLeftWithStyle(bx, top, sigBoxW, boxH, "D")
	l.pdf.SetLineType("solid")
	l.fields = append(l.fields, Field{
		Name: name, Role: role, Signer: signer, Party: party, Page: l.page,
		Rect: Rect{X1: bx, Y1: pageH - top - boxH, X2: bx + sigBoxW, Y2: pageH - top},
	})
	l.y = top + h
}

// partySignature draws a party's signature block. A person signs in its box. A company is named with its seal
// (盖章) on a line of its own and signs by a natural person, its agent or else its legal representative, whose
// line has its own box, the field. The seal picture the company uploaded with its letter of authority, if any,
// sits in a box of its own beside (above) that signature, framed solid rather than dashed and captioned 印章图像（非电子签章）:
// a picture printed on the page, not a digital seal and not a field anyone signs.
func (l *layout) partySignature(name string, p Party, party int) {
	lab := l.lab
	role := lab.roleName(p.Role)
	var person, signer string
	switch {
	case p.Agent != nil:
		person, signer = lab.agent+p.Agent.Name+lab.sign, p.Agent.Name
	case p.Kind == Company && p.Representative != "":
		person, signer = lab.legalRep+p.Representative+lab.sign, p.Representative
	}
	if p.Kind != Company {
		lines := []string{role + lab.colon + p.Name + lab.sign}
		if person != "" {
			lines = append(lines, person)
		}
		l.signatureBlock(name, p.Role, cmp.Or(signer, p.Name), party, lines)
		return
	}
	if person == "" { // nobody named: the company's line is the signature's
		l.signatureBlock(name, p.Role, p.Name, party, l.font.wrap(role+lab.colon+p.Name+lab.seal, contentW-sigBoxW-20, sizeBody))
		return
	}
	var seal image.Image
	if p.SealImage != nil {
		img, err := DecodeSealImage(p.SealImage)
		if err != nil {
			l.fail(err)
			return
		}
		seal = img
	}
	// The company's line runs across the page unless the seal picture's box stands beside it.
	wrapW := contentW
	if seal != nil {
		wrapW = contentW - sigBoxW - 20
	}
	company := l.font.wrap(role+lab.colon+p.Name+lab.seal, wrapW, sizeBody)
	// The company's line, with the seal picture's box when there is one.
	h := float64(len(company)) * sizeBody * 1.6
	if seal != nil {
		h = max(h, sealBoxH)
	}
	// The company's line and the signature stay on one page together.
	l.ensure(h + 6 + max(sigBoxH, sizeBody*1.6) + 14)
	top := l.y
	for i, s := range company {
		l.text(marginL, top+8+float64(i)*sizeBody*1.6, sizeBody, s)
	}
	if seal != nil {
		bx := pageW - marginR - sigBoxW
		l.pdf.SetStrokeColor(150, 150, 150)
		l.pdf.SetLineWidth(0.4)
		l.pdf.RectFromUpperLeftWithStyle(bx, top, sigBoxW, sealBoxH, "D")
		capH := sizeSmall * 1.8
		side := sealBoxH - capH - 8
		b := seal.Bounds()
		w, ih := side, side
		if b.Dx() > b.Dy() {
			ih = side * float64(b.Dy()) / float64(b.Dx())
		} else {
			w = side * float64(b.Dx()) / float64(b.Dy())
		}
		if err := l.pdf.ImageFrom(seal, bx+(sigBoxW-w)/2, top+4+(side-ih)/2, &gopdf.Rect{W: w, H: ih}); err != nil {
			l.fail(fmt.Errorf("signing: seal image: %w", err))
			return
		}
		l.gray(90)
		cw := l.width(lab.sealImage, sizeSmall)
		l.text(bx+(sigBoxW-cw)/2, top+sealBoxH-capH+1, sizeSmall, lab.sealImage)
		l.gray(0)
	}
	l.y = top + h + 6
	l.signatureBlock(name, p.Role, signer, party, []string{person})
}

// Line breaking.

// noLineStart are characters that must not begin a line (closing punctuation).
const noLineStart = "，。、；：？！）》」』】〉”’…—·,.;:?!)]}%"

// noLineEnd are characters that must not end a line (opening punctuation).
const noLineEnd = "（《「『【〈“‘([{"

func isWide(r rune) bool {
	return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x30FF) || (r >= 0xFF00 && r <= 0xFFEF)
}

func canBreak(a, b rune) bool {
	if strings.ContainsRune(noLineStart, b) || strings.ContainsRune(noLineEnd, a) {
		return false
	}
	return a == ' ' || b == ' ' || isWide(a) || isWide(b) || a == '/' || a == '-'
}

func (f *Font) runeWidth(r rune, size float64) float64 {
	return float64(f.ttf.advance(int(f.ttf.cmap[r]))) * size / float64(f.ttf.unitsPerEm)
}

// wrap breaks s into lines no wider than width.
func (f *Font) wrap(s string, width, size float64) []string {
	return f.wrapHanging(s, width, width, size)
}

// wrapHanging breaks s; the first line may be first wide, the others rest wide.
func (f *Font) wrapHanging(s string, first, rest, size float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		runes := []rune(strings.TrimRight(para, " \t\r"))
		if len(runes) == 0 {
			out = append(out, "")
			continue
		}
		start, limit := 0, first
		for start < len(runes) {
			w, i, lastBreak := 0.0, start, -1
			for i < len(runes) {
				rw := f.runeWidth(runes[i], size)
				if w+rw > limit && i > start {
					break
				}
				w += rw
				i++
				if i < len(runes) && canBreak(runes[i-1], runes[i]) {
					lastBreak = i
				}
			}
			end := i
			if i < len(runes) {
				switch {
				case strings.ContainsRune(noLineStart, runes[i]):
					end = i + 1 // hang the punctuation mark in the margin
				case lastBreak > start && !canBreak(runes[i-1], runes[i]):
					end = lastBreak
				}
			}
			out = append(out, strings.TrimRight(string(runes[start:end]), " "))
			start, limit = end, rest
			for start < len(runes) && runes[start] == ' ' {
				start++
			}
		}
	}
	return out
}
