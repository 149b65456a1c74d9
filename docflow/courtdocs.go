package docflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// The court's documents (issue 12 §3): the ruling on judicial confirmation (ruling.go) and the mediation statement
// of a case entrusted after filing (民事调解书, below). Each is made once for the court's decision it records and
// stored with its SHA-256 in the trail (cases.StoreCourtDocument): by the request that took the decision
// (IssueCourtDocument), else by the job sweeper (sweepCourtDocuments) or by the first request that asks for it;
// whichever stores it hands it to Issued, which serves it on the parties. Every later download returns the stored
// bytes.

// courtTitle is each kind's title.
func courtTitle(kind string) string {
	if kind == cases.CourtStatement {
		return "民事调解书"
	}
	return "民事裁定书"
}

// CourtDocument returns the court document of kind (cases.CourtRuling or cases.CourtStatement) of the court's latest
// decision in case caseID for p (anyone who sees the case), making it first if it was not made yet.
func (s *Service) CourtDocument(ctx context.Context, p cases.Principal, caseID, kind string) (*cases.CourtDocument, []byte, error) {
	c, err := s.Store.Case(ctx, caseID)
	if err != nil {
		return nil, nil, err
	}
	if !cases.CanView(p, c) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "case not found")
	}
	return s.IssueCourtDocument(ctx, c, kind)
}

// CourtDocumentByID returns a stored court document for p (anyone who sees its case).
func (s *Service) CourtDocumentByID(ctx context.Context, p cases.Principal, id string) (*cases.CourtDocument, []byte, error) {
	d, pdf, err := s.Store.CourtDocumentByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Store.Case(ctx, d.CaseID)
	if err != nil {
		return nil, nil, err
	}
	if !cases.CanView(p, c) {
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "court document not found")
	}
	return d, pdf, nil
}

// IssueCourtDocument returns the stored document of kind for the latest decision of case c, making, signing and
// storing it when there is none yet. Two callers at once may both make one; only the first stored counts and both
// get it. ENOTFOUND when the court has not taken that decision.
func (s *Service) IssueCourtDocument(ctx context.Context, c *cases.Case, kind string) (*cases.CourtDocument, []byte, error) {
	var decided bool
	switch kind {
	case cases.CourtRuling:
		decided = c.State == cases.StateConfirmed || c.State == cases.StateConfirmationRejected
	case cases.CourtStatement:
		decided = c.State == cases.StateStatementIssued
	default:
		return nil, nil, cases.Errorf(cases.ENOTFOUND, "court document not found")
	}
	none := func() error {
		if kind == cases.CourtStatement {
			if !c.Source.Entrusted() {
				return cases.Errorf(cases.ENOTFOUND, "a mediation statement (调解书) is issued only in cases entrusted after filing (委托)")
			}
			return cases.Errorf(cases.ENOTFOUND, "the court has not issued a mediation statement in this case")
		}
		return cases.Errorf(cases.ENOTFOUND, "the court has not decided on judicial confirmation: there is no ruling")
	}
	if !decided || c.CourtID == "" {
		return nil, nil, none()
	}
	evs, err := s.Store.Events(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	decision := cases.CourtDecision(evs, kind)
	if decision == nil {
		return nil, nil, none()
	}
	if d, pdf, err := s.Store.CourtDocumentOf(ctx, c.ID, decision.Seq); err == nil {
		return d, pdf, nil
	} else if cases.ErrorCode(err) != cases.ENOTFOUND {
		return nil, nil, err
	}
	// Made outside any transaction (signing and timestamping take time); stored with its trail event at once.
	ctx = context.WithoutCancel(ctx)
	id := cases.NewID()
	var pdf []byte
	var data map[string]any
	if kind == cases.CourtRuling {
		pdf, data, err = s.makeRuling(ctx, c, decision, id)
	} else {
		pdf, data, err = s.makeStatement(ctx, c, decision, id)
	}
	if err != nil {
		return nil, nil, err
	}
	s.hook("court-document-made")
	d, stored, created, err := s.Store.StoreCourtDocument(ctx, cases.NewCourtDocument{ID: id, CaseID: c.ID, Kind: kind, DecisionSeq: decision.Seq, Title: courtTitle(kind), PDF: pdf, Data: data})
	if err != nil {
		return nil, nil, err
	}
	if created {
		s.Log.Info("court document issued", "case_id", c.ID, "kind", kind, "document", d.ID, "sha256", d.SHA256)
		if s.Issued != nil {
			s.Issued(ctx, c, d, decision)
		}
	}
	return d, stored, nil
}

// sweepCourtDocuments makes the court documents of decisions that have none yet (the node that took the decision
// died before making it, or the decision predates stored documents) and returns how many it made. A case whose
// document cannot be made is logged and tried again at the next sweep.
func (s *Service) sweepCourtDocuments(ctx context.Context) int {
	ids, err := s.Store.CasesAwaitingCourtDocuments(ctx, 20)
	if err != nil {
		s.Log.Error("court documents", "err", err)
		return 0
	}
	n := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		c, err := s.Store.Case(ctx, id)
		if err != nil {
			s.Log.Error("court documents", "case_id", id, "err", err)
			continue
		}
		kind := cases.CourtRuling
		if c.State == cases.StateStatementIssued {
			kind = cases.CourtStatement
		}
		if _, _, err := s.IssueCourtDocument(ctx, c, kind); err != nil {
			s.Log.Error("court document", "case_id", id, "kind", kind, "err", err)
			continue
		}
		n++
	}
	return n
}

