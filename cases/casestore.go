package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewAgent is the input for adding a party's agent or lawyer.
type NewAgent struct {
	Name           string `json:"name"`
	Lawyer         bool   `json:"lawyer"`
	LawFirm        string `json:"law_firm,omitempty"`
	LicenceNo      string `json:"licence_no,omitempty"`
	Phone          string `json:"phone"`
	ServiceAddress string `json:"service_address,omitempty"`
}

func (n NewAgent) valid(f map[string]string, prefix string) {
	requireText(f, prefix+"name", n.Name, true, 100)
	requireText(f, prefix+"law_firm", n.LawFirm, n.Lawyer, 200)
	requireText(f, prefix+"licence_no", n.LicenceNo, n.Lawyer, 50)
	checkPhone(f, prefix+"phone", n.Phone, true)
	requireText(f, prefix+"service_address", n.ServiceAddress, false, 200)
}

// Valid reports problems with the input, by field.
func (n NewAgent) Valid() map[string]string {
	f := map[string]string{}
	n.valid(f, "")
	return f
}

// NewParty is the input for adding a party (OMR Art. 8: identity, phone, electronic-service address).
type NewParty struct {
	Side           Side       `json:"side"`
	Kind           PartyKind  `json:"kind"`
	Name           string     `json:"name"`
	IDNumber       string     `json:"id_number,omitempty"`
	LegalRep       string     `json:"legal_rep,omitempty"`
	Phone          string     `json:"phone"`
	ServiceAddress string     `json:"service_address,omitempty"`
	Address        string     `json:"address,omitempty"`
	Agents         []NewAgent `json:"agents,omitempty"`
}

func (n NewParty) valid(f map[string]string, prefix string) {
	if n.Side != Applicant && n.Side != Respondent {
		f[prefix+"side"] = "must be applicant or respondent"
	}
	if n.Kind != PartyPerson && n.Kind != PartyCompany {
		f[prefix+"kind"] = "must be person or company"
	}
	requireText(f, prefix+"name", n.Name, true, 200)
	requireText(f, prefix+"id_number", n.IDNumber, false, 50)
	requireText(f, prefix+"legal_rep", n.LegalRep, n.Kind == PartyCompany, 100)
	checkPhone(f, prefix+"phone", n.Phone, true)
	requireText(f, prefix+"service_address", n.ServiceAddress, false, 200)
	requireText(f, prefix+"address", n.Address, false, 500)
	if len(n.Agents) > 5 {
		f[prefix+"agents"] = "at most 5 agents per party"
	}
	for i, a := range n.Agents {
		a.valid(f, fmt.Sprintf("%sagents[%d].", prefix, i))
	}
}

// Valid reports problems with the input, by field.
func (n NewParty) Valid() map[string]string {
	f := map[string]string{}
	n.valid(f, "")
	return f
}

// NewCase is the input for registering a case.
type NewCase struct {
	Title           string      `json:"title"`
	DisputeType     DisputeType `json:"dispute_type"`
	Summary         string      `json:"summary"`
	ClaimAmountFen  int64       `json:"claim_amount_fen"`
	Source          Source      `json:"source"`
	CourtID         string      `json:"court_id,omitempty"`
	CourtCaseNumber string      `json:"court_case_number,omitempty"`
	OrganisationID  string      `json:"organisation_id,omitempty"`
	Parties         []NewParty  `json:"parties"`
}

// Valid reports problems with the input, by field.
func (n NewCase) Valid() map[string]string {
	f := map[string]string{}
	requireText(f, "title", n.Title, true, 200)
	if !slices.Contains(DisputeTypes, n.DisputeType) {
		f["dispute_type"] = "must be one of patent, trademark, copyright, trade_secret, unfair_competition, ip_contract, ownership_validity, other"
	}
	requireText(f, "summary", n.Summary, true, 10000)
	if n.ClaimAmountFen < 0 || n.ClaimAmountFen > 1e15 {
		f["claim_amount_fen"] = "must be between 0 and 10^15 fen"
	}
	switch n.Source {
	case SourceDelegated:
		// A referral before filing may carry the court's pre-filing mediation number (诉前调号).
		if n.CourtCaseNumber != "" {
			if msg := checkCourtCaseNumber(n.CourtCaseNumber, true); msg != "" {
				f["court_case_number"] = msg
			}
		}
	case SourceDirect:
		if n.CourtCaseNumber != "" {
			f["court_case_number"] = "only a case entrusted after filing (委托) has a court case number"
		}
	case SourceEntrustedOrdinary, SourceEntrustedSimplified:
		requireText(f, "court_case_number", n.CourtCaseNumber, true, 100)
		if _, bad := f["court_case_number"]; !bad {
			if msg := checkCourtCaseNumber(n.CourtCaseNumber, false); msg != "" {
				f["court_case_number"] = msg
			}
		}
	default:
		f["source"] = "must be delegated, entrusted_ordinary, entrusted_simplified or direct"
	}
	if n.CourtID != "" && !isUUID(n.CourtID) {
		f["court_id"] = "is not an ID"
	}
	if n.OrganisationID != "" && !isUUID(n.OrganisationID) {
		f["organisation_id"] = "is not an ID"
	}
	if n.Source == SourceDirect && n.OrganisationID == "" {
		f["organisation_id"] = "a direct application names the mediation organisation it is made to"
	}
	sides := map[Side]int{}
	if len(n.Parties) > 20 {
		f["parties"] = "at most 20 parties"
	}
	for i, p := range n.Parties {
		p.valid(f, fmt.Sprintf("parties[%d].", i))
		// Who applies directly may not know the other side's phone: the organisation completes it before it
		// invites them (the checklist shows the missing contact).
		if n.Source == SourceDirect && p.Side == Respondent && strings.TrimSpace(p.Phone) == "" {
			delete(f, fmt.Sprintf("parties[%d].phone", i))
		}
		sides[p.Side]++
	}
	if _, ok := f["parties"]; !ok && (sides[Applicant] == 0 || sides[Respondent] == 0) {
		f["parties"] = "a case needs at least one applicant and one respondent"
	}
	return f
}

