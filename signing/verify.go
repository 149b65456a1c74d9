package signing

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Report is the result of Verify.
type Report struct {
	// Valid is true when the document has at least one signature, every signature is valid and nothing but
	// signatures and validation data was added after the first one.
	Valid      bool              `json:"valid"`
	Signatures []SignatureReport `json:"signatures"` // in signing order
	Revisions  int               `json:"revisions"`  // incremental updates in the file, counting the original as 1
	SHA256     string            `json:"sha256"`     // hex SHA-256 of the whole file
	Problems   []string          `json:"problems"`   // problems not tied to one signature
}

// SignatureReport describes one signature.
type SignatureReport struct {
	Field        string `json:"field"`
	SignerName   string `json:"signer_name"`  // certificate CN
	Role         string `json:"role"`         // certificate OU
	CaseNumber   string `json:"case_number"`  // certificate SERIALNUMBER
	Organisation string `json:"organisation"` // certificate O
	// Identity is the identity evidence a party's certificate names (identity.go), nil for others.
	Identity    *IdentityEvidence `json:"identity,omitempty"`
	Issuer      string            `json:"issuer"`      // issuer CN
	CertSHA256  string            `json:"cert_sha256"` // hex fingerprint of the signer certificate
	SigningTime time.Time         `json:"signing_time"`
	Reason      string            `json:"reason"`
	Location    string            `json:"location"`
	SubFilter   string            `json:"sub_filter"`

	Timestamp          time.Time `json:"timestamp"`           // genTime of the signature timestamp; zero without one
	TimestampAuthority string    `json:"timestamp_authority"` // TSA certificate CN
	TimestampValid     bool      `json:"timestamp_valid"`     // the token verifies and its imprint is the hash of this signature value
	TimestampTrusted   bool      `json:"timestamp_trusted"`   // the TSA certificate chains to the roots at genTime

	CMSValid       bool   `json:"cms_valid"`       // the message digest matches the signed bytes and the signature verifies
	SigningCertV2  bool   `json:"signing_cert_v2"` // ESS signing-certificate-v2 names the signer certificate
	CoversRevision bool   `json:"covers_revision"` // the byte range runs from byte 0 to the end of the signature's revision, with only /Contents left out
	TotalDocument  bool   `json:"total_document"`  // the byte range covers the whole file
	Revision       int    `json:"revision"`        // the revision (1-based) that added the signature
	LaterRevisions int    `json:"later_revisions"` // revisions appended after it
	ModifiedAfter  bool   `json:"modified_after"`  // a later revision does more than add signatures, their appearances and validation data
	ChainValid     bool   `json:"chain_valid"`     // the certificate chains to the roots (at the timestamp's time when there is one)
	ChainError     string `json:"chain_error"`
	Revoked        bool   `json:"revoked"` // a CRL in the document's /DSS revokes the certificate by the signing time

	Valid    bool     `json:"valid"`
	Problems []string `json:"problems"`
}

// Text formats the report for a terminal (parley verify).
func (r *Report) Text() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "VALID"
		}
		return "NOT VALID"
	}
	fmt.Fprintf(&b, "document SHA-256 %s, %d revisions, %d signatures\n", r.SHA256, r.Revisions, len(r.Signatures))
	for i, s := range r.Signatures {
		fmt.Fprintf(&b, "signature %d: %s: %s\n", i+1, s.Field, verdict(s.Valid))
		fmt.Fprintf(&b, "  signer      %s, role %s, case %s", s.SignerName, s.Role, s.CaseNumber)
		if s.Organisation != "" {
			fmt.Fprintf(&b, ", %s", s.Organisation)
		}
		fmt.Fprintf(&b, "\n  certificate SHA-256 %s, issued by %s, chain %s\n", s.CertSHA256, s.Issuer, verdict(s.ChainValid))
		fmt.Fprintf(&b, "  signed      %s (claimed, /M)\n", s.SigningTime.Format(time.RFC3339))
		if !s.Timestamp.IsZero() {
			fmt.Fprintf(&b, "  timestamp   %s by %s, token %s, TSA trusted %v\n", s.Timestamp.Format(time.RFC3339), s.TimestampAuthority, verdict(s.TimestampValid), s.TimestampTrusted)
		} else {
			b.WriteString("  timestamp   none\n")
		}
		fmt.Fprintf(&b, "  integrity   CMS %s, covers revision %d up to its end: %v, whole file: %v, later revisions: %d, modified after signing: %v\n",
			verdict(s.CMSValid), s.Revision, s.CoversRevision, s.TotalDocument, s.LaterRevisions, s.ModifiedAfter)
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  problem     %s\n", p)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	fmt.Fprintf(&b, "document: %s\n", verdict(r.Valid))
	return b.String()
}

