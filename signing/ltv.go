package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Long-term validation (PAdES baseline B-LT and B-LTA, ETSI EN 319 142-1 §5.4–5.5).
//
// After a signature (and its signature timestamp) is in the file, AddValidation appends a DSS-only
// incremental update: the /DSS holds every certificate of every signature's and timestamp's chain, OCSP
// responses and CRLs obtained after the latest signing or timestamp time, and one /VRI entry per signature
// (keyed by the upper-case hex SHA-1 of its CMS) naming what validates it and when (/TU). AddDocumentTimestamp
// then appends a document timestamp (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161) over the whole file,
// DSS included, which makes the document B-LTA. Renewing an archive timestamp is the same two calls again:
// validation data for the previous timestamp's TSA, then a new document timestamp.

// RevocationSource supplies validation data obtained now, i.e. after the times of the signatures it is asked
// about.
type RevocationSource interface {
	// OCSP returns a DER OCSP response about cert, issued by issuer, or nil when there is none.
	OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error)
	// CRL returns a current DER CRL of issuer, or nil when there is none.
	CRL(ctx context.Context, issuer *x509.Certificate) ([]byte, error)
}

// CASource is the RevocationSource of Parley's own CA: OCSP responses and CRLs it signs on the spot.
// Certificates of other issuers get nothing (their own OCSP and CRL services are out of reach of a library).
type CASource struct {
	CA *CA
	// Status says what the CA knows about a serial; nil treats every certificate the CA signed as good.
	Status func(serial *big.Int) (CertStatus, error)
	// CRLFunc returns the CA's current CRL; nil issues one valid for a week, numbered by the time.
	CRLFunc func() ([]byte, error)
	Now     func() time.Time // time.Now when nil
}

