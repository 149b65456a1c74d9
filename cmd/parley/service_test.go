package main

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
)

var servedLink = regexp.MustCompile(`/api/v1/served/(sv_[A-Za-z0-9_-]+)`)

func (n *captureNotifier) lastTo(t *testing.T, to string) Message {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.msgs) - 1; i >= 0; i-- {
		if n.msgs[i].To == to {
			return n.msgs[i]
		}
	}
	t.Fatalf("nothing sent to %s", to)
	return Message{}
}

func serviceRecords(t *testing.T, c *client, caseID string) []cases.ServiceRecord {
	t.Helper()
	var rs []cases.ServiceRecord
	if st := c.do("GET", "/api/v1/cases/"+caseID+"/service-records", nil, &rs); st != 200 {
		t.Fatalf("service records: %d", st)
	}
	return rs
}

// TestServiceAddressAndRecords: a party confirms its own service address (staff cannot); a scheduled session's
// notice is served on it (sent, accepted by the channel, reached and opened through its personal link, with the
// date in Beijing time), withheld from the party that has not confirmed, reached at once for the party that
// chose its page on Parley; the log notifier records "logged", never "delivered"; the ending notice names the
// ground in words.
func TestServiceAddressAndRecords(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party, agent, med, clerk := f.clientFor("party"), f.clientFor("agent"), f.clientFor("mediator"), f.clientFor("clerk")
	base := "/api/v1/cases/" + c.ID + "/service-address"
	if st, _ := clerk.raw("POST", base, cases.ServiceAddressInput{Channel: "sms", Address: "13900000001", Consent: true}); st != 403 {
		t.Errorf("a clerk confirmed a party's address: %d, want 403", st)
	}
	if st, raw := party.raw("POST", base, cases.ServiceAddressInput{Channel: "sms", Address: "call me", Consent: true}); st != 400 || !strings.Contains(string(raw), "address") {
		t.Errorf("a bad number: %d %s, want 400 naming address", st, raw)
	}
	var conf cases.ServiceConfirmation
	if st := party.do("POST", base, cases.ServiceAddressInput{Channel: "sms", Address: "139 0000 0001", Consent: true}, &conf); st != 201 || conf.Address != "13900000001" || !conf.Consent {
		t.Fatalf("confirm: %d %+v", st, conf)
	}
	// A scheduled session: the applicant is served, the respondent (no confirmation yet) is not.
	at := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // 10:00 in Beijing
	if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/sessions", cases.NewSession{Title: "第一次调解", ScheduledAt: &at}); st != 201 {
		t.Fatalf("schedule: %d %s", st, raw)
	}
	msg := e.notify.lastTo(t, "13900000001")
	for _, want := range []string{"2026年11月20日 10:00（北京时间）", "20 Nov 2026 10:00 (Beijing time)", "第一次调解", c.Number} {
		if !strings.Contains(msg.Body, want) {
			t.Errorf("the notice %q lacks %q", msg.Body, want)
		}
	}
	if strings.Contains(msg.Body, "session.") || strings.Contains(msg.Body, "case.") {
		t.Errorf("the notice names a raw event: %q", msg.Body)
	}
	recs := serviceRecords(t, clerk, c.ID)
	if len(recs) != 2 {
		t.Fatalf("%d service records, want 2", len(recs))
	}
	byParty := map[string]cases.ServiceRecord{}
	for _, r := range recs {
		byParty[r.PartyID] = r
	}
	app, resp := byParty[c.Parties[0].ID], byParty[c.Parties[1].ID]
	if app.Status != cases.ServiceAccepted || app.SentAt == nil || app.AcceptedAt == nil || app.EffectiveAt != nil || app.Kind != "session_notice" {
		t.Errorf("applicant's service %+v, want accepted by the channel, not yet effective", app)
	}
	if resp.Status != cases.ServiceWithheld || resp.SentAt != nil {
		t.Errorf("respondent's service %+v, want withheld (no confirmed address)", resp)
	}
	// The applicant opens its personal link: opened, and so reached (effective).
	m := servedLink.FindStringSubmatch(msg.Body)
	if m == nil {
		t.Fatalf("no personal link in %q", msg.Body)
	}
	var opened cases.ServiceRecord
	if st := e.anonymous().do("GET", "/api/v1/served/"+m[1], nil, &opened); st != 200 || opened.Status != cases.ServiceOpened || opened.OpenedAt == nil || opened.EffectiveAt == nil {
		t.Errorf("open the link: %d %+v", st, opened)
	}
	if st, _ := e.anonymous().raw("GET", "/api/v1/served/sv_forged", nil); st != 404 {
		t.Errorf("a forged link: %d, want 404", st)
	}
	// Each side reads its own services only.
	if rs := serviceRecords(t, agent, c.ID); len(rs) != 1 || rs[0].PartyID != c.Parties[1].ID {
		t.Errorf("the respondent's agent reads %+v, want only its party's", rs)
	}
	// The respondent's agent chooses service on the party's page: reached at once; it opens it there.
	if st, raw := agent.raw("POST", base, cases.ServiceAddressInput{Channel: "in_app", Consent: true}); st != 201 {
		t.Fatalf("in-app: %d %s", st, raw)
	}
	// The log notifier: a notice it "sends" is logged, and the record says so — never delivered.
	e.app.notify = logNotifier{slog.New(slog.DiscardHandler)}
	if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/actions/end", cases.Params{Ground: cases.GroundApart, Note: "双方对赔偿数额分歧过大", Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "双方对赔偿数额分歧过大", Suggestions: "建议法院尽快立案审理"}}); st != 200 {
		t.Fatalf("end: %d %s", st, raw)
	}
	recs = serviceRecords(t, clerk, c.ID)
	var ending []cases.ServiceRecord
	for _, r := range recs {
		if r.Kind == "ending_notice" {
			ending = append(ending, r)
		}
	}
	if len(ending) != 2 {
		t.Fatalf("%d ending notices, want 2", len(ending))
	}
	for _, r := range ending {
		if !strings.Contains(r.Body, "各方分歧较大") || !strings.Contains(r.Body, "too far apart") {
			t.Errorf("ending notice %q does not name the ground in words", r.Body)
		}
		switch r.PartyID {
		case c.Parties[0].ID:
			if r.Status != cases.ServiceSent || r.Result != "logged" {
				t.Errorf("through the log notifier: %s %q, want sent, logged", r.Status, r.Result)
			}
		case c.Parties[1].ID:
			if r.Status != cases.ServiceReached || r.EffectiveAt == nil {
				t.Errorf("in-app: %+v, want reached and effective", r)
			}
			var o cases.ServiceRecord
			if st := agent.do("POST", "/api/v1/service-records/"+r.ID+"/open", nil, &o); st != 200 || o.Status != cases.ServiceOpened {
				t.Errorf("open in-app: %d %+v", st, o)
			}
			if st, _ := party.raw("POST", "/api/v1/service-records/"+r.ID+"/open", nil); st != 404 {
				t.Errorf("the other side opened it: %d, want 404", st)
			}
		}
	}
	// The service certificate of the applicant's opened session notice: a PDF signed by the platform, valid,
	// for the served party and the staff; not for the other side.
	cr, pdf := party.get("/api/v1/service-records/" + app.ID + "/certificate")
	if cr.StatusCode != 200 || cr.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(cr.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("certificate: %d %s %s", cr.StatusCode, cr.Header.Get("Content-Type"), pdf[:min(len(pdf), 200)])
	}
	rep, err := signing.Verify(pdf, e.app.docs.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RolePlatform {
		t.Errorf("certificate verification: %v %+v", err, rep)
	}
	if r1, _ := agent.get("/api/v1/service-records/" + app.ID + "/certificate"); r1.StatusCode != 404 {
		t.Errorf("the other side read the applicant's certificate: %d, want 404", r1.StatusCode)
	}
	if r2, _ := clerk.get("/api/v1/service-records/" + resp.ID + "/certificate"); r2.StatusCode != 200 {
		t.Errorf("the clerk reads the withheld service's certificate: %d, want 200", r2.StatusCode)
	}
	evs, _ := e.store.Events(context.Background(), c.ID)
	issued := 0
	for _, ev := range evs {
		if ev.Type == "service.certificate_issued" {
			issued++
		}
	}
	if issued != 2 {
		t.Errorf("%d certificates in the trail, want 2", issued)
	}
	for _, ev := range evs {
		if strings.HasPrefix(ev.Type, "service.") && ev.Data["result"] == "delivered" {
			t.Errorf("event %d %s says delivered", ev.Seq, ev.Type)
		}
	}
	if rep, err := e.store.VerifyChain(context.Background(), c.ID); err != nil || !rep.Valid {
		t.Errorf("chain: %+v %v", rep, err)
	}
}

