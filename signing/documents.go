package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Roles of signers and participants.
const (
	RoleApplicant    = "applicant"
	RoleRespondent   = "respondent"
	RoleAgent        = "agent"
	RoleMediator     = "mediator"
	RoleOrganisation = "organisation"
	RoleJudge        = "judge"
	RoleClerk        = "clerk"
	RoleCourt        = "court"
	RolePlatform     = "platform"
	RoleOther        = "other"
)

// Meta is what every generated document carries.
type Meta struct {
	DocumentID    string    // Parley's document ID, printed in the footer and encoded in the QR code
	CaseNumber    string    // printed on every page
	RefLabel      string    // printed before CaseNumber in the header instead of 案号： (a report names its period there)
	Court         string    // the referring court
	VerifyBaseURL string    // e.g. https://parley.example.cn; the QR code links to <base>/verify?doc=<id>
	Lang          string    // "zh" (default) or "en"
	Created       time.Time // document date (PDF info and dates in the text); fixed clocks give identical bytes
}

func (m Meta) verifyURL() string {
	if m.VerifyBaseURL == "" || m.DocumentID == "" {
		return ""
	}
	return strings.TrimRight(m.VerifyBaseURL, "/") + "/verify?doc=" + url.QueryEscape(m.DocumentID)
}

func (m Meta) check(what string) error {
	if strings.TrimSpace(m.DocumentID) == "" {
		return fmt.Errorf("signing: %s: document ID is empty", what)
	}
	if strings.TrimSpace(m.CaseNumber) == "" {
		return fmt.Errorf("signing: %s: case number is empty", what)
	}
	if m.Lang != "" && m.Lang != "zh" && m.Lang != "en" {
		return fmt.Errorf("signing: %s: language %q, want zh or en", what, m.Lang)
	}
	return nil
}

// Field is a signature field prepared in a generated document.
type Field struct {
	Name   string // stable field name, e.g. sig-applicant-1; pass it as Request.Field
	Role   string // Role* constant of the expected signer
	Signer string // who is expected to sign (a party's agent signs for a company)
	Party  int    // index into Agreement.Parties or SessionRecord.Participants; -1 otherwise
	Page   int    // 1-based
	Rect   Rect
}

// Document is a generated, unsigned PDF.
type Document struct {
	PDF    []byte
	SHA256 string // hex SHA-256 of PDF
	Pages  int
	Fields []Field
	// Court is the declared, empty field of the court's judicial-confirmation stamp (CourtField, CourtStampRect on
	// the last page) of an agreement or confirmation sheet whose Meta names a court; nil otherwise. It is not one
	// of Fields (nobody signs it to complete the document): the court fills it when it confirms, so confirmation
	// fills a field the unsigned document declared instead of adding one (which a verifier must treat as a
	// modification).
	Court *Field
	// PageCodes is the check code printed in the footer of each page (see pageCheckCode).
	PageCodes []string
}

// CourtField is the name of the court's confirmation field that agreements and confirmation sheets declare.
const CourtField = "sig-court"

// Generator renders documents with one font.
type Generator struct {
	Font *Font

	court bool // the document being rendered declares the court's field (set by Agreement and ConfirmationSheet)
}

// PartyKind tells a person from a company.
type PartyKind string

// Party kinds.
const (
	Person  PartyKind = "person"
	Company PartyKind = "company"
)

// Agent is a party's authorised agent (lawyer or employee).
type Agent struct {
	Name      string
	Firm      string // e.g. 北京某某律师事务所
	Authority string // AuthorityGeneral (一般授权) or AuthoritySpecial (特别授权, needed to settle); empty: not stated
}

// Scopes of an agent's authority (CPL Art. 62: settling needs special authority).
const (
	AuthorityGeneral = "general" // 一般授权
	AuthoritySpecial = "special" // 特别授权
)

// Sexes of an individual party.
const (
	SexMale   = "male"
	SexFemale = "female"
)