func (s *CASource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// OCSP implements RevocationSource.
func (s *CASource) OCSP(_ context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	if s.CA == nil || !bytes.Equal(issuer.Raw, s.CA.Cert.Raw) {
		return nil, nil
	}
	st := CertStatus{Known: true}
	if s.Status != nil {
		var err error
		if st, err = s.Status(cert.SerialNumber); err != nil {
			return nil, err
		}
	}
	return s.CA.OCSP(cert, st, s.now())
}

// CRL implements RevocationSource.
func (s *CASource) CRL(_ context.Context, issuer *x509.Certificate) ([]byte, error) {
	if s.CA == nil || !bytes.Equal(issuer.Raw, s.CA.Cert.Raw) {
		return nil, nil
	}
	if s.CRLFunc != nil {
		return s.CRLFunc()
	}
	now := s.now()
	return s.CA.CRL(now.Unix(), nil, now, now.AddDate(0, 0, 7))
}

// signatureInfo is what AddValidation learns about one signature or document timestamp in the file.
type signatureInfo struct {
	field   string
	vriKey  string              // upper-case hex SHA-1 of the CMS
	certs   []*x509.Certificate // every certificate in the CMS and in its timestamp token
	latest  time.Time           // the latest of /M and the timestamp's genTime
	docTS   bool
	tsaCert *x509.Certificate // the TSA certificate of its timestamp (or of the document timestamp)
}

// signatures lists the signatures and document timestamps of d with their certificates.
func (d *pdfDoc) signatureInfos() []signatureInfo {
	var out []signatureInfo
	for _, f := range d.sigFields() {
		sd := d.dict(f.value)
		if sd == nil {
			continue
		}
		raw := stringBytes(sd["Contents"])
		n, err := derLength(raw)
		if err != nil {
			continue
		}
		cms := raw[:n]
		p, err := parseCMS(cms)
		if err != nil {
			continue
		}
		h := sha1.Sum(cms)
		si := signatureInfo{field: f.name, vriKey: strings.ToUpper(hex.EncodeToString(h[:])), certs: p.certs}
		if m := d.text(sd["M"]); m != "" {
			si.latest, _ = parsePDFDate(m)
		}
		tok := cms
		if sf, _ := d.deref(sd["SubFilter"]).(types.Name); sf == "ETSI.RFC3161" {
			si.docTS = true
		} else if t, count := attrValue(p.unsigned, oidAttrTimestampToken); count == 1 {
			tok = t
		} else {
			tok = nil
		}
		if tok != nil {
			if ti, err := parseToken(tok); err == nil {
				si.certs = append(si.certs, ti.certs...)
				si.tsaCert = ti.signer
				if ti.time.After(si.latest) {
					si.latest = ti.time
				}
			}
		}
		out = append(out, si)
	}
	return out
}

// issuerOf finds the certificate among pool that signed c (nil for a self-signed c or an unknown issuer).
func issuerOf(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
		return nil
	}
	for _, p := range pool {
		if p.IsCA && bytes.Equal(p.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// ValidationOptions tunes AddValidation.
type ValidationOptions struct {
	// Extra certificates to store and use for building chains, e.g. the TSA chain when tokens do not embed it.
	Extra []*x509.Certificate
	// VRI adds a /VRI dictionary with one entry per signature (keyed by the upper-case hex SHA-1 of its CMS)
	// naming its certificates, OCSP responses and CRLs and the validation time /TU. VRI is optional in PAdES
	// (ETSI EN 319 142-1 §5.4.2); pdfcpu v0.15.0 reports the validity of every signature of a document whose
	// /DSS holds a /VRI as "unknown" (DSS dict entry VRI: unsupported), so Parley's flow leaves it out.
	VRI bool
}

// ErrNoSignature means the document has no signature to add validation data or a document timestamp for.
var ErrNoSignature = errors.New("signing: the document has no signature")

// AddValidation appends a DSS-only incremental update with the validation data of every signature and
// document timestamp in pdf: all certificates of their chains (plus extra, e.g. a TSA chain the token does not
// embed), an OCSP response for each certificate that has an issuer and a CRL of each issuer, all from src and
// obtained after the latest signing or timestamp time in the file (it waits for the clock to pass that second
// if needed, since OCSP and CRL times have whole seconds), and a /VRI entry per signature that has none yet.
// Existing /DSS entries are kept. The catalog is not rewritten when the /DSS is an indirect object already.
// /VRI entries are written only with opt.VRI (see ValidationOptions).
func AddValidation(ctx context.Context, pdf []byte, src RevocationSource, opt ValidationOptions) ([]byte, error) {
	extra := opt.Extra
	d, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	sigs := d.signatureInfos()
	if len(sigs) == 0 {
		return nil, ErrNoSignature
	}
	var latest time.Time
	for _, s := range sigs {
		if s.latest.After(latest) {
			latest = s.latest
		}
	}
	if err := waitPast(ctx, latest); err != nil {
		return nil, err
	}
	validatedAt := time.Now()

	u := newUpdate(d)
	oldRef, hasOldRef := refOf(d.catalog()["DSS"])
	old := d.dict(d.catalog()["DSS"])
	dss := types.Dict{"Type": types.Name("DSS")}
	if old != nil {
		dss = old.Clone().(types.Dict)
		dss["Type"] = types.Name("DSS")
	}
	// Index what the store holds already: raw bytes → reference.
	have := map[string]types.IndirectRef{}
	arrays := map[string]types.Array{}
	for _, key := range []string{"Certs", "OCSPs", "CRLs"} {
		arr := types.Array{}
		if a := d.array(old[key]); a != nil {
			arr = a.Clone().(types.Array)
		}
		arrays[key] = arr
		for _, o := range arr {
			if r, ok := o.(types.IndirectRef); ok {
				if raw := d.streamData(r); raw != nil {
					have[key+string(raw)] = r
				}
			}
		}
	}
	changed := false
	put := func(key string, der []byte) types.IndirectRef {
		if r, ok := have[key+string(der)]; ok {
			return r
		}
		r := u.add(stream("", der)).pdf()
		have[key+string(der)] = r
		arrays[key] = append(arrays[key], r)
		changed = true
		return r
	}
	var pool []*x509.Certificate
	for _, s := range sigs {
		pool = append(pool, s.certs...)
	}
	pool = append(pool, extra...)
	ocspOf := map[string]types.IndirectRef{} // cert raw → OCSP response
	crlOf := map[string]types.IndirectRef{}  // issuer raw → CRL
	var vri types.Dict
	if v := d.dict(old["VRI"]); v != nil {
		vri = v.Clone().(types.Dict)
	} else {
		vri = types.Dict{}
	}
	for _, s := range sigs {
		var certRefs, ocspRefs, crlRefs types.Array
		seen := map[string]bool{}
		// The signature's certificates and their issuers, transitively, from everything known.
		queue := append([]*x509.Certificate{}, s.certs...)
		for len(queue) > 0 {
			c := queue[0]
			queue = queue[1:]
			if c == nil || seen[string(c.Raw)] {
				continue
			}
			seen[string(c.Raw)] = true
			certRefs = append(certRefs, put("Certs", c.Raw))
			iss := issuerOf(c, pool)
			if iss == nil {
				continue
			}
			queue = append(queue, iss)
			r, ok := ocspOf[string(c.Raw)]
			if !ok {
				resp, err := src.OCSP(ctx, c, iss)
				if err != nil {
					return nil, fmt.Errorf("signing: validation data: OCSP for %s: %w", c.Subject.CommonName, err)
				}
				if resp != nil {
					r, ok = put("OCSPs", resp), true
					ocspOf[string(c.Raw)] = r
				}
			}
			if ok {
				ocspRefs = append(ocspRefs, r)
			}
			r, ok = crlOf[string(iss.Raw)]
			if !ok {
				crl, err := src.CRL(ctx, iss)
				if err != nil {
					return nil, fmt.Errorf("signing: validation data: CRL of %s: %w", iss.Subject.CommonName, err)
				}
				if crl != nil {
					r, ok = put("CRLs", crl), true
					crlOf[string(iss.Raw)] = r
				}
			}
			if ok && !containsRef(crlRefs, r) {
				crlRefs = append(crlRefs, r)
			}
		}
		if _, done := vri[s.vriKey]; done {
			continue
		}
		entry := types.Dict{"TU": types.StringLiteral(strings.Trim(pdfDate(validatedAt.UTC()), "()"))}
		if len(certRefs) > 0 {
			entry["Cert"] = certRefs
		}
		if len(ocspRefs) > 0 {
			entry["OCSP"] = ocspRefs
		}
		if len(crlRefs) > 0 {
			entry["CRL"] = crlRefs
		}
		vri[s.vriKey] = entry
		changed = true
	}
	if !changed {
		return pdf, nil
	}
	for key, arr := range arrays {
		if len(arr) > 0 {
			dss[key] = arr
		}
	}
	if opt.VRI {
		dss["VRI"] = vri
	}
	if hasOldRef {
		u.setObject(oldRef, dss)
	} else {
		r := u.alloc()
		u.setObject(r, dss)
		cat := d.catalog().Clone().(types.Dict)
		cat["DSS"] = r.pdf()
		u.setObject(d.root, cat)
	}
	upd, _ := u.bytes()
	return append(append(make([]byte, 0, len(pdf)+len(upd)), pdf...), upd...), nil
}

func containsRef(a types.Array, r types.IndirectRef) bool {
	for _, o := range a {
		if x, ok := o.(types.IndirectRef); ok && x.ObjectNumber == r.ObjectNumber {
			return true
		}
	}
	return false
}

// waitPast blocks until the wall clock is in a later whole second than t (OCSP producedAt and CRL thisUpdate
// have whole seconds, and validation data must be produced after the signature's time).
func waitPast(ctx context.Context, t time.Time) error {
	next := t.Truncate(time.Second).Add(time.Second)
	d := time.Until(next)
	if d <= 0 {
		return nil
	}
	if d > 2*time.Second { // a signing time in the future is not ours to wait for
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// DocTimestampContentsSize is the space first reserved for a document timestamp token (bytes, twice that in
// hex); a TSA whose token is larger (a long chain) gets a second request with room for it.
const DocTimestampContentsSize = 4 << 10

// AddDocumentTimestamp appends a document timestamp: a new invisible signature field named field (for
// instance "ts-1"; it must not exist) whose value is a /DocTimeStamp dictionary with /SubFilter /ETSI.RFC3161
// and, as /Contents, an RFC 3161 token from ts over the SHA-256 of the byte range, which covers the whole file.
func AddDocumentTimestamp(ctx context.Context, pdf []byte, ts Timestamper, field string) ([]byte, error) {
	out, err := addDocumentTimestamp(ctx, pdf, ts, field, DocTimestampContentsSize)
	var big *tokenTooBig
	if errors.As(err, &big) && big.need <= 64<<10 {
		return addDocumentTimestamp(ctx, pdf, ts, field, big.need+1024)
	}
	return out, err
}

// tokenTooBig says how much room a document timestamp token needed.
type tokenTooBig struct{ need, have int }

func (e *tokenTooBig) Error() string {
	return fmt.Sprintf("%v: token of %d bytes, reserved %d", ErrContentsTooSmall, e.need, e.have)
}

func (e *tokenTooBig) Unwrap() error { return ErrContentsTooSmall }

func addDocumentTimestamp(ctx context.Context, pdf []byte, ts Timestamper, field string, size int) ([]byte, error) {
	if ts == nil {
		return nil, errors.New("signing: document timestamp: no timestamp authority")
	}
	if err := validFieldName(field); err != nil {
		return nil, err
	}
	d, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	for _, f := range d.sigFields() {
		if f.name == field {
			return nil, fmt.Errorf("signing: document timestamp: field %s exists", field)
		}
	}
	pages, err := d.pages()
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, errors.New("signing: document timestamp: the document has no pages")
	}
	u := newUpdate(d)
	sigRef := u.alloc()
	catalog := d.catalog().Clone().(types.Dict)
	catalogChanged := false
	page := pages[0]
	widget := u.alloc()
	u.set(widget, fmt.Appendf(nil, "<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %s /P %s /F 132 /Rect [0 0 0 0] >>",
		pdfTextString(field), sigRef, page))
	pd := d.dict(page.pdf()).Clone().(types.Dict)
	switch annots := pd["Annots"].(type) {
	case types.IndirectRef:
		r, _ := refOf(annots)
		u.setObject(r, append(d.array(annots).Clone().(types.Array), widget.pdf()))
	case types.Array:
		pd["Annots"] = append(annots.Clone().(types.Array), widget.pdf())
		u.setObject(page, pd)
	default:
		pd["Annots"] = types.Array{widget.pdf()}
		u.setObject(page, pd)
	}
	if err := ensureSigFlags(d, u, catalog, &catalogChanged, &widget); err != nil {
		return nil, err
	}
	if catalogChanged {
		u.setObject(d.root, catalog)
	}
	u.set(sigRef, fmt.Appendf(nil, "<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 %s /Contents <%s> /Prop_Build << /App << /Name /Parley >> >> >>",
		byteRangePlaceholder, strings.Repeat("0", 2*size)))
	upd, offsets := u.bytes()
	base := int64(len(pdf))
	sigAt := int(offsets[sigRef.num] - base)
	brAt := sigAt + bytes.Index(upd[sigAt:], []byte(byteRangePlaceholder))
	holeStart := sigAt + bytes.Index(upd[sigAt:], []byte("/Contents <")) + len("/Contents ")
	holeEnd := holeStart + 2*size + 2
	total := base + int64(len(upd))
	br := fmt.Sprintf("/ByteRange [0 %d %d %d", base+int64(holeStart), base+int64(holeEnd), total-(base+int64(holeEnd)))
	br += strings.Repeat(" ", len(byteRangePlaceholder)-1-len(br)) + "]"
	copy(upd[brAt:], br)
	h := sha256.New()
	h.Write(pdf)
	h.Write(upd[:holeStart])
	h.Write(upd[holeEnd:])
	tok, err := ts.Timestamp(ctx, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("signing: document timestamp: %w", err)
	}
	if len(tok) > size {
		return nil, &tokenTooBig{need: len(tok), have: size}
	}
	hexTok := strings.ToUpper(hex.EncodeToString(tok))
	copy(upd[holeStart+1:], hexTok)
	out := make([]byte, 0, len(pdf)+len(upd))
	return append(append(out, pdf...), upd...), nil
}

// NextTimestampField returns the first unused document timestamp field name ts-1, ts-2, …
func NextTimestampField(pdf []byte) (string, error) {
	d, err := openPDF(pdf)
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, f := range d.sigFields() {
		used[f.name] = true
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("ts-%d", i); !used[n] {
			return n, nil
		}
	}
}

// MakeLTA brings a freshly signed document to PAdES B-LTA: validation data for every signature (AddValidation),
// then a document timestamp in the next free ts-N field.
func MakeLTA(ctx context.Context, pdf []byte, src RevocationSource, opt ValidationOptions, ts Timestamper) ([]byte, error) {
	out, err := AddValidation(ctx, pdf, src, opt)
	if err != nil {
		return nil, err
	}
	field, err := NextTimestampField(out)
	if err != nil {
		return nil, err
	}
	return AddDocumentTimestamp(ctx, out, ts, field)
}

// AlgorithmExpiry is the date until which Parley's policy considers a timestamp made with a hash or key still
// sound, after NIST SP 800-57 Part 1 (112-bit security acceptable through 2030) and the SOG-IS/BSI TR-02102
// outlook for 128-bit and stronger. An archive timestamp must be added before it.
func AlgorithmExpiry(h crypto.Hash, pub crypto.PublicKey) time.Time {
	at := func(y int) time.Time { return time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC) }
	hashUntil := at(2010) // SHA-1 and older
	switch h {
	case crypto.SHA256:
		hashUntil = at(2040)
	case crypto.SHA384, crypto.SHA512:
		hashUntil = at(2050)
	}
	keyUntil := at(2010)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch bits := k.Curve.Params().BitSize; {
		case bits >= 384:
			keyUntil = at(2050)
		case bits >= 256:
			keyUntil = at(2040)
		}
	case *rsa.PublicKey:
		switch bits := k.N.BitLen(); {
		case bits >= 3072:
			keyUntil = at(2040)
		case bits >= 2048:
			keyUntil = at(2030)
		}
	}
	if keyUntil.Before(hashUntil) {
		return keyUntil
	}
	return hashUntil
}

// ArchiveState describes the newest document timestamp of a file, for deciding when to renew it.
type ArchiveState struct {
	Field       string    // the newest document timestamp's field; empty when the file has none
	Time        time.Time // its genTime
	TSANotAfter time.Time // its TSA certificate's expiry
	AlgExpiry   time.Time // AlgorithmExpiry of its imprint hash and TSA key
}

// Expires is when the newest document timestamp stops protecting the file: the earlier of its TSA
// certificate's expiry and its algorithms' (zero when there is no document timestamp).
func (a ArchiveState) Expires() time.Time {
	if a.Field == "" {
		return time.Time{}
	}
	if a.AlgExpiry.Before(a.TSANotAfter) {
		return a.AlgExpiry
	}
	return a.TSANotAfter
}

// Archive reads the newest document timestamp of pdf (the one added last).
func Archive(pdf []byte) (ArchiveState, error) {
	d, err := openPDF(pdf)
	if err != nil {
		return ArchiveState{}, err
	}
	var st ArchiveState
	var bestEnd int64 = -1
	for _, f := range d.sigFields() {
		sd := d.dict(f.value)
		if sd == nil {
			continue
		}
		if sf, _ := d.deref(sd["SubFilter"]).(types.Name); sf != "ETSI.RFC3161" {
			continue
		}
		br := d.array(sd["ByteRange"])
		if len(br) != 4 {
			continue
		}
		a, _ := d.integer(br[2])
		b, _ := d.integer(br[3])
		raw := stringBytes(sd["Contents"])
		n, err := derLength(raw)
		if err != nil {
			continue
		}
		ti, err := parseToken(raw[:n])
		if err != nil || a+b <= bestEnd {
			continue
		}
		bestEnd = a + b
		st = ArchiveState{Field: f.name, Time: ti.time, TSANotAfter: ti.signer.NotAfter, AlgExpiry: AlgorithmExpiry(ti.hash, ti.signer.PublicKey)}
	}
	return st, nil
}
