package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// The document endpoints: generate the agreement and the session record, collect signatures (two-step device
// signing for parties and mediators, server keys for seals and the court), download, and verify.

type installmentIn struct {
	AmountFen int64  `json:"amount_fen"`
	Due       string `json:"due"` // YYYY-MM-DD
	Method    string `json:"method"`
	Payer     string `json:"payer"`
	Payee     string `json:"payee"`
}

// agreementRequest is what the mediator edits: the agreement's structured terms.
type agreementRequest struct {
	Lang         string          `json:"lang"` // zh (default) or en
	Facts        string          `json:"facts"`
	Issues       []string        `json:"issues"`
	Terms        []string        `json:"terms"`
	Schedule     []installmentIn `json:"schedule"`
	OtherClauses []string        `json:"other_clauses"`
	SigningOrder []string        `json:"signing_order,omitempty"` // fields in the order they must be signed; empty: any order
	// Issue 9 §4 (agreement_court.go): the cause of action and what the case does not record of each party.
	Cause        string        `json:"cause,omitempty"` // 案由; default from the dispute type
	PartyDetails []partyDetail `json:"party_details,omitempty"`
}

func (r agreementRequest) Valid() map[string]string {
	f := r.validCourtDetails()
	if r.Lang != "" && r.Lang != "zh" && r.Lang != "en" {
		f["lang"] = "must be zh or en"
	}
	if utf8.RuneCountInString(r.Facts) > 20000 {
		f["facts"] = "at most 20000 characters"
	}
	if len(r.Terms) == 0 {
		f["terms"] = "an agreement states at least one agreed term"
	}
	list := func(name string, items []string, max int) {
		if len(items) > max {
			f[name] = fmt.Sprintf("at most %d items", max)
		}
		for i, it := range items {
			if strings.TrimSpace(it) == "" || utf8.RuneCountInString(it) > 4000 {
				f[fmt.Sprintf("%s[%d]", name, i)] = "must be 1 to 4000 characters"
			}
		}
	}
	list("issues", r.Issues, 50)
	list("terms", r.Terms, 100)
	list("other_clauses", r.OtherClauses, 50)
	if len(r.Schedule) > 120 {
		f["schedule"] = "at most 120 instalments"
	}
	for i, in := range r.Schedule {
		if in.AmountFen <= 0 || in.AmountFen > 1e15 {
			f[fmt.Sprintf("schedule[%d].amount_fen", i)] = "must be a positive amount in fen"
		}
		if _, err := time.Parse("2006-01-02", in.Due); err != nil {
			f[fmt.Sprintf("schedule[%d].due", i)] = "must be a date YYYY-MM-DD"
		}
		for name, v := range map[string]string{"method": in.Method, "payer": in.Payer, "payee": in.Payee} {
			if utf8.RuneCountInString(v) > 200 {
				f[fmt.Sprintf("schedule[%d].%s", i, name)] = "at most 200 characters"
			}
		}
	}
	return f
}

type fieldStatus struct {
	Field       string     `json:"field"`
	Role        string     `json:"role"`
	Name        string     `json:"name"`
	Signed      bool       `json:"signed"`
	SignedBy    string     `json:"signed_by,omitempty"`
	SignedAt    *time.Time `json:"signed_at,omitempty"`
	Device      bool       `json:"device"` // signed on the signer's own device (otherwise by a server-held seal)
	CallerSigns bool       `json:"caller_signs"`
}

type documentResponse struct {
	Document *cases.Document `json:"document"`
	Fields   []fieldStatus   `json:"fields"`
	Next     string          `json:"next,omitempty"` // the field the caller may sign now
	Waiting  string          `json:"waiting,omitempty"`
}

// mayDeviceSign reports whether principal p is the planned signer of s.
func mayDeviceSign(p cases.Principal, s cases.DocSigner) bool {
	switch s.SubjectKind {
	case "party":
		return p.IsPartySide() && p.PartyID == s.SubjectID
	case "agent":
		return p.Kind == cases.KindAgent && p.ID == s.SubjectID
	case "account":
		return p.Kind == cases.KindAccount && p.ID == s.SubjectID
	}
	return false
}

// blockedBy returns the field that must be signed before field f of an ordered document, or "".
func blockedBy(d *cases.Document, f string) string {
	signed := d.Signed()
	for _, s := range d.Signers {
		if s.Field == f {
			return ""
		}
		if s.SubjectKind == "organisation" || s.SubjectKind == "platform" {
			continue
		}
		if _, ok := signed[s.Field]; !ok && d.Ordered {
			return s.Field
		}
	}
	return ""
}

func describeDocument(p cases.Principal, d *cases.Document) documentResponse {
	out := documentResponse{Document: d, Fields: []fieldStatus{}}
	signed := d.Signed()
	for _, s := range d.Signers {
		fs := fieldStatus{Field: s.Field, Role: s.Role, Name: s.Name, Device: s.SubjectKind == "party" || s.SubjectKind == "agent" || s.SubjectKind == "account"}
		if v, ok := signed[s.Field]; ok {
			at := v.CreatedAt
			fs.Signed, fs.SignedBy, fs.SignedAt = true, v.SignerName, &at
		} else if d.Status == cases.DocSigning && mayDeviceSign(p, s) {
			fs.CallerSigns = true
			if out.Next == "" {
				if b := blockedBy(d, s.Field); b != "" {
					out.Waiting = b
				} else {
					out.Next = s.Field
				}
			}
		}
		out.Fields = append(out.Fields, fs)
	}
	return out
}

