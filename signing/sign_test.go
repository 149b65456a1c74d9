package signing

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/signing/signingtest"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// checkAllValid runs every checker on a signed version and expects n valid signatures, the last one covering
// the whole file.
func checkAllValid(t *testing.T, pdf []byte, n int) {
	t.Helper()
	p := getPKI(t)
	if err := qpdfCheck(t, pdf); err != nil {
		t.Errorf("qpdf --check: %v", err)
	}
	out := pdfsigOutput(t, pdf)
	sigs := pdfsigSignatures(out)
	if len(sigs) != n {
		t.Fatalf("pdfsig found %d signatures, want %d:\n%s", len(sigs), n, out)
	}
	for i, s := range sigs {
		if !strings.Contains(s, "Signature is Valid.") {
			t.Errorf("pdfsig signature %d is not valid:\n%s", i+1, s)
		}
		total := strings.Contains(s, "Total document signed")
		if total != (i == n-1) {
			t.Errorf("pdfsig signature %d: total document signed = %v, want %v", i+1, total, i == n-1)
		}
	}
	all := !hasEmptySigFields(t, pdf)
	res, err := pdfcpuValidate(t, pdf, all)
	if err != nil {
		t.Fatalf("pdfcpu validate: %v", err)
	}
	if want := map[bool]int{true: n, false: 1}[all]; len(res) != want {
		t.Errorf("pdfcpu (all %v) validated %d signatures, want %d", all, len(res), want)
	}
	for _, r := range res {
		if r.Status != model.SignatureStatusValid {
			t.Errorf("pdfcpu: %s: %v (%v) %v, want valid", r.Details.FieldName, r.Status, r.Reason, r.Problems)
		}
	}
	rep, err := Verify(pdf, p.roots, testNow.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.Valid || len(rep.Signatures) != n {
		t.Fatalf("Verify: valid %v with %d signatures, want valid with %d: %+v", rep.Valid, len(rep.Signatures), n, rep)
	}
	if !all && len(res) == 1 && res[0].Details.FieldName != rep.Signatures[n-1].Field {
		t.Errorf("pdfcpu validated %s, want the newest signature %s", res[0].Details.FieldName, rep.Signatures[n-1].Field)
	}
	for i, s := range rep.Signatures {
		if !s.Valid || !s.TimestampValid || !s.TimestampTrusted || !s.SigningCertV2 || len(s.Problems) > 0 {
			t.Errorf("Verify signature %d (%s): %+v", i+1, s.Field, s)
		}
		if s.TotalDocument != (i == n-1) || s.LaterRevisions != n-1-i {
			t.Errorf("Verify signature %d: total %v, later revisions %d; want %v, %d", i+1, s.TotalDocument, s.LaterRevisions, i == n-1, n-1-i)
		}
	}
}

func TestMultiSignerFlow(t *testing.T) {
	v := sharedAgreement(t)
	wantFields := []string{"sig-applicant-1", "sig-respondent-1", "sig-mediator-1", "sig-organisation"}
	for i := 1; i < len(v); i++ {
		t.Run(fmt.Sprintf("after signature %d", i), func(t *testing.T) {
			checkAllValid(t, v[i], i)
			if !bytes.HasPrefix(v[i], v[i-1]) {
				t.Error("the signed version does not start with the previous version's bytes")
			}
		})
	}
	rep, err := Verify(v[len(v)-1], getPKI(t).roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rep.Signatures {
		got = append(got, s.Field)
	}
	if strings.Join(got, " ") != strings.Join(wantFields, " ") {
		t.Errorf("signature order %v, want %v", got, wantFields)
	}
	want := []struct{ name, role, org string }{
		{"张三", RoleApplicant, ""}, {"李四", RoleAgent, "北京某某科技有限公司"}, {"王五", RoleMediator, ""},
		{"北京市海淀区知识产权纠纷人民调解委员会", RoleOrganisation, ""},
	}
	for i, w := range want {
		s := rep.Signatures[i]
		if s.SignerName != w.name || s.Role != w.role || s.Organisation != w.org || s.CaseNumber != "(2025)京0108民诉前调1234号" {
			t.Errorf("signature %d: got %q/%q/%q/%q, want %q/%q/%q", i+1, s.SignerName, s.Role, s.Organisation, s.CaseNumber, w.name, w.role, w.org)
		}
	}
}

// TestXRefStreamFile signs a file whose last cross-reference section is a stream and checks that the updates
// keep that kind.
func TestXRefStreamFile(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	doc, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	in := writeTemp(t, doc.PDF)
	outPath := in + ".xrefstm.pdf"
	if out, err := exec.Command(tool(t, "qpdf"), "--object-streams=generate", in, outPath).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	base := readFile(t, outPath)
	if d, err := openPDF(base); err != nil || !d.xrefStream {
		t.Fatalf("qpdf output: xref stream %v, err %v", d != nil && d.xrefStream, err)
	}
	one := p.deviceSign(t, base, "sig-applicant-1", Subject{Name: "张三", Role: RoleApplicant, CaseNumber: "X"}, 1, testNow)
	two := p.sealSign(t, one, "sig-organisation", testNow.Add(time.Minute))
	for i, pdf := range [][]byte{one, two} {
		d, err := openPDF(pdf)
		if err != nil {
			t.Fatal(err)
		}
		if !d.xrefStream {
			t.Errorf("signature %d: update written with an xref table, want an xref stream", i+1)
		}
		if bytes.Contains(pdf[len(base):], []byte("\ntrailer")) {
			t.Errorf("signature %d: update has a classic trailer", i+1)
		}
		checkAllValid(t, pdf, i+1)
	}
}

func TestFinishRejectsWrongSignature(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	base := sharedAgreement(t)[0]
	dev, _ := signingtest.NewDevice()
	other, _ := signingtest.NewDevice()
	cert, err := p.ca.Issue(dev.Public(), Subject{Name: "张三", Role: RoleApplicant, CaseNumber: "X"}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	pend, err := Prepare(base, Request{Field: "sig-applicant-1", Appearance: Appearance{Name: "张三", Font: p.font}, Cert: cert, Chain: p.ca.Chain(), Time: testNow})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := dev.Sign(pend.ToBeSigned())
	wrongKey, _ := other.Sign(pend.ToBeSigned())
	wrongMsg, _ := dev.Sign(append([]byte("x"), pend.ToBeSigned()...))
	tests := []struct {
		name string
		sig  []byte
	}{
		{"other device", wrongKey},
		{"other bytes", wrongMsg},
		{"empty", nil},
		{"short", good[:63]},
		{"garbage DER", append([]byte{0x30, 0x03}, 1, 2, 3)},
	}
	for _, tt := range tests {
		_, err := Finish(context.Background(), base, pend, tt.sig, nil)
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: Finish error %v, want ErrBadSignature", tt.name, err)
		}
	}
	if _, err := Finish(context.Background(), base, pend, good, nil); err != nil {
		t.Errorf("correct signature: %v", err)
	}
}

func TestFinishStaleAndConcurrent(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	base := sharedAgreement(t)[0]
	prep := func(pdf []byte, field, name string) (*Pending, *signingtest.Device) {
		dev, _ := signingtest.NewDevice()
		cert, err := p.ca.Issue(dev.Public(), Subject{Name: name, Role: RoleApplicant, CaseNumber: "X"}, certFrom, certTo)
		if err != nil {
			t.Fatal(err)
		}
		pend, err := Prepare(pdf, Request{Field: field, Appearance: Appearance{Name: name, Font: p.font}, Cert: cert, Chain: p.ca.Chain(), Time: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return pend, dev
	}
	// Two signers prepare on the same version; the first to finish wins, the second is stale.
	pa, da := prep(base, "sig-applicant-1", "张三")
	pb, db := prep(base, "sig-respondent-1", "李四")
	sa, _ := da.Sign(pa.ToBeSigned())
	sb, _ := db.Sign(pb.ToBeSigned())
	afterA, err := Finish(context.Background(), base, pa, sa, p.tsaAt(testNow))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Finish(context.Background(), afterA, pb, sb, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("finishing on a newer version: %v, want ErrStale", err)
	}
	// Server flow: lock the document, re-read the latest version, prepare again, the device signs again.
	var mu sync.Mutex
	latest := afterA
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []struct{ field, name string }{{"sig-respondent-1", "李四"}, {"sig-mediator-1", "王五"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 5; attempt++ {
				mu.Lock()
				cur := latest
				mu.Unlock()
				pend, dev := prep(cur, s.field, s.name)
				sig, _ := dev.Sign(pend.ToBeSigned())
				mu.Lock()
				out, err := Finish(context.Background(), latest, pend, sig, p.tsaAt(testNow))
				if err == nil {
					latest = out
				}
				mu.Unlock()
				if err == nil {
					errs <- nil
					return
				}
				if !errors.Is(err, ErrStale) {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("%s: still stale after 5 attempts", s.field)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Verify(latest, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 3 || !rep.Valid {
		t.Fatalf("after concurrent signing: %d signatures, valid %v, want 3 valid: %+v", len(rep.Signatures), rep.Valid, rep)
	}
}

func TestPrepareErrors(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	req := func(field string) Request {
		return Request{Field: field, Appearance: Appearance{Name: "x", Font: p.font}, Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow}
	}
	if _, err := Prepare(v[1], req("sig-applicant-1")); !errors.Is(err, ErrFieldSigned) {
		t.Errorf("signed field: %v, want ErrFieldSigned", err)
	}
	if _, err := Prepare(v[0], req("sig-nobody")); !errors.Is(err, ErrFieldNotFound) {
		t.Errorf("missing field: %v, want ErrFieldNotFound", err)
	}
	bad := req("sig.court")
	bad.NewField = &NewField{Page: 1}
	if _, err := Prepare(v[0], bad); err == nil {
		t.Error("field name with a period accepted")
	}
	bad = req("sig-extra") // the generated agreement declares sig-court: a field it does not have
	bad.NewField = &NewField{Page: 9}
	if _, err := Prepare(v[0], bad); err == nil {
		t.Error("page 9 of 2 accepted")
	}
	if _, err := Prepare([]byte("not a pdf"), req("x")); !errors.Is(err, ErrNotPDF) {
		t.Errorf("not a PDF: %v, want ErrNotPDF", err)
	}
	small := req("sig-organisation")
	small.ContentsSize = 300
	if _, err := Sign(context.Background(), v[0], small, p.org.Key, p.tsaAt(testNow)); !errors.Is(err, ErrContentsTooSmall) {
		t.Errorf("tiny /Contents: %v, want ErrContentsTooSmall", err)
	}
	noTime := req("sig-organisation")
	noTime.Time = time.Time{}
	if _, err := Prepare(v[0], noTime); err == nil {
		t.Error("zero signing time accepted")
	}
}

func TestPendingTampered(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	base := sharedAgreement(t)[0]
	pend, err := Prepare(base, Request{Field: "sig-organisation", Appearance: Appearance{Name: "x", Font: p.font}, Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signDigest(p.org.Key, pend.ToBeSigned())
	if err != nil {
		t.Fatal(err)
	}
	pend.Head = append(bytes.Clone(pend.Head[:len(pend.Head)-40]), bytes.Repeat([]byte(" "), 40)...)
	if _, err := Finish(context.Background(), base, pend, sig, nil); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered pending state: %v, want a mismatch error", err)
	}
	var q Pending
	if err := q.UnmarshalBinary([]byte(`{"v":99}`)); err == nil {
		t.Error("pending state of an unknown version accepted")
	}
}

// TestInvisibleCourtSignature adds a signature field that the document did not prepare (the court's
// confirmation), invisible, after the four signatures.
func TestInvisibleCourtSignature(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	court, err := NewKeyPair(p.ca, Subject{Name: "北京市海淀区人民法院", Role: RoleCourt, CaseNumber: "(2025)京0108民特123号"}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Sign(context.Background(), v[len(v)-1], Request{
		Field: "sig-court-invisible", NewField: &NewField{Page: 2}, Cert: court.Cert, Chain: court.Chain,
		Time: testNow.Add(24 * time.Hour), Reason: "司法确认", Validation: p.validation(),
	}, court.Key, p.tsaAt(testNow.Add(24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	checkAllValid(t, out, 5)
}

// TestVisibleNewField places a new visible field and checks that the page's annotations were extended.
func TestVisibleNewField(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	v := sharedAgreement(t)
	out, err := Sign(context.Background(), v[len(v)-1], Request{
		Field: "sig-witness", NewField: &NewField{Page: 1, Rect: Rect{340, 90, 540, 150}},
		Appearance: Appearance{Name: "见证人 赵七", Role: "见证人", Font: p.font},
		Cert:       p.org.Cert, Chain: p.org.Chain, Time: testNow.Add(time.Hour), Validation: p.validation(),
	}, p.org.Key, p.tsaAt(testNow.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	// A visible field the signed document did not declare can cover its content: the four earlier signatures are
	// "modified after signing" (issue 9), the new one itself is valid.
	rep, err := Verify(out, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) != 5 || !rep.Signatures[4].Valid || !hasMod(rep, ModNewField) {
		t.Errorf("visible new field: valid %v, %d signatures, modifications %+v; want only the earlier four modified", rep.Valid, len(rep.Signatures), rep.Modifications)
	}
	for _, s := range rep.Signatures[:4] {
		if !s.ModifiedAfter {
			t.Errorf("%s: not modified after the new field", s.Field)
		}
	}
}

func TestRSASealFromPKCS12(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.ca.Issue(&key.PublicKey, Subject{Name: "某某知识产权保护中心", Role: RoleOrganisation}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{p.ca.Cert}, "秘密")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPKCS12(pfx, "wrong"); err == nil {
		t.Error("wrong PKCS#12 password accepted")
	}
	kp, err := LoadPKCS12(pfx, "秘密")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Sign(context.Background(), sharedAgreement(t)[0], Request{
		Field: "sig-organisation", Appearance: Appearance{Name: "某某知识产权保护中心", Font: p.font},
		Cert: kp.Cert, Chain: kp.Chain, Time: testNow, Validation: p.validation(),
	}, kp.Key, p.tsaAt(testNow))
	if err != nil {
		t.Fatal(err)
	}
	checkAllValid(t, out, 1)
}

func TestP384DeviceKey(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.ca.Issue(&key.PublicKey, Subject{Name: "张三", Role: RoleApplicant}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	base := sharedAgreement(t)[0]
	pend, err := Prepare(base, Request{Field: "sig-applicant-1", Appearance: Appearance{Name: "张三", Font: p.font}, Cert: cert, Chain: p.ca.Chain(), Time: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signDigest(key, pend.ToBeSigned()) // DER form is accepted as well as raw r‖s
	if err != nil {
		t.Fatal(err)
	}
	out, err := Finish(context.Background(), base, pend, sig, p.tsaAt(testNow))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(out, p.roots, testNow)
	if err != nil || !rep.Valid {
		t.Fatalf("P-384 signature: valid %v, err %v", rep != nil && rep.Valid, err)
	}
}

func TestDeviceKeyHelpers(t *testing.T) {
	t.Parallel()
	dev, _ := signingtest.NewDevice()
	pub, err := ParseDeviceKey(dev.SPKI())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("proof of possession: nonce 42")
	sig, _ := dev.Sign(msg)
	if err := VerifyDeviceSignature(pub, msg, sig); err != nil {
		t.Errorf("device signature: %v", err)
	}
	if err := VerifyDeviceSignature(pub, append(msg, '!'), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signature over other bytes: %v, want ErrBadSignature", err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	spki, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if _, err := ParseDeviceKey(spki); err == nil {
		t.Error("RSA device key accepted")
	}
	if _, err := ParseDeviceKey([]byte("junk")); err == nil {
		t.Error("junk device key accepted")
	}
}
