package signing

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// PAdES baseline levels (ETSI EN 319 142-1), lowest first.
const (
	LevelNone = ""     // not a PAdES baseline signature, or not valid
	LevelBB   = "B-B"  // CAdES signature with signing-certificate-v2
	LevelBT   = "B-T"  // plus a valid signature timestamp from a trusted TSA
	LevelBLT  = "B-LT" // plus, in the /DSS, the chains and revocation data issued after the timestamp
	LevelBLTA = "B-LTA"
)

var levelRank = map[string]int{LevelNone: 0, LevelBB: 1, LevelBT: 2, LevelBLT: 3, LevelBLTA: 4}

// PolicyMinLevel is Parley's policy: every signature must reach at least this level, with a timestamp from a
// trusted TSA.
const PolicyMinLevel = LevelBT

// Report is the result of Verify.
type Report struct {
	// Valid is true when the document has at least one signature, every signature and document timestamp is
	// valid under Parley's policy and nothing but PAdES's allowed changes came after the first signature.
	Valid bool `json:"valid"`
	// Level is the document's PAdES level: the lowest level of its signatures ("" when one is broken or the
	// document was modified after signing). Valid also needs Parley's policy (PolicyMinLevel).
	Level              string            `json:"level"`
	Signatures         []SignatureReport `json:"signatures"`          // in signing order
	DocumentTimestamps []TimestampReport `json:"document_timestamps"` // /SubFilter /ETSI.RFC3161, in order
	Revisions          int               `json:"revisions"`           // incremental updates in the file, counting the original as 1
	RevisionKinds      []string          `json:"revision_kinds"`      // per revision: original, signature, document_timestamp, dss, no_change, modification
	Modifications      []Modification    `json:"modifications"`       // changes after the first signature that PAdES does not allow
	SHA256             string            `json:"sha256"`              // hex SHA-256 of the whole file
	Problems           []string          `json:"problems"`            // problems not tied to one signature (English)
	Codes              []string          `json:"codes"`               // stable codes of the document-level problems
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
	TimestampTrusted   bool      `json:"timestamp_trusted"`   // the TSA certificate chains to the roots at genTime and is not revoked
	TimestampRevoked   bool      `json:"timestamp_revoked"`   // revocation data in the /DSS revokes the TSA certificate by genTime

	CMSValid       bool   `json:"cms_valid"`       // the message digest matches the signed bytes and the signature verifies
	SigningCertV2  bool   `json:"signing_cert_v2"` // ESS signing-certificate-v2 names the signer certificate
	CoversRevision bool   `json:"covers_revision"` // the byte range runs from byte 0 to the end of the signature's revision, with only /Contents left out
	TotalDocument  bool   `json:"total_document"`  // the byte range covers the whole file
	Revision       int    `json:"revision"`        // the revision (1-based) that added the signature
	LaterRevisions int    `json:"later_revisions"` // revisions appended after it
	ModifiedAfter  bool   `json:"modified_after"`  // a later revision does more than PAdES allows (see Report.Modifications)
	ChainValid     bool   `json:"chain_valid"`     // the certificate chains to the roots (at the timestamp's time when there is one)
	ChainError     string `json:"chain_error"`
	Revoked        bool   `json:"revoked"` // revocation data in the /DSS revokes the certificate by the signing time

	// Level is the PAdES baseline level the signature reaches (B-B, B-T, B-LT, B-LTA; "" when none: broken,
	// or not a PAdES baseline signature), reported also when it is below Parley's policy.
	Level string `json:"level"`
	// PolicyOK: the signature meets Parley's policy (level B-T or higher, timestamp from a trusted TSA).
	PolicyOK bool `json:"policy_ok"`

	Valid    bool     `json:"valid"`
	Problems []string `json:"problems"` // English
	Codes    []string `json:"codes"`    // stable codes of the problems, for translation
}

