package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// State is where a case stands in the workflow.
type State string

// The states of a case (DOMAIN.md "A case's life").
const (
	StateRegistered           State = "registered"            // 已登记: intake done, awaiting referral
	StateReferred             State = "referred"              // 已委派/委托: awaiting the mediator's answer
	StateReturned             State = "returned"              // 退回: declined or unanswered, awaiting reassignment
	StateInMediation          State = "in_mediation"          // 调解中: accepted, time limit running
	StateAppraisal            State = "appraisal"             // 鉴定/评估中: time limit suspended
	StateSigning              State = "signing"               // 达成协议: agreement awaiting signatures
	StateSettled              State = "settled"               // 协议生效: the last party signed
	StateConfirmationPending  State = "confirmation_pending"  // 司法确认审查中
	StateConfirmed            State = "confirmed"             // 司法确认: the court confirmed the agreement
	StateConfirmationRejected State = "confirmation_rejected" // 驳回司法确认申请
	StateStatementIssued      State = "statement_issued"      // 已出具调解书 (委托)
	StateSuitWithdrawn        State = "suit_withdrawn"        // 原告撤诉 (委托)
	StateFailed               State = "failed"                // 调解不成
	StateFiled                State = "filed"                 // 已立案 (委派 / direct, after failure)
	StateTrialResumed         State = "trial_resumed"         // 恢复审理 (委托, after failure)
)

// States lists every state in workflow order.
var States = []State{StateRegistered, StateReferred, StateReturned, StateInMediation, StateAppraisal, StateSigning,
	StateSettled, StateConfirmationPending, StateConfirmed, StateConfirmationRejected, StateStatementIssued,
	StateSuitWithdrawn, StateFailed, StateFiled, StateTrialResumed}

// Final reports whether no transition leaves s.
func (s State) Final() bool {
	for _, t := range Transitions {
		if slices.Contains(t.From, s) {
			return false
		}
	}
	return true
}

// Ended reports whether mediation itself is over (successfully or not) in state s.
func (s State) Ended() bool {
	switch s {
	case StateRegistered, StateReferred, StateReturned, StateInMediation, StateAppraisal:
		return false
	}
	return true
}

// EndGround is one of the eight grounds on which mediation ends (OMR Art. 25).
type EndGround string

// The eight grounds.
const (
	GroundAgreement        EndGround = "agreement_reached"       // 达成调解协议
	GroundWithdrawn        EndGround = "applicant_withdrew"      // 申请人撤回申请
	GroundUnreachable      EndGround = "party_unreachable"       // 当事人无法联系
	GroundRefusedMediation EndGround = "party_refused_mediation" // 当事人拒绝调解
	GroundApart            EndGround = "positions_too_far_apart" // 分歧较大，难以达成协议
	GroundTimeLimit        EndGround = "time_limit_passed"       // 调解期限届满且未延长
	GroundRefusedToSign    EndGround = "party_refused_to_sign"   // 当事人拒绝签署协议
	GroundOther            EndGround = "other"                   // 其他
)

// EndGrounds lists the eight grounds.
var EndGrounds = []EndGround{GroundAgreement, GroundWithdrawn, GroundUnreachable, GroundRefusedMediation,
	GroundApart, GroundTimeLimit, GroundRefusedToSign, GroundOther}

// Action names a transition.
type Action string

// The actions of the workflow.
const (
	ActConsentOnline      Action = "consent_online"
	ActChooseMediator     Action = "choose_mediator"
	ActRefer              Action = "refer"
	ActAssign             Action = "assign"
	ActAccept             Action = "accept"
	ActDecline            Action = "decline"
	ActReturnUnanswered   Action = "return_unanswered"
	ActDisclose           Action = "disclose"
	ActAnswerDisclosure   Action = "answer_disclosure"
	ActReplaceMediator    Action = "replace_mediator"
	ActWithdraw           Action = "withdraw"
	ActRequestExtension   Action = "request_extension"
	ActConsentExtension   Action = "consent_extension"
	ActPause              Action = "pause_for_appraisal"
	ActResume             Action = "resume"
	ActEnd                Action = "end"
	ActAgreementEffective Action = "agreement_effective"
	ActApplyConfirmation  Action = "apply_confirmation"
	ActConfirm            Action = "confirm"
	ActRejectConfirmation Action = "reject_confirmation"
	ActRemediate          Action = "remediate"
	ActIssueStatement     Action = "issue_statement"
	ActWithdrawSuit       Action = "withdraw_suit"
	ActFile               Action = "file"
	ActResumeTrial        Action = "resume_trial"
	ActPushToCourt        Action = "push_to_court"
	ActWaiveChoice        Action = "waive_choice"
	ActAcceptCourtRequest Action = "accept_confirmation_request"
	ActRefuseCourtRequest Action = "refuse_confirmation_request"
)

// Who names a relation between an actor and a case that allows an action.
type Who string

// The relations.
const (
	WhoClerk            Who = "court_clerk"       // a clerk of the case's court
	WhoJudge            Who = "court_judge"       // a judge of the case's court
	WhoOrgAdmin         Who = "org_admin"         // an admin of the case's mediation organisation
	WhoMediator         Who = "case_mediator"     // a mediator who has accepted the case
	WhoAssignedMediator Who = "assigned_mediator" // a mediator assigned and yet to answer, or any mediator of the organisation the case was referred to when none is assigned
	WhoRequestedCourt   Who = "requested_court"   // a clerk of the court a direct application's parties applied to for judicial confirmation
	WhoParty            Who = "party"             // a party of the case, or its agent
	WhoSystem           Who = "system"            // Parley itself
)

// Params carries an action's inputs. Which fields an action reads is listed in its Transition.
type Params struct {
	Reason         string    `json:"reason,omitempty"`
	Ground         EndGround `json:"ground,omitempty"`
	Note           string    `json:"note,omitempty"`
	Text           string    `json:"text,omitempty"`
	Answer         string    `json:"answer,omitempty"` // answer_disclosure: continue | replace
	MediatorID     string    `json:"mediator_id,omitempty"`
	MediatorIDs    []string  `json:"mediator_ids,omitempty"`
	PresidingID    string    `json:"presiding_id,omitempty"`
	OrganisationID string    `json:"organisation_id,omitempty"`
	CourtID        string    `json:"court_id,omitempty"`
	PartyID        string    `json:"party_id,omitempty"` // staff recording a party's consent given offline
	Days           int       `json:"days,omitempty"`
	Consent        *bool     `json:"consent,omitempty"`

	// Report is the mediator's failure report (end on a ground other than agreement_reached; issue 12 §3).
	Report *FailureReport `json:"report,omitempty"`
}

// MediatorInfo is what the workflow needs to know about a mediator named in Params; the store looks it up.
type MediatorInfo struct {
	ID       string
	Name     string
	OrgID    string
	OnRoster bool // confirmed on the case's court roster, directly or through their organisation
	Active   bool // account exists, is a mediator and is not disabled
}

// OrgInfo is what the workflow needs to know about an organisation or court named in Params.
type OrgInfo struct {
	ID       string
	Name     string
	Kind     OrgKind
	OnRoster bool // a mediation organisation confirmed on the case's court roster
}

// Env is the world an action is applied in.
type Env struct {
	Now       time.Time
	Cal       *Calendar
	Mediators map[string]MediatorInfo // every mediator ID named in Params
	Orgs      map[string]OrgInfo      // every organisation or court ID named in Params
	// Agreement is the case's current agreement (or confirmation sheet of an agreement signed on paper), for
	// agreement_effective, apply_confirmation and confirm; nil when there is none.
	Agreement *AgreementFacts
}

