package cases

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A party's phone and electronic-service address come from the court's filing or from the party's own
// application (OMR Art. 8). They are where one-time codes, invitations and electronic service go, so whoever can
// change them can take over the party's seat. The rules here:
//
//   - the case's mediators cannot change them;
//   - a court clerk (referred cases) or the organisation's admin (direct applications) may ask for a correction,
//     with a reason; it takes effect only when confirmed by a code sent to the OLD contact, or by a second staff
//     member of that court or organisation who is not the one who asked (four eyes);
//   - when it takes effect the old contact is told what changed, by whom and how to object; every open invitation
//     of the party is revoked, its sessions end and its prepared signatures are dropped; the trail records who
//     asked and who confirmed;
//   - the party can change its own contact from inside its session, confirmed by a code sent to the NEW contact,
//     and the old contact is told;
//   - a party whose contact staff corrected cannot obtain a signing certificate until an identity check made after
//     the correction, by someone other than the requester, passes (SigningIdentity).

// Contact correction kinds, statuses and confirmations.
const (
	CorrectionStaff = "staff" // asked by a clerk or organisation admin
	CorrectionSelf  = "self"  // asked by the party from its own session

	CorrectionPending   = "pending"
	CorrectionApplied   = "applied"
	CorrectionRejected  = "rejected"
	CorrectionCancelled = "cancelled"

	ConfirmOldContact  = "old_contact_code" // the code sent to the old contact was entered
	ConfirmSecondStaff = "second_staff"     // a second staff member approved (four eyes)
	ConfirmNewContact  = "new_contact_code" // the party's own change, confirmed from the new contact
)