// serviceMatrix adds the service endpoints to TestAuthorisationMatrix.
func serviceMatrix() []matrixCall {
	caseP := func(suffix string) func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + suffix }
	}
	partyRecord := func(f *fixture) string {
		rec, _, err := f.store.BeginService(context.Background(), f.c.ID, cases.NewService{PartyID: f.c.Parties[0].ID, Kind: "session_notice", Title: "t", Body: "b"})
		if err != nil {
			f.t.Fatal(err)
		}
		return rec.ID
	}
	return []matrixCall{
		{route: "POST /api/v1/cases/{id}/service-address", path: caseP("/service-address"), body: func(*fixture, string) any {
			return cases.ServiceAddressInput{Channel: "in_app", Consent: true}
		}, allow: []string{"party", "agent"}},
		{route: "GET /api/v1/cases/{id}/service-address", path: caseP("/service-address"), allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}},
		{route: "GET /api/v1/cases/{id}/service-records", path: caseP("/service-records"), allow: viewers},
		{route: "POST /api/v1/service-records/{id}/open", path: func(f *fixture) string { return "/api/v1/service-records/" + partyRecord(f) + "/open" }, allow: []string{"party"}},
		{route: "GET /api/v1/service-records/{id}/certificate", path: func(f *fixture) string { return "/api/v1/service-records/" + partyRecord(f) + "/certificate" },
			allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "api_token"}},
		{route: "GET /api/v1/served/{token}", path: fixed("/api/v1/served/sv_unknown"), allow: []string{}},
		{route: "POST /api/v1/sms/receipts", path: fixed("/api/v1/sms/receipts"), body: func(*fixture, string) any {
			return cases.ServiceReceipt{MessageID: "m-unknown", Status: "delivered"}
		}, allow: []string{}}, // the provider's signature is the credential: no login opens it
	}
}