// Outcome is what applying an action produced, to be written to the audit trail.
type Outcome struct {
	EventType  string
	Data       map[string]any
	Visibility string
	Notify     []string // party IDs to notify (electronic service)
}

// Transition is one row of the workflow table.
type Transition struct {
	Action   Action  `json:"action"`
	From     []State `json:"from"`
	To       State   `json:"to,omitempty"` // the usual target; "" when the case stays where it is (or several targets)
	Who      []Who   `json:"who"`
	Params   string  `json:"params"`
	Requires string  `json:"requires"`
	apply    func(c *Case, p Principal, in Params, env Env) (Outcome, error)
}

// Transitions is the workflow: every action, the states it leaves from, who may take it and what it requires.
var Transitions = []*Transition{
	{Action: ActConsentOnline, From: []State{StateRegistered, StateReferred, StateReturned, StateInMediation, StateAppraisal}, Who: []Who{WhoParty, WhoClerk, WhoMediator},
		Params: "consent (bool); party_id and note when staff record a consent given offline", Requires: "a party consents for itself; staff record an offline consent with a note (OMR Art. 4)", apply: applyConsentOnline},
	{Action: ActChooseMediator, From: []State{StateRegistered}, To: "", Who: []Who{WhoParty},
		Params: "mediator_id", Requires: "court cases only; within 2 working days of registration; the mediator is on the court's confirmed roster; when every party chose the same mediator the case is referred to them (OMR Art. 10)", apply: applyChooseMediator},
	{Action: ActWaiveChoice, From: []State{StateRegistered}, Who: []Who{WhoParty, WhoClerk},
		Params: "party_id and note when the clerk records a waiver given in writing", Requires: "court cases: a party waives the 2-working-day joint choice of a mediator; when every party waived, the court may refer at once (OMR Art. 10)", apply: applyWaiveChoice},
	{Action: ActRefer, From: []State{StateRegistered, StateReturned}, To: StateReferred, Who: []Who{WhoClerk, WhoOrgAdmin},
		Params: "organisation_id and/or mediator_ids, presiding_id", Requires: "court cases: target on the court's confirmed roster, by the court's clerk, not inside the parties' 2-working-day choice window unless every party waived it, and within 3 working days after it (the court's own deadline, flagged when overdue); direct applications: mediators of the case's organisation, by its admin. Opens the 3-working-day answer window (OMR Art. 10–12)", apply: applyRefer},
	{Action: ActAssign, From: []State{StateReferred}, To: StateReferred, Who: []Who{WhoOrgAdmin},
		Params: "mediator_ids, presiding_id", Requires: "the case was referred to the organisation and no mediator is assigned; mediators belong to the organisation; restarts the answer window", apply: applyAssign},
	{Action: ActAccept, From: []State{StateReferred}, To: StateInMediation, Who: []Who{WhoAssignedMediator},
		Params: "", Requires: "the presiding mediator's acceptance starts the time limit: 30 days 委派/direct, 15 委托 ordinary, 7 委托 simplified (OMR Art. 24)", apply: applyAccept},
	{Action: ActDecline, From: []State{StateReferred}, To: StateReturned, Who: []Who{WhoAssignedMediator, WhoOrgAdmin},
		Params: "reason", Requires: "a reason; the case returns for reassignment (OMR Art. 12)", apply: applyDecline},
	{Action: ActReturnUnanswered, From: []State{StateReferred}, To: StateReturned, Who: []Who{WhoSystem},
		Params: "", Requires: "the 3-working-day answer window has closed without an answer (OMR Art. 12)", apply: applyReturnUnanswered},
	{Action: ActDisclose, From: []State{StateReferred, StateInMediation, StateAppraisal}, Who: []Who{WhoMediator, WhoAssignedMediator},
		Params: "text", Requires: "the mediator discloses a possible conflict; parties answer continue or replace (OMR Art. 13–14)", apply: applyDisclose},
	{Action: ActAnswerDisclosure, From: []State{StateReferred, StateInMediation, StateAppraisal}, Who: []Who{WhoParty},
		Params: "answer (continue | replace)", Requires: "an open disclosure", apply: applyAnswerDisclosure},
	{Action: ActReplaceMediator, From: []State{StateReferred, StateInMediation, StateAppraisal}, To: StateReferred, Who: []Who{WhoClerk, WhoOrgAdmin},
		Params: "mediator_ids, presiding_id, reason", Requires: "a reason; the new mediators must accept and their acceptance starts the time limit afresh", apply: applyReplaceMediator},
	{Action: ActWithdraw, From: []State{StateInMediation, StateAppraisal}, To: StateReturned, Who: []Who{WhoMediator},
		Params: "reason", Requires: "the mediator recuses themself (回避) with a reason; the case returns for reassignment", apply: applyWithdraw},
	{Action: ActRequestExtension, From: []State{StateInMediation, StateAppraisal}, Who: []Who{WhoMediator},
		Params: "days (1–60), reason", Requires: "no other extension pending; takes effect only once every party consents (OMR Art. 24)", apply: applyRequestExtension},
	{Action: ActConsentExtension, From: []State{StateInMediation, StateAppraisal}, Who: []Who{WhoParty},
		Params: "", Requires: "a pending extension; each party consents itself, in the app or by the link in the served notice (staff cannot record it); the time limit is extended when the last party consents (OMR Art. 24)", apply: applyConsentExtension},
	{Action: ActPause, From: []State{StateInMediation}, To: StateAppraisal, Who: []Who{WhoMediator},
		Params: "reason", Requires: "appraisal or valuation: the time spent does not count (OMR Art. 26)", apply: applyPause},
	{Action: ActResume, From: []State{StateAppraisal}, To: StateInMediation, Who: []Who{WhoMediator},
		Params: "", Requires: "the deadline moves by the time spent in appraisal", apply: applyResume},
	{Action: ActEnd, From: []State{StateInMediation, StateAppraisal, StateSigning}, Who: []Who{WhoMediator, WhoSystem},
		Params: "ground (one of 8), note", Requires: "agreement_reached → signing; any other ground → failed; time_limit_passed only after the deadline; from signing only party_refused_to_sign, applicant_withdrew or other (OMR Art. 25)", apply: applyEnd},
	{Action: ActAgreementEffective, From: []State{StateSigning}, To: StateSettled, Who: []Who{WhoSystem},
		Params: "", Requires: "every party has signed the agreement, or the confirmation sheet of an agreement signed on paper (OMR Art. 19; notice §10); Parley applies it in the transaction of the last party's signature and dates the effect at that signature, which opens the 30-day window for judicial confirmation; no note by staff can stand in for it", apply: applyAgreementEffective},
	{Action: ActApplyConfirmation, From: []State{StateSettled}, To: "", Who: []Who{WhoParty},
		Params: "court_id (a direct application without a court: the competent court the parties apply to)", Requires: "委派 or direct cases; within 30 days of the agreement taking effect; a complete agreement (the mediator's signature and the seal are in); not for IP ownership or validity disputes, nor for an agreement with a term declaring the validity or ownership of an IP right (CPL Art. 205; CPLI Art. 355); the application is joint: it goes to the court when every party has applied — for a direct application without a court, to the court every party named, which accepts or refuses it", apply: applyApplyConfirmation},
	{Action: ActAcceptCourtRequest, From: []State{StateSettled}, To: StateConfirmationPending, Who: []Who{WhoRequestedCourt},
		Params: "note", Requires: "a joint application of a direct application's parties to this court; the court takes the case for review and decides within 30 days (CPL Art. 187)", apply: applyAcceptCourtRequest},
	{Action: ActRefuseCourtRequest, From: []State{StateSettled}, Who: []Who{WhoRequestedCourt},
		Params: "reason", Requires: "a joint application to this court; a reason (not competent, say); the parties may apply to another court within the 30 days", apply: applyRefuseCourtRequest},
	{Action: ActConfirm, From: []State{StateConfirmationPending}, To: StateConfirmed, Who: []Who{WhoJudge},
		Params: "note", Requires: "a judge of the court that invited the mediator (CPL Art. 206); a complete agreement (every party, the mediator, and the organisation's seal where an organisation mediates) with no term on the validity or ownership of an IP right (CPLI Art. 355); the court's signature, visible as a stamp on the agreement's last page, is applied in the same transaction or the case is not confirmed", apply: applyConfirm},
	{Action: ActRejectConfirmation, From: []State{StateConfirmationPending}, To: StateConfirmationRejected, Who: []Who{WhoJudge},
		Params: "reason", Requires: "a reason; the parties may mediate again or sue", apply: applyRejectConfirmation},
	{Action: ActRemediate, From: []State{StateConfirmationRejected}, To: StateReturned, Who: []Who{WhoClerk},
		Params: "reason", Requires: "the parties want to mediate again after a rejection; the case returns for referral", apply: applyRemediate},
	{Action: ActIssueStatement, From: []State{StateSettled}, To: StateStatementIssued, Who: []Who{WhoJudge},
		Params: "note", Requires: "委托 cases: the court issues a mediation statement (调解书) (OMR Art. 20)", apply: applyIssueStatement},
	{Action: ActWithdrawSuit, From: []State{StateSettled}, To: StateSuitWithdrawn, Who: []Who{WhoClerk},
		Params: "note", Requires: "委托 cases: the plaintiff withdraws the suit instead (OMR Art. 20)", apply: applyWithdrawSuit},
	{Action: ActFile, From: []State{StateFailed}, To: StateFiled, Who: []Who{WhoClerk},
		Params: "note", Requires: "委派 or direct cases with a court: the court files the case (OMR Art. 21)", apply: applyFile},
	{Action: ActResumeTrial, From: []State{StateFailed}, To: StateTrialResumed, Who: []Who{WhoClerk, WhoJudge},
		Params: "note", Requires: "委托 cases: the trial continues (OMR Art. 21)", apply: applyResumeTrial},
	{Action: ActPushToCourt, From: []State{StateFailed}, Who: []Who{WhoOrgAdmin, WhoMediator},
		Params: "court_id", Requires: "direct applications without a court: pushed to a court for online filing (notice §10)", apply: applyPushToCourt},
}

