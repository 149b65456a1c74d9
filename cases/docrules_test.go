package cases_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// A document and a case in memory: the rules need no database.
func ruleFixture(ordered bool) (*cases.Case, *cases.Document, map[string]cases.Principal) {
	c := &cases.Case{ID: "c1", State: cases.StateSigning, OrganisationID: "org1",
		Parties:   []cases.Party{{ID: "p1", Side: cases.Applicant, Name: "甲"}, {ID: "p2", Side: cases.Respondent, Name: "乙"}},
		Mediators: []cases.MediatorAssignment{{AccountID: "m1", Name: "调解员", Status: cases.AssignAccepted}}}
	d := &cases.Document{ID: "d1", CaseID: "c1", Kind: cases.DocAgreement, Status: cases.DocSigning, Ordered: ordered, Signers: []cases.DocSigner{
		{Field: "sig-applicant-1", SubjectKind: cases.SignerParty, SubjectID: "p1", Name: "甲"},
		{Field: "sig-respondent-1", SubjectKind: cases.SignerParty, SubjectID: "p2", Name: "乙"},
		{Field: "sig-mediator-1", SubjectKind: cases.SignerAccount, SubjectID: "m1", Name: "调解员"},
		{Field: "sig-organisation", SubjectKind: cases.SignerOrganisation, SubjectID: "org1", Name: "调解中心"},
	}}
	who := map[string]cases.Principal{
		"applicant":  {Kind: cases.KindParty, ID: "p1", PartyID: "p1", CaseID: "c1", Side: cases.Applicant},
		"agent":      {Kind: cases.KindAgent, ID: "a2", PartyID: "p2", CaseID: "c1", Side: cases.Respondent},
		"mediator":   {Kind: cases.KindAccount, ID: "m1", Role: cases.RoleMediator},
		"org_admin":  {Kind: cases.KindAccount, ID: "o1", Role: cases.RoleOrgAdmin, OrgID: "org1"},
		"other_org":  {Kind: cases.KindAccount, ID: "o2", Role: cases.RoleOrgAdmin, OrgID: "org2"},
		"respondent": {Kind: cases.KindParty, ID: "p2", PartyID: "p2", CaseID: "c1", Side: cases.Respondent},
	}
	return c, d, who
}

func signed(d *cases.Document, field string, p cases.Principal, at time.Time) {
	d.Versions = append(d.Versions, cases.DocVersion{Version: len(d.Versions) + 2, Kind: "signed", Field: field, SignerKind: string(p.Kind), SignerID: p.ID, CreatedAt: at})
}

