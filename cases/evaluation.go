package cases

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Evaluations (issue 12 §6; notice §14): after a case ends each party may rate the mediation once, as its own
// act; statistics add the satisfaction by organisation and mediator.

// NewEvaluation is a party's rating.
type NewEvaluation struct {
	Satisfaction int    `json:"satisfaction"` // 1 (very dissatisfied) to 5 (very satisfied)
	Heard        bool   `json:"heard"`        // felt heard
	Fair         bool   `json:"fair"`         // felt fairly treated
	Comment      string `json:"comment,omitempty"`
}

// Valid checks the input.
func (n NewEvaluation) Valid() map[string]string {
	f := map[string]string{}
	if n.Satisfaction < 1 || n.Satisfaction > 5 {
		f["satisfaction"] = "is a whole number from 1 to 5"
	}
	if len([]rune(n.Comment)) > 2000 {
		f["comment"] = "is at most 2000 characters"
	}
	return f
}

// Evaluation is a stored rating.
type Evaluation struct {
	CaseID       string    `json:"case_id"`
	PartyID      string    `json:"party_id"`
	Satisfaction int       `json:"satisfaction"`
	Heard        bool      `json:"heard"`
	Fair         bool      `json:"fair"`
	Comment      string    `json:"comment,omitempty"`
	ByName       string    `json:"by_name"`
	At           time.Time `json:"at"`
}