// TransitionFor returns the transition for an action, or nil.
func TransitionFor(a Action) *Transition {
	for _, t := range Transitions {
		if t.Action == a {
			return t
		}
	}
	return nil
}

// Relations returns the relations principal p has to case c.
func Relations(p Principal, c *Case) []Who {
	var out []Who
	switch p.Kind {
	case KindSystem:
		return []Who{WhoSystem}
	case KindParty, KindAgent:
		if p.CaseID == c.ID && c.Party(p.PartyID) != nil {
			out = append(out, WhoParty)
		}
	case KindAccount:
		switch p.Role {
		case RoleClerk:
			if c.CourtID != "" && c.CourtID == p.OrgID {
				out = append(out, WhoClerk)
			}
			if c.CourtID == "" && c.Pending != nil && c.Pending.CourtRequest != nil && p.OrgID != "" && c.Pending.CourtRequest.CourtID == p.OrgID {
				out = append(out, WhoRequestedCourt)
			}
		case RoleJudge:
			if c.CourtID != "" && c.CourtID == p.OrgID {
				out = append(out, WhoJudge)
			}
		case RoleOrgAdmin:
			if c.OrganisationID != "" && c.OrganisationID == p.OrgID {
				out = append(out, WhoOrgAdmin)
			}
		case RoleMediator:
			assigned := false
			for _, m := range c.Mediators {
				switch {
				case m.AccountID == p.ID && m.Status == AssignAccepted:
					out = append(out, WhoMediator)
				case m.AccountID == p.ID && m.Status == AssignAssigned:
					out = append(out, WhoAssignedMediator)
				}
				if m.Status == AssignAssigned || m.Status == AssignAccepted {
					assigned = true
				}
			}
			if !assigned && c.State == StateReferred && p.OrgID != "" && p.OrgID == c.OrganisationID {
				out = append(out, WhoAssignedMediator)
			}
		}
	}
	return out
}

// Allowed reports whether p may take transition t on c now (state and relation only, not the requirements).
func (t *Transition) Allowed(p Principal, c *Case) bool {
	if !slices.Contains(t.From, c.State) {
		return false
	}
	for _, w := range Relations(p, c) {
		if slices.Contains(t.Who, w) {
			return true
		}
	}
	return false
}

// Available lists the actions p may take on c in its current state.
func Available(p Principal, c *Case) []Action {
	var out []Action
	for _, t := range Transitions {
		if t.Allowed(p, c) {
			out = append(out, t.Action)
		}
	}
	return out
}

// Apply checks and applies action a by p to c, changing c in place. The checks come in order: the case's state
// (ECONFLICT), the actor's relation to the case (EFORBIDDEN), the inputs (EINVALID), the domain rules
// (EUNPROCESSABLE). On error c is left unchanged.
func Apply(c *Case, a Action, p Principal, in Params, env Env) (Outcome, error) {
	t := TransitionFor(a)
	if t == nil {
		return Outcome{}, Errorf(ENOTFOUND, "unknown action %q", a)
	}
	if !slices.Contains(t.From, c.State) {
		return Outcome{}, Errorf(ECONFLICT, "the case is %s: %s is not possible now", c.State, a)
	}
	rel := Relations(p, c)
	ok := false
	for _, w := range rel {
		if slices.Contains(t.Who, w) {
			ok = true
		}
	}
	if !ok {
		e := Errorf(EFORBIDDEN, "%s may not %s on this case", describe(p), a)
		e.Params["1"], e.Kinds["1"] = string(p.Kind), "who"
		if p.Kind == KindAccount {
			e.Params["1"], e.Kinds["1"] = string(p.Role), "role"
		}
		return Outcome{}, e
	}
	work := cloneCase(c)
	out, err := t.apply(work, p, in, env)
	if err != nil {
		return Outcome{}, err
	}
	if out.EventType == "" {
		out.EventType = "case." + string(a)
	}
	if out.Visibility == "" {
		out.Visibility = VisAll
	}
	if out.Data == nil {
		out.Data = map[string]any{}
	}
	if work.State != c.State {
		out.Data["from"] = string(c.State)
		out.Data["to"] = string(work.State)
	}
	*c = *work
	return out, nil
}

func describe(p Principal) string {
	switch p.Kind {
	case KindAccount:
		return "a " + string(p.Role)
	case KindParty:
		return "a party"
	case KindAgent:
		return "an agent"
	case KindSystem:
		return "the system"
	}
	return "this caller"
}

