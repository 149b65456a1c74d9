package docflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// Installment is one step of an agreement's payment schedule.
type Installment struct {
	AmountFen int64  `json:"amount_fen"`
	Due       string `json:"due"` // YYYY-MM-DD
	Method    string `json:"method"`
	Payer     string `json:"payer"`
	Payee     string `json:"payee"`
}

// AgreementRequest is what the mediator edits: the agreement's structured, typed terms.
type AgreementRequest struct {
	Lang         string        `json:"lang"` // zh (default) or en
	Facts        string        `json:"facts"`
	Issues       []string      `json:"issues"`
	Terms        []cases.Term  `json:"terms"`
	Schedule     []Installment `json:"schedule"`
	OtherClauses []string      `json:"other_clauses"`
	SigningOrder []string      `json:"signing_order,omitempty"` // fields in the order they must be signed; empty: any order
	// What a court expects an agreement to state beyond what the case records (court.go): the cause of action
	// and each party's details.
	Cause        string        `json:"cause,omitempty"` // 案由; default from the dispute type
	PartyDetails []PartyDetail `json:"party_details,omitempty"`
}

func validLang(f map[string]string, lang string) {
	if lang != "" && lang != "zh" && lang != "en" {
		f["lang"] = "must be zh or en"
	}
}

func validList(f map[string]string, name string, items []string, max int) {
	if len(items) > max {
		f[name] = fmt.Sprintf("at most %d items", max)
	}
	for i, it := range items {
		if strings.TrimSpace(it) == "" || utf8.RuneCountInString(it) > 4000 {
			f[fmt.Sprintf("%s[%d]", name, i)] = "must be 1 to 4000 characters"
		}
	}
}

// Valid reports problems with the request, by field.
func (r AgreementRequest) Valid() map[string]string {
	f := r.validCourtDetails()
	validLang(f, r.Lang)
	if utf8.RuneCountInString(r.Facts) > 20000 {
		f["facts"] = "at most 20000 characters"
	}
	cases.ValidTerms(f, "terms", r.Terms, true)
	validList(f, "issues", r.Issues, 50)
	validList(f, "other_clauses", r.OtherClauses, 50)
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

func termTexts(ts []cases.Term) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Text
	}
	return out
}

func acceptedMediators(c *cases.Case) []cases.MediatorAssignment {
	var out []cases.MediatorAssignment
	for _, m := range c.Mediators {
		if m.Status == cases.AssignAccepted {
			out = append(out, m)
		}
	}
	return out
}

func signingParties(c *cases.Case) []signing.Party {
	var out []signing.Party
	for _, party := range c.Parties {
		sp := signing.Party{Role: string(party.Side), Kind: signing.Person, Name: party.Name, IDNumber: party.IDNumber, Address: party.Address, Representative: party.LegalRep}
		if party.Kind == cases.PartyCompany {
			sp.Kind = signing.Company
		}
		if len(party.Agents) > 0 {
			sp.Agent = &signing.Agent{Name: party.Agents[0].Name, Firm: party.Agents[0].LawFirm}
		}
		out = append(out, sp)
	}
	return out
}

// withSealImages gives each company party of c the seal picture it uploaded with its letter of authority
// (cases.Store.SealImages), printed beside its signature as an image (issue 13 §8). A picture the layout cannot
// read is left out and logged rather than holding up the agreement.
func (s *Service) withSealImages(ctx context.Context, c *cases.Case, parties []signing.Party) ([]signing.Party, error) {
	seals, err := s.Store.SealImages(ctx, c.ID)
	if err != nil || len(seals) == 0 {
		return parties, err
	}
	for i, party := range c.Parties {
		img, ok := seals[party.ID]
		if !ok || i >= len(parties) || parties[i].Kind != signing.Company {
			continue
		}
		if _, err := signing.DecodeSealImage(img); err != nil {
			s.Log.Warn("seal image left out of the agreement", "case_id", c.ID, "party", party.ID, "err", err)
			continue
		}
		parties[i].SealImage = img
	}
	return parties, nil
}

