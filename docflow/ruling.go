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
// states the judge's reason. It is made once per decision and stored (courtdocs.go).

// Ruling returns the signed ruling of case caseID for p (anyone who sees the case); ENOTFOUND until the court has
// decided.
func (s *Service) Ruling(ctx context.Context, p cases.Principal, caseID string) ([]byte, error) {
	_, pdf, err := s.CourtDocument(ctx, p, caseID, cases.CourtRuling)
	return pdf, err
}

// agreementInForce returns the agreement the court decides on or confirms: the newest agreement or confirmation
// sheet not superseded, nil if none.
func (s *Service) agreementInForce(ctx context.Context, c *cases.Case) (*cases.Document, error) {
	docs, err := s.Store.Documents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for i, d := range docs { // newest first
		if (d.Kind == cases.DocAgreement || d.Kind == cases.DocConfirmationSheet) && d.Status != cases.DocSuperseded && len(d.Versions) > 0 {
			return &docs[i], nil
		}
	}
	return nil, nil
}

// makeRuling lays out and signs the ruling of decision (case.confirm or case.reject_confirmation) as document id.
func (s *Service) makeRuling(ctx context.Context, c *cases.Case, decision *cases.Event, id string) ([]byte, map[string]any, error) {
	confirmed := decision.Type == "case.confirm"
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
	agreementSHA := "—"
	ag, err := s.agreementInForce(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if ag != nil {
		agreementSHA = ag.Versions[len(ag.Versions)-1].SHA256
	}
	r := &signing.Ruling{
		Meta: s.meta(c, id, "zh"), Court: c.CourtName, Applicants: applicants, Organisation: c.OrganisationName,
		Mediators: strings.Join(mediators, "、"), AgreementSHA: agreementSHA, Confirmed: confirmed, Reason: reason,
		Judge: str("judge"), Decided: decision.At.In(s.Zone),
	}
	if c.EffectiveAt != nil {
		r.AgreementDate = c.EffectiveAt.In(s.Zone)
	}
	gen, err := (&signing.Generator{Font: s.Font}).Ruling(r)
	if err != nil {
		return nil, nil, fmt.Errorf("docflow: ruling: %w", err)
	}
	pdf, err := s.courtSign(ctx, c, gen.PDF, "民事裁定书")
	if err != nil {
		return nil, nil, fmt.Errorf("docflow: ruling: %w", err)
	}
	return pdf, map[string]any{"confirmed": confirmed, "agreement_sha256": agreementSHA}, nil
}

// courtSign signs pdf in its sig-court field with the court's seal key and makes it PAdES B-LTA.
func (s *Service) courtSign(ctx context.Context, c *cases.Case, pdf []byte, reason string) ([]byte, error) {
	kp, err := s.Keys.SealKey(ctx, c.CourtID, c.CourtName, signing.RoleCourt)
	if err != nil {
		return nil, err
	}
	val, err := s.Keys.Validation()
	if err != nil {
		return nil, err
	}
	signed, err := signing.Sign(ctx, pdf, signing.Request{
		Field: "sig-court", Cert: kp.Cert, Chain: kp.Chain, Time: s.Now(), Validation: val, Reason: reason, Location: c.CourtName,
		Appearance: signing.Appearance{Name: c.CourtName, Role: RoleLabel(signing.RoleCourt, "zh"), Font: s.Font, Lang: "zh", Zone: s.Zone, Seal: true},
	}, kp.Key, s.Keys.TSA)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return s.Keys.MakeLTA(ctx, signed)
}