// CreateCase registers a case: a court clerk registers a referral from their court (委派 or 委托); a mediation
// organisation's admin registers a direct application to it; the platform admin may do either; the System
// principal registers a direct application a party made online. The event trail starts here.
func (s *Store) CreateCase(ctx context.Context, p Principal, n NewCase) (*Case, error) {
	f := n.Valid()
	switch {
	case p.IsStaff(RoleClerk):
		if n.Source == SourceDirect {
			f["source"] = "a court registers referrals (delegated or entrusted); direct applications go to an organisation"
		}
		if n.CourtID != "" && n.CourtID != p.OrgID {
			f["court_id"] = "a clerk registers cases of their own court"
		}
		n.CourtID = p.OrgID
	case p.IsStaff(RoleOrgAdmin):
		if n.Source != SourceDirect {
			f["source"] = "an organisation registers direct applications; referrals come from a court"
		}
		if n.OrganisationID != "" && n.OrganisationID != p.OrgID {
			f["organisation_id"] = "an organisation registers applications made to itself"
		}
		n.OrganisationID = p.OrgID
	case p.IsStaff(RoleAdmin):
	case p.Kind == KindSystem:
		if n.Source != SourceDirect {
			f["source"] = "an online application is a direct application"
		}
	default:
		return nil, Errorf(EFORBIDDEN, "only court clerks, organisation admins and the platform admin register cases")
	}
	if n.Source != SourceDirect && n.CourtID == "" && f["court_id"] == "" {
		f["court_id"] = "a referral names its court"
	}
	if err := Invalid(f); err != nil {
		return nil, err
	}
	if n.CourtID != "" {
		if o, err := s.Organisation(ctx, n.CourtID); err != nil || o.Kind != OrgCourt {
			return nil, Invalid(map[string]string{"court_id": "is not a court"})
		}
	}
	if n.OrganisationID != "" {
		if o, err := s.Organisation(ctx, n.OrganisationID); err != nil || o.Kind != OrgMediation {
			return nil, Invalid(map[string]string{"organisation_id": "is not a mediation organisation"})
		}
	}
	now := s.now()
	var id string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		number, err := s.nextCaseNumber(ctx, tx, n.OrganisationID, n.CourtID, now)
		if err != nil {
			return err
		}
		var choose *time.Time
		if n.Source != SourceDirect {
			choose = ptr(s.Cal.AddWorkingDays(now, 2))
		}
		createdBy := ""
		if p.Kind == KindAccount {
			createdBy = p.ID
		}
		if err := tx.QueryRow(ctx, `INSERT INTO cases (number, court_case_number, title, dispute_type, summary, claim_amount_fen, source,
			court_id, organisation_id, state, choose_due_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, '')::uuid, NULLIF($9, '')::uuid, $10, $11, NULLIF($12, '')::uuid, $13, $13) RETURNING id`,
			number, n.CourtCaseNumber, strings.TrimSpace(n.Title), n.DisputeType, n.Summary, n.ClaimAmountFen, n.Source,
			n.CourtID, n.OrganisationID, StateRegistered, choose, createdBy, now).Scan(&id); err != nil {
			return err
		}
		var names []string
		for i, np := range n.Parties {
			pid, err := insertParty(ctx, tx, id, i+1, np)
			if err != nil {
				return err
			}
			if i == 0 && p.Kind == KindSystem {
				p = Principal{Kind: KindParty, ID: pid, Name: np.Name, PartyID: pid, CaseID: id, Side: np.Side}
			}
			names = append(names, fmt.Sprintf("%s (%s)", np.Name, np.Side))
		}
		data := map[string]any{"number": number, "title": n.Title, "source": string(n.Source), "dispute_type": string(n.DisputeType), "parties": names}
		if choose != nil {
			data["choose_due_at"] = choose.UTC().Format(time.RFC3339)
		}
		_, err = s.appendEvent(ctx, tx, id, p, "case.registered", VisAll, data, now)
		return err
	})
	if err != nil {
		return nil, dbErr("create case", err)
	}
	return s.Case(ctx, id)
}