// ContactCorrection is a request to change a party's phone or electronic-service address, and its outcome.
type ContactCorrection struct {
	ID                string     `json:"id"`
	CaseID            string     `json:"case_id"`
	PartyID           string     `json:"party_id"`
	PartyName         string     `json:"party_name"`
	Kind              string     `json:"kind"`
	OldPhone          string     `json:"old_phone"`
	OldServiceAddress string     `json:"old_service_address"`
	NewPhone          string     `json:"new_phone"`
	NewServiceAddress string     `json:"new_service_address"`
	Reason            string     `json:"reason"`
	RequestedBy       string     `json:"requested_by"`
	RequestedByName   string     `json:"requested_by_name"`
	RequestedAt       time.Time  `json:"requested_at"`
	Status            string     `json:"status"`
	CodeExpiresAt     *time.Time `json:"code_expires_at,omitempty"`
	ConfirmedBy       string     `json:"confirmed_by,omitempty"`
	ConfirmedByName   string     `json:"confirmed_by_name,omitempty"`
	Confirmation      string     `json:"confirmation,omitempty"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
	DecisionNote      string     `json:"decision_note,omitempty"`
	requestedByOrg    string
}

// ContactChange is the input of a correction: the new phone and/or service address, and (for staff) why.
type ContactChange struct {
	Phone          *string `json:"phone,omitempty"`
	ServiceAddress *string `json:"service_address,omitempty"`
	Reason         string  `json:"reason,omitempty"`
}

// Valid reports problems with the change, by field.
func (cc ContactChange) Valid() map[string]string {
	f := map[string]string{}
	if cc.Phone == nil && cc.ServiceAddress == nil {
		f["phone"] = "give a new phone or a new service address"
	}
	if cc.Phone != nil {
		checkPhone(f, "phone", *cc.Phone, true)
	}
	if cc.ServiceAddress != nil {
		requireText(f, "service_address", *cc.ServiceAddress, false, 200)
	}
	requireText(f, "reason", cc.Reason, false, 1000)
	return f
}

// ContactNotice is a message the HTTP layer must deliver for a correction: a code or a notice, to one address.
type ContactNotice struct {
	To   string
	Name string
	// What: "code_old" (the code that confirms a staff correction, to the old contact), "code_new" (the code that
	// confirms the party's own change, to the new contact), "applied_old" (the change took effect: told to the old
	// contact), "applied_new" (told to the new contact), "rejected_old" (a request was turned down or withdrawn).
	What string
	Code Token
}

// CorrectionResult is a correction after a step, with the notices to send.
type CorrectionResult struct {
	Correction *ContactCorrection
	Notices    []ContactNotice
	// Revoked counts what the correction ended: open invitations, party sessions, prepared signatures.
	Revoked RevokedSeat
}

// RevokedSeat counts what was revoked when a party's contact changed.
type RevokedSeat struct {
	Invitations int `json:"invitations"`
	Sessions    int `json:"sessions"`
	Pending     int `json:"prepared_signatures"`
}

// CorrectionAuthority reports whether p may ask for (or confirm, as the second person) a correction of a party's
// contact in c: a clerk or judge of the case's court for referred cases, an admin of the case's organisation for
// direct applications. A mediator never may, nor may anyone else. (Asking is for clerks and organisation admins;
// a judge of the court may be the second pair of eyes.)
func CorrectionAuthority(p Principal, c *Case, asking bool) bool {
	if p.Kind != KindAccount || !CanView(p, c) {
		return false
	}
	if c.Source == SourceDirect {
		return p.Role == RoleOrgAdmin && c.OrganisationID != "" && p.OrgID == c.OrganisationID
	}
	if c.CourtID == "" || p.OrgID != c.CourtID {
		return false
	}
	return p.Role == RoleClerk || (!asking && p.Role == RoleJudge)
}

// MayApproveCorrection applies the four-eyes rule: the approver is a second staff member of the same court or
// organisation, not the one who asked.
func MayApproveCorrection(p Principal, c *Case, cc *ContactCorrection) error {
	if cc.Kind != CorrectionStaff {
		return Errorf(EFORBIDDEN, "a party's own change is confirmed by the code sent to its new contact")
	}
	if p.Kind == KindAccount && p.ID == cc.RequestedBy {
		return Errorf(EFORBIDDEN, "the staff member who asked for a correction cannot approve it: a second staff member must (four eyes), or the party confirms it with the code sent to the old contact")
	}
	if !CorrectionAuthority(p, c, false) {
		return Errorf(EFORBIDDEN, "a correction is approved by a second clerk or judge of the case's court (referred cases) or a second admin of the organisation (direct applications)")
	}
	return nil
}

// newCode returns a fresh 6-digit one-time code.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		return "", fmt.Errorf("cases: new code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

const correctionCols = `cc.id, cc.case_id, cc.party_id, p.name, cc.kind, cc.old_phone, cc.old_service_address, cc.new_phone, cc.new_service_address,
	cc.reason, cc.requested_by, cc.requested_by_name, cc.requested_by_org, cc.requested_at, cc.status, cc.code_expires_at, cc.confirmed_by,
	cc.confirmed_by_name, cc.confirmation, cc.decided_at, cc.decision_note`

func scanCorrection(r pgx.Row, extra ...any) (*ContactCorrection, error) {
	var cc ContactCorrection
	dst := []any{&cc.ID, &cc.CaseID, &cc.PartyID, &cc.PartyName, &cc.Kind, &cc.OldPhone, &cc.OldServiceAddress, &cc.NewPhone, &cc.NewServiceAddress,
		&cc.Reason, &cc.RequestedBy, &cc.RequestedByName, &cc.requestedByOrg, &cc.RequestedAt, &cc.Status, &cc.CodeExpiresAt, &cc.ConfirmedBy,
		&cc.ConfirmedByName, &cc.Confirmation, &cc.DecidedAt, &cc.DecisionNote}
	if err := r.Scan(append(dst, extra...)...); err != nil {
		return nil, err
	}
	return &cc, nil
}

// ContactCorrections lists a case's correction requests (staff who may see the case; a party sees its own).
func (s *Store) ContactCorrections(ctx context.Context, p Principal, caseID string) ([]ContactCorrection, error) {
	c, err := s.CaseFor(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+correctionCols+` FROM contact_corrections cc JOIN parties p ON p.id = cc.party_id
		WHERE cc.case_id = $1 ORDER BY cc.requested_at, cc.id`, c.ID)
	if err != nil {
		return nil, dbErr("contact corrections", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ContactCorrection, error) {
		cc, err := scanCorrection(r)
		if err != nil {
			return ContactCorrection{}, err
		}
		return *cc, nil
	})
	if err != nil {
		return nil, dbErr("contact corrections", err)
	}
	if p.IsPartySide() {
		own := []ContactCorrection{}
		for _, cc := range out {
			if cc.PartyID == p.PartyID {
				own = append(own, cc)
			}
		}
		out = own
	}
	return out, nil
}

func (s *Store) lockedCorrection(ctx context.Context, tx pgx.Tx, caseID, id string) (*ContactCorrection, []byte, *time.Time, int, error) {
	if !isUUID(id) {
		return nil, nil, nil, 0, Errorf(ENOTFOUND, "correction not found")
	}
	var hash []byte
	var attempts int
	var sent *time.Time
	cc, err := scanCorrection(tx.QueryRow(ctx, `SELECT `+correctionCols+`, cc.code_hash, cc.code_attempts, cc.code_sent_at
		FROM contact_corrections cc JOIN parties p ON p.id = cc.party_id WHERE cc.id = $1 AND cc.case_id = $2 FOR UPDATE OF cc`, id, caseID), &hash, &attempts, &sent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil, 0, Errorf(ENOTFOUND, "correction not found")
	}
	if err != nil {
		return nil, nil, nil, 0, err
	}
	return cc, hash, sent, attempts, nil
}

// changedFields names what a correction changes.
func (cc *ContactCorrection) changedFields() []string {
	var out []string
	if cc.NewPhone != cc.OldPhone {
		out = append(out, "phone")
	}
	if cc.NewServiceAddress != cc.OldServiceAddress {
		out = append(out, "service_address")
	}
	return out
}

// trailData is what the trail keeps of a correction: masked contacts (the trail is shown to the party's side).
func (cc *ContactCorrection) trailData() map[string]any {
	return map[string]any{
		"correction_id": cc.ID, "party_id": cc.PartyID, "name": cc.PartyName, "kind": cc.Kind, "fields": cc.changedFields(), "reason": cc.Reason,
		"old_phone": MaskContact(cc.OldPhone), "new_phone": MaskContact(cc.NewPhone),
		"old_service_address": MaskContact(cc.OldServiceAddress), "new_service_address": MaskContact(cc.NewServiceAddress),
		"requested_by": cc.RequestedBy, "requested_by_name": cc.RequestedByName,
	}
}

// MaskContact hides most of a phone number or e-mail address.
func MaskContact(s string) string {
	if s == "" {
		return ""
	}
	if at := strings.IndexByte(s, '@'); at > 0 {
		return s[:1] + "***" + s[at:]
	}
	return maskPhone(s)
}

// RequestContactCorrection records a staff member's request to correct a party's contact. Nothing changes yet:
// the result carries the code to send to the party's OLD contact, whose holder confirms the correction by giving
// it back; or a second staff member approves it (ApproveContactCorrection).
func (s *Store) RequestContactCorrection(ctx context.Context, p Principal, caseID, partyID string, in ContactChange) (*CorrectionResult, error) {
	if err := Invalid(in.Valid()); err != nil {
		return nil, err
	}
	var res *CorrectionResult
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !CorrectionAuthority(p, c, true) {
			if slicesContains(Relations(p, c), WhoMediator) || p.IsStaff(RoleMediator) {
				return Errorf(EFORBIDDEN, "a case's mediators cannot change a party's phone or service address: they come from the court's filing or the party's own application; ask the court's clerk (referred cases) or the organisation's admin (direct applications) to correct them")
			}
			return Errorf(EFORBIDDEN, "a party's contact is corrected by a clerk of the case's court (referred cases) or an admin of the organisation (direct applications)")
		}
		if c.State.Final() {
			return Errorf(ECONFLICT, "the case is closed (%s)", c.State)
		}
		party := c.Party(partyID)
		if party == nil {
			return Errorf(ENOTFOUND, "party not found")
		}
		if strings.TrimSpace(in.Reason) == "" {
			return Invalid(map[string]string{"reason": "say why the contact must be corrected (the party and the trail will see it)"})
		}
		cc := &ContactCorrection{CaseID: c.ID, PartyID: party.ID, PartyName: party.Name, Kind: CorrectionStaff, OldPhone: party.Phone, OldServiceAddress: party.ServiceAddress,
			NewPhone: party.Phone, NewServiceAddress: party.ServiceAddress, Reason: strings.TrimSpace(in.Reason), RequestedBy: p.ID, RequestedByName: p.Name,
			RequestedAt: s.now(), Status: CorrectionPending, requestedByOrg: p.OrgID}
		if in.Phone != nil {
			cc.NewPhone = strings.TrimSpace(*in.Phone)
		}
		if in.ServiceAddress != nil {
			cc.NewServiceAddress = strings.TrimSpace(*in.ServiceAddress)
		}
		if len(cc.changedFields()) == 0 {
			return Invalid(map[string]string{"phone": "is the same as now: nothing to correct"})
		}
		code, err := newCode()
		if err != nil {
			return err
		}
		exp := s.now().Add(24 * time.Hour)
		cc.CodeExpiresAt = &exp
		if err := s.insertCorrection(ctx, tx, cc, code); err != nil {
			return err
		}
		if _, err := s.appendEvent(ctx, tx, c.ID, p, "contact.correction_requested", VisSide(party.Side), cc.trailData(), s.now()); err != nil {
			return err
		}
		res = &CorrectionResult{Correction: cc, Notices: []ContactNotice{{To: cc.OldPhone, Name: party.Name, What: "code_old", Code: Token(code)}}}
		if cc.OldServiceAddress != "" && strings.Contains(cc.OldServiceAddress, "@") {
			res.Notices = append(res.Notices, ContactNotice{To: cc.OldServiceAddress, Name: party.Name, What: "code_old", Code: Token(code)})
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("request correction", err)
	}
	return res, nil
}

func slicesContains(ws []Who, w Who) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

func (s *Store) insertCorrection(ctx context.Context, tx pgx.Tx, cc *ContactCorrection, code string) error {
	// The case row is locked: at most one request waits per party (the partial unique index is the backstop).
	var open bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contact_corrections WHERE party_id = $1 AND status = 'pending')`, cc.PartyID).Scan(&open); err != nil {
		return err
	}
	if open {
		return Errorf(ECONFLICT, "a correction of this party's contact is already waiting for confirmation: confirm, reject or withdraw it first")
	}
	err := tx.QueryRow(ctx, `INSERT INTO contact_corrections (case_id, party_id, kind, old_phone, old_service_address, new_phone, new_service_address, reason,
		requested_by, requested_by_name, requested_by_org, requested_at, status, code_expires_at, code_sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $12) RETURNING id`,
		cc.CaseID, cc.PartyID, cc.Kind, cc.OldPhone, cc.OldServiceAddress, cc.NewPhone, cc.NewServiceAddress, cc.Reason,
		cc.RequestedBy, cc.RequestedByName, cc.requestedByOrg, cc.RequestedAt, cc.CodeExpiresAt).Scan(&cc.ID)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE contact_corrections SET code_hash = $2 WHERE id = $1`, cc.ID, codeHash(cc.ID, code))
	return err
}

// ConfirmContactCorrection applies a pending correction with the code sent to the old contact (a staff
// correction, the code given back by its holder) or to the new one (the party's own change, entered by the party
// in its session). Five wrong codes spend the request.
func (s *Store) ConfirmContactCorrection(ctx context.Context, p Principal, caseID, id, code string) (*CorrectionResult, error) {
	var res *CorrectionResult
	var verr error
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		cc, hash, _, attempts, err := s.lockedCorrection(ctx, tx, c.ID, id)
		if err != nil {
			return err
		}
		if cc.Status != CorrectionPending {
			return Errorf(ECONFLICT, "the correction is %s", cc.Status)
		}
		switch cc.Kind {
		case CorrectionStaff:
			if !CorrectionAuthority(p, c, false) {
				return Errorf(EFORBIDDEN, "the code from the old contact is entered by the court's or the organisation's staff who handle the correction")
			}
		case CorrectionSelf:
			if !(p.Kind == KindParty && p.PartyID == cc.PartyID) {
				return Errorf(EFORBIDDEN, "the party confirms its own change")
			}
		}
		if hash == nil || cc.CodeExpiresAt == nil || s.now().After(*cc.CodeExpiresAt) {
			verr = Errorf(EUNPROCESSABLE, "the code has expired: ask for the correction again")
			return nil
		}
		if attempts >= 5 {
			verr = Errorf(ERATELIMIT, "too many wrong codes: ask for the correction again")
			return nil
		}
		if subtle.ConstantTimeCompare(codeHash(cc.ID, strings.TrimSpace(code)), hash) != 1 {
			if _, err := tx.Exec(ctx, `UPDATE contact_corrections SET code_attempts = code_attempts + 1 WHERE id = $1`, cc.ID); err != nil {
				return err
			}
			e := Errorf(EUNPROCESSABLE, "the code is wrong (%d tries left)", 4-attempts)
			e.Fields = map[string]string{"code": "is wrong"}
			verr = e
			return nil
		}
		how := ConfirmOldContact
		if cc.Kind == CorrectionSelf {
			how = ConfirmNewContact
		}
		res, err = s.applyCorrection(ctx, tx, c, p, cc, how)
		return err
	})
	if err != nil {
		return nil, dbErr("confirm correction", err)
	}
	if verr != nil {
		return nil, verr
	}
	return res, nil
}

// ApproveContactCorrection applies a pending staff correction on a second staff member's approval (four eyes).
func (s *Store) ApproveContactCorrection(ctx context.Context, p Principal, caseID, id string) (*CorrectionResult, error) {
	var res *CorrectionResult
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		cc, _, _, _, err := s.lockedCorrection(ctx, tx, c.ID, id)
		if err != nil {
			return err
		}
		if err := MayApproveCorrection(p, c, cc); err != nil {
			return err
		}
		if cc.Status != CorrectionPending {
			return Errorf(ECONFLICT, "the correction is %s", cc.Status)
		}
		res, err = s.applyCorrection(ctx, tx, c, p, cc, ConfirmSecondStaff)
		return err
	})
	if err != nil {
		return nil, dbErr("approve correction", err)
	}
	return res, nil
}

// RejectContactCorrection turns down (a second staff member) or withdraws (the requester, or the party for its
// own change) a pending correction; the old contact is told when staff had asked.
func (s *Store) RejectContactCorrection(ctx context.Context, p Principal, caseID, id, note string) (*CorrectionResult, error) {
	f := map[string]string{}
	requireText(f, "note", note, false, 1000)
	if err := Invalid(f); err != nil {
		return nil, err
	}
	var res *CorrectionResult
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		cc, _, _, _, err := s.lockedCorrection(ctx, tx, c.ID, id)
		if err != nil {
			return err
		}
		if cc.Status != CorrectionPending {
			return Errorf(ECONFLICT, "the correction is %s", cc.Status)
		}
		status := CorrectionRejected
		switch {
		case p.Kind == KindAccount && p.ID == cc.RequestedBy, p.Kind == KindParty && cc.Kind == CorrectionSelf && p.PartyID == cc.PartyID:
			status = CorrectionCancelled
		case cc.Kind == CorrectionStaff && CorrectionAuthority(p, c, false):
		default:
			return Errorf(EFORBIDDEN, "a correction is turned down by a second staff member of the court or organisation, or withdrawn by whoever asked")
		}
		now := s.now()
		cc.Status, cc.DecidedAt, cc.DecisionNote, cc.ConfirmedBy, cc.ConfirmedByName = status, &now, note, p.ID, p.Name
		if _, err := tx.Exec(ctx, `UPDATE contact_corrections SET status = $2, decided_at = $3, decision_note = $4, confirmed_by = $5, confirmed_by_name = $6,
			code_hash = NULL WHERE id = $1`, cc.ID, status, now, note, p.ID, p.Name); err != nil {
			return err
		}
		data := cc.trailData()
		data["by"], data["by_name"], data["note"] = p.ID, p.Name, note
		party := c.Party(cc.PartyID)
		if _, err := s.appendEvent(ctx, tx, c.ID, p, "contact.correction_"+status, VisSide(party.Side), data, now); err != nil {
			return err
		}
		res = &CorrectionResult{Correction: cc}
		if cc.Kind == CorrectionStaff {
			res.Notices = append(res.Notices, ContactNotice{To: cc.OldPhone, Name: cc.PartyName, What: "rejected_old"})
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("reject correction", err)
	}
	return res, nil
}

// applyCorrection changes the party's contact under the case lock and revokes the party's seat: open
// invitations, login sessions and prepared signatures. The caller checked who confirms.
func (s *Store) applyCorrection(ctx context.Context, tx pgx.Tx, c *Case, p Principal, cc *ContactCorrection, how string) (*CorrectionResult, error) {
	party := c.Party(cc.PartyID)
	if party == nil {
		return nil, Errorf(ENOTFOUND, "party not found")
	}
	// The party's contact may have changed since the request (another correction): a code or an approval given
	// for a change from A to B must not move C to B.
	if party.Phone != cc.OldPhone || party.ServiceAddress != cc.OldServiceAddress {
		return nil, Errorf(ECONFLICT, "the party's contact changed since this correction was asked for: ask again")
	}
	now := s.now()
	cc.Status, cc.DecidedAt, cc.ConfirmedBy, cc.ConfirmedByName, cc.Confirmation = CorrectionApplied, &now, p.ID, p.Name, how
	if _, err := tx.Exec(ctx, `UPDATE contact_corrections SET status = 'applied', decided_at = $2, confirmed_by = $3, confirmed_by_name = $4, confirmation = $5,
		code_hash = NULL WHERE id = $1`, cc.ID, now, p.ID, p.Name, how); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE parties SET phone = $2, service_address = $3 WHERE id = $1`, party.ID, cc.NewPhone, cc.NewServiceAddress); err != nil {
		return nil, err
	}
	res := &CorrectionResult{Correction: cc}
	if cc.Kind == CorrectionStaff {
		var err error
		if res.Revoked, err = s.revokeSeat(ctx, tx, c.ID, party.ID, "contact_corrected", now); err != nil {
			return nil, err
		}
	}
	data := cc.trailData()
	data["confirmed_by"], data["confirmed_by_name"], data["confirmation"] = p.ID, p.Name, how
	data["revoked_invitations"], data["revoked_sessions"], data["revoked_prepared_signatures"] = res.Revoked.Invitations, res.Revoked.Sessions, res.Revoked.Pending
	typ := "contact.corrected"
	if cc.Kind == CorrectionSelf {
		typ = "contact.changed_by_party"
	}
	if _, err := s.appendEvent(ctx, tx, c.ID, p, typ, VisSide(party.Side), data, now); err != nil {
		return nil, err
	}
	res.Notices = append(res.Notices, ContactNotice{To: cc.OldPhone, Name: party.Name, What: "applied_old"})
	if cc.OldServiceAddress != cc.NewServiceAddress && strings.Contains(cc.OldServiceAddress, "@") {
		res.Notices = append(res.Notices, ContactNotice{To: cc.OldServiceAddress, Name: party.Name, What: "applied_old"})
	}
	if cc.NewPhone != cc.OldPhone {
		res.Notices = append(res.Notices, ContactNotice{To: cc.NewPhone, Name: party.Name, What: "applied_new"})
	}
	return res, nil
}