func (s *SignatureReport) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// Verify checks every signature of pdf against roots (the system roots when nil) at time now. It returns an error
// only when the input cannot be read as a PDF; a damaged or altered signed PDF gives a Report with Valid false and
// the reasons in Problems. Verify never panics.
func Verify(pdf []byte, roots *x509.CertPool, now time.Time) (rep *Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("signing: verify: malformed PDF (%v)", r)
		}
	}()
	if len(pdf) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotPDF)
	}
	d, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pdf)
	rep = &Report{SHA256: hex.EncodeToString(sum[:])}
	ends, trailing := revisionEnds(pdf)
	rep.Revisions = len(ends)
	if trailing {
		rep.Problems = append(rep.Problems, "data after the last %%EOF that belongs to no revision")
	}
	dssCerts, dssCRLs := d.dss()
	for _, f := range d.sigFields() {
		sd := d.dict(f.value)
		if sd == nil {
			continue // an empty signature field
		}
		rep.Signatures = append(rep.Signatures, verifyOne(d, f, sd, ends, roots, now, dssCerts, dssCRLs))
	}
	sort.SliceStable(rep.Signatures, func(i, j int) bool { return rep.Signatures[i].Revision < rep.Signatures[j].Revision })
	if len(rep.Signatures) == 0 {
		rep.Problems = append(rep.Problems, "the document has no signatures")
		return rep, nil
	}

	// Check what every revision after the first signed one changes.
	first := len(ends)
	for _, s := range rep.Signatures {
		if s.Revision > 0 {
			first = min(first, s.Revision)
		}
	}
	bad := map[int]string{} // revision → why it is more than a signature update
	if first < len(ends) {
		bad = checkRevisions(pdf, ends, first, rep.Signatures)
	}
	rep.Valid = true
	for i := range rep.Signatures {
		s := &rep.Signatures[i]
		if s.Revision > 0 {
			s.LaterRevisions = len(ends) - s.Revision
			for rev := s.Revision + 1; rev <= len(ends); rev++ {
				if why, ok := bad[rev]; ok {
					s.ModifiedAfter = true
					s.problem("modified after signing: revision %d %s", rev, why)
				}
			}
			if trailing {
				s.ModifiedAfter = true
				s.problem("modified after signing: unsigned data appended after the last revision")
			}
		}
		s.Valid = s.CMSValid && s.CoversRevision && s.ChainValid && !s.Revoked && !s.ModifiedAfter &&
			(s.Timestamp.IsZero() || s.TimestampValid)
		rep.Valid = rep.Valid && s.Valid
	}
	return rep, nil
}

// revisionEnds returns the end offset of every revision (after "%%EOF" and one end-of-line) and whether
// non-whitespace bytes follow the last one.
func revisionEnds(data []byte) (ends []int64, trailing bool) {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("%%EOF"))
		if j < 0 {
			break
		}
		at := i + j
		end := at + 5
		// Only an %%EOF that closes a trailer counts (binary stream data may contain the marker).
		if bytes.Contains(data[max(0, at-64):at], []byte("startxref")) {
			if end < len(data) && data[end] == '\r' {
				end++
			}
			if end < len(data) && data[end] == '\n' {
				end++
			}
			ends = append(ends, int64(end))
		}
		i = at + 5
	}
	if len(ends) > 0 {
		trailing = len(bytes.TrimSpace(data[ends[len(ends)-1]:])) > 0
	}
	return ends, trailing
}