// TimestampReport describes one document timestamp (PAdES B-LTA).
type TimestampReport struct {
	Field          string    `json:"field"`
	Time           time.Time `json:"time"`
	Authority      string    `json:"authority"`
	Revision       int       `json:"revision"`
	CoversRevision bool      `json:"covers_revision"`
	TotalDocument  bool      `json:"total_document"`
	TokenValid     bool      `json:"token_valid"` // the token verifies and its imprint is the hash of the byte range
	Trusted        bool      `json:"trusted"`     // the TSA chains to the roots and is not revoked
	ModifiedAfter  bool      `json:"modified_after"`
	Valid          bool      `json:"valid"`
	Problems       []string  `json:"problems"`
	Codes          []string  `json:"codes"`
}

// Problem codes of signatures, timestamps and the document.
const (
	CodeNoSignatures      = "no_signatures"
	CodeUnsupported       = "unsupported_subfilter"
	CodeByteRange         = "bad_byte_range"
	CodeNotRevisionEnd    = "not_revision_end"
	CodeCMS               = "cms_invalid"
	CodeDigest            = "digest_mismatch"
	CodeSigningCertV2     = "signing_cert_v2"
	CodeTimestampInvalid  = "timestamp_invalid"
	CodeTimestampUntrust  = "timestamp_untrusted"
	CodeTimestampRevoked  = "timestamp_revoked"
	CodeTimestampMissing  = "timestamp_missing"
	CodeChain             = "chain_invalid"
	CodeRevoked           = "revoked"
	CodeModified          = "modified_after"
	CodePolicyLevel       = "policy_level"
	CodeSigningTimeLater  = "signing_time_after_timestamp"
	CodeTooManySignatures = "too_many_signatures"
	CodeSignatureDict     = "bad_signature_dictionary"
	CodeUnreadable        = "revision_unreadable"
)

