package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
)

type caseList struct {
	Cases  []cases.CaseSummary `json:"cases"`
	Total  int                 `json:"total"`
	Limit  int                 `json:"limit"`
	Offset int                 `json:"offset"`
}

type caseResponse struct {
	Case    *cases.Case    `json:"case"`
	Actions []cases.Action `json:"actions"`
	// Blocked: actions open to the caller that a rule refuses now, with the reason (GET /cases/{id} only).
	Blocked map[cases.Action]errorBody `json:"blocked,omitempty"`
	// For staff: the court's own deadline on the case, and the deadlines that lie past the last year of the
	// holiday calendar (computed from weekends only).
	CourtDeadline    *cases.CourtDeadline `json:"court_deadline,omitempty"`
	CalendarWarnings []string             `json:"calendar_warnings,omitempty"`
}

type actionResponse struct {
	Case    *cases.Case    `json:"case"`
	Event   *cases.Event   `json:"event"`
	Actions []cases.Action `json:"actions"`
}

// intQuery reads an integer query parameter within [lo, hi].
func intQuery(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, cases.Invalid(map[string]string{name: fmt.Sprintf("must be a whole number from %d to %d", lo, hi)})
	}
	return n, nil
}

func handleCases(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if p.IsStaff(cases.RoleIPOfficer) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "IP office officers read the roster and statistics, not cases"))
			return
		}
		q := r.URL.Query()
		f := cases.CaseFilter{State: cases.State(q.Get("state")), Query: q.Get("q")}
		if f.State != "" && !validState(f.State) {
			fail(w, r, a.log, cases.Invalid(map[string]string{"state": "is not a state (see GET /api/v1/workflow)"}))
			return
		}
		if v := q.Get("overdue"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				fail(w, r, a.log, cases.Invalid(map[string]string{"overdue": "must be true or false"}))
				return
			}
			f.Overdue = b
		}
		var err error
		if f.Limit, err = intQuery(r, "limit", 50, 1, 200); err == nil {
			f.Offset, err = intQuery(r, "offset", 0, 0, 1<<30)
		}
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		list, total, err := a.store.Cases(r.Context(), p, f)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, caseList{Cases: list, Total: total, Limit: f.Limit, Offset: f.Offset})
	})
}

func validState(s cases.State) bool {
	for _, st := range cases.States {
		if st == s {
			return true
		}
	}
	return false
}

func handleCaseCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewCase](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		c, err := a.store.CreateCase(r.Context(), p, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, caseResponse{Case: c, Actions: orEmpty(cases.Available(p, c))})
	})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type applicationRequest struct {
	OrganisationID string            `json:"organisation_id"`
	Title          string            `json:"title"`
	DisputeType    cases.DisputeType `json:"dispute_type"`
	Summary        string            `json:"summary"`
	ClaimAmountFen int64             `json:"claim_amount_fen"`
	Applicant      cases.NewParty    `json:"applicant"`
	Respondents    []cases.NewParty  `json:"respondents"`
	ConsentOnline  bool              `json:"consent_online"`
}

func (in applicationRequest) newCase() cases.NewCase {
	app := in.Applicant
	app.Side = cases.Applicant
	parties := []cases.NewParty{app}
	for _, r := range in.Respondents {
		r.Side = cases.Respondent
		parties = append(parties, r)
	}
	return cases.NewCase{Title: in.Title, DisputeType: in.DisputeType, Summary: in.Summary, ClaimAmountFen: in.ClaimAmountFen,
		Source: cases.SourceDirect, OrganisationID: in.OrganisationID, Parties: parties}
}

func (in applicationRequest) Valid() map[string]string {
	f := in.newCase().Valid()
	if !in.ConsentOnline {
		f["consent_online"] = "an online application needs your consent to online mediation (OMR Art. 4)"
	}
	// Report party fields under the names the request uses.
	for k, v := range f {
		if rest, ok := strings.CutPrefix(k, "parties[0]."); ok {
			delete(f, k)
			f["applicant."+rest] = v
		} else if strings.HasPrefix(k, "parties[") {
			delete(f, k)
			i, _ := strconv.Atoi(k[len("parties["):strings.IndexByte(k, ']')])
			f[fmt.Sprintf("respondents[%d]%s", i-1, k[strings.IndexByte(k, ']')+1:])] = v
		}
	}
	if f["parties"] != "" {
		f["respondents"] = "name at least one respondent"
		delete(f, "parties")
	}
	return f
}