// dss returns the certificates and CRLs in the document security store.
func (d *pdfDoc) dss() ([]*x509.Certificate, [][]byte) {
	dss := d.dict(d.catalog()["DSS"])
	var certs []*x509.Certificate
	var crls [][]byte
	for _, o := range d.array(dss["Certs"]) {
		if raw := d.streamData(o); raw != nil {
			if c, err := x509.ParseCertificate(raw); err == nil {
				certs = append(certs, c)
			}
		}
	}
	for _, o := range d.array(dss["CRLs"]) {
		if raw := d.streamData(o); raw != nil {
			crls = append(crls, raw)
		}
	}
	return certs, crls
}

// streamData returns the decoded data of a stream object, or nil.
func (d *pdfDoc) streamData(o types.Object) []byte {
	r, ok := refOf(o)
	if !ok {
		return nil
	}
	sd, _, err := d.ctx.DereferenceStreamDict(r.pdf())
	if err != nil || sd == nil {
		return nil
	}
	if sd.Content == nil && len(sd.FilterPipeline) == 0 {
		return sd.Raw
	}
	if sd.Content == nil {
		if err := sd.DecodeWithLimit(16 << 20); err != nil {
			return nil
		}
	}
	return sd.Content
}

func verifyOne(d *pdfDoc, f sigField, sd types.Dict, ends []int64, roots *x509.CertPool, now time.Time, dssCerts []*x509.Certificate, dssCRLs [][]byte) SignatureReport {
	s := SignatureReport{Field: f.name}
	data := d.data
	if sf, ok := d.deref(sd["SubFilter"]).(types.Name); ok {
		s.SubFilter = string(sf)
	}
	s.Reason, s.Location = d.text(sd["Reason"]), d.text(sd["Location"])
	if m := d.text(sd["M"]); m != "" {
		s.SigningTime, _ = parsePDFDate(m)
	}
	switch s.SubFilter {
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
	default:
		s.problem("unsupported /SubFilter %q", s.SubFilter)
		return s
	}
	br := d.array(sd["ByteRange"])
	var r [4]int64
	okBR := len(br) == 4
	for i := 0; okBR && i < 4; i++ {
		r[i], okBR = d.integer(br[i])
	}
	n := int64(len(data))
	if !okBR || r[0] != 0 || r[1] <= 0 || r[2] < r[1]+2 || r[3] < 0 || r[2] > n || r[3] > n-r[2] {
		s.problem("malformed /ByteRange")
		return s
	}
	end := r[2] + r[3]
	hole := data[r[1]:r[2]]
	if hole[0] != '<' || hole[len(hole)-1] != '>' {
		s.problem("the gap in /ByteRange is not a hex string")
		return s
	}
	contents, err := hex.DecodeString(string(hole[1 : len(hole)-1]))
	if err != nil {
		s.problem("the gap in /ByteRange is not a hex string: %v", err)
		return s
	}
	if !bytes.Equal(bytes.TrimRight(contents, "\x00"), bytes.TrimRight(stringBytes(sd["Contents"]), "\x00")) {
		s.problem("/Contents is not where /ByteRange leaves its gap")
		return s
	}
	s.Revision = slices.Index(ends, end) + 1
	s.CoversRevision = s.Revision > 0
	if !s.CoversRevision {
		s.problem("/ByteRange ends at byte %d, which is not the end of a revision", end)
	}
	s.TotalDocument = end == n || (len(ends) > 0 && end == ends[len(ends)-1] && len(bytes.TrimSpace(data[end:])) == 0)

	p, err := parseCMS(contents)
	if err != nil {
		s.problem("%v", err)
		return s
	}
	cert := p.signer
	fp := sha256.Sum256(cert.Raw)
	s.CertSHA256 = hex.EncodeToString(fp[:])
	subj := SubjectOf(cert)
	s.SignerName, s.Role, s.CaseNumber, s.Organisation, s.Identity = subj.Name, subj.Role, subj.CaseNumber, subj.Organisation, subj.Identity
	s.Issuer = cert.Issuer.CommonName
	signed := make([]byte, 0, r[1]+r[3])
	signed = append(signed, data[:r[1]]...)
	signed = append(signed, data[r[2]:end]...)
	if err := p.verify(signed, oidData); err != nil {
		if errors.Is(err, errDigestMismatch) {
			s.problem("the signed bytes were changed: %v", err)
		} else {
			s.problem("%v", err)
		}
	} else {
		s.CMSValid = true
	}
	if err := p.checkSigningCertificateV2(); err == nil {
		s.SigningCertV2 = true
	} else if s.SubFilter == "ETSI.CAdES.detached" {
		s.problem("%v", err)
		s.CMSValid = false
	}
	if _, n := attrValue(p.signed, oidAttrSigningTime); n > 0 && s.SubFilter == "ETSI.CAdES.detached" {
		s.problem("PAdES signatures must not carry a signing-time attribute")
	}

	// Timestamp (PAdES B-T).
	validationTime := now
	if tok, count := attrValue(p.unsigned, oidAttrTimestampToken); count == 1 {
		ti, err := parseToken(tok)
		if err != nil {
			s.problem("%v", err)
			s.Timestamp = time.Unix(0, 0).UTC() // present but unusable: makes the signature invalid
		} else {
			s.Timestamp = ti.time
			s.TimestampAuthority = ti.tsaName
			h := ti.hash.New()
			h.Write(p.si.Signature)
			if bytes.Equal(h.Sum(nil), ti.digest) {
				s.TimestampValid = true
				validationTime = ti.time
			} else {
				s.problem("the timestamp does not cover this signature value")
			}
			if _, err := verifyChain(ti.signer, append(ti.certs, dssCerts...), roots, ti.time, x509.ExtKeyUsageTimeStamping); err == nil {
				s.TimestampTrusted = true
			} else {
				s.problem("timestamp authority: %v", err)
			}
			if !s.SigningTime.IsZero() && s.SigningTime.After(ti.time.Add(5*time.Minute)) {
				s.problem("claimed signing time %s is after the timestamp %s", s.SigningTime.Format(time.RFC3339), ti.time.Format(time.RFC3339))
			}
		}
	} else if count > 1 {
		s.problem("more than one signature timestamp")
	}

	chains, err := verifyChain(cert, append(slices.Clone(p.certs), dssCerts...), roots, validationTime, x509.ExtKeyUsageAny)
	if err != nil {
		s.ChainError = err.Error()
		s.problem("certificate: %v", err)
	} else {
		s.ChainValid = true
		when := validationTime
		if s.Timestamp.IsZero() && !s.SigningTime.IsZero() {
			when = s.SigningTime
		}
		if revokedBy(cert, chains, dssCRLs, when) {
			s.Revoked = true
			s.problem("the certificate is revoked by a CRL in the document")
		}
	}
	return s
}

