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

// TestApplyGatesRequestedCourt extends the oracle to the court a direct application's parties applied to for
// judicial confirmation: its clerk has the relation requested_court (and sees the case); no other court does.
func TestApplyGatesRequestedCourt(t *testing.T) {
	env := Env{Now: time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC), Cal: DefaultCalendar(), Mediators: map[string]MediatorInfo{}, Orgs: map[string]OrgInfo{}}
	direct := func(st State) *Case {
		c := fixture(st)
		c.Source, c.CourtID = SourceDirect, ""
		c.Pending = &Pending{CourtRequest: &CourtRequest{CourtID: "court3", CourtName: "丙法院", At: env.Now}}
		return c
	}
	requested := []struct {
		name string
		p    Principal
		rel  []Who
	}{
		{"clerk of the requested court", Principal{Kind: KindAccount, ID: "clerk3", Role: RoleClerk, OrgID: "court3"}, []Who{WhoRequestedCourt}},
		{"judge of the requested court", Principal{Kind: KindAccount, ID: "judge3", Role: RoleJudge, OrgID: "court3"}, nil},
		{"clerk of another court", Principal{Kind: KindAccount, ID: "clerk2", Role: RoleClerk, OrgID: "court2"}, nil},
	}
	for _, a := range requested {
		if got := Relations(a.p, direct(StateSettled)); !slices.Equal(got, a.rel) {
			t.Errorf("%s: relations %v, want %v", a.name, got, a.rel)
		}
	}
	if !CanView(requested[0].p, direct(StateSettled)) || !CanView(requested[1].p, direct(StateSettled)) || CanView(requested[2].p, direct(StateSettled)) {
		t.Error("only the requested court's staff see a direct application applied to it")
	}
	for _, tr := range Transitions {
		for _, st := range States {
			for _, a := range requested {
				c := direct(st)
				_, err := Apply(c, tr.Action, a.p, Params{}, env)
				inState, allowed := slices.Contains(tr.From, st), false
				for _, w := range a.rel {
					allowed = allowed || slices.Contains(tr.Who, w)
				}
				switch code := ErrorCode(err); {
				case !inState && code != ECONFLICT:
					t.Errorf("%s in %s by %s: got %v, want a conflict", tr.Action, st, a.name, err)
				case inState && !allowed && code != EFORBIDDEN:
					t.Errorf("%s in %s by %s: got %v, want forbidden", tr.Action, st, a.name, err)
				case inState && allowed && isGateError(err):
					t.Errorf("%s in %s by %s: got %v, want it past the gates", tr.Action, st, a.name, err)
				}
			}
		}
	}
}