func insertParty(ctx context.Context, tx pgx.Tx, caseID string, ord int, np NewParty) (string, error) {
	var pid string
	if err := tx.QueryRow(ctx, `INSERT INTO parties (case_id, ord, side, kind, name, id_number, legal_rep, phone, service_address, address)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		caseID, ord, np.Side, np.Kind, strings.TrimSpace(np.Name), np.IDNumber, np.LegalRep, np.Phone, np.ServiceAddress, np.Address).Scan(&pid); err != nil {
		return "", err
	}
	for _, a := range np.Agents {
		if _, err := insertAgent(ctx, tx, pid, a); err != nil {
			return "", err
		}
	}
	return pid, nil
}

func insertAgent(ctx context.Context, tx pgx.Tx, partyID string, a NewAgent) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `INSERT INTO agents (party_id, name, lawyer, law_firm, licence_no, phone, service_address)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		partyID, strings.TrimSpace(a.Name), a.Lawyer, a.LawFirm, a.LicenceNo, a.Phone, a.ServiceAddress).Scan(&id)
	return id, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const caseSelect = `SELECT c.id, c.number, c.court_case_number, c.title, c.dispute_type, c.summary, c.claim_amount_fen, c.source,
	COALESCE(c.court_id::text, ''), COALESCE(co.name, ''), COALESCE(c.organisation_id::text, ''), COALESCE(mo.name, ''),
	c.state, c.end_ground, c.version, c.choose_due_at, c.referred_at, c.answer_due_at, c.accepted_at, c.time_limit_days,
	c.extended_days, c.due_at, c.paused_at, c.paused_seconds, c.ended_at, c.effective_at, c.confirmation_due_at, c.decided_at,
	c.pending, COALESCE(c.created_by::text, ''), c.created_at, c.updated_at
	FROM cases c LEFT JOIN organisations co ON co.id = c.court_id LEFT JOIN organisations mo ON mo.id = c.organisation_id`

// loadCase reads a case with its mediators and parties; forUpdate locks the case row for the transaction.
func loadCase(ctx context.Context, q querier, id string, forUpdate bool) (*Case, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	sql := caseSelect + ` WHERE c.id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF c`
	}
	var c Case
	var pending []byte
	err := q.QueryRow(ctx, sql, id).Scan(&c.ID, &c.Number, &c.CourtCaseNumber, &c.Title, &c.DisputeType, &c.Summary, &c.ClaimAmountFen, &c.Source,
		&c.CourtID, &c.CourtName, &c.OrganisationID, &c.OrganisationName, &c.State, &c.EndGround, &c.Version,
		&c.ChooseDueAt, &c.ReferredAt, &c.AnswerDueAt, &c.AcceptedAt, &c.TimeLimitDays, &c.ExtendedDays, &c.DueAt, &c.PausedAt,
		&c.PausedSeconds, &c.EndedAt, &c.EffectiveAt, &c.ConfirmationDueAt, &c.DecidedAt, &pending, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, dbErr("case", err)
	}
	if len(pending) > 0 && string(pending) != "null" {
		c.Pending = &Pending{}
		if err := json.Unmarshal(pending, c.Pending); err != nil {
			return nil, fmt.Errorf("cases: case %s: pending: %w", id, err)
		}
	}
	rows, err := q.Query(ctx, `SELECT m.account_id, a.display_name, m.presiding, m.status, m.assigned_at, m.answered_at, m.decline_reason
		FROM case_mediators m JOIN accounts a ON a.id = m.account_id WHERE m.case_id = $1 ORDER BY m.ord`, id)
	if err != nil {
		return nil, dbErr("case mediators", err)
	}
	c.Mediators, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (MediatorAssignment, error) {
		var m MediatorAssignment
		err := r.Scan(&m.AccountID, &m.Name, &m.Presiding, &m.Status, &m.AssignedAt, &m.AnsweredAt, &m.DeclineReason)
		return m, err
	})
	if err != nil {
		return nil, dbErr("case mediators", err)
	}
	rows, err = q.Query(ctx, `SELECT id, case_id, side, kind, name, id_number, legal_rep, phone, service_address, address, consent_online, consent_at
		FROM parties WHERE case_id = $1 ORDER BY ord`, id)
	if err != nil {
		return nil, dbErr("case parties", err)
	}
	c.Parties, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Party, error) {
		var p Party
		err := r.Scan(&p.ID, &p.CaseID, &p.Side, &p.Kind, &p.Name, &p.IDNumber, &p.LegalRep, &p.Phone, &p.ServiceAddress, &p.Address, &p.ConsentOnline, &p.ConsentAt)
		p.Agents = []Agent{}
		return p, err
	})
	if err != nil {
		return nil, dbErr("case parties", err)
	}
	rows, err = q.Query(ctx, `SELECT a.id, a.party_id, a.name, a.lawyer, a.law_firm, a.licence_no, a.phone, a.service_address
		FROM agents a JOIN parties p ON p.id = a.party_id WHERE p.case_id = $1 ORDER BY a.created_at, a.id`, id)
	if err != nil {
		return nil, dbErr("case agents", err)
	}
	agents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) {
		var a Agent
		err := r.Scan(&a.ID, &a.PartyID, &a.Name, &a.Lawyer, &a.LawFirm, &a.LicenceNo, &a.Phone, &a.ServiceAddress)
		return a, err
	})
	if err != nil {
		return nil, dbErr("case agents", err)
	}
	for _, a := range agents {
		if p := c.Party(a.PartyID); p != nil {
			p.Agents = append(p.Agents, a)
		}
	}
	if c.Mediators == nil {
		c.Mediators = []MediatorAssignment{}
	}
	return &c, nil
}

