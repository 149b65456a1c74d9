package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"math/big"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func TestIssuedCertificatesCarryRevocationAddresses(t *testing.T) {
	ca, err := NewCA(CAConfig{Operator: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ca.SetBaseURL("https://parley.example.cn/")
	var issued []*x509.Certificate
	ca.OnIssue = func(c *x509.Certificate) error { issued = append(issued, c); return nil }
	kp, err := NewKeyPair(ca, Subject{Name: "张三", Role: RoleApplicant}, time.Now(), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := NewLocalTSA(ca, "TSA", time.Now(), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{kp.Cert, tsa.Cert} {
		if got := strings.Join(c.CRLDistributionPoints, ","); got != "https://parley.example.cn/api/v1/ca/crl" {
			t.Errorf("%s: CRL DP %q", c.Subject.CommonName, got)
		}
		if got := strings.Join(c.OCSPServer, ","); got != "https://parley.example.cn/api/v1/ca/ocsp" {
			t.Errorf("%s: OCSP %q", c.Subject.CommonName, got)
		}
		if got := strings.Join(c.IssuingCertificateURL, ","); got != "https://parley.example.cn/api/v1/ca/root.cer" {
			t.Errorf("%s: caIssuers %q", c.Subject.CommonName, got)
		}
	}
	if len(issued) != 2 {
		t.Errorf("OnIssue saw %d certificates, want 2", len(issued))
	}
	// A signer certificate: digitalSignature + nonRepudiation, emailProtection and documentSigning.
	c := kp.Cert
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection || len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(oidExtKeyUsageDocSign) {
		t.Errorf("extended key usage %v %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
	}
	ca.OnIssue = func(*x509.Certificate) error { return errors.New("register down") }
	if _, err := NewKeyPair(ca, Subject{Name: "李四"}, time.Now(), time.Now().AddDate(1, 0, 0)); err == nil {
		t.Error("a certificate the register could not record was issued")
	}
}

func TestOCSPResponder(t *testing.T) {
	ca, err := NewCA(CAConfig{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA(CAConfig{})
	now := time.Now()
	kp, _ := NewKeyPair(ca, Subject{Name: "张三"}, now, now.AddDate(1, 0, 0))
	foreign, _ := NewKeyPair(other, Subject{Name: "外人"}, now, now.AddDate(1, 0, 0))
	revokedAt := now.Add(-time.Hour).Truncate(time.Second)
	lookup := func(s *big.Int) (CertStatus, error) {
		switch {
		case s.Cmp(kp.Cert.SerialNumber) == 0:
			return CertStatus{Known: true}, nil
		case s.Cmp(big.NewInt(7)) == 0:
			return CertStatus{Known: true, Revoked: true, RevokedAt: revokedAt, Reason: ocsp.KeyCompromise}, nil
		}
		return CertStatus{}, nil
	}
	ask := func(cert, issuer *x509.Certificate) *ocsp.Response {
		t.Helper()
		req, err := ocsp.CreateRequest(cert, issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		der, err := ca.RespondOCSP(req, lookup, now)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponse(der, ca.Cert)
		if err != nil {
			t.Fatalf("parse response: %v", err)
		}
		return resp
	}
	good := ask(kp.Cert, ca.Cert)
	if good.Status != ocsp.Good || good.SerialNumber.Cmp(kp.Cert.SerialNumber) != 0 {
		t.Errorf("issued certificate: status %d", good.Status)
	}
	if d := now.Sub(good.ProducedAt); d < 0 || d > time.Second {
		t.Errorf("producedAt %v is %v before now; it must be to the second", good.ProducedAt, d)
	}
	if !good.NextUpdate.After(now) {
		t.Errorf("nextUpdate %v", good.NextUpdate)
	}
	// A serial the register does not know is unknown, never good.
	ghost := &x509.Certificate{SerialNumber: big.NewInt(99)}
	*ghost = *kp.Cert
	ghost.SerialNumber = big.NewInt(99)
	if r := ask(ghost, ca.Cert); r.Status != ocsp.Unknown {
		t.Errorf("unknown serial: status %d, want unknown", r.Status)
	}
	ghost.SerialNumber = big.NewInt(7)
	if r := ask(ghost, ca.Cert); r.Status != ocsp.Revoked || !r.RevokedAt.Equal(revokedAt) || r.RevocationReason != ocsp.KeyCompromise {
		t.Errorf("revoked serial: status %d at %v reason %d", r.Status, r.RevokedAt, r.RevocationReason)
	}
	// Requests about another CA and garbage get OCSP error responses, not errors.
	req, _ := ocsp.CreateRequest(foreign.Cert, other.Cert, nil)
	if der, err := ca.RespondOCSP(req, lookup, now); err != nil || !bytes.Equal(der, ocsp.UnauthorizedErrorResponse) {
		t.Errorf("foreign request: %x %v", der, err)
	}
	for _, junk := range [][]byte{nil, []byte("hello"), {0x30, 0x80}} {
		if der, err := ca.RespondOCSP(junk, lookup, now); err != nil || !bytes.Equal(der, ocsp.MalformedRequestErrorResponse) {
			t.Errorf("malformed request %x: %x %v", junk, der, err)
		}
	}
	// OpenSSL agrees with the response.
	if _, err := exec.LookPath("openssl"); err == nil {
		der, _ := ca.OCSP(kp.Cert, CertStatus{Known: true}, now)
		out, err := exec.Command("openssl", "ocsp", "-respin", writeTemp(t, der), "-issuer", writeTemp(t, pemCert(ca.Cert.Raw)), "-cert", writeTemp(t, pemCert(kp.Cert.Raw)),
			"-CAfile", writeTemp(t, pemCert(ca.Cert.Raw)), "-no_nonce").CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": good") || !strings.Contains(string(out), "Response verify OK") {
			t.Errorf("openssl ocsp: %v\n%s", err, out)
		}
	}
}

var (
	ltaOnce     sync.Once
	ltaVersions [][]byte
)

// ltaAgreement signs the sample agreement and brings it to B-LTA after every signature, as the server does
// (once per test binary; the versions are read-only).
func ltaAgreement(t *testing.T) ([][]byte, *testPKI) {
	t.Helper()
	p := getPKI(t)
	ltaOnce.Do(func() { ltaVersions = buildLTAAgreement(t, p) })
	if ltaVersions == nil {
		t.Fatal("building the B-LTA agreement failed in another test")
	}
	return ltaVersions, p
}

func buildLTAAgreement(t *testing.T, p *testPKI) [][]byte {
	t.Helper()
	doc, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	src := &CASource{CA: p.ca}
	opt := ValidationOptions{Extra: p.tsa.Certificates()}
	ctx := context.Background()
	const caseNo = "(2025)京0108民诉前调1234号"
	v := [][]byte{doc.PDF}
	add := func(pdf []byte) {
		out, err := MakeLTA(ctx, pdf, src, opt, p.tsa)
		if err != nil {
			t.Fatalf("MakeLTA: %v", err)
		}
		v = append(v, out)
	}
	add(p.deviceSign(t, v[len(v)-1], "sig-applicant-1", Subject{Name: "张三", Role: RoleApplicant, CaseNumber: caseNo}, 1, testNow))
	add(p.sealSign(t, v[len(v)-1], "sig-organisation", testNow.Add(10*time.Minute)))
	return v
}

func TestMakeLTA(t *testing.T) {
	v, p := ltaAgreement(t)
	final := v[len(v)-1]
	rep, err := Verify(final, p.roots, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || len(rep.Signatures) != 2 {
		t.Fatalf("verify: %s", rep.Text())
	}
	st, err := Archive(final)
	if err != nil || st.Field != "ts-2" || !st.TSANotAfter.Equal(p.tsa.Cert.NotAfter) || st.Expires().IsZero() {
		t.Fatalf("archive state %+v %v", st, err)
	}
	// The DSS holds an OCSP response for the signers and the TSA, produced after the signatures' timestamps,
	// and a CRL; no VRI by default (pdfcpu v0.15 refuses documents with one).
	d, err := openPDF(final)
	if err != nil {
		t.Fatal(err)
	}
	dss := d.dict(d.catalog()["DSS"])
	if _, ok := dss["VRI"]; ok {
		t.Error("VRI written without ValidationOptions.VRI")
	}
	var serials []string
	for _, o := range d.array(dss["OCSPs"]) {
		r, err := ocsp.ParseResponse(d.streamData(o), p.ca.Cert)
		if err != nil {
			t.Fatalf("DSS OCSP: %v", err)
		}
		if r.Status != ocsp.Good || !r.ProducedAt.After(p.tsa.Now()) {
			t.Errorf("DSS OCSP for %x: status %d produced %v, signature timestamp %v", r.SerialNumber, r.Status, r.ProducedAt, p.tsa.Now())
		}
		serials = append(serials, r.SerialNumber.Text(16))
	}
	for _, c := range []*x509.Certificate{p.org.Cert, p.tsa.Cert} {
		found := false
		for _, s := range serials {
			found = found || s == c.SerialNumber.Text(16)
		}
		if !found {
			t.Errorf("no OCSP response in the DSS for %s", c.Subject.CommonName)
		}
	}
	if len(d.array(dss["CRLs"])) == 0 {
		t.Error("no CRL in the DSS")
	}
	// Each signature is followed by exactly two revisions of its own: the DSS-only update and the document
	// timestamp; the first of them changes nothing but the DSS (and, the first time, the catalog's /DSS entry).
	ends, _ := revisionEnds(final)
	if len(ends) != 2+2*3 {
		t.Errorf("%d revisions, want 8 (generated + form, then signature, DSS, timestamp twice)", len(ends))
	}
	// Renewing the archive timestamp: validation data for the newest timestamp, then a new one.
	renewed, err := MakeLTA(context.Background(), final, &CASource{CA: p.ca}, ValidationOptions{Extra: p.tsa.Certificates()}, p.tsa)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := Archive(renewed); st.Field != "ts-3" {
		t.Errorf("renewed: newest timestamp %q, want ts-3", st.Field)
	}
	if rep, _ := Verify(renewed, p.roots, time.Now()); !rep.Valid {
		t.Errorf("renewed: %s", rep.Text())
	}
	if err := qpdfCheck(t, renewed); err != nil {
		t.Error(err)
	}
	// With VRI: one entry per signature and document timestamp, keyed by the SHA-1 of its CMS.
	withVRI, err := AddValidation(context.Background(), renewed, &CASource{CA: p.ca}, ValidationOptions{VRI: true})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = openPDF(withVRI)
	vri := d.dict(d.dict(d.catalog()["DSS"])["VRI"])
	if len(vri) != 5 {
		t.Errorf("VRI has %d entries, want 5 (2 signatures, 3 timestamps)", len(vri))
	}
	for k, e := range vri {
		if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(k) || d.dict(e)["TU"] == nil {
			t.Errorf("VRI entry %q: %v", k, e)
		}
	}
	// A document without signatures has nothing to validate.
	if _, err := AddValidation(context.Background(), v[0], &CASource{CA: p.ca}, ValidationOptions{}); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned document: %v", err)
	}
}

// TestIncrementalUpdatesKeepInfo: every update (signature, DSS, document timestamp) keeps the document's /Info:
// title, producer and dates, as pdfinfo reads them.
func TestIncrementalUpdatesKeepInfo(t *testing.T) {
	v, _ := ltaAgreement(t)
	info := func(pdf []byte) string {
		out, err := exec.Command(tool(t, "pdfinfo"), "-isodates", writeTemp(t, pdf)).CombinedOutput()
		if err != nil {
			t.Fatalf("pdfinfo: %v\n%s", err, out)
		}
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			for _, k := range []string{"Title:", "Producer:", "Creator:", "CreationDate:", "ModDate:", "Author:", "Subject:"} {
				if strings.HasPrefix(l, k) {
					keep = append(keep, l)
				}
			}
		}
		return strings.Join(keep, "\n")
	}
	want := info(v[0])
	if !strings.Contains(want, "Title:") || !strings.Contains(want, "Producer:") || !strings.Contains(want, "CreationDate:") {
		t.Fatalf("the generated document lacks title, producer or creation date:\n%s", want)
	}
	for i, pdf := range v[1:] {
		if got := info(pdf); got != want {
			t.Errorf("version %d: /Info\n%s\nwant\n%s", i+2, got, want)
		}
	}
}

func TestAlgorithmExpiry(t *testing.T) {
	p := getPKI(t)
	if got := AlgorithmExpiry(0, p.tsa.Cert.PublicKey); got.Year() != 2010 {
		t.Errorf("unknown hash: %v", got)
	}
	if got := AlgorithmExpiry(5, p.tsa.Cert.PublicKey); !got.After(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) { // crypto.SHA256 = 5
		t.Errorf("SHA-256 with P-256: %v", got)
	}
}

// bigTSA wraps a timestamper and pads its tokens, as a TSA with a long chain would produce.
type bigTSA struct {
	Timestamper
	pad int
}

func (b bigTSA) Timestamp(ctx context.Context, d []byte) ([]byte, error) {
	tok, err := b.Timestamper.Timestamp(ctx, d)
	if err != nil {
		return nil, err
	}
	// A token is a DER SEQUENCE; trailing zero bytes in /Contents are the padding readers ignore, so adding
	// them here only makes the token need more room.
	return append(tok, make([]byte, b.pad)...), nil
}

func TestDocumentTimestampRoom(t *testing.T) {
	v, p := ltaAgreement(t)
	out, err := AddDocumentTimestamp(context.Background(), v[len(v)-1], bigTSA{p.tsa, 6000}, "ts-9")
	if err != nil {
		t.Fatalf("a token larger than the first reservation: %v", err)
	}
	if st, _ := Archive(out); st.Field != "ts-9" {
		t.Errorf("newest timestamp %q", st.Field)
	}
	if _, err := AddDocumentTimestamp(context.Background(), v[len(v)-1], bigTSA{p.tsa, 100 << 10}, "ts-9"); !errors.Is(err, ErrContentsTooSmall) {
		t.Errorf("a 100 KiB token: %v", err)
	}
}
