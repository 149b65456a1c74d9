package cases

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// What a party still has to do before the mediation can go on, for the mediator's checklist.
const (
	TodoDone     = "done"
	TodoMissing  = "missing"
	TodoDeclined = "declined" // consent refused
	TodoFailed   = "failed"   // the latest identity check did not pass
)

// PartyTodo is where one party stands: whether it (or an agent) opened its invitation, consented to online
// mediation (OMR Art. 4), has an electronic service address (OLR Art. 29) and passed an identity check (OMR Art. 17;
// in a session or at the counter).
type PartyTodo struct {
	PartyID        string `json:"party_id"`
	Name           string `json:"name"`
	Side           Side   `json:"side"`
	Entered        bool   `json:"entered"`
	Consent        string `json:"consent"`
	ServiceAddress string `json:"service_address"`
	Identity       string `json:"identity"`
	Done           bool   `json:"done"`
}

// Checklist is what every party of a case still has to do; SessionReady says a session may start (every party
// consented to online mediation, which StartSession requires).
type Checklist struct {
	Parties      []PartyTodo `json:"parties"`
	SessionReady bool        `json:"session_ready"`
}

// ChecklistFor works out the checklist of c from who entered (party IDs) and the result of each participant's
// latest identity check (by party or agent ID).
func ChecklistFor(c *Case, entered map[string]bool, identity map[string]string) Checklist {
	out := Checklist{Parties: []PartyTodo{}, SessionReady: len(c.Parties) > 0}
	for _, p := range c.Parties {
		td := PartyTodo{PartyID: p.ID, Name: p.Name, Side: p.Side, Entered: entered[p.ID], Consent: TodoMissing, ServiceAddress: TodoMissing, Identity: TodoMissing}
		switch {
		case p.ConsentOnline:
			td.Consent = TodoDone
		case p.ConsentAt != nil:
			td.Consent = TodoDeclined
		}
		if p.ServiceAddress != "" || p.Phone != "" {
			td.ServiceAddress = TodoDone
		}
		ids := []string{p.ID}
		for _, a := range p.Agents {
			ids = append(ids, a.ID)
		}
		for _, id := range ids {
			switch identity[id] {
			case "passed":
				td.Identity = TodoDone
			case "failed":
				if td.Identity == TodoMissing {
					td.Identity = TodoFailed
				}
			}
		}
		td.Done = td.Consent == TodoDone && td.ServiceAddress == TodoDone && td.Identity == TodoDone
		if td.Consent != TodoDone {
			out.SessionReady = false
		}
		out.Parties = append(out.Parties, td)
	}
	return out
}

// Checklist returns the checklist of a case for its staff (those who may invite the parties again).
func (s *Store) Checklist(ctx context.Context, p Principal, caseID string) (*Checklist, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	rel := Relations(p, c)
	if !mayEditCase(p, c) && !slices.Contains(rel, WhoAssignedMediator) {
		return nil, Errorf(EFORBIDDEN, "the checklist of the parties is for the case's mediators, the court's clerks and the organisation's admins")
	}
	entered := map[string]bool{}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT data->>'party_id' FROM case_events WHERE case_id = $1 AND type = 'party.entered'`, caseID)
	if err != nil {
		return nil, dbErr("checklist", err)
	}
	for rows.Next() {
		var id *string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, dbErr("checklist", err)
		}
		if id != nil {
			entered[*id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("checklist", err)
	}
	identity := map[string]string{}
	rows, err = s.pool.Query(ctx, `SELECT DISTINCT ON (participant_id) participant_id, result FROM identity_checks WHERE case_id = $1
		ORDER BY participant_id, at DESC, id DESC`, caseID)
	if err != nil {
		return nil, dbErr("checklist", err)
	}
	for rows.Next() {
		var id, result string
		if err := rows.Scan(&id, &result); err != nil {
			rows.Close()
			return nil, dbErr("checklist", err)
		}
		identity[id] = result
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("checklist", err)
	}
	out := ChecklistFor(c, entered, identity)
	return &out, nil
}

// probed are the actions a caller takes with no input of their own: Blocked tries them for the page.
var probed = []Action{ActApplyConfirmation, ActConsentExtension, ActAccept, ActResume}

// Blocked tries, for p and without changing anything, the actions open to p that need no input, and answers
// those a rule refuses now with the reason (a conflict or a domain rule, as Act would answer): the page shows the
// reason, and who must act, instead of a button the server would refuse.
func (s *Store) Blocked(ctx context.Context, p Principal, c *Case) (map[Action]error, error) {
	var try []Action
	for _, a := range Available(p, c) {
		if slices.Contains(probed, a) {
			try = append(try, a)
		}
	}
	if len(try) == 0 {
		return nil, nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("blocked actions", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	out := map[Action]error{}
	for _, a := range try {
		env, err := s.env(ctx, tx, c, Params{})
		if err != nil {
			return nil, dbErr("blocked actions", err)
		}
		if a == ActApplyConfirmation {
			if env.Agreement, err = s.agreementFacts(ctx, tx, c.ID); err != nil {
				return nil, dbErr("blocked actions", err)
			}
		}
		if _, err := Apply(cloneCase(c), a, p, Params{}, env); err != nil {
			if code := ErrorCode(err); code == EUNPROCESSABLE || code == ECONFLICT {
				out[a] = err
			}
		}
	}
	return out, nil
}
