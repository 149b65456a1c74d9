package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// This file builds and parses CMS SignedData (RFC 5652) for PAdES: detached id-data content, SHA-256, the signed
// attributes content-type, message-digest and signing-certificate-v2 (RFC 5035) and no signing-time (PAdES takes
// the claimed time from /M). The signed attributes are built first and handed out as the exact bytes to sign, so a
// device can sign them with WebCrypto; the SignerInfo is assembled afterwards around whatever signature comes back.

var (
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCertV2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrTimestampToken   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSAWithSHA256      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidRSAEncryption        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidEd25519              = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidExtKeyUsageDocSign   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36} // id-kp-documentSigning, RFC 9336
	oidExtKeyUsageTimestamp = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage          = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// der writes one TLV with the given identifier octet.
func der(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func derSeq(parts ...[]byte) []byte { return der(0x30, parts...) }

// derSetOf encodes a SET OF with its elements in DER order.
func derSetOf(elems ...[]byte) []byte {
	sorted := slices.Clone(elems)
	slices.SortFunc(sorted, compareDER)
	return der(0x31, sorted...)
}

// compareDER orders encodings as X.690 requires for SET OF: as octet strings, the shorter padded with zeros.
func compareDER(a, b []byte) int {
	n := max(len(a), len(b))
	for i := range n {
		var x, y byte
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return int(x) - int(y)
		}
	}
	return 0
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("signing: asn1 marshal %T: %v", v, err)) // only called on values built here
	}
	return b
}

func derOID(o asn1.ObjectIdentifier) []byte { return mustMarshal(o) }
func derInt(i *big.Int) []byte              { return mustMarshal(i) }
func derOctets(b []byte) []byte             { return der(0x04, b) }

// derGeneralizedTime encodes t (UTC, whole seconds) as GeneralizedTime.
func derGeneralizedTime(t time.Time) []byte {
	return der(0x18, []byte(t.UTC().Format("20060102150405Z")))
}

func algID(o asn1.ObjectIdentifier, nullParams bool) []byte {
	if nullParams {
		return derSeq(derOID(o), []byte{0x05, 0x00})
	}
	return derSeq(derOID(o))
}

func attribute(t asn1.ObjectIdentifier, value []byte) []byte {
	return derSeq(derOID(t), derSetOf(value))
}

// signingCertificateV2 encodes the ESS signing-certificate-v2 attribute value for cert (SHA-256, so the
// hashAlgorithm field takes its DEFAULT and is omitted).
func signingCertificateV2(cert *x509.Certificate) []byte {
	h := sha256.Sum256(cert.Raw)
	issuerSerial := derSeq(derSeq(der(0xA4, cert.RawIssuer)), derInt(cert.SerialNumber))
	essCertIDv2 := derSeq(derOctets(h[:]), issuerSerial)
	return derSeq(derSeq(essCertIDv2))
}

// signedAttributes returns the DER SET OF the signed attributes: exactly the bytes the signer signs.
func signedAttributes(contentType asn1.ObjectIdentifier, digest []byte, cert *x509.Certificate) []byte {
	return derSetOf(
		attribute(oidAttrContentType, derOID(contentType)),
		attribute(oidAttrMessageDigest, derOctets(digest)),
		attribute(oidAttrSigningCertV2, signingCertificateV2(cert)),
	)
}

// signatureAlgorithm returns the CMS signatureAlgorithm for a public key used with SHA-256.
func signatureAlgorithm(pub crypto.PublicKey) ([]byte, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return algID(oidECDSAWithSHA256, false), nil
	case *rsa.PublicKey:
		return algID(oidSHA256WithRSA, true), nil
	}
	return nil, fmt.Errorf("signing: unsupported public key type %T", pub)
}

// cmsParts is what assembleSignedData needs.
type cmsParts struct {
	contentType asn1.ObjectIdentifier
	content     []byte // encapsulated content; nil for detached
	signedAttrs []byte // DER SET OF, as returned by signedAttributes
	signature   []byte // signature value (DER for ECDSA)
	unsigned    [][]byte
	cert        *x509.Certificate
	certs       []*x509.Certificate // all certificates to embed, signer first
}