// revokeSeat ends everything that lets someone act as the party: its open invitation links (not its agents'),
// its login sessions and the signatures prepared for it.
func (s *Store) revokeSeat(ctx context.Context, tx pgx.Tx, caseID, partyID, reason string, now time.Time) (RevokedSeat, error) {
	var r RevokedSeat
	tag, err := tx.Exec(ctx, `UPDATE invitations SET revoked_at = $3, revoked_reason = $4, code_hash = NULL
		WHERE case_id = $1 AND party_id = $2 AND agent_id IS NULL AND revoked_at IS NULL`, caseID, partyID, now, reason)
	if err != nil {
		return r, err
	}
	r.Invitations = int(tag.RowsAffected())
	if tag, err = tx.Exec(ctx, `DELETE FROM web_sessions WHERE kind = 'party' AND subject_id = $1`, partyID); err != nil {
		return r, err
	}
	r.Sessions = int(tag.RowsAffected())
	if tag, err = tx.Exec(ctx, `DELETE FROM pending_signatures WHERE signer_kind = 'party' AND signer_id = $1`, partyID); err != nil {
		return r, err
	}
	r.Pending = int(tag.RowsAffected())
	return r, nil
}

// RequestOwnContactChange starts a party's change of its own contact from inside its session; the result carries
// the code to send to the NEW contact.
func (s *Store) RequestOwnContactChange(ctx context.Context, p Principal, in ContactChange) (*CorrectionResult, error) {
	if err := Invalid(in.Valid()); err != nil {
		return nil, err
	}
	if p.Kind != KindParty {
		return nil, Errorf(EFORBIDDEN, "a party changes its own contact from its own session")
	}
	var res *CorrectionResult
	err := s.withCase(ctx, p, p.CaseID, "case", func(tx pgx.Tx, c *Case) error {
		if c.State.Final() {
			return Errorf(ECONFLICT, "the case is closed (%s)", c.State)
		}
		party := c.Party(p.PartyID)
		if party == nil {
			return Errorf(ENOTFOUND, "party not found")
		}
		cc := &ContactCorrection{CaseID: c.ID, PartyID: party.ID, PartyName: party.Name, Kind: CorrectionSelf, OldPhone: party.Phone, OldServiceAddress: party.ServiceAddress,
			NewPhone: party.Phone, NewServiceAddress: party.ServiceAddress, Reason: strings.TrimSpace(in.Reason), RequestedBy: p.ID, RequestedByName: p.Name,
			RequestedAt: s.now(), Status: CorrectionPending}
		if in.Phone != nil {
			cc.NewPhone = strings.TrimSpace(*in.Phone)
		}
		if in.ServiceAddress != nil {
			cc.NewServiceAddress = strings.TrimSpace(*in.ServiceAddress)
		}
		if len(cc.changedFields()) == 0 {
			return Invalid(map[string]string{"phone": "is the same as now: nothing to change"})
		}
		// A pending own change is replaced by a new one (the party typed a wrong number).
		if _, err := tx.Exec(ctx, `UPDATE contact_corrections SET status = 'cancelled', decided_at = $2, code_hash = NULL
			WHERE party_id = $1 AND kind = 'self' AND status = 'pending'`, party.ID, s.now()); err != nil {
			return err
		}
		code, err := newCode()
		if err != nil {
			return err
		}
		exp := s.now().Add(10 * time.Minute)
		cc.CodeExpiresAt = &exp
		if err := s.insertCorrection(ctx, tx, cc, code); err != nil {
			return err
		}
		res = &CorrectionResult{Correction: cc}
		to := cc.NewPhone
		if cc.NewPhone == cc.OldPhone {
			to = cc.NewServiceAddress
		}
		res.Notices = []ContactNotice{{To: to, Name: party.Name, What: "code_new", Code: Token(code)}}
		return nil
	})
	if err != nil {
		return nil, dbErr("change contact", err)
	}
	return res, nil
}