// Case returns a case with its mediators and parties, unfiltered: callers check CanView and use ViewFor.
func (s *Store) Case(ctx context.Context, id string) (*Case, error) {
	return loadCase(ctx, s.pool, id, false)
}

// CaseFor returns the case as p may see it, or ENOTFOUND when p may not see it at all.
func (s *Store) CaseFor(ctx context.Context, p Principal, id string) (*Case, error) {
	c, err := s.Case(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	return ViewFor(p, c), nil
}

// saveCase writes back what a transition changed.
func saveCase(ctx context.Context, tx pgx.Tx, before, c *Case, now time.Time) error {
	var pending []byte
	if c.Pending != nil {
		var err error
		if pending, err = json.Marshal(c.Pending); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE cases SET state = $2, end_ground = $3, version = version + 1, choose_due_at = $4, referred_at = $5,
		answer_due_at = $6, accepted_at = $7, time_limit_days = $8, extended_days = $9, due_at = $10, paused_at = $11, paused_seconds = $12,
		ended_at = $13, effective_at = $14, confirmation_due_at = $15, decided_at = $16, pending = $17, updated_at = $18,
		court_id = NULLIF($19, '')::uuid, organisation_id = NULLIF($20, '')::uuid
		WHERE id = $1`,
		c.ID, c.State, c.EndGround, c.ChooseDueAt, c.ReferredAt, c.AnswerDueAt, c.AcceptedAt, c.TimeLimitDays, c.ExtendedDays, c.DueAt,
		c.PausedAt, c.PausedSeconds, c.EndedAt, c.EffectiveAt, c.ConfirmationDueAt, c.DecidedAt, pending, now, c.CourtID, c.OrganisationID)
	if err != nil {
		return err
	}
	c.Version = before.Version + 1
	c.UpdatedAt = now
	if !slices.EqualFunc(before.Mediators, c.Mediators, func(a, b MediatorAssignment) bool {
		return a.AccountID == b.AccountID && a.Status == b.Status && a.Presiding == b.Presiding && a.DeclineReason == b.DeclineReason
	}) {
		if _, err := tx.Exec(ctx, `DELETE FROM case_mediators WHERE case_id = $1`, c.ID); err != nil {
			return err
		}
		for i, m := range c.Mediators {
			if _, err := tx.Exec(ctx, `INSERT INTO case_mediators (case_id, account_id, ord, presiding, status, assigned_at, answered_at, decline_reason)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, m.AccountID, i+1, m.Presiding, m.Status, m.AssignedAt, m.AnsweredAt, m.DeclineReason); err != nil {
				return err
			}
		}
	}
	for i, p := range c.Parties {
		old := before.Parties[i]
		if p.ConsentOnline != old.ConsentOnline || !timesEqual(p.ConsentAt, old.ConsentAt) {
			if _, err := tx.Exec(ctx, `UPDATE parties SET consent_online = $2, consent_at = $3 WHERE id = $1`, p.ID, p.ConsentOnline, p.ConsentAt); err != nil {
				return err
			}
		}
	}
	return nil
}

func timesEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// ActResult is what a successful action returns.
type ActResult struct {
	Case   *Case
	Event  *Event
	Notify []string // parties to serve notice of the event on
}