// Text formats the report for a terminal (parley verify).
func (r *Report) Text() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "VALID"
		}
		return "NOT VALID"
	}
	lvl := func(l string) string {
		if l == "" {
			return "none"
		}
		return l
	}
	fmt.Fprintf(&b, "document SHA-256 %s, %d revisions, %d signatures, %d document timestamps\n", r.SHA256, r.Revisions, len(r.Signatures), len(r.DocumentTimestamps))
	for i, s := range r.Signatures {
		fmt.Fprintf(&b, "signature %d: %s: %s, level %s, Parley policy (B-T or higher) %s\n", i+1, s.Field, verdict(s.Valid), lvl(s.Level), map[bool]string{true: "met", false: "NOT met"}[s.PolicyOK])
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
	for i, t := range r.DocumentTimestamps {
		fmt.Fprintf(&b, "document timestamp %d: %s: %s, %s by %s, revision %d\n", i+1, t.Field, verdict(t.Valid), t.Time.Format(time.RFC3339), t.Authority, t.Revision)
		for _, p := range t.Problems {
			fmt.Fprintf(&b, "  problem     %s\n", p)
		}
	}
	if len(r.Modifications) > 0 {
		b.WriteString("modifications after signing:\n")
		for _, m := range r.Modifications {
			fmt.Fprintf(&b, "  [%s] %s\n", m.Code, m.Detail)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	fmt.Fprintf(&b, "document: %s, level %s\n", verdict(r.Valid), lvl(r.Level))
	return b.String()
}

func (s *SignatureReport) problem(code, format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
	if !slices.Contains(s.Codes, code) {
		s.Codes = append(s.Codes, code)
	}
}

func (t *TimestampReport) problem(code, format string, args ...any) {
	t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
	if !slices.Contains(t.Codes, code) {
		t.Codes = append(t.Codes, code)
	}
}

func (r *Report) problem(code, format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	if !slices.Contains(r.Codes, code) {
		r.Codes = append(r.Codes, code)
	}
}

// Verify checks every signature and document timestamp of pdf against roots (the system roots when nil) at time
// now, and what every revision after the first signature changes. It returns an error only when the input cannot
// be read as a PDF (ErrNotPDF, ErrEncrypted, or a final revision whose cross-reference data is unreadable) or
// exceeds the verifier's limits; a damaged or altered signed PDF gives a Report with Valid false and the reasons.
// Verify never panics, and its work is bounded by the limits in limits.go.
func Verify(pdf []byte, roots *x509.CertPool, now time.Time) (rep *Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("signing: verify: malformed PDF (%v)", r)
		}
	}()
	if len(pdf) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotPDF)
	}
	f, err := readPDFFile(pdf)
	if err != nil {
		return nil, err
	}
	last := f.revs[len(f.revs)-1]
	if last.err != nil {
		return nil, fmt.Errorf("signing: parse PDF: %w", last.err)
	}
	fv, err := f.buildView(last.startxref, int64(len(pdf)))
	if err != nil {
		if errors.Is(err, errLimit) {
			return nil, err
		}
		return nil, fmt.Errorf("signing: parse PDF: %w", err)
	}
	if _, enc := fv.trailer["Encrypt"]; enc {
		return nil, ErrEncrypted
	}
	if fv.catalog() == nil {
		return nil, errors.New("signing: parse PDF: no document catalog")
	}
	sum := sha256.Sum256(pdf)
	rep = &Report{SHA256: hex.EncodeToString(sum[:]), Revisions: len(f.revs)}
	val := dssData(fv)

	// Signature dictionaries as the final file shows them.
	type sigEntry struct {
		field fieldInfo
		num   int
		dict  pDict
		docTS bool
	}
	var entries []sigEntry
	seenSig := map[int]bool{}
	for _, fl := range fv.fields() {
		if fl.ft != "Sig" {
			continue
		}
		if fv.resolve(fl.value) == nil {
			if r, ok := refOfP(fl.value); ok {
				if _, live := fv.ents[r.num]; live {
					_, err := fv.get(r.num)
					s := SignatureReport{Field: fl.name}
					s.problem(CodeSignatureDict, "the signature dictionary %d cannot be read: %v", r.num, err)
					rep.Signatures = append(rep.Signatures, s)
				}
			}
			continue
		}
		r, ok := refOfP(fl.value)
		fi := fieldInfo{name: fl.name}
		if !ok {
			s := SignatureReport{Field: fl.name}
			s.problem(CodeSignatureDict, "the signature dictionary is not an indirect object")
			rep.Signatures = append(rep.Signatures, s)
			continue
		}
		if seenSig[r.num] {
			s := SignatureReport{Field: fl.name}
			s.problem(CodeSignatureDict, "the signature dictionary %d is shared with another field", r.num)
			rep.Signatures = append(rep.Signatures, s)
			continue
		}
		seenSig[r.num] = true
		sd := fv.dict(r)
		entries = append(entries, sigEntry{field: fi, num: r.num, dict: sd, docTS: fv.name(sd["Type"]) == "DocTimeStamp" || fv.name(sd["SubFilter"]) == "ETSI.RFC3161"})
	}
	if len(entries) > maxVerifySignatures {
		rep.problem(CodeTooManySignatures, "more than %d signatures: not verified", maxVerifySignatures)
		entries = entries[:0]
	}
	var checks []*sigCheck
	for _, e := range entries {
		checks = append(checks, locateSignature(f, fv, e.field.name, e.num, e.dict, e.docTS))
	}
	digestAll(pdf, checks)

	// What every revision after the first signed one changes.
	first := -1
	for _, c := range checks {
		if c.rev >= 0 && (first < 0 || c.rev < first) {
			first = c.rev
		}
	}
	var an *analyzer
	if first >= 0 {
		an, err = newAnalyzer(f, first)
		if err != nil {
			for _, c := range checks {
				c.unreadable = err
			}
		} else {
			an.run(first)
			rep.Modifications = an.mods
			rep.RevisionKinds = an.kinds
		}
	}
	if f.trailing >= 0 {
		m := Modification{Code: ModTrailingData, Revision: len(f.revs) + 1, Offset: f.trailing, Detail: fmt.Sprintf("data after the last %%%%EOF, at byte %d, belongs to no revision", f.trailing)}
		rep.Modifications = append(rep.Modifications, m)
		rep.problem(ModTrailingData, "%s", m.Detail)
	}
	modifiedAfter := func(rev int) []Modification {
		var out []Modification
		for _, m := range rep.Modifications {
			if m.Revision > rev+1 {
				out = append(out, m)
			}
		}
		return out
	}

	// Document timestamps first: the signatures' B-LTA depends on them.
	var docTS []*TimestampReport
	var docTSRev []int
	for _, c := range checks {
		if !c.docTS {
			continue
		}
		t := c.timestampReport(roots, val, modifiedAfter)
		rep.DocumentTimestamps = append(rep.DocumentTimestamps, *t)
		if t.Valid {
			docTS = append(docTS, t)
			docTSRev = append(docTSRev, c.rev)
		}
	}
	sort.SliceStable(rep.DocumentTimestamps, func(i, j int) bool { return rep.DocumentTimestamps[i].Revision < rep.DocumentTimestamps[j].Revision })

	for _, c := range checks {
		if c.docTS {
			continue
		}
		s := c.signatureReport(roots, now, val)
		if s.Revision > 0 {
			s.LaterRevisions = len(f.revs) - s.Revision
			if mods := modifiedAfter(c.rev); len(mods) > 0 {
				s.ModifiedAfter = true
				for _, m := range mods {
					s.problem(CodeModified, "modified after signing: %s", m.Detail)
				}
			}
		}
		// B-LT and B-LTA.
		if s.Level == LevelBT && c.ts != nil {
			if val.longTerm(c.chain, c.ts.chain, c.ts.time) {
				s.Level = LevelBLT
				for i, t := range docTSRev {
					if t > c.rev && dssData(viewAt(f, t)).longTerm(c.chain, c.ts.chain, c.ts.time) && docTS[i].Valid {
						s.Level = LevelBLTA
						break
					}
				}
			}
		}
		s.PolicyOK = levelRank[s.Level] >= levelRank[PolicyMinLevel] && s.TimestampValid && s.TimestampTrusted
		if !s.PolicyOK && s.CMSValid {
			switch {
			case s.Timestamp.IsZero():
				s.problem(CodeTimestampMissing, "no signature timestamp: level %s, below Parley's policy (%s or higher)", orNone(s.Level), PolicyMinLevel)
			case !s.TimestampTrusted:
				s.problem(CodeTimestampUntrust, "the timestamp is not from a trusted TSA: Parley's policy needs one")
			default:
				s.problem(CodePolicyLevel, "level %s is below Parley's policy (%s or higher)", orNone(s.Level), PolicyMinLevel)
			}
		}
		s.Valid = s.CMSValid && s.CoversRevision && s.ChainValid && !s.Revoked && !s.ModifiedAfter && s.PolicyOK &&
			s.TimestampValid && s.TimestampTrusted && !s.TimestampRevoked
		rep.Signatures = append(rep.Signatures, *s)
	}
	sort.SliceStable(rep.Signatures, func(i, j int) bool { return rep.Signatures[i].Revision < rep.Signatures[j].Revision })
	if len(rep.Signatures) == 0 {
		rep.problem(CodeNoSignatures, "the document has no signatures")
		return rep, nil
	}
	rep.Valid = f.trailing < 0
	rep.Level = LevelBLTA
	for _, s := range rep.Signatures {
		rep.Valid = rep.Valid && s.Valid
		if levelRank[s.Level] < levelRank[rep.Level] {
			rep.Level = s.Level
		}
	}
	for _, t := range rep.DocumentTimestamps {
		rep.Valid = rep.Valid && t.Valid
	}
	// The level is reported as it is, also below Parley's policy (a stripped timestamp leaves B-B); a document
	// modified after signing, or with a broken signature, has none.
	if len(rep.Modifications) > 0 {
		rep.Level = LevelNone
	}
	return rep, nil
}