// RevokeInvitation revokes an open invitation link (staff who may send invitations in the case).
func (s *Store) RevokeInvitation(ctx context.Context, p Principal, caseID, invitationID string) error {
	if !isUUID(invitationID) {
		return Errorf(ENOTFOUND, "invitation not found")
	}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !mayEditCase(p, c) {
			return Errorf(EFORBIDDEN, "invitations are revoked by the court's clerks, the organisation's admins and the case's mediators")
		}
		var partyID, agentID string
		err := tx.QueryRow(ctx, `UPDATE invitations SET revoked_at = $3, revoked_reason = 'revoked_by_staff', code_hash = NULL
			WHERE id = $1 AND case_id = $2 AND revoked_at IS NULL RETURNING party_id::text, COALESCE(agent_id::text, '')`, invitationID, c.ID, s.now()).Scan(&partyID, &agentID)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(ENOTFOUND, "no open invitation with that ID")
		}
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, "invitation.revoked", VisStaff,
			map[string]any{"invitation_id": invitationID, "party_id": partyID, "agent_id": agentID, "reason": "revoked_by_staff"}, s.now())
		return err
	})
	return dbErr("revoke invitation", err)
}

// InvitationStatus is an invitation as staff see it in the list of a case's links.
type InvitationStatus struct {
	Invitation
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	VerifiedAt    *time.Time `json:"verified_at,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	Open          bool       `json:"open"`
}

// Invitations lists a case's invitation links, newest first (staff who may send them).
func (s *Store) Invitations(ctx context.Context, p Principal, caseID string) ([]InvitationStatus, error) {
	c, err := s.CaseFor(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	if !mayEditCase(p, c) && !CorrectionAuthority(p, c, false) {
		return nil, Errorf(EFORBIDDEN, "invitations are managed by the court's clerks, the organisation's admins and the case's mediators")
	}
	rows, err := s.pool.Query(ctx, `SELECT i.id, i.case_id, i.party_id, COALESCE(i.agent_id::text, ''), COALESCE(a.name, p.name), i.expires_at, i.created_by,
		i.created_at, i.verified_at, i.revoked_at, i.revoked_reason FROM invitations i JOIN parties p ON p.id = i.party_id LEFT JOIN agents a ON a.id = i.agent_id
		WHERE i.case_id = $1 ORDER BY i.created_at DESC, i.id`, c.ID)
	if err != nil {
		return nil, dbErr("invitations", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InvitationStatus, error) {
		var v InvitationStatus
		err := r.Scan(&v.ID, &v.CaseID, &v.PartyID, &v.AgentID, &v.Name, &v.ExpiresAt, &v.CreatedBy, &v.CreatedAt, &v.VerifiedAt, &v.RevokedAt, &v.RevokedReason)
		v.Open = v.RevokedAt == nil && s.now().Before(v.ExpiresAt)
		return v, err
	})
	return out, dbErr("invitations", err)
}
