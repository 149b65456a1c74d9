package signing

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// CourtStamp is the visible mark of a court's judicial confirmation (司法确认) on a document's page: a red
// rectangular stamp with the court's name, the words 司法确认 / Judicially confirmed, the date and the case number.
type CourtStamp struct {
	Court      string
	CaseNumber string
	Date       time.Time
}

// CourtStampRect is where the court's stamp goes on the last page of a generated document: the bottom right, above
// the footer (over the end of the text, as a stamp on paper would be).
func CourtStampRect() Rect {
	const w, h = 210.0, 96.0
	x2 := pageW - marginR
	y1 := pageH - contentBot + 4
	return Rect{X1: x2 - w, Y1: y1, X2: x2, Y2: y1 + h}
}

// addStampAppearance draws a CourtStamp into a w × h form.
func (u *update) addStampAppearance(a Appearance, w, h float64) (ref, error) {
	st := a.Stamp
	if a.Font == nil {
		return ref{}, fmt.Errorf("signing: court stamp needs a font")
	}
	en := a.Lang == "en"
	word := "司法确认"
	date := st.Date.Format("2006年1月2日")
	caseLine := "案号：" + st.CaseNumber
	if en {
		word = "JUDICIALLY CONFIRMED"
		date = st.Date.Format("2 January 2006")
		caseLine = "Case " + st.CaseNumber
	}
	court := strings.TrimSpace(st.Court)
	font, fs, err := u.addFont(a.Font, court+word+date+caseLine)
	if err != nil {
		return ref{}, err
	}
	const pad = 6.0
	fit := func(s string, size, width float64) float64 {
		if tw := a.Font.textWidth(s, size); tw > width {
			return size * width / tw
		}
		return size
	}
	var c bytes.Buffer
	c.WriteString("q 0.80 0.08 0.10 RG 0.80 0.08 0.10 rg\n")
	fmt.Fprintf(&c, "2 w %s %s %s %s re S\n", pdfNum(1.5), pdfNum(1.5), pdfNum(w-3), pdfNum(h-3))
	fmt.Fprintf(&c, "0.7 w %s %s %s %s re S\n", pdfNum(4.5), pdfNum(4.5), pdfNum(w-9), pdfNum(h-9))
	line := func(s string, size, y float64) {
		size = fit(s, size, w-2*pad-6)
		fmt.Fprintf(&c, "BT /F0 %s Tf %s %s Td %s Tj ET\n", pdfNum(size), pdfNum((w-a.Font.textWidth(s, size))/2), pdfNum(y), encodeText(fs, s))
	}
	line(court, 12, h-pad-16)
	line(word, 18, h/2-6)
	line(date, 9, pad+16)
	line(caseLine, 7.5, pad+5)
	c.WriteString("Q\n")
	return u.add(stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources << /Font << /F0 %s >> /ProcSet [/PDF /Text] >> /Filter /FlateDecode", pdfNum(w), pdfNum(h), font), deflate(c.Bytes()))), nil
}