func cloneCase(c *Case) *Case {
	w := *c
	w.Mediators = slices.Clone(c.Mediators)
	w.Parties = slices.Clone(c.Parties)
	if c.Pending != nil {
		p := *c.Pending
		if p.MediatorChoices != nil {
			p.MediatorChoices = cloneMap(p.MediatorChoices)
		}
		if p.ConfirmationApps != nil {
			p.ConfirmationApps = cloneMap(p.ConfirmationApps)
		}
		if p.Disclosure != nil {
			d := *p.Disclosure
			d.Answers = cloneMap(d.Answers)
			p.Disclosure = &d
		}
		if p.Extension != nil {
			e := *p.Extension
			e.Consents = cloneMap(e.Consents)
			p.Extension = &e
		}
		if p.ChoiceWaivers != nil {
			p.ChoiceWaivers = cloneMap(p.ChoiceWaivers)
		}
		if p.CourtChoices != nil {
			p.CourtChoices = cloneMap(p.CourtChoices)
		}
		if p.CourtRequest != nil {
			r := *p.CourtRequest
			p.CourtRequest = &r
		}
		w.Pending = &p
	}
	return &w
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func (c *Case) pending() *Pending {
	if c.Pending == nil {
		c.Pending = &Pending{}
	}
	return c.Pending
}

func (c *Case) tidyPending() {
	p := c.Pending
	if p != nil && len(p.MediatorChoices) == 0 && p.Disclosure == nil && p.Extension == nil && len(p.ConfirmationApps) == 0 &&
		len(p.ChoiceWaivers) == 0 && len(p.CourtChoices) == 0 && p.CourtRequest == nil {
		c.Pending = nil
	}
}

// requireText checks a free-text input: present when required, at most max runes.
func requireText(fields map[string]string, name, v string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(v) == "":
		fields[name] = "is required"
	case utf8.RuneCountInString(v) > max:
		fields[name] = fmt.Sprintf("must be at most %d characters", max)
	}
}

// actingParty returns the party ID the principal acts for, or, for staff recording for a party, in.PartyID.
func actingParty(c *Case, p Principal, in Params) (string, error) {
	if p.IsPartySide() {
		return p.PartyID, nil
	}
	if in.PartyID == "" {
		return "", Invalid(map[string]string{"party_id": "is required when staff record a party's consent"})
	}
	if c.Party(in.PartyID) == nil {
		return "", Invalid(map[string]string{"party_id": "is not a party of this case"})
	}
	if strings.TrimSpace(in.Note) == "" {
		return "", Invalid(map[string]string{"note": "say how and when the party consented"})
	}
	return in.PartyID, nil
}

func applyConsentOnline(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if in.Consent == nil {
		return Outcome{}, Invalid(map[string]string{"consent": "is required (true or false)"})
	}
	pid, err := actingParty(c, p, in)
	if err != nil {
		return Outcome{}, err
	}
	party := c.Party(pid)
	party.ConsentOnline = *in.Consent
	party.ConsentAt = ptr(env.Now)
	return Outcome{EventType: "party.consent_online", Data: map[string]any{"party_id": pid, "party": party.Name, "consent": *in.Consent, "note": in.Note}}, nil
}

func applyChooseMediator(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Source == SourceDirect || c.CourtID == "" {
		return Outcome{}, Errorf(EUNPROCESSABLE, "parties choose a mediator jointly only in cases referred by a court")
	}
	if c.ChooseDueAt != nil && env.Now.After(*c.ChooseDueAt) {
		return Outcome{}, Errorf(EUNPROCESSABLE, "the 2-working-day window to choose a mediator closed at %s; the court assigns one", c.ChooseDueAt.In(env.Cal.Loc).Format("2006-01-02 15:04"))
	}
	if in.MediatorID == "" {
		return Outcome{}, Invalid(map[string]string{"mediator_id": "is required"})
	}
	m, ok := env.Mediators[in.MediatorID]
	if !ok || !m.Active {
		return Outcome{}, Invalid(map[string]string{"mediator_id": "is not a mediator"})
	}
	if !m.OnRoster {
		return Outcome{}, Errorf(EUNPROCESSABLE, "%s is not on the court's confirmed roster", m.Name)
	}
	pend := c.pending()
	if pend.MediatorChoices == nil {
		pend.MediatorChoices = map[string]string{}
	}
	pend.MediatorChoices[p.PartyID] = in.MediatorID
	out := Outcome{Data: map[string]any{"party_id": p.PartyID, "mediator_id": m.ID, "mediator": m.Name}, Visibility: VisSide(p.Side)}
	for _, party := range c.Parties {
		if pend.MediatorChoices[party.ID] != in.MediatorID {
			return out, nil
		}
	}
	// Every party chose the same mediator: the case is referred to them.
	pend.MediatorChoices, pend.ChoiceWaivers = nil, nil
	c.tidyPending()
	referTo(c, []MediatorInfo{m}, m.ID, env)
	if m.OrgID != "" && c.OrganisationID == "" {
		c.OrganisationID = m.OrgID
	}
	out.EventType = "case.referred_by_joint_choice"
	out.Visibility = VisAll
	return out, nil
}

// referTo assigns mediators (replacing earlier assignments) and opens the answer window.
func referTo(c *Case, ms []MediatorInfo, presiding string, env Env) {
	for i := range c.Mediators {
		if c.Mediators[i].Status == AssignAssigned || c.Mediators[i].Status == AssignAccepted {
			c.Mediators[i].Status = AssignReplaced
		}
	}
	for _, m := range ms {
		c.Mediators = append(c.Mediators, MediatorAssignment{AccountID: m.ID, Name: m.Name, Presiding: m.ID == presiding, Status: AssignAssigned, AssignedAt: env.Now})
	}
	c.State = StateReferred
	c.ReferredAt = ptr(env.Now)
	c.AnswerDueAt = ptr(env.Cal.AddWorkingDays(env.Now, 3))
	c.AcceptedAt, c.DueAt, c.PausedAt = nil, nil, nil
	c.PausedSeconds, c.ExtendedDays, c.TimeLimitDays = 0, 0, 0
}

// pickMediators validates mediator_ids/presiding_id against env and a membership rule.
func pickMediators(in Params, env Env, check func(MediatorInfo) string) ([]MediatorInfo, string, error) {
	fields := map[string]string{}
	ids := in.MediatorIDs
	if len(ids) == 0 && in.MediatorID != "" {
		ids = []string{in.MediatorID}
	}
	if len(ids) > 5 {
		fields["mediator_ids"] = "at most 5 mediators"
	}
	var ms []MediatorInfo
	seen := map[string]bool{}
	for i, id := range ids {
		m, ok := env.Mediators[id]
		switch {
		case seen[id]:
			fields[fmt.Sprintf("mediator_ids[%d]", i)] = "is listed twice"
		case !ok || !m.Active:
			fields[fmt.Sprintf("mediator_ids[%d]", i)] = "is not an active mediator"
		default:
			if why := check(m); why != "" {
				fields[fmt.Sprintf("mediator_ids[%d]", i)] = why
			}
		}
		seen[id] = true
		ms = append(ms, m)
	}
	presiding := in.PresidingID
	if presiding == "" && len(ids) == 1 {
		presiding = ids[0]
	}
	if len(ids) > 1 && presiding == "" {
		fields["presiding_id"] = "is required when several mediators are assigned (OMR Art. 11)"
	} else if len(ids) > 0 && !seen[presiding] {
		fields["presiding_id"] = "must be one of mediator_ids"
	}
	if err := Invalid(fields); err != nil {
		return nil, "", err
	}
	return ms, presiding, nil
}

