package cases_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestSigningIdentityRule walks the domain rule behind a party's signing certificate.
func TestSigningIdentityRule(t *testing.T) {
	t0 := time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC)
	c := &cases.Case{ID: "c", Number: "（2026）知调字第000001号", Parties: []cases.Party{
		{ID: "p1", Side: cases.Applicant, Kind: cases.PartyCompany, Name: "某公司", IDNumber: "91110000MA0000000X"},
		{ID: "p2", Side: cases.Respondent, Kind: cases.PartyPerson, Name: "李四", IDNumber: "110101199001011234",
			Agents: []cases.Agent{{ID: "a1", PartyID: "p2", Name: "王律师", Lawyer: true, LicenceNo: "11101201910000000"}}},
	}}
	party := cases.Principal{Kind: cases.KindParty, ID: "p2", PartyID: "p2", CaseID: "c", Side: cases.Respondent}
	agent := cases.Principal{Kind: cases.KindAgent, ID: "a1", PartyID: "p2", CaseID: "c", Side: cases.Respondent}
	company := cases.Principal{Kind: cases.KindParty, ID: "p1", PartyID: "p1", CaseID: "c", Side: cases.Applicant}
	staff := cases.Principal{Kind: cases.KindAccount, ID: "m", Role: cases.RoleMediator}
	check := func(id int64, who, by string, at time.Time, result string) cases.CaseIdentityCheck {
		return cases.CaseIdentityCheck{ID: id, IdentityCheck: cases.IdentityCheck{ParticipantID: who, Method: "id_card_on_camera", Result: result, CheckedBy: by, CheckedByName: by, At: at}}
	}
	decided := t0.Add(time.Hour)
	corrected := []cases.ContactCorrection{{PartyID: "p2", Kind: cases.CorrectionStaff, Status: cases.CorrectionApplied, RequestedBy: "clerk", DecidedAt: &decided}}
	selfChange := []cases.ContactCorrection{{PartyID: "p2", Kind: cases.CorrectionSelf, Status: cases.CorrectionApplied, RequestedBy: "p2", DecidedAt: &decided}}
	pending := []cases.ContactCorrection{{PartyID: "p2", Kind: cases.CorrectionStaff, Status: cases.CorrectionPending, RequestedBy: "clerk"}}
	for _, tc := range []struct {
		name        string
		p           cases.Principal
		checks      []cases.CaseIdentityCheck
		corrections []cases.ContactCorrection
		want        string // "" passes; else the identity field of the refusal
		wantCheck   int64
	}{
		{name: "staff are not gated", p: staff},
		{name: "no check", p: party, want: cases.IdentityCheckRequired},
		{name: "someone else's check", p: party, checks: []cases.CaseIdentityCheck{check(1, "p1", "m", t0, "passed")}, want: cases.IdentityCheckRequired},
		{name: "a passed check", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed")}, wantCheck: 1},
		{name: "the latest check failed", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed"), check(2, "p2", "m", t0.Add(time.Minute), "failed")}, want: cases.IdentityLatestCheckFailed},
		{name: "corrected: the old check no longer counts", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed")}, corrections: corrected, want: cases.IdentityRecheckRequired},
		{name: "corrected: the requester's own check does not count", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed"), check(2, "p2", "clerk", decided.Add(time.Minute), "passed")}, corrections: corrected, want: cases.IdentityRecheckRequired},
		{name: "corrected: a new check by someone else counts", p: party, checks: []cases.CaseIdentityCheck{check(2, "p2", "clerk", decided.Add(time.Minute), "passed"), check(3, "p2", "m", decided.Add(2*time.Minute), "passed")}, corrections: corrected, wantCheck: 3},
		{name: "a pending correction changes nothing", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed")}, corrections: pending, wantCheck: 1},
		{name: "the party's own change keeps its check", p: party, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed")}, corrections: selfChange, wantCheck: 1},
		{name: "the agent needs its own check", p: agent, checks: []cases.CaseIdentityCheck{check(1, "p2", "m", t0, "passed")}, want: cases.IdentityCheckRequired},
		{name: "the agent's check", p: agent, checks: []cases.CaseIdentityCheck{check(4, "a1", "m", t0, "passed")}, corrections: corrected, wantCheck: 4},
		{name: "a company", p: company, checks: []cases.CaseIdentityCheck{check(5, "p1", "m", t0, "passed")}, wantCheck: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := cases.SigningIdentity(tc.p, c, tc.checks, tc.corrections)
			if tc.want != "" {
				var e *cases.Error
				if !errors.As(err, &e) || e.Code != cases.EUNPROCESSABLE || e.Fields["identity"] != tc.want {
					t.Fatalf("got %v, want a refusal %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want evidence", err)
			}
			if tc.wantCheck == 0 {
				if ev != nil {
					t.Fatalf("got evidence %+v for staff", ev)
				}
				return
			}
			if ev == nil || ev.CheckID != tc.wantCheck {
				t.Fatalf("got evidence %+v, want check %d", ev, tc.wantCheck)
			}
			switch tc.p.ID {
			case "p2":
				if ev.IDScheme != "id_card" || ev.IDNumber != "110101199001011234" {
					t.Errorf("identifier %s %s", ev.IDScheme, ev.IDNumber)
				}
			case "a1":
				if ev.IDScheme != "lawyer_licence" {
					t.Errorf("agent identifier %s", ev.IDScheme)
				}
			case "p1":
				if ev.IDScheme != "uscc" {
					t.Errorf("company identifier %s", ev.IDScheme)
				}
			}
		})
	}
}

// TestContactCorrectionFromTheOldContact confirms a clerk's correction with the code sent to the old phone,
// then has the party change its own contact with a code sent to the new one; the invitation links follow.
func TestContactCorrectionFromTheOldContact(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := casestest.InMediation(t, s, w)
	party := c.Parties[0]
	_, tok1, err := s.CreateInvitation(ctx, w.Clerk, c.ID, party.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A second link for the same person revokes the first.
	_, tok2, err := s.CreateInvitation(ctx, w.Mediator, c.ID, party.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InvitationInfo(ctx, string(tok1)); err == nil {
		t.Error("the replaced link still works")
	}
	if _, err := s.InvitationInfo(ctx, string(tok2)); err != nil {
		t.Errorf("the newest link: %v", err)
	}
	// A session of the party, to be revoked.
	ws, err := s.CreateWebSession(ctx, cases.KindParty, party.ID, c.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	phone := "13622223333"
	_, err = s.RequestContactCorrection(ctx, w.Mediator, c.ID, party.ID, cases.ContactChange{Phone: &phone, Reason: "换号"})
	wantCode(t, err, cases.EFORBIDDEN)
	_, err = s.RequestContactCorrection(ctx, w.OrgAdmin, c.ID, party.ID, cases.ContactChange{Phone: &phone, Reason: "换号"})
	wantCode(t, err, cases.EFORBIDDEN) // a referred case: the court's clerk corrects
	res, err := s.RequestContactCorrection(ctx, w.Clerk, c.ID, party.ID, cases.ContactChange{Phone: &phone, Reason: "当事人书面申请"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notices) == 0 || res.Notices[0].To != party.Phone || res.Notices[0].What != "code_old" || len(res.Notices[0].Code) != 6 {
		t.Fatalf("notices %+v: want the code to the old phone", res.Notices)
	}
	_, err = s.RequestContactCorrection(ctx, w.Clerk, c.ID, party.ID, cases.ContactChange{Phone: &phone, Reason: "再次"})
	wantCode(t, err, cases.ECONFLICT)
	_, err = s.ConfirmContactCorrection(ctx, casestest.PartyPrincipal(c, 0), c.ID, res.Correction.ID, string(res.Notices[0].Code))
	wantCode(t, err, cases.EFORBIDDEN) // a staff correction's code is entered by staff
	clock.Advance(time.Minute)
	done, err := s.ConfirmContactCorrection(ctx, w.Clerk, c.ID, res.Correction.ID, string(res.Notices[0].Code))
	if err != nil {
		t.Fatal(err)
	}
	if done.Correction.Status != cases.CorrectionApplied || done.Correction.Confirmation != cases.ConfirmOldContact || done.Revoked.Invitations != 1 || done.Revoked.Sessions != 1 {
		t.Fatalf("confirmed %+v revoked %+v", done.Correction, done.Revoked)
	}
	if _, _, err := s.WebSessionPrincipal(ctx, string(ws.Token)); err == nil {
		t.Error("the party's session survived the correction")
	}
	if _, err := s.InvitationInfo(ctx, string(tok2)); err == nil {
		t.Error("the party's link survived the correction")
	}
	got, _ := s.Case(ctx, c.ID)
	if got.Parties[0].Phone != phone {
		t.Fatalf("phone %s", got.Parties[0].Phone)
	}
	// The code is spent.
	_, err = s.ConfirmContactCorrection(ctx, w.Clerk, c.ID, res.Correction.ID, string(res.Notices[0].Code))
	wantCode(t, err, cases.ECONFLICT)

	// The party changes its own contact: the code goes to the new phone; a wrong code changes nothing.
	p := casestest.PartyPrincipal(got, 0)
	newPhone := "13644445555"
	own, err := s.RequestOwnContactChange(ctx, p, cases.ContactChange{Phone: &newPhone})
	if err != nil {
		t.Fatal(err)
	}
	if own.Notices[0].To != newPhone || own.Notices[0].What != "code_new" {
		t.Fatalf("own change notices %+v", own.Notices)
	}
	_, err = s.ConfirmContactCorrection(ctx, w.Clerk, c.ID, own.Correction.ID, string(own.Notices[0].Code))
	wantCode(t, err, cases.EFORBIDDEN)
	_, err = s.ConfirmContactCorrection(ctx, p, c.ID, own.Correction.ID, "000000")
	wantCode(t, err, cases.EUNPROCESSABLE)
	applied, err := s.ConfirmContactCorrection(ctx, p, c.ID, own.Correction.ID, string(own.Notices[0].Code))
	if err != nil {
		t.Fatal(err)
	}
	if applied.Correction.Confirmation != cases.ConfirmNewContact || applied.Notices[0].To != phone || applied.Notices[0].What != "applied_old" {
		t.Fatalf("own change applied %+v notices %+v", applied.Correction, applied.Notices)
	}
	evs, _ := s.Events(ctx, c.ID)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	for _, want := range []string{"contact.correction_requested", "contact.corrected", "contact.changed_by_party"} {
		found := false
		for _, e := range evs {
			if e.Type == want {
				found = true
				if cases.EventVisible(casestest.PartyPrincipal(c, 1), e) {
					t.Errorf("%s is visible to the other side", want)
				}
			}
		}
		if !found {
			t.Errorf("trail %v lacks %s", types, want)
		}
	}
	if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Errorf("chain %+v %v", rep, err)
	}
}