// Referral kinds: how the court sent the case to mediation.
const (
	ReferralDelegated = "delegated" // 委派, before filing
	ReferralEntrusted = "entrusted" // 委托, after filing
)

// normAuthority accepts the constants and their Chinese names.
func normAuthority(s string) (string, bool) {
	switch strings.TrimSpace(s) {
	case "":
		return "", true
	case AuthorityGeneral, "一般授权", "一般代理":
		return AuthorityGeneral, true
	case AuthoritySpecial, "特别授权", "特别代理":
		return AuthoritySpecial, true
	}
	return "", false
}

// Party is an applicant or respondent.
type Party struct {
	Role           string // RoleApplicant or RoleRespondent
	Kind           PartyKind
	Name           string
	IDNumber       string    // identity card number, or the unified social credit code of a company
	Address        string    // 住所 of a company, 住址 of an individual
	Sex            string    // SexMale or SexFemale; individuals only, optional
	Birth          time.Time // date of birth; individuals only, optional
	Representative string    // legal representative of a company
	Agent          *Agent    // signs for the party when set
	Field          string    // signature field name; default sig-<role>-<n>
	// SealImage is a company's seal as the picture (PNG or JPEG) it uploaded with its letter of authority. It
	// is printed beside the signature of the person who signs for the company, captioned as an image: it is
	// not a digital seal and nothing signs with it.
	SealImage []byte
}

// Installment is one step of the performance schedule.
type Installment struct {
	Amount int64 // in fen (0.01 CNY)
	Due    time.Time
	Method string // e.g. 银行转账至申请人指定账户
	Payer  string
	Payee  string
}

// Agreement is the input of a mediation agreement (调解协议).
type Agreement struct {
	Meta
	Title        string // default 调解协议书 / Mediation Agreement
	Cause        string // 案由, the cause of action, e.g. 侵害发明专利权纠纷
	Referral     string // ReferralDelegated (委派) or ReferralEntrusted (委托) when Court referred the case
	Organisation string // mediation organisation; gets a seal field when set
	Mediators    []string
	Parties      []Party
	Facts        string   // paragraphs separated by newlines
	Issues       []string // 争议焦点
	Terms        []string // agreed terms, numbered in order
	Schedule     []Installment
	OtherClauses []string // after the effect clause
}

func (l *layout) finish() (*Document, error) {
	if l.err != nil {
		return nil, fmt.Errorf("signing: render: %w", l.err)
	}
	l.closePage()
	pdf, err := l.pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("signing: render: %w", err)
	}
	return &Document{PDF: pdf, Pages: l.page, Fields: l.fields, PageCodes: l.hashes}, nil
}

// render runs draw twice (the first pass counts pages), then adds the signature fields.
func (g *Generator) render(meta Meta, title string, draw func(l *layout) error) (*Document, error) {
	if g == nil || g.Font == nil {
		return nil, errors.New("signing: generator has no font")
	}
	total := 0
	var doc *Document
	var codes []string
	for pass := 0; pass < 2; pass++ {
		l, err := newLayout(g.Font, meta, title, total, codes)
		if err != nil {
			return nil, err
		}
		if err := draw(l); err != nil {
			return nil, err
		}
		if doc, err = l.finish(); err != nil {
			return nil, err
		}
		total, codes = doc.Pages, doc.PageCodes
	}
	seen := map[string]bool{}
	for _, f := range doc.Fields {
		if err := validFieldName(f.Name); err != nil {
			return nil, err
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("signing: duplicate signature field name %q", f.Name)
		}
		seen[f.Name] = true
	}
	all := doc.Fields
	if g.court && meta.Court != "" {
		doc.Court = &Field{Name: CourtField, Role: RoleCourt, Signer: meta.Court, Party: -1, Page: doc.Pages, Rect: CourtStampRect()}
		if seen[CourtField] {
			return nil, fmt.Errorf("signing: duplicate signature field name %q", CourtField)
		}
		all = append(all[:len(all):len(all)], *doc.Court)
	}
	withFields, err := addFields(doc.PDF, all, meta.DocumentID, labelsFor(meta.Lang), infoDict(title, meta))
	if err != nil {
		return nil, err
	}
	doc.PDF = withFields
	sum := sha256.Sum256(doc.PDF)
	doc.SHA256 = hex.EncodeToString(sum[:])
	return doc, nil
}