// Act applies a workflow action to a case in one transaction: it locks the case row (so concurrent actions on
// one case are serialised and the later one sees the earlier one's result), applies the transition, writes the
// case back and appends the event. A refused action changes nothing.
func (s *Store) Act(ctx context.Context, p Principal, caseID string, a Action, in Params) (*ActResult, error) {
	if TransitionFor(a) == nil {
		return nil, Errorf(ENOTFOUND, "unknown action %q", a)
	}
	if a == ActConfirm {
		// The court's signature is part of the confirmation: ConfirmAgreement applies both or neither.
		return nil, Errorf(EUNPROCESSABLE, "judicial confirmation is taken with the court's signature (ConfirmAgreement)")
	}
	res := &ActResult{}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		env, err := s.env(ctx, tx, c, in)
		if err != nil {
			return err
		}
		if a == ActAgreementEffective || a == ActApplyConfirmation {
			if env.Agreement, err = s.agreementFacts(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		before := cloneCase(c)
		out, err := Apply(c, a, p, in, env)
		if err != nil {
			return err
		}
		if err := saveCase(ctx, tx, before, c, env.Now); err != nil {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, c.ID, p, out.EventType, out.Visibility, out.Data, env.Now)
		if err != nil {
			return err
		}
		if a == ActRemediate {
			// Mediating again after the court rejected the agreement: that agreement is history, and the new
			// mediation drafts its own.
			if err := s.supersedeAgreements(ctx, tx, p, c.ID, env.Now); err != nil {
				return err
			}
		}
		// Reload names that joins provide (a court set by push_to_court, an organisation set by a referral).
		fresh, err := loadCase(ctx, tx, c.ID, false)
		if err != nil {
			return err
		}
		res.Case, res.Event, res.Notify = fresh, ev, out.Notify
		return nil
	})
	if err != nil {
		return nil, dbErr("act", err)
	}
	return res, nil
}

// env looks up what the workflow needs to know about the mediators and organisations named in the inputs.
func (s *Store) env(ctx context.Context, tx pgx.Tx, c *Case, in Params) (Env, error) {
	env := Env{Now: s.now(), Cal: s.Cal, Mediators: map[string]MediatorInfo{}, Orgs: map[string]OrgInfo{}}
	ids := slices.Clone(in.MediatorIDs)
	if in.MediatorID != "" {
		ids = append(ids, in.MediatorID)
	}
	for _, id := range ids {
		if !isUUID(id) {
			continue
		}
		var m MediatorInfo
		var disabled bool
		var role string
		err := tx.QueryRow(ctx, `SELECT a.id, a.display_name, COALESCE(a.org_id::text, ''), a.role, a.disabled,
			EXISTS (SELECT 1 FROM roster_entries r WHERE r.court_id::text = $2 AND r.status = 'confirmed' AND (r.mediator_id = a.id OR r.organisation_id = a.org_id))
			FROM accounts a WHERE a.id = $1`, id, c.CourtID).Scan(&m.ID, &m.Name, &m.OrgID, &role, &disabled, &m.OnRoster)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return env, err
		}
		m.Active = role == string(RoleMediator) && !disabled
		env.Mediators[id] = m
	}
	for _, id := range []string{in.OrganisationID, in.CourtID} {
		if !isUUID(id) {
			continue
		}
		var o OrgInfo
		err := tx.QueryRow(ctx, `SELECT o.id, o.name, o.kind,
			EXISTS (SELECT 1 FROM roster_entries r WHERE r.court_id::text = $2 AND r.status = 'confirmed' AND r.organisation_id = o.id)
			FROM organisations o WHERE o.id = $1`, id, c.CourtID).Scan(&o.ID, &o.Name, &o.Kind, &o.OnRoster)
		if err == pgx.ErrNoRows {
			continue
		}
		if err != nil {
			return env, err
		}
		env.Orgs[id] = o
	}
	return env, nil
}

// CaseSummary is a case as it appears in lists.
type CaseSummary struct {
	ID               string      `json:"id"`
	Number           string      `json:"number"`
	Title            string      `json:"title"`
	DisputeType      DisputeType `json:"dispute_type"`
	Source           Source      `json:"source"`
	State            State       `json:"state"`
	EndGround        EndGround   `json:"end_ground,omitempty"`
	CourtName        string      `json:"court_name,omitempty"`
	OrganisationName string      `json:"organisation_name,omitempty"`
	Mediator         string      `json:"mediator,omitempty"`
	Applicants       []string    `json:"applicants"`
	Respondents      []string    `json:"respondents"`
	AnswerDueAt      *time.Time  `json:"answer_due_at,omitempty"`
	DueAt            *time.Time  `json:"due_at,omitempty"`
	Overdue          bool        `json:"overdue"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`
}

// CaseFilter narrows a case listing.
type CaseFilter struct {
	State   State
	Query   string // number, title or party name contains
	Overdue bool
	Limit   int
	Offset  int
}