// documentFor loads a document whose case the caller may see.
func (a *app) documentFor(r *http.Request) (*cases.Document, *cases.Case, error) {
	d, err := a.store.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	c, err := a.store.Case(r.Context(), d.CaseID)
	if err != nil {
		return nil, nil, err
	}
	if !cases.CanView(principal(r), c) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "document not found")
	}
	return d, c, nil
}

func isMediatorOf(p cases.Principal, c *cases.Case) bool {
	return slices.Contains(cases.Relations(p, c), cases.WhoMediator)
}

func handleAgreementCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		c, err := a.store.CaseFor(r.Context(), p, r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		c, _ = a.store.Case(r.Context(), c.ID) // unredacted: p is staff below
		if !isMediatorOf(p, c) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "the agreement is drafted by a mediator who has accepted the case"))
			return
		}
		if c.State != cases.StateInMediation && c.State != cases.StateSigning {
			fail(w, r, a.log, cases.Errorf(cases.ECONFLICT, "the case is %s: an agreement is drafted while it is in mediation or being signed", c.State))
			return
		}
		in, err := decode[agreementRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		d, err := a.docs.createAgreement(r.Context(), p, c, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, describeDocument(p, d))
	})
}

func roleLabel(role, lang string) string {
	zh := map[string]string{"applicant": "申请人", "respondent": "被申请人", "agent": "委托代理人", "mediator": "调解员", "organisation": "调解组织",
		"judge": "法官", "clerk": "书记员", "court": "人民法院", "platform": "平台", "party": "当事人", "observer": "旁听人员"}
	if lang == "en" {
		return strings.ToUpper(role[:1]) + role[1:]
	}
	if l, ok := zh[role]; ok {
		return l
	}
	return role
}

func (d *docSigner) createAgreement(ctx context.Context, p cases.Principal, c *cases.Case, in agreementRequest) (*cases.Document, error) {
	lang := in.Lang
	if lang == "" {
		lang = "zh"
	}
	now := d.now()
	ag := &signing.Agreement{
		Meta:         signing.Meta{DocumentID: cases.NewID(), CaseNumber: c.Number, Court: c.CourtName, VerifyBaseURL: d.baseURL, Lang: lang, Created: now.In(d.zone)},
		Organisation: c.OrganisationName,
		Facts:        in.Facts, Issues: in.Issues, Terms: in.Terms, OtherClauses: in.OtherClauses,
	}
	var mediators []cases.MediatorAssignment
	for _, m := range c.Mediators {
		if m.Status == cases.AssignAccepted {
			mediators = append(mediators, m)
			ag.Mediators = append(ag.Mediators, m.Name)
		}
	}
	for _, party := range c.Parties {
		sp := signing.Party{Role: string(party.Side), Kind: signing.Person, Name: party.Name, IDNumber: party.IDNumber, Address: party.Address, Representative: party.LegalRep}
		if party.Kind == cases.PartyCompany {
			sp.Kind = signing.Company
		}
		if len(party.Agents) > 0 {
			sp.Agent = &signing.Agent{Name: party.Agents[0].Name, Firm: party.Agents[0].LawFirm}
		}
		ag.Parties = append(ag.Parties, sp)
	}
	for _, s := range in.Schedule {
		due, _ := time.ParseInLocation("2006-01-02", s.Due, d.zone)
		ag.Schedule = append(ag.Schedule, signing.Installment{Amount: s.AmountFen, Due: due, Method: s.Method, Payer: s.Payer, Payee: s.Payee})
	}
	if err := applyCourtDetails(ag, c, in, d.zone); err != nil {
		return nil, err
	}
	doc, err := (&signing.Generator{Font: d.font}).Agreement(ag)
	if err != nil {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the agreement could not be laid out: %v", err)
	}
	var signers []cases.DocSigner
	mediatorN := 0
	for _, f := range doc.Fields {
		s := cases.DocSigner{Field: f.Name, Role: f.Role, Name: f.Signer}
		switch {
		case (f.Role == signing.RoleApplicant || f.Role == signing.RoleRespondent) && f.Party >= 0 && f.Party < len(c.Parties):
			s.SubjectKind, s.SubjectID, s.Name = "party", c.Parties[f.Party].ID, c.Parties[f.Party].Name
		case f.Role == signing.RoleMediator && mediatorN < len(mediators):
			s.SubjectKind, s.SubjectID = "account", mediators[mediatorN].AccountID
			mediatorN++
		case f.Role == signing.RoleOrganisation:
			s.SubjectKind, s.SubjectID = "organisation", c.OrganisationID
		default:
			return nil, fmt.Errorf("agreement field %s has no signer", f.Name)
		}
		signers = append(signers, s)
	}
	ordered := false
	if len(in.SigningOrder) > 0 {
		var devices []string
		for _, s := range signers {
			if s.SubjectKind != "organisation" {
				devices = append(devices, s.Field)
			}
		}
		sorted := slices.Clone(in.SigningOrder)
		slices.Sort(sorted)
		want := slices.Clone(devices)
		slices.Sort(want)
		if !slices.Equal(sorted, want) {
			return nil, cases.Invalid(map[string]string{"signing_order": "must list each of " + strings.Join(devices, ", ") + " once"})
		}
		reordered := make([]cases.DocSigner, 0, len(signers))
		for _, f := range in.SigningOrder {
			for _, s := range signers {
				if s.Field == f {
					reordered = append(reordered, s)
				}
			}
		}
		for _, s := range signers {
			if s.SubjectKind == "organisation" {
				reordered = append(reordered, s)
			}
		}
		signers, ordered = reordered, true
	}
	title := "调解协议书"
	if lang == "en" {
		title = "Mediation Agreement"
	}
	return d.store.CreateDocument(ctx, p, cases.NewDocument{ID: ag.DocumentID, CaseID: c.ID, Kind: cases.DocAgreement, Title: title, Lang: lang,
		Content: in, Signers: signers, Ordered: ordered, Pages: doc.Pages, PDF: doc.PDF})
}