// agreementContent is what the mediation statement reads of the agreement in force: its typed terms and
// schedule (an agreement made on Parley), or its terms (the confirmation sheet of one signed on paper).
type agreementContent struct {
	Terms        []cases.Term  `json:"terms"`
	Schedule     []Installment `json:"schedule"`
	Cause        string        `json:"cause"`
	PartyDetails []PartyDetail `json:"party_details"`
}

// procedureOf names the court's procedure of an entrusted case.
func procedureOf(src cases.Source) string {
	switch src {
	case cases.SourceEntrustedOrdinary:
		return "普通程序"
	case cases.SourceEntrustedSimplified:
		return "简易程序"
	}
	return ""
}

// makeStatement lays out and signs the mediation statement of decision (case.issue_statement) as document id: the
// court, its case number, the parties as plaintiff and defendant, the mediators it entrusted, and the terms of the
// agreement in force.
func (s *Service) makeStatement(ctx context.Context, c *cases.Case, decision *cases.Event, id string) ([]byte, map[string]any, error) {
	ag, err := s.agreementInForce(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if ag == nil {
		return nil, nil, cases.Errorf(cases.EUNPROCESSABLE, "the case has no agreement in force for the mediation statement to state")
	}
	var content agreementContent
	if len(ag.Content) > 0 {
		if err := json.Unmarshal(ag.Content, &content); err != nil {
			return nil, nil, fmt.Errorf("docflow: mediation statement: the agreement's terms: %w", err)
		}
	}
	agreementSHA := ag.Versions[len(ag.Versions)-1].SHA256
	terms := termTexts(content.Terms)
	if len(terms) == 0 && len(content.Schedule) == 0 {
		terms = []string{"双方当事人按照调解协议书（SHA-256：" + agreementSHA + "）的约定履行。"}
	}
	parties := signingParties(c)
	for _, pd := range content.PartyDetails {
		for i, p := range c.Parties {
			if p.ID != pd.PartyID || parties[i].Kind != signing.Person {
				continue
			}
			parties[i].Sex = pd.Sex
			if pd.BirthDate != "" {
				parties[i].Birth, _ = time.ParseInLocation("2006-01-02", pd.BirthDate, s.Zone)
			}
		}
	}
	var mediators []string
	for _, m := range acceptedMediators(c) {
		mediators = append(mediators, m.Name)
	}
	cause := strings.TrimSpace(content.Cause)
	if cause == "" {
		cause = causeOf(c.DisputeType)
	}
	judge, _ := decision.Data["judge"].(string)
	st := &signing.MediationStatement{
		Meta: s.meta(c, id, "zh"), Court: c.CourtName, CourtCaseNumber: c.CourtCaseNumber, Cause: cause, Procedure: procedureOf(c.Source),
		Parties: parties, Organisation: c.OrganisationName, Mediators: strings.Join(mediators, "、"), Terms: terms,
		AgreementID: ag.ID, AgreementSHA: agreementSHA, Judge: judge, Issued: decision.At.In(s.Zone),
	}
	for _, in := range content.Schedule {
		due, _ := time.ParseInLocation("2006-01-02", in.Due, s.Zone)
		st.Schedule = append(st.Schedule, signing.Installment{Amount: in.AmountFen, Due: due, Method: in.Method, Payer: in.Payer, Payee: in.Payee})
	}
	if c.EffectiveAt != nil {
		st.AgreementDate = c.EffectiveAt.In(s.Zone)
	}
	gen, err := (&signing.Generator{Font: s.Font}).MediationStatement(st)
	if err != nil {
		return nil, nil, fmt.Errorf("docflow: mediation statement: %w", err)
	}
	pdf, err := s.courtSign(ctx, c, gen.PDF, "民事调解书")
	if err != nil {
		return nil, nil, fmt.Errorf("docflow: mediation statement: %w", err)
	}
	return pdf, map[string]any{"agreement_id": ag.ID, "agreement_sha256": agreementSHA}, nil
}
