package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
)

// Timestamper obtains an RFC 3161 timestamp token (a DER ContentInfo holding the SignedData of a TSTInfo) over a
// SHA-256 digest. Finish and Sign call it with the digest of the CMS signature value, which makes the signature
// PAdES B-T.
type Timestamper interface {
	Timestamp(ctx context.Context, digest []byte) ([]byte, error)
}

// ParleyTSAPolicy is the TSA policy OID of LocalTSA, a UUID-based OID (ITU-T X.667) minted for Parley.
var ParleyTSAPolicy = asn1.ObjectIdentifier{2, 25, 0x3b6a, 0x19f2, 0x4c1e, 0x8d5a, 0x77e0}

// LocalTSA is Parley's own RFC 3161 timestamp authority. It signs with its own key and a certificate issued by
// Parley's CA with the critical timeStamping extended key usage. A token from LocalTSA proves the time as asserted by
// the platform operator, not by an independent third party: see the package documentation.
type LocalTSA struct {
	Key   crypto.Signer
	Cert  *x509.Certificate
	Chain []*x509.Certificate // issuer chain (Parley's root), embedded in tokens and the /DSS
	Now   func() time.Time    // clock; time.Now when nil
	// Accuracy is stated in every token; one second when zero.
	Accuracy time.Duration

	serial atomic.Uint64
}

// NewLocalTSA generates a P-256 key and has issuer certify it for timestamping, valid from notBefore to notAfter.
func NewLocalTSA(issuer *CA, name string, notBefore, notAfter time.Time) (*LocalTSA, error) {
	key, err := newECKey(CurveP256)
	if err != nil {
		return nil, err
	}
	cert, err := issuer.IssueTimestamping(key.Public(), name, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return &LocalTSA{Key: key, Cert: cert, Chain: []*x509.Certificate{issuer.Cert}}, nil
}

func (t *LocalTSA) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Certificates returns the TSA certificate followed by its chain, for the /DSS.
func (t *LocalTSA) Certificates() []*x509.Certificate {
	return append([]*x509.Certificate{t.Cert}, t.Chain...)
}

// Timestamp implements Timestamper without a network round trip.
func (t *LocalTSA) Timestamp(_ context.Context, digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("signing: local TSA: digest is %d bytes, want a SHA-256 digest", len(digest))
	}
	return t.token(crypto.SHA256, digest, nil, true)
}

// token builds a TimeStampToken.
func (t *LocalTSA) token(h crypto.Hash, digest []byte, nonce *big.Int, withCerts bool) ([]byte, error) {
	if t.Key == nil || t.Cert == nil {
		return nil, errors.New("signing: local TSA has no key or certificate")
	}
	hashOID, err := hashOID(h)
	if err != nil {
		return nil, err
	}
	acc := t.Accuracy
	if acc <= 0 {
		acc = time.Second
	}
	// Serial: time in nanoseconds plus a counter, unique per TSA instance and increasing.
	serial := new(big.Int).SetInt64(t.now().UnixNano())
	serial.Lsh(serial, 16).Add(serial, new(big.Int).SetUint64(t.serial.Add(1)&0xffff))
	tst := [][]byte{
		derInt(big.NewInt(1)),
		derOID(ParleyTSAPolicy),
		derSeq(algID(hashOID, false), derOctets(digest)),
		derInt(serial),
		derGeneralizedTime(t.now()),
		derSeq(derInt(big.NewInt(int64(acc / time.Second)))),
	}
	if acc%time.Second != 0 {
		ms := int64(acc % time.Second / time.Millisecond)
		tst[len(tst)-1] = derSeq(derInt(big.NewInt(int64(acc/time.Second))), der(0x80, big.NewInt(max(ms, 1)).Bytes()))
	}
	if nonce != nil {
		tst = append(tst, derInt(nonce))
	}
	tst = append(tst, der(0xA0, der(0xA4, t.Cert.RawSubject)))
	info := derSeq(tst...)
	d := sha256.Sum256(info)
	attrs := signedAttributes(oidTSTInfo, d[:], t.Cert)
	sig, err := signDigest(t.Key, attrs)
	if err != nil {
		return nil, fmt.Errorf("signing: local TSA: %w", err)
	}
	certs := []*x509.Certificate{t.Cert}
	if withCerts {
		certs = append(certs, t.Chain...)
	} else {
		certs = nil
	}
	return assembleSignedData(cmsParts{
		contentType: oidTSTInfo, content: info, signedAttrs: attrs, signature: sig, cert: t.Cert, certs: certs,
	})
}