type recordDocRequest struct {
	Lang string `json:"lang"`
}

func (r recordDocRequest) Valid() map[string]string {
	if r.Lang != "" && r.Lang != "zh" && r.Lang != "en" {
		return map[string]string{"lang": "must be zh or en"}
	}
	return nil
}

func handleRecordDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		ss, err := a.sessionForCaller(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		c, err := a.store.Case(r.Context(), ss.CaseID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !isMediatorOf(p, c) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "the session record is produced by a mediator of the case"))
			return
		}
		in := recordDocRequest{}
		if r.ContentLength != 0 {
			if in, err = decode[recordDocRequest](r, a.cfg.MaxBodyBytes); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		detail, err := a.store.SessionDetail(r.Context(), p, ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rec, err := a.store.Record(r.Context(), ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		d, err := a.docs.createRecord(r.Context(), p, c, detail, rec, in.Lang)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, describeDocument(p, d))
	})
}

func (d *docSigner) createRecord(ctx context.Context, p cases.Principal, c *cases.Case, s *cases.SessionDetail, rec *cases.SessionRecord, lang string) (*cases.Document, error) {
	if lang == "" {
		lang = "zh"
	}
	if len(s.Attendance) == 0 {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "nobody attended this session yet: the record lists its participants")
	}
	now := d.now()
	sr := &signing.SessionRecord{
		Meta:         signing.Meta{DocumentID: cases.NewID(), CaseNumber: c.Number, Court: c.CourtName, VerifyBaseURL: d.baseURL, Lang: lang, Created: now.In(d.zone)},
		Organisation: c.OrganisationName,
	}
	if s.StartedAt != nil {
		sr.Start = s.StartedAt.In(d.zone)
	}
	if s.EndedAt != nil {
		sr.End = s.EndedAt.In(d.zone)
	}
	type who struct{ kind, id string }
	var subjects []who
	seen := map[string]bool{}
	// How each took part (OMR Art. 18): the richest mode over their stays, video >
	// voice > text (a party who joined by voice and came back with a camera attended by
	// video).
	rank := map[string]int{"text": 1, "voice": 2, "video": 3, "": 3}
	mode := map[string]string{}
	for _, at := range s.Attendance {
		if m, ok := mode[at.ParticipantID]; !ok || rank[at.Mode] > rank[m] {
			mode[at.ParticipantID] = at.Mode
		}
	}
	attends := map[string][2]string{"video": {"视频", "video"}, "": {"视频", "video"}, "voice": {"语音", "voice"}, "text": {"文字", "text"}}
	for _, at := range s.Attendance {
		end := time.Time{}
		if at.LeftAt != nil {
			end = at.LeftAt.In(d.zone)
		}
		sr.Attendance = append(sr.Attendance, signing.Attendance{Participant: at.Name, Joined: at.JoinedAt.In(d.zone), Left: end})
		if seen[at.ParticipantID] {
			continue
		}
		seen[at.ParticipantID] = true
		label := attends[mode[at.ParticipantID]]
		part := signing.Participant{Name: at.Name, Attends: label[0]}
		if lang == "en" {
			part.Attends = label[1]
		}
		var sub who
		switch at.Role {
		case "party":
			part.Role = signing.RoleApplicant
			if at.Side == string(cases.Respondent) {
				part.Role = signing.RoleRespondent
			}
			sub = who{"party", at.ParticipantID}
		case "agent":
			part.Role = signing.RoleAgent
			sub = who{"agent", at.ParticipantID}
		case "mediator":
			part.Role = signing.RoleMediator
			sub = who{"account", at.ParticipantID}
		case "judge":
			part.Role, part.NoSignature = signing.RoleJudge, true
		case "clerk":
			part.Role, part.NoSignature = signing.RoleClerk, true
		default:
			part.Role, part.NoSignature = signing.RoleOther, true
		}
		sr.Participants = append(sr.Participants, part)
		subjects = append(subjects, sub)
	}
	for _, chk := range s.IdentityChecks {
		res := map[string]string{"passed": "通过", "failed": "未通过"}[chk.Result]
		if lang == "en" {
			res = chk.Result
		}
		sr.IdentityChecks = append(sr.IdentityChecks, signing.IdentityCheck{Participant: chk.Name, Method: identityMethodLabel(chk.Method, lang), Result: res, By: chk.CheckedByName, At: chk.At.In(d.zone)})
	}
	facts := signing.RecordSection{Heading: "调解情况"}
	if lang == "en" {
		facts.Heading = "Proceedings"
	}
	if strings.TrimSpace(rec.Facts) != "" {
		facts.Statements = append(facts.Statements, signing.Statement{Text: rec.Facts})
	}
	for _, st := range rec.Statements {
		facts.Statements = append(facts.Statements, signing.Statement{Speaker: st.Speaker, Text: st.Text})
	}
	if len(facts.Statements) > 0 {
		sr.Sections = append(sr.Sections, facts)
	}
	sr.ConfirmedFacts = rec.ConfirmedFacts
	doc, err := (&signing.Generator{Font: d.font}).SessionRecord(sr)
	if err != nil {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the record could not be laid out: %v", err)
	}
	var signers []cases.DocSigner
	for _, f := range doc.Fields {
		if f.Party < 0 || f.Party >= len(subjects) || subjects[f.Party].kind == "" {
			return nil, fmt.Errorf("record field %s has no signer", f.Name)
		}
		signers = append(signers, cases.DocSigner{Field: f.Name, Role: f.Role, SubjectKind: subjects[f.Party].kind, SubjectID: subjects[f.Party].id, Name: f.Signer})
	}
	title := "调解笔录"
	if lang == "en" {
		title = "Record of Mediation Session"
	}
	return d.store.CreateDocument(ctx, p, cases.NewDocument{ID: sr.DocumentID, CaseID: c.ID, SessionID: s.ID, Kind: cases.DocRecord, Title: title, Lang: lang,
		Content: rec, Signers: signers, Pages: doc.Pages, PDF: doc.PDF})
}