func applyRefer(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	courtCase := c.Source != SourceDirect
	if courtCase && !p.IsStaff(RoleClerk) {
		return Outcome{}, Errorf(EFORBIDDEN, "a case referred by a court is referred by the court's clerk")
	}
	if !courtCase && !p.IsStaff(RoleOrgAdmin) {
		return Outcome{}, Errorf(EFORBIDDEN, "a direct application is assigned by its organisation's admin")
	}
	if len(in.MediatorIDs) == 0 && in.MediatorID == "" && in.OrganisationID == "" {
		return Outcome{}, Invalid(map[string]string{"mediator_ids": "name an organisation_id, mediator_ids or both"})
	}
	if courtCase && c.State == StateRegistered && c.ChooseDueAt != nil && env.Now.Before(*c.ChooseDueAt) {
		var waiting []string
		for _, party := range c.Parties {
			if c.Pending == nil || c.Pending.ChoiceWaivers == nil || c.Pending.ChoiceWaivers[party.ID].IsZero() {
				waiting = append(waiting, party.Name)
			}
		}
		if len(waiting) > 0 {
			e := Errorf(EUNPROCESSABLE, "the parties may choose a mediator jointly until %s (OMR Art. 10): the court refers after that, or once every party waived the choice; not waived yet: %s",
				c.ChooseDueAt.In(env.Cal.Loc).Format("2006-01-02 15:04"), strings.Join(waiting, ", "))
			e.Fields = map[string]string{"parties": "not waived yet: " + strings.Join(waiting, ", ")}
			return Outcome{}, e
		}
	}
	data := map[string]any{}
	orgID := c.OrganisationID
	if in.OrganisationID != "" {
		if !courtCase && in.OrganisationID != c.OrganisationID {
			return Outcome{}, Invalid(map[string]string{"organisation_id": "a direct application stays with the organisation it was made to"})
		}
		o, ok := env.Orgs[in.OrganisationID]
		if !ok || o.Kind != OrgMediation {
			return Outcome{}, Invalid(map[string]string{"organisation_id": "is not a mediation organisation"})
		}
		if courtCase && !o.OnRoster {
			return Outcome{}, Errorf(EUNPROCESSABLE, "%s is not on the court's confirmed roster", o.Name)
		}
		orgID = o.ID
		data["organisation_id"], data["organisation"] = o.ID, o.Name
	}
	ms, presiding, err := pickMediators(in, env, func(m MediatorInfo) string {
		switch {
		case courtCase && !m.OnRoster:
			return "is not on the court's confirmed roster"
		case orgID != "" && m.OrgID != orgID:
			return "does not belong to the organisation the case is referred to"
		}
		return ""
	})
	if err != nil {
		return Outcome{}, err
	}
	c.OrganisationID = orgID
	referTo(c, ms, presiding, env)
	if c.Pending != nil {
		c.Pending.MediatorChoices, c.Pending.ChoiceWaivers = nil, nil
		c.tidyPending()
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	data["mediators"], data["presiding_id"] = names, presiding
	data["answer_due_at"] = c.AnswerDueAt.UTC().Format(time.RFC3339)
	kind := "委派"
	if c.Source.Entrusted() {
		kind = "委托"
	} else if c.Source == SourceDirect {
		kind = "direct"
	}
	data["referral_kind"] = kind
	return Outcome{Data: data}, nil
}

func applyAssign(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	for _, m := range c.Mediators {
		if m.Status == AssignAssigned || m.Status == AssignAccepted {
			return Outcome{}, Errorf(EUNPROCESSABLE, "a mediator is already assigned; use replace_mediator")
		}
	}
	if len(in.MediatorIDs) == 0 && in.MediatorID == "" {
		return Outcome{}, Invalid(map[string]string{"mediator_ids": "is required"})
	}
	ms, presiding, err := pickMediators(in, env, func(m MediatorInfo) string {
		if m.OrgID != c.OrganisationID {
			return "does not belong to the organisation"
		}
		return ""
	})
	if err != nil {
		return Outcome{}, err
	}
	referTo(c, ms, presiding, env)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return Outcome{Data: map[string]any{"mediators": names, "presiding_id": presiding, "answer_due_at": c.AnswerDueAt.UTC().Format(time.RFC3339)}}, nil
}

func applyAccept(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	idx := -1
	for i, m := range c.Mediators {
		if m.AccountID == p.ID && m.Status == AssignAssigned {
			idx = i
		}
	}
	if idx < 0 {
		// A mediator of the organisation takes a case referred to the organisation with no one assigned.
		c.Mediators = append(c.Mediators, MediatorAssignment{AccountID: p.ID, Name: p.Name, Presiding: true, Status: AssignAssigned, AssignedAt: env.Now})
		idx = len(c.Mediators) - 1
	}
	c.Mediators[idx].Status = AssignAccepted
	c.Mediators[idx].AnsweredAt = ptr(env.Now)
	data := map[string]any{"mediator_id": p.ID, "mediator": p.Name, "presiding": c.Mediators[idx].Presiding}
	if !c.Mediators[idx].Presiding {
		return Outcome{EventType: "case.co_mediator_accepted", Data: data}, nil
	}
	c.State = StateInMediation
	c.AcceptedAt = ptr(env.Now)
	c.AnswerDueAt = nil
	c.TimeLimitDays = c.Source.TimeLimitDays()
	c.DueAt = ptr(env.Cal.AddDays(env.Now, c.TimeLimitDays))
	data["time_limit_days"] = c.TimeLimitDays
	data["due_at"] = c.DueAt.UTC().Format(time.RFC3339)
	return Outcome{Data: data}, nil
}

func applyDecline(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	data := map[string]any{"reason": in.Reason}
	if p.IsStaff(RoleMediator) {
		idx := -1
		for i, m := range c.Mediators {
			if m.AccountID == p.ID && m.Status == AssignAssigned {
				idx = i
			}
		}
		if idx < 0 {
			return Outcome{}, Errorf(EUNPROCESSABLE, "the case is referred to your organisation, not to you: there is nothing for you to decline")
		}
		c.Mediators[idx].Status = AssignDeclined
		c.Mediators[idx].AnsweredAt = ptr(env.Now)
		c.Mediators[idx].DeclineReason = in.Reason
		data["mediator_id"], data["mediator"] = p.ID, p.Name
		if !c.Mediators[idx].Presiding {
			return Outcome{EventType: "case.co_mediator_declined", Data: data}, nil
		}
	}
	for i := range c.Mediators {
		if c.Mediators[i].Status == AssignAssigned || c.Mediators[i].Status == AssignAccepted {
			c.Mediators[i].Status = AssignDeclined
			c.Mediators[i].AnsweredAt = ptr(env.Now)
		}
	}
	c.State = StateReturned
	c.AnswerDueAt = nil
	return Outcome{Data: data}, nil
}

func applyReturnUnanswered(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.AnswerDueAt == nil || !env.Now.After(*c.AnswerDueAt) {
		return Outcome{}, Errorf(EUNPROCESSABLE, "the answer window is still open")
	}
	for i := range c.Mediators {
		if c.Mediators[i].Status == AssignAssigned {
			c.Mediators[i].Status = AssignDeclined
			c.Mediators[i].DeclineReason = "no answer within 3 working days"
		}
	}
	due := c.AnswerDueAt.UTC().Format(time.RFC3339)
	c.State = StateReturned
	c.AnswerDueAt = nil
	return Outcome{Data: map[string]any{"answer_due_at": due, "reason": "no answer within 3 working days"}}, nil
}

func applyDisclose(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "text", in.Text, true, 4000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	c.pending().Disclosure = &Disclosure{MediatorID: p.ID, Text: in.Text, At: env.Now, Answers: map[string]string{}}
	var notify []string
	for _, party := range c.Parties {
		notify = append(notify, party.ID)
	}
	return Outcome{Data: map[string]any{"mediator_id": p.ID, "mediator": p.Name, "text": in.Text}, Notify: notify}, nil
}

func applyAnswerDisclosure(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Pending == nil || c.Pending.Disclosure == nil {
		return Outcome{}, Errorf(EUNPROCESSABLE, "there is no open disclosure to answer")
	}
	if in.Answer != "continue" && in.Answer != "replace" {
		return Outcome{}, Invalid(map[string]string{"answer": "must be continue or replace"})
	}
	c.Pending.Disclosure.Answers[p.PartyID] = in.Answer
	data := map[string]any{"party_id": p.PartyID, "answer": in.Answer}
	all := true
	for _, party := range c.Parties {
		if c.Pending.Disclosure.Answers[party.ID] != "continue" {
			all = false
		}
	}
	if all {
		// Every party consents to continue: the disclosure is settled.
		c.Pending.Disclosure = nil
		c.tidyPending()
		data["settled"] = true
	}
	return Outcome{Data: data}, nil
}

func applyReplaceMediator(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if len(in.MediatorIDs) == 0 && in.MediatorID == "" {
		fields["mediator_ids"] = "is required"
	}
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	courtCase := c.Source != SourceDirect
	if p.IsStaff(RoleOrgAdmin) && courtCase && c.OrganisationID == "" {
		return Outcome{}, Errorf(EFORBIDDEN, "only the court's clerk replaces a mediator it referred directly")
	}
	ms, presiding, err := pickMediators(in, env, func(m MediatorInfo) string {
		switch {
		case p.IsStaff(RoleOrgAdmin) && m.OrgID != c.OrganisationID:
			return "does not belong to the organisation"
		case courtCase && p.IsStaff(RoleClerk) && !m.OnRoster:
			return "is not on the court's confirmed roster"
		case c.ActiveMediator(m.ID):
			return "is already a mediator of this case"
		}
		return ""
	})
	if err != nil {
		return Outcome{}, err
	}
	var old []string
	for _, m := range c.Mediators {
		if m.Status == AssignAssigned || m.Status == AssignAccepted {
			old = append(old, m.Name)
		}
	}
	referTo(c, ms, presiding, env)
	if c.Pending != nil {
		c.Pending.Disclosure = nil
		c.Pending.Extension = nil
		c.tidyPending()
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return Outcome{Data: map[string]any{"reason": in.Reason, "replaced": old, "mediators": names, "presiding_id": presiding}}, nil
}

func applyWithdraw(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	for i := range c.Mediators {
		if c.Mediators[i].Status == AssignAssigned || c.Mediators[i].Status == AssignAccepted {
			c.Mediators[i].Status = AssignWithdrawn
		}
	}
	c.State = StateReturned
	c.AcceptedAt, c.DueAt, c.PausedAt = nil, nil, nil
	if c.Pending != nil {
		c.Pending.Disclosure, c.Pending.Extension = nil, nil
		c.tidyPending()
	}
	return Outcome{Data: map[string]any{"mediator_id": p.ID, "mediator": p.Name, "reason": in.Reason}}, nil
}

func applyRequestExtension(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	if in.Days < 1 || in.Days > 60 {
		fields["days"] = "must be between 1 and 60"
	}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	if c.Pending != nil && c.Pending.Extension != nil {
		return Outcome{}, Errorf(ECONFLICT, "an extension of %d days is already awaiting the parties' consent", c.Pending.Extension.Days)
	}
	c.pending().Extension = &Extension{Days: in.Days, Reason: in.Reason, RequestedBy: p.ID, At: env.Now, Consents: map[string]time.Time{}}
	var notify []string
	for _, party := range c.Parties {
		notify = append(notify, party.ID)
	}
	return Outcome{Data: map[string]any{"days": in.Days, "reason": in.Reason}, Notify: notify}, nil
}

func applyConsentExtension(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Pending == nil || c.Pending.Extension == nil {
		return Outcome{}, Errorf(EUNPROCESSABLE, "no extension is awaiting consent")
	}
	if !p.IsPartySide() {
		return Outcome{}, Errorf(EFORBIDDEN, "each party consents to an extension itself (OMR Art. 24): staff cannot record it")
	}
	pid := p.PartyID
	ext := c.Pending.Extension
	if _, done := ext.Consents[pid]; done {
		return Outcome{}, Errorf(ECONFLICT, "this party has already consented to the extension")
	}
	ext.Consents[pid] = env.Now
	data := map[string]any{"party_id": pid, "party": c.Party(pid).Name, "days": ext.Days, "by": string(p.Kind), "method": consentMethod(in.Note)}
	for _, party := range c.Parties {
		if _, ok := ext.Consents[party.ID]; !ok {
			return Outcome{Data: data}, nil
		}
	}
	// The last consent: the time limit is extended.
	if c.DueAt != nil {
		c.DueAt = ptr(c.DueAt.AddDate(0, 0, ext.Days))
		data["due_at"] = c.DueAt.UTC().Format(time.RFC3339)
	}
	c.ExtendedDays += ext.Days
	c.Pending.Extension = nil
	c.tidyPending()
	data["extended"] = true
	return Outcome{EventType: "case.extension_granted", Data: data}, nil
}

func applyPause(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	c.State = StateAppraisal
	c.PausedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"reason": in.Reason}}, nil
}

