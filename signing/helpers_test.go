package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/signing/signingtest"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// testPKI is the CA, TSA and organisation key shared by the tests of one run.
type testPKI struct {
	font  *Font
	ca    *CA
	tsa   *LocalTSA
	org   *KeyPair
	crl   []byte
	roots *x509.CertPool
}

var (
	pkiOnce sync.Once
	pkiMu   sync.Mutex
	pki     *testPKI
	pkiErr  error
)

// Certificates are valid 2025–2045 so that tools checking them against the wall clock accept them.
var (
	certFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	certTo   = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
)

// crlURL is the loopback address where TestMain serves the test CA's current CRL (pdfcpu fetches it from the
// certificates' distribution point; the network rule allows loopback only).
var crlURL string

func TestMain(m *testing.M) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pkiMu.Lock()
		p := pki
		pkiMu.Unlock()
		if p == nil || r.URL.Path != "/parley.crl" {
			http.NotFound(w, r)
			return
		}
		now := time.Now()
		crl, err := p.ca.CRL(now.Unix(), nil, now.Add(-time.Hour), now.Add(24*time.Hour))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	}))
	crlURL = srv.URL + "/parley.crl"
	code := m.Run()
	srv.Close()
	if trustDir != "" {
		os.RemoveAll(trustDir)
	}
	os.Exit(code)
}

var (
	fontOnce sync.Once
	font     *Font
	fontErr  error
)

func newTestPKI() (*testPKI, error) {
	fontOnce.Do(func() { font, fontErr = FindFont() })
	f, err := font, fontErr
	if err != nil {
		return nil, err
	}
	ca, err := NewCA(CAConfig{Operator: "Parley 测试运营方", NotBefore: certFrom, NotAfter: certTo})
	if err != nil {
		return nil, err
	}
	ca.CRLURL = crlURL
	tsa, err := NewLocalTSA(ca, "Parley Timestamp Authority", certFrom, certTo)
	if err != nil {
		return nil, err
	}
	tsa.Now = func() time.Time { return testNow.Add(3 * time.Second) }
	org, err := NewKeyPair(ca, Subject{Name: "北京市海淀区知识产权纠纷人民调解委员会", Role: RoleOrganisation, CaseNumber: "(2025)京0108民诉前调1234号"}, certFrom, certTo)
	if err != nil {
		return nil, err
	}
	crl, err := ca.CRL(1, nil, testNow.Add(-time.Hour), testNow.AddDate(0, 0, 30))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &testPKI{font: f, ca: ca, tsa: tsa, org: org, crl: crl, roots: roots}, nil
}

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p, err := newTestPKI()
		pkiMu.Lock()
		pki, pkiErr = p, err
		pkiMu.Unlock()
	})
	if pkiErr != nil {
		t.Fatalf("test PKI: %v", pkiErr)
	}
	return pki
}

func (p *testPKI) validation() ValidationData {
	return ValidationData{Certs: p.tsa.Certificates(), CRLs: [][]byte{p.crl}}
}

