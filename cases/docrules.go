package cases

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The document rules: who may sign which field of a document and when, the signing order, the seal after
// everyone else, the agreement's effect at the last party's signature (OMR Art. 19) and what judicial
// confirmation needs. They are pure functions of the document and the case; docflow runs them before every
// signature and the store runs them again under the row lock.

// SignerKind says who signs a planned signature field.
type SignerKind string

// The kinds of signer.
const (
	SignerParty        SignerKind = "party"        // the party itself or one of its agents, on their own device
	SignerAgent        SignerKind = "agent"        // one agent in person (a session record lists who attended)
	SignerAccount      SignerKind = "account"      // a staff member (a mediator), on their own device
	SignerOrganisation SignerKind = "organisation" // the mediation organisation's seal, a server-held key
	SignerCourt        SignerKind = "court"        // the court's confirmation signature, a server-held key
	SignerPlatform     SignerKind = "platform"     // Parley's platform key (certificates of completion)
)

// Device reports whether the signer signs with a key on their own device (otherwise a server-held key).
func (k SignerKind) Device() bool {
	return k == SignerParty || k == SignerAgent || k == SignerAccount
}

// MaySign reports whether principal p is the planned signer of s.
func MaySign(p Principal, s DocSigner) bool {
	switch s.SubjectKind {
	case SignerParty:
		return p.IsPartySide() && p.PartyID == s.SubjectID
	case SignerAgent:
		return p.Kind == KindAgent && p.ID == s.SubjectID
	case SignerAccount:
		return p.Kind == KindAccount && p.ID == s.SubjectID
	}
	return false
}

// BlockedBy returns the field that must be signed before field f of an ordered document, or "". Seals and other
// server-held signatures are not part of the order: the seal always comes last (SealBlockedBy).
func (d *Document) BlockedBy(f string) string {
	if !d.Ordered {
		return ""
	}
	signed := d.Signed()
	for _, s := range d.Signers {
		if s.Field == f {
			return ""
		}
		if !s.SubjectKind.Device() {
			continue
		}
		if _, ok := signed[s.Field]; !ok {
			return s.Field
		}
	}
	return ""
}

// SignedBy reports whether field was signed by p (a repeated request of a signature that already went in).
func (d *Document) SignedBy(field string, p Principal) bool {
	v, ok := d.Signed()[field]
	return ok && v.SignerKind == string(p.Kind) && v.SignerID == p.ID
}

// IsAgreement reports whether the document is what makes a mediation agreement effective: the agreement drafted
// on Parley, or the confirmation sheet of an agreement signed on paper.
func (d *Document) IsAgreement() bool {
	return d.Kind == DocAgreement || d.Kind == DocConfirmationSheet
}

// PartiesSignedAt returns when the last party signed the document, or nil while a party field is unsigned (or
// the document has no party field).
func (d *Document) PartiesSignedAt() *time.Time {
	signed := d.Signed()
	var last *time.Time
	for _, s := range d.Signers {
		if s.SubjectKind != SignerParty {
			continue
		}
		v, ok := signed[s.Field]
		if !ok {
			return nil
		}
		if last == nil || v.CreatedAt.After(*last) {
			at := v.CreatedAt
			last = &at
		}
	}
	return last
}

// CheckSign applies the rules for a device signature of field by p: the field exists and is p's, the document
// is collecting signatures, an agreement is signed only once mediation ended with one, the field is unsigned and,
// in an ordered document, the fields before it are signed.
func CheckSign(p Principal, c *Case, d *Document, field string) (*DocSigner, error) {
	s := d.Signer(field)
	if s == nil {
		return nil, Invalid(map[string]string{"field": "is not a signature field of this document"})
	}
	if !MaySign(p, *s) {
		return nil, Errorf(EFORBIDDEN, "field %s is for %s to sign", field, s.Name)
	}
	if d.Status != DocSigning {
		return nil, Errorf(ECONFLICT, "the document is %s: nothing more to sign", d.Status)
	}
	if d.IsAgreement() && c.State != StateSigning && c.State != StateSettled {
		return nil, Errorf(ECONFLICT, "the case is %s: the mediator records the agreement (end with agreement_reached) before it is signed", c.State)
	}
	if _, done := d.Signed()[field]; done {
		return nil, Errorf(ECONFLICT, "field %s is already signed", field)
	}
	if b := d.BlockedBy(field); b != "" {
		return nil, Errorf(ECONFLICT, "the mediator set a signing order: %s signs first", d.Signer(b).Name)
	}
	return s, nil
}

