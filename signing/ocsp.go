package signing

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// CertStatus is what a CA knows about a certificate serial number, for OCSP and CRLs.
type CertStatus struct {
	Known     bool      // issued by this CA (unknown serials are answered "unknown", never "good")
	Revoked   bool      // revoked at RevokedAt
	RevokedAt time.Time //
	Reason    int       // RFC 5280 CRLReason; 0 unspecified
}

// OCSPValidity is how long an OCSP response Parley's CA produces stays fresh (nextUpdate − thisUpdate).
const OCSPValidity = 7 * 24 * time.Hour

// OCSP returns a DER OCSP response about cert, signed by the CA itself (RFC 6960 §2.6: the CA that issued the
// certificate may sign the responses), produced at now. The status comes from status; nil means the CA
// considers every certificate it issued good (for tools without a certificate register, such as sign-demo).
func (ca *CA) OCSP(cert *x509.Certificate, st CertStatus, now time.Time) ([]byte, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("signing: OCSP: CA has no certificate or key")
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return nil, fmt.Errorf("signing: OCSP: certificate not issued by this CA: %w", err)
	}
	return ca.ocspResponse(cert.SerialNumber, st, now)
}

func (ca *CA) ocspResponse(serial *big.Int, st CertStatus, now time.Time) ([]byte, error) {
	// Built here rather than with ocsp.CreateResponse, which rounds producedAt down to the minute: validation
	// data must be produced after the signature it validates, and a producedAt up to a minute early would
	// often predate it.
	now = now.UTC().Truncate(time.Second)
	h := ocspHash.New()
	h.Write(ca.Cert.RawSubject)
	nameHash := h.Sum(nil)
	h.Reset()
	h.Write(spkiBits(ca.Cert))
	keyHash := h.Sum(nil)
	certID := derSeq(algID(oidSHA1, true), derOctets(nameHash), derOctets(keyHash), derInt(serial))
	var status []byte
	switch {
	case !st.Known:
		status = []byte{0x82, 0x00} // [2] IMPLICIT NULL: unknown
	case st.Revoked:
		inner := [][]byte{derGeneralizedTime(st.RevokedAt)}
		if st.Reason > 0 {
			inner = append(inner, der(0xA0, der(0x0A, []byte{byte(st.Reason)})))
		}
		status = der(0xA1, inner...) // [1] IMPLICIT RevokedInfo
	default:
		status = []byte{0x80, 0x00} // [0] IMPLICIT NULL: good
	}
	single := derSeq(certID, status, derGeneralizedTime(now), der(0xA0, derGeneralizedTime(now.Add(OCSPValidity))))
	tbs := derSeq(
		der(0xA2, derOctets(keyID(ca.Cert.PublicKey))), // responderID byKey
		derGeneralizedTime(now),                        // producedAt
		derSeq(single),
	)
	sigAlg, err := signatureAlgorithm(ca.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := signDigest(ca.Key, tbs)
	if err != nil {
		return nil, fmt.Errorf("signing: OCSP response: %w", err)
	}
	basic := derSeq(tbs, sigAlg, mustMarshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}))
	resp := derSeq(der(0x0A, []byte{0}), der(0xA0, derSeq(derOID(oidOCSPBasic), derOctets(basic))))
	if _, err := ocsp.ParseResponse(resp, ca.Cert); err != nil { // a self-check: what every client will do
		return nil, fmt.Errorf("signing: OCSP response does not parse: %w", err)
	}
	return resp, nil
}

var (
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
)

// ErrOCSPRequest marks an OCSP request that cannot be parsed or is about another CA; the responder answers it
// with an OCSP error response (malformedRequest / unauthorized), not an HTTP error.
var ErrOCSPRequest = errors.New("signing: OCSP request")

// RespondOCSP answers a DER OCSP request (RFC 6960, as POSTed with Content-Type application/ocsp-request or
// base64 in a GET path) with a DER OCSP response. lookup says what the CA knows about a serial number. A
// malformed request gets the malformedRequest response, a request about another issuer unauthorized; those are
// valid answers, returned with a nil error. Only failures of the responder itself are errors.
func (ca *CA) RespondOCSP(req []byte, lookup func(serial *big.Int) (CertStatus, error), now time.Time) ([]byte, error) {
	r, err := ocsp.ParseRequest(req)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse, nil
	}
	if !ca.issuedBy(r) {
		return ocsp.UnauthorizedErrorResponse, nil
	}
	st := CertStatus{}
	if lookup != nil {
		if st, err = lookup(r.SerialNumber); err != nil {
			return nil, fmt.Errorf("signing: OCSP status of %x: %w", r.SerialNumber, err)
		}
	}
	return ca.ocspResponse(r.SerialNumber, st, now)
}

// issuedBy reports whether an OCSP request's CertID names this CA (hashes of its name and key).
func (ca *CA) issuedBy(r *ocsp.Request) bool {
	if !r.HashAlgorithm.Available() {
		return false
	}
	h := r.HashAlgorithm.New()
	h.Write(ca.Cert.RawSubject)
	nameHash := h.Sum(nil)
	h.Reset()
	h.Write(spkiBits(ca.Cert))
	keyHash := h.Sum(nil)
	return string(nameHash) == string(r.IssuerNameHash) && string(keyHash) == string(r.IssuerKeyHash)
}

// spkiBits returns the subjectPublicKey BIT STRING contents of c (what OCSP's issuerKeyHash hashes).
func spkiBits(c *x509.Certificate) []byte {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil
	}
	return spki.Key.Bytes
}

// ocspHash is the CertID hash of the responses Parley's CA produces (SHA-1, what RFC 6960 clients send by
// default; in a CertID it is an identifier, not a signature).
var ocspHash = crypto.SHA1
