package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Errors returned by Prepare, Finish and Sign.
var (
	// ErrStale means the document changed between Prepare and Finish (another signature landed first). Prepare
	// again on the latest version and have the signer sign the new bytes.
	ErrStale = errors.New("signing: document changed since the signature was prepared")
	// ErrBadSignature means the signature returned by the device does not verify with the certificate's key.
	ErrBadSignature = errors.New("signing: signature does not verify with the signer's certificate")
	// ErrFieldSigned means the signature field already holds a signature.
	ErrFieldSigned = errors.New("signing: signature field is already signed")
	// ErrFieldNotFound means the document has no signature field of that name and no NewField was given.
	ErrFieldNotFound = errors.New("signing: no such signature field")
	// ErrContentsTooSmall means the CMS (with its timestamp) outgrew the space reserved in /Contents; raise
	// Request.ContentsSize.
	ErrContentsTooSmall = errors.New("signing: signature does not fit the reserved /Contents space")
)

// ValidationData is revocation and chain material embedded in the /DSS of the signing revision (PAdES B-LT).
type ValidationData struct {
	Certs []*x509.Certificate // e.g. the TSA certificate and its chain
	CRLs  [][]byte            // DER CRLs, e.g. CA.CRL
}

// NewField places a signature field that the document does not have yet.
type NewField struct {
	Page int  // 1-based
	Rect Rect // empty for an invisible signature
}

// Request describes one signature.
type Request struct {
	Field      string     // signature field name, e.g. "sig-applicant-1"
	NewField   *NewField  // create the field if it does not exist; nil means it must exist
	Appearance Appearance // ignored for invisible signatures
	Cert       *x509.Certificate
	Chain      []*x509.Certificate // issuer chain, nearest first, including the root
	Time       time.Time           // the claimed signing time: /M and the appearance
	Reason     string              // /Reason, e.g. 同意本调解协议内容
	Location   string              // /Location, e.g. Parley 在线调解平台
	Contact    string              // /ContactInfo; optional
	Validation ValidationData
	// ContentsSize is the number of bytes reserved for the CMS; the /Contents hex string takes twice as many.
	// Zero means the certificates' size plus 7 KiB, enough for a timestamp token with a short chain.
	ContentsSize int
}

// Pending is a prepared signature waiting for the signer's device. It is plain data: store it as JSON
// (MarshalBinary) next to the document version it was prepared on, and give ToBeSigned to the device.
type Pending struct {
	Version      int       `json:"v"`
	Field        string    `json:"field"`
	BaseSHA256   []byte    `json:"base_sha256"` // SHA-256 of the document version Prepare was given
	BaseSize     int64     `json:"base_size"`
	Head         []byte    `json:"head"`          // appended bytes before the /Contents hex string
	Tail         []byte    `json:"tail"`          // appended bytes after it
	ContentsSize int       `json:"contents_size"` // bytes reserved for the CMS
	SignedAttrs  []byte    `json:"signed_attrs"`  // DER SET OF signed attributes: the bytes to sign
	Certs        [][]byte  `json:"certs"`         // signer certificate, then its chain
	Time         time.Time `json:"time"`
}

const pendingVersion = 1

// ToBeSigned returns the exact bytes the device signs: the DER signed attributes. A WebCrypto
// ECDSA {hash: "SHA-256"} signature over them (raw r‖s, 64 bytes for P-256) is what Finish expects.
func (p *Pending) ToBeSigned() []byte { return p.SignedAttrs }

// MarshalBinary encodes the pending state as JSON.
func (p *Pending) MarshalBinary() ([]byte, error) { return json.Marshal(p) }

// UnmarshalBinary decodes MarshalBinary's output.
func (p *Pending) UnmarshalBinary(b []byte) error {
	var q Pending
	if err := json.Unmarshal(b, &q); err != nil {
		return fmt.Errorf("signing: decode pending signature: %w", err)
	}
	if q.Version != pendingVersion {
		return fmt.Errorf("signing: decode pending signature: version %d, want %d", q.Version, pendingVersion)
	}
	*p = q
	return nil
}

