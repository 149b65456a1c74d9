package main

import (
	"regexp"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

var consentLinkRE = regexp.MustCompile(`/consent/(pc_[A-Za-z0-9_-]+)`)

// TestExtensionConsentIsEachPartysOwnAct: the mediator asks for an extension; staff cannot record a party's
// consent; each party consents itself, in the app or through the personal link in its served notice; the time
// limit moves when the last party consented.
func TestExtensionConsentIsEachPartysOwnAct(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	mediator, clerk := e.login(e.w.Mediator), e.login(e.w.Clerk)
	var res actionResponse
	if st := mediator.do("POST", "/api/v1/cases/"+c.ID+"/actions/request_extension", cases.Params{Days: 10, Reason: "需等待被申请人提交销售数据"}, &res); st != 200 {
		t.Fatalf("request extension: %d", st)
	}
	due := *res.Case.DueAt
	for _, staff := range []*client{mediator, clerk} {
		if st := staff.do("POST", "/api/v1/cases/"+c.ID+"/actions/consent_extension", cases.Params{PartyID: c.Parties[1].ID, Note: "电话中同意"}, nil); st != 403 {
			t.Errorf("staff recorded a party's consent: %d, want 403", st)
		}
	}
	// The applicant consents in the app.
	applicant := e.enter(c.ID, c.Parties[0].ID, "")
	if st := applicant.do("POST", "/api/v1/cases/"+c.ID+"/actions/consent_extension", nil, &res); st != 200 || !res.Case.DueAt.Equal(due) {
		t.Fatalf("the applicant's consent: %d, due %v", st, res.Case.DueAt)
	}
	// The respondent through the link in its served notice, which names the respondent and the days.
	link := ""
	e.notify.mu.Lock()
	for _, m := range e.notify.msgs {
		if mm := consentLinkRE.FindStringSubmatch(m.Body); mm != nil && m.To == c.Parties[1].Phone {
			link = mm[1]
		}
	}
	e.notify.mu.Unlock()
	if link == "" {
		t.Fatal("the respondent's notice carries no consent link")
	}
	anon := e.anonymous()
	var info cases.ConsentLink
	if st := anon.do("GET", "/api/v1/consent-links/"+link, nil, &info); st != 200 || info.PartyName != c.Parties[1].Name || info.Days != 10 {
		t.Fatalf("link info: %d %+v", st, info)
	}
	var out consentLinkResponse
	if st := anon.do("POST", "/api/v1/consent-links/"+link, nil, &out); st != 200 || !out.Extended {
		t.Fatalf("consent by link: %d %+v", st, out)
	}
	if st := anon.do("POST", "/api/v1/consent-links/"+link, nil, nil); st != 409 {
		t.Errorf("a used link: %d, want 409", st)
	}
	if st := anon.do("POST", "/api/v1/consent-links/pc_forged", nil, nil); st != 404 {
		t.Errorf("a forged link: %d, want 404", st)
	}
	got, _ := e.store.Case(t.Context(), c.ID)
	if want := due.AddDate(0, 0, 10); !got.DueAt.Equal(want) || got.ExtendedDays != 10 {
		t.Errorf("after both consents: due %v (want %v), extended %d", got.DueAt, want, got.ExtendedDays)
	}
	evs, _ := e.store.Events(t.Context(), c.ID)
	methods := map[string]string{}
	for _, ev := range evs {
		if ev.Type == "case.consent_extension" || ev.Type == "case.extension_granted" {
			methods[ev.ActorName], _ = ev.Data["method"].(string)
			if ev.ActorKind != "party" {
				t.Errorf("an extension consent was recorded by %s %s", ev.ActorKind, ev.ActorName)
			}
		}
	}
	if methods[c.Parties[0].Name] != "in the app" || methods[c.Parties[1].Name] != cases.ConsentByNoticeLink {
		t.Errorf("consent methods on the trail: %v", methods)
	}
}