// visibleClause returns an SQL condition on cases c that selects what p may see, with its arguments starting
// at $n.
func visibleClause(p Principal, n int) (string, []any) {
	switch {
	case p.Kind == KindSystem || p.IsStaff(RoleAdmin):
		return "TRUE", nil
	case p.IsStaff(RoleClerk, RoleJudge):
		// The court's own cases, and direct applications whose parties applied to it for judicial confirmation.
		return fmt.Sprintf("(c.court_id::text = $%d OR (c.court_id IS NULL AND c.pending->'court_request'->>'court_id' = $%d))", n, n), []any{p.OrgID}
	case p.IsStaff(RoleOrgAdmin):
		return fmt.Sprintf("c.organisation_id::text = $%d", n), []any{p.OrgID}
	case p.IsStaff(RoleMediator):
		return fmt.Sprintf("(c.organisation_id::text = $%d OR EXISTS (SELECT 1 FROM case_mediators m WHERE m.case_id = c.id AND m.account_id::text = $%d))", n, n+1), []any{p.OrgID, p.ID}
	case p.IsPartySide():
		return fmt.Sprintf("c.id::text = $%d", n), []any{p.CaseID}
	}
	return "FALSE", nil
}

// Cases lists the cases p may see, newest first, with the total count.
func (s *Store) Cases(ctx context.Context, p Principal, f CaseFilter) ([]CaseSummary, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	now := s.now()
	args := []any{string(f.State), f.Query, f.Overdue, now}
	vis, vargs := visibleClause(p, len(args)+1)
	args = append(args, vargs...)
	where := `WHERE ` + vis + ` AND ($1 = '' OR c.state = $1)
		AND ($2 = '' OR c.number ILIKE '%' || $2 || '%' OR c.title ILIKE '%' || $2 || '%'
			OR EXISTS (SELECT 1 FROM parties q WHERE q.case_id = c.id AND q.name ILIKE '%' || $2 || '%'))
		AND (NOT $3 OR (c.state = 'in_mediation' AND c.due_at < $4) OR (c.state = 'referred' AND c.answer_due_at < $4))`
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cases c `+where, args...).Scan(&total); err != nil {
		return nil, 0, dbErr("list cases", err)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.number, c.title, c.dispute_type, c.source, c.state, c.end_ground,
		COALESCE(co.name, ''), COALESCE(mo.name, ''),
		COALESCE((SELECT a.display_name FROM case_mediators m JOIN accounts a ON a.id = m.account_id
			WHERE m.case_id = c.id AND m.presiding AND m.status IN ('assigned', 'accepted') LIMIT 1), ''),
		ARRAY(SELECT q.name FROM parties q WHERE q.case_id = c.id AND q.side = 'applicant' ORDER BY q.ord),
		ARRAY(SELECT q.name FROM parties q WHERE q.case_id = c.id AND q.side = 'respondent' ORDER BY q.ord),
		c.answer_due_at, c.due_at,
		(c.state = 'in_mediation' AND c.due_at < $4) OR (c.state = 'referred' AND c.answer_due_at < $4),
		c.created_at, c.updated_at
		FROM cases c LEFT JOIN organisations co ON co.id = c.court_id LEFT JOIN organisations mo ON mo.id = c.organisation_id
		`+where+fmt.Sprintf(` ORDER BY c.created_at DESC, c.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, dbErr("list cases", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseSummary, error) {
		var c CaseSummary
		err := r.Scan(&c.ID, &c.Number, &c.Title, &c.DisputeType, &c.Source, &c.State, &c.EndGround, &c.CourtName, &c.OrganisationName,
			&c.Mediator, &c.Applicants, &c.Respondents, &c.AnswerDueAt, &c.DueAt, &c.Overdue, &c.CreatedAt, &c.UpdatedAt)
		return c, err
	})
	if err != nil {
		return nil, 0, dbErr("list cases", err)
	}
	return out, total, nil
}

// mayEditCase reports whether p may add parties to c or change its details.
func mayEditCase(p Principal, c *Case) bool {
	for _, w := range Relations(p, c) {
		if w == WhoClerk || w == WhoOrgAdmin || w == WhoMediator || w == WhoSystem {
			return true
		}
	}
	return false
}

// AddParty adds a party to a case that is still in mediation.
func (s *Store) AddParty(ctx context.Context, p Principal, caseID string, np NewParty) (*Case, error) {
	if err := Invalid(np.Valid()); err != nil {
		return nil, err
	}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !mayEditCase(p, c) {
			return Errorf(EFORBIDDEN, "only the court's clerks, the organisation's admins and the case's mediators add parties")
		}
		if c.State.Ended() {
			return Errorf(ECONFLICT, "the case is %s: parties can no longer be added", c.State)
		}
		if len(c.Parties) >= 20 {
			return Errorf(EUNPROCESSABLE, "a case has at most 20 parties")
		}
		pid, err := insertParty(ctx, tx, c.ID, len(c.Parties)+1, np)
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, "party.added", VisAll, map[string]any{"party_id": pid, "name": np.Name, "side": string(np.Side)}, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("add party", err)
	}
	return s.Case(ctx, caseID)
}

// AddAgent adds an agent or lawyer to a party: staff of the case, or the party itself.
func (s *Store) AddAgent(ctx context.Context, p Principal, caseID, partyID string, na NewAgent) (*Case, error) {
	if err := Invalid(na.Valid()); err != nil {
		return nil, err
	}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		party := c.Party(partyID)
		if party == nil {
			return Errorf(ENOTFOUND, "party not found")
		}
		// An agent signs for the party: its seat is as much the party's as the party's own contact, so it is added
		// by the party itself, or by the staff who may correct the party's contact (never by the case's mediators);
		// staff additions are told to the party and need an identity check by someone else (SigningIdentity).
		if !CorrectionAuthority(p, c, true) && !(p.Kind == KindParty && p.PartyID == partyID) && p.Kind != KindSystem {
			return Errorf(EFORBIDDEN, "an agent is added by the party itself, or by the court's clerk (referred cases) or the organisation's admin (direct applications)")
		}
		if c.State.Ended() {
			return Errorf(ECONFLICT, "the case is %s: agents can no longer be added", c.State)
		}
		if len(party.Agents) >= 5 {
			return Errorf(EUNPROCESSABLE, "a party has at most 5 agents")
		}
		aid, err := insertAgent(ctx, tx, partyID, na)
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, c.ID, p, "agent.added", VisAll, map[string]any{"agent_id": aid, "party_id": partyID, "name": na.Name, "lawyer": na.Lawyer}, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("add agent", err)
	}
	return s.Case(ctx, caseID)
}

// CasePatch changes a case's descriptive fields; nil fields stay as they are.
type CasePatch struct {
	Title           *string      `json:"title,omitempty"`
	Summary         *string      `json:"summary,omitempty"`
	DisputeType     *DisputeType `json:"dispute_type,omitempty"`
	ClaimAmountFen  *int64       `json:"claim_amount_fen,omitempty"`
	CourtCaseNumber *string      `json:"court_case_number,omitempty"`
}

// UpdateCase changes a case's descriptive fields while mediation is under way; the trail records old and new.
func (s *Store) UpdateCase(ctx context.Context, p Principal, caseID string, patch CasePatch) (*Case, error) {
	f := map[string]string{}
	changes := map[string]any{}
	if patch.Title != nil {
		requireText(f, "title", *patch.Title, true, 200)
	}
	if patch.Summary != nil {
		requireText(f, "summary", *patch.Summary, true, 10000)
	}
	if patch.DisputeType != nil && !slices.Contains(DisputeTypes, *patch.DisputeType) {
		f["dispute_type"] = "is not a dispute type"
	}
	if patch.ClaimAmountFen != nil && (*patch.ClaimAmountFen < 0 || *patch.ClaimAmountFen > 1e15) {
		f["claim_amount_fen"] = "must be between 0 and 10^15 fen"
	}
	if patch.CourtCaseNumber != nil {
		requireText(f, "court_case_number", *patch.CourtCaseNumber, false, 100)
	}
	if err := Invalid(f); err != nil {
		return nil, err
	}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !mayEditCase(p, c) {
			return Errorf(EFORBIDDEN, "only the court's clerks, the organisation's admins and the case's mediators edit a case")
		}
		if c.State.Ended() {
			return Errorf(ECONFLICT, "the case is %s: its details are fixed", c.State)
		}
		if patch.CourtCaseNumber != nil && c.Source == SourceDirect && *patch.CourtCaseNumber != "" {
			return Invalid(map[string]string{"court_case_number": "only a case entrusted after filing (委托) has a court case number"})
		}
		if patch.CourtCaseNumber != nil && *patch.CourtCaseNumber != "" && c.Source != SourceDirect {
			if msg := checkCourtCaseNumber(*patch.CourtCaseNumber, c.Source == SourceDelegated); msg != "" {
				return Invalid(map[string]string{"court_case_number": msg})
			}
		}
		set := func(name string, old, new any) {
			if old != new {
				changes[name] = map[string]any{"from": old, "to": new}
			}
		}
		if patch.Title != nil {
			set("title", c.Title, *patch.Title)
			c.Title = *patch.Title
		}
		if patch.Summary != nil {
			set("summary", c.Summary, *patch.Summary)
			c.Summary = *patch.Summary
		}
		if patch.DisputeType != nil {
			set("dispute_type", string(c.DisputeType), string(*patch.DisputeType))
			c.DisputeType = *patch.DisputeType
		}
		if patch.ClaimAmountFen != nil {
			set("claim_amount_fen", c.ClaimAmountFen, *patch.ClaimAmountFen)
			c.ClaimAmountFen = *patch.ClaimAmountFen
		}
		if patch.CourtCaseNumber != nil {
			set("court_case_number", c.CourtCaseNumber, *patch.CourtCaseNumber)
			c.CourtCaseNumber = *patch.CourtCaseNumber
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET title = $2, summary = $3, dispute_type = $4, claim_amount_fen = $5, court_case_number = $6,
			version = version + 1, updated_at = $7 WHERE id = $1`, c.ID, c.Title, c.Summary, c.DisputeType, c.ClaimAmountFen, c.CourtCaseNumber, s.now()); err != nil {
			return err
		}
		_, err := s.appendEvent(ctx, tx, c.ID, p, "case.updated", VisAll, changes, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("update case", err)
	}
	return s.Case(ctx, caseID)
}

