package cases

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Rules of the case file that are not workflow steps (issue 12 §3): the format of the court's case numbers, and
// the content a failure report must have.

// caseNumberRE is a court's case number (案号): （year）court code, case type, sequence 号, e.g.
// （2026）京73民初123号, (2025)京0108民诉前调1234号, （2026）最高法知民终5号. Full-width or ASCII brackets.
var caseNumberRE = regexp.MustCompile(`^[（(]([0-9]{4})[）)](\p{Han}{1,3})([0-9]{0,4})(\p{Han}{1,6})([0-9]{1,7})号$`)

// CaseNumber is a parsed 案号.
type CaseNumber struct {
	Year      int
	Court     string // 京73, 最高法, 沪0115 …
	Type      string // 民初, 知民终, 民诉前调 …
	Seq       int
	PreFiling bool // a pre-filing mediation number (诉前调号)
}

// ParseCaseNumber parses a court's case number.
func ParseCaseNumber(s string) (CaseNumber, error) {
	m := caseNumberRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return CaseNumber{}, fmt.Errorf("not a case number")
	}
	year, _ := strconv.Atoi(m[1])
	seq, _ := strconv.Atoi(m[5])
	n := CaseNumber{Year: year, Court: m[2] + m[3], Type: m[4], Seq: seq, PreFiling: strings.Contains(m[4], "诉前调")}
	if year < 1990 || year > 2100 || seq == 0 {
		return n, fmt.Errorf("not a case number")
	}
	return n, nil
}

// checkCourtCaseNumber says what is wrong with a court case number for a case: a 委托 case (entrusted after
// filing) carries the filed case's number (（2026）京73民初123号); a 委派 case may carry the court's pre-filing
// mediation number (（2026）京73民诉前调123号). "" when it is right.
func checkCourtCaseNumber(s string, preFiling bool) string {
	n, err := ParseCaseNumber(s)
	switch {
	case err != nil && preFiling:
		return "is the court's pre-filing mediation number (诉前调号), such as （2026）京73民诉前调123号"
	case err != nil:
		return "is the court's case number (案号), such as （2026）京73民初123号"
	case preFiling && !n.PreFiling:
		return "a case referred before filing (委派) carries the pre-filing mediation number (诉前调号), such as （2026）京73民诉前调123号, not a filed case's number"
	case !preFiling && n.PreFiling:
		return "a case entrusted after filing (委托) carries the filed case's number (案号), such as （2026）京73民初123号, not a pre-filing mediation number"
	}
	return ""
}

// FailureReport is the mediator's report when mediation fails (调解不成, OMR Art. 21): the facts, why it failed,
// and the suggestions for the court. It goes to the court with the case.
type FailureReport struct {
	Facts       string `json:"facts"`
	Reasons     string `json:"reasons"`
	Suggestions string `json:"suggestions"`
}

// problems lists what a failure report lacks, by field.
func (r *FailureReport) problems(fields map[string]string) {
	if r == nil {
		fields["report"] = "a failure needs the mediator's report: facts, reasons and suggestions for the court (OMR Art. 21)"
		return
	}
	for name, v := range map[string]string{"report.facts": r.Facts, "report.reasons": r.Reasons, "report.suggestions": r.Suggestions} {
		switch n := len([]rune(strings.TrimSpace(v))); {
		case n < 4:
			fields[name] = "is required: write at least a sentence"
		case n > 4000:
			fields[name] = "is at most 4000 characters"
		}
	}
}

// MayTakeBundle reports whether p may download the case file as a signed bundle (issue 12 §5): the case's court
// (its clerks and judges, or the court a direct application was pushed or applied to), once mediation has
// ended — failed, or an agreement signed — and not while the agreement is still being signed.
func MayTakeBundle(p Principal, c *Case) bool {
	if !c.State.Ended() || c.State == StateSigning {
		return false
	}
	for _, w := range Relations(p, c) {
		if w == WhoClerk || w == WhoJudge || w == WhoRequestedCourt {
			return true
		}
	}
	return false
}

// MayPushBundle reports whether p may push a ended case's file to its court: the case's mediators, the
// organisation's admin, or the court's own clerks.
func MayPushBundle(p Principal, c *Case) bool {
	if !c.State.Ended() || c.State == StateSigning || c.CourtID == "" {
		return false
	}
	for _, w := range Relations(p, c) {
		switch w {
		case WhoMediator, WhoOrgAdmin, WhoClerk:
			return true
		}
	}
	return false
}

// PushBundle records that the case file was pushed to the case's court (issue 12 §5): the event
// case.bundle_pushed, which webhooks carry to the court's system with the address to download the signed
// bundle from (with the court's API token).
func (s *Store) PushBundle(ctx context.Context, p Principal, caseID, url string) (*Event, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	var ev *Event
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !MayPushBundle(p, c) {
			return Errorf(EFORBIDDEN, "the case's mediators, its organisation's admin or the court's clerks push an ended case's file to its court")
		}
		var err error
		ev, err = s.appendEvent(ctx, tx, caseID, p, "case.bundle_pushed", VisStaff, map[string]any{"court_id": c.CourtID, "bundle_url": url, "state": string(c.State)}, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("push bundle", err)
	}
	return ev, nil
}