func orNone(l string) string {
	if l == "" {
		return "none"
	}
	return l
}

type fieldInfo struct{ name string }

// viewAt resolves revision k (0-based) as its own trailer says; nil when unreadable.
func viewAt(f *pdfFile, k int) *view {
	v, err := f.buildView(f.revs[k].startxref, f.revs[k].end)
	if err != nil {
		return nil
	}
	return v
}

// sigCheck is one signature dictionary located in the file.
type sigCheck struct {
	field      string
	docTS      bool
	subFilter  string
	dict       pDict
	br         [4]int64
	rev        int // 0-based revision the byte range ends at, -1 if none
	total      bool
	contents   []byte
	err        error  // the dictionary or its byte range is unusable
	errCode    string //
	unreadable error
	hashes     map[crypto.Hash][]byte // digests of the signed bytes
	want       []crypto.Hash

	cms    *parsedCMS
	tsInfo *tokenInfo // document timestamps
	chain  []*x509.Certificate
	ts     *tsCheck
}

type tsCheck struct {
	time  time.Time
	chain []*x509.Certificate
}

// locateSignature checks that the signature dictionary num is an object of the revision its byte range ends at,
// that the byte range runs from byte 0 to that revision's end and that its gap is exactly this dictionary's
// /Contents.
func locateSignature(f *pdfFile, fv *view, field string, num int, sd pDict, docTS bool) *sigCheck {
	c := &sigCheck{field: field, docTS: docTS, dict: sd, rev: -1, hashes: map[crypto.Hash][]byte{}}
	fail := func(code, format string, args ...any) *sigCheck {
		c.err, c.errCode = fmt.Errorf(format, args...), code
		return c
	}
	c.subFilter = fv.name(sd["SubFilter"])
	switch c.subFilter {
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
		if docTS {
			return fail(CodeUnsupported, "a document timestamp with /SubFilter /%s", c.subFilter)
		}
	case "ETSI.RFC3161":
	default:
		return fail(CodeUnsupported, "unsupported /SubFilter %q", c.subFilter)
	}
	br, _ := sd["ByteRange"].(pArray)
	okBR := len(br) == 4
	for i := 0; okBR && i < 4; i++ {
		c.br[i], okBR = intOf(br[i])
	}
	n := int64(len(f.data))
	r := c.br
	if !okBR || r[0] != 0 || r[1] <= 0 || r[2] < r[1]+2 || r[3] < 0 || r[2] > n || r[3] > n-r[2] {
		return fail(CodeByteRange, "malformed /ByteRange")
	}
	end := r[2] + r[3]
	for i, rv := range f.revs {
		if rv.end == end {
			c.rev = i
			break
		}
	}
	if c.rev < 0 {
		return fail(CodeNotRevisionEnd, "/ByteRange ends at byte %d, which is not the end of a revision", end)
	}
	c.total = end == n || (c.rev == len(f.revs)-1 && f.trailing < 0)
	hole := f.data[r[1]:r[2]]
	if hole[0] != '<' || hole[len(hole)-1] != '>' {
		return fail(CodeByteRange, "the gap in /ByteRange is not a hex string")
	}
	contents, err := hex.DecodeString(string(hole[1 : len(hole)-1]))
	if err != nil {
		return fail(CodeByteRange, "the gap in /ByteRange is not a hex string: %v", err)
	}
	cs, _ := sd["Contents"].(pString)
	if !bytes.Equal(contents, cs) {
		return fail(CodeByteRange, "/Contents is not where /ByteRange leaves its gap")
	}
	c.contents = contents
	// The dictionary must be an object of the signed revision, around the gap, in the same place in the final file.
	e, ok := fv.ents[num]
	if !ok || e.kind != 1 {
		return fail(CodeSignatureDict, "the signature dictionary is not a plain object")
	}
	from := int64(0)
	if c.rev > 0 {
		from = f.revs[c.rev-1].end
	}
	dend, ok := f.ends[e.off]
	if !ok || e.off < from || e.off >= r[1] || dend <= r[2] || dend > end {
		return fail(CodeSignatureDict, "the signature dictionary does not enclose the gap of its /ByteRange in its own revision")
	}
	ve, live, err := f.entryAt(f.revs[c.rev].startxref, end, num)
	if err != nil {
		return fail(CodeUnreadable, "the signed revision cannot be read: %v", err)
	}
	if !live || ve != e {
		return fail(CodeSignatureDict, "the signed revision does not hold this signature dictionary")
	}
	if docTS {
		tok, err := parseToken(contents)
		if err != nil {
			return fail(CodeTimestampInvalid, "%v", err)
		}
		c.want = []crypto.Hash{tok.hash}
		c.cms = nil
		c.ts = &tsCheck{time: tok.time}
		c.tsInfo = tok
		return c
	}
	p, err := parseCMS(contents)
	if err != nil {
		return fail(CodeCMS, "%v", err)
	}
	c.cms = p
	h, err := p.digestHash()
	if err != nil {
		return fail(CodeCMS, "%v", err)
	}
	c.want = []crypto.Hash{h}
	return c
}

