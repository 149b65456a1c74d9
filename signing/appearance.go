package signing

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Appearance is the visible part of a signature: the handwritten image (or seal), the signer's name and role and
// the signing time, drawn into the signature field's rectangle.
type Appearance struct {
	Image *SignatureImage // drawn signature or seal image; optional
	Name  string          // printed name, e.g. 张三
	Role  string          // printed role, e.g. 申请人 or Applicant
	Lang  string          // "zh" (default) or "en", for the time line
	Font  *Font           // font for the text; required when Name, Role or the time line has text
	// Seal draws, when there is no Image, a round red seal: Name along the rim, a star, Role (e.g. 调解专用章)
	// under it, and the time line below the seal. For organisation seals without a scanned seal image.
	Seal bool
	// Stamp draws a court's confirmation stamp instead (stamp.go).
	Stamp *CourtStamp
	// Location of the time line, e.g. time.FixedZone("CST", 8*3600); the signing time's own zone when nil.
	Zone *time.Location
}

// Rect is a rectangle in PDF user space (points, origin at the bottom left of the page).
type Rect struct{ X1, Y1, X2, Y2 float64 }

// Empty reports whether r has no area.
func (r Rect) Empty() bool { return r.X2 <= r.X1 || r.Y2 <= r.Y1 }

func (r Rect) pdf() string {
	return fmt.Sprintf("[%s %s %s %s]", pdfNum(r.X1), pdfNum(r.Y1), pdfNum(r.X2), pdfNum(r.Y2))
}

// timeLine formats the signing time for an appearance.
func timeLine(t time.Time, lang string, zone *time.Location) string {
	if zone != nil {
		t = t.In(zone)
	}
	ts := t.Format("2006-01-02 15:04:05 -07:00")
	if lang == "en" {
		return "Signed " + ts
	}
	return "签署时间 " + ts
}

// addFont embeds a subset of f covering text and returns the Type0 font reference.
func (u *update) addFont(f *Font, text string) (ref, *fontSubset, error) {
	s, err := f.ttf.subset(text)
	if err != nil {
		return ref{}, nil, err
	}
	t := f.ttf
	scale := func(v int) int { return v * 1000 / t.unitsPerEm }
	name := s.tag + "+" + t.psName
	file := u.add(stream(fmt.Sprintf("/Filter /FlateDecode /Length1 %d", len(s.data)), deflate(s.data)))
	desc := u.add([]byte(fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %s >>",
		name, scale(t.bbox[0]), scale(t.bbox[1]), scale(t.bbox[2]), scale(t.bbox[3]), scale(t.ascent), scale(t.descent), scale(t.capHeight), file)))
	var w strings.Builder
	for i, v := range s.widths {
		if i > 0 {
			w.WriteByte(' ')
		}
		fmt.Fprintf(&w, "%d", v)
	}
	cid := u.add([]byte(fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %s /DW 1000 /W [0 [%s]] /CIDToGIDMap /Identity >>",
		name, desc, w.String())))
	toUni := u.add(stream("/Filter /FlateDecode", deflate(toUnicodeCMap(s))))
	font := u.add([]byte(fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%s] /ToUnicode %s >>", name, cid, toUni)))
	return font, s, nil
}