func identityMethodLabel(m, lang string) string {
	if lang == "en" {
		return strings.ReplaceAll(m, "_", " ")
	}
	labels := map[string]string{"id_card_on_camera": "身份证件视频核验", "face_match": "人脸识别比对", "sms_code": "短信验证码",
		"known_to_mediator": "调解员当面核实", "court_verified": "法院已核验", "other": "其他方式", "invitation_code": "邀请链接与短信验证码", "staff_login": "工作人员账户登录"}
	if l, ok := labels[m]; ok {
		return l
	}
	return m
}

func handleDocuments(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.store.CaseFor(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		docs, err := a.store.Documents(r.Context(), c.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := []documentResponse{}
		for i := range docs {
			out = append(out, describeDocument(principal(r), &docs[i]))
		}
		encode(w, http.StatusOK, out)
	})
}

func handleDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, describeDocument(principal(r), d))
	})
}

func handleDocumentPDF(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		v, err := intQuery(r, "version", 0, 0, 1<<20)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		pdf, got, err := a.store.DocumentPDF(r.Context(), d.ID, v)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		name := fmt.Sprintf("%s-%s-v%d.pdf", d.Kind, strings.NewReplacer("（", "", "）", "-", "(", "", ")", "-", " ", "").Replace(c.Number), got)
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"document-v%d.pdf\"; filename*=UTF-8''%s", got, urlPathEscape(name)))
		w.Header().Set("X-Content-SHA256", sha256Hex(pdf))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(pdf)
	})
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// prepareRequest starts a device signature: the signer's drawn signature and device key.
type prepareRequest struct {
	Field     string `json:"field"`
	PublicKey string `json:"public_key"` // base64 DER SubjectPublicKeyInfo (WebCrypto exportKey "spki")
	Proof     string `json:"proof"`      // base64 signature by that key over keyProofMessage
	Image     string `json:"image"`      // base64 PNG of the handwritten signature
}

func (p prepareRequest) Valid() map[string]string {
	f := map[string]string{}
	if p.Field == "" || len(p.Field) > 64 {
		f["field"] = "is required"
	}
	for name, v := range map[string]string{"public_key": p.PublicKey, "proof": p.Proof, "image": p.Image} {
		if v == "" {
			f[name] = "is required"
		} else if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			f[name] = "must be base64"
		}
	}
	return f
}

// keyProofMessage is what a device signs to show it holds the key it asks a certificate for; it names the case
// and the signer so that a proof cannot be replayed for someone else.
func keyProofMessage(caseID, signerID, publicKeyB64 string) []byte {
	return []byte("parley-key-proof:" + caseID + ":" + signerID + ":" + publicKeyB64)
}

type prepareResponse struct {
	Field       string    `json:"field"`
	ToBeSigned  string    `json:"to_be_signed"` // base64: sign with ECDSA {hash: SHA-256}, send back raw r‖s
	Certificate string    `json:"certificate"`  // PEM certificate Parley's CA issued for the device key
	BaseVersion int       `json:"base_version"`
	ExpiresAt   time.Time `json:"expires_at"`
	// What the device checks before it signs (what you see is what you sign, docs/signing.md): the revision
	// the signature covers is the base version's bytes followed by Update; its byte ranges hash to the
	// signed attributes' message digest.
	Revision *preparedRevision `json:"revision,omitempty"`
}