func applyResume(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	paused := time.Duration(0)
	if c.PausedAt != nil {
		paused = env.Now.Sub(*c.PausedAt)
	}
	c.State = StateInMediation
	c.PausedAt = nil
	c.PausedSeconds += int64(paused / time.Second)
	data := map[string]any{"paused_seconds": int64(paused / time.Second)}
	if c.DueAt != nil {
		c.DueAt = ptr(c.DueAt.Add(paused))
		data["due_at"] = c.DueAt.UTC().Format(time.RFC3339)
	}
	return Outcome{Data: data}, nil
}

func applyEnd(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	if !slices.Contains(EndGrounds, in.Ground) {
		fields["ground"] = "must be one of " + joinGrounds()
	}
	requireText(fields, "note", in.Note, false, 4000)
	if in.Ground != GroundAgreement && slices.Contains(EndGrounds, in.Ground) && p.Kind != KindSystem {
		// The failure report is mandatory (issue 12 §3); the system's end at the time limit has none.
		in.Report.problems(fields)
	}
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	if p.Kind == KindSystem && in.Ground != GroundTimeLimit {
		return Outcome{}, Errorf(EFORBIDDEN, "the system ends cases only when the time limit has passed")
	}
	if in.Ground == GroundTimeLimit {
		if c.State != StateInMediation || c.DueAt == nil || !env.Now.After(*c.DueAt) {
			return Outcome{}, Errorf(EUNPROCESSABLE, "the time limit has not passed")
		}
		if c.Pending != nil && c.Pending.Extension != nil && p.Kind != KindSystem {
			// A mediator may still wait for consents; the system does not: the limit is the limit.
			return Outcome{}, Errorf(EUNPROCESSABLE, "an extension is awaiting the parties' consent")
		}
	}
	if c.State == StateSigning && !slices.Contains([]EndGround{GroundRefusedToSign, GroundWithdrawn, GroundOther}, in.Ground) {
		return Outcome{}, Errorf(EUNPROCESSABLE, "once an agreement is being signed, mediation can end only as party_refused_to_sign, applicant_withdrew or other")
	}
	if c.State == StateAppraisal && in.Ground == GroundAgreement {
		return Outcome{}, Errorf(EUNPROCESSABLE, "resume the case from appraisal before recording an agreement")
	}
	c.EndGround = in.Ground
	c.EndedAt = ptr(env.Now)
	if c.State == StateAppraisal && c.PausedAt != nil {
		c.PausedSeconds += int64(env.Now.Sub(*c.PausedAt) / time.Second)
		c.PausedAt = nil
	}
	if c.Pending != nil {
		c.Pending.Extension, c.Pending.Disclosure = nil, nil
		c.tidyPending()
	}
	data := map[string]any{"ground": string(in.Ground), "note": in.Note}
	if in.Report != nil && in.Ground != GroundAgreement {
		data["report"] = map[string]any{"facts": strings.TrimSpace(in.Report.Facts), "reasons": strings.TrimSpace(in.Report.Reasons), "suggestions": strings.TrimSpace(in.Report.Suggestions)}
	}
	if in.Ground == GroundAgreement {
		c.State = StateSigning
		return Outcome{EventType: "case.agreement_reached", Data: data}, nil
	}
	c.State = StateFailed
	if c.Source.Entrusted() {
		data["next"] = "the court resumes the trial"
	} else if c.CourtID != "" {
		data["next"] = "the court files the case"
	} else {
		data["next"] = "the applicant may have it pushed to a court for online filing"
	}
	return Outcome{EventType: "case.ended", Data: data}, nil
}