type applicationResponse struct {
	CaseNumber string `json:"case_number"`
	SentTo     string `json:"sent_to"`
	Message    string `json:"message"`
}

func handleApplication(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "apply:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many applications from your address: try again later"))
			return
		}
		in, err := decode[applicationRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !a.allowPhone(r.Context(), in.Applicant.Phone) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many applications with this phone number: try again later"))
			return
		}
		c, err := a.store.CreateCase(r.Context(), cases.System, in.newCase())
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		applicant := c.Parties[0]
		ap := cases.Principal{Kind: cases.KindParty, ID: applicant.ID, Name: applicant.Name, CaseID: c.ID, PartyID: applicant.ID, Side: applicant.Side}
		consent := true
		if _, err := a.store.Act(r.Context(), ap, c.ID, cases.ActConsentOnline, cases.Params{Consent: &consent}); err != nil {
			fail(w, r, a.log, err)
			return
		}
		_, tok, err := a.store.CreateInvitation(r.Context(), cases.System, c.ID, applicant.ID, "", a.cfg.InviteTTL)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		link := a.cfg.BaseURL + "/join/" + string(tok)
		a.serve(r.Context(), c, applicant.ID, "", "申请已登记 / application registered",
			fmt.Sprintf("【Parley 在线调解】您向%s提交的调解申请已登记，案号%s。查看进度：%s / Your application %s was registered: %s", c.OrganisationName, c.Number, link, c.Number, link))
		encode(w, http.StatusAccepted, applicationResponse{CaseNumber: c.Number, SentTo: maskContact(applicant.Phone),
			Message: "申请已登记。我们已将案件链接发送到您的手机，请通过该链接查看进度。/ Registered: we sent a link to your phone to follow the case."})
	})
}

func handleCase(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		c, err := a.store.Case(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !cases.CanView(p, c) {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "case not found"))
			return
		}
		out := caseResponse{Case: cases.ViewFor(p, c), Actions: orEmpty(cases.Available(p, c))}
		blocked, err := a.store.Blocked(r.Context(), p, c)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		for act, why := range blocked {
			if out.Blocked == nil {
				out.Blocked = map[cases.Action]errorBody{}
			}
			out.Blocked[act] = bodyOf(why)
		}
		if p.Kind == cases.KindAccount {
			now := a.store.Now()
			out.CourtDeadline = cases.CourtDeadlineFor(c, a.store.Cal, now)
			out.CalendarWarnings = cases.CalendarWarnings(c, a.store.Cal, now)
		}
		encode(w, http.StatusOK, out)
	})
}

func handleCourtDeadlines(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.CourtDeadlines(r.Context(), principal(r))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, list)
	})
}

func handleHolidays(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.Holidays(r.Context())
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if len(list) == 0 {
			list = a.store.Cal.Entries() // not yet seeded (a store without the table loaded)
		}
		encode(w, http.StatusOK, holidaysResponse{Holidays: list, LastYear: a.store.Cal.LastYear()})
	})
}

type holidaysResponse struct {
	Holidays []cases.Holiday `json:"holidays"`
	LastYear int             `json:"last_year"` // deadlines past this year count weekends only, with a warning
}

type holidayRequest struct {
	Kind string `json:"kind"` // holiday | workday
	Name string `json:"name"`
}

func handleHolidaySet(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[holidayRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		h := cases.Holiday{Day: r.PathValue("day"), Kind: in.Kind, Name: in.Name}
		if err := a.store.SetHoliday(r.Context(), principal(r), h); err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, h)
	})
}

func handleHolidayDelete(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.DeleteHoliday(r.Context(), principal(r), r.PathValue("day")); err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleCaseUpdate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.CasePatch](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		c, err := a.store.UpdateCase(r.Context(), p, r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, caseResponse{Case: c, Actions: orEmpty(cases.Available(p, c))})
	})
}

func handlePartyAdd(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewParty](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		c, err := a.store.AddParty(r.Context(), p, r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, caseResponse{Case: c, Actions: orEmpty(cases.Available(p, c))})
	})
}

func handlePartyUpdate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.PartyPatch](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		c, err := a.store.UpdateParty(r.Context(), p, r.PathValue("id"), r.PathValue("party"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, caseResponse{Case: c, Actions: orEmpty(cases.Available(p, c))})
	})
}

