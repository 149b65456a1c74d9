package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// The attack corpus: for every attack class of the PDF-insecurity research (Mladenov et al., "1 Trillion Dollar
// Refund"; Mainka et al., "Shadow Attacks"; Rohlmann et al. on timestamps and certification), several variants
// built on a small signed document, each of which Verify must report NOT VALID for the reason the variant is
// about. The files are written to testdata/attacks with -update (together with the root they were signed under
// and the verdicts of pdfsig and pdfcpu for the closing table) and checked from there on every run; the
// generator also runs on every run.

const attackDir = "testdata/attacks"

// attackNow is the time the corpus is verified at.
var attackNow = testNow.Add(48 * time.Hour)

// attackBaseDoc is a one-page document with two empty signature fields (sig-a, sig-b), a text field, a white
// cover XObject hiding a clause, an unreferenced alternative content stream and an unlisted second definition of
// the page content (both left over for shadow attacks: the signer's viewer shows neither).
func attackBaseDoc() []byte {
	var b bytes.Buffer
	off := map[int]int{}
	obj := func(n int, body string) {
		off[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	content := "BT /F1 20 Tf 72 700 Td (Settlement amount: 100 EUR) Tj ET\nBT /F1 20 Tf 72 600 Td (Clause 9: the respondent pays 1000000 EUR) Tj ET\nq /Cover Do Q\n"
	// A second definition of object 4 that the xref does not list (a shadow the attacker can point the xref at).
	shadowAt := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n%s\nendobj\n", stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n")))
	_ = shadowAt
	obj(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R] >>")
	obj(4, string(stream("", []byte(content))))
	obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(6, "<< /Fields [7 0 R 8 0 R 11 0 R] /SigFlags 3 /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>")
	obj(7, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig-a) /Rect [72 100 272 160] /P 3 0 R /F 4 >>")
	obj(8, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig-b) /Rect [320 100 520 160] /P 3 0 R /F 4 >>")
	obj(9, string(stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", []byte("1 g 60 590 520 40 re f\n"))))
	obj(10, string(stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n"))))
	obj(11, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (100 EUR) /Rect [72 400 272 430] /P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) /AP << /N 12 0 R >> >>")
	obj(12, string(stream("/Type /XObject /Subtype /Form /BBox [0 0 200 30] /Resources << /Font << /F1 5 0 R >> >>", []byte("BT /F1 12 Tf 2 10 Td (100 EUR) Tj ET\n"))))
	xref := b.Len()
	b.WriteString("xref\n0 13\n0000000000 65535 f\r\n")
	for n := 1; n <= 12; n++ {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 13 /Root 1 0 R /ID [<%X> <%X>] >>\nstartxref\n%d\n%%%%EOF\n", bytes.Repeat([]byte{0xA5}, 16), bytes.Repeat([]byte{0x5A}, 16), xref)
	return b.Bytes()
}

// shadowOffset is the offset of the unlisted second definition of object 4.
func shadowOffset(pdf []byte) int64 { return int64(bytes.Index(pdf, []byte("4 0 obj\n"))) }

func (p *testPKI) signField(t testing.TB, pdf []byte, field string, ts Timestamper) []byte {
	t.Helper()
	out, err := Sign(context.Background(), pdf, Request{
		Field: field, Appearance: Appearance{Name: "Signer " + field, Lang: "en", Font: p.font},
		Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow, Reason: "agreed",
	}, p.org.Key, ts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// attackDocs are the legitimate documents the attacks start from.
type attackDocs struct {
	base, signed, signed2, lt, lta []byte
	p                              *testPKI
}

func buildAttackDocs(t testing.TB) *attackDocs {
	p := getPKI(t)
	d := &attackDocs{p: p, base: attackBaseDoc()}
	d.signed = p.signField(t, d.base, "sig-a", p.tsaAt(testNow.Add(time.Second)))
	d.signed2 = p.signField(t, d.signed, "sig-b", p.tsaAt(testNow.Add(2*time.Second)))
	certs, crls, ocsps := p.ltvData(t, d.signed, testNow.Add(time.Hour))
	d.lt = dssUpdate(t, d.signed, certs, crls, ocsps)
	d.lta = docTimestamp(t, d.lt, p.tsaAt(testNow.Add(2*time.Hour)))
	return d
}

// TestAllowedUpdates: what PAdES allows after a signature keeps it valid, and the levels are reported.
func TestAllowedUpdates(t *testing.T) {
	t.Parallel()
	d := buildAttackDocs(t)
	p := d.p
	// A second round of validation data after the document timestamp, then another document timestamp (archive).
	c2, r2, o2 := p.ltvData(t, d.lta, testNow.Add(3*time.Hour))
	archived := docTimestamp(t, dssUpdate(t, d.lta, c2, r2, o2), p.tsaAt(testNow.Add(4*time.Hour)))
	tests := []struct {
		name, level string
		pdf         []byte
		sigs, dts   int
		kinds       []string
	}{
		{"one signature", LevelBT, d.signed, 1, 0, nil},
		{"second declared field filled", LevelBT, d.signed2, 2, 0, []string{RevOriginal, RevOriginal, RevSignature}},
		{"DSS-only update with VRI", LevelBLT, d.lt, 1, 0, []string{RevOriginal, RevOriginal, RevDSS}},
		{"document timestamp", LevelBLTA, d.lta, 1, 1, []string{RevOriginal, RevOriginal, RevDSS, RevDocTimestamp}},
		{"archive timestamp", LevelBLTA, archived, 1, 2, nil},
		{"signature after a document timestamp", LevelBT, p.signField(t, d.lta, "sig-b", p.tsaAt(testNow.Add(5*time.Hour))), 2, 1, nil},
		{"whitespace after %%EOF", LevelBT, append(bytes.Clone(d.signed), "\r\n  \n"...), 1, 0, nil},
		{"DSS-only update with an xref stream", LevelBLT, dssUpdateStream(t, d), 1, 0, []string{RevOriginal, RevOriginal, RevDSS}},
		{"DSS update, then a no-op update", LevelBLT, rawUpdate{objs: map[int]string{5: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"}}.apply(t, d.lt), 1, 0, []string{RevOriginal, RevOriginal, RevDSS, RevNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(tt.pdf, p.roots, attackNow)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Valid || rep.Level != tt.level || len(rep.Signatures) != tt.sigs || len(rep.DocumentTimestamps) != tt.dts {
				t.Errorf("valid %v level %q, %d signatures, %d document timestamps; want valid %q, %d, %d\n%s", rep.Valid, rep.Level, len(rep.Signatures), len(rep.DocumentTimestamps), tt.level, tt.sigs, tt.dts, rep.Text())
			}
			if tt.kinds != nil && !slices.Equal(rep.RevisionKinds, tt.kinds) {
				t.Errorf("revision kinds %v, want %v", rep.RevisionKinds, tt.kinds)
			}
			if err := qpdfCheck(t, tt.pdf); err != nil {
				t.Errorf("the test file itself is broken: %v", err)
			}
		})
	}
}

func dssUpdateStream(t testing.TB, d *attackDocs) []byte {
	c, r, o := d.p.ltvData(t, d.signed, testNow.Add(time.Hour))
	return dssUpdate(t, d.signed, c, r, o, true)
}

// attack is one crafted file.
type attack struct {
	class, name string
	want        string // a code the report must hold (modification, signature, timestamp or document code)
	build       func(t testing.TB, d *attackDocs) []byte
}

// replaceHole rewrites the /Contents hole of the last signature of pdf with CMS der (zero-padded).
func replaceHole(t testing.TB, pdf []byte, der []byte) []byte {
	t.Helper()
	at := bytes.LastIndex(pdf, []byte("/Contents <")) + len("/Contents <")
	end := bytes.IndexByte(pdf[at:], '>') + at
	h := strings.ToUpper(hex.EncodeToString(der))
	if len(h) > end-at {
		t.Fatalf("CMS of %d hex digits does not fit %d", len(h), end-at)
	}
	out := bytes.Clone(pdf)
	copy(out[at:end], h+strings.Repeat("0", end-at-len(h)))
	return out
}

// lastCMS parses the CMS of the last signature.
func lastCMS(t testing.TB, pdf []byte) *parsedCMS {
	t.Helper()
	at := bytes.LastIndex(pdf, []byte("/Contents <")) + len("/Contents <")
	end := bytes.IndexByte(pdf[at:], '>') + at
	raw, err := hex.DecodeString(string(pdf[at:end]))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseCMS(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rebuildCMS(t testing.TB, p *parsedCMS, unsigned [][]byte) []byte {
	t.Helper()
	der, err := assembleSignedData(cmsParts{contentType: oidData, signedAttrs: p.signedSet, signature: p.si.Signature, cert: p.signer, certs: p.certs, unsigned: unsigned})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// foreignTSA is a TSA under a root the verifier does not trust.
func foreignTSA(t testing.TB, at time.Time) *LocalTSA {
	ca, err := NewCA(CAConfig{Operator: "evil", NotBefore: certFrom, NotAfter: certTo})
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := NewLocalTSA(ca, "Evil TSA", certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	tsa.Now = func() time.Time { return at }
	return tsa
}

func sigFill(field, sig string) map[int]string {
	// Field objects 7 (sig-a) and 8 (sig-b) of attackBaseDoc, filled with signature dictionary 40.
	num := map[string]int{"sig-a": 7, "sig-b": 8}[field]
	rect := map[string]string{"sig-a": "[72 100 272 160]", "sig-b": "[320 100 520 160]"}[field]
	return map[int]string{
		num: fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) /Rect %s /P 3 0 R /F 4 /V 40 0 R >>", field, rect),
		40:  sig,
	}
}

var attacks = []attack{
	// Universal signature forgery: signature dictionaries that make careless verifiers skip the check.
	{"universal signature forgery", "no /Contents", CodeNotRevisionEnd, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: sigFill("sig-a", "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] >>")}.apply(t, d.base)
	}},
	{"universal signature forgery", "null /Contents and /ByteRange", CodeByteRange, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: sigFill("sig-a", "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange null /Contents null >>")}.apply(t, d.base)
	}},
	{"universal signature forgery", "empty /ByteRange and /Contents", CodeByteRange, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: sigFill("sig-a", "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [] /Contents <> >>")}.apply(t, d.base)
	}},
	{"universal signature forgery", "zero /ByteRange with a real CMS", CodeByteRange, func(t testing.TB, d *attackDocs) []byte {
		cms := lastCMS(t, d.signed)
		der := rebuildCMS(t, cms, cms.unsignedRaw())
		return rawUpdate{objs: sigFill("sig-a", fmt.Sprintf("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 0 0 0] /Contents <%X> >>", der))}.apply(t, d.base)
	}},
	{"universal signature forgery", "second field with a bogus signature", CodeByteRange, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: sigFill("sig-b", "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /Contents <00> >>")}.apply(t, d.signed)
	}},

	// Incremental saving attack: an update after the signature that changes what is shown.
	{"incremental saving attack", "page content redefined", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{4: string(stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n")))}}.apply(t, d.signed)
	}},
	{"incremental saving attack", "content stream appended to the page", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{
			3:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 41 0 R] /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R] >>",
			41: string(stream("", []byte("BT /F1 40 Tf 100 300 Td (PAID IN FULL) Tj ET"))),
		}}.apply(t, d.signed)
	}},
	{"incremental saving attack", "annotation over the text", ModNewAnnotation, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{
			3:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R 41 0 R] >>",
			41: "<< /Type /Annot /Subtype /FreeText /Rect [60 690 560 730] /Contents (900000 EUR) /DA (/F1 20 Tf 0 g) >>",
		}}.apply(t, d.signed)
	}},
	{"incremental saving attack", "objects appended without an xref", ModTrailingData, func(t testing.TB, d *attackDocs) []byte {
		return append(bytes.Clone(d.signed), "4 0 obj\n<< /Length 10 >>\nstream\nBT ET q Q\nendstream\nendobj\n"...)
	}},
	{"incremental saving attack", "objects appended, startxref to the old xref", ModUnaccountedData, func(t testing.TB, d *attackDocs) []byte {
		f, _ := readPDFFile(d.signed)
		return append(bytes.Clone(d.signed), fmt.Sprintf("4 0 obj\n<< /Length 10 >>\nstream\nBT ET q Q\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", f.revs[len(f.revs)-1].startxref)...)
	}},
	{"incremental saving attack", "new visible signature field over the text", ModNewField, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{
			3:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R 41 0 R] >>",
			6:  "<< /Fields [7 0 R 8 0 R 11 0 R 41 0 R] /SigFlags 3 /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>",
			41: "<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig-x) /Rect [60 690 560 730] /P 3 0 R /F 4 /AP << /N 42 0 R >> >>",
			42: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 500 40] /Resources << /Font << /F1 5 0 R >> >>", []byte("1 g 0 0 500 40 re f 0 g BT /F1 20 Tf 12 12 Td (900000 EUR) Tj ET"))),
		}}.apply(t, d.signed)
	}},

	// Signature wrapping: the unsigned /Contents gap or the signature dictionary used to smuggle objects.
	{"signature wrapping", "objects inside the /Contents gap", CodeSignatureDict, func(t testing.TB, d *attackDocs) []byte {
		at := bytes.LastIndex(d.signed, []byte("/Contents <")) + len("/Contents <")
		end := bytes.IndexByte(d.signed[at:], '>') + at
		der := lastCMS(t, d.signed)
		h := strings.ToUpper(hex.EncodeToString(rebuildCMS(t, der, der.unsignedRaw())))
		evil := "> 4 0 obj\n" + string(stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n"))) + "\nendobj\n%"
		out := bytes.Clone(d.signed)
		fill := h + evil
		copy(out[at:end], fill+strings.Repeat("0", end-at-len(fill)))
		objAt := int64(at + len(h) + 2)
		return rawUpdate{repoint: map[int]int64{4: objAt}}.apply(t, out)
	}},
	{"signature wrapping", "signature dictionary copied with the field re-pointed", ModSignedFieldChange, func(t testing.TB, d *attackDocs) []byte {
		v := lastView(t, d.signed)
		var sd pDict
		for _, fl := range v.fields() {
			if fl.name == "sig-a" {
				sd = v.dict(fl.value)
			}
		}
		return rawUpdate{objs: map[int]string{
			7:  "<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig-a) /Rect [72 100 272 160] /P 3 0 R /F 4 /V 41 0 R >>",
			41: pdfBytes(sd),
			4:  string(stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n"))),
		}}.apply(t, d.signed)
	}},
	{"signature wrapping", "byte range of another revision", CodeNotRevisionEnd, func(t testing.TB, d *attackDocs) []byte {
		// A new signature dictionary whose /ByteRange skips a block in the middle of the file.
		cms := lastCMS(t, d.signed)
		der := rebuildCMS(t, cms, cms.unsignedRaw())
		return rawUpdate{objs: sigFill("sig-b", fmt.Sprintf("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 100 200 %d] /Contents <%X> >>", len(d.signed)-300, der))}.apply(t, d.signed)
	}},

	// Shadow attacks, hide: the signed document hides content under a cover that a later update removes.
	{"shadow attack: hide", "cover redefined empty", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{9: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", nil))}}.apply(t, d.signed)
	}},
	{"shadow attack: hide", "cover given another generation (references to it resolve to null)", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{gens: map[int]int{9: 1}, objs: map[int]string{9: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", []byte("1 g 60 590 520 40 re f\n")))}}.apply(t, d.signed)
	}},
	{"shadow attack: hide", "cover freed in the xref", ModObjectDeleted, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{free: []int{9}}.apply(t, d.signed)
	}},
	{"shadow attack: hide", "full xref without /Prev that drops the cover, claiming a DSS", ModObjectDeleted, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{noPrev: true, omit: []int{9}, objs: map[int]string{
			1:  "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /DSS 41 0 R >>",
			41: "<< /Type /DSS /Certs [] >>",
		}}.apply(t, d.signed)
	}},
	// Shadow attacks, replace: objects of the signed document replaced by others.
	{"shadow attack: replace", "font re-encoded", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{5: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Differences [49 /nine] >> >>"}}.apply(t, d.signed)
	}},
	{"shadow attack: replace", "form field value and appearance", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{
			11: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (900000 EUR) /Rect [72 400 272 430] /P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) /AP << /N 41 0 R >> >>",
			41: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 200 30] /Resources << /Font << /F1 5 0 R >> >>", []byte("BT /F1 12 Tf 2 10 Td (900000 EUR) Tj ET\n"))),
		}}.apply(t, d.signed)
	}},
	{"shadow attack: replace", "xref re-points the page content to the unlisted shadow definition", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{repoint: map[int]int64{4: shadowOffset(d.signed)}}.apply(t, d.signed)
	}},
	{"shadow attack: replace", "signature appearance drawn over the page", ModAppearanceOutside, func(t testing.TB, d *attackDocs) []byte {
		// Filling the declared field sig-b is allowed, but its appearance paints far outside its box.
		out := rawUpdate{objs: map[int]string{
			8:  "<< /Type /Annot /Subtype /Widget /FT /Sig /T (sig-b) /Rect [320 100 520 160] /P 3 0 R /F 4 /AP << /N 41 0 R >> >>",
			41: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 200 60] /Resources << /Font << /F1 5 0 R >> >>", []byte("1 g -300 500 700 100 re f 0 g BT /F1 20 Tf -240 540 Td (Settlement amount: 900000 EUR) Tj ET"))),
		}}.apply(t, d.signed)
		return out
	}},
	// Shadow attacks, hide-and-replace: the signed document carries the replacement, an update switches to it.
	{"shadow attack: hide-and-replace", "page content switched to a hidden stream", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{objs: map[int]string{3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 10 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R] >>"}}.apply(t, d.signed)
	}},
	{"shadow attack: hide-and-replace", "xref stream without /Prev re-points the content and drops the cover", ModObjectDeleted, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{noPrev: true, xrefStream: true, omit: []int{9}, repoint: map[int]int64{4: shadowOffset(d.signed)}}.apply(t, d.signed)
	}},
	{"shadow attack: hide-and-replace", "DSS update that also re-points the content", ModObjectChanged, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{repoint: map[int]int64{4: shadowOffset(d.signed)}, objs: map[int]string{
			1:  "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /DSS 41 0 R >>",
			41: "<< /Type /DSS /Certs [] >>",
		}}.apply(t, d.lt)
	}},
	{"shadow attack: hide-and-replace", "defines an object the signed page referred to but lacked", ModUndefinedDefined, func(t testing.TB, d *attackDocs) []byte {
		// The signer's document names /Contents [4 0 R 60 0 R] with 60 undefined (shown as nothing); a DSS update
		// defines 60 as validation data.
		base := rawUpdate{objs: map[int]string{3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 60 0 R] /Resources << /Font << /F1 5 0 R >> /XObject << /Cover 9 0 R >> >> /Annots [7 0 R 8 0 R 11 0 R] >>"}}.apply(t, d.base)
		signed := d.p.signField(t, base, "sig-a", d.p.tsaAt(testNow.Add(time.Second)))
		return rawUpdate{objs: map[int]string{
			1:  "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /DSS 61 0 R >>",
			61: "<< /Type /DSS /Certs [60 0 R] >>",
			60: string(stream("", []byte("BT /F1 40 Tf 100 300 Td (PAID IN FULL) Tj ET"))),
		}}.apply(t, signed)
	}},

	// Xref omission: later cross-reference data that leaves out what the signed revision had.
	{"xref omission", "full table without /Prev omits the page content, claiming a DSS", ModObjectDeleted, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{noPrev: true, omit: []int{4}, objs: map[int]string{
			1:  "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /DSS 41 0 R >>",
			41: "<< /Type /DSS /Certs [] >>",
		}}.apply(t, d.lt)
	}},
	{"xref omission", "xref stream without /Prev omits a form field", ModObjectDeleted, func(t testing.TB, d *attackDocs) []byte {
		return rawUpdate{noPrev: true, xrefStream: true, omit: []int{11, 12}}.apply(t, d.signed)
	}},
	{"xref omission", "/Prev skips the signed revision", CodeNoSignatures, func(t testing.TB, d *attackDocs) []byte {
		f, _ := readPDFFile(d.signed)
		return rawUpdate{prev: f.revs[0].startxref, objs: map[int]string{4: string(stream("", []byte("BT /F1 20 Tf 72 700 Td (Settlement amount: 900000 EUR) Tj ET\n")))}}.apply(t, d.signed)
	}},
	{"xref omission", "entry re-pointed into the signed revision's old bytes", ModSignedFieldChange, func(t testing.TB, d *attackDocs) []byte {
		// Object 7 (sig-a) re-pointed at its unsigned version in the first revision: the field shows no signature.
		v, _ := readPDFFile(d.base)
		view, _ := v.buildView(v.revs[0].startxref, int64(len(d.base)))
		return rawUpdate{repoint: map[int]int64{7: view.ents[7].off}}.apply(t, d.signed2)
	}},

	// Timestamps: stripped, swapped, or from a TSA that is not trusted.
	{"timestamp strip", "signature timestamp removed", CodeTimestampMissing, func(t testing.TB, d *attackDocs) []byte {
		return replaceHole(t, d.signed, rebuildCMS(t, lastCMS(t, d.signed), nil))
	}},
	{"timestamp strip", "signature timestamp removed, then a DSS update", CodeTimestampMissing, func(t testing.TB, d *attackDocs) []byte {
		s := replaceHole(t, d.signed, rebuildCMS(t, lastCMS(t, d.signed), nil))
		c, r, o := d.p.ltvData(t, s, testNow.Add(time.Hour))
		return dssUpdate(t, s, c, r, o)
	}},
	{"timestamp swap", "token of another signature", CodeTimestampInvalid, func(t testing.TB, d *attackDocs) []byte {
		other := lastCMS(t, d.signed2)
		return replaceHole(t, d.signed, rebuildCMS(t, lastCMS(t, d.signed), other.unsignedRaw()))
	}},
	{"timestamp swap", "token from an untrusted TSA over the right value", CodeTimestampUntrust, func(t testing.TB, d *attackDocs) []byte {
		cms := lastCMS(t, d.signed)
		tok := tokenFor(t, foreignTSA(t, testNow.Add(time.Second)), cms.si.Signature)
		return replaceHole(t, d.signed, rebuildCMS(t, cms, [][]byte{attribute(oidAttrTimestampToken, tok)}))
	}},
	{"timestamp swap", "document timestamp from an untrusted TSA", CodeTimestampUntrust, func(t testing.TB, d *attackDocs) []byte {
		return docTimestamp(t, d.lt, foreignTSA(t, testNow.Add(2*time.Hour)))
	}},
	{"timestamp swap", "document timestamp token of another document", CodeDigest, func(t testing.TB, d *attackDocs) []byte {
		good := d.lta
		at := bytes.LastIndex(good, []byte("/Contents <")) + len("/Contents <")
		end := bytes.IndexByte(good[at:], '>') + at
		tok := bytes.Clone(good[at:end])
		out := docTimestamp(t, d.signed2, d.p.tsaAt(testNow.Add(2*time.Hour)))
		at2 := bytes.LastIndex(out, []byte("/Contents <")) + len("/Contents <")
		copy(out[at2:], tok)
		return out
	}},
}