// infoDict is the document information dictionary: gopdf writes it directly into the first trailer, which
// an incremental update cannot refer to, so addFields writes it again as an indirect object that every later
// trailer (signatures, validation data, document timestamps) names.
func infoDict(title string, meta Meta) string {
	created := pdfDate(meta.Created)
	return fmt.Sprintf("<< /Title %s /Subject %s /Creator (Parley) /Producer (Parley \\(gopdf\\)) /CreationDate %s /ModDate %s >>",
		pdfTextString(title), pdfTextString(meta.CaseNumber), created, created)
}

// addFields appends an incremental update with one empty signature field per Field, an AcroForm, the
// document information dictionary and a file ID.
func addFields(pdf []byte, fields []Field, docID string, lab labels, info string) ([]byte, error) {
	d, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	pages, err := d.pages()
	if err != nil {
		return nil, err
	}
	u := newUpdate(d)
	id := sha256.Sum256([]byte("parley-document:" + docID))
	u.id = [2][]byte{id[:16], id[:16]}
	if info != "" {
		r := u.add([]byte(info))
		u.info = &r
	}
	annots := map[int]types.Array{}
	var refs types.Array
	for _, f := range fields {
		if f.Page < 1 || f.Page > len(pages) {
			return nil, fmt.Errorf("signing: field %s on page %d of %d", f.Name, f.Page, len(pages))
		}
		tip := lab.roleName(f.Role)
		if f.Signer != "" {
			tip += " " + f.Signer
		}
		r := u.add([]byte(fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /TU %s /Rect %s /P %s /F 4 >>",
			pdfTextString(f.Name), pdfTextString(tip), f.Rect.pdf(), pages[f.Page-1])))
		annots[f.Page-1] = append(annots[f.Page-1], r.pdf())
		refs = append(refs, r.pdf())
	}
	for i, p := range pages {
		if len(annots[i]) == 0 {
			continue
		}
		pd := d.dict(p.pdf()).Clone().(types.Dict)
		if _, ok := pd["Annots"]; ok {
			return nil, errors.New("signing: generated page already has annotations") // gopdf writes none
		}
		pd["Annots"] = annots[i]
		u.setObject(p, pd)
	}
	form := u.add([]byte(fmt.Sprintf("<< /Fields %s /SigFlags 3 >>", refs.PDFString())))
	cat := d.catalog().Clone().(types.Dict)
	if _, ok := cat["AcroForm"]; ok {
		return nil, errors.New("signing: generated document already has a form")
	}
	cat["AcroForm"] = form.pdf()
	u.setObject(d.root, cat)
	out, _ := u.bytes()
	return append(pdf[:len(pdf):len(pdf)], out...), nil
}