const byteRangePlaceholder = "/ByteRange [0 0000000000 0000000000 0000000000]"

// Prepare builds the incremental update for one signature with an empty /Contents and returns the pending state
// and, through Pending.ToBeSigned, the bytes to sign. pdf must be the latest version of the document.
func Prepare(pdf []byte, req Request) (*Pending, error) {
	if req.Cert == nil {
		return nil, errors.New("signing: prepare: no signer certificate")
	}
	if _, err := signatureAlgorithm(req.Cert.PublicKey); err != nil {
		return nil, err
	}
	if req.Time.IsZero() {
		return nil, errors.New("signing: prepare: signing time is zero")
	}
	d, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	u := newUpdate(d)
	var target *sigField
	for _, f := range d.sigFields() {
		if f.name == req.Field {
			target = &f
			break
		}
	}
	sigRef := u.alloc()
	catalog := d.catalog().Clone().(types.Dict)
	catalogChanged := false

	switch {
	case target != nil:
		if v := d.deref(target.value); v != nil {
			return nil, fmt.Errorf("%w: %s", ErrFieldSigned, req.Field)
		}
		fd := target.fdict.Clone().(types.Dict)
		fd["V"] = sigRef.pdf()
		w, h := target.rect[2]-target.rect[0], target.rect[3]-target.rect[1]
		if w < 0 {
			w = -w
		}
		if h < 0 {
			h = -h
		}
		var ap *ref
		if w > 1 && h > 1 {
			r, err := u.addAppearance(req.Appearance, w, h, req.Time)
			if err != nil {
				return nil, err
			}
			ap = &r
		}
		if target.widget == target.field {
			if ap != nil {
				fd["AP"] = types.Dict{"N": ap.pdf()}
			}
			u.setObject(target.field, fd)
		} else {
			u.setObject(target.field, fd)
			if ap != nil {
				wd := target.dict.Clone().(types.Dict)
				wd["AP"] = types.Dict{"N": ap.pdf()}
				u.setObject(target.widget, wd)
			}
		}
		if err := ensureSigFlags(d, u, catalog, &catalogChanged, nil); err != nil {
			return nil, err
		}
	case req.NewField != nil:
		if err := validFieldName(req.Field); err != nil {
			return nil, err
		}
		pages, err := d.pages()
		if err != nil {
			return nil, err
		}
		if req.NewField.Page < 1 || req.NewField.Page > len(pages) {
			return nil, fmt.Errorf("signing: prepare: page %d out of range 1–%d", req.NewField.Page, len(pages))
		}
		page := pages[req.NewField.Page-1]
		rect := req.NewField.Rect
		widget := u.alloc()
		wd := fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %s /P %s /F 132", pdfTextString(req.Field), sigRef, page)
		if rect.Empty() {
			wd += " /Rect [0 0 0 0]"
		} else {
			ap, err := u.addAppearance(req.Appearance, rect.X2-rect.X1, rect.Y2-rect.Y1, req.Time)
			if err != nil {
				return nil, err
			}
			wd += fmt.Sprintf(" /Rect %s /AP << /N %s >>", rect.pdf(), ap)
		}
		u.set(widget, []byte(wd+" >>"))
		// Page /Annots.
		pd := d.dict(page.pdf()).Clone().(types.Dict)
		switch annots := pd["Annots"].(type) {
		case types.IndirectRef:
			r, _ := refOf(annots)
			arr := append(d.array(annots).Clone().(types.Array), widget.pdf())
			u.setObject(r, arr)
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
	default:
		return nil, fmt.Errorf("%w: %s", ErrFieldNotFound, req.Field)
	}

	// /DSS in this same revision only when the caller gives validation data for it; Parley's flow adds it after
	// the signature instead (AddValidation), so that it can hold data produced after the signing time.
	if len(req.Validation.Certs) > 0 || len(req.Validation.CRLs) > 0 {
		if dss := buildDSS(d, u, req); dss != nil {
			catalog["DSS"] = dss.pdf()
			catalogChanged = true
		}
	}
	if catalogChanged {
		u.setObject(d.root, catalog)
	}

	certs := append([]*x509.Certificate{req.Cert}, req.Chain...)
	size := req.ContentsSize
	if size <= 0 {
		size = 7 << 10
		for _, c := range certs {
			size += len(c.Raw)
		}
	}
	var sd strings.Builder
	fmt.Fprintf(&sd, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached %s /Contents <%s> /M %s",
		byteRangePlaceholder, strings.Repeat("0", 2*size), pdfDate(req.Time))
	if n := req.Cert.Subject.CommonName; n != "" {
		fmt.Fprintf(&sd, " /Name %s", pdfTextString(n))
	}
	if req.Reason != "" {
		fmt.Fprintf(&sd, " /Reason %s", pdfTextString(req.Reason))
	}
	if req.Location != "" {
		fmt.Fprintf(&sd, " /Location %s", pdfTextString(req.Location))
	}
	if req.Contact != "" {
		fmt.Fprintf(&sd, " /ContactInfo %s", pdfTextString(req.Contact))
	}
	sd.WriteString(" /Prop_Build << /App << /Name /Parley >> >> >>")
	u.set(sigRef, []byte(sd.String()))

	upd, offsets := u.bytes()
	base := int64(len(pdf))
	sigAt := int(offsets[sigRef.num] - base)
	brAt := bytes.Index(upd[sigAt:], []byte(byteRangePlaceholder))
	cAt := bytes.Index(upd[sigAt:], []byte("/Contents <"))
	if brAt < 0 || cAt < 0 {
		return nil, errors.New("signing: prepare: placeholder not found") // cannot happen
	}
	brAt += sigAt
	holeStart := sigAt + cAt + len("/Contents ")
	holeEnd := holeStart + 2*size + 2
	total := base + int64(len(upd))
	br := fmt.Sprintf("/ByteRange [0 %d %d %d", base+int64(holeStart), base+int64(holeEnd), total-(base+int64(holeEnd)))
	br += strings.Repeat(" ", len(byteRangePlaceholder)-1-len(br)) + "]"
	copy(upd[brAt:], br)

	h := sha256.New()
	h.Write(pdf)
	h.Write(upd[:holeStart])
	h.Write(upd[holeEnd:])
	digest := h.Sum(nil)
	baseSum := sha256.Sum256(pdf)
	p := &Pending{
		Version:      pendingVersion,
		Field:        req.Field,
		BaseSHA256:   baseSum[:],
		BaseSize:     base,
		Head:         bytes.Clone(upd[:holeStart]),
		Tail:         bytes.Clone(upd[holeEnd:]),
		ContentsSize: size,
		SignedAttrs:  signedAttributes(oidData, digest, req.Cert),
		Time:         req.Time,
	}
	for _, c := range certs {
		p.Certs = append(p.Certs, c.Raw)
	}
	return p, nil
}

// ensureSigFlags makes sure the AcroForm exists as an indirect object with /SigFlags 3 and, when widget is not
// nil, lists the new field.
func ensureSigFlags(d *pdfDoc, u *update, catalog types.Dict, catalogChanged *bool, widget *ref) error {
	af, afRef := d.acroForm()
	if af == nil {
		af = types.Dict{}
	} else {
		af = af.Clone().(types.Dict)
	}
	changed := false
	if n, ok := d.integer(af["SigFlags"]); !ok || n != 3 {
		af["SigFlags"] = types.Integer(3)
		changed = true
	}
	if widget != nil {
		switch fields := af["Fields"].(type) {
		case types.IndirectRef:
			r, _ := refOf(fields)
			u.setObject(r, append(d.array(fields).Clone().(types.Array), widget.pdf()))
		case types.Array:
			af["Fields"] = append(fields.Clone().(types.Array), widget.pdf())
			changed = true
		default:
			af["Fields"] = types.Array{widget.pdf()}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if afRef == nil {
		r := u.alloc()
		afRef = &r
		catalog["AcroForm"] = r.pdf()
		*catalogChanged = true
	}
	u.setObject(*afRef, af)
	return nil
}

// buildDSS writes a new /DSS dictionary holding the existing entries plus this signature's certificates and CRLs,
// or returns nil when there is nothing new.
func buildDSS(d *pdfDoc, u *update, req Request) *ref {
	old := d.dict(d.catalog()["DSS"])
	have := map[string]bool{}
	var certsArr, crlsArr, ocspsArr types.Array
	collect := func(key string, into *types.Array) {
		for _, o := range d.array(old[key]) {
			*into = append(*into, o)
			if sd, ok := d.deref(o).(types.StreamDict); ok {
				have[key+string(sd.Raw)] = true
			}
		}
	}
	collect("Certs", &certsArr)
	collect("CRLs", &crlsArr)
	collect("OCSPs", &ocspsArr)
	added := false
	add := func(key string, into *types.Array, der []byte) {
		if len(der) == 0 || have[key+string(der)] {
			return
		}
		have[key+string(der)] = true
		*into = append(*into, u.add(stream("", der)).pdf())
		added = true
	}
	for _, c := range append(append([]*x509.Certificate{req.Cert}, req.Chain...), req.Validation.Certs...) {
		if c != nil {
			add("Certs", &certsArr, c.Raw)
		}
	}
	for _, crl := range req.Validation.CRLs {
		add("CRLs", &crlsArr, crl)
	}
	if !added {
		return nil
	}
	dss := types.Dict{"Type": types.Name("DSS")}
	if len(certsArr) > 0 {
		dss["Certs"] = certsArr
	}
	if len(crlsArr) > 0 {
		dss["CRLs"] = crlsArr
	}
	if len(ocspsArr) > 0 {
		dss["OCSPs"] = ocspsArr
	}
	if vri, ok := old["VRI"]; ok {
		dss["VRI"] = vri
	}
	r := u.alloc()
	u.setObject(r, dss)
	return &r
}

// Finish completes a pending signature: it checks that pdf is still the version Prepare saw (ErrStale otherwise),
// that signature verifies over Pending.ToBeSigned with the certificate's key (ErrBadSignature otherwise), builds
// the CMS, adds a timestamp from ts (skipped when ts is nil) and returns the signed PDF.
//
// signature is either a raw ECDSA r‖s value (WebCrypto's format) or a DER ECDSA/RSA PKCS #1 v1.5 signature.
func Finish(ctx context.Context, pdf []byte, p *Pending, signature []byte, ts Timestamper) ([]byte, error) {
	if p == nil || p.Version != pendingVersion {
		return nil, errors.New("signing: finish: invalid pending signature")
	}
	sum := sha256.Sum256(pdf)
	if int64(len(pdf)) != p.BaseSize || !bytes.Equal(sum[:], p.BaseSHA256) {
		return nil, ErrStale
	}
	if len(p.Certs) == 0 {
		return nil, errors.New("signing: finish: pending signature has no certificate")
	}
	var certs []*x509.Certificate
	for _, raw := range p.Certs {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("signing: finish: certificate: %w", err)
		}
		certs = append(certs, c)
	}
	cert := certs[0]
	sig, err := normaliseSignature(cert.PublicKey, signature)
	if err != nil {
		return nil, err
	}
	alg := x509.ECDSAWithSHA256
	if _, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		alg = x509.SHA256WithRSA
	}
	if err := cert.CheckSignature(alg, p.SignedAttrs, sig); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// The pending state must describe exactly these bytes.
	attrs, err := parseAttributes(p.SignedAttrs)
	if err != nil {
		return nil, fmt.Errorf("signing: finish: signed attributes: %w", err)
	}
	mdv, _ := attrValue(attrs, oidAttrMessageDigest)
	var want []byte
	if _, err := asn1.Unmarshal(mdv, &want); err != nil {
		return nil, fmt.Errorf("signing: finish: message digest: %w", err)
	}
	h := sha256.New()
	h.Write(pdf)
	h.Write(p.Head)
	h.Write(p.Tail)
	if !bytes.Equal(h.Sum(nil), want) {
		return nil, errors.New("signing: finish: pending state does not match its signed attributes")
	}
	parts := cmsParts{contentType: oidData, signedAttrs: p.SignedAttrs, signature: sig, cert: cert, certs: certs}
	if ts != nil {
		d := sha256.Sum256(sig)
		tok, err := ts.Timestamp(ctx, d[:])
		if err != nil {
			return nil, fmt.Errorf("signing: finish: timestamp: %w", err)
		}
		parts.unsigned = [][]byte{attribute(oidAttrTimestampToken, tok)}
	}
	cms, err := assembleSignedData(parts)
	if err != nil {
		return nil, err
	}
	if len(cms) > p.ContentsSize {
		return nil, fmt.Errorf("%w: need %d bytes, reserved %d", ErrContentsTooSmall, len(cms), p.ContentsSize)
	}
	out := make([]byte, 0, len(pdf)+len(p.Head)+2*p.ContentsSize+2+len(p.Tail))
	out = append(out, pdf...)
	out = append(out, p.Head...)
	out = append(out, '<')
	out = append(out, strings.ToUpper(hex.EncodeToString(cms))...)
	out = append(out, bytes.Repeat([]byte("0"), 2*(p.ContentsSize-len(cms)))...)
	out = append(out, '>')
	out = append(out, p.Tail...)
	return out, nil
}

// normaliseSignature turns a raw r‖s ECDSA signature into DER and checks the shape of others.
func normaliseSignature(pub crypto.PublicKey, sig []byte) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*n {
			r := new(big.Int).SetBytes(sig[:n])
			s := new(big.Int).SetBytes(sig[n:])
			return asn1.Marshal(struct{ R, S *big.Int }{r, s})
		}
		var v struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(sig, &v); err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("%w: ECDSA signature is neither %d raw bytes nor DER", ErrBadSignature, 2*n)
		}
		return sig, nil
	case *rsa.PublicKey:
		if len(sig) != k.Size() {
			return nil, fmt.Errorf("%w: RSA signature is %d bytes, want %d", ErrBadSignature, len(sig), k.Size())
		}
		return sig, nil
	}
	return nil, fmt.Errorf("signing: unsupported public key type %T", pub)
}

