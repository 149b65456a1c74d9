package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
)

// pdfToText is the text of a PDF by pdftotext, with runs of white space made one space; the test is skipped
// without pdftotext.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestEvaluationReportPDF: the evaluation report of a period is a PDF signed by the platform, for the same
// callers as the CSV; its text has the figures of the JSON (cases ended and not settled, ratings, mean, heard and
// fair shares, the distribution 1–5, per organisation and per mediator), in Chinese and, with lang=en, in
// English; a party is refused; a bad period or language is a clear 400.
func TestEvaluationReportPDF(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	ended := func(mediator cases.Principal, ground cases.EndGround, ratings ...cases.NewEvaluation) *cases.Case {
		t.Helper()
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
			{e.w.Clerk, cases.ActRefer, cases.Params{MediatorIDs: []string{mediator.ID}}},
			{mediator, cases.ActAccept, cases.Params{}},
			{mediator, cases.ActEnd, cases.Params{Ground: ground, Report: &cases.FailureReport{Facts: "双方协商三次", Reasons: "赔偿数额差距过大", Suggestions: "建议立案审理"}}},
		} {
			res, err := e.store.Act(ctx, st.p, c.ID, st.a, st.in)
			if err != nil {
				t.Fatalf("%s: %v", st.a, err)
			}
			c = res.Case
		}
		for i, r := range ratings {
			if _, err := e.store.Evaluate(ctx, casestest.PartyPrincipal(c, i), c.ID, r); err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
		return c
	}
	c := ended(e.w.Mediator, cases.GroundApart, cases.NewEvaluation{Satisfaction: 4, Heard: true, Fair: true}, cases.NewEvaluation{Satisfaction: 2, Fair: true})
	ended(e.w.Mediator2, cases.GroundWithdrawn, cases.NewEvaluation{Satisfaction: 5, Heard: true, Fair: true})
	ended(e.w.Mediator, cases.GroundUnreachable) // ended, not rated

	f := &fixture{testEnv: e, c: c}
	judge, party := f.clientFor("judge"), f.clientFor("party")
	period := "?from=2026-11-01&to=2026-12-01"
	var sat cases.SatisfactionStats
	if st := judge.do("GET", "/api/v1/stats/satisfaction"+period, nil, &sat); st != 200 {
		t.Fatalf("satisfaction: %d", st)
	}
	if sat.Total.Ratings != 3 || sat.Total.Distribution != [5]int{0, 1, 0, 1, 1} {
		t.Fatalf("the JSON: %+v, want 3 ratings distributed 0/1/0/1/1", sat.Total)
	}
	resp, pdf := judge.get("/api/v1/stats/satisfaction.pdf" + period)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("report: %d %s %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), pdf[:min(len(pdf), 300)])
	}
	rep, err := signing.Verify(pdf, e.app.docs.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RolePlatform {
		t.Errorf("report verification: %v %+v", err, rep)
	}
	if dir := os.Getenv("PARLEY_REPORT_DIR"); dir != "" { // to look at it: pdftoppm -png -r 80 report-zh.pdf page
		os.WriteFile(filepath.Join(dir, "report-zh.pdf"), pdf, 0o644)
	}
	text := pdfToText(t, pdf)
	byName := func(rows []cases.Satisfaction, key string) cases.Satisfaction {
		for _, r := range rows {
			if r.Key == key {
				return r
			}
		}
		t.Fatalf("no row %s in %+v", key, rows)
		return cases.Satisfaction{}
	}
	m1, m2 := byName(sat.ByMediator, e.w.Mediator.ID), byName(sat.ByMediator, e.w.Mediator2.ID)
	for _, want := range []string{
		"调解评估报告", "北京知识产权法院受理的案件", "2026年11月1日至2026年11月30日",
		"调解终结案件 3", "调解成功 0", "调解不成 3", "评价份数 3", "平均满意度（1–5） 3.67", "感到意见被倾听 66.7%", "感到受到公平对待 100.0%",
		"5分 1 33.3%", "4分 1 33.3%", "3分 0 0.0%", "2分 1 33.3%", "1分 0 0.0%",
		e.w.Org.Name + " 3 0 3 3 3.67 66.7% 100.0% 0/1/0/1/1",
		m1.Name + " 2 0 2 2 3.00 50.0% 100.0% 0/1/0/1/0",
		m2.Name + " 1 0 1 1 5.00 100.0% 100.0% 0/0/0/0/1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	// English.
	resp, pdf = judge.get("/api/v1/stats/satisfaction.pdf" + period + "&lang=en")
	if resp.StatusCode != 200 {
		t.Fatalf("report in English: %d %s", resp.StatusCode, pdf[:min(len(pdf), 300)])
	}
	if dir := os.Getenv("PARLEY_REPORT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "report-en.pdf"), pdf, 0o644)
	}
	text = pdfToText(t, pdf)
	for _, want := range []string{"Mediation evaluation report", "Cases of 北京知识产权法院", "1 Nov 2026 to 30 Nov 2026", "Cases ended 3", "Mean satisfaction (1–5) 3.67", "Felt heard 66.7%"} {
		if !strings.Contains(text, want) {
			t.Errorf("the English report lacks %q:\n%s", want, text)
		}
	}
	// Refusals.
	if st, _ := party.raw("GET", "/api/v1/stats/satisfaction.pdf", nil); st != 403 && st != 404 {
		t.Errorf("a party read the report: %d, want 403 or 404", st)
	}
	for q, field := range map[string]string{"?from=yesterday": "from", "?from=2026-12-01&to=2026-11-01": "to", "?lang=fr": "lang"} {
		if st, raw := judge.raw("GET", "/api/v1/stats/satisfaction.pdf"+q, nil); st != 400 || !strings.Contains(string(raw), field) {
			t.Errorf("%s: %d %s, want 400 naming %s", q, st, truncate(raw), field)
		}
	}
}