func (a *Agreement) check() error {
	if err := a.Meta.check("agreement"); err != nil {
		return err
	}
	if len(a.Parties) < 2 {
		return errors.New("signing: agreement: at least two parties are needed")
	}
	for i, p := range a.Parties {
		if strings.TrimSpace(p.Name) == "" {
			return fmt.Errorf("signing: agreement: party %d has no name", i+1)
		}
		if p.Role != RoleApplicant && p.Role != RoleRespondent {
			return fmt.Errorf("signing: agreement: party %d role %q, want applicant or respondent", i+1, p.Role)
		}
		if p.Sex != "" && p.Sex != SexMale && p.Sex != SexFemale {
			return fmt.Errorf("signing: agreement: party %d sex %q, want male or female", i+1, p.Sex)
		}
		if p.Agent != nil {
			if _, ok := normAuthority(p.Agent.Authority); !ok {
				return fmt.Errorf("signing: agreement: party %d agent authority %q, want general or special", i+1, p.Agent.Authority)
			}
		}
		if err := p.checkSealImage(); err != nil {
			return fmt.Errorf("signing: agreement: party %d: %w", i+1, err)
		}
	}
	if a.Referral != "" && a.Referral != ReferralDelegated && a.Referral != ReferralEntrusted {
		return fmt.Errorf("signing: agreement: referral %q, want delegated or entrusted", a.Referral)
	}
	if len(a.Terms) == 0 {
		return errors.New("signing: agreement: no agreed terms")
	}
	if len(a.Mediators) == 0 {
		return errors.New("signing: agreement: no mediator")
	}
	return nil
}

// signatureSubject names the agreement on a signature page: the applicants "与" the respondents, the cause of
// action and the title, e.g. 北京星云科技有限公司与李四侵害发明专利权纠纷调解协议书.
func (a *Agreement) signatureSubject(lab labels, title string) string {
	var app, resp []string
	for _, p := range a.Parties {
		if p.Role == RoleApplicant {
			app = append(app, p.Name)
		} else {
			resp = append(resp, p.Name)
		}
	}
	and, list := "与", "、"
	if lab.lang == "en" {
		return "the " + strings.ToLower(title) + " between " + strings.Join(app, ", ") + " and " + strings.Join(resp, ", ") + " (" + a.CaseNumber + ")"
	}
	return strings.Join(app, list) + and + strings.Join(resp, list) + a.Cause + title
}

// partyFields assigns default field names sig-<role>-<n>.
func defaultFieldName(explicit, role string, counts map[string]int) string {
	counts[role]++
	if explicit != "" {
		return explicit
	}
	if role == RoleOrganisation || role == RolePlatform || role == RoleCourt {
		return "sig-" + role
	}
	return fmt.Sprintf("sig-%s-%d", role, counts[role])
}