// TestCaseNumberAndFailureReport: the court's case number is checked against its format for the kind of case,
// and a failed mediation needs the mediator's report (facts, reasons, suggestions), which goes into the trail.
func TestCaseNumberAndFailureReport(t *testing.T) {
	e := newTestEnv(t)
	clerk := e.login(e.w.Clerk)
	for _, tc := range []struct {
		src    cases.Source
		number string
		status int
	}{
		{cases.SourceEntrustedOrdinary, "（2026）京73民初123号", 201},
		{cases.SourceEntrustedOrdinary, "京73民初123", 400},
		{cases.SourceEntrustedSimplified, "（2026）京73民诉前调12号", 400},
		{cases.SourceDelegated, "（2026）京73民诉前调12号", 201},
		{cases.SourceDelegated, "（2026）京73民初123号", 400},
	} {
		n := casestest.NewCase(tc.src)
		n.CourtCaseNumber = tc.number
		st, raw := clerk.raw("POST", "/api/v1/cases", n)
		if st != tc.status || (st == 400 && !strings.Contains(string(raw), "court_case_number")) {
			t.Errorf("%s with %q: %d %s, want %d", tc.src, tc.number, st, truncate(raw), tc.status)
		}
	}
	c := casestest.InMediation(t, e.store, e.w)
	med := e.login(e.w.Mediator)
	path := "/api/v1/cases/" + c.ID + "/actions/end"
	st, raw := med.raw("POST", path, cases.Params{Ground: cases.GroundApart, Note: "分歧较大"})
	if st != 400 || !strings.Contains(string(raw), `"report"`) {
		t.Errorf("a failure without a report: %d %s, want 400 naming report", st, raw)
	}
	st, raw = med.raw("POST", path, cases.Params{Ground: cases.GroundApart, Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "", Suggestions: "建议立案"}})
	if st != 400 || !strings.Contains(string(raw), "report.reasons") {
		t.Errorf("a report without reasons: %d %s, want 400 naming report.reasons", st, raw)
	}
	var out actionResponse
	rep := &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "申请人坚持 500 万元，被申请人仅愿支付 50 万元", Suggestions: "建议法院尽快立案，并委托鉴定侵权产品销售额"}
	if st := med.do("POST", path, cases.Params{Ground: cases.GroundApart, Report: rep}, &out); st != 200 || out.Case.State != cases.StateFailed {
		t.Fatalf("end with a report: %d %+v", st, out.Case)
	}
	got, _ := out.Event.Data["report"].(map[string]any)
	if got["facts"] != rep.Facts || got["reasons"] != rep.Reasons || got["suggestions"] != rep.Suggestions {
		t.Errorf("the trail's report %v, want %+v", out.Event.Data["report"], rep)
	}
}