// TestDirectApplicationReachesACourt: a settled direct application without a court reaches one for judicial
// confirmation: every party names the same competent court, which accepts (the case is pending review there,
// with the court's 30 days to decide) or refuses (the parties may apply elsewhere).
func TestDirectApplicationReachesACourt(t *testing.T) {
	now := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)
	env := Env{Now: now, Cal: DefaultCalendar(), Orgs: map[string]OrgInfo{"court3": {ID: "court3", Name: "丙法院", Kind: OrgCourt}, "court4": {ID: "court4", Name: "丁法院", Kind: OrgCourt}, "org": {ID: "org", Kind: OrgMediation}}}
	settled := func() *Case {
		c := fixture(StateSettled)
		c.Source, c.CourtID = SourceDirect, ""
		c.EffectiveAt = ptr(now.Add(-24 * time.Hour))
		return c
	}
	pa, pr := actors[10].p, actors[11].p
	clerk3 := Principal{Kind: KindAccount, ID: "clerk3", Role: RoleClerk, OrgID: "court3"}
	c := settled()
	if _, err := Apply(c, ActApplyConfirmation, pa, Params{}, env); ErrorCode(err) != EINVALID {
		t.Errorf("apply without a court: %v, want invalid (name the court)", err)
	}
	if _, err := Apply(c, ActApplyConfirmation, pa, Params{CourtID: "org"}, env); ErrorCode(err) != EINVALID {
		t.Errorf("apply to an organisation: %v, want invalid", err)
	}
	if _, err := Apply(c, ActApplyConfirmation, pa, Params{CourtID: "court3"}, env); err != nil {
		t.Fatalf("the applicant applies: %v", err)
	}
	if _, err := Apply(c, ActApplyConfirmation, pr, Params{CourtID: "court4"}, env); ErrorCode(err) != EUNPROCESSABLE {
		t.Errorf("the respondent names another court: %v, want unprocessable (the application is joint)", err)
	}
	out, err := Apply(c, ActApplyConfirmation, pr, Params{CourtID: "court3"}, env)
	if err != nil || c.Pending.CourtRequest == nil || c.Pending.CourtRequest.CourtID != "court3" || c.State != StateSettled || out.EventType != "case.confirmation_requested" {
		t.Fatalf("joint application: %+v %v", c.Pending, err)
	}
	// The other court cannot act on it; the requested court refuses it, and the parties apply elsewhere.
	if _, err := Apply(cloneCase(c), ActAcceptCourtRequest, actors[0].p, Params{}, env); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("another court's clerk accepts: %v", err)
	}
	refused := cloneCase(c)
	if _, err := Apply(refused, ActRefuseCourtRequest, clerk3, Params{}, env); ErrorCode(err) != EINVALID {
		t.Errorf("refuse without a reason: %v", err)
	}
	if _, err := Apply(refused, ActRefuseCourtRequest, clerk3, Params{Reason: "本院无管辖权"}, env); err != nil || refused.Pending != nil || refused.CourtID != "" {
		t.Fatalf("refuse: %+v %v", refused.Pending, err)
	}
	if _, err := Apply(refused, ActApplyConfirmation, pa, Params{CourtID: "court4"}, env); err != nil {
		t.Errorf("apply elsewhere after a refusal: %v", err)
	}
	// Accepted: the case goes to the court for review.
	out, err = Apply(c, ActAcceptCourtRequest, clerk3, Params{}, env)
	if err != nil || c.State != StateConfirmationPending || c.CourtID != "court3" || c.CourtName != "丙法院" || c.Pending.CourtRequest != nil || len(c.Pending.ConfirmationApps) != 2 {
		t.Fatalf("accept: %+v %v", c, err)
	}
	if want := ConfirmationDecideBy(env.Cal, now).UTC().Format(time.RFC3339); out.Data["decide_by"] != want {
		t.Errorf("decide_by %v, want %s", out.Data["decide_by"], want)
	}
	// Past the 30 days after the agreement took effect, no application.
	late := settled()
	late.EffectiveAt = ptr(now.Add(-40 * 24 * time.Hour))
	if _, err := Apply(late, ActApplyConfirmation, pa, Params{CourtID: "court3"}, env); ErrorCode(err) != EUNPROCESSABLE {
		t.Errorf("a late application: %v", err)
	}
}

// TestReferralWaitsForTheChoiceWindow: inside the parties' 2-working-day window the clerk cannot refer unless
// every party waived the choice; each party waives for itself (or the clerk records a waiver given in writing).
func TestReferralWaitsForTheChoiceWindow(t *testing.T) {
	now := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	cal := DefaultCalendar()
	env := Env{Now: now, Cal: cal, Mediators: map[string]MediatorInfo{"med": {ID: "med", Name: "陈", OrgID: "org", OnRoster: true, Active: true}}, Orgs: map[string]OrgInfo{}}
	c := fixture(StateRegistered)
	c.Mediators = nil
	c.ChooseDueAt = ptr(cal.AddWorkingDays(now, 2))
	clerk := actors[0].p
	refer := Params{MediatorIDs: []string{"med"}}
	if _, err := Apply(cloneCase(c), ActRefer, clerk, refer, env); ErrorCode(err) != EUNPROCESSABLE {
		t.Errorf("refer inside the window: %v, want unprocessable", err)
	}
	if _, err := Apply(c, ActWaiveChoice, actors[10].p, Params{}, env); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(cloneCase(c), ActRefer, clerk, refer, env); ErrorCode(err) != EUNPROCESSABLE {
		t.Errorf("refer with one waiver: %v, want unprocessable", err)
	}
	if _, err := Apply(cloneCase(c), ActWaiveChoice, clerk, Params{PartyID: "pr"}, env); ErrorCode(err) != EINVALID {
		t.Errorf("a clerk recording a waiver without saying how: %v, want invalid", err)
	}
	if _, err := Apply(c, ActWaiveChoice, actors[11].p, Params{}, env); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(c, ActRefer, clerk, refer, env); err != nil || c.State != StateReferred {
		t.Errorf("refer once every party waived: %v", err)
	}
	// After the window the clerk refers without waivers.
	d := fixture(StateRegistered)
	d.Mediators = nil
	d.ChooseDueAt = ptr(cal.AddWorkingDays(now, 2))
	later := env
	later.Now = d.ChooseDueAt.Add(time.Minute)
	if _, err := Apply(d, ActRefer, clerk, refer, later); err != nil {
		t.Errorf("refer after the window: %v", err)
	}
}