// digestAll hashes every signature's byte ranges in one pass over the file: the signed bytes of each signature
// are a prefix of the file with one gap, so a running hash is cloned at each gap.
func digestAll(data []byte, checks []*sigCheck) {
	byHash := map[crypto.Hash][]*sigCheck{}
	for _, c := range checks {
		if c.err == nil {
			for _, h := range c.want {
				byHash[h] = append(byHash[h], c)
			}
		}
	}
	for h, cs := range byHash {
		if !h.Available() {
			continue
		}
		slices.SortFunc(cs, func(a, b *sigCheck) int { return int(a.br[1] - b.br[1]) })
		run := h.New()
		pos := int64(0)
		for _, c := range cs {
			run.Write(data[pos:c.br[1]])
			pos = c.br[1]
			cl, err := cloneHash(h, run)
			if err != nil {
				continue
			}
			cl.Write(data[c.br[2] : c.br[2]+c.br[3]])
			c.hashes[h] = cl.Sum(nil)
		}
	}
}

func cloneHash(h crypto.Hash, src hash.Hash) (hash.Hash, error) {
	m, ok := src.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errors.New("hash cannot be cloned")
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	dst := h.New()
	if err := dst.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, err
	}
	return dst, nil
}

func (c *sigCheck) signatureReport(roots *x509.CertPool, now time.Time, val *valData) *SignatureReport {
	s := &SignatureReport{Field: c.field, SubFilter: c.subFilter}
	s.Reason, s.Location = textOf(c.dict["Reason"]), textOf(c.dict["Location"])
	if m := textOf(c.dict["M"]); m != "" {
		s.SigningTime, _ = parsePDFDate(m)
	}
	if c.err != nil {
		s.problem(c.errCode, "%v", c.err)
		return s
	}
	if c.unreadable != nil {
		s.problem(CodeUnreadable, "the signed revision cannot be read: %v", c.unreadable)
	}
	s.Revision = c.rev + 1
	s.CoversRevision = c.unreadable == nil
	s.TotalDocument = c.total
	p := c.cms
	cert := p.signer
	fp := sha256.Sum256(cert.Raw)
	s.CertSHA256 = hex.EncodeToString(fp[:])
	subj := SubjectOf(cert)
	s.SignerName, s.Role, s.CaseNumber, s.Organisation, s.Identity = subj.Name, subj.Role, subj.CaseNumber, subj.Organisation, subj.Identity
	s.Issuer = cert.Issuer.CommonName
	h := c.want[0]
	if err := p.verifyDigest(c.hashes[h], oidData); err != nil {
		if errors.Is(err, errDigestMismatch) {
			s.problem(CodeDigest, "the signed bytes were changed: %v", err)
		} else {
			s.problem(CodeCMS, "%v", err)
		}
	} else {
		s.CMSValid = true
	}
	if err := p.checkSigningCertificateV2(); err == nil {
		s.SigningCertV2 = true
	} else if s.SubFilter == "ETSI.CAdES.detached" {
		s.problem(CodeSigningCertV2, "%v", err)
		s.CMSValid = false
	}
	if _, n := attrValue(p.signed, oidAttrSigningTime); n > 0 && s.SubFilter == "ETSI.CAdES.detached" {
		s.problem(CodeCMS, "PAdES signatures must not carry a signing-time attribute")
		s.CMSValid = false
	}

	// Timestamp (PAdES B-T).
	validationTime := now
	if tok, count := attrValue(p.unsigned, oidAttrTimestampToken); count == 1 {
		ti, err := parseToken(tok)
		if err != nil {
			s.problem(CodeTimestampInvalid, "%v", err)
			s.Timestamp = time.Unix(0, 0).UTC() // present but unusable
		} else {
			s.Timestamp = ti.time
			s.TimestampAuthority = ti.tsaName
			hh := ti.hash.New()
			hh.Write(p.si.Signature)
			if bytes.Equal(hh.Sum(nil), ti.digest) {
				s.TimestampValid = true
				validationTime = ti.time
			} else {
				s.problem(CodeTimestampInvalid, "the timestamp does not cover this signature value")
			}
			tchains, err := verifyChain(ti.signer, append(slices.Clone(ti.certs), val.certs...), roots, ti.time, x509.ExtKeyUsageTimeStamping)
			if err == nil {
				s.TimestampTrusted = true
				if val.revoked(ti.signer, tchains, ti.time) {
					s.TimestampRevoked, s.TimestampTrusted = true, false
					s.problem(CodeTimestampRevoked, "the timestamp authority's certificate is revoked")
				} else if s.TimestampValid {
					c.ts = &tsCheck{time: ti.time, chain: tchains[0]}
				}
			} else {
				s.problem(CodeTimestampUntrust, "timestamp authority: %v", err)
			}
			if !s.SigningTime.IsZero() && s.SigningTime.After(ti.time.Add(5*time.Minute)) {
				s.problem(CodeSigningTimeLater, "claimed signing time %s is after the timestamp %s", s.SigningTime.Format(time.RFC3339), ti.time.Format(time.RFC3339))
				s.TimestampValid = false
			}
		}
	} else if count > 1 {
		s.problem(CodeTimestampInvalid, "more than one signature timestamp")
		s.Timestamp = time.Unix(0, 0).UTC()
	}

	chains, err := verifyChain(cert, append(slices.Clone(p.certs), val.certs...), roots, validationTime, x509.ExtKeyUsageAny)
	if err != nil {
		s.ChainError = err.Error()
		s.problem(CodeChain, "certificate: %v", err)
	} else {
		s.ChainValid = true
		c.chain = chains[0]
		when := validationTime
		if s.Timestamp.IsZero() && !s.SigningTime.IsZero() {
			when = s.SigningTime
		}
		if val.revoked(cert, chains, when) {
			s.Revoked = true
			s.problem(CodeRevoked, "the certificate is revoked by revocation data in the document")
		}
	}
	switch {
	case !s.CMSValid || !s.ChainValid || s.Revoked || (s.SubFilter == "ETSI.CAdES.detached" && !s.SigningCertV2):
		s.Level = LevelNone
	case s.SubFilter != "ETSI.CAdES.detached":
		s.Level = LevelNone // adbe.pkcs7.detached is not a PAdES baseline signature
	case s.TimestampValid && s.TimestampTrusted && !s.TimestampRevoked:
		s.Level = LevelBT
	case s.Timestamp.IsZero():
		s.Level = LevelBB
	default:
		s.Level = LevelNone // a timestamp that does not hold
	}
	return s
}

