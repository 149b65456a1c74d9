package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Signing is bound to an identity, not to a login (ESL Art. 13: the key belongs to and is controlled by the
// signer alone). Before Parley's CA certifies a party's (or agent's) device key it needs identity evidence: a
// passed identity check recorded on the case (by a mediator in a session, or by the case's staff at the counter),
// or a verification by a pluggable IdentityVerifier (a real-name or face-verification service). The certificate
// names that evidence and carries the person's identifier (see signing.IdentityEvidence).

// CaseIdentityCheck is an identity check recorded on a case, with its row ID (the certificate names it).
type CaseIdentityCheck struct {
	IdentityCheck
	ID int64 `json:"id"`
}

// SigningEvidence is the identity evidence behind a party's or agent's signing certificate.
type SigningEvidence struct {
	CheckID       int64     `json:"check_id"`
	Method        string    `json:"method"`
	CheckedBy     string    `json:"checked_by"`
	CheckedByName string    `json:"checked_by_name"`
	At            time.Time `json:"at"`
	// IDScheme says what IDNumber is: "id_card" (居民身份证号码), "uscc" (统一社会信用代码), "lawyer_licence"
	// (律师执业证号), or "" when the case holds none.
	IDScheme string `json:"id_scheme,omitempty"`
	IDNumber string `json:"-"`
}

// Why a signing certificate is refused; the error's field "identity" carries one of these so the page can say
// what to do.
const (
	IdentityCheckRequired     = "check_required"           // no passed identity check on the case
	IdentityRecheckRequired   = "recheck_after_correction" // staff corrected the contact: a new check must pass
	IdentityLatestCheckFailed = "latest_check_failed"      // the most recent check failed
)

// SigningIdentity is the domain rule that decides whether a party or agent may obtain a signing certificate, and
// on which evidence. p is the signer; checks are the identity checks recorded on the case; corrections the case's
// contact corrections. Staff signers (mediators) sign with their own accounts and are not gated here.
//
//   - A party or agent needs a passed identity check of its own on the case; the most recent check that counts
//     must have passed.
//   - When staff corrected the party's contact, only checks made after the correction took effect count, and a
//     check made by the staff member who asked for the correction never does. An agent that staff added during
//     the case is treated alike: a check by the staff member who added it does not count.
func SigningIdentity(p Principal, c *Case, checks []CaseIdentityCheck, corrections []ContactCorrection) (*SigningEvidence, error) {
	if !p.IsPartySide() {
		return nil, nil
	}
	var after time.Time
	var excluded []string
	for _, cc := range corrections {
		// A staff correction of the party's contact concerns the party's seat; one naming an agent (its addition by
		// staff, see SigningEvidenceFor) the agent's.
		seat := (p.Kind == KindParty && cc.PartyID == p.PartyID) || (p.Kind == KindAgent && cc.PartyID == p.ID)
		if seat && cc.Kind == CorrectionStaff && cc.Status == CorrectionApplied && cc.DecidedAt != nil {
			if cc.DecidedAt.After(after) {
				after = *cc.DecidedAt
			}
			excluded = append(excluded, cc.RequestedBy)
		}
	}
	var latest *CaseIdentityCheck
	for i := range checks {
		ch := &checks[i]
		if ch.ParticipantID != p.ID || !ch.At.After(after) || slices.Contains(excluded, ch.CheckedBy) {
			continue
		}
		if latest == nil || ch.At.After(latest.At) || (ch.At.Equal(latest.At) && ch.ID > latest.ID) {
			latest = ch
		}
	}
	switch {
	case latest == nil && !after.IsZero():
		return nil, &Error{Code: EUNPROCESSABLE, Fields: map[string]string{"identity": IdentityRecheckRequired},
			Message: "the court or the organisation corrected this contact (or added this agent): a new identity check must pass, made by someone other than the staff member who asked for the correction (or added the agent), before a signing certificate is issued"}
	case latest == nil:
		return nil, &Error{Code: EUNPROCESSABLE, Fields: map[string]string{"identity": IdentityCheckRequired},
			Message: "no identity check of yours has passed on this case: the mediator checks your identity in a session (or the court or organisation at the counter) before you can sign"}
	case latest.Result != "passed":
		return nil, &Error{Code: EUNPROCESSABLE, Fields: map[string]string{"identity": IdentityLatestCheckFailed},
			Message: "your most recent identity check on this case did not pass: a new check must pass before you can sign"}
	}
	ev := &SigningEvidence{CheckID: latest.ID, Method: latest.Method, CheckedBy: latest.CheckedBy, CheckedByName: latest.CheckedByName, At: latest.At}
	if party := c.Party(p.PartyID); party != nil {
		switch p.Kind {
		case KindParty:
			if party.IDNumber != "" {
				ev.IDScheme, ev.IDNumber = "id_card", party.IDNumber
				if party.Kind == PartyCompany {
					ev.IDScheme = "uscc"
				}
			}
		case KindAgent:
			for _, a := range party.Agents {
				if a.ID == p.ID && a.Lawyer && a.LicenceNo != "" {
					ev.IDScheme, ev.IDNumber = "lawyer_licence", a.LicenceNo
				}
			}
		}
	}
	return ev, nil
}

// SigningEvidenceFor loads what SigningIdentity needs and applies it: the one place the prepare step asks whether
// a party may obtain a signing certificate.
func (s *Store) SigningEvidenceFor(ctx context.Context, c *Case, p Principal) (*SigningEvidence, error) {
	if !p.IsPartySide() {
		return nil, nil
	}
	checks, err := s.caseIdentityChecks(ctx, c.ID, p.ID)
	if err != nil {
		return nil, err
	}
	corrections, err := s.ContactCorrections(ctx, System, c.ID)
	if err != nil {
		return nil, err
	}
	if p.Kind == KindAgent {
		// An agent staff added during the case counts as a staff-set seat.
		rows, err := s.pool.Query(ctx, `SELECT actor_id, at FROM case_events WHERE case_id = $1 AND type = 'agent.added' AND actor_kind = 'account'
			AND data->>'agent_id' = $2`, c.ID, p.ID)
		if err != nil {
			return nil, dbErr("agent additions", err)
		}
		added, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ContactCorrection, error) {
			cc := ContactCorrection{PartyID: p.ID, Kind: CorrectionStaff, Status: CorrectionApplied}
			var at time.Time
			err := r.Scan(&cc.RequestedBy, &at)
			cc.DecidedAt = &at
			return cc, err
		})
		if err != nil {
			return nil, dbErr("agent additions", err)
		}
		corrections = append(corrections, added...)
	}
	return SigningIdentity(p, c, checks, corrections)
}

