package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// signedRange is one signature's byte range.
type signedRange struct {
	field string
	br    [4]int64
}

func (r signedRange) covers(x int64) bool {
	return x < r.br[1] || (x >= r.br[2] && x < r.br[2]+r.br[3])
}

func byteRanges(t *testing.T, pdf []byte) []signedRange {
	t.Helper()
	d, err := openPDF(pdf)
	if err != nil {
		t.Fatal(err)
	}
	var out []signedRange
	for _, f := range d.sigFields() {
		sd := d.dict(f.value)
		if sd == nil {
			continue
		}
		var r signedRange
		r.field = f.name
		for i, o := range d.array(sd["ByteRange"]) {
			r.br[i], _ = d.integer(o)
		}
		out = append(out, r)
	}
	return out
}

// TestTamperDetection flips bytes inside the signed ranges of the fully signed agreement: Verify, pdfsig and
// pdfcpu must all report every signature covering the byte as broken.
func TestTamperDetection(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	final := v[len(v)-1]
	ranges := byteRanges(t, final)
	if len(ranges) != 4 {
		t.Fatalf("got %d signatures, want 4", len(ranges))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var positions []int64
	// Bytes of the unsigned document (covered by every signature) and of each signature's own revision.
	base := int64(len(v[0]))
	for range 6 {
		positions = append(positions, rng.Int64N(base))
	}
	for i, r := range ranges {
		revStart := int64(len(v[i]))
		for range 3 {
			positions = append(positions, revStart+rng.Int64N(r.br[1]-revStart))
			positions = append(positions, r.br[2]+rng.Int64N(r.br[3]))
		}
	}
	if testing.Short() {
		positions = positions[:8]
	}
	for _, pos := range positions {
		var affected []string
		for _, r := range ranges {
			if r.covers(pos) {
				affected = append(affected, r.field)
			}
		}
		if len(affected) == 0 {
			t.Fatalf("position %d is in no signed range", pos)
		}
		bad := bytes.Clone(final)
		bad[pos] ^= 0x01
		name := fmt.Sprintf("byte %d (%q) covered by %v", pos, final[pos], affected)

		rep, err := Verify(bad, p.roots, testNow)
		if err == nil {
			if rep.Valid {
				t.Errorf("%s: Verify says the document is valid", name)
			}
			for _, s := range rep.Signatures {
				for _, a := range affected {
					if s.Field == a && s.Valid {
						t.Errorf("%s: Verify says %s is still valid", name, a)
					}
				}
			}
		}
		out := pdfsigOutput(t, bad)
		if valid := strings.Count(out, "Signature is Valid."); valid > len(ranges)-len(affected) {
			t.Errorf("%s: pdfsig reports %d valid signatures, want at most %d:\n%s", name, valid, len(ranges)-len(affected), out)
		}
		res, err := pdfcpuValidate(t, bad, true)
		if err == nil {
			valid := 0
			for _, r := range res {
				if r.Status == model.SignatureStatusValid {
					valid++
				}
			}
			if valid > len(ranges)-len(affected) {
				t.Errorf("%s: pdfcpu reports %d valid signatures, want at most %d", name, valid, len(ranges)-len(affected))
			}
		}
	}
}

// appendUpdate appends an incremental update built by build to pdf.
func appendUpdate(t *testing.T, pdf []byte, build func(d *pdfDoc, u *update)) []byte {
	t.Helper()
	d, err := openPDF(pdf)
	if err != nil {
		t.Fatal(err)
	}
	u := newUpdate(d)
	build(d, u)
	out, _ := u.bytes()
	return append(bytes.Clone(pdf), out...)
}

func TestLaterUpdates(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	final := v[len(v)-1]
	firstPage := func(t *testing.T, d *pdfDoc) (ref, types.Dict) {
		pages, err := d.pages()
		if err != nil {
			t.Fatal(err)
		}
		return pages[0], d.dict(pages[0].pdf()).Clone().(types.Dict)
	}
	tests := []struct {
		name      string
		build     func(t *testing.T, d *pdfDoc, u *update)
		raw       []byte // appended as is instead of an update
		wantValid bool
		wantCode  string // a Modification code the report must hold
	}{
		{
			name: "new page content",
			build: func(t *testing.T, d *pdfDoc, u *update) {
				pr, pd := firstPage(t, d)
				c := u.add(stream("", []byte("BT /F1 30 Tf 100 700 Td (PAID IN FULL) Tj ET")))
				pd["Contents"] = append(types.Array{pd["Contents"]}, c.pdf())
				u.setObject(pr, pd)
			},
			wantCode: ModObjectChanged,
		},
		{
			name: "added text annotation",
			build: func(t *testing.T, d *pdfDoc, u *update) {
				pr, pd := firstPage(t, d)
				a := u.add([]byte("<< /Type /Annot /Subtype /FreeText /Rect [100 100 300 150] /Contents (void) /DA (/Helv 12 Tf 0 g) >>"))
				annots := d.array(pd["Annots"]).Clone().(types.Array)
				pd["Annots"] = append(annots, a.pdf())
				u.setObject(pr, pd)
			},
			wantCode: ModNewAnnotation,
		},
		{
			// Rewriting an object with the same value changes nothing a viewer shows.
			name:      "no-op update",
			build:     func(t *testing.T, d *pdfDoc, u *update) { u.setObject(d.root, d.catalog()) },
			wantValid: true,
		},
		{
			name: "signature field removed from the form",
			build: func(t *testing.T, d *pdfDoc, u *update) {
				af, r := d.acroForm()
				af = af.Clone().(types.Dict)
				af["Fields"] = d.array(af["Fields"])[1:]
				u.setObject(*r, af)
			},
			wantCode: ModFormChanged,
		},
		{
			name: "validation data only",
			build: func(t *testing.T, d *pdfDoc, u *update) {
				crl := u.add(stream("", p.crl))
				dss := u.add([]byte(fmt.Sprintf("<< /Type /DSS /CRLs [%s] >>", crl)))
				cat := d.catalog().Clone().(types.Dict)
				cat["DSS"] = dss.pdf()
				u.setObject(d.root, cat)
			},
			wantValid: true,
		},
		{
			name:     "trailing bytes",
			raw:      []byte("\nthis text was appended\n"),
			wantCode: ModTrailingData,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pdf []byte
			if tt.raw != nil {
				pdf = append(bytes.Clone(final), tt.raw...)
			} else {
				pdf = appendUpdate(t, final, func(d *pdfDoc, u *update) { tt.build(t, d, u) })
			}
			if tt.raw == nil {
				if err := qpdfCheck(t, pdf); err != nil {
					t.Errorf("the test update itself is broken: %v", err)
				}
			}
			rep, err := Verify(pdf, p.roots, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid != tt.wantValid {
				t.Errorf("valid %v, want %v: %+v", rep.Valid, tt.wantValid, rep.Signatures)
			}
			last := rep.Signatures[len(rep.Signatures)-1]
			if last.TotalDocument {
				t.Error("the last signature still covers the whole document")
			}
			if !tt.wantValid && last.ModifiedAfter == tt.wantValid {
				t.Errorf("last signature: modified after %v, want %v (%v)", last.ModifiedAfter, !tt.wantValid, last.Problems)
			}
			if tt.wantCode != "" && !hasMod(rep, tt.wantCode) {
				t.Errorf("modifications %+v lack %q", rep.Modifications, tt.wantCode)
			}
			if !tt.wantValid {
				for _, s := range rep.Signatures {
					if !s.ModifiedAfter {
						t.Errorf("%s: not reported as modified after signing", s.Field)
					}
				}
			}
			if !tt.wantValid && tt.raw == nil {
				if out := pdfsigOutput(t, pdf); strings.Contains(out, "Total document signed") {
					t.Errorf("pdfsig still reports a total-document signature:\n%s", out)
				}
			}
		})
	}
}

func TestVerifyInputErrors(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	final := sharedAgreement(t)[4]
	tests := []struct {
		name  string
		input []byte
		isPDF bool
	}{
		{"empty", nil, false},
		{"text", []byte("hello, this is not a PDF"), false},
		{"PNG", []byte("\x89PNG\r\n\x1a\n...."), false},
		{"header only", []byte("%PDF-1.7\n"), true},
		{"truncated to half", final[:len(final)/2], true},
		{"truncated before %%EOF", final[:len(final)-8], true},
		{"first kilobyte", final[:1024], true},
	}
	for _, tt := range tests {
		rep, err := Verify(tt.input, p.roots, testNow)
		switch {
		case err != nil && !tt.isPDF && !errors.Is(err, ErrNotPDF):
			t.Errorf("%s: error %v, want ErrNotPDF", tt.name, err)
		case err == nil && rep.Valid:
			t.Errorf("%s: reported valid", tt.name)
		case err == nil && !tt.isPDF:
			t.Errorf("%s: no error for non-PDF input", tt.name)
		}
	}
	rep, err := Verify(sharedAgreement(t)[0], p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) != 0 || len(rep.Problems) == 0 {
		t.Errorf("unsigned document: valid %v, %d signatures, problems %v; want invalid without signatures", rep.Valid, len(rep.Signatures), rep.Problems)
	}
}

func TestVerifyUntrustedRoot(t *testing.T) {
	t.Parallel()
	other, err := NewCA(CAConfig{Operator: "someone else", NotBefore: certFrom, NotAfter: certTo})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(other.Cert)
	rep, err := Verify(sharedAgreement(t)[4], roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid {
		t.Error("valid against a foreign root")
	}
	for _, s := range rep.Signatures {
		if s.ChainValid || s.ChainError == "" || s.TimestampTrusted || !s.CMSValid || s.ModifiedAfter {
			t.Errorf("%s: chain %v (%q), timestamp trusted %v, CMS %v, modified %v; want only the chain to fail", s.Field, s.ChainValid, s.ChainError, s.TimestampTrusted, s.CMSValid, s.ModifiedAfter)
		}
	}
}

func TestVerifyRevoked(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	kp, err := NewKeyPair(p.ca, Subject{Name: "离职员工", Role: RoleMediator}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := p.ca.CRL(2, []Revoked{{Serial: new(big.Int).Set(kp.Cert.SerialNumber), At: testNow.Add(-24 * time.Hour)}}, testNow.Add(-time.Hour), testNow.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Sign(context.Background(), sharedAgreement(t)[0], Request{
		Field: "sig-mediator-1", Appearance: Appearance{Name: "离职员工", Font: p.font},
		Cert: kp.Cert, Chain: kp.Chain, Time: testNow,
		Validation: ValidationData{Certs: p.tsa.Certificates(), CRLs: [][]byte{crl}},
	}, kp.Key, p.tsaAt(testNow))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(out, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) != 1 || !rep.Signatures[0].Revoked {
		t.Errorf("revoked certificate: valid %v, %+v", rep.Valid, rep.Signatures)
	}
}

func TestVerifyWithoutTimestamp(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	out, err := Sign(context.Background(), sharedAgreement(t)[0], Request{
		Field: "sig-organisation", Appearance: Appearance{Name: "x", Font: p.font},
		Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow,
	}, p.org.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(out, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// Cryptographically sound, but B-B only: below Parley's policy (B-T or higher).
	s := rep.Signatures[0]
	if rep.Valid || s.Valid || s.PolicyOK || !s.CMSValid || !s.ChainValid || !s.Timestamp.IsZero() || s.TimestampValid {
		t.Errorf("signature without timestamp: document valid %v, signature valid %v, policy %v, CMS %v, chain %v, timestamp %v/%v; want only the policy to fail",
			rep.Valid, s.Valid, s.PolicyOK, s.CMSValid, s.ChainValid, s.Timestamp, s.TimestampValid)
	}
	if s.Level != LevelBB || rep.Level != LevelBB {
		t.Errorf("levels: signature %q, document %q; want the real level B-B", s.Level, rep.Level)
	}
	if !slices.Contains(s.Codes, CodeTimestampMissing) {
		t.Errorf("codes %v lack %s", s.Codes, CodeTimestampMissing)
	}
}

func TestReportText(t *testing.T) {
	t.Parallel()
	rep, err := Verify(sharedAgreement(t)[4], getPKI(t).roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	txt := rep.Text()
	for _, s := range []string{"4 signatures", "signature 1: sig-applicant-1: VALID", "signer      张三, role applicant", "document: VALID"} {
		if !strings.Contains(txt, s) {
			t.Errorf("report text lacks %q:\n%s", s, txt)
		}
	}
}

func hasMod(rep *Report, code string) bool {
	for _, m := range rep.Modifications {
		if m.Code == code {
			return true
		}
	}
	return false
}