// Evaluate records a party's rating of an ended case (the party or its agent; once per party).
func (s *Store) Evaluate(ctx context.Context, p Principal, caseID string, in NewEvaluation) (*Evaluation, error) {
	if !isUUID(caseID) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	if err := Invalid(in.Valid()); err != nil {
		return nil, err
	}
	var out *Evaluation
	err := s.withCase(ctx, p, caseID, "case", func(tx pgx.Tx, c *Case) error {
		if !p.IsPartySide() || c.Party(p.PartyID) == nil {
			return Errorf(EFORBIDDEN, "the parties rate the mediation themselves")
		}
		if c.EndedAt == nil || !c.State.Ended() {
			return Errorf(ECONFLICT, "the case is %s: the mediation can be rated once it has ended", c.State)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM evaluations WHERE case_id = $1 AND party_id = $2)`, caseID, p.PartyID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return Errorf(ECONFLICT, "this party has already rated the mediation")
		}
		now := s.now()
		out = &Evaluation{CaseID: caseID, PartyID: p.PartyID, Satisfaction: in.Satisfaction, Heard: in.Heard, Fair: in.Fair, Comment: strings.TrimSpace(in.Comment), ByName: p.Name, At: now}
		// The trail records that a rating was given, not what it says (the staff rated should not read it there).
		ev, err := s.appendEvent(ctx, tx, caseID, p, "case.evaluated", VisSide(p.Side), map[string]any{"party_id": p.PartyID}, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO evaluations (case_id, party_id, satisfaction, heard, fair, comment, by_id, by_name, at, event_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, caseID, p.PartyID, in.Satisfaction, in.Heard, in.Fair, out.Comment, p.ID, p.Name, now, ev.Seq)
		return err
	})
	if err != nil {
		return nil, dbErr("evaluate", err)
	}
	return out, nil
}

// Evaluations returns a case's ratings: a party reads its own; the platform admin and the case's court read all
// (not the mediators and organisation rated).
func (s *Store) Evaluations(ctx context.Context, p Principal, caseID string) ([]Evaluation, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !CanView(p, c) {
		return nil, Errorf(ENOTFOUND, "case not found")
	}
	court := false
	for _, w := range Relations(p, c) {
		court = court || w == WhoClerk || w == WhoJudge
	}
	if !p.IsPartySide() && !court && !p.IsStaff(RoleAdmin) {
		return nil, Errorf(EFORBIDDEN, "the ratings of a case are read by its court and the platform admin, not by those rated")
	}
	rows, err := s.pool.Query(ctx, `SELECT case_id, party_id, satisfaction, heard, fair, comment, by_name, at FROM evaluations WHERE case_id = $1 ORDER BY at`, caseID)
	if err != nil {
		return nil, dbErr("evaluations", err)
	}
	defer rows.Close()
	out := []Evaluation{}
	for rows.Next() {
		var e Evaluation
		if err := rows.Scan(&e.CaseID, &e.PartyID, &e.Satisfaction, &e.Heard, &e.Fair, &e.Comment, &e.ByName, &e.At); err != nil {
			return nil, dbErr("evaluations", err)
		}
		if p.IsPartySide() && e.PartyID != p.PartyID {
			continue
		}
		out = append(out, e)
	}
	return out, dbErr("evaluations", rows.Err())
}

// Satisfaction is the rating figures of one group.
type Satisfaction struct {
	Key        string  `json:"key"`
	Name       string  `json:"name"`
	Ratings    int     `json:"ratings"`
	Average    float64 `json:"average"`     // mean satisfaction, 1–5
	HeardShare float64 `json:"heard_share"` // share of ratings that felt heard
	FairShare  float64 `json:"fair_share"`  // share of ratings that felt fairly treated
	// Distribution counts the ratings of each satisfaction level: Distribution[0] is the number of 1s, … [4] of 5s.
	Distribution [5]int `json:"distribution"`
}

// SatisfactionStats are the ratings a principal may read, by organisation and by presiding mediator.
type SatisfactionStats struct {
	Scope          string         `json:"scope"`
	Total          Satisfaction   `json:"total"`
	ByOrganisation []Satisfaction `json:"by_organisation"`
	ByMediator     []Satisfaction `json:"by_mediator"`
}

// effectiveOrg is the organisation a case counts for: its own, else that of its presiding (or first) mediator —
// a court's referral to an individual mediator counts for the mediator's organisation and so for its region.
const effectiveOrg = `COALESCE(c.organisation_id, (SELECT a.org_id FROM case_mediators cm JOIN accounts a ON a.id = cm.account_id
	WHERE cm.case_id = c.id AND cm.status IN ('accepted', 'assigned') ORDER BY cm.presiding DESC, cm.ord LIMIT 1))`

// Satisfaction computes the ratings over the cases p's statistics cover (statsScope), of cases registered in f.
func (s *Store) Satisfaction(ctx context.Context, p Principal, f StatsFilter) (*SatisfactionStats, error) {
	scope, sargs, name, err := statsScope(p)
	if err != nil {
		return nil, err
	}
	args := append([]any{f.From, f.To}, sargs...)
	from := `FROM evaluations e JOIN cases c ON c.id = e.case_id LEFT JOIN organisations mo ON mo.id = ` + effectiveOrg
	where := ` WHERE ` + scope + ` AND ($1::timestamptz IS NULL OR c.created_at >= $1) AND ($2::timestamptz IS NULL OR c.created_at < $2)`
	figs := `count(*), COALESCE(avg(e.satisfaction), 0), COALESCE(avg(e.heard::int), 0), COALESCE(avg(e.fair::int), 0),
		count(*) FILTER (WHERE e.satisfaction = 1), count(*) FILTER (WHERE e.satisfaction = 2), count(*) FILTER (WHERE e.satisfaction = 3),
		count(*) FILTER (WHERE e.satisfaction = 4), count(*) FILTER (WHERE e.satisfaction = 5)`
	dist := func(d *[5]int) []any { return []any{&d[0], &d[1], &d[2], &d[3], &d[4]} }
	out := &SatisfactionStats{Scope: name, ByOrganisation: []Satisfaction{}, ByMediator: []Satisfaction{}}
	if err := s.pool.QueryRow(ctx, `SELECT `+figs+` `+from+where, args...).Scan(append([]any{&out.Total.Ratings, &out.Total.Average, &out.Total.HeardShare, &out.Total.FairShare}, dist(&out.Total.Distribution)...)...); err != nil {
		return nil, dbErr("satisfaction", err)
	}
	for _, g := range []struct {
		dst *[]Satisfaction
		sql string
	}{
		{&out.ByOrganisation, `SELECT COALESCE(mo.id::text, ''), COALESCE(mo.name, ''), ` + figs + ` ` + from + where + ` GROUP BY 1, 2 ORDER BY 2`},
		{&out.ByMediator, `SELECT a.id::text, a.display_name, ` + figs + ` ` + from +
			` JOIN case_mediators cm ON cm.case_id = c.id AND cm.presiding AND cm.status = 'accepted' JOIN accounts a ON a.id = cm.account_id` + where + ` GROUP BY 1, 2 ORDER BY 2`},
	} {
		rows, err := s.pool.Query(ctx, g.sql, args...)
		if err != nil {
			return nil, dbErr("satisfaction", err)
		}
		for rows.Next() {
			var r Satisfaction
			if err := rows.Scan(append([]any{&r.Key, &r.Name, &r.Ratings, &r.Average, &r.HeardShare, &r.FairShare}, dist(&r.Distribution)...)...); err != nil {
				rows.Close()
				return nil, dbErr("satisfaction", err)
			}
			*g.dst = append(*g.dst, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr("satisfaction", err)
		}
	}
	return out, nil
}