// SealField returns the organisation's seal field of a document, or nil.
func (d *Document) SealField() *DocSigner {
	for i := range d.Signers {
		if d.Signers[i].SubjectKind == SignerOrganisation {
			return &d.Signers[i]
		}
	}
	return nil
}

// CheckSeal applies the rules for the organisation's seal: affixed by the organisation's admin or the case's
// mediator, on a document that has a seal field and is collecting signatures, after every other signer.
func CheckSeal(p Principal, c *Case, d *Document) (*DocSigner, error) {
	rel := Relations(p, c)
	if !slices.Contains(rel, WhoOrgAdmin) && !slices.Contains(rel, WhoMediator) {
		return nil, Errorf(EFORBIDDEN, "the organisation's seal is affixed by its admin or the case's mediator")
	}
	field := d.SealField()
	if field == nil {
		return nil, Errorf(EUNPROCESSABLE, "this document has no seal field")
	}
	if d.Status != DocSigning {
		return nil, Errorf(ECONFLICT, "the document is %s", d.Status)
	}
	if _, done := d.Signed()[field.Field]; done {
		return nil, Errorf(ECONFLICT, "the seal is already affixed")
	}
	signed := d.Signed()
	for _, s := range d.Signers {
		if _, ok := signed[s.Field]; !ok && s.SubjectKind != SignerOrganisation {
			return nil, Errorf(ECONFLICT, "the seal comes after the parties and the mediator: %s has not signed yet", s.Name)
		}
	}
	return field, nil
}

// CourtField is the field the court's confirmation signature goes into.
const CourtField = "sig-court" // = signing.CourtField, the field generated agreements declare

// AgreementFacts is what the workflow needs to know about a case's agreement: it comes in Env for the actions that
// depend on it (agreement_effective, apply_confirmation, confirm).
type AgreementFacts struct {
	DocumentID      string
	Kind            string     // agreement or confirmation_sheet
	PartiesSignedAt *time.Time // the last party's signature; nil while a party has not signed
	Complete        bool       // every planned signature is in: parties, mediators and the seal where an organisation mediates
	CourtSigned     bool
	Terms           []Term
}

// FactsOf returns the facts of an agreement document.
func FactsOf(d *Document) *AgreementFacts {
	f := &AgreementFacts{DocumentID: d.ID, Kind: d.Kind, PartiesSignedAt: d.PartiesSignedAt(), Complete: d.Status == DocComplete}
	_, f.CourtSigned = d.Signed()[CourtField]
	var content struct {
		Terms []Term `json:"terms"`
	}
	if err := json.Unmarshal(d.Content, &content); err == nil {
		f.Terms = content.Terms
	}
	return f
}

// Barred returns the first term that bars judicial confirmation: a declaration of the validity or ownership of an
// IP right (CPLI Art. 355), or nil.
func (f *AgreementFacts) Barred() *Term {
	for i := range f.Terms {
		if f.Terms[i].Kind == TermValidityOwnership {
			return &f.Terms[i]
		}
	}
	return nil
}

// TermKind types an agreed term, so that rules can read what an agreement says.
type TermKind string

// The kinds of agreed term.
const (
	TermPayment              TermKind = "payment"               // 支付 (damages, fees, costs)
	TermCessation            TermKind = "cessation"             // 停止侵权
	TermLicence              TermKind = "licence"               // 许可使用
	TermAssignment           TermKind = "assignment"            // 转让
	TermWithdrawInvalidation TermKind = "withdraw_invalidation" // 撤回无效宣告请求
	TermValidityOwnership    TermKind = "validity_ownership"    // 确认权利有效或权属 — bars judicial confirmation (CPLI Art. 355)
	TermOther                TermKind = "other"
)

// TermKinds lists every kind of term.
var TermKinds = []TermKind{TermPayment, TermCessation, TermLicence, TermAssignment, TermWithdrawInvalidation, TermValidityOwnership, TermOther}