// signDigest signs SHA-256(msg) with a server-held key (DER for ECDSA, PKCS #1 v1.5 for RSA).
func signDigest(key crypto.Signer, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return key.Sign(rand.Reader, h[:], crypto.SHA256)
}

// Sign signs in one step with a key the server holds (organisation seals, the court, the platform).
func Sign(ctx context.Context, pdf []byte, req Request, key crypto.Signer, ts Timestamper) ([]byte, error) {
	p, err := Prepare(pdf, req)
	if err != nil {
		return nil, err
	}
	sig, err := signDigest(key, p.ToBeSigned())
	if err != nil {
		return nil, fmt.Errorf("signing: sign: %w", err)
	}
	return Finish(ctx, pdf, p, sig, ts)
}

// ParseDeviceKey parses a device public key exported with WebCrypto exportKey("spki") and checks that it is
// an ECDSA P-256 or P-384 key.
func ParseDeviceKey(spki []byte) (*ecdsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("signing: device key: %w", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing: device key is %T, want ECDSA", k)
	}
	if n := ec.Curve.Params().Name; n != "P-256" && n != "P-384" {
		return nil, fmt.Errorf("signing: device key curve %s, want P-256 or P-384", n)
	}
	return ec, nil
}

// VerifyDeviceSignature checks a WebCrypto ECDSA signature (raw r‖s or DER) over msg with SHA-256; use it for a
// proof of possession before a certificate is issued for a device key.
func VerifyDeviceSignature(pub *ecdsa.PublicKey, msg, sig []byte) error {
	der, err := normaliseSignature(pub, sig)
	if err != nil {
		return err
	}
	h := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, h[:], der) {
		return ErrBadSignature
	}
	return nil
}
