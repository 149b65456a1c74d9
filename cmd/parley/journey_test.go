package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestJourneyAPI checks what the pages need to never offer a dead end: errors with a stable code and params
// the dictionaries know, the parties' checklist that says a session cannot start before every consent, and an
// agreement that is not offered for signing before the mediator records it.
func TestJourneyAPI(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	w := e.w
	zh, en := readDictionary(t, "zh-CN"), readDictionary(t, "en")
	c, err := e.store.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	c = casestest.WaiveChoice(t, e.store, c)
	for _, st := range []struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{{w.Clerk, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}}}, {w.Mediator, cases.ActAccept, cases.Params{}}} {
		if _, err := e.store.Act(ctx, st.p, c.ID, st.a, st.in); err != nil {
			t.Fatal(err)
		}
	}
	med := e.login(w.Mediator)

	// errorOf reads an error answer and checks that both dictionaries say its message and reasons.
	errorOf := func(raw []byte) errorBody {
		t.Helper()
		var out apiError
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		b := out.Error
		if b.Key == "" || zh[b.Key] == "" || en[b.Key] == "" {
			t.Errorf("error %s: its key %q is not in both dictionaries", raw, b.Key)
		}
		for f, r := range b.Reasons {
			if zh[r.Key] == "" || en[r.Key] == "" {
				t.Errorf("error %s: the reason of %s (%q) is not in both dictionaries", raw, f, r.Key)
			}
		}
		return b
	}

	// Before the parties consent: the checklist says so, and starting a session is refused saying who.
	var cl cases.Checklist
	if st := med.do("GET", "/api/v1/cases/"+c.ID+"/checklist", nil, &cl); st != 200 {
		t.Fatalf("checklist: %d", st)
	}
	if cl.SessionReady || len(cl.Parties) != 2 || cl.Parties[0].Consent != cases.TodoMissing || cl.Parties[0].Identity != cases.TodoMissing || cl.Parties[0].ServiceAddress != cases.TodoDone {
		t.Errorf("checklist before consent: %+v", cl)
	}
	st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/sessions", cases.NewSession{Title: "第一次调解", Start: true})
	if st != 422 {
		t.Fatalf("a session before consent: %d %s", st, raw)
	}
	if b := errorOf(raw); !strings.Contains(b.Params["1"], c.Parties[0].Name) || !strings.Contains(zh[b.Key], "{1}") {
		t.Errorf("the refused session names %+v, want the parties who did not consent", b)
	}

	// A state conflict names the state and the action as domain values the page shows by their labels.
	party := e.enter(c.ID, c.Parties[0].ID, "")
	st, raw = party.raw("POST", "/api/v1/cases/"+c.ID+"/actions/apply_confirmation", cases.Params{})
	if st != 409 {
		t.Fatalf("apply_confirmation in mediation: %d %s", st, raw)
	}
	if b := errorOf(raw); b.Params["1"] != "in_mediation" || b.Kinds["1"] != "state" || b.Params["2"] != "apply_confirmation" || b.Kinds["2"] != "action" {
		t.Errorf("conflict params %+v kinds %+v, want the state and the action", b.Params, b.Kinds)
	}
	// A field's reason carries its numbers as params.
	st, raw = med.raw("POST", "/api/v1/cases/"+c.ID+"/actions/request_extension", cases.Params{Days: 100, Reason: "等待鉴定"})
	if st != 400 {
		t.Fatalf("a 100-day extension: %d %s", st, raw)
	}
	if b := errorOf(raw); b.Reasons["days"].Key != "apireason.must_be_between_n_and_n" || b.Reasons["days"].Params["2"] != "60" {
		t.Errorf("the reason of days: %+v", b.Reasons)
	}

	// Once both consented, the session may start.
	yes := true
	for _, p := range c.Parties {
		if _, err := e.store.Act(ctx, w.Clerk, c.ID, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: p.ID, Note: "书面同意"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := med.do("GET", "/api/v1/cases/"+c.ID+"/checklist", nil, &cl); st != 200 || !cl.SessionReady || cl.Parties[1].Consent != cases.TodoDone {
		t.Errorf("checklist after consent: %d %+v", st, cl)
	}
	if st := party.do("GET", "/api/v1/cases/"+c.ID+"/checklist", nil, nil); st != 403 {
		t.Errorf("a party reads the checklist: %d, want 403", st)
	}

	// An action open to the party that a rule refuses now comes with the reason instead of a button: a party
	// that already consented to an extension.
	if _, err := e.store.Act(ctx, w.Mediator, c.ID, cases.ActRequestExtension, cases.Params{Days: 10, Reason: "等待鉴定意见"}); err != nil {
		t.Fatal(err)
	}
	if st := party.do("POST", "/api/v1/cases/"+c.ID+"/actions/consent_extension", cases.Params{}, nil); st != 200 {
		t.Fatalf("the party's consent to the extension: %d", st)
	}
	var cr caseResponse
	if st := party.do("GET", "/api/v1/cases/"+c.ID, nil, &cr); st != 200 || cr.Blocked["consent_extension"].Key != "apierr.this_party_has_already_consented_to_the_extension" || zh[cr.Blocked["consent_extension"].Key] == "" {
		t.Errorf("the case for the party: %d blocked %+v, want consent_extension blocked as already given", st, cr.Blocked)
	}

	// An agreement drafted during mediation is not offered for signing until the mediator records it.
	c, err = e.store.Case(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.docs.CreateAgreement(ctx, w.Mediator, c, agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}}); err != nil {
		t.Fatal(err)
	}
	var docs []documentResponse
	if st := party.do("GET", "/api/v1/cases/"+c.ID+"/documents", nil, &docs); st != 200 || len(docs) != 1 {
		t.Fatalf("documents: %d %d", st, len(docs))
	}
	if d := docs[0]; d.Next != "" || d.Blocked != cases.SignBlockAgreementNotReached || d.BlockedBy != cases.WhoMediator {
		t.Errorf("the drafted agreement for the party: next %q blocked %q by %q, want blocked by the mediator", d.Next, d.Blocked, d.BlockedBy)
	}
	if _, err := e.store.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement}); err != nil {
		t.Fatal(err)
	}
	var after []documentResponse
	if st := party.do("GET", "/api/v1/cases/"+c.ID+"/documents", nil, &after); st != 200 || after[0].Next == "" || after[0].Blocked != "" {
		t.Errorf("after the agreement was recorded: %d next %q blocked %q, want the party's field next", st, after[0].Next, after[0].Blocked)
	}
}
