package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"
)

// Curve selects the elliptic curve of a generated key.
type Curve int

// Curves for NewCA and generated keys.
const (
	CurveP256 Curve = iota
	CurveP384
)

func newECKey(c Curve) (*ecdsa.PrivateKey, error) {
	curve := elliptic.P256()
	if c == CurveP384 {
		curve = elliptic.P384()
	}
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate key: %w", err)
	}
	return k, nil
}

// Subject is what a document-signing certificate binds: CN = Name, OU = Role, O = Organisation and
// SERIALNUMBER = CaseNumber (a party's certificate is issued for one case, so the case number is what
// distinguishes two certificates of the same person).
type Subject struct {
	Name         string // the signer's name, e.g. 张三 or 北京某某科技有限公司
	Role         string // e.g. applicant, respondent, agent, mediator, organisation, court
	CaseNumber   string // e.g. (2025)京0108民诉前调1234号
	Organisation string // the party's company, the mediation organisation or the court; optional
	Country      string // ISO 3166 code; "CN" when empty
	// Identity is the identity evidence behind a party's certificate (identity.go); nil for others.
	Identity *IdentityEvidence
}

func (s Subject) name() pkix.Name {
	n := pkix.Name{CommonName: s.Name, SerialNumber: s.CaseNumber}
	if s.Role != "" {
		n.OrganizationalUnit = []string{s.Role}
	}
	if s.Organisation != "" {
		n.Organization = []string{s.Organisation}
	}
	c := s.Country
	if c == "" {
		c = "CN"
	}
	n.Country = []string{c}
	n.ExtraNames = s.Identity.attributes()
	return n
}

// SubjectOf reads a Subject back from a certificate issued by Issue.
func SubjectOf(c *x509.Certificate) Subject {
	s := Subject{Name: c.Subject.CommonName, CaseNumber: c.Subject.SerialNumber}
	if len(c.Subject.OrganizationalUnit) > 0 {
		s.Role = c.Subject.OrganizationalUnit[0]
	}
	if len(c.Subject.Organization) > 0 {
		s.Organisation = c.Subject.Organization[0]
	}
	if len(c.Subject.Country) > 0 {
		s.Country = c.Subject.Country[0]
	}
	s.Identity = IdentityOf(c)
	return s
}

// Issuer issues document-signing certificates. CA implements it; an external CA can be plugged in by
// implementing it too.
type Issuer interface {
	// Issue certifies pub for signing documents as s, valid from notBefore to notAfter.
	Issue(pub crypto.PublicKey, s Subject, notBefore, notAfter time.Time) (*x509.Certificate, error)
	// Chain returns the issuer certificates from the issuing CA up to and including the root.
	Chain() []*x509.Certificate
}

// CA is Parley's own certificate authority: a self-signed root that directly issues signer, seal and TSA
// certificates and CRLs.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CRLURL, when set, is written as the CRL distribution point of issued certificates.
	CRLURL string
	// OCSPURL and IssuerURL, when set, are written into the authority information access extension of issued
	// certificates (id-ad-ocsp and id-ad-caIssuers). SetBaseURL sets all three from the server's public URL.
	OCSPURL, IssuerURL string
	// OnIssue, when set, is called with every certificate the CA issues before Issue returns it; an error
	// fails the issue. The OCSP responder answers "good" only for certificates recorded this way.
	OnIssue func(*x509.Certificate) error
}

// Paths below a server's base URL where Parley publishes its CA: the CRL, the OCSP responder and the root
// certificate in DER (the AIA caIssuers entry).
const (
	CRLPath       = "/api/v1/ca/crl"
	OCSPPath      = "/api/v1/ca/ocsp"
	IssuerCerPath = "/api/v1/ca/root.cer"
)

// SetBaseURL points the CRL distribution point and the authority information access of every certificate the
// CA issues from now on at base (an absolute http or https URL without trailing slash).
func (ca *CA) SetBaseURL(base string) {
	base = strings.TrimRight(base, "/")
	ca.CRLURL, ca.OCSPURL, ca.IssuerURL = base+CRLPath, base+OCSPPath, base+IssuerCerPath
}

// CAConfig configures NewCA.
type CAConfig struct {
	Operator  string // the platform operator, written as O and appended to the CN "Parley Root CA"
	Curve     Curve
	NotBefore time.Time // zero means now
	NotAfter  time.Time // zero means NotBefore + 20 years
}