func (c *sigCheck) timestampReport(roots *x509.CertPool, val *valData, modifiedAfter func(int) []Modification) *TimestampReport {
	t := &TimestampReport{Field: c.field}
	if c.err != nil {
		t.problem(c.errCode, "%v", c.err)
		return t
	}
	t.Revision, t.CoversRevision, t.TotalDocument = c.rev+1, c.unreadable == nil, c.total
	ti := c.tsInfo
	t.Time, t.Authority = ti.time, ti.tsaName
	if bytes.Equal(c.hashes[ti.hash], ti.digest) {
		t.TokenValid = true
	} else {
		t.problem(CodeDigest, "the document timestamp's imprint is not the hash of its byte range")
	}
	if chains, err := verifyChain(ti.signer, append(slices.Clone(ti.certs), val.certs...), roots, ti.time, x509.ExtKeyUsageTimeStamping); err != nil {
		t.problem(CodeTimestampUntrust, "timestamp authority: %v", err)
	} else if val.revoked(ti.signer, chains, ti.time) {
		t.problem(CodeTimestampRevoked, "the timestamp authority's certificate is revoked")
	} else {
		t.Trusted = true
	}
	for _, m := range modifiedAfter(c.rev) {
		t.ModifiedAfter = true
		t.problem(CodeModified, "modified after the timestamp: %s", m.Detail)
	}
	if c.unreadable != nil {
		t.problem(CodeUnreadable, "the timestamped revision cannot be read: %v", c.unreadable)
	}
	t.Valid = t.TokenValid && t.Trusted && t.CoversRevision && !t.ModifiedAfter
	return t
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

// valData is the validation data of a /DSS.
type valData struct {
	certs []*x509.Certificate
	crls  []*x509.RevocationList
	ocsps [][]byte
}

const maxDSSItems = 2000

// dssData reads the certificates, CRLs and OCSP responses of the view's /DSS.
func dssData(v *view) *valData {
	out := &valData{}
	if v == nil {
		return out
	}
	dss := v.dict(v.catalog()["DSS"])
	items := 0
	each := func(key string, f func([]byte)) {
		for _, o := range v.array(dss[key]) {
			if items++; items > maxDSSItems {
				return
			}
			if raw, err := v.streamData(o, 1<<20); err == nil {
				f(raw)
			}
		}
	}
	each("Certs", func(b []byte) {
		if c, err := x509.ParseCertificate(b); err == nil {
			out.certs = append(out.certs, c)
		}
	})
	each("CRLs", func(b []byte) {
		if c, err := x509.ParseRevocationList(b); err == nil {
			out.crls = append(out.crls, c)
		}
	})
	each("OCSPs", func(b []byte) { out.ocsps = append(out.ocsps, b) })
	return out
}

// status reports what the validation data says of cert (issued by issuer): good (with the freshest revocation data
// issued at or after notBefore), revoked at or before when.
func (d *valData) status(cert, issuer *x509.Certificate, when, notBefore time.Time) (revoked, freshGood bool) {
	for _, crl := range d.crls {
		if !bytes.Equal(crl.RawIssuer, cert.RawIssuer) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		listed := false
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				listed = true
				if !e.RevocationTime.After(when) {
					revoked = true
				}
			}
		}
		if !listed && !crl.ThisUpdate.Before(notBefore) {
			freshGood = true
		}
	}
	for _, raw := range d.ocsps {
		resp, err := ocsp.ParseResponseForCert(raw, cert, issuer)
		if err != nil || resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) && !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			continue // a delegated responder must be authorised for OCSP signing
		}
		switch resp.Status {
		case ocsp.Revoked:
			if !resp.RevokedAt.After(when) {
				revoked = true
			}
		case ocsp.Good:
			if !resp.ThisUpdate.Before(notBefore) {
				freshGood = true
			}
		}
	}
	return revoked, freshGood
}