// Agreement renders a mediation agreement with one empty signature field per party, per mediator and, when
// Organisation is set, for the organisation's seal (sig-organisation).
func (g *Generator) Agreement(a *Agreement) (*Document, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	lab := labelsFor(a.Lang)
	title := a.Title
	if title == "" {
		title = lab.agreementTitle
	}
	gc := *g
	gc.court = true
	return gc.render(a.Meta, title, func(l *layout) error {
		l.titleBlock(title, a.CaseNumber)
		if a.Cause != "" {
			l.field(lab.cause, a.Cause)
		}
		l.heading(lab.enumerate(1) + lab.parties)
		for _, p := range a.Parties {
			l.field(lab.roleName(p.Role)+lab.colon, p.Name)
			ind := l.width("　　", sizeBody)
			id := lab.idPerson
			if p.Kind == Company {
				id = lab.idCompany
			}
			if p.Kind != Company && (p.Sex != "" || !p.Birth.IsZero()) {
				var parts []string
				if p.Sex != "" {
					parts = append(parts, lab.sex+map[string]string{SexMale: lab.male, SexFemale: lab.female}[p.Sex])
				}
				if !p.Birth.IsZero() {
					parts = append(parts, lab.birth+lab.date(p.Birth))
				}
				l.para(strings.Join(parts, lab.comma()), sizeBody, ind, 0)
			}
			if p.IDNumber != "" {
				l.para(id+p.IDNumber, sizeBody, ind, 0)
			}
			if p.Address != "" {
				addr := lab.address // 住所 (a company's domicile)
				if p.Kind != Company {
					addr = lab.addressPerson // 住址
				}
				l.para(addr+p.Address, sizeBody, ind, l.width(addr, sizeBody))
			}
			if p.Representative != "" {
				l.para(lab.legalRep+p.Representative, sizeBody, ind, 0)
			}
			if p.Agent != nil {
				s := lab.agent + p.Agent.Name
				if p.Agent.Firm != "" {
					s += lab.comma() + p.Agent.Firm
				}
				l.para(s, sizeBody, ind, l.width(lab.agent, sizeBody))
				if auth, _ := normAuthority(p.Agent.Authority); auth != "" {
					l.para(lab.authority+map[string]string{AuthorityGeneral: lab.authGeneral, AuthoritySpecial: lab.authSpecial}[auth], sizeBody, ind+l.width(lab.agent, sizeBody), 0)
				}
			}
			l.space(3)
		}
		if a.Court != "" {
			label := lab.court
			switch a.Referral {
			case ReferralDelegated:
				label = lab.courtDelegated
			case ReferralEntrusted:
				label = lab.courtEntrusted
			}
			l.field(label, a.Court)
		}
		if a.Organisation != "" {
			l.field(lab.organisation, a.Organisation)
		}
		l.field(lab.mediators, strings.Join(a.Mediators, lab.sep))
		n := 2
		if strings.TrimSpace(a.Facts) != "" {
			l.heading(lab.enumerate(n) + lab.facts)
			l.para(a.Facts, sizeBody, 0, 0)
			n++
		}
		if len(a.Issues) > 0 {
			l.heading(lab.enumerate(n) + lab.issues)
			l.numbered(a.Issues, func(i int) string { return fmt.Sprintf("%d. ", i) })
			n++
		}
		l.heading(lab.enumerate(n) + lab.terms)
		n++
		l.para(lab.termsIntro, sizeBody, 0, 0)
		l.numbered(a.Terms, func(i int) string { return fmt.Sprintf("%d. ", i) })
		if len(a.Schedule) > 0 {
			l.heading(lab.enumerate(n) + lab.schedule)
			n++
			var rows [][]string
			for i, in := range a.Schedule {
				rows = append(rows, []string{fmt.Sprint(i + 1), lab.money(in.Amount), lab.date(in.Due), in.Method, in.Payer, in.Payee})
			}
			l.table([]string{lab.installment, lab.amount, lab.due, lab.method, lab.payer, lab.payee},
				[]float64{0.08, 0.19, 0.16, 0.27, 0.15, 0.15}, rows, sizeSmall+0.5)
		}
		l.heading(lab.enumerate(n) + lab.otherClauses)
		n++
		clauses := append([]string{lab.effectClause}, a.OtherClauses...)
		l.numbered(clauses, func(i int) string { return fmt.Sprintf("%d. ", i) })
		// From here on a new page holds signatures only: it says so, and whose agreement it belongs to.
		l.sigNote = lab.sigPageNote(a.signatureSubject(lab, title))
		l.heading(lab.enumerate(n) + lab.signatures)
		counts := map[string]int{}
		for i, p := range a.Parties {
			l.partySignature(defaultFieldName(p.Field, p.Role, counts), p, i)
		}
		for _, m := range a.Mediators {
			name := defaultFieldName("", RoleMediator, counts)
			l.signatureBlock(name, RoleMediator, m, -1, []string{lab.roleName(RoleMediator) + lab.colon + m + lab.sign})
		}
		if a.Organisation != "" {
			name := defaultFieldName("", RoleOrganisation, counts)
			l.signatureBlock(name, RoleOrganisation, a.Organisation, -1, l.font.wrap(lab.organisation+a.Organisation+lab.seal, contentW-sigBoxW-20, sizeBody))
		}
		if !a.Created.IsZero() {
			l.ensure(sizeBody * 2)
			l.space(4)
			d := lab.date(a.Created)
			l.text(pageW-marginR-l.width(d, sizeBody), l.y, sizeBody, d)
			l.space(sizeBody * 1.8)
		}
		return nil
	})
}