func (s *Store) caseIdentityChecks(ctx context.Context, caseID, participantID string) ([]CaseIdentityCheck, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, COALESCE(session_id::text, ''), participant_id, name, method, result, note, checked_by, checked_by_name, at
		FROM identity_checks WHERE case_id = $1 AND participant_id = $2 ORDER BY at, id`, caseID, participantID)
	if err != nil {
		return nil, dbErr("identity checks", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseIdentityCheck, error) {
		var c CaseIdentityCheck
		err := r.Scan(&c.ID, &c.SessionID, &c.ParticipantID, &c.Name, &c.Method, &c.Result, &c.Note, &c.CheckedBy, &c.CheckedByName, &c.At)
		return c, err
	})
	return out, dbErr("identity checks", err)
}

// NewIdentityCheck is a check the case's staff record outside a session (at the court's counter, by a video call
// the mediator made): who was checked, how, and the result.
type NewIdentityCheck struct {
	ParticipantID string `json:"participant_id"` // a party's or agent's ID
	Method        string `json:"method"`
	Result        string `json:"result"`
	Note          string `json:"note,omitempty"`
}

// Valid reports problems with the input, by field.
func (n NewIdentityCheck) Valid() map[string]string {
	f := map[string]string{}
	if !isUUID(n.ParticipantID) {
		f["participant_id"] = "is not an ID"
	}
	if !slices.Contains(IdentityMethods, n.Method) {
		f["method"] = "must be one of " + strings.Join(IdentityMethods, ", ")
	}
	if n.Result != "passed" && n.Result != "failed" {
		f["result"] = "must be passed or failed"
	}
	requireText(f, "note", n.Note, n.Method == "other", 1000)
	return f
}

// mayCheckIdentity reports whether p may record an identity check on c: an accepted mediator, a clerk of the
// case's court or an admin of its organisation.
func mayCheckIdentity(p Principal, c *Case) bool {
	for _, w := range Relations(p, c) {
		if w == WhoClerk || w == WhoOrgAdmin || w == WhoMediator {
			return true
		}
	}
	return false
}

// RecordCaseIdentityCheck records an identity check made by the case's staff outside a session.
func (s *Store) RecordCaseIdentityCheck(ctx context.Context, p Principal, caseID string, n NewIdentityCheck) (*CaseIdentityCheck, error) {
	if err := Invalid(n.Valid()); err != nil {
		return nil, err
	}
	var out *CaseIdentityCheck
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !mayCheckIdentity(p, c) {
			return Errorf(EFORBIDDEN, "identity is checked by the case's mediator, the court's clerks or the organisation's admins")
		}
		if c.State.Final() {
			return Errorf(ECONFLICT, "the case is closed (%s)", c.State)
		}
		name, ok := participantName(c, n.ParticipantID)
		if !ok {
			return Invalid(map[string]string{"participant_id": "is not a party or agent of this case"})
		}
		out = &CaseIdentityCheck{IdentityCheck: IdentityCheck{ParticipantID: n.ParticipantID, Name: name, Method: n.Method, Result: n.Result, Note: n.Note,
			CheckedBy: p.ID, CheckedByName: p.Name, At: s.now()}}
		return s.insertIdentityCheck(ctx, tx, c.ID, p, out)
	})
	if err != nil {
		return nil, dbErr("record identity check", err)
	}
	return out, nil
}

func (s *Store) insertIdentityCheck(ctx context.Context, tx pgx.Tx, caseID string, actor Principal, chk *CaseIdentityCheck) error {
	if err := tx.QueryRow(ctx, `INSERT INTO identity_checks (case_id, participant_id, name, method, result, note, checked_by, checked_by_name, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, caseID, chk.ParticipantID, chk.Name, chk.Method, chk.Result, chk.Note,
		chk.CheckedBy, chk.CheckedByName, chk.At).Scan(&chk.ID); err != nil {
		return err
	}
	// The note may hold an identity number: it stays off the trail, which the party's side reads.
	_, err := s.appendEvent(ctx, tx, caseID, actor, "identity.checked", VisAll, map[string]any{
		"check_id": strconv.FormatInt(chk.ID, 10), "participant_id": chk.ParticipantID, "name": chk.Name, "method": chk.Method, "result": chk.Result}, chk.At)
	return err
}