// TestSigningRules walks who may sign which field when, the order, and the seal after everyone else.
func TestSigningRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		ordered bool
		state   cases.State
		before  []string // fields signed first, by their signers
		who     string
		field   string
		want    string // error code, "" for allowed
	}{
		{"a party signs its own field", false, cases.StateSigning, nil, "applicant", "sig-applicant-1", ""},
		{"an agent signs for its party", false, cases.StateSigning, nil, "agent", "sig-respondent-1", ""},
		{"not someone else's field", false, cases.StateSigning, nil, "applicant", "sig-respondent-1", cases.EFORBIDDEN},
		{"staff cannot sign a party's field", false, cases.StateSigning, nil, "mediator", "sig-applicant-1", cases.EFORBIDDEN},
		{"nobody device-signs the seal", false, cases.StateSigning, nil, "org_admin", "sig-organisation", cases.EFORBIDDEN},
		{"an unknown field", false, cases.StateSigning, nil, "applicant", "sig-x", cases.EINVALID},
		{"not before mediation ended with an agreement", false, cases.StateInMediation, nil, "applicant", "sig-applicant-1", cases.ECONFLICT},
		{"after the effect the mediator still signs", false, cases.StateSettled, []string{"sig-applicant-1", "sig-respondent-1"}, "mediator", "sig-mediator-1", ""},
		{"not twice", false, cases.StateSigning, []string{"sig-applicant-1"}, "applicant", "sig-applicant-1", cases.ECONFLICT},
		{"an order: the first goes first", true, cases.StateSigning, nil, "applicant", "sig-applicant-1", ""},
		{"an order: the second waits", true, cases.StateSigning, nil, "respondent", "sig-respondent-1", cases.ECONFLICT},
		{"an order: the mediator waits for both", true, cases.StateSigning, []string{"sig-applicant-1"}, "mediator", "sig-mediator-1", cases.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, d, who := ruleFixture(tt.ordered)
			c.State = tt.state
			signers := map[string]string{"sig-applicant-1": "applicant", "sig-respondent-1": "respondent", "sig-mediator-1": "mediator"}
			for _, f := range tt.before {
				signed(d, f, who[signers[f]], time.Now())
			}
			_, err := cases.CheckSign(who[tt.who], c, d, tt.field)
			if got := cases.ErrorCode(err); got != tt.want {
				t.Errorf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	t.Run("the seal comes last, by the organisation", func(t *testing.T) {
		c, d, who := ruleFixture(false)
		for _, w := range []string{"applicant", "respondent"} {
			signed(d, map[string]string{"applicant": "sig-applicant-1", "respondent": "sig-respondent-1"}[w], who[w], time.Now())
		}
		if _, err := cases.CheckSeal(who["org_admin"], c, d); cases.ErrorCode(err) != cases.ECONFLICT {
			t.Errorf("seal before the mediator: %v", err)
		}
		signed(d, "sig-mediator-1", who["mediator"], time.Now())
		if _, err := cases.CheckSeal(who["other_org"], c, d); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("another organisation's admin: %v", err)
		}
		if _, err := cases.CheckSeal(who["applicant"], c, d); cases.ErrorCode(err) != cases.EFORBIDDEN {
			t.Errorf("a party: %v", err)
		}
		if f, err := cases.CheckSeal(who["org_admin"], c, d); err != nil || f.Field != "sig-organisation" {
			t.Errorf("the seal: %v", err)
		}
	})
	t.Run("effect at the last party's signature", func(t *testing.T) {
		_, d, who := ruleFixture(false)
		t0 := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
		signed(d, "sig-mediator-1", who["mediator"], t0.Add(3*time.Hour))
		if d.PartiesSignedAt() != nil {
			t.Fatal("effective without the parties")
		}
		signed(d, "sig-respondent-1", who["agent"], t0.Add(2*time.Hour))
		signed(d, "sig-applicant-1", who["applicant"], t0)
		if at := d.PartiesSignedAt(); at == nil || !at.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("effective at %v, want the later party signature %v", at, t0.Add(2*time.Hour))
		}
		if !d.SignedBy("sig-respondent-1", who["agent"]) || d.SignedBy("sig-respondent-1", who["respondent"]) {
			t.Error("SignedBy does not tell who signed")
		}
	})
	t.Run("what each caller may sign now", func(t *testing.T) {
		_, d, who := ruleFixture(true)
		if _, next, waiting := cases.SigningView(who["respondent"], d); next != "" || waiting != "sig-applicant-1" {
			t.Errorf("respondent: next %q waiting %q", next, waiting)
		}
		if fields, next, _ := cases.SigningView(who["applicant"], d); next != "sig-applicant-1" || len(fields) != 4 || fields[3].Device {
			t.Errorf("applicant: next %q, fields %+v", next, fields)
		}
	})
}

// TestRemediationStartsAFreshAgreement: after the court rejects the agreement and the parties mediate again, the new
// mediation drafts its own agreement (the rejected one is superseded, on the trail).
func TestRemediationStartsAFreshAgreement(t *testing.T) {
	t.Parallel()
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := casestest.InMediation(t, s, w)
	c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	old := casestest.SignedAgreement(t, s, c, true, nil)
	c, _ = s.Case(ctx, c.ID)
	for i := range c.Parties {
		c = act(t, s, casestest.PartyPrincipal(c, i), c, cases.ActApplyConfirmation, cases.Params{})
	}
	c = act(t, s, w.Judge, c, cases.ActRejectConfirmation, cases.Params{Reason: "协议内容违反法律规定"})
	c = act(t, s, w.Clerk, c, cases.ActRemediate, cases.Params{Reason: "双方愿意重新调解"})
	if d, _ := s.Document(ctx, old.ID); d.Status != cases.DocSuperseded {
		t.Errorf("the rejected agreement is %s, want superseded", d.Status)
	}
	c = act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}})
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	casestest.SignedAgreement(t, s, c, false, nil)
	if c, _ = s.Case(ctx, c.ID); c.State != cases.StateSettled {
		t.Errorf("after the new agreement: %s", c.State)
	}
}