func (p *parsedCMS) unsignedRaw() [][]byte {
	var out [][]byte
	for _, a := range p.unsigned {
		out = append(out, derSeq(derOID(a.Type), a.Values.FullBytes))
	}
	return out
}

func tokenFor(t testing.TB, tsa *LocalTSA, sig []byte) []byte {
	d := sha256Sum(sig)
	tok, err := tsa.Timestamp(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func attackFile(a attack) string {
	slug := func(s string) string {
		s = strings.ToLower(s)
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b.WriteRune(r)
			case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
				b.WriteByte('-')
			}
		}
		return strings.Trim(b.String(), "-")
	}
	return filepath.Join(attackDir, slug(a.class)+"--"+slug(a.name)+".pdf")
}

func reportHas(rep *Report, code string) bool {
	if hasMod(rep, code) || slices.Contains(rep.Codes, code) {
		return true
	}
	for _, s := range rep.Signatures {
		if slices.Contains(s.Codes, code) {
			return true
		}
	}
	for _, s := range rep.DocumentTimestamps {
		if slices.Contains(s.Codes, code) {
			return true
		}
	}
	return false
}

// TestAttackCorpus builds every attack, checks it, and checks the stored corpus (rewritten with -update).
func TestAttackCorpus(t *testing.T) {
	t.Parallel()
	d := buildAttackDocs(t)
	check := func(t *testing.T, a attack, pdf []byte, roots *x509.CertPool) {
		t.Helper()
		rep, err := Verify(pdf, roots, attackNow)
		if err != nil {
			t.Logf("Verify refuses the file: %v", err)
			return
		}
		if rep.Valid {
			t.Errorf("%s / %s: Verify says VALID\n%s", a.class, a.name, rep.Text())
		}
		if a.want == CodeTimestampMissing && (len(rep.Signatures) == 0 || rep.Signatures[0].Level != LevelBB) {
			t.Errorf("%s / %s: a stripped timestamp must leave level B-B: %+v", a.class, a.name, rep.Signatures)
		}
		if !reportHas(rep, a.want) {
			t.Errorf("%s / %s: the report lacks %q\n%s", a.class, a.name, a.want, rep.Text())
		}
	}
	// The controls the attacks start from are valid.
	for _, c := range [][]byte{d.signed, d.signed2, d.lt, d.lta} {
		if rep, err := Verify(c, d.p.roots, attackNow); err != nil || !rep.Valid {
			t.Fatalf("control document not valid: %v\n%s", err, rep.Text())
		}
	}
	if *updateGolden {
		os.RemoveAll(attackDir)
		if err := os.MkdirAll(attackDir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(attackDir, "root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.p.ca.Cert.Raw}), 0o644)
		os.WriteFile(filepath.Join(attackDir, "control--signed.pdf"), d.signed, 0o644)
		os.WriteFile(filepath.Join(attackDir, "control--b-lta.pdf"), d.lta, 0o644)
	}
	var table strings.Builder
	table.WriteString("| attack class | variant | parley verify | pdfsig | pdfcpu |\n|---|---|---|---|---|\n")
	for _, a := range attacks {
		t.Run(a.class+"/"+a.name, func(t *testing.T) {
			pdf := a.build(t, d)
			check(t, a, pdf, d.p.roots)
			if *updateGolden {
				if err := os.WriteFile(attackFile(a), pdf, 0o644); err != nil {
					t.Fatal(err)
				}
				rep, _ := Verify(pdf, d.p.roots, attackNow)
				verdict := "error"
				if rep != nil {
					verdict = map[bool]string{true: "VALID", false: "NOT VALID"}[rep.Valid] + " (" + a.want + ")"
				}
				fmt.Fprintf(&table, "| %s | %s | %s | %s | %s |\n", a.class, a.name, verdict, pdfsigVerdict(t, pdf), pdfcpuVerdict(t, pdf))
			}
		})
	}
	if *updateGolden {
		os.WriteFile(filepath.Join(attackDir, "verdicts.md"), []byte("# Verdicts on the attack corpus\n\nGenerated by `go test ./signing -run TestAttackCorpus -update`.\n"+
			"pdfsig: per signature V (valid) or X (invalid), then whether the last one covers the whole file. pdfcpu: status of the newest signature.\n\n"+table.String()), 0o644)
	}
	// The stored corpus, verified with the root it was made under.
	rootPEM, err := os.ReadFile(filepath.Join(attackDir, "root.pem"))
	if err != nil {
		t.Fatalf("no stored corpus (run with -update): %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	for _, c := range []string{"control--signed.pdf", "control--b-lta.pdf"} {
		rep, err := Verify(readFile(t, filepath.Join(attackDir, c)), roots, attackNow)
		if err != nil || !rep.Valid {
			t.Errorf("stored %s: not valid: %v", c, err)
		}
	}
	for _, a := range attacks {
		pdf, err := os.ReadFile(attackFile(a))
		if err != nil {
			t.Errorf("stored corpus lacks %s (run with -update)", attackFile(a))
			continue
		}
		t.Run("stored/"+a.class+"/"+a.name, func(t *testing.T) { check(t, a, pdf, roots) })
	}
}

func pdfsigVerdict(t *testing.T, pdf []byte) string {
	if _, err := exec.LookPath("pdfsig"); err != nil {
		return "not run"
	}
	out := pdfsigOutput(t, pdf)
	sigs := pdfsigSignatures(out)
	if len(sigs) == 0 {
		return "no signature"
	}
	var b strings.Builder
	for _, s := range sigs {
		if strings.Contains(s, "Signature is Valid.") {
			b.WriteString("V")
		} else {
			b.WriteString("X")
		}
	}
	last := sigs[len(sigs)-1]
	switch {
	case strings.Contains(last, "Total document signed"):
		b.WriteString(", total document")
	case strings.Contains(last, "Not total document signed"):
		b.WriteString(", not total document")
	}
	return b.String()
}

func pdfcpuVerdict(t *testing.T, pdf []byte) string {
	res, err := pdfcpuValidate(t, pdf, false)
	if err != nil {
		msg := err.Error()
		if len(msg) > 60 {
			msg = msg[:60] + "…"
		}
		return "error: " + strings.ReplaceAll(msg, "|", "/")
	}
	if len(res) == 0 {
		return "no signature"
	}
	r := res[len(res)-1]
	s := r.Status.String()
	if r.Status == model.SignatureStatusValid && r.DocModified > 0 {
		s += fmt.Sprintf(" (document modified: %d)", r.DocModified)
	}
	return s
}