func handleAgentAdd(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewAgent](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		c, err := a.store.AddAgent(r.Context(), p, r.PathValue("id"), r.PathValue("party"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		// An agent signs for the party: when staff add one, the party is told, at its own contact.
		if p.Kind == cases.KindAccount {
			a.serve(r.Context(), c, r.PathValue("party"), "", "代理人已添加 / agent added",
				fmt.Sprintf("【Parley 在线调解】%s 在案件%s中为您添加了代理人%s（联系电话 %s）。代理人可以代表您签署文件。如您没有委托此人，请立即联系%s提出异议。/ %s added %s (phone %s) as your agent in case %s; an agent may sign for you. If you did not appoint them, object to %s at once.",
					p.Name, c.Number, in.Name, maskContact(in.Phone), orgOrCourt(c), p.Name, in.Name, maskContact(in.Phone), c.Number, orgOrCourt(c)))
		}
		encode(w, http.StatusCreated, caseResponse{Case: cases.ViewFor(p, c), Actions: orEmpty(cases.Available(p, c))})
	})
}

func handleAction(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		act := cases.Action(r.PathValue("action"))
		if cases.TransitionFor(act) == nil {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "unknown action %q (see GET /api/v1/workflow)", act))
			return
		}
		var in cases.Params
		if r.ContentLength != 0 {
			var err error
			if in, err = decode[cases.Params](r, a.cfg.MaxBodyBytes); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		p := principal(r)
		var res *cases.ActResult
		var err error
		if act == cases.ActConfirm {
			// The court signs the agreement it confirms (司法确认) in the same transaction as the confirmation.
			res, err = a.docs.Confirm(r.Context(), p, r.PathValue("id"), in)
		} else {
			res, err = a.store.Act(r.Context(), p, r.PathValue("id"), act, in)
		}
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		for _, pid := range res.Notify {
			if act == cases.ActRequestExtension {
				// Each party consents itself: the notice carries its personal consent link.
				tok, err := a.store.CreateConsentLink(r.Context(), res.Case.ID, pid, cases.ActConsentExtension, a.cfg.InviteTTL)
				if err == nil {
					link := a.cfg.BaseURL + "/consent/" + string(tok)
					a.serve(r.Context(), res.Case, pid, "", "延长调解期限 / extension of the time limit",
						fmt.Sprintf("【Parley 在线调解】案件%s的调解员申请延长调解期限%d日。如您同意，请打开您的专属链接确认：%s（也可登录后在案件页确认）。/ The mediator of case %s asks to extend the time limit by %d days. To consent, open your personal link: %s",
							res.Case.Number, in.Days, link, res.Case.Number, in.Days, link))
					continue
				}
				a.log.Error("consent link", "case", res.Case.ID, "err", err)
			}
			zh, en := eventNotice(res.Event.Type)
			a.serve(r.Context(), res.Case, pid, "", "案件通知 / case notice",
				fmt.Sprintf("【Parley 在线调解】案件%s：%s。/ Case %s: %s.", res.Case.Number, zh, res.Case.Number, en))
		}
		if act == cases.ActEnd && res.Case.State == cases.StateFailed {
			// The ending notice is served on every party that accepts electronic service (issue 12 §2).
			a.serveNotice(r.Context(), res.Case, "ending_notice", func(cases.Party) cases.Notice {
				return cases.EndingNotice(res.Case, res.Case.EndGround, res.Event.At, a.store.Cal.Loc)
			})
		}
		// The other documents Parley serves electronically (issue 12 §2).
		switch {
		case act == cases.ActEnd && res.Case.State == cases.StateSigning:
			a.serveNotice(r.Context(), res.Case, "agreement_to_sign", func(cases.Party) cases.Notice {
				return cases.AgreementNotice(res.Case, a.cfg.BaseURL+"/party", res.Event.At, a.store.Cal.Loc)
			})
		// The court's ruling and mediation statement are made once now and served themselves (handle_courtdocs.go).
		case act == cases.ActConfirm || act == cases.ActRejectConfirmation:
			a.issueAndServe(r.Context(), res.Case, "confirmation_decision", cases.CourtRuling, func(cases.Party) cases.Notice {
				return cases.ConfirmationNotice(res.Case, act == cases.ActConfirm, in.Reason, res.Event.At, a.store.Cal.Loc)
			})
		case act == cases.ActIssueStatement:
			a.issueAndServe(r.Context(), res.Case, "mediation_statement", cases.CourtStatement, func(cases.Party) cases.Notice {
				return cases.StatementNotice(res.Case, res.Event.At, a.store.Cal.Loc)
			})
		}
		encode(w, http.StatusOK, actionResponse{Case: cases.ViewFor(p, res.Case), Event: res.Event, Actions: orEmpty(cases.Available(p, res.Case))})
	})
}

