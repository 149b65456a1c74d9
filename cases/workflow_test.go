package cases

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture builds a case in state st referred by court "court" to organisation "org", with mediator "med"
// (accepted, presiding) and "med2" (assigned), and two parties.
func fixture(st State) *Case {
	now := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	due := now.Add(30 * 24 * time.Hour)
	return &Case{
		ID: "case", State: st, Source: SourceDelegated, CourtID: "court", OrganisationID: "org", DisputeType: DisputePatent,
		Mediators: []MediatorAssignment{
			{AccountID: "med", Name: "陈", Presiding: true, Status: AssignAccepted},
			{AccountID: "med2", Name: "刘", Status: AssignAssigned},
		},
		Parties: []Party{{ID: "pa", Side: Applicant, Name: "甲"}, {ID: "pr", Side: Respondent, Name: "乙"}},
		DueAt:   &due,
	}
}

// actors are principals with the relations a hand-written oracle says they have to fixture cases.
var actors = []struct {
	name string
	p    Principal
	rel  []Who
}{
	{"clerk of the court", Principal{Kind: KindAccount, ID: "clerk", Role: RoleClerk, OrgID: "court"}, []Who{WhoClerk}},
	{"clerk of another court", Principal{Kind: KindAccount, ID: "clerk2", Role: RoleClerk, OrgID: "court2"}, nil},
	{"judge of the court", Principal{Kind: KindAccount, ID: "judge", Role: RoleJudge, OrgID: "court"}, []Who{WhoJudge}},
	{"judge of another court", Principal{Kind: KindAccount, ID: "judge2", Role: RoleJudge, OrgID: "court2"}, nil},
	{"admin of the organisation", Principal{Kind: KindAccount, ID: "oa", Role: RoleOrgAdmin, OrgID: "org"}, []Who{WhoOrgAdmin}},
	{"admin of another organisation", Principal{Kind: KindAccount, ID: "oa2", Role: RoleOrgAdmin, OrgID: "org2"}, nil},
	{"accepted mediator", Principal{Kind: KindAccount, ID: "med", Role: RoleMediator, OrgID: "org"}, []Who{WhoMediator}},
	{"assigned mediator", Principal{Kind: KindAccount, ID: "med2", Role: RoleMediator, OrgID: "org"}, []Who{WhoAssignedMediator}},
	{"mediator of the organisation, not on the case", Principal{Kind: KindAccount, ID: "med3", Role: RoleMediator, OrgID: "org"}, nil},
	{"mediator elsewhere", Principal{Kind: KindAccount, ID: "med4", Role: RoleMediator, OrgID: "org2"}, nil},
	{"applicant", Principal{Kind: KindParty, ID: "pa", PartyID: "pa", CaseID: "case", Side: Applicant}, []Who{WhoParty}},
	{"respondent's agent", Principal{Kind: KindAgent, ID: "ag", PartyID: "pr", CaseID: "case", Side: Respondent}, []Who{WhoParty}},
	{"party of another case", Principal{Kind: KindParty, ID: "px", PartyID: "px", CaseID: "case2", Side: Applicant}, nil},
	{"platform admin", Principal{Kind: KindAccount, ID: "admin", Role: RoleAdmin}, nil},
	{"IP office officer", Principal{Kind: KindAccount, ID: "ipo", Role: RoleIPOfficer, OrgID: "ipoffice"}, nil},
	{"system", System, []Who{WhoSystem}},
}

// TestApplyGates walks every action × state × actor and checks that Apply refuses exactly what the table
// refuses: ECONFLICT for a state the action does not leave from, EFORBIDDEN for an actor without a listed
// relation, and something else (success or a requirement error) otherwise.
func TestApplyGates(t *testing.T) {
	env := Env{Now: time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC), Cal: DefaultCalendar(), Mediators: map[string]MediatorInfo{}, Orgs: map[string]OrgInfo{}}
	for _, tr := range Transitions {
		for _, st := range States {
			for _, a := range actors {
				c := fixture(st)
				before := cloneCase(c)
				_, err := Apply(c, tr.Action, a.p, Params{}, env)
				code := ErrorCode(err)
				inState := slices.Contains(tr.From, st)
				allowed := false
				for _, w := range a.rel {
					if slices.Contains(tr.Who, w) {
						allowed = true
					}
				}
				switch {
				case !inState && code != ECONFLICT:
					t.Errorf("%s in %s by %s: got %v, want a conflict", tr.Action, st, a.name, err)
				case inState && !allowed && code != EFORBIDDEN:
					t.Errorf("%s in %s by %s: got %v, want forbidden", tr.Action, st, a.name, err)
				case inState && allowed && isGateError(err):
					t.Errorf("%s in %s by %s: got %v, want it past the gates", tr.Action, st, a.name, err)
				}
				if err != nil && !equalCase(c, before) {
					t.Errorf("%s in %s by %s: refused but changed the case", tr.Action, st, a.name)
				}
			}
		}
	}
}

