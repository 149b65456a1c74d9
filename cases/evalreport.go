package cases

import (
	"context"
	"time"
)

// The evaluation report (issue 12 §6; notice §14): for a period, over the cases the caller's statistics cover
// (statsScope: the platform, a court, an IP office's region, an organisation, a mediator), how many cases ended,
// settled and failed, how many ratings were given and what they said — in total, by organisation and by
// presiding mediator. cmd/parley renders it as a signed PDF (docflow.EvaluationReport); the same figures are in
// GET /api/v1/stats and GET /api/v1/stats/satisfaction.

// ReportRow is the figures of one group of the evaluation report.
type ReportRow struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Ended   int    `json:"ended"`   // mediation ended on one of the eight grounds
	Settled int    `json:"settled"` // ended with an agreement
	Failed  int    `json:"failed"`  // ended without one
	Satisfaction
}

// EvaluationReport is the report of one period.
type EvaluationReport struct {
	Scope          string      `json:"scope"` // as in Stats: all, court, region …, organisation, mediator
	From           *time.Time  `json:"from,omitempty"`
	To             *time.Time  `json:"to,omitempty"`
	Total          ReportRow   `json:"total"`
	ByOrganisation []ReportRow `json:"by_organisation"`
	ByMediator     []ReportRow `json:"by_mediator"`
}

// EvaluationReport computes the report of the cases registered in f that p's statistics cover.
func (s *Store) EvaluationReport(ctx context.Context, p Principal, f StatsFilter) (*EvaluationReport, error) {
	st, err := s.Stats(ctx, p, f) // checks p and the period
	if err != nil {
		return nil, err
	}
	sat, err := s.Satisfaction(ctx, p, f)
	if err != nil {
		return nil, err
	}
	row := func(g Figures, key, name string, r Satisfaction) ReportRow {
		r.Key, r.Name = key, name
		return ReportRow{Key: key, Name: name, Ended: g.Ended, Settled: g.Succeeded, Failed: g.Ended - g.Succeeded, Satisfaction: r}
	}
	merge := func(figs []GroupFigures, sats []Satisfaction) []ReportRow {
		byKey := map[string]Satisfaction{}
		for _, r := range sats {
			byKey[r.Key] = r
		}
		out := []ReportRow{}
		seen := map[string]bool{}
		for _, g := range figs {
			out = append(out, row(g.Figures, g.Key, g.Name, byKey[g.Key]))
			seen[g.Key] = true
		}
		for _, r := range sats { // rated, yet not counted in the case figures: cannot happen, but never drop a rating
			if !seen[r.Key] {
				out = append(out, row(Figures{}, r.Key, r.Name, r))
			}
		}
		return out
	}
	return &EvaluationReport{
		Scope: st.Scope, From: f.From, To: f.To,
		Total:          row(st.Total, "", "", sat.Total),
		ByOrganisation: merge(st.ByOrganisation, sat.ByOrganisation),
		ByMediator:     merge(st.ByMediator, sat.ByMediator),
	}, nil
}