// Respond answers a DER RFC 3161 TimeStampReq with a DER TimeStampResp, for serving LocalTSA over HTTP
// (Content-Type application/timestamp-query in, application/timestamp-reply out). A request it cannot serve gets a
// rejection response, not an error; the error is for failures of the TSA itself.
func (t *LocalTSA) Respond(req []byte) ([]byte, error) {
	r, err := timestamp.ParseRequest(req)
	if err != nil {
		return rejection(5, "bad request") // badDataFormat
	}
	if r.TSAPolicyOID != nil && !r.TSAPolicyOID.Equal(ParleyTSAPolicy) {
		return rejection(15, "unaccepted policy") // unacceptedPolicy
	}
	if len(r.HashedMessage) != r.HashAlgorithm.Size() {
		return rejection(5, "digest length does not match its algorithm")
	}
	if _, err := hashOID(r.HashAlgorithm); err != nil {
		return rejection(0, "unsupported hash algorithm") // badAlg
	}
	tok, err := t.token(r.HashAlgorithm, r.HashedMessage, r.Nonce, r.Certificates)
	if err != nil {
		return nil, err
	}
	return derSeq(derSeq(derInt(big.NewInt(0))), tok), nil
}

// rejection encodes a TimeStampResp with status rejection and the given failure bit.
func rejection(failBit int, text string) ([]byte, error) {
	bits := asn1.BitString{Bytes: make([]byte, failBit/8+1), BitLength: failBit + 1}
	bits.Bytes[failBit/8] |= 0x80 >> (failBit % 8)
	status := derSeq(derInt(big.NewInt(2)), derSeq(der(0x0C, []byte(text))), mustMarshal(bits))
	return derSeq(status), nil
}

func hashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, nil
	case crypto.SHA384:
		return oidSHA384, nil
	case crypto.SHA512:
		return oidSHA512, nil
	}
	return nil, fmt.Errorf("signing: unsupported hash %v", h)
}

// HTTPTimestamper asks an RFC 3161 TSA over HTTP (POST application/timestamp-query). Bound the time it may take
// with the context passed to Finish or Sign.
type HTTPTimestamper struct {
	URL    string
	Client *http.Client // http.DefaultClient when nil
	// Username and Password, when set, are sent with HTTP basic authentication.
	Username, Password string
}

// Timestamp implements Timestamper.
func (h *HTTPTimestamper) Timestamp(ctx context.Context, digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("signing: timestamp request: digest is %d bytes, want a SHA-256 digest", len(digest))
	}
	nb := make([]byte, 8)
	if _, err := rand.Read(nb); err != nil {
		return nil, fmt.Errorf("signing: timestamp nonce: %w", err)
	}
	nonce := new(big.Int).SetBytes(nb)
	req := &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("signing: timestamp request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("signing: timestamp request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	if h.Username != "" {
		hr.SetBasicAuth(h.Username, h.Password)
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("signing: timestamp request to %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("signing: timestamp request to %s: HTTP %s", h.URL, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("signing: timestamp response from %s: %w", h.URL, err)
	}
	ts, err := timestamp.ParseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("signing: timestamp response from %s: %w", h.URL, err)
	}
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, digest) {
		return nil, fmt.Errorf("signing: timestamp response from %s covers a different digest", h.URL)
	}
	if ts.Nonce != nil && ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("signing: timestamp response from %s has a different nonce", h.URL)
	}
	return ts.RawToken, nil
}

// tokenInfo is what verification learns from a timestamp token.
type tokenInfo struct {
	time    time.Time
	hash    crypto.Hash
	digest  []byte
	signer  *x509.Certificate
	certs   []*x509.Certificate
	tsaName string
}

// parseToken verifies a TimeStampToken's own signature and reads its TSTInfo.
func parseToken(tok []byte) (*tokenInfo, error) {
	p, err := parseCMS(tok)
	if err != nil {
		return nil, fmt.Errorf("timestamp token: %w", err)
	}
	if err := p.verify(nil, oidTSTInfo); err != nil {
		return nil, fmt.Errorf("timestamp token: %w", err)
	}
	var info struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			HashAlgorithm struct {
				Algorithm  asn1.ObjectIdentifier
				Parameters asn1.RawValue `asn1:"optional"`
			}
			HashedMessage []byte
		}
		SerialNumber *big.Int
		GenTime      time.Time `asn1:"generalized"`
		// accuracy, ordering, nonce, tsa, extensions: not needed, each slot takes one optional element.
		Opt1, Opt2, Opt3, Opt4, Opt5 asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(p.content, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("timestamp token: TSTInfo: %v", err)
	}
	ti := &tokenInfo{time: info.GenTime, digest: info.MessageImprint.HashedMessage, signer: p.signer, certs: p.certs}
	switch a := info.MessageImprint.HashAlgorithm.Algorithm; {
	case a.Equal(oidSHA256):
		ti.hash = crypto.SHA256
	case a.Equal(oidSHA384):
		ti.hash = crypto.SHA384
	case a.Equal(oidSHA512):
		ti.hash = crypto.SHA512
	default:
		return nil, fmt.Errorf("timestamp token: unsupported imprint hash %s", a)
	}
	if !hasTimestampingEKU(p.signer) {
		return nil, errors.New("timestamp token: the TSA certificate lacks the timeStamping extended key usage")
	}
	ti.tsaName = p.signer.Subject.CommonName
	return ti, nil
}

func hasTimestampingEKU(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageTimeStamping {
			return true
		}
	}
	return false
}