// Term is one agreed term of a mediation agreement.
type Term struct {
	Kind TermKind `json:"kind"`
	Text string   `json:"text"`
}

// ValidTerms checks a list of agreed terms, reporting problems under name[i].
func ValidTerms(f map[string]string, name string, terms []Term, required bool) {
	if required && len(terms) == 0 {
		f[name] = "an agreement states at least one agreed term"
	}
	if len(terms) > 100 {
		f[name] = "at most 100 terms"
	}
	var kinds []string
	for _, k := range TermKinds {
		kinds = append(kinds, string(k))
	}
	for i, t := range terms {
		if !slices.Contains(TermKinds, t.Kind) {
			f[fmt.Sprintf("%s[%d].kind", name, i)] = "must be one of " + strings.Join(kinds, ", ")
		}
		if strings.TrimSpace(t.Text) == "" || utf8.RuneCountInString(t.Text) > 4000 {
			f[fmt.Sprintf("%s[%d].text", name, i)] = "must be 1 to 4000 characters"
		}
	}
}

// FieldStatus is how one planned signature of a document stands, as the caller sees it.
type FieldStatus struct {
	Field       string     `json:"field"`
	Role        string     `json:"role"`
	Name        string     `json:"name"`
	Signed      bool       `json:"signed"`
	SignedBy    string     `json:"signed_by,omitempty"`
	SignedAt    *time.Time `json:"signed_at,omitempty"`
	Device      bool       `json:"device"` // signed on the signer's own device (otherwise by a server-held seal)
	CallerSigns bool       `json:"caller_signs"`
}

// SigningView lists a document's fields for p, with the field p may sign now (next) or the one p waits for.
func SigningView(p Principal, d *Document) (fields []FieldStatus, next, waiting string) {
	fields = []FieldStatus{}
	signed := d.Signed()
	for _, s := range d.Signers {
		fs := FieldStatus{Field: s.Field, Role: s.Role, Name: s.Name, Device: s.SubjectKind.Device()}
		if v, ok := signed[s.Field]; ok {
			at := v.CreatedAt
			fs.Signed, fs.SignedBy, fs.SignedAt = true, v.SignerName, &at
		} else if d.Status == DocSigning && MaySign(p, s) {
			fs.CallerSigns = true
			if next == "" && waiting == "" {
				if b := d.BlockedBy(s.Field); b != "" {
					waiting = b
				} else {
					next = s.Field
				}
			}
		}
		fields = append(fields, fs)
	}
	return fields, next, waiting
}

// Sign blockers: why a caller cannot sign the field SigningView offers, for the page to say so before the
// caller tries (CheckSign refuses the same).
const (
	SignBlockAgreementNotReached = "agreement_not_reached" // the mediator records the agreement first (end with agreement_reached)
)

// SignBlock says why no field of d can be signed now in case c, and who must act first ("" when nothing
// blocks): an agreement is signed only once the mediator recorded that it was reached (CheckSign).
func SignBlock(c *Case, d *Document) (reason string, actor Who) {
	if c == nil || d.Status != DocSigning {
		return "", ""
	}
	if d.IsAgreement() && c.State != StateSigning && c.State != StateSettled {
		return SignBlockAgreementNotReached, WhoMediator
	}
	return "", ""
}

// CheckDraft applies the rules for drafting a case's agreement (or uploading one signed on paper): a mediator who
// accepted the case, while it is in mediation or being signed.
func CheckDraft(p Principal, c *Case) error {
	if !slices.Contains(Relations(p, c), WhoMediator) {
		return Errorf(EFORBIDDEN, "the agreement is drafted by a mediator who has accepted the case")
	}
	if c.State != StateInMediation && c.State != StateSigning {
		return Errorf(ECONFLICT, "the case is %s: an agreement is drafted while it is in mediation or being signed", c.State)
	}
	return nil
}

// CheckRecord applies the rule for producing a session record: a mediator of the case.
func CheckRecord(p Principal, c *Case) error {
	if !slices.Contains(Relations(p, c), WhoMediator) {
		return Errorf(EFORBIDDEN, "the session record is produced by a mediator of the case")
	}
	return nil
}