func handlePrepare(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[prepareRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.prepare(r.Context(), p, c, d, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

// checkSigner applies the signing rules: the document is collecting signatures, the caller is the field's
// signer, the field is not signed yet, and (in an ordered document) the fields before it are.
func checkSigner(p cases.Principal, c *cases.Case, d *cases.Document, field string) (*cases.DocSigner, error) {
	s := d.Signer(field)
	if s == nil {
		return nil, cases.Invalid(map[string]string{"field": "is not a signature field of this document"})
	}
	if !mayDeviceSign(p, *s) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "field %s is for %s to sign", field, s.Name)
	}
	if d.Status != cases.DocSigning {
		return nil, cases.Errorf(cases.ECONFLICT, "the document is %s: nothing more to sign", d.Status)
	}
	if d.Kind == cases.DocAgreement && c.State != cases.StateSigning && c.State != cases.StateSettled {
		return nil, cases.Errorf(cases.ECONFLICT, "the case is %s: the mediator records the agreement (end with agreement_reached) before it is signed", c.State)
	}
	if _, done := d.Signed()[field]; done {
		return nil, cases.Errorf(cases.ECONFLICT, "field %s is already signed", field)
	}
	if b := blockedBy(d, field); b != "" {
		return nil, cases.Errorf(cases.ECONFLICT, "the mediator set a signing order: %s signs first", d.Signer(b).Name)
	}
	return s, nil
}

// signerIdentity returns the role printed for the signer and how their identity was checked.
func (d *docSigner) signerIdentity(ctx context.Context, p cases.Principal, c *cases.Case) (role, method string, err error) {
	method, err = d.store.IdentityMethod(ctx, c.ID, p.ID)
	if err != nil {
		return "", "", err
	}
	switch p.Kind {
	case cases.KindParty:
		role = string(p.Side)
		if method == "" {
			method = "invitation_code"
		}
	case cases.KindAgent:
		role = signing.RoleAgent
		if method == "" {
			method = "invitation_code"
		}
	default:
		role = signing.RoleMediator
		if method == "" {
			method = "staff_login"
		}
	}
	return role, method, nil
}

func (d *docSigner) prepare(ctx context.Context, p cases.Principal, c *cases.Case, doc *cases.Document, in prepareRequest) (*prepareResponse, error) {
	if _, err := checkSigner(p, c, doc, in.Field); err != nil {
		return nil, err
	}
	// Signing is bound to an identity, not a login (issue 8 §1): the one gate, a domain rule in cases.
	evidence, err := d.store.SigningEvidenceFor(ctx, c, p)
	if err != nil {
		return nil, err
	}
	spki, _ := base64.StdEncoding.DecodeString(in.PublicKey)
	pub, err := signing.ParseDeviceKey(spki)
	if err != nil {
		return nil, cases.Invalid(map[string]string{"public_key": "must be an ECDSA P-256 public key in SPKI form"})
	}
	proof, _ := base64.StdEncoding.DecodeString(in.Proof)
	if err := signing.VerifyDeviceSignature(pub, keyProofMessage(c.ID, p.ID, in.PublicKey), proof); err != nil {
		return nil, cases.Invalid(map[string]string{"proof": "does not verify with public_key: sign keyProofMessage with the device key"})
	}
	png, _ := base64.StdEncoding.DecodeString(in.Image)
	img, err := signing.DecodeSignatureImage(png, signing.DefaultImageLimits)
	if err != nil {
		msg := "must be a PNG image of the drawn signature"
		if errors.Is(err, signing.ErrBlankSignature) {
			msg = "is blank: draw the signature"
		}
		return nil, cases.Invalid(map[string]string{"image": msg})
	}
	role, _, err := d.signerIdentity(ctx, p, c)
	if err != nil {
		return nil, err
	}
	cert, err := d.certificateFor(ctx, p, c, pub, spki, role, evidence)
	if err != nil {
		return nil, err
	}
	current, version, err := d.store.DocumentPDF(ctx, doc.ID, 0)
	if err != nil {
		return nil, err
	}
	val, err := d.validation()
	if err != nil {
		return nil, err
	}
	now := d.now()
	pending, err := signing.Prepare(current, signing.Request{
		Field: in.Field, Cert: cert, Chain: d.ca.Chain(), Time: now, Validation: val,
		Reason:     map[string]string{cases.DocAgreement: "同意本调解协议内容", cases.DocRecord: "确认本笔录内容"}[doc.Kind],
		Location:   "Parley 在线调解平台",
		Appearance: signing.Appearance{Image: img, Name: p.Name, Role: roleLabel(role, doc.Lang), Lang: doc.Lang, Font: d.font, Zone: d.zone},
	})
	if err != nil {
		return nil, fmt.Errorf("prepare signature: %w", err)
	}
	state, err := pending.MarshalBinary()
	if err != nil {
		return nil, err
	}
	exp := now.Add(10 * time.Minute)
	if err := d.store.SavePending(ctx, cases.PendingSignature{DocumentID: doc.ID, Field: in.Field, SignerKind: string(p.Kind), SignerID: p.ID,
		BaseVersion: version, State: state, ExpiresAt: exp}); err != nil {
		return nil, err
	}
	return &prepareResponse{Field: in.Field, ToBeSigned: base64.StdEncoding.EncodeToString(pending.ToBeSigned()),
		Certificate: string(pemCert(cert)), BaseVersion: version, ExpiresAt: exp, Revision: revisionOf(pending)}, nil
}

// certificateFor returns the certificate Parley's CA issued for this signer's device key in this case, issuing
// it on first use.
func (d *docSigner) certificateFor(ctx context.Context, p cases.Principal, c *cases.Case, pub any, spki []byte, role string, ev *cases.SigningEvidence) (*x509.Certificate, error) {
	keySHA := sha256Hex(spki) + evidenceKey(ev)
	if der, ok, err := d.store.SignerCertificate(ctx, c.ID, string(p.Kind), p.ID, keySHA); err != nil {
		return nil, err
	} else if ok {
		return x509.ParseCertificate(der)
	}
	org := c.OrganisationName
	if p.IsPartySide() {
		if party := c.Party(p.PartyID); party != nil && p.Kind == cases.KindAgent {
			org = party.Name
		} else {
			org = ""
		}
	}
	now := d.now()
	cert, err := d.ca.Issue(pub, signing.Subject{Name: p.Name, Role: role, CaseNumber: c.Number, Organisation: org, Identity: certIdentity(c, ev)}, now.Add(-time.Minute), now.AddDate(2, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	if err := d.store.SaveSignerCertificate(ctx, c.ID, p, string(p.Kind), p.ID, keySHA, cert.Raw, sha256Hex(cert.Raw)); err != nil {
		return nil, err
	}
	return cert, nil
}

func pemCert(c *x509.Certificate) []byte {
	return pemEncode("CERTIFICATE", c.Raw)
}

type finishRequest struct {
	Field     string `json:"field"`
	Signature string `json:"signature"` // base64 raw r‖s from the device
}

func (f finishRequest) Valid() map[string]string {
	out := map[string]string{}
	if f.Field == "" {
		out["field"] = "is required"
	}
	if b, err := base64.StdEncoding.DecodeString(f.Signature); err != nil || len(b) == 0 || len(b) > 256 {
		out["signature"] = "must be the base64 device signature"
	}
	return out
}

func handleFinish(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[finishRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.finish(r.Context(), p, c, d, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.afterSignature(r.Context(), out)
		encode(w, http.StatusOK, describeDocument(p, out))
	})
}

func (d *docSigner) finish(ctx context.Context, p cases.Principal, c *cases.Case, doc *cases.Document, in finishRequest) (*cases.Document, error) {
	if _, err := checkSigner(p, c, doc, in.Field); err != nil {
		return nil, err
	}
	ps, err := d.store.Pending(ctx, doc.ID, in.Field)
	if err != nil {
		return nil, err
	}
	if ps.SignerKind != string(p.Kind) || ps.SignerID != p.ID {
		return nil, cases.Errorf(cases.EFORBIDDEN, "field %s was prepared for someone else", in.Field)
	}
	sig, _ := base64.StdEncoding.DecodeString(in.Signature)
	var pending signing.Pending
	if err := pending.UnmarshalBinary(ps.State); err != nil {
		return nil, fmt.Errorf("stored pending signature: %w", err)
	}
	role, method, err := d.signerIdentity(ctx, p, c)
	if err != nil {
		return nil, err
	}
	out, _, err := d.store.AppendVersion(ctx, doc.ID, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
		lc, err := d.store.Case(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if _, err := checkSigner(p, lc, locked, in.Field); err != nil {
			return nil, err
		}
		pdf, err := signing.Finish(ctx, current, &pending, sig, d.tsa)
		if err != nil {
			return nil, err
		}
		if pdf, err = d.makeLTA(ctx, pdf); err != nil {
			return nil, err
		}
		return &cases.NewVersion{PDF: pdf, Field: in.Field, SignerKind: string(p.Kind), SignerID: p.ID, SignerName: p.Name, SignerRole: role,
			CertSHA256: sha256Hex(pending.Certs[0]), IdentityMethod: method, EventType: "document.signed", Actor: p}, nil
	})
	switch {
	case errors.Is(err, signing.ErrStale):
		_ = d.store.DeletePending(ctx, doc.ID, in.Field)
		return nil, cases.Errorf(cases.ECONFLICT, "someone else signed the document meanwhile: prepare the signature again on the new version")
	case errors.Is(err, signing.ErrBadSignature):
		return nil, cases.Invalid(map[string]string{"signature": "does not verify with the certificate of the prepared signature"})
	case errors.Is(err, signing.ErrFieldSigned):
		return nil, cases.Errorf(cases.ECONFLICT, "field %s is already signed", in.Field)
	case err != nil:
		return nil, err
	}
	return out, nil
}

// afterSignature applies what a signature implies: the agreement takes effect at the last party's signature
// (OMR Art. 19), and a document every planned signer signed gets its completion certificate.
func (a *app) afterSignature(ctx context.Context, d *cases.Document) {
	ctx = context.WithoutCancel(ctx)
	if d.Kind == cases.DocAgreement {
		signed := d.Signed()
		all := true
		for _, s := range d.Signers {
			if s.SubjectKind == "party" {
				if _, ok := signed[s.Field]; !ok {
					all = false
				}
			}
		}
		if all {
			if c, err := a.store.Case(ctx, d.CaseID); err == nil && c.State == cases.StateSigning {
				if _, err := a.store.Act(ctx, cases.System, d.CaseID, cases.ActAgreementEffective,
					cases.Params{Note: "the last party signed the agreement (document " + d.ID + ")"}); err != nil && cases.ErrorCode(err) != cases.ECONFLICT {
					a.log.Error("agreement effective", "case", d.CaseID, "err", err)
				}
			}
		}
	}
	if d.Status == cases.DocComplete && d.Kind != cases.DocCompletion {
		if _, err := a.docs.completion(ctx, d); err != nil {
			a.log.Error("completion certificate", "document", d.ID, "err", err)
		}
	}
}

// completion generates and signs (with the platform key) the certificate of completion of a document.
func (d *docSigner) completion(ctx context.Context, doc *cases.Document) (*cases.Document, error) {
	c, err := d.store.Case(ctx, doc.CaseID)
	if err != nil {
		return nil, err
	}
	final, _, err := d.store.DocumentPDF(ctx, doc.ID, 0)
	if err != nil {
		return nil, err
	}
	now := d.now()
	rep, err := signing.Verify(final, d.roots(), now)
	if err != nil {
		return nil, err
	}
	signers := signing.CompletionSigners(rep)
	for i := range signers {
		for _, v := range doc.Versions {
			if v.Field == signers[i].Field {
				signers[i].IdentityMethod = identityMethodLabel(v.IdentityMethod, doc.Lang)
			}
		}
	}
	evs, err := d.store.Events(ctx, doc.CaseID)
	if err != nil {
		return nil, err
	}
	var audit []signing.AuditEvent
	for _, e := range evs {
		if id, _ := e.Data["document_id"].(string); id == doc.ID {
			audit = append(audit, signing.AuditEvent{At: e.At.In(d.zone), Text: fmt.Sprintf("#%d %s %s %v", e.Seq, e.Type, e.ActorName, e.Data["field"])})
		}
	}
	comp := &signing.Completion{
		Meta:          signing.Meta{DocumentID: cases.NewID(), CaseNumber: c.Number, Court: c.CourtName, VerifyBaseURL: d.baseURL, Lang: doc.Lang, Created: now.In(d.zone)},
		DocumentTitle: doc.Title, SignedDocumentID: doc.ID, DocumentSHA256: rep.SHA256, DocumentPages: doc.Pages, Completed: doc.UpdatedAt.In(d.zone),
		Signers: signers, Events: audit,
	}
	gen, err := (&signing.Generator{Font: d.font}).Completion(comp)
	if err != nil {
		return nil, err
	}
	var signersDoc []cases.DocSigner
	for _, f := range gen.Fields {
		signersDoc = append(signersDoc, cases.DocSigner{Field: f.Name, Role: f.Role, SubjectKind: "platform", Name: "Parley"})
	}
	title := "签署完成证明"
	if doc.Lang == "en" {
		title = "Certificate of Completion"
	}
	cd, err := d.store.CreateDocument(ctx, cases.System, cases.NewDocument{ID: comp.DocumentID, CaseID: c.ID, ParentID: doc.ID, Kind: cases.DocCompletion,
		Title: title, Lang: doc.Lang, Content: map[string]any{"document_id": doc.ID, "sha256": rep.SHA256}, Signers: signersDoc, Pages: gen.Pages, PDF: gen.PDF})
	if err != nil {
		return nil, err
	}
	for _, f := range gen.Fields {
		if cd, err = d.serverSign(ctx, cd.ID, f.Name, d.platform, "Parley", signing.RolePlatform, "签署完成证明", false, nil); err != nil {
			return nil, err
		}
	}
	return cd, nil
}

// serverSign adds a signature with a server-held key (a seal, the court, the platform).
func (d *docSigner) serverSign(ctx context.Context, docID, field string, kp *signing.KeyPair, name, role, reason string, seal bool, newField *signing.NewField) (*cases.Document, error) {
	val, err := d.validation()
	if err != nil {
		return nil, err
	}
	out, _, err := d.store.AppendVersion(ctx, docID, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
		if _, done := locked.Signed()[field]; done {
			return nil, cases.Errorf(cases.ECONFLICT, "field %s is already signed", field)
		}
		pdf, err := signing.Sign(ctx, current, signing.Request{
			Field: field, NewField: newField, Cert: kp.Cert, Chain: kp.Chain, Time: d.now(), Validation: val, Reason: reason, Location: "Parley 在线调解平台",
			Appearance: signing.Appearance{Name: name, Role: map[bool]string{true: "调解专用章", false: roleLabel(role, locked.Lang)}[seal], Seal: seal, Font: d.font, Lang: locked.Lang, Zone: d.zone},
		}, kp.Key, d.tsa)
		if err != nil {
			return nil, err
		}
		if pdf, err = d.makeLTA(ctx, pdf); err != nil {
			return nil, err
		}
		evType := map[string]string{signing.RoleOrganisation: "document.sealed", signing.RoleCourt: "document.court_signed"}[role]
		if evType == "" {
			evType = "document.signed"
		}
		return &cases.NewVersion{PDF: pdf, Field: field, SignerKind: role, SignerID: "", SignerName: name, SignerRole: role, CertSHA256: sha256Hex(kp.Cert.Raw),
			IdentityMethod: "server-held key", EventType: evType, Actor: cases.System}, nil
	})
	return out, err
}

func handleSeal(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		d, c, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rel := cases.Relations(p, c)
		if !slices.Contains(rel, cases.WhoOrgAdmin) && !slices.Contains(rel, cases.WhoMediator) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "the organisation's seal is affixed by its admin or the case's mediator"))
			return
		}
		var field *cases.DocSigner
		for i, s := range d.Signers {
			if s.SubjectKind == "organisation" {
				field = &d.Signers[i]
			}
		}
		if field == nil {
			fail(w, r, a.log, cases.Errorf(cases.EUNPROCESSABLE, "this document has no seal field"))
			return
		}
		if d.Status != cases.DocSigning {
			fail(w, r, a.log, cases.Errorf(cases.ECONFLICT, "the document is %s", d.Status))
			return
		}
		signed := d.Signed()
		for _, s := range d.Signers {
			if _, ok := signed[s.Field]; !ok && s.SubjectKind != "organisation" {
				fail(w, r, a.log, cases.Errorf(cases.ECONFLICT, "the seal comes after the parties and the mediator: %s has not signed yet", s.Name))
				return
			}
		}
		kp, err := a.docs.sealKey(r.Context(), c.OrganisationID, c.OrganisationName, signing.RoleOrganisation)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.docs.serverSign(r.Context(), d.ID, field.Field, kp, c.OrganisationName, signing.RoleOrganisation, "调解组织确认", true, nil)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.afterSignature(r.Context(), out)
		encode(w, http.StatusOK, describeDocument(p, out))
	})
}