// toUnicodeCMap maps the subset's CIDs back to Unicode so text can be extracted and searched.
func toUnicodeCMap(s *fontSubset) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var cids []int
	for cid := range s.runes {
		cids = append(cids, cid)
	}
	slices.Sort(cids)
	for len(cids) > 0 {
		n := min(len(cids), 100)
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, cid := range cids[:n] {
			fmt.Fprintf(&b, "<%04X> <%s>\n", cid, utf16Hex(s.runes[cid]))
		}
		b.WriteString("endbfchar\n")
		cids = cids[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}

func utf16Hex(r rune) string {
	if r >= 0x10000 {
		r -= 0x10000
		return fmt.Sprintf("%04X%04X", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
	}
	return fmt.Sprintf("%04X", r)
}

// encodeText returns the Identity-H hex string for s in subset fs.
func encodeText(fs *fontSubset, s string) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range s {
		fmt.Fprintf(&b, "%04X", fs.cid[r])
	}
	b.WriteByte('>')
	return b.String()
}

// addImage embeds a signature image with its soft mask and returns the image reference.
func (u *update) addImage(img *SignatureImage) ref {
	mask := u.add(stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", img.Width, img.Height), deflate(img.alpha)))
	return u.add(stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode /SMask %s", img.Width, img.Height, mask), deflate(img.rgb)))
}

// addAppearance draws the appearance into a form XObject of size w × h and returns its reference.
func (u *update) addAppearance(a Appearance, w, h float64, when time.Time) (ref, error) {
	nameLine := strings.TrimSpace(a.Name)
	if role := strings.TrimSpace(a.Role); role != "" {
		if a.Lang == "en" {
			nameLine += " (" + role + ")"
		} else {
			nameLine += "（" + role + "）"
		}
	}
	if a.Stamp != nil {
		return u.addStampAppearance(a, w, h)
	}
	if a.Seal && a.Image == nil {
		return u.addSealAppearance(a, w, h, when)
	}
	lines := []string{}
	if nameLine != "" {
		lines = append(lines, nameLine)
	}
	lines = append(lines, timeLine(when, a.Lang, a.Zone))
	if a.Font == nil {
		return ref{}, fmt.Errorf("signing: appearance needs a font for %q", strings.Join(lines, " / "))
	}
	const margin = 2.0
	size := min(9, h/7)
	if a.Image == nil {
		size = min(11, h/(2.6*float64(len(lines))))
	}
	for _, l := range lines {
		if tw := a.Font.textWidth(l, size); tw > w-2*margin {
			size = size * (w - 2*margin) / tw
		}
	}
	lead := size * 1.25
	textH := lead * float64(len(lines))

	font, fs, err := u.addFont(a.Font, strings.Join(lines, ""))
	if err != nil {
		return ref{}, err
	}
	var c bytes.Buffer
	res := fmt.Sprintf("/Font << /F0 %s >>", font)
	if a.Image != nil {
		img := u.addImage(a.Image)
		res += fmt.Sprintf(" /XObject << /Im0 %s >>", img)
		boxW, boxH := w-2*margin, h-2*margin-textH
		if boxH > 4 {
			s := min(boxW/float64(a.Image.Width), boxH/float64(a.Image.Height))
			iw, ih := float64(a.Image.Width)*s, float64(a.Image.Height)*s
			x := margin + (boxW-iw)/2
			y := margin + textH + (boxH-ih)/2
			fmt.Fprintf(&c, "q %s 0 0 %s %s %s cm /Im0 Do Q\n", pdfNum(iw), pdfNum(ih), pdfNum(x), pdfNum(y))
		}
	} else {
		// No image: a thin frame so the seal or signature block is still visibly filled.
		fmt.Fprintf(&c, "q 0.75 0.1 0.1 RG 0.8 w %s %s %s %s re S Q\n", pdfNum(margin/2), pdfNum(margin/2), pdfNum(w-margin), pdfNum(h-margin))
	}
	y := margin + textH - lead + (lead-size)/2 + size*0.2
	if a.Image == nil {
		y = (h+textH)/2 - lead + (lead-size)/2 + size*0.2
	}
	for _, l := range lines {
		x := margin + (w-2*margin-a.Font.textWidth(l, size))/2
		fmt.Fprintf(&c, "BT /F0 %s Tf 0 0 0 rg %s %s Td %s Tj ET\n", pdfNum(size), pdfNum(x), pdfNum(y), encodeText(fs, l))
		y -= lead
	}
	return u.add(stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources << %s /ProcSet [/PDF /Text /ImageC] >> /Filter /FlateDecode", pdfNum(w), pdfNum(h), res), deflate(c.Bytes()))), nil
}

// addSealAppearance draws a round seal in vector graphics.
func (u *update) addSealAppearance(a Appearance, w, h float64, when time.Time) (ref, error) {
	name := strings.TrimSpace(a.Name)
	role := strings.TrimSpace(a.Role)
	tl := timeLine(when, a.Lang, a.Zone)
	if a.Font == nil {
		return ref{}, fmt.Errorf("signing: seal appearance needs a font")
	}
	font, fs, err := u.addFont(a.Font, name+role+tl)
	if err != nil {
		return ref{}, err
	}
	const margin = 2.0
	tsize := min(7.5, h/9)
	if tw := a.Font.textWidth(tl, tsize); tw > w-2*margin {
		tsize *= (w - 2*margin) / tw
	}
	textH := tsize * 1.4
	d := min(w, h-textH) - 2*margin
	r := d / 2
	cx, cy := w/2, textH+(h-textH)/2
	stroke := max(0.8, r*0.05)
	var c bytes.Buffer
	c.WriteString("q 0.80 0.08 0.10 RG 0.80 0.08 0.10 rg\n")
	// The rim: a circle from four Bézier arcs.
	k := 0.5523 * (r - stroke/2)
	rr := r - stroke/2
	fmt.Fprintf(&c, "%s w %s %s m ", pdfNum(stroke), pdfNum(cx+rr), pdfNum(cy))
	fmt.Fprintf(&c, "%s %s %s %s %s %s c ", pdfNum(cx+rr), pdfNum(cy+k), pdfNum(cx+k), pdfNum(cy+rr), pdfNum(cx), pdfNum(cy+rr))
	fmt.Fprintf(&c, "%s %s %s %s %s %s c ", pdfNum(cx-k), pdfNum(cy+rr), pdfNum(cx-rr), pdfNum(cy+k), pdfNum(cx-rr), pdfNum(cy))
	fmt.Fprintf(&c, "%s %s %s %s %s %s c ", pdfNum(cx-rr), pdfNum(cy-k), pdfNum(cx-k), pdfNum(cy-rr), pdfNum(cx), pdfNum(cy-rr))
	fmt.Fprintf(&c, "%s %s %s %s %s %s c S\n", pdfNum(cx+k), pdfNum(cy-rr), pdfNum(cx+rr), pdfNum(cy-k), pdfNum(cx+rr), pdfNum(cy))
	// The star.
	so, si := r*0.26, r*0.26*0.382
	for i := 0; i < 10; i++ {
		rad := so
		if i%2 == 1 {
			rad = si
		}
		ang := math.Pi/2 + float64(i)*math.Pi/5
		op := "l"
		if i == 0 {
			op = "m"
		}
		fmt.Fprintf(&c, "%s %s %s ", pdfNum(cx+rad*math.Cos(ang)), pdfNum(cy+r*0.05+rad*math.Sin(ang)), op)
	}
	c.WriteString("h f\n")
	// The name along the upper rim, each character upright towards the rim.
	runes := []rune(name)
	widths := make([]float64, len(runes))
	for i, ch := range runes {
		widths[i] = a.Font.runeWidth(ch, 1)
	}
	for _, g := range sealNameLayout(widths, cx, cy, r, stroke) {
		fmt.Fprintf(&c, "BT /F0 %s Tf %s %s %s %s %s %s Tm %s Tj ET\n", pdfNum(g.size),
			pdfNum(math.Cos(g.phi)), pdfNum(math.Sin(g.phi)), pdfNum(-math.Sin(g.phi)), pdfNum(math.Cos(g.phi)), pdfNum(g.x), pdfNum(g.y), encodeText(fs, string(runes[g.i])))
	}
	if role != "" {
		size := min(r*0.2, (1.2*r)/max(1, a.Font.textWidth(role, 1)))
		fmt.Fprintf(&c, "BT /F0 %s Tf %s %s Td %s Tj ET\n", pdfNum(size), pdfNum(cx-a.Font.textWidth(role, size)/2), pdfNum(cy-r*0.55), encodeText(fs, role))
	}
	c.WriteString("Q\n")
	fmt.Fprintf(&c, "BT /F0 %s Tf 0 0 0 rg %s %s Td %s Tj ET\n", pdfNum(tsize), pdfNum((w-a.Font.textWidth(tl, tsize))/2), pdfNum(margin+tsize*0.3), encodeText(fs, tl))
	return u.add(stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources << /Font << /F0 %s >> /ProcSet [/PDF /Text] >> /Filter /FlateDecode", pdfNum(w), pdfNum(h), font), deflate(c.Bytes()))), nil
}

// sealGlyph is one character of a seal's curved name: its origin (x, y), rotation phi, size and advance
// width (at that size).
type sealGlyph struct {
	i             int
	x, y, phi     float64
	size, advance float64
}

// sealMaxSpan is the largest arc the name covers (240°, the upper rim down to 30° below the horizontal).
const sealMaxSpan = 4 * math.Pi / 3

// sealNameLayout places characters of the given unit advance widths along the upper rim of a seal of radius
// r centred at (cx, cy): upright towards the rim, baseline on a circle inside the rim, spaced by their own
// widths plus 8 %. The size is the largest (at most 0.3 r) at which the whole name fits in sealMaxSpan on the
// baseline circle, which is where neighbouring characters come closest, so at any length of name the
// characters neither touch each other nor the rim; a long name gets smaller characters, not tighter ones.
func sealNameLayout(widths []float64, cx, cy, r, stroke float64) []sealGlyph {
	total := 0.0
	for _, w := range widths {
		total += w
	}
	if len(widths) == 0 || total <= 0 {
		return nil
	}
	const gap, lift = 1.08, 0.95
	inner := r - 1.6*stroke // the baseline circle is inner − lift·size
	// size·total·gap ≤ span·(inner − lift·size), span = sealMaxSpan at most.
	size := min(r*0.3, sealMaxSpan*inner/(gap*total+lift*sealMaxSpan))
	rb := inner - lift*size
	span := size * total * gap / rb
	out := make([]sealGlyph, 0, len(widths))
	at := 0.0 // arc length used so far, along the baseline circle
	for i, w := range widths {
		adv := w * size
		mid := at + adv*gap/2
		at += adv * gap
		theta := math.Pi/2 + span/2 - mid/rb
		phi := theta - math.Pi/2
		x := cx + rb*math.Cos(theta) - adv/2*math.Cos(phi)
		y := cy + rb*math.Sin(theta) - adv/2*math.Sin(phi)
		out = append(out, sealGlyph{i: i, x: x, y: y, phi: phi, size: size, advance: adv})
	}
	return out
}