// Participant is a person in a mediation session.
type Participant struct {
	Name        string
	Role        string // Role* constant
	RoleLabel   string // shown instead of the role name when set, e.g. 被申请人北京某某科技有限公司的委托代理人
	Attends     string // e.g. 视频 (video), 语音 (voice), 文字 (text)
	NoSignature bool   // no signature field (e.g. a judge who only dropped in)
	Field       string // signature field name; default sig-<role>-<n>
}

// IdentityCheck records how a participant's identity was verified before the session (OMR Art. 17).
type IdentityCheck struct {
	Participant string
	Method      string // e.g. 人脸识别 + 身份证件比对
	Result      string // e.g. 通过
	By          string // e.g. 调解员王五, or the platform
	At          time.Time
}

// Attendance is one stay of a participant in the session.
type Attendance struct {
	Participant string
	Joined      time.Time
	Left        time.Time // zero if still present when the record was closed
}

// Statement is one entry of the mediator's record.
type Statement struct {
	Speaker string // empty for the mediator's own notes
	Text    string
}

// RecordSection is a titled part of the record of the session.
type RecordSection struct {
	Heading    string
	Statements []Statement
}

// SessionRecord is the input of a session record (调解笔录).
type SessionRecord struct {
	Meta
	Title          string // default 调解笔录 / Record of Mediation Session
	Organisation   string
	Start, End     time.Time
	Place          string // default: online
	Participants   []Participant
	IdentityChecks []IdentityCheck
	Attendance     []Attendance
	Sections       []RecordSection
	ConfirmedFacts []string
	// Recordings are the session's recorded files (issue 14), listed with their SHA-256.
	Recordings []RecordedFile
}

// RecordedFile is one recorded track of a session, as the record lists it.
type RecordedFile struct {
	Participant string
	Kind        string // shown as given
	Start       time.Time
	Duration    time.Duration
	SHA256      string // hex
}

func (r *SessionRecord) check() error {
	if err := r.Meta.check("session record"); err != nil {
		return err
	}
	if len(r.Participants) == 0 {
		return errors.New("signing: session record: no participants")
	}
	for i, p := range r.Participants {
		if strings.TrimSpace(p.Name) == "" || p.Role == "" {
			return fmt.Errorf("signing: session record: participant %d needs a name and a role", i+1)
		}
	}
	if r.Start.IsZero() {
		return errors.New("signing: session record: no start time")
	}
	return nil
}