// courtSign adds the court's signature to a case's signed agreement when the judge confirms it (司法确认).
// It is idempotent: an agreement the court already signed is left as it is.
func (a *app) courtSign(ctx context.Context, c *cases.Case) error {
	docs, err := a.store.Documents(ctx, c.ID)
	if err != nil {
		return err
	}
	for i := range docs {
		d := &docs[i]
		if d.Kind != cases.DocAgreement || d.Status != cases.DocComplete {
			continue
		}
		if _, done := d.Signed()["sig-court"]; done {
			return nil
		}
		kp, err := a.docs.sealKey(ctx, c.CourtID, c.CourtName, signing.RoleCourt)
		if err != nil {
			return err
		}
		_, err = a.docs.serverSign(ctx, d.ID, "sig-court", kp, c.CourtName, signing.RoleCourt, "司法确认", false, &signing.NewField{Page: d.Pages})
		return err
	}
	return nil
}

type verifyResponse struct {
	Report   *signing.Report `json:"report"`
	Known    bool            `json:"known"` // the file is a version Parley stores
	Document string          `json:"document_id,omitempty"`
	Version  int             `json:"version,omitempty"`
	Latest   int             `json:"latest_version,omitempty"`
}

func handleVerify(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "verify:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many verifications from your address: wait a minute"))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/pdf") && !strings.HasPrefix(ct, "application/octet-stream") {
			fail(w, r, a.log, &cases.Error{Code: "unsupported_media", Message: "send the PDF itself as the body, with Content-Type: application/pdf"})
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, a.cfg.MaxPDFBytes+1))
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "could not read the upload"))
			return
		}
		if int64(len(data)) > a.cfg.MaxPDFBytes {
			fail(w, r, a.log, &cases.Error{Code: "too_large", Message: fmt.Sprintf("the file is larger than %d bytes", a.cfg.MaxPDFBytes)})
			return
		}
		out, err := a.docs.verify(r.Context(), data)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

