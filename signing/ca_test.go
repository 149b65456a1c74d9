package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"slices"
	"testing"
	"time"
)

func TestCA(t *testing.T) {
	t.Parallel()
	for _, curve := range []Curve{CurveP256, CurveP384} {
		ca, err := NewCA(CAConfig{Operator: "某某运营公司", Curve: curve, NotBefore: certFrom, NotAfter: certTo})
		if err != nil {
			t.Fatal(err)
		}
		if !ca.Cert.IsCA || ca.Cert.Subject.CommonName != "Parley Root CA – 某某运营公司" || ca.Cert.Subject.Organization[0] != "某某运营公司" {
			t.Errorf("root subject %v, CA %v", ca.Cert.Subject, ca.Cert.IsCA)
		}
		wantBits := map[Curve]int{CurveP256: 256, CurveP384: 384}[curve]
		if bits := ca.Cert.PublicKey.(*ecdsa.PublicKey).Curve.Params().BitSize; bits != wantBits {
			t.Errorf("root key %d bits, want %d", bits, wantBits)
		}
		certPEM, keyPEM, err := ca.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadCA(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if !loaded.Cert.Equal(ca.Cert) {
			t.Error("PEM round trip changed the certificate")
		}
		// A certificate issued by the reloaded CA chains to the original root.
		dev, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		leaf, err := loaded.Issue(&dev.PublicKey, Subject{Name: "张三", Role: RoleApplicant, CaseNumber: "(2025)京0108民诉前调1234号"}, certFrom, certTo.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("leaf does not chain: %v", err)
		}
		s := SubjectOf(leaf)
		if s.Name != "张三" || s.Role != RoleApplicant || s.CaseNumber != "(2025)京0108民诉前调1234号" || s.Country != "CN" {
			t.Errorf("subject %+v", s)
		}
		if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || !slices.ContainsFunc(leaf.UnknownExtKeyUsage, oidExtKeyUsageDocSign.Equal) {
			t.Errorf("leaf key usage %v, extended %v", leaf.KeyUsage, leaf.UnknownExtKeyUsage)
		}
		if leaf.NotAfter.After(ca.Cert.NotAfter) {
			t.Error("leaf outlives its root")
		}
		if leaf.IsCA {
			t.Error("leaf is a CA")
		}
	}
	if _, err := LoadCA([]byte("junk"), nil); err == nil {
		t.Error("junk CA accepted")
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	dev, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := p.ca.Issue(&dev.PublicKey, Subject{Name: " "}, certFrom, certTo); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := p.ca.Issue(&dev.PublicKey, Subject{Name: "x"}, certTo, certFrom); err == nil {
		t.Error("notAfter before notBefore accepted")
	}
	var issuer Issuer = p.ca // CA satisfies Issuer
	if len(issuer.Chain()) != 1 {
		t.Error("chain of the root CA should be the root")
	}
}

func TestTimestampingCertificate(t *testing.T) {
	t.Parallel()
	c := getPKI(t).tsa.Cert
	if !hasTimestampingEKU(c) || len(c.ExtKeyUsage) != 1 {
		t.Errorf("TSA extended key usage %v", c.ExtKeyUsage)
	}
	critical := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Error("the TSA's extended key usage is not critical (RFC 3161 §2.3)")
	}
}

func TestCRL(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	serial := big.NewInt(12345)
	der, err := p.ca.CRL(7, []Revoked{{Serial: serial, At: testNow}}, testNow, testNow.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(p.ca.Cert); err != nil {
		t.Error(err)
	}
	if crl.Number.Int64() != 7 || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(serial) != 0 {
		t.Errorf("CRL number %v entries %v", crl.Number, crl.RevokedCertificateEntries)
	}
}

func TestLoadKeyPairPEM(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	kp, err := NewKeyPair(p.ca, Subject{Name: "法院", Role: RoleCourt}, certFrom, certTo)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(kp.Key)
	ecDER, _ := x509.MarshalECPrivateKey(kp.Key.(*ecdsa.PrivateKey))
	certs := append(pemCert(kp.Cert.Raw), pemCert(p.ca.Cert.Raw)...)
	for name, keyPEM := range map[string][]byte{
		"PKCS#8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"SEC 1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
	} {
		got, err := LoadKeyPairPEM(certs, keyPEM)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Cert.Equal(kp.Cert) || len(got.Chain) != 1 || !got.Chain[0].Equal(p.ca.Cert) {
			t.Errorf("%s: certificate or chain not loaded", name)
		}
	}
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	otherDER := x509.MarshalPKCS1PrivateKey(other)
	if _, err := LoadKeyPairPEM(certs, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: otherDER})); err == nil {
		t.Error("key that does not match the certificate accepted")
	}
	if _, err := LoadKeyPairPEM([]byte("no pem"), nil); err == nil {
		t.Error("missing certificate accepted")
	}
	var buf bytes.Buffer
	buf.WriteString(kp.LogValue().String())
	if bytes.Contains(buf.Bytes(), keyDER[:8]) || !bytes.Contains(buf.Bytes(), []byte("REDACTED")) {
		t.Errorf("LogValue %q", buf.String())
	}
}