// deviceSign runs the two-step flow for one signer holding a device key, passing the pending state through its
// serialised form as the server would.
func (p *testPKI) deviceSign(t testing.TB, pdf []byte, field string, subj Subject, seed int, at time.Time) []byte {
	t.Helper()
	dev, err := signingtest.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseDeviceKey(dev.SPKI())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.ca.Issue(pub, subj, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeSignatureImage(signingtest.SignaturePNG(seed, 600, 240), DefaultImageLimits)
	if err != nil {
		t.Fatal(err)
	}
	pend, err := Prepare(pdf, Request{
		Field:      field,
		Appearance: Appearance{Image: img, Name: subj.Name, Role: roleLabel(subj.Role), Font: p.font},
		Cert:       cert, Chain: p.ca.Chain(), Time: at,
		Reason: "同意本文书内容", Location: "Parley 在线调解平台",
		Validation: p.validation(),
	})
	if err != nil {
		t.Fatalf("prepare %s: %v", field, err)
	}
	stored, err := pend.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var loaded Pending
	if err := loaded.UnmarshalBinary(stored); err != nil {
		t.Fatal(err)
	}
	sig, err := dev.Sign(loaded.ToBeSigned())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Finish(context.Background(), pdf, &loaded, sig, p.tsaAt(at.Add(2*time.Second)))
	if err != nil {
		t.Fatalf("finish %s: %v", field, err)
	}
	return out
}

// sealSign signs with the organisation's server-held key.
func (p *testPKI) sealSign(t testing.TB, pdf []byte, field string, at time.Time) []byte {
	t.Helper()
	out, err := Sign(context.Background(), pdf, Request{
		Field:      field,
		Appearance: Appearance{Name: p.org.Cert.Subject.CommonName, Role: "调解专用章", Font: p.font, Seal: true},
		Cert:       p.org.Cert, Chain: p.org.Chain, Time: at, Reason: "调解组织确认",
		Validation: p.validation(),
	}, p.org.Key, p.tsaAt(at.Add(time.Second)))
	if err != nil {
		t.Fatalf("seal %s: %v", field, err)
	}
	return out
}

// tsaAt returns the test TSA with its clock stopped at t.
func (p *testPKI) tsaAt(t time.Time) *LocalTSA {
	return &LocalTSA{Key: p.tsa.Key, Cert: p.tsa.Cert, Chain: p.tsa.Chain, Now: func() time.Time { return t }}
}

func roleLabel(role string) string { return labelsZH.roleName(role) }

// signedAgreement generates the sample agreement and signs it as two parties, the mediator (device keys) and the
// organisation seal (server key). It returns every version, unsigned first.
func signedAgreement(t testing.TB) [][]byte {
	t.Helper()
	p := getPKI(t)
	doc, err := (&Generator{Font: p.font}).Agreement(sampleAgreement("zh"))
	if err != nil {
		t.Fatal(err)
	}
	const caseNo = "(2025)京0108民诉前调1234号"
	v := [][]byte{doc.PDF}
	v = append(v, p.deviceSign(t, v[len(v)-1], "sig-applicant-1", Subject{Name: "张三", Role: RoleApplicant, CaseNumber: caseNo}, 1, testNow))
	v = append(v, p.deviceSign(t, v[len(v)-1], "sig-respondent-1", Subject{Name: "李四", Role: RoleAgent, CaseNumber: caseNo, Organisation: "北京某某科技有限公司"}, 2, testNow.Add(5*time.Minute)))
	v = append(v, p.deviceSign(t, v[len(v)-1], "sig-mediator-1", Subject{Name: "王五", Role: RoleMediator, CaseNumber: caseNo}, 3, testNow.Add(9*time.Minute)))
	v = append(v, p.sealSign(t, v[len(v)-1], "sig-organisation", testNow.Add(10*time.Minute)))
	return v
}

var (
	agreementOnce     sync.Once
	agreementVersions [][]byte
)

// sharedAgreement returns signedAgreement's versions, computed once per test binary (read-only).
func sharedAgreement(t testing.TB) [][]byte {
	agreementOnce.Do(func() { agreementVersions = signedAgreement(t) })
	if agreementVersions == nil {
		t.Fatal("building the signed agreement failed in another test")
	}
	return agreementVersions
}

// External tools.

func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install poppler-utils qpdf): skipping", name)
	}
	return p
}

func writeTemp(t testing.TB, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// qpdfCheck returns qpdf --check's error, nil when the file passes.
func qpdfCheck(t testing.TB, pdf []byte) error {
	t.Helper()
	out, err := exec.Command(tool(t, "qpdf"), "--check", writeTemp(t, pdf)).CombinedOutput()
	if err != nil {
		return &toolError{"qpdf --check", string(out), err}
	}
	return nil
}

type toolError struct {
	cmd, out string
	err      error
}

func (e *toolError) Error() string { return e.cmd + ": " + e.err.Error() + "\n" + e.out }

// pdfsigOutput runs pdfsig (signature validation, no certificate checks against the NSS store matter here).
func pdfsigOutput(t testing.TB, pdf []byte) string {
	t.Helper()
	out, _ := exec.Command(tool(t, "pdfsig"), writeTemp(t, pdf)).CombinedOutput()
	return string(out)
}

// pdfsigSignatures splits pdfsig's output per signed signature field (it also lists empty fields).
func pdfsigSignatures(out string) []string {
	parts := strings.Split(out, "Signature #")
	var sigs []string
	for _, p := range parts[1:] {
		if !strings.Contains(p, "is not signed") {
			sigs = append(sigs, p)
		}
	}
	return sigs
}

var (
	pdfcpuTrust sync.Once
	trustDir    string // pdfcpu's trusted-certificate directory for this run, removed by TestMain
)

// pdfcpuValidate validates with pdfcpu's Go API, trusting the test root and fetching the CRL from the loopback
// server. With all, every signature is validated ("signatures validate -a"); pdfcpu v0.15.0 then fails on files
// that still have empty signature fields ("signature field dict entry V: missing signature dict reference"), so
// for those the tests validate the newest signature only (all false).
func pdfcpuValidate(t testing.TB, pdf []byte, all bool) ([]*model.SignatureValidationResult, error) {
	t.Helper()
	p := getPKI(t)
	pdfcpuTrust.Do(func() {
		dir, err := os.MkdirTemp("", "parley-pdfcpu-trust-")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "parley-root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Cert.Raw}), 0o644)
		trustDir = dir
		model.TrustedCertDir = dir
	})
	conf := pdfcpuConf()
	conf.Offline = false
	conf.AllowedRevocationHosts = []string{"127.0.0.1"}
	conf.PreferredCertRevocationChecker = model.CRL
	conf.TimeoutCRL, conf.TimeoutOCSP = 5, 5
	return api.ValidateSignaturesRaw(bytes.NewReader(pdf), all, conf)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hasEmptySigFields reports whether pdf still has unsigned signature fields.
func hasEmptySigFields(t testing.TB, pdf []byte) bool {
	t.Helper()
	d, err := openPDF(pdf)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.sigFields() {
		if d.dict(f.value) == nil {
			return true
		}
	}
	return false
}