// PartyPatch changes a party's details; nil fields stay as they are.
type PartyPatch struct {
	Name           *string `json:"name,omitempty"`
	IDNumber       *string `json:"id_number,omitempty"`
	LegalRep       *string `json:"legal_rep,omitempty"`
	Phone          *string `json:"phone,omitempty"`
	ServiceAddress *string `json:"service_address,omitempty"`
	Address        *string `json:"address,omitempty"`
}

// Valid reports problems with the patch, by field.
func (pp PartyPatch) Valid() map[string]string {
	f := map[string]string{}
	if pp.Name != nil {
		requireText(f, "name", *pp.Name, true, 200)
	}
	if pp.IDNumber != nil {
		requireText(f, "id_number", *pp.IDNumber, false, 50)
	}
	if pp.LegalRep != nil {
		requireText(f, "legal_rep", *pp.LegalRep, false, 100)
	}
	if pp.Phone != nil {
		checkPhone(f, "phone", *pp.Phone, true)
	}
	if pp.ServiceAddress != nil {
		requireText(f, "service_address", *pp.ServiceAddress, false, 200)
	}
	if pp.Address != nil {
		requireText(f, "address", *pp.Address, false, 500)
	}
	return f
}

// UpdateParty corrects a party's details (a wrong phone number, a new service address) while the case is open;
// only the case's staff may, and the trail records which fields changed (visible to staff and that party's side).
func (s *Store) UpdateParty(ctx context.Context, p Principal, caseID, partyID string, pp PartyPatch) (*Case, error) {
	if err := Invalid(pp.Valid()); err != nil {
		return nil, err
	}
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !mayEditCase(p, c) {
			return Errorf(EFORBIDDEN, "only the court's clerks, the organisation's admins and the case's mediators change a party's details")
		}
		// The contact is where codes and links go: it changes only through a confirmed correction (contacts.go).
		if pp.Phone != nil || pp.ServiceAddress != nil {
			if party := c.Party(partyID); party == nil || (pp.Phone != nil && *pp.Phone != party.Phone) || (pp.ServiceAddress != nil && *pp.ServiceAddress != party.ServiceAddress) {
				return &Error{Code: EUNPROCESSABLE, Fields: map[string]string{"phone": "contact_correction_required"},
					Message: "a party's phone and service address are corrected with a reason and a confirmation (POST /api/v1/cases/{id}/parties/{party}/contact-corrections); the case's mediators cannot change them"}
			}
		}
		// Name and identity number come from the court's filing or the party's application: not the mediator's to change.
		if cur := c.Party(partyID); cur != nil && ((pp.Name != nil && *pp.Name != cur.Name) || (pp.IDNumber != nil && *pp.IDNumber != cur.IDNumber)) &&
			!CorrectionAuthority(p, c, true) && p.Kind != KindSystem {
			return Errorf(EFORBIDDEN, "a party's name and identity number are corrected by the court's clerk (referred cases) or the organisation's admin (direct applications)")
		}
		if c.State.Final() {
			return Errorf(ECONFLICT, "the case is closed (%s)", c.State)
		}
		party := c.Party(partyID)
		if party == nil {
			return Errorf(ENOTFOUND, "party not found")
		}
		changed := []string{}
		set := func(name string, dst *string, v *string) {
			if v != nil && *v != *dst {
				*dst = *v
				changed = append(changed, name)
			}
		}
		set("name", &party.Name, pp.Name)
		set("id_number", &party.IDNumber, pp.IDNumber)
		set("legal_rep", &party.LegalRep, pp.LegalRep)
		set("phone", &party.Phone, pp.Phone)
		set("service_address", &party.ServiceAddress, pp.ServiceAddress)
		set("address", &party.Address, pp.Address)
		if len(changed) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE parties SET name = $2, id_number = $3, legal_rep = $4, phone = $5, service_address = $6, address = $7 WHERE id = $1`,
			party.ID, party.Name, party.IDNumber, party.LegalRep, party.Phone, party.ServiceAddress, party.Address); err != nil {
			return err
		}
		_, err := s.appendEvent(ctx, tx, c.ID, p, "party.updated", VisSide(party.Side), map[string]any{"party_id": party.ID, "name": party.Name, "fields": changed}, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("update party", err)
	}
	return s.Case(ctx, caseID)
}