// agreementSigners maps the fields of a generated agreement (or confirmation sheet) to who signs them.
func agreementSigners(c *cases.Case, fields []signing.Field) ([]cases.DocSigner, error) {
	mediators := acceptedMediators(c)
	var signers []cases.DocSigner
	mediatorN := 0
	for _, f := range fields {
		s := cases.DocSigner{Field: f.Name, Role: f.Role, Name: f.Signer}
		switch {
		case (f.Role == signing.RoleApplicant || f.Role == signing.RoleRespondent) && f.Party >= 0 && f.Party < len(c.Parties):
			s.SubjectKind, s.SubjectID, s.Name = cases.SignerParty, c.Parties[f.Party].ID, c.Parties[f.Party].Name
		case f.Role == signing.RoleMediator && mediatorN < len(mediators):
			s.SubjectKind, s.SubjectID = cases.SignerAccount, mediators[mediatorN].AccountID
			mediatorN++
		case f.Role == signing.RoleOrganisation:
			s.SubjectKind, s.SubjectID = cases.SignerOrganisation, c.OrganisationID
		default:
			return nil, fmt.Errorf("docflow: field %s has no signer", f.Name)
		}
		signers = append(signers, s)
	}
	return signers, nil
}

// ordered applies a signing order (device fields only; the seal stays last).
func ordered(signers []cases.DocSigner, order []string) ([]cases.DocSigner, bool, error) {
	if len(order) == 0 {
		return signers, false, nil
	}
	var devices []string
	for _, s := range signers {
		if s.SubjectKind.Device() {
			devices = append(devices, s.Field)
		}
	}
	sorted := slices.Clone(order)
	slices.Sort(sorted)
	want := slices.Clone(devices)
	slices.Sort(want)
	if !slices.Equal(sorted, want) {
		return nil, false, cases.Invalid(map[string]string{"signing_order": "must list each of " + strings.Join(devices, ", ") + " once"})
	}
	out := make([]cases.DocSigner, 0, len(signers))
	for _, f := range order {
		for _, s := range signers {
			if s.Field == f {
				out = append(out, s)
			}
		}
	}
	for _, s := range signers {
		if !s.SubjectKind.Device() {
			out = append(out, s)
		}
	}
	return out, true, nil
}

// CreateAgreement lays out the mediation agreement of case c from the mediator's terms and stores it.
func (s *Service) CreateAgreement(ctx context.Context, p cases.Principal, c *cases.Case, in AgreementRequest) (*cases.Document, error) {
	if err := cases.CheckDraft(p, c); err != nil {
		return nil, err
	}
	if err := cases.Invalid(in.Valid()); err != nil {
		return nil, err
	}
	lang := in.Lang
	if lang == "" {
		lang = "zh"
	}
	parties, err := s.withSealImages(ctx, c, signingParties(c))
	if err != nil {
		return nil, err
	}
	ag := &signing.Agreement{
		Meta: s.meta(c, cases.NewID(), lang), Organisation: c.OrganisationName, Parties: parties,
		Facts: in.Facts, Issues: in.Issues, Terms: termTexts(in.Terms), OtherClauses: in.OtherClauses,
	}
	for _, m := range acceptedMediators(c) {
		ag.Mediators = append(ag.Mediators, m.Name)
	}
	for _, in := range in.Schedule {
		due, _ := time.ParseInLocation("2006-01-02", in.Due, s.Zone)
		ag.Schedule = append(ag.Schedule, signing.Installment{Amount: in.AmountFen, Due: due, Method: in.Method, Payer: in.Payer, Payee: in.Payee})
	}
	if err := applyCourtDetails(ag, c, in, s.Zone); err != nil {
		return nil, err
	}
	doc, err := (&signing.Generator{Font: s.Font}).Agreement(ag)
	if err != nil {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the agreement could not be laid out: %v", err)
	}
	signers, err := agreementSigners(c, doc.Fields)
	if err != nil {
		return nil, err
	}
	signers, isOrdered, err := ordered(signers, in.SigningOrder)
	if err != nil {
		return nil, err
	}
	title := "调解协议书"
	if lang == "en" {
		title = "Mediation Agreement"
	}
	return s.Store.CreateDocument(ctx, p, cases.NewDocument{ID: ag.DocumentID, CaseID: c.ID, Kind: cases.DocAgreement, Title: title, Lang: lang,
		Content: in, Signers: signers, Ordered: isOrdered, Pages: doc.Pages, PDF: doc.PDF})
}