func joinGrounds() string {
	var s []string
	for _, g := range EndGrounds {
		s = append(s, string(g))
	}
	return strings.Join(s, ", ")
}

func applyAgreementEffective(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	ag := env.Agreement
	if ag == nil || ag.PartiesSignedAt == nil {
		return Outcome{}, Errorf(EUNPROCESSABLE, "an agreement takes effect only from a document every party has signed (OMR Art. 19)")
	}
	at := *ag.PartiesSignedAt
	c.State = StateSettled
	c.EffectiveAt = ptr(at)
	data := map[string]any{"document_id": ag.DocumentID, "kind": ag.Kind, "signed_at": at.UTC().Format(time.RFC3339Nano)}
	if !c.Source.Entrusted() && c.CourtID != "" {
		c.ConfirmationDueAt = ptr(env.Cal.AddDays(at, 30))
		data["confirmation_due_at"] = c.ConfirmationDueAt.UTC().Format(time.RFC3339)
	}
	return Outcome{Data: data}, nil
}

// barredTerm refuses judicial confirmation of an agreement that declares the validity or ownership of an IP right.
func barredTerm(ag *AgreementFacts) error {
	if ag == nil {
		return nil
	}
	if t := ag.Barred(); t != nil {
		return &Error{Code: EUNPROCESSABLE, Message: "the agreement declares the validity or ownership of an IP right, which is not accepted for judicial confirmation (CPLI Art. 355)",
			Fields: map[string]string{"terms": "validity_ownership"}}
	}
	return nil
}

func applyApplyConfirmation(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	switch {
	case c.Source.Entrusted():
		return Outcome{}, Errorf(EUNPROCESSABLE, "a case entrusted after filing (委托) ends with a mediation statement, not judicial confirmation")
	case c.DisputeType == DisputeOwnershipValidity:
		return Outcome{}, Errorf(EUNPROCESSABLE, "agreements on the ownership or validity of IP rights are not accepted for judicial confirmation (CPLI Art. 355)")
	case c.CourtID == "" && c.Source != SourceDirect:
		return Outcome{}, Errorf(EUNPROCESSABLE, "the case has no court to apply to")
	case c.CourtID == "":
		return applyDirectConfirmation(c, p, in, env)
	case c.ConfirmationDueAt == nil || env.Now.After(*c.ConfirmationDueAt):
		return Outcome{}, Errorf(EUNPROCESSABLE, "judicial confirmation must be applied for within 30 days of the agreement taking effect (CPL Art. 205)")
	}
	if err := barredTerm(env.Agreement); err != nil {
		return Outcome{}, err
	}
	if ag := env.Agreement; ag != nil && !ag.Complete {
		return Outcome{}, Errorf(EUNPROCESSABLE, "the agreement is not complete yet: the mediator's signature and, where an organisation mediates, its seal come before an application for judicial confirmation")
	}
	pend := c.pending()
	if pend.ConfirmationApps == nil {
		pend.ConfirmationApps = map[string]time.Time{}
	}
	if _, done := pend.ConfirmationApps[p.PartyID]; done {
		return Outcome{}, Errorf(ECONFLICT, "this party has already applied")
	}
	pend.ConfirmationApps[p.PartyID] = env.Now
	data := map[string]any{"party_id": p.PartyID}
	for _, party := range c.Parties {
		if _, ok := pend.ConfirmationApps[party.ID]; !ok {
			return Outcome{Data: data}, nil
		}
	}
	c.State = StateConfirmationPending
	data["joint"] = true
	return Outcome{Data: data}, nil
}

func applyConfirm(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	ag := env.Agreement
	switch {
	case ag == nil || ag.PartiesSignedAt == nil:
		return Outcome{}, Errorf(EUNPROCESSABLE, "there is no agreement signed by every party to confirm")
	case !ag.Complete:
		return Outcome{}, Errorf(EUNPROCESSABLE, "the agreement is not complete: the mediator's signature and, where an organisation mediates, its seal come before judicial confirmation")
	case c.DisputeType == DisputeOwnershipValidity:
		return Outcome{}, Errorf(EUNPROCESSABLE, "agreements on the ownership or validity of IP rights are not accepted for judicial confirmation (CPLI Art. 355)")
	}
	if err := barredTerm(ag); err != nil {
		return Outcome{}, err
	}
	c.State = StateConfirmed
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"judge_id": p.ID, "judge": p.Name, "note": in.Note}}, nil
}

func applyRejectConfirmation(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 4000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	c.State = StateConfirmationRejected
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"judge_id": p.ID, "judge": p.Name, "reason": in.Reason}}, nil
}

func applyRemediate(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	for i := range c.Mediators {
		if c.Mediators[i].Status == AssignAccepted || c.Mediators[i].Status == AssignAssigned {
			c.Mediators[i].Status = AssignReplaced
		}
	}
	c.State = StateReturned
	c.EndGround, c.EndedAt, c.EffectiveAt, c.ConfirmationDueAt, c.DecidedAt = "", nil, nil, nil, nil
	c.AcceptedAt, c.DueAt = nil, nil
	c.Pending = nil
	return Outcome{Data: map[string]any{"reason": in.Reason}}, nil
}

func applyIssueStatement(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if !c.Source.Entrusted() {
		return Outcome{}, Errorf(EUNPROCESSABLE, "a mediation statement (调解书) is issued only in cases entrusted after filing (委托)")
	}
	c.State = StateStatementIssued
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"judge_id": p.ID, "judge": p.Name, "note": in.Note}}, nil
}