// SessionRecord renders a session record with a signature field for every participant except those marked
// NoSignature.
func (g *Generator) SessionRecord(r *SessionRecord) (*Document, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	lab := labelsFor(r.Lang)
	title := r.Title
	if title == "" {
		title = lab.recordTitle
	}
	role := func(p Participant) string {
		if p.RoleLabel != "" {
			return p.RoleLabel
		}
		return lab.roleName(p.Role)
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return lab.dateTime(t)
	}
	return g.render(r.Meta, title, func(l *layout) error {
		l.titleBlock(title, r.CaseNumber)
		when := stamp(r.Start)
		if !r.End.IsZero() {
			when += " — " + stamp(r.End)
		}
		l.field(lab.recordTime, when)
		place := r.Place
		if place == "" {
			place = lab.online
		}
		l.field(lab.recordPlace, place)
		if r.Court != "" {
			l.field(lab.court, r.Court)
		}
		if r.Organisation != "" {
			l.field(lab.organisation, r.Organisation)
		}
		n := 1
		l.heading(lab.enumerate(n) + lab.participants)
		n++
		var rows [][]string
		for _, p := range r.Participants {
			rows = append(rows, []string{p.Name, role(p), p.Attends})
		}
		l.table([]string{lab.name, lab.role, lab.attends}, []float64{0.3, 0.5, 0.2}, rows, sizeSmall+0.5)
		if len(r.IdentityChecks) > 0 {
			l.heading(lab.enumerate(n) + lab.identity)
			n++
			rows = nil
			for _, c := range r.IdentityChecks {
				rows = append(rows, []string{c.Participant, c.Method, c.Result, c.By, stamp(c.At)})
			}
			l.table([]string{lab.name, lab.checkMethod, lab.checkResult, lab.checkBy, lab.checkAt},
				[]float64{0.16, 0.3, 0.1, 0.16, 0.28}, rows, sizeSmall)
		}
		if len(r.Attendance) > 0 {
			l.heading(lab.enumerate(n) + lab.attendance)
			n++
			rows = nil
			for _, a := range r.Attendance {
				rows = append(rows, []string{a.Participant, stamp(a.Joined), stamp(a.Left)})
			}
			l.table([]string{lab.name, lab.joined, lab.left}, []float64{0.3, 0.35, 0.35}, rows, sizeSmall)
		}
		if len(r.Recordings) > 0 {
			l.heading(lab.enumerate(n) + lab.recordings)
			n++
			rows = nil
			for _, f := range r.Recordings {
				h := f.SHA256
				if len(h) == 64 { // two lines of 32, so that a narrow column wraps it
					h = h[:32] + " " + h[32:]
				}
				rows = append(rows, []string{f.Participant, f.Kind, stamp(f.Start), f.Duration.Round(time.Second).String(), h})
			}
			l.table([]string{lab.name, lab.recKind, lab.recStart, lab.recDuration, lab.recHash},
				[]float64{0.17, 0.09, 0.22, 0.1, 0.42}, rows, sizeSmall)
		}
		if len(r.Sections) > 0 {
			l.heading(lab.enumerate(n) + lab.proceedings)
			n++
			for _, s := range r.Sections {
				if s.Heading != "" {
					l.ensure(sizeBody * 4)
					l.space(2)
					l.para(s.Heading, sizeBody+0.5, 0, 0)
				}
				for _, st := range s.Statements {
					prefix := ""
					if st.Speaker != "" {
						prefix = st.Speaker + lab.colon
					}
					l.para(prefix+st.Text, sizeBody, 0, l.width(prefix, sizeBody))
				}
			}
		}
		if len(r.ConfirmedFacts) > 0 {
			l.heading(lab.enumerate(n) + lab.confirmedFacts)
			n++
			l.numbered(r.ConfirmedFacts, func(i int) string { return fmt.Sprintf("%d. ", i) })
		}
		l.space(6)
		l.para(lab.recordClose, sizeBody, 0, 0)
		subject := r.CaseNumber + title
		if lab.lang == "en" {
			subject = "the " + strings.ToLower(title) + " of case " + r.CaseNumber
		}
		l.sigNote = lab.sigPageNote(subject)
		l.heading(lab.enumerate(n) + lab.signatures)
		counts := map[string]int{}
		for i, p := range r.Participants {
			if p.NoSignature {
				continue
			}
			name := defaultFieldName(p.Field, p.Role, counts)
			l.signatureBlock(name, p.Role, p.Name, i, l.font.wrap(role(p)+lab.colon+p.Name+lab.sign, contentW-sigBoxW-20, sizeBody))
		}
		return nil
	})
}

// CompletionSigner is one line of a completion certificate.
type CompletionSigner struct {
	Name           string
	Role           string // shown as given (Role* constants are translated)
	Field          string
	IdentityMethod string // from the case: how the signer's identity was checked
	SignedAt       time.Time
	TimestampAt    time.Time
	CertSHA256     string // hex fingerprint of the signer's certificate
}

// AuditEvent is one line of the audit trail printed on a completion certificate.
type AuditEvent struct {
	At   time.Time
	Text string
}

// Completion is the input of a completion certificate: a separate PDF, signed by the platform, that lists who
// signed a document, how, when and with which certificate, and the document's final SHA-256.
type Completion struct {
	Meta                       // DocumentID is the certificate's own ID
	Title            string    // default 签署完成证明 / Certificate of Completion
	DocumentTitle    string    // title of the signed document
	SignedDocumentID string    // ID of the signed document
	DocumentSHA256   string    // hex SHA-256 of its final version
	DocumentPages    int       // pages of the signed document
	Completed        time.Time // when the last signature was added
	Signers          []CompletionSigner
	Events           []AuditEvent
}