func (d *docSigner) verify(ctx context.Context, data []byte) (*verifyResponse, error) {
	rep, err := signing.Verify(data, d.roots(), d.now())
	if err != nil {
		switch {
		case errors.Is(err, signing.ErrNotPDF):
			return nil, cases.Errorf(cases.EUNPROCESSABLE, "the file is not a PDF")
		case errors.Is(err, signing.ErrEncrypted):
			return nil, cases.Errorf(cases.EUNPROCESSABLE, "the PDF is encrypted; Parley's documents never are")
		}
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the PDF could not be read: %v", err)
	}
	out := &verifyResponse{Report: rep}
	sum := sha256.Sum256(data)
	if id, v, ok, err := d.store.VersionBySHA256(ctx, sum[:]); err != nil {
		return nil, err
	} else if ok {
		out.Known, out.Document, out.Version = true, id, v
		if doc, err := d.store.Document(ctx, id); err == nil {
			out.Latest = doc.CurrentVersion
		}
	}
	return out, nil
}

// publicDocument is what anyone holding a document's QR code may learn about it: not its content, only
// whether a file in their hands is a genuine version.
type publicDocument struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Status   string          `json:"status"`
	Versions []publicVersion `json:"versions"`
}

type publicVersion struct {
	Version   int       `json:"version"`
	SHA256    string    `json:"sha256"`
	Role      string    `json:"signer_role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func handlePublicDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := a.store.Document(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := publicDocument{ID: d.ID, Kind: d.Kind, Status: d.Status, Versions: []publicVersion{}}
		for _, v := range d.Versions {
			out.Versions = append(out.Versions, publicVersion{Version: v.Version, SHA256: v.SHA256, Role: v.SignerRole, CreatedAt: v.CreatedAt})
		}
		encode(w, http.StatusOK, out)
	})
}

func handleRootCert(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="parley-root-ca.pem"`)
		for _, c := range a.docs.ca.Chain() {
			w.Write(pemCert(c))
		}
	})
}

func handleCRL(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		crl, err := a.docs.currentCRL()
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Write(crl)
	})
}

func handleTSA(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.docs.local == nil {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "this server uses an external timestamp authority (%s)", a.cfg.TSAURL))
			return
		}
		if !a.allowTSA(r.Context(), a.clientIP(r)) {
			w.Header().Set("Retry-After", "60")
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many timestamp requests from your address: try again in a minute"))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/timestamp-query" {
			fail(w, r, a.log, &cases.Error{Code: "unsupported_media", Message: "send an RFC 3161 request with Content-Type: application/timestamp-query"})
			return
		}
		req, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "could not read the request"))
			return
		}
		resp, err := a.docs.local.Respond(req)
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "not a timestamp request: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	})
}

func pemEncode(typ string, der []byte) []byte {
	var b strings.Builder
	b.WriteString("-----BEGIN " + typ + "-----\n")
	enc := base64.StdEncoding.EncodeToString(der)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END " + typ + "-----\n")
	return []byte(b.String())
}
