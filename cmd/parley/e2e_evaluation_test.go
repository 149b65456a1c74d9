package main

import (
	"context"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestBrowserEvaluation (issue 12 §6): after mediation failed, the applicant on a phone (390×844) rates it from
// its case page, once: the form fits the screen, and the page then says it was rated.
func TestBrowserEvaluation(t *testing.T) {
	e := browserE2E(t, "TestBrowserEvaluation")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, c.Parties[0].ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	app := e.newTab("applicant", 390, 844)
	app.enter(e.base+"/join/"+string(tok), c.Parties[0].Phone)
	if _, err := e.store.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundApart, Note: "双方分歧过大",
		Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商。", Reasons: "双方对赔偿数额分歧过大。", Suggestions: "建议法院尽快立案审理。"}}); err != nil {
		t.Fatal(err)
	}
	app.open("/party")
	app.wait(`document.querySelector('#evaluation-form')`)
	app.fill(`#evaluation-form [name=satisfaction]`, "4")
	app.click(`#evaluation-form [name=heard]`)
	app.fill(`#evaluation-form [name=comment]`, "调解员耐心听取了我方意见。")
	app.pointShot("evaluation-party-form-390x844", `#evaluation-form`)
	for _, problem := range js[[]string](app, phoneCheck) {
		t.Errorf("the party's page at 390×844: %s", problem)
	}
	app.click(`#evaluation-form button[type=submit]`)
	app.wait(`document.querySelector('#evaluation-done')`)
	app.pointShot("evaluation-party-done-390x844", `#evaluation-done`)
	evs, err := e.store.Evaluations(ctx, w.Admin, c.ID)
	if err != nil || len(evs) != 1 || evs[0].Satisfaction != 4 || !evs[0].Heard || evs[0].Fair {
		t.Errorf("the stored rating: %v %+v", err, evs)
	}
	e.checkNoJSErrors()
	e.checkNoRefusals()
}