func (d *valData) revoked(cert *x509.Certificate, chains [][]*x509.Certificate, when time.Time) bool {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return false
	}
	r, _ := d.status(cert, chains[0][1], when, when)
	return r
}

// longTerm reports whether the /DSS holds every certificate of the signer's and the TSA's chains and, for every
// certificate below the roots, revocation data issued at or after the timestamp time at that shows it good
// (PAdES B-LT).
func (d *valData) longTerm(signer, tsa []*x509.Certificate, at time.Time) bool {
	have := map[string]bool{}
	for _, c := range d.certs {
		have[string(c.Raw)] = true
	}
	for _, chain := range [][]*x509.Certificate{signer, tsa} {
		if len(chain) == 0 {
			return false
		}
		for i, c := range chain {
			if !have[string(c.Raw)] {
				return false
			}
			if i+1 < len(chain) {
				if revoked, fresh := d.status(c, chain[i+1], at, at); revoked || !fresh {
					return false
				}
			}
		}
	}
	return true
}

// digestHash returns the signer's digest algorithm.
func (p *parsedCMS) digestHash() (crypto.Hash, error) {
	switch a := p.si.DigestAlgorithm.Algorithm; {
	case a.Equal(oidSHA256):
		return crypto.SHA256, nil
	case a.Equal(oidSHA384):
		return crypto.SHA384, nil
	case a.Equal(oidSHA512):
		return crypto.SHA512, nil
	default:
		return 0, fmt.Errorf("cms: unsupported digest algorithm %s", a)
	}
}

// verifyDigest is parsedCMS.verify for detached content whose digest was already computed.
func (p *parsedCMS) verifyDigest(contentDigest []byte, wantType asn1.ObjectIdentifier) error {
	h, err := p.digestHash()
	if err != nil {
		return err
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
	if contentDigest == nil || !bytes.Equal(contentDigest, digest) {
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