func verifyChain(cert *x509.Certificate, pool []*x509.Certificate, roots *x509.CertPool, at time.Time, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range pool {
		if c != nil && !bytes.Equal(c.Raw, cert.Raw) {
			inter.AddCert(c)
		}
	}
	return cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}})
}

// revokedBy reports whether a CRL signed by the certificate's issuer lists it as revoked at or before when.
func revokedBy(cert *x509.Certificate, chains [][]*x509.Certificate, crls [][]byte, when time.Time) bool {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return false
	}
	issuer := chains[0][1]
	for _, raw := range crls {
		crl, err := x509.ParseRevocationList(raw)
		if err != nil || !bytes.Equal(crl.RawIssuer, cert.RawIssuer) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 && !e.RevocationTime.After(when) {
				return true
			}
		}
	}
	return false
}

// Revision analysis.

type entryKey struct {
	off, gen, stm, idx int64
	free               bool
}

func tableKey(e *model.XRefTableEntry) entryKey {
	k := entryKey{off: -1, stm: -1, idx: -1, free: e.Free}
	if e.Offset != nil {
		k.off = *e.Offset
	}
	if e.Generation != nil {
		k.gen = int64(*e.Generation)
	}
	if e.ObjectStream != nil {
		k.stm = int64(*e.ObjectStream)
	}
	if e.ObjectStreamInd != nil {
		k.idx = int64(*e.ObjectStreamInd)
	}
	return k
}