// TestEvaluationAndSatisfaction: after a case ends each party rates it once, as its own act; the mediator it
// rates cannot read the ratings; the statistics give the satisfaction by organisation and mediator, as JSON and
// CSV, counting a court's referral to an individual mediator for the mediator's organisation.
func TestEvaluationAndSatisfaction(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	// A court's referral to an individual mediator, no organisation named.
	c, err := e.store.CreateCase(ctx, e.w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	c = casestest.WaiveChoice(t, e.store, c)
	for _, st := range []struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{
		{e.w.Clerk, cases.ActRefer, cases.Params{MediatorIDs: []string{e.w.Mediator.ID}}},
		{e.w.Mediator, cases.ActAccept, cases.Params{}},
	} {
		res, err := e.store.Act(ctx, st.p, c.ID, st.a, st.in)
		if err != nil {
			t.Fatalf("%s: %v", st.a, err)
		}
		c = res.Case
	}
	if c.OrganisationID != "" {
		t.Fatalf("the referral named organisation %s", c.OrganisationID)
	}
	f := &fixture{testEnv: e, c: c}
	party, agent, med, judge := f.clientFor("party"), f.clientFor("agent"), f.clientFor("mediator"), f.clientFor("judge")
	path := "/api/v1/cases/" + c.ID + "/evaluation"
	if st, _ := party.raw("POST", path, cases.NewEvaluation{Satisfaction: 4, Heard: true, Fair: true}); st != 409 {
		t.Errorf("rating an open case: %d, want 409", st)
	}
	if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/actions/end", cases.Params{Ground: cases.GroundApart, Report: &cases.FailureReport{Facts: "双方协商三次", Reasons: "赔偿数额差距过大", Suggestions: "建议立案审理"}}); st != 200 {
		t.Fatalf("end: %d %s", st, raw)
	}
	if st, _ := party.raw("POST", path, cases.NewEvaluation{Satisfaction: 9}); st != 400 {
		t.Errorf("satisfaction 9: %d, want 400", st)
	}
	if st, _ := med.raw("POST", path, cases.NewEvaluation{Satisfaction: 5, Heard: true, Fair: true}); st != 403 {
		t.Errorf("the mediator rated itself: %d, want 403", st)
	}
	if st, _ := party.raw("POST", path, cases.NewEvaluation{Satisfaction: 4, Heard: true, Fair: true, Comment: "调解员很耐心"}); st != 201 {
		t.Errorf("the applicant's rating: %d", st)
	}
	if st, _ := party.raw("POST", path, cases.NewEvaluation{Satisfaction: 5, Heard: true, Fair: true}); st != 409 {
		t.Errorf("a second rating: %d, want 409", st)
	}
	if st, _ := agent.raw("POST", path, cases.NewEvaluation{Satisfaction: 2, Heard: false, Fair: true}); st != 201 {
		t.Errorf("the respondent's rating: %d", st)
	}
	var evs []cases.Evaluation
	if st := judge.do("GET", "/api/v1/cases/"+c.ID+"/evaluations", nil, &evs); st != 200 || len(evs) != 2 {
		t.Errorf("the court reads %d ratings (%d), want 2", len(evs), st)
	}
	if st, _ := med.raw("GET", "/api/v1/cases/"+c.ID+"/evaluations", nil); st != 403 {
		t.Errorf("the mediator read its ratings: %d, want 403", st)
	}
	if st := party.do("GET", "/api/v1/cases/"+c.ID+"/evaluations", nil, &evs); st != 200 || len(evs) != 1 || evs[0].PartyID != c.Parties[0].ID {
		t.Errorf("the applicant reads %+v, want its own rating only", evs)
	}
	var sat cases.SatisfactionStats
	if st := judge.do("GET", "/api/v1/stats/satisfaction", nil, &sat); st != 200 {
		t.Fatalf("satisfaction: %d", st)
	}
	if sat.Total.Ratings != 2 || sat.Total.Average != 3 || sat.Total.HeardShare != 0.5 || sat.Total.FairShare != 1 {
		t.Errorf("total %+v, want 2 ratings averaging 3, half heard, all fair", sat.Total)
	}
	if len(sat.ByOrganisation) != 1 || sat.ByOrganisation[0].Key != e.w.Org.ID {
		t.Errorf("by organisation %+v, want the mediator's organisation %s", sat.ByOrganisation, e.w.Org.ID)
	}
	if len(sat.ByMediator) != 1 || sat.ByMediator[0].Key != e.w.Mediator.ID || sat.ByMediator[0].Ratings != 2 {
		t.Errorf("by mediator %+v", sat.ByMediator)
	}
	// The case statistics count the referral for the mediator's organisation too.
	var stats cases.Stats
	if st := judge.do("GET", "/api/v1/stats", nil, &stats); st != 200 || len(stats.ByOrganisation) != 1 || stats.ByOrganisation[0].Key != e.w.Org.ID {
		t.Errorf("case statistics by organisation %+v, want the mediator's organisation", stats.ByOrganisation)
	}
	resp, body := judge.get("/api/v1/stats/satisfaction.csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "organisation,"+e.w.Org.ID+","+e.w.Org.Name+",2,3.00,0.500,1.000") {
		t.Errorf("CSV %d:\n%s", resp.StatusCode, body)
	}
}