// assembleSignedData builds a ContentInfo holding the SignedData.
func assembleSignedData(p cmsParts) ([]byte, error) {
	sigAlg, err := signatureAlgorithm(p.cert.PublicKey)
	if err != nil {
		return nil, err
	}
	if len(p.signedAttrs) < 2 || p.signedAttrs[0] != 0x31 {
		return nil, errors.New("signing: signed attributes are not a DER SET")
	}
	sid := derSeq(p.cert.RawIssuer, derInt(p.cert.SerialNumber))
	si := [][]byte{
		derInt(big.NewInt(1)),
		sid,
		algID(oidSHA256, false),
		append([]byte{0xA0}, p.signedAttrs[1:]...), // [0] IMPLICIT SET OF Attribute
		sigAlg,
		derOctets(p.signature),
	}
	if len(p.unsigned) > 0 {
		set := derSetOf(p.unsigned...)
		si = append(si, append([]byte{0xA1}, set[1:]...))
	}
	var raws [][]byte
	seen := map[string]bool{}
	for _, c := range p.certs {
		if c == nil || seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		raws = append(raws, c.Raw)
	}
	certSet := derSetOf(raws...)
	encap := [][]byte{derOID(p.contentType)}
	version := int64(1)
	if p.content != nil {
		encap = append(encap, der(0xA0, derOctets(p.content)))
	}
	if !p.contentType.Equal(oidData) {
		version = 3
	}
	sd := derSeq(
		derInt(big.NewInt(version)),
		derSetOf(algID(oidSHA256, false)),
		derSeq(encap...),
		append([]byte{0xA0}, certSet[1:]...),
		derSetOf(derSeq(si...)),
	)
	return derSeq(derOID(oidSignedData), der(0xA0, sd)), nil
}

// Parsing.

type cmsContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type cmsEncap struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type cmsSignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo cmsEncap
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []cmsSignerInfo `asn1:"set"`
}

type cmsSignerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type cmsAttribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// parsedCMS is a parsed SignedData with one signer.
type parsedCMS struct {
	contentType asn1.ObjectIdentifier
	content     []byte // encapsulated content, nil if detached
	certs       []*x509.Certificate
	signer      *x509.Certificate
	si          cmsSignerInfo
	signedSet   []byte // signed attributes re-tagged as SET OF, the signed bytes
	signed      []cmsAttribute
	unsigned    []cmsAttribute
}

// derLength returns the length of the DER/BER TLV at the start of b (definite lengths only).
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errors.New("truncated")
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return 0, errors.New("unsupported length encoding")
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l < 0 || hdr+l > len(b) {
		return 0, errors.New("length beyond input")
	}
	return hdr + l, nil
}

// parseCMS parses a ContentInfo holding SignedData; trailing zero padding (a PDF /Contents placeholder) is
// ignored.
func parseCMS(b []byte) (*parsedCMS, error) {
	n, err := derLength(b)
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if !allZero(b[n:]) {
		return nil, errors.New("cms: data after the SignedData")
	}
	var ci cmsContentInfo
	if _, err := asn1.Unmarshal(b[:n], &ci); err != nil {
		return nil, fmt.Errorf("cms: content info: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("cms: content type %s is not signedData", ci.ContentType)
	}
	var sd cmsSignedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("cms: signed data: %v", err)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("cms: %d signer infos, want 1", len(sd.SignerInfos))
	}
	p := &parsedCMS{contentType: sd.EncapContentInfo.EContentType, si: sd.SignerInfos[0]}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 {
		var octets []byte
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &octets); err != nil {
			return nil, fmt.Errorf("cms: encapsulated content: %w", err)
		}
		p.content = octets
	}
	rest := sd.Certificates.Bytes
	for len(rest) > 0 {
		l, err := derLength(rest)
		if err != nil {
			return nil, fmt.Errorf("cms: certificates: %w", err)
		}
		if rest[0] == 0x30 {
			c, err := x509.ParseCertificate(rest[:l])
			if err != nil {
				return nil, fmt.Errorf("cms: certificate: %w", err)
			}
			p.certs = append(p.certs, c)
		}
		rest = rest[l:]
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(p.si.SID.FullBytes, &ias); err != nil || ias.Serial == nil {
		return nil, errors.New("cms: signer identifier is not issuerAndSerialNumber")
	}
	for _, c := range p.certs {
		if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
			p.signer = c
			break
		}
	}
	if p.signer == nil {
		return nil, errors.New("cms: the signer's certificate is not embedded")
	}
	if len(p.si.SignedAttrs.FullBytes) == 0 {
		return nil, errors.New("cms: no signed attributes")
	}
	p.signedSet = append([]byte{0x31}, p.si.SignedAttrs.FullBytes[1:]...)
	if p.signed, err = parseAttributes(p.signedSet); err != nil {
		return nil, fmt.Errorf("cms: signed attributes: %w", err)
	}
	if len(p.si.UnsignedAttrs.FullBytes) > 0 {
		set := append([]byte{0x31}, p.si.UnsignedAttrs.FullBytes[1:]...)
		if p.unsigned, err = parseAttributes(set); err != nil {
			return nil, fmt.Errorf("cms: unsigned attributes: %w", err)
		}
	}
	return p, nil
}

