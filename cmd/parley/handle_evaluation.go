package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// The HTTP side of evaluations (issue 12 §6; rules in cases/evaluation.go).

func (a *app) evaluationRoutes() []route {
	period := []param{{"from", "string", "RFC 3339 or YYYY-MM-DD: cases registered from"}, {"to", "string", "RFC 3339 or YYYY-MM-DD: cases registered before"}}
	return []route{
		{"POST", "/api/v1/cases/{id}/evaluation", "A party rates the mediation of an ended case (satisfaction 1–5, heard, fairly treated, a comment; once, its own act)", "stats", anyone, nil, cases.NewEvaluation{}, cases.Evaluation{}, 201, handleEvaluate(a)},
		{"GET", "/api/v1/cases/{id}/evaluations", "A case's ratings (a party: its own; the case's court and the platform admin: all)", "stats", anyone, nil, nil, []cases.Evaluation{}, 200, handleEvaluations(a)},
		{"GET", "/api/v1/stats/satisfaction", "Satisfaction by organisation and presiding mediator over the cases the caller's statistics cover", "stats", staff, period, nil, cases.SatisfactionStats{}, 200, handleSatisfaction(a, false)},
		{"GET", "/api/v1/stats/satisfaction.csv", "The same as CSV, for courts' and IP offices' evaluation reports", "stats", staff, period, nil, rawBody("text/csv"), 200, handleSatisfaction(a, true)},
		{"GET", "/api/v1/stats/satisfaction.pdf", "The evaluation report (调解评估报告) of the period as a PDF signed by the platform: cases ended, settled and not, ratings, mean satisfaction and its distribution 1–5, heard and fair shares, by organisation and presiding mediator, over the caller's scope", "stats", staff,
			append(period, param{"lang", "string", "zh (default) or en"}), nil, rawBody("application/pdf"), 200, handleEvaluationReport(a)},
	}
}

func handleEvaluate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewEvaluation](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ev, err := a.store.Evaluate(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, ev)
	})
}

func handleEvaluations(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evs, err := a.store.Evaluations(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, evs)
	})
}

// period reads the ?from= and ?to= of the statistics and satisfaction endpoints: RFC 3339 times, or dates in the
// court's time zone.
func (a *app) period(r *http.Request) (cases.StatsFilter, error) {
	var f cases.StatsFilter
	fields := map[string]string{}
	for name, dst := range map[string]**time.Time{"from": &f.From, "to": &f.To} {
		v := r.URL.Query().Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02", v, a.store.Cal.Loc)
		}
		if err != nil {
			fields[name] = "must be a date (YYYY-MM-DD) or an RFC 3339 time"
			continue
		}
		*dst = &t
	}
	return f, cases.Invalid(fields)
}

func handleSatisfaction(a *app, asCSV bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := a.period(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		st, err := a.store.Satisfaction(r.Context(), principal(r), f)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !asCSV {
			encode(w, http.StatusOK, st)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", attachment("satisfaction.csv"))
		w.Write([]byte("\xef\xbb\xbf")) // a BOM, so that spreadsheet programs read the Chinese names as UTF-8
		cw := csv.NewWriter(w)
		cw.Write([]string{"group", "id", "name", "ratings", "average_satisfaction", "heard_share", "fair_share"})
		row := func(group string, s cases.Satisfaction) {
			cw.Write([]string{group, s.Key, s.Name, strconv.Itoa(s.Ratings), fmt.Sprintf("%.2f", s.Average), fmt.Sprintf("%.3f", s.HeardShare), fmt.Sprintf("%.3f", s.FairShare)})
		}
		row("total", st.Total)
		for _, s := range st.ByOrganisation {
			row("organisation", s)
		}
		for _, s := range st.ByMediator {
			row("mediator", s)
		}
		cw.Flush()
	})
}

func handleEvaluationReport(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := a.period(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		lang := r.URL.Query().Get("lang")
		if lang != "" && lang != "zh" && lang != "en" {
			fail(w, r, a.log, cases.Invalid(map[string]string{"lang": "is zh or en"}))
			return
		}
		rep, err := a.store.EvaluationReport(r.Context(), principal(r), f)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		pdf, err := a.docs.EvaluationReport(r.Context(), principal(r), rep, lang)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		name := "调解评估报告.pdf"
		if lang == "en" {
			name = "evaluation-report.pdf"
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", attachment(name))
		w.Header().Set("X-Content-SHA256", sha256Hex(pdf))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(pdf)
	})
}