// NewCA creates a root CA with a fresh key.
func NewCA(cfg CAConfig) (*CA, error) {
	key, err := newECKey(cfg.Curve)
	if err != nil {
		return nil, err
	}
	nb := cfg.NotBefore
	if nb.IsZero() {
		nb = time.Now()
	}
	na := cfg.NotAfter
	if na.IsZero() {
		na = nb.AddDate(20, 0, 0)
	}
	cn := "Parley Root CA"
	if cfg.Operator != "" {
		cn += " – " + cfg.Operator
	}
	subj := pkix.Name{CommonName: cn, Country: []string{"CN"}}
	if cfg.Operator != "" {
		subj.Organization = []string{cfg.Operator}
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subj,
		NotBefore:             nb.Add(-time.Minute).UTC(),
		NotAfter:              na.UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("signing: create root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("signing: parse root certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LogValue keeps the key out of logs.
func (ca *CA) LogValue() slog.Value {
	if ca == nil || ca.Cert == nil {
		return slog.StringValue("<nil CA>")
	}
	return slog.GroupValue(slog.String("subject", ca.Cert.Subject.String()), slog.String("key", "REDACTED"))
}

func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("signing: serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // positive and always 16 bytes long
	return new(big.Int).SetBytes(b), nil
}

// keyID is the RFC 5280 method-1 key identifier (SHA-1 of the subjectPublicKey bits).
func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil
	}
	h := sha1.Sum(spki.Key.Bytes)
	return h[:]
}

// Chain implements Issuer: the root itself.
func (ca *CA) Chain() []*x509.Certificate { return []*x509.Certificate{ca.Cert} }

func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("signing: CA has no certificate or key")
	}
	if !notAfter.After(notBefore) {
		return nil, errors.New("signing: issue certificate: notAfter must be after notBefore")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = notBefore.UTC()
	tmpl.NotAfter = notAfter.UTC()
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.SubjectKeyId = keyID(pub)
	tmpl.AuthorityKeyId = ca.Cert.SubjectKeyId
	tmpl.BasicConstraintsValid = true
	if ca.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{ca.CRLURL}
	}
	if ca.OCSPURL != "" {
		tmpl.OCSPServer = []string{ca.OCSPURL}
	}
	if ca.IssuerURL != "" {
		tmpl.IssuingCertificateURL = []string{ca.IssuerURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing: issue certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("signing: parse issued certificate: %w", err)
	}
	if ca.OnIssue != nil {
		if err := ca.OnIssue(c); err != nil {
			return nil, fmt.Errorf("signing: record issued certificate: %w", err)
		}
	}
	return c, nil
}

// Issue implements Issuer: a document-signing certificate for pub, binding s. Key usage digitalSignature +
// nonRepudiation (what a qualified electronic signature needs); extended key usages emailProtection and
// id-kp-documentSigning (RFC 9336). emailProtection is what NSS (and so pdfsig, Firefox, Thunderbird) requires for
// a certificateUsageEmailSigner check and what `openssl cms -verify` requires under its default purpose
// (smimesign); a certificate with documentSigning alone is refused by both. RFC 9336 verifiers, digitorus/pdfsign
// among them, accept documentSigning; pdfcpu accepts either.
func (ca *CA) Issue(pub crypto.PublicKey, s Subject, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if strings.TrimSpace(s.Name) == "" {
		return nil, errors.New("signing: issue certificate: subject name is empty")
	}
	switch pub.(type) {
	case *ecdsa.PublicKey:
	default:
		if _, err := signatureAlgorithm(pub); err != nil {
			return nil, err
		}
	}
	return ca.issue(&x509.Certificate{
		Subject:            s.name(),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidExtKeyUsageDocSign},
	}, pub, notBefore, notAfter)
}

// IssueTimestamping issues a TSA certificate with the critical timeStamping extended key usage (RFC 3161 §2.3).
func (ca *CA) IssueTimestamping(pub crypto.PublicKey, name string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	eku := derSeq(derOID(oidExtKeyUsageTimestamp))
	subj := pkix.Name{CommonName: name, Country: []string{"CN"}}
	if len(ca.Cert.Subject.Organization) > 0 {
		subj.Organization = ca.Cert.Subject.Organization
	}
	return ca.issue(&x509.Certificate{
		Subject:         subj,
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}, pub, notBefore, notAfter)
}

// Revoked is a revoked certificate for CRL.
type Revoked struct {
	Serial *big.Int
	At     time.Time
}

// CRL issues a DER certificate revocation list. number must grow with every CRL (a counter kept by the caller,
// or the issue time in seconds).
func (ca *CA) CRL(number int64, revoked []Revoked, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	var entries []x509.RevocationListEntry
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                thisUpdate.UTC(),
		NextUpdate:                nextUpdate.UTC(),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing: create CRL: %w", err)
	}
	return der, nil
}

// MarshalPEM returns the root certificate and the PKCS#8 private key as PEM.
func (ca *CA) MarshalPEM() (certPEM, keyPEM []byte, err error) {
	k, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: marshal CA key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	return certPEM, keyPEM, nil
}

// LoadCA reads a CA saved with MarshalPEM (or any CA certificate and matching key in PEM).
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	kp, err := LoadKeyPairPEM(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("signing: load CA: %w", err)
	}
	if !kp.Cert.IsCA {
		return nil, errors.New("signing: load CA: certificate is not a CA certificate")
	}
	return &CA{Cert: kp.Cert, Key: kp.Key}, nil
}