// evaluationMatrix adds the evaluation endpoints to TestAuthorisationMatrix.
func evaluationMatrix() []matrixCall {
	caseP := func(suffix string) func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + suffix }
	}
	statsRoles := []string{"admin", "ip_officer", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator", "api_token"}
	return []matrixCall{
		// The fixture's case is in mediation: a party is answered 409 (allowed, not yet), everyone else is denied.
		{route: "POST /api/v1/cases/{id}/evaluation", path: caseP("/evaluation"), body: func(*fixture, string) any { return cases.NewEvaluation{Satisfaction: 4} }, allow: []string{"party", "agent"}},
		{route: "GET /api/v1/cases/{id}/evaluations", path: caseP("/evaluations"), allow: []string{"admin", "clerk", "judge", "party", "agent", "api_token"}},
		{route: "GET /api/v1/stats/satisfaction", path: fixed("/api/v1/stats/satisfaction"), allow: statsRoles},
		{route: "GET /api/v1/stats/satisfaction.csv", path: fixed("/api/v1/stats/satisfaction.csv"), allow: statsRoles},
		{route: "GET /api/v1/stats/satisfaction.pdf", path: fixed("/api/v1/stats/satisfaction.pdf"), allow: statsRoles},
	}
}

// TestServiceOfTheAgreement: when an agreement is reached, the party that accepts electronic service is served the
// notice that the agreement awaits its signature, in sentences; the one that does not is withheld.
func TestServiceOfTheAgreement(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party, med, clerk := f.clientFor("party"), f.clientFor("mediator"), f.clientFor("clerk")
	if st, raw := party.raw("POST", "/api/v1/cases/"+c.ID+"/service-address", cases.ServiceAddressInput{Channel: "email", Address: "legal@example.cn", Consent: true}); st != 201 {
		t.Fatalf("confirm: %d %s", st, raw)
	}
	if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}); st != 200 {
		t.Fatalf("end: %d %s", st, raw)
	}
	msg := e.notify.lastTo(t, "legal@example.cn")
	if !strings.Contains(msg.Body, "达成调解协议") || !strings.Contains(msg.Body, "awaits your signature") || !strings.Contains(msg.Body, "北京时间") {
		t.Errorf("agreement notice %q", msg.Body)
	}
	recs := serviceRecords(t, clerk, c.ID)
	got := map[string]string{}
	for _, r := range recs {
		if r.Kind == "agreement_to_sign" {
			got[r.PartyID] = r.Status
		}
	}
	if got[c.Parties[0].ID] != cases.ServiceAccepted || got[c.Parties[1].ID] != cases.ServiceWithheld {
		t.Errorf("agreement services %v, want accepted for the applicant and withheld for the respondent", got)
	}
}
