package docflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// The court's ruling on judicial confirmation (民事裁定书, issue 12 §3; CPL Art. 205–206): made from the case, the
// agreement and the judge's decision in the trail, signed with the court's seal key (PAdES B-LTA), for the
// case's parties and staff. A confirmation's ruling declares the agreement valid and enforceable; a rejection's
// states the judge's reason. Each issue enters the trail.

// Ruling returns the signed ruling of case caseID for p (anyone who sees the case); ENOTFOUND until the court has
// decided.
func (s *Service) Ruling(ctx context.Context, p cases.Principal, caseID string) ([]byte, error) {
	c, err := s.Store.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !cases.CanView(p, c) {
		return nil, cases.Errorf(cases.ENOTFOUND, "case not found")
	}
	return s.ruling(ctx, c)
}

func (s *Service) ruling(ctx context.Context, c *cases.Case) ([]byte, error) {
	confirmed := c.State == cases.StateConfirmed
	if !confirmed && c.State != cases.StateConfirmationRejected {
		return nil, cases.Errorf(cases.ENOTFOUND, "the court has not decided on judicial confirmation: there is no ruling")
	}
	evs, err := s.Store.Events(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var decision *cases.Event
	for i := range evs {
		if evs[i].Type == "case.confirm" || evs[i].Type == "case.reject_confirmation" {
			decision = &evs[i]
		}
	}
	if decision == nil || c.CourtID == "" {
		return nil, cases.Errorf(cases.ENOTFOUND, "the court has not decided on judicial confirmation: there is no ruling")
	}
	str := func(k string) string { v, _ := decision.Data[k].(string); return v }
	reason := str("reason")
	if confirmed {
		reason = str("note")
	}
	var applicants, mediators []string
	for _, p := range c.Parties {
		applicants = append(applicants, "申请人："+p.Name+"（"+map[cases.Side]string{cases.Applicant: "调解申请人", cases.Respondent: "调解被申请人"}[p.Side]+"）")
	}
	for _, m := range c.Mediators {
		if m.Status == cases.AssignAccepted {
			mediators = append(mediators, m.Name)
		}
	}
	docs, err := s.Store.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	agreementSHA := "—"
	for _, d := range docs { // newest first: the agreement in force
		if (d.Kind == cases.DocAgreement || d.Kind == cases.DocConfirmationSheet) && d.Status != cases.DocSuperseded && len(d.Versions) > 0 {
			agreementSHA = d.Versions[len(d.Versions)-1].SHA256
			break
		}
	}
	r := &signing.Ruling{
		Meta: s.meta(c, cases.NewID(), "zh"), Court: c.CourtName, Applicants: applicants, Organisation: c.OrganisationName,
		Mediators: strings.Join(mediators, "、"), AgreementSHA: agreementSHA, Confirmed: confirmed, Reason: reason,
		Judge: str("judge"), Decided: decision.At.In(s.Zone),
	}
	if c.EffectiveAt != nil {
		r.AgreementDate = c.EffectiveAt.In(s.Zone)
	}
	gen, err := (&signing.Generator{Font: s.Font}).Ruling(r)
	if err != nil {
		return nil, fmt.Errorf("docflow: ruling: %w", err)
	}
	kp, err := s.Keys.SealKey(ctx, c.CourtID, c.CourtName, signing.RoleCourt)
	if err != nil {
		return nil, err
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	pdf, err := signing.Sign(ctx, gen.PDF, signing.Request{
		Field: "sig-court", Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: "民事裁定书", Location: c.CourtName,
		Appearance: signing.Appearance{Name: c.CourtName, Role: RoleLabel(signing.RoleCourt, "zh"), Font: s.Font, Lang: "zh", Zone: s.Zone, Seal: true},
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, fmt.Errorf("docflow: sign ruling: %w", err)
	}
	if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil {
		return nil, fmt.Errorf("docflow: ruling: %w", err)
	}
	if _, err := s.Store.RecordEvent(context.WithoutCancel(ctx), c.ID, cases.System, "case.ruling_issued", cases.VisAll, map[string]any{
		"ruling_id": r.DocumentID, "confirmed": confirmed, "sha256": SHA256Hex(pdf),
	}); err != nil {
		return nil, err
	}
	return pdf, nil
}