// CompletionSigners fills the signer lines from a verification report; add IdentityMethod from the case.
func CompletionSigners(r *Report) []CompletionSigner {
	var out []CompletionSigner
	for _, s := range r.Signatures {
		out = append(out, CompletionSigner{
			Name: s.SignerName, Role: s.Role, Field: s.Field, SignedAt: s.SigningTime,
			TimestampAt: s.Timestamp, CertSHA256: s.CertSHA256,
		})
	}
	return out
}

// Completion renders a completion certificate with one signature field, sig-platform, for the platform key.
func (g *Generator) Completion(c *Completion) (*Document, error) {
	if err := c.Meta.check("completion certificate"); err != nil {
		return nil, err
	}
	if c.DocumentSHA256 == "" || len(c.Signers) == 0 {
		return nil, errors.New("signing: completion certificate: document hash and signers are required")
	}
	lab := labelsFor(c.Lang)
	title := c.Title
	if title == "" {
		title = lab.certTitle
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return lab.dateTime(t)
	}
	return g.render(c.Meta, title, func(l *layout) error {
		l.titleBlock(title, c.CaseNumber)
		l.para(lab.certIntro, sizeBody, 0, 0)
		l.space(6)
		hash := c.DocumentSHA256
		if len(hash) == 64 {
			hash = hash[:32] + "\n" + hash[32:]
		}
		l.table([]string{lab.docTitle, c.DocumentTitle}, []float64{0.3, 0.7}, [][]string{
			{strings.TrimSuffix(strings.TrimSuffix(lab.docID, "："), ": "), c.SignedDocumentID},
			{strings.TrimSuffix(strings.TrimSuffix(lab.caseNo, "："), " "), c.CaseNumber},
			{lab.docHash, hash},
			{lab.pageCount, fmt.Sprint(c.DocumentPages)},
			{lab.signerCount, fmt.Sprint(len(c.Signers))},
			{lab.completed, stamp(c.Completed)},
		}, sizeSmall+0.5)
		l.heading(lab.signersHeading)
		var rows [][]string
		for i, s := range c.Signers {
			fp := s.CertSHA256
			if len(fp) == 64 {
				fp = fp[:32] + "\n" + fp[32:]
			}
			ts := s.TimestampAt
			if !ts.IsZero() && !s.SignedAt.IsZero() {
				ts = ts.In(s.SignedAt.Location())
			}
			rows = append(rows, []string{fmt.Sprint(i + 1), s.Name + "\n" + lab.roleName(s.Role), s.IdentityMethod, stamp(s.SignedAt), stamp(ts), fp})
		}
		l.table([]string{"#", lab.signer, lab.idMethod, lab.signedAt, lab.tsAt, lab.certFP},
			[]float64{0.04, 0.2, 0.16, 0.15, 0.15, 0.30}, rows, sizeTiny)
		if len(c.Events) > 0 {
			l.heading(lab.eventsHeading)
			rows = nil
			for _, e := range c.Events {
				rows = append(rows, []string{stamp(e.At), e.Text})
			}
			l.table([]string{lab.eventAt, lab.event}, []float64{0.3, 0.7}, rows, sizeTiny+0.5)
		}
		l.para(lab.certNote, sizeSmall, 0, 0)
		l.space(8)
		l.signatureBlock("sig-platform", RolePlatform, lab.platform, -1, []string{lab.platform})
		return nil
	})
}

// checkSealImage: only a company has a seal picture, and it must be one DecodeSealImage reads.
func (p Party) checkSealImage() error {
	if p.SealImage == nil {
		return nil
	}
	if p.Kind != Company {
		return errors.New("only a company has a seal image")
	}
	_, err := DecodeSealImage(p.SealImage)
	return err
}