// checkRevisions examines revisions first+1 … len(ends) and returns, for each that is more than a signature or
// /DSS update, the reason.
func checkRevisions(data []byte, ends []int64, first int, sigs []SignatureReport) map[int]string {
	bad := map[int]string{}
	prev, err := openPDF(data[:ends[first-1]])
	if err != nil {
		for rev := first + 1; rev <= len(ends); rev++ {
			bad[rev] = "cannot be compared: " + err.Error()
		}
		return bad
	}
	for rev := first + 1; rev <= len(ends); rev++ {
		cur, err := openPDF(data[:ends[rev-1]])
		if err != nil {
			bad[rev] = "cannot be read: " + err.Error()
			continue
		}
		addsSig := false
		for _, s := range sigs {
			if s.Revision == rev {
				addsSig = true
			}
		}
		if why := compareRevisions(prev, cur, addsSig); why != "" {
			bad[rev] = why
		}
		prev = cur
	}
	return bad
}

// compareRevisions lists what cur changes relative to prev and returns why that is not allowed, or "".
func compareRevisions(prev, cur *pdfDoc, addsSig bool) string {
	if prev.root != cur.root {
		return "replaces the document catalog"
	}
	// Arrays that may grow: every page's /Annots and the AcroForm's /Fields.
	growable := map[int]bool{}
	pages, err := cur.pages()
	if err != nil {
		return err.Error()
	}
	pageSet := map[int]bool{}
	for _, p := range pages {
		pageSet[p.num] = true
		if r, ok := refOf(cur.dict(p.pdf())["Annots"]); ok {
			growable[r.num] = true
		}
	}
	if af, _ := cur.acroForm(); af != nil {
		if r, ok := refOf(af["Fields"]); ok {
			growable[r.num] = true
		}
	}
	_, afRef := prev.acroForm()
	changed, dssChanged := 0, false
	nums := make([]int, 0, len(cur.ctx.Table))
	for n := range cur.ctx.Table {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, num := range nums {
		e := cur.ctx.Table[num]
		if num == 0 || e == nil {
			continue
		}
		old, existed := prev.ctx.Table[num]
		if existed && old != nil && tableKey(old) == tableKey(e) {
			continue
		}
		changed++
		if !existed || old == nil || old.Free {
			continue // a new object only matters where a changed object refers to it
		}
		r := ref{num, 0}
		if e.Generation != nil {
			r.gen = *e.Generation
		}
		ov, nv := prev.deref(r.pdf()), cur.deref(r.pdf())
		if isContainer(ov) && isContainer(nv) {
			continue // an old xref stream or object stream rewritten: its objects are compared one by one
		}
		od, oIsDict := ov.(types.Dict)
		nd, nIsDict := nv.(types.Dict)
		switch {
		case r == cur.root:
			if why := onlyKeys(od, nd, "AcroForm", "DSS"); why != "" {
				return "changes the document catalog: " + why
			}
			if !sameObject(od["AcroForm"], nd["AcroForm"]) {
				// A replaced form must keep every field of the old one.
				oaf, naf := prev.dict(od["AcroForm"]), cur.dict(nd["AcroForm"])
				if oaf != nil {
					if why := onlyKeys(oaf, naf, "Fields", "SigFlags"); why != "" {
						return "replaces the form: " + why
					}
					if why := appendOnly(prev, cur, prev.array(oaf["Fields"]), cur.array(naf["Fields"])); why != "" {
						return "replaces the form's fields: " + why
					}
				}
			}
			if !addsSig {
				if why := onlyKeys(od, nd, "DSS"); why != "" {
					return "is not a signature: changes the document catalog: " + why
				}
			}
			dssChanged = dssChanged || !sameObject(od["DSS"], nd["DSS"])
		case afRef != nil && num == afRef.num:
			if !addsSig {
				return "changes the form without adding a signature"
			}
			if why := onlyKeys(od, nd, "Fields", "SigFlags"); why != "" {
				return "changes the form: " + why
			}
			if why := appendOnly(prev, cur, prev.array(od["Fields"]), cur.array(nd["Fields"])); why != "" {
				return "changes the form's fields: " + why
			}
		case oIsDict && nIsDict && pageSet[num]:
			if !addsSig {
				return fmt.Sprintf("changes page object %d without adding a signature", num)
			}
			if why := onlyKeys(od, nd, "Annots"); why != "" {
				return fmt.Sprintf("changes page object %d: %s", num, why)
			}
			if why := appendOnly(prev, cur, prev.array(od["Annots"]), cur.array(nd["Annots"])); why != "" {
				return fmt.Sprintf("changes the annotations of page object %d: %s", num, why)
			}
		case oIsDict && nIsDict && isUnsignedSigField(prev, od):
			if !addsSig {
				return fmt.Sprintf("fills signature field object %d without a signature", num)
			}
			if why := onlyKeys(od, nd, "V", "AP", "F", "AS"); why != "" {
				return fmt.Sprintf("changes signature field object %d: %s", num, why)
			}
		case oIsDict && nIsDict && typeName(od) == "DSS":
			dssChanged = true // validation data may be rewritten
		case growable[num]:
			oa, _ := ov.(types.Array)
			na, _ := nv.(types.Array)
			if !addsSig {
				return fmt.Sprintf("changes array object %d without adding a signature", num)
			}
			if why := appendOnly(prev, cur, oa, na); why != "" {
				return fmt.Sprintf("changes array object %d: %s", num, why)
			}
		default:
			return fmt.Sprintf("changes object %d (%s)", num, describe(ov))
		}
	}
	if !addsSig && (changed == 0 || !dssChanged) {
		return "is an unsigned update that adds neither a signature nor validation data"
	}
	return ""
}

func isContainer(o types.Object) bool {
	sd, ok := o.(types.StreamDict)
	if !ok {
		return false
	}
	t := typeName(sd.Dict)
	return t == "XRef" || t == "ObjStm"
}

func typeName(d types.Dict) string {
	n, _ := d["Type"].(types.Name)
	return string(n)
}

func describe(o types.Object) string {
	switch v := o.(type) {
	case types.Dict:
		if t := typeName(v); t != "" {
			return "/" + t
		}
		return "dictionary"
	case types.StreamDict:
		if t := typeName(v.Dict); t != "" {
			return "/" + t + " stream"
		}
		return "stream"
	case types.Array:
		return "array"
	case nil:
		return "deleted"
	}
	return "value"
}

func isUnsignedSigField(d *pdfDoc, f types.Dict) bool {
	if _, signed := f["V"]; signed && d.deref(f["V"]) != nil {
		return false
	}
	ft, _ := d.deref(f["FT"]).(types.Name)
	if ft == "Sig" {
		return true
	}
	// A widget whose parent is an unsigned signature field.
	if parent := d.dict(f["Parent"]); parent != nil {
		ft, _ := d.deref(parent["FT"]).(types.Name)
		_, signed := parent["V"]
		return ft == "Sig" && !signed
	}
	return false
}

// onlyKeys reports which keys other than allowed differ between two dictionaries.
func onlyKeys(a, b types.Dict, allowed ...string) string {
	if a == nil || b == nil {
		return "is no longer a dictionary"
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diff []string
	for k := range keys {
		if slices.Contains(allowed, k) {
			continue
		}
		if !sameObject(a[k], b[k]) {
			diff = append(diff, "/"+k)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	slices.Sort(diff)
	return fmt.Sprintf("changes %v", diff)
}

func sameObject(a, b types.Object) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	var x, y bytes.Buffer
	writeObject(&x, a)
	writeObject(&y, b)
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// appendOnly checks that b keeps a's entries in order and that every added entry is a signature field or widget.
func appendOnly(prev, cur *pdfDoc, a, b types.Array) string {
	if len(b) < len(a) {
		return "entries were removed"
	}
	for i := range a {
		if !sameObject(a[i], b[i]) {
			return "entries were replaced"
		}
	}
	for _, o := range b[len(a):] {
		d := cur.dict(o)
		ft, _ := cur.deref(d["FT"]).(types.Name)
		if ft != "Sig" {
			if parent := cur.dict(d["Parent"]); parent != nil {
				ft, _ = cur.deref(parent["FT"]).(types.Name)
			}
		}
		if ft != "Sig" {
			return "a non-signature annotation or field was added"
		}
	}
	return ""
}