func parseAttributes(set []byte) ([]cmsAttribute, error) {
	var attrs []cmsAttribute
	if rest, err := asn1.UnmarshalWithParams(set, &attrs, "set"); err != nil || len(rest) > 0 {
		if err == nil {
			err = errors.New("trailing data")
		}
		return nil, err
	}
	return attrs, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// attr returns the single value of attribute t, or nil.
func attrValue(attrs []cmsAttribute, t asn1.ObjectIdentifier) ([]byte, int) {
	var v []byte
	count := 0
	for _, a := range attrs {
		if a.Type.Equal(t) {
			count++
			v = a.Values.Bytes
		}
	}
	return v, count
}

// verify checks the message digest over content (the encapsulated content if content is nil) and the signature
// over the signed attributes with the signer certificate's key. It returns the content digest algorithm.
func (p *parsedCMS) verify(content []byte, wantType asn1.ObjectIdentifier) error {
	if content == nil {
		content = p.content
	}
	var h crypto.Hash
	switch {
	case p.si.DigestAlgorithm.Algorithm.Equal(oidSHA256):
		h = crypto.SHA256
	case p.si.DigestAlgorithm.Algorithm.Equal(oidSHA384):
		h = crypto.SHA384
	case p.si.DigestAlgorithm.Algorithm.Equal(oidSHA512):
		h = crypto.SHA512
	default:
		return fmt.Errorf("cms: unsupported digest algorithm %s", p.si.DigestAlgorithm.Algorithm)
	}
	ct, n := attrValue(p.signed, oidAttrContentType)
	if n != 1 {
		return errors.New("cms: content-type attribute missing or repeated")
	}
	var gotType asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(ct, &gotType); err != nil || !gotType.Equal(wantType) || !p.contentType.Equal(wantType) {
		return fmt.Errorf("cms: content type %s, want %s", gotType, wantType)
	}
	md, n := attrValue(p.signed, oidAttrMessageDigest)
	if n != 1 {
		return errors.New("cms: message-digest attribute missing or repeated")
	}
	var digest []byte
	if _, err := asn1.Unmarshal(md, &digest); err != nil {
		return fmt.Errorf("cms: message digest: %w", err)
	}
	hh := h.New()
	hh.Write(content)
	if !bytes.Equal(hh.Sum(nil), digest) {
		return errDigestMismatch
	}
	alg, err := x509SignatureAlgorithm(p.si.SignatureAlgorithm.Algorithm, h)
	if err != nil {
		return err
	}
	if err := p.signer.CheckSignature(alg, p.signedSet, p.si.Signature); err != nil {
		return fmt.Errorf("cms: signature does not verify with the signer's certificate: %w", err)
	}
	return nil
}

var errDigestMismatch = errors.New("cms: message digest does not match the signed bytes")

func x509SignatureAlgorithm(o asn1.ObjectIdentifier, h crypto.Hash) (x509.SignatureAlgorithm, error) {
	switch {
	case o.Equal(oidECDSAWithSHA256):
		return x509.ECDSAWithSHA256, nil
	case o.Equal(oidECDSAWithSHA384):
		return x509.ECDSAWithSHA384, nil
	case o.Equal(oidECDSAWithSHA512):
		return x509.ECDSAWithSHA512, nil
	case o.Equal(oidSHA256WithRSA):
		return x509.SHA256WithRSA, nil
	case o.Equal(oidSHA384WithRSA):
		return x509.SHA384WithRSA, nil
	case o.Equal(oidSHA512WithRSA):
		return x509.SHA512WithRSA, nil
	case o.Equal(oidEd25519):
		return x509.PureEd25519, nil
	case o.Equal(oidRSAEncryption):
		switch h {
		case crypto.SHA256:
			return x509.SHA256WithRSA, nil
		case crypto.SHA384:
			return x509.SHA384WithRSA, nil
		case crypto.SHA512:
			return x509.SHA512WithRSA, nil
		}
	}
	return 0, fmt.Errorf("cms: unsupported signature algorithm %s", o)
}

// checkSigningCertificateV2 reports whether the ESS signing-certificate-v2 attribute names the signer certificate.
func (p *parsedCMS) checkSigningCertificateV2() error {
	v, n := attrValue(p.signed, oidAttrSigningCertV2)
	if n != 1 {
		return errors.New("signing-certificate-v2 attribute missing or repeated")
	}
	var sc struct {
		Certs []struct {
			HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
			CertHash      []byte
			IssuerSerial  asn1.RawValue `asn1:"optional"`
		}
		Policies asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
		return fmt.Errorf("signing-certificate-v2 attribute malformed: %v", err)
	}
	id := sc.Certs[0]
	var h crypto.Hash
	switch a := id.HashAlgorithm.Algorithm; {
	case len(a) == 0 || a.Equal(oidSHA256):
		h = crypto.SHA256
	case a.Equal(oidSHA384):
		h = crypto.SHA384
	case a.Equal(oidSHA512):
		h = crypto.SHA512
	default:
		return fmt.Errorf("signing-certificate-v2 uses unsupported hash %s", a)
	}
	hh := h.New()
	hh.Write(p.signer.Raw)
	if !bytes.Equal(hh.Sum(nil), id.CertHash) {
		return errors.New("signing-certificate-v2 does not match the signer's certificate")
	}
	return nil
}
