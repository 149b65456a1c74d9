package cases_test

import (
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
)

func TestChecklistFor(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := &cases.Case{Parties: []cases.Party{
		{ID: "p1", Name: "甲", Side: cases.Applicant, ConsentOnline: true, ConsentAt: &now, ServiceAddress: "a@example.cn"},
		{ID: "p2", Name: "乙", Side: cases.Respondent, ConsentAt: &now, Agents: []cases.Agent{{ID: "a2", Name: "律师"}}},
		{ID: "p3", Name: "丙", Side: cases.Respondent, Phone: "13800000000"},
	}}
	cl := cases.ChecklistFor(c, map[string]bool{"p1": true}, map[string]string{"p1": "passed", "a2": "failed", "p3": "passed"})
	if cl.SessionReady {
		t.Errorf("session ready with two parties that did not consent")
	}
	want := []cases.PartyTodo{
		{PartyID: "p1", Name: "甲", Side: cases.Applicant, Entered: true, Consent: cases.TodoDone, ServiceAddress: cases.TodoDone, Identity: cases.TodoDone, Done: true},
		{PartyID: "p2", Name: "乙", Side: cases.Respondent, Consent: cases.TodoDeclined, ServiceAddress: cases.TodoMissing, Identity: cases.TodoFailed},
		{PartyID: "p3", Name: "丙", Side: cases.Respondent, Consent: cases.TodoMissing, ServiceAddress: cases.TodoDone, Identity: cases.TodoDone},
	}
	for i, w := range want {
		if cl.Parties[i] != w {
			t.Errorf("party %d: got %+v, want %+v", i, cl.Parties[i], w)
		}
	}
	c.Parties = c.Parties[:1]
	if cl := cases.ChecklistFor(c, nil, nil); !cl.SessionReady || cl.Parties[0].Identity != cases.TodoMissing {
		t.Errorf("got %+v, want ready with the identity check missing", cl)
	}
}

func TestSignBlock(t *testing.T) {
	t.Parallel()
	d := &cases.Document{Kind: "agreement", Status: cases.DocSigning}
	for _, tt := range []struct {
		state cases.State
		want  string
	}{{cases.StateInMediation, cases.SignBlockAgreementNotReached}, {cases.StateSigning, ""}, {cases.StateSettled, ""}} {
		if got, _ := cases.SignBlock(&cases.Case{State: tt.state}, d); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.state, got, tt.want)
		}
	}
}
