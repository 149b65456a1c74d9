package docflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// The failure report for the court (调解不成告知书, issue 12 §3; OMR Art. 21): made from the case and the report
// the mediator gave when ending it, signed by the mediation organisation's seal key (the platform's when no
// organisation mediates), for the case's staff and in the court's bundle.

// FailureReport returns the signed report of a failed case for p (the case's staff).
func (s *Service) FailureReport(ctx context.Context, p cases.Principal, caseID string) ([]byte, error) {
	c, err := s.Store.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !cases.CanView(p, c) {
		return nil, cases.Errorf(cases.ENOTFOUND, "case not found")
	}
	if !cases.CaseStaff(p, c) {
		return nil, cases.Errorf(cases.EFORBIDDEN, "the failure report is for the case's court, organisation and mediators")
	}
	return s.failureReport(ctx, c)
}

// failureReport makes the report; ENOTFOUND when the case did not fail with a report.
func (s *Service) failureReport(ctx context.Context, c *cases.Case) ([]byte, error) {
	if c.EndGround == "" || c.EndGround == cases.GroundAgreement || c.EndedAt == nil {
		return nil, cases.Errorf(cases.ENOTFOUND, "the case has not failed: there is no failure report")
	}
	evs, err := s.Store.Events(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var rep map[string]any
	for _, e := range evs {
		if e.Type == "case.ended" {
			rep, _ = e.Data["report"].(map[string]any)
		}
	}
	if rep == nil {
		return nil, cases.Errorf(cases.ENOTFOUND, "the case ended without a report (the system's end at the time limit, or before reports were required)")
	}
	str := func(k string) string { v, _ := rep[k].(string); return v }
	groundZh, _ := cases.GroundText(c.EndGround)
	var parties, mediators []string
	for _, p := range c.Parties {
		side := map[cases.Side]string{cases.Applicant: "申请人", cases.Respondent: "被申请人"}[p.Side]
		parties = append(parties, side+"："+p.Name)
	}
	for _, m := range c.Mediators {
		if m.Status == cases.AssignAccepted {
			mediators = append(mediators, m.Name)
		}
	}
	kp, signer, role := s.Keys.Platform, "Parley", signing.RolePlatform
	if c.OrganisationID != "" {
		if kp, err = s.Keys.SealKey(ctx, c.OrganisationID, c.OrganisationName, signing.RoleOrganisation); err != nil {
			return nil, err
		}
		signer, role = c.OrganisationName, signing.RoleOrganisation
	}
	fr := &signing.FailureReport{
		Meta: s.meta(c, cases.NewID(), "zh"), Title: c.Title, Parties: parties, Mediators: strings.Join(mediators, "、"), Organisation: c.OrganisationName,
		Ground: groundZh, EndedAt: c.EndedAt.In(s.Zone), Facts: str("facts"), Reasons: str("reasons"), Suggestions: str("suggestions"), SignerRole: role, SignerName: signer,
	}
	gen, err := (&signing.Generator{Font: s.Font}).FailureReport(fr)
	if err != nil {
		return nil, fmt.Errorf("docflow: failure report: %w", err)
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	pdf, err := signing.Sign(ctx, gen.PDF, signing.Request{
		Field: "sig-report", Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: "调解不成告知书", Location: "Parley 在线调解平台",
		Appearance: signing.Appearance{Name: signer, Role: RoleLabel(role, "zh"), Font: s.Font, Lang: "zh", Zone: s.Zone, Seal: role == signing.RoleOrganisation},
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, fmt.Errorf("docflow: sign failure report: %w", err)
	}
	if pdf, err = s.Keys.MakeLTA(ctx, pdf); err != nil {
		return nil, fmt.Errorf("docflow: failure report: %w", err)
	}
	if _, err := s.Store.RecordEvent(context.WithoutCancel(ctx), c.ID, cases.System, "case.failure_report_issued", cases.VisStaff, map[string]any{
		"certificate_id": fr.DocumentID, "sha256": SHA256Hex(pdf),
	}); err != nil {
		return nil, err
	}
	return pdf, nil
}
