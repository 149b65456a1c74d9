package docflow

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// EvaluationReport makes the evaluation report (调解评估报告, issue 12 §6) of rep for p, in lang (zh or en), signed
// by the platform key like the service certificate (PAdES with a timestamp, then validation data and a document
// timestamp: B-LTA). It names p's scope in words: its court, its IP office's region, its organisation, the
// mediator, or the whole platform.
func (s *Service) EvaluationReport(ctx context.Context, p cases.Principal, rep *cases.EvaluationReport, lang string) ([]byte, error) {
	if lang != "en" {
		lang = "zh"
	}
	scope, err := s.reportScope(ctx, p, rep.Scope, lang)
	if err != nil {
		return nil, err
	}
	period := reportPeriod(rep.From, rep.To, s.Zone, lang)
	row := func(r cases.ReportRow) signing.ReportFigures {
		return signing.ReportFigures{Name: r.Name, Ended: r.Ended, Settled: r.Settled, Failed: r.Failed, Ratings: r.Ratings,
			Average: r.Average, Heard: r.HeardShare, Fair: r.FairShare, Distribution: r.Distribution}
	}
	in := &signing.EvaluationReport{
		Meta:  signing.Meta{DocumentID: cases.NewID(), CaseNumber: period, VerifyBaseURL: s.BaseURL, Lang: lang, Created: s.Now().In(s.Zone)},
		Scope: scope, Period: period, Total: row(rep.Total),
	}
	for _, r := range rep.ByOrganisation {
		in.ByOrganisation = append(in.ByOrganisation, row(r))
	}
	for _, r := range rep.ByMediator {
		in.ByMediator = append(in.ByMediator, row(r))
	}
	gen, err := (&signing.Generator{Font: s.Font}).EvaluationReport(in)
	if err != nil {
		return nil, fmt.Errorf("docflow: evaluation report: %w", err)
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	kp := s.Keys.Platform
	reason, location := "调解评估报告", "Parley 在线调解平台"
	if lang == "en" {
		reason, location = "Mediation evaluation report", "Parley online mediation platform"
	}
	pdf, err := signing.Sign(ctx, gen.PDF, signing.Request{
		Field: "sig-platform", Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: reason, Location: location,
		Appearance: signing.Appearance{Name: "Parley", Role: RoleLabel(signing.RolePlatform, lang), Font: s.Font, Lang: lang, Zone: s.Zone},
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, fmt.Errorf("docflow: sign evaluation report: %w", err)
	}
	if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil {
		return nil, fmt.Errorf("docflow: evaluation report: %w", err)
	}
	return pdf, nil
}

// reportScope names who the figures cover.
func (s *Service) reportScope(ctx context.Context, p cases.Principal, scope, lang string) (string, error) {
	en := lang == "en"
	org := func() (string, error) {
		o, err := s.Store.Organisation(ctx, p.OrgID)
		if err != nil {
			return "", err
		}
		return o.Name, nil
	}
	switch {
	case p.IsStaff(cases.RoleAdmin):
		if en {
			return "The whole platform", nil
		}
		return "全平台", nil
	case p.IsStaff(cases.RoleClerk, cases.RoleJudge):
		name, err := org()
		if err != nil {
			return "", err
		}
		if en {
			return "Cases of " + name, nil
		}
		return name + "受理的案件", nil
	case p.IsStaff(cases.RoleIPOfficer):
		name, err := org()
		if err != nil {
			return "", err
		}
		if en {
			return fmt.Sprintf("Mediation organisations of %s (%s)", p.OrgRegion, name), nil
		}
		return fmt.Sprintf("%s的调解组织（%s）", p.OrgRegion, name), nil
	case p.IsStaff(cases.RoleOrgAdmin):
		return org()
	case p.IsStaff(cases.RoleMediator):
		if en {
			return "Cases mediated by " + p.Name, nil
		}
		return p.Name + "主持调解的案件", nil
	}
	return "", cases.Errorf(cases.EFORBIDDEN, "statistics are for staff")
}

// reportPeriod writes [from, to) in words in zone. A to at midnight is written as the day before, included
// (to = 1 December: "until 30 November").
func reportPeriod(from, to *time.Time, zone *time.Location, lang string) string {
	en := lang == "en"
	day := func(t time.Time) string {
		t = t.In(zone)
		if en {
			return t.Format("2 Jan 2006")
		}
		return t.Format("2006年1月2日")
	}
	last := ""
	if to != nil {
		t := to.In(zone)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			last = day(t.AddDate(0, 0, -1))
		} else if en {
			last = day(t) + t.Format(" 15:04") + " (not included)"
		} else {
			last = day(t) + t.Format(" 15:04") + "（不含）"
		}
	}
	switch {
	case from == nil && to == nil:
		if en {
			return "all time"
		}
		return "全部期间"
	case to == nil:
		if en {
			return "from " + day(*from)
		}
		return day(*from) + "起"
	case from == nil:
		if en {
			return "until " + last
		}
		return "截至" + last
	}
	if en {
		return day(*from) + " to " + last
	}
	return day(*from) + "至" + last
}