func participantName(c *Case, id string) (string, bool) {
	for _, p := range c.Parties {
		if p.ID == id {
			return p.Name, true
		}
		for _, a := range p.Agents {
			if a.ID == id {
				return a.Name, true
			}
		}
	}
	return "", false
}

// IdentityVerifier is a real-name or face-verification service a deployment plugs in (cmd/parley wires one from
// its settings). Verify is called without any lock held; it returns whether the person passed and the
// service's reference for the verification, which the certificate and the trail name.
type IdentityVerifier interface {
	Name() string
	Verify(ctx context.Context, req VerificationRequest) (*VerificationResult, error)
}

// VerificationRequest is what a verifier is asked: who the case says the person is, and what the person's device
// collected for the service (a token from the service's own SDK, a photo…), passed on as is.
type VerificationRequest struct {
	CaseID        string `json:"case_id"`
	ParticipantID string `json:"participant_id"`
	Name          string `json:"name"`
	IDScheme      string `json:"id_scheme,omitempty"`
	IDNumber      string `json:"id_number,omitempty"`
	Evidence      []byte `json:"evidence,omitempty"`
}

// VerificationResult is a verifier's answer.
type VerificationResult struct {
	Passed    bool   `json:"passed"`
	Reference string `json:"reference"`
	Note      string `json:"note,omitempty"`
}

// MethodVerifier is the identity-check method recorded for a verification by an IdentityVerifier.
const MethodVerifier = "identity_verifier"

// VerifyIdentity has a party or agent verified by v and records the result as an identity check on its case.
func (s *Store) VerifyIdentity(ctx context.Context, p Principal, v IdentityVerifier, evidence []byte) (*CaseIdentityCheck, error) {
	if !p.IsPartySide() {
		return nil, Errorf(EFORBIDDEN, "a party or agent verifies its own identity")
	}
	if v == nil {
		return nil, Errorf(ENOTFOUND, "no identity verification service is configured: the mediator checks your identity in a session")
	}
	if len(evidence) > 4<<20 {
		return nil, Invalid(map[string]string{"evidence": "is larger than 4 MiB"})
	}
	c, err := s.Case(ctx, p.CaseID)
	if err != nil {
		return nil, err
	}
	req := VerificationRequest{CaseID: c.ID, ParticipantID: p.ID, Name: p.Name, Evidence: evidence}
	if party := c.Party(p.PartyID); party != nil && p.Kind == KindParty {
		req.IDNumber, req.IDScheme = party.IDNumber, "id_card"
		if party.Kind == PartyCompany {
			req.IDScheme = "uscc"
		}
	}
	res, err := v.Verify(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("cases: identity verifier %s: %w", v.Name(), err)
	}
	if res == nil {
		return nil, errors.New("cases: identity verifier returned no result")
	}
	result := "failed"
	if res.Passed {
		result = "passed"
	}
	note := strings.TrimSpace(res.Reference)
	if res.Note != "" {
		note = strings.TrimSpace(note + " " + res.Note)
	}
	if len(note) > 1000 {
		note = note[:1000]
	}
	var out *CaseIdentityCheck
	err = s.withCase(ctx, p, c.ID, "case", func(tx pgx.Tx, c *Case) error {
		out = &CaseIdentityCheck{IdentityCheck: IdentityCheck{ParticipantID: p.ID, Name: p.Name, Method: MethodVerifier, Result: result, Note: note,
			CheckedBy: "verifier:" + v.Name(), CheckedByName: v.Name(), At: s.now()}}
		return s.insertIdentityCheck(ctx, tx, c.ID, Principal{Kind: KindSystem, Name: v.Name()}, out)
	})
	if err != nil {
		return nil, dbErr("record verification", err)
	}
	return out, nil
}