// RecordRequest asks for the session record in a language.
type RecordRequest struct {
	Lang string `json:"lang"`
}

// Valid reports problems with the request, by field.
func (r RecordRequest) Valid() map[string]string {
	f := map[string]string{}
	validLang(f, r.Lang)
	return f
}

// CreateRecord lays out the record of a session and stores it, with a field for each participant who attended
// and signs (parties, agents, mediators).
func (s *Service) CreateRecord(ctx context.Context, p cases.Principal, c *cases.Case, ss *cases.SessionDetail, rec *cases.SessionRecord, lang string) (*cases.Document, error) {
	if err := cases.CheckRecord(p, c); err != nil {
		return nil, err
	}
	if lang == "" {
		lang = "zh"
	}
	if len(ss.Attendance) == 0 {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "nobody attended this session yet: the record lists its participants")
	}
	sr := &signing.SessionRecord{Meta: s.meta(c, cases.NewID(), lang), Organisation: c.OrganisationName}
	if ss.StartedAt != nil {
		sr.Start = ss.StartedAt.In(s.Zone)
	}
	if ss.EndedAt != nil {
		sr.End = ss.EndedAt.In(s.Zone)
	}
	type who struct {
		kind cases.SignerKind
		id   string
	}
	var subjects []who
	seen := map[string]bool{}
	// How each took part (OMR Art. 18): the richest mode over their stays, video > voice > text (a party who
	// joined by voice and came back with a camera attended by video).
	rank := map[string]int{"text": 1, "voice": 2, "video": 3, "": 3}
	mode := map[string]string{}
	for _, at := range ss.Attendance {
		if m, ok := mode[at.ParticipantID]; !ok || rank[at.Mode] > rank[m] {
			mode[at.ParticipantID] = at.Mode
		}
	}
	attends := map[string][2]string{"video": {"视频", "video"}, "": {"视频", "video"}, "voice": {"语音", "voice"}, "text": {"文字", "text"}}
	for _, at := range ss.Attendance {
		end := time.Time{}
		if at.LeftAt != nil {
			end = at.LeftAt.In(s.Zone)
		}
		sr.Attendance = append(sr.Attendance, signing.Attendance{Participant: at.Name, Joined: at.JoinedAt.In(s.Zone), Left: end})
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
			sub = who{cases.SignerParty, at.ParticipantID}
		case "agent":
			part.Role = signing.RoleAgent
			sub = who{cases.SignerAgent, at.ParticipantID}
		case "mediator":
			part.Role = signing.RoleMediator
			sub = who{cases.SignerAccount, at.ParticipantID}
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
	for _, chk := range ss.IdentityChecks {
		res := map[string]string{"passed": "通过", "failed": "未通过"}[chk.Result]
		if lang == "en" {
			res = chk.Result
		}
		sr.IdentityChecks = append(sr.IdentityChecks, signing.IdentityCheck{Participant: chk.Name, Method: IdentityMethodLabel(chk.Method, lang), Result: res, By: chk.CheckedByName, At: chk.At.In(s.Zone)})
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
	recs, err := s.Store.RecordingsOfSession(ctx, ss.ID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, at := range ss.Attendance {
		names[at.ParticipantID] = at.Name
	}
	for _, r := range recs {
		who := names[r.ParticipantID]
		if who == "" {
			who = r.ParticipantID
		}
		kind := map[string]string{"audio": "音频", "video": "视频"}[r.Kind]
		if lang == "en" || kind == "" {
			kind = r.Kind
		}
		sr.Recordings = append(sr.Recordings, signing.RecordedFile{Participant: who, Kind: kind, Start: r.StartedAt.In(s.Zone),
			Duration: time.Duration(r.DurationMS) * time.Millisecond, SHA256: r.SHA256})
	}
	doc, err := (&signing.Generator{Font: s.Font}).SessionRecord(sr)
	if err != nil {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the record could not be laid out: %v", err)
	}
	var signers []cases.DocSigner
	for _, f := range doc.Fields {
		if f.Party < 0 || f.Party >= len(subjects) || subjects[f.Party].kind == "" {
			return nil, fmt.Errorf("docflow: record field %s has no signer", f.Name)
		}
		signers = append(signers, cases.DocSigner{Field: f.Name, Role: f.Role, SubjectKind: subjects[f.Party].kind, SubjectID: subjects[f.Party].id, Name: f.Signer})
	}
	title := "调解笔录"
	if lang == "en" {
		title = "Record of Mediation Session"
	}
	return s.Store.CreateDocument(ctx, p, cases.NewDocument{ID: sr.DocumentID, CaseID: c.ID, SessionID: ss.ID, Kind: cases.DocRecord, Title: title, Lang: lang,
		Content: rec, Signers: signers, Pages: doc.Pages, PDF: doc.PDF})
}

// completion generates and signs (with the platform key) the certificate of completion of a complete document. It
// is idempotent: a certificate already created (by an attempt that died before signing it) is signed, not made
// again, and a signed one is returned as it is.
func (s *Service) completion(ctx context.Context, docID string) (*cases.Document, error) {
	doc, c, err := s.document(ctx, docID)
	if err != nil {
		return nil, err
	}
	if doc.Status != cases.DocComplete {
		return nil, fmt.Errorf("docflow: completion of %s: the document is %s", doc.ID, doc.Status)
	}
	docs, err := s.Store.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var cd *cases.Document
	for i := range docs {
		if docs[i].Kind == cases.DocCompletion && docs[i].ParentID == doc.ID {
			cd = &docs[i]
		}
	}
	if cd == nil {
		if cd, err = s.createCompletion(ctx, c, doc); err != nil {
			return nil, err
		}
		s.hook("completion:created")
	}
	for _, f := range cd.Signers {
		if _, done := cd.Signed()[f.Field]; done {
			continue
		}
		if cd, err = s.serverSign(ctx, cd.ID, f.Field, s.Keys.Platform, "Parley", signing.RolePlatform, "签署完成证明", false, nil); err != nil {
			return nil, err
		}
	}
	return cd, nil
}

func (s *Service) createCompletion(ctx context.Context, c *cases.Case, doc *cases.Document) (*cases.Document, error) {
	final, _, err := s.Store.DocumentPDF(ctx, doc.ID, 0)
	if err != nil {
		return nil, err
	}
	rep, err := signing.Verify(final, s.Keys.Roots(), s.Now())
	if err != nil {
		return nil, err
	}
	signers := signing.CompletionSigners(rep)
	for i := range signers {
		for _, v := range doc.Versions {
			if v.Field == signers[i].Field {
				signers[i].IdentityMethod = IdentityMethodLabel(v.IdentityMethod, doc.Lang)
			}
		}
	}
	evs, err := s.Store.Events(ctx, doc.CaseID)
	if err != nil {
		return nil, err
	}
	var audit []signing.AuditEvent
	for _, e := range evs {
		if id, _ := e.Data["document_id"].(string); id == doc.ID {
			audit = append(audit, signing.AuditEvent{At: e.At.In(s.Zone), Text: fmt.Sprintf("#%d %s %s %v", e.Seq, e.Type, e.ActorName, e.Data["field"])})
		}
	}
	comp := &signing.Completion{
		Meta:          s.meta(c, cases.NewID(), doc.Lang),
		DocumentTitle: doc.Title, SignedDocumentID: doc.ID, DocumentSHA256: rep.SHA256, DocumentPages: doc.Pages, Completed: doc.UpdatedAt.In(s.Zone),
		Signers: signers, Events: audit,
	}
	gen, err := (&signing.Generator{Font: s.Font}).Completion(comp)
	if err != nil {
		return nil, err
	}
	var signersDoc []cases.DocSigner
	for _, f := range gen.Fields {
		signersDoc = append(signersDoc, cases.DocSigner{Field: f.Name, Role: f.Role, SubjectKind: cases.SignerPlatform, Name: "Parley"})
	}
	title := "签署完成证明"
	if doc.Lang == "en" {
		title = "Certificate of Completion"
	}
	return s.Store.CreateDocument(ctx, cases.System, cases.NewDocument{ID: comp.DocumentID, CaseID: c.ID, ParentID: doc.ID, Kind: cases.DocCompletion,
		Title: title, Lang: doc.Lang, Content: map[string]any{"document_id": doc.ID, "sha256": rep.SHA256}, Signers: signersDoc, Pages: gen.Pages, PDF: gen.PDF})
}