// isGateError reports whether err is Apply's refusal by state or relation (rather than by a requirement).
func isGateError(err error) bool {
	msg := ErrorMessage(err)
	return err != nil && (strings.HasSuffix(msg, "is not possible now") || strings.Contains(msg, " may not "))
}

func equalCase(a, b *Case) bool {
	return a.State == b.State && a.EndGround == b.EndGround && len(a.Mediators) == len(b.Mediators) && timesEqual(a.DueAt, b.DueAt) &&
		(a.Pending == nil) == (b.Pending == nil)
}

func TestTransitionsTableIsComplete(t *testing.T) {
	seen := map[Action]bool{}
	for _, tr := range Transitions {
		if seen[tr.Action] {
			t.Errorf("action %s listed twice", tr.Action)
		}
		seen[tr.Action] = true
		if tr.apply == nil || len(tr.From) == 0 || len(tr.Who) == 0 || tr.Requires == "" {
			t.Errorf("action %s is incomplete: %+v", tr.Action, tr)
		}
		for _, st := range tr.From {
			if !slices.Contains(States, st) {
				t.Errorf("action %s leaves from unknown state %s", tr.Action, st)
			}
		}
		if tr.To != "" && !slices.Contains(States, tr.To) {
			t.Errorf("action %s goes to unknown state %s", tr.Action, tr.To)
		}
	}
	// Every state but the initial one is reachable, and every non-final state can be left.
	reach := map[State]bool{StateRegistered: true}
	for _, tr := range Transitions {
		if tr.To != "" {
			reach[tr.To] = true
		}
	}
	reach[StateSigning], reach[StateFailed], reach[StateConfirmationPending] = true, true, true // targets chosen by inputs
	for _, st := range States {
		if !reach[st] {
			t.Errorf("state %s is not reachable", st)
		}
	}
	for _, st := range []State{StateConfirmed, StateStatementIssued, StateSuitWithdrawn, StateFiled, StateTrialResumed} {
		if !st.Final() {
			t.Errorf("state %s should be final", st)
		}
	}
}

func TestTimeLimitsBySource(t *testing.T) {
	env := Env{Now: time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC), Cal: DefaultCalendar()}
	for _, tt := range []struct {
		src  Source
		days int
	}{{SourceDelegated, 30}, {SourceDirect, 30}, {SourceEntrustedOrdinary, 15}, {SourceEntrustedSimplified, 7}} {
		c := fixture(StateReferred)
		c.Source = tt.src
		c.Mediators = []MediatorAssignment{{AccountID: "med", Presiding: true, Status: AssignAssigned}}
		p := Principal{Kind: KindAccount, ID: "med", Role: RoleMediator, OrgID: "org"}
		if _, err := Apply(c, ActAccept, p, Params{}, env); err != nil {
			t.Fatalf("%s: accept: %v", tt.src, err)
		}
		if c.TimeLimitDays != tt.days {
			t.Errorf("%s: time limit %d days, want %d", tt.src, c.TimeLimitDays, tt.days)
		}
		if want := env.Cal.AddDays(env.Now, tt.days); !c.DueAt.Equal(want) {
			t.Errorf("%s: due %s, want %s", tt.src, c.DueAt, want)
		}
	}
}

func TestViewForHidesTheOtherSide(t *testing.T) {
	c := fixture(StateInMediation)
	c.Parties[0].Phone, c.Parties[0].IDNumber = "13900000001", "ID-A"
	c.Parties[1].Phone, c.Parties[1].IDNumber = "13900000002", "ID-R"
	c.Parties[1].Agents = []Agent{{ID: "ag", Name: "王律师", Phone: "13900000003", LicenceNo: "L"}}
	c.Pending = &Pending{MediatorChoices: map[string]string{"pa": "med", "pr": "med2"}}
	v := ViewFor(actors[10].p, c) // the applicant
	if v.Parties[0].Phone != "13900000001" || v.Parties[0].IDNumber != "ID-A" {
		t.Errorf("applicant's own details hidden from them: %+v", v.Parties[0])
	}
	if v.Parties[1].Phone != "" || v.Parties[1].IDNumber != "" || v.Parties[1].Agents[0].Phone != "" || v.Parties[1].Agents[0].LicenceNo != "" {
		t.Errorf("respondent's private details shown to the applicant: %+v", v.Parties[1])
	}
	if _, ok := v.Pending.MediatorChoices["pr"]; ok {
		t.Errorf("respondent's mediator choice shown to the applicant")
	}
	if c.Parties[1].Phone == "" || len(c.Pending.MediatorChoices) != 2 {
		t.Errorf("ViewFor changed the case it was given")
	}
	if got := ViewFor(actors[0].p, c); got.Parties[1].Phone == "" {
		t.Errorf("clerk sees redacted parties")
	}
}