func applyWithdrawSuit(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if !c.Source.Entrusted() {
		return Outcome{}, Errorf(EUNPROCESSABLE, "only a case entrusted after filing (委托) has a suit to withdraw")
	}
	c.State = StateSuitWithdrawn
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"note": in.Note}}, nil
}

func applyFile(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Source.Entrusted() {
		return Outcome{}, Errorf(EUNPROCESSABLE, "a case entrusted after filing (委托) is already filed: resume the trial")
	}
	c.State = StateFiled
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"note": in.Note}}, nil
}

func applyResumeTrial(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if !c.Source.Entrusted() {
		return Outcome{}, Errorf(EUNPROCESSABLE, "only a case entrusted after filing (委托) has a trial to resume: file it instead")
	}
	c.State = StateTrialResumed
	c.DecidedAt = ptr(env.Now)
	return Outcome{Data: map[string]any{"note": in.Note}}, nil
}

func applyPushToCourt(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Source != SourceDirect {
		return Outcome{}, Errorf(EUNPROCESSABLE, "only a direct application is pushed to a court")
	}
	if c.CourtID != "" {
		return Outcome{}, Errorf(ECONFLICT, "the case is already with a court")
	}
	o, ok := env.Orgs[in.CourtID]
	if in.CourtID == "" || !ok || o.Kind != OrgCourt {
		return Outcome{}, Invalid(map[string]string{"court_id": "must name a court"})
	}
	c.CourtID = o.ID
	c.CourtName = o.Name
	return Outcome{Data: map[string]any{"court_id": o.ID, "court": o.Name}}, nil
}

// consentMethod says how a party's consent reached Parley, for the trail.
func consentMethod(note string) string {
	if note == ConsentByNoticeLink {
		return ConsentByNoticeLink
	}
	return "in the app"
}

// ConsentByNoticeLink marks a consent given through the personal link in a served notice.
const ConsentByNoticeLink = "by the link in the served notice"

func applyWaiveChoice(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if c.Source == SourceDirect || c.CourtID == "" {
		return Outcome{}, Errorf(EUNPROCESSABLE, "the joint choice of a mediator exists only in cases referred by a court")
	}
	pid, err := actingParty(c, p, in)
	if err != nil {
		return Outcome{}, err
	}
	pend := c.pending()
	if pend.ChoiceWaivers == nil {
		pend.ChoiceWaivers = map[string]time.Time{}
	}
	if _, done := pend.ChoiceWaivers[pid]; done {
		return Outcome{}, Errorf(ECONFLICT, "this party has already waived the choice")
	}
	pend.ChoiceWaivers[pid] = env.Now
	data := map[string]any{"party_id": pid, "party": c.Party(pid).Name, "note": in.Note}
	for _, party := range c.Parties {
		if _, ok := pend.ChoiceWaivers[party.ID]; !ok {
			return Outcome{Data: data}, nil
		}
	}
	data["all_waived"] = true
	return Outcome{Data: data}, nil
}

// confirmationDue is the end of the 30-day window to apply for judicial confirmation (CPL Art. 205).
func confirmationDue(c *Case, env Env) *time.Time {
	if c.ConfirmationDueAt != nil {
		return c.ConfirmationDueAt
	}
	if c.EffectiveAt != nil {
		return ptr(env.Cal.AddDays(*c.EffectiveAt, 30))
	}
	return nil
}

// applyDirectConfirmation is a party's application for judicial confirmation of a direct application with no
// court: each party names the competent court; when every party applied to the same court, the joint application
// goes to that court, which accepts or refuses it.
func applyDirectConfirmation(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	if due := confirmationDue(c, env); due == nil || env.Now.After(*due) {
		return Outcome{}, Errorf(EUNPROCESSABLE, "judicial confirmation must be applied for within 30 days of the agreement taking effect (CPL Art. 205)")
	}
	if c.Pending != nil && c.Pending.CourtRequest != nil {
		return Outcome{}, Errorf(ECONFLICT, "the joint application is with %s, awaiting its answer", c.Pending.CourtRequest.CourtName)
	}
	o, ok := env.Orgs[in.CourtID]
	if in.CourtID == "" || !ok || o.Kind != OrgCourt {
		return Outcome{}, Invalid(map[string]string{"court_id": "name the competent court you apply to (a direct application has none yet)"})
	}
	pend := c.pending()
	if pend.ConfirmationApps == nil {
		pend.ConfirmationApps = map[string]time.Time{}
	}
	if pend.CourtChoices == nil {
		pend.CourtChoices = map[string]string{}
	}
	if _, done := pend.ConfirmationApps[p.PartyID]; done {
		return Outcome{}, Errorf(ECONFLICT, "this party has already applied")
	}
	for pid, court := range pend.CourtChoices {
		if court != o.ID {
			e := Errorf(EUNPROCESSABLE, "the application is joint: apply to the court the other parties chose (%s applied to another), or agree with them on another", c.Party(pid).Name)
			e.Fields = map[string]string{"court_id": "another party applied to a different court (" + c.Party(pid).Name + ")"}
			return Outcome{}, e
		}
	}
	pend.ConfirmationApps[p.PartyID] = env.Now
	pend.CourtChoices[p.PartyID] = o.ID
	data := map[string]any{"party_id": p.PartyID, "court_id": o.ID, "court": o.Name}
	for _, party := range c.Parties {
		if _, ok := pend.ConfirmationApps[party.ID]; !ok {
			return Outcome{Data: data}, nil
		}
	}
	pend.CourtRequest = &CourtRequest{CourtID: o.ID, CourtName: o.Name, At: env.Now}
	data["joint"] = true
	return Outcome{EventType: "case.confirmation_requested", Data: data}, nil
}

func applyAcceptCourtRequest(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	req := c.Pending.CourtRequest // the relation WhoRequestedCourt implies it
	if due := confirmationDue(c, env); due != nil {
		c.ConfirmationDueAt = due
	}
	c.CourtID, c.CourtName = req.CourtID, req.CourtName
	c.State = StateConfirmationPending
	c.Pending.CourtChoices, c.Pending.CourtRequest = nil, nil
	c.tidyPending()
	return Outcome{Data: map[string]any{"court_id": req.CourtID, "court": req.CourtName, "clerk": p.Name, "note": in.Note,
		"decide_by": ConfirmationDecideBy(env.Cal, env.Now).UTC().Format(time.RFC3339)}}, nil
}

func applyRefuseCourtRequest(c *Case, p Principal, in Params, env Env) (Outcome, error) {
	fields := map[string]string{}
	requireText(fields, "reason", in.Reason, true, 2000)
	if err := Invalid(fields); err != nil {
		return Outcome{}, err
	}
	req := c.Pending.CourtRequest
	c.Pending.CourtChoices, c.Pending.CourtRequest, c.Pending.ConfirmationApps = nil, nil, nil
	c.tidyPending()
	var notify []string
	for _, party := range c.Parties {
		notify = append(notify, party.ID)
	}
	return Outcome{Data: map[string]any{"court_id": req.CourtID, "court": req.CourtName, "reason": in.Reason}, Notify: notify}, nil
}

// ConfirmationDecideBy is the end of the court's 30 days to decide on an application for judicial confirmation it
// received at t (CPL Art. 187).
func ConfirmationDecideBy(cal *Calendar, t time.Time) time.Time { return cal.AddDays(t, 30) }