func handleEvents(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evs, err := a.store.EventsFor(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, evs)
	})
}

func handleAudit(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.store.CaseFor(r.Context(), principal(r), r.PathValue("id")); err != nil {
			fail(w, r, a.log, err)
			return
		}
		rep, err := a.store.VerifyChain(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rep)
	})
}

type invitationRequest struct {
	PartyID string `json:"party_id"`
	AgentID string `json:"agent_id,omitempty"`
	Send    bool   `json:"send"`
}

type invitationResponse struct {
	Invitation *cases.Invitation `json:"invitation"`
	Link       string            `json:"link"`
	SentTo     string            `json:"sent_to,omitempty"`
}

func handleInvitationCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[invitationRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		inv, tok, err := a.store.CreateInvitation(r.Context(), principal(r), r.PathValue("id"), in.PartyID, in.AgentID, a.cfg.InviteTTL)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := invitationResponse{Invitation: inv, Link: a.cfg.BaseURL + "/join/" + string(tok)}
		if in.Send {
			c, err := a.store.Case(r.Context(), inv.CaseID)
			if err != nil {
				fail(w, r, a.log, err)
				return
			}
			out.SentTo = a.serve(r.Context(), c, inv.PartyID, inv.AgentID, "调解邀请 / invitation to mediation",
				fmt.Sprintf("【Parley 在线调解】%s：您好，%s邀请您参加案件%s的在线调解。请点击链接进入：%s（%s前有效）/ You are invited to the online mediation of case %s: %s",
					inv.Name, orgOrCourt(c), c.Number, out.Link, inv.ExpiresAt.In(a.store.Cal.Loc).Format("2006-01-02"), c.Number, out.Link))
		}
		encode(w, http.StatusCreated, out)
	})
}

func orgOrCourt(c *cases.Case) string {
	if c.OrganisationName != "" {
		return c.OrganisationName
	}
	return c.CourtName
}

// serve sends a notice to a party (or one of its agents) and records the electronic service on the case's trail
// (OLR Art. 29–32): to whom, where, what, and whether it reached the address's system. It returns the masked
// address.
func (a *app) serve(ctx context.Context, c *cases.Case, partyID, agentID, subject, body string) string {
	party := c.Party(partyID)
	if party == nil {
		return ""
	}
	name, to := party.Name, party.Phone
	for _, ag := range party.Agents {
		if ag.ID == agentID {
			name, to = ag.Name, ag.Phone
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	result := channelResult(a.notify.Channel(to))
	if err := a.notify.Notify(ctx, Message{To: to, Name: name, Subject: subject, Body: body}); err != nil {
		a.log.Error("electronic service failed", "case", c.ID, "err", err)
		result = "failed: " + err.Error()
	}
	if _, err := a.store.RecordEvent(ctx, c.ID, cases.System, "service.sent", cases.VisStaff, map[string]any{
		"party_id": partyID, "agent_id": agentID, "name": name, "to": maskContact(to), "channel": a.notify.Channel(to), "subject": subject, "result": result,
	}); err != nil {
		a.log.Error("record electronic service", "case", c.ID, "err", err)
	}
	return maskContact(to)
}

func handleStats(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := a.period(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		st, err := a.store.Stats(r.Context(), principal(r), f)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, st)
	})
}

func handleConsentLinkInfo(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := a.store.ConsentLinkInfo(r.Context(), r.PathValue("token"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, l)
	})
}

type consentLinkResponse struct {
	CaseNumber string `json:"case_number"`
	EventType  string `json:"event_type"`
	Extended   bool   `json:"extended"` // the last consent: the time limit is extended
}

// handleConsentLinkUse gives a party's consent through the personal link of its served notice.
func handleConsentLinkUse(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "consent:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests from your address: try again later"))
			return
		}
		res, err := a.store.UseConsentLink(r.Context(), r.PathValue("token"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, consentLinkResponse{CaseNumber: res.Case.Number, EventType: res.Event.Type, Extended: res.Event.Type == "case.extension_granted"})
	})
}
