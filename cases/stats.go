package cases

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Figures are the numbers courts, IP offices and evaluators read (DOMAIN.md "Figures"; notice §14).
type Figures struct {
	Cases       int     `json:"cases"`
	Ended       int     `json:"ended"`     // mediation ended on one of the eight grounds
	Succeeded   int     `json:"succeeded"` // ended with an agreement
	SuccessRate float64 `json:"success_rate"`
	AvgDays     float64 `json:"avg_days"` // from acceptance to end, appraisal time excluded, over ended cases
	Overdue     int     `json:"overdue"`
}

// GroupFigures are figures for one organisation, mediator or period.
type GroupFigures struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Figures
}

// Stats are the statistics a principal may read.
type Stats struct {
	Scope          string         `json:"scope"`
	From           *time.Time     `json:"from,omitempty"`
	To             *time.Time     `json:"to,omitempty"`
	Total          Figures        `json:"total"`
	ByState        map[State]int  `json:"by_state"`
	ByGround       map[string]int `json:"by_ground"`
	ByOrganisation []GroupFigures `json:"by_organisation"`
	ByMediator     []GroupFigures `json:"by_mediator"`
	ByMonth        []GroupFigures `json:"by_month"`
}

// StatsFilter narrows statistics to cases registered in [From, To).
type StatsFilter struct {
	From, To *time.Time
}

// statsScope returns the condition selecting the cases p's statistics cover: the admin all; a court's clerks
// and judges their court's; an IP office's officers the cases of mediation organisations in their region; an
// organisation's admin its own; a mediator the cases they mediated.
func statsScope(p Principal) (string, []any, string, error) {
	switch {
	case p.IsStaff(RoleAdmin):
		return "TRUE", nil, "all", nil
	case p.IsStaff(RoleClerk, RoleJudge):
		return "c.court_id::text = $3", []any{p.OrgID}, "court", nil
	case p.IsStaff(RoleIPOfficer):
		return "mo.region = $3", []any{p.OrgRegion}, "region " + p.OrgRegion, nil
	case p.IsStaff(RoleOrgAdmin):
		return "mo.id::text = $3", []any{p.OrgID}, "organisation", nil
	case p.IsStaff(RoleMediator):
		return "EXISTS (SELECT 1 FROM case_mediators m WHERE m.case_id = c.id AND m.account_id::text = $3 AND m.status = 'accepted')", []any{p.ID}, "mediator", nil
	}
	return "", nil, "", Errorf(EFORBIDDEN, "statistics are for staff")
}

// Stats computes statistics over the cases p may count.
func (s *Store) Stats(ctx context.Context, p Principal, f StatsFilter) (*Stats, error) {
	scope, sargs, name, err := statsScope(p)
	if err != nil {
		return nil, err
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return nil, Invalid(map[string]string{"to": "must be after from"})
	}
	out := &Stats{Scope: name, From: f.From, To: f.To, ByState: map[State]int{}, ByGround: map[string]int{},
		ByOrganisation: []GroupFigures{}, ByMediator: []GroupFigures{}, ByMonth: []GroupFigures{}}
	now := s.now()
	args := append([]any{f.From, f.To}, sargs...)
	from := `FROM cases c LEFT JOIN organisations mo ON mo.id = ` + effectiveOrg // a referral to a mediator counts for the mediator's organisation
	where := ` WHERE ` + scope + ` AND ($1::timestamptz IS NULL OR c.created_at >= $1) AND ($2::timestamptz IS NULL OR c.created_at < $2)`
	base := from + where
	// figuresSQL computes Figures for the rows of a group. $N is now.
	nowArg := fmt.Sprintf("$%d", len(args)+1)
	figures := `count(*), count(*) FILTER (WHERE c.ended_at IS NOT NULL AND c.end_ground <> ''),
		count(*) FILTER (WHERE c.end_ground = 'agreement_reached'),
		COALESCE(avg(EXTRACT(EPOCH FROM (c.ended_at - c.accepted_at)) - c.paused_seconds) FILTER (WHERE c.ended_at IS NOT NULL AND c.accepted_at IS NOT NULL AND c.end_ground <> ''), 0) / 86400,
		count(*) FILTER (WHERE (c.state = 'in_mediation' AND c.due_at < ` + nowArg + `) OR (c.state = 'referred' AND c.answer_due_at < ` + nowArg + `))`
	args = append(args, now)
	scanFig := func(r pgx.Row, g *Figures, extra ...any) error {
		dst := append(extra, &g.Cases, &g.Ended, &g.Succeeded, &g.AvgDays, &g.Overdue)
		if err := r.Scan(dst...); err != nil {
			return err
		}
		if g.Ended > 0 {
			g.SuccessRate = float64(g.Succeeded) / float64(g.Ended)
		}
		return nil
	}
	if err := scanFig(s.pool.QueryRow(ctx, `SELECT `+figures+` `+base, args...), &out.Total); err != nil {
		return nil, dbErr("stats", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT c.state, count(*) `+base+` GROUP BY c.state`, args[:len(args)-1]...)
	if err != nil {
		return nil, dbErr("stats", err)
	}
	for rows.Next() {
		var st State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return nil, dbErr("stats", err)
		}
		out.ByState[st] = n
	}
	rows.Close()
	rows, err = s.pool.Query(ctx, `SELECT c.end_ground, count(*) `+base+` AND c.end_ground <> '' GROUP BY c.end_ground`, args[:len(args)-1]...)
	if err != nil {
		return nil, dbErr("stats", err)
	}
	for rows.Next() {
		var g string
		var n int
		if err := rows.Scan(&g, &n); err != nil {
			rows.Close()
			return nil, dbErr("stats", err)
		}
		out.ByGround[g] = n
	}
	rows.Close()
	groups := []struct {
		dst *[]GroupFigures
		sql string
	}{
		{&out.ByOrganisation, `SELECT COALESCE(mo.id::text, ''), COALESCE(mo.name, ''), ` + figures + ` ` + base + ` GROUP BY 1, 2 ORDER BY 2`},
		{&out.ByMediator, `SELECT a.id::text, a.display_name, ` + figures + ` ` + from +
			` JOIN case_mediators cm ON cm.case_id = c.id AND cm.presiding AND cm.status = 'accepted' JOIN accounts a ON a.id = cm.account_id` +
			where + ` GROUP BY 1, 2 ORDER BY 2`},
		{&out.ByMonth, `SELECT to_char(c.created_at AT TIME ZONE '` + tzName(s.Cal.Loc) + `', 'YYYY-MM'), to_char(c.created_at AT TIME ZONE '` + tzName(s.Cal.Loc) + `', 'YYYY-MM'), ` + figures + ` ` + base + ` GROUP BY 1, 2 ORDER BY 1`},
	}
	for _, g := range groups {
		rows, err := s.pool.Query(ctx, g.sql, args...)
		if err != nil {
			return nil, dbErr("stats", err)
		}
		for rows.Next() {
			var gf GroupFigures
			if err := scanFig(rows, &gf.Figures, &gf.Key, &gf.Name); err != nil {
				rows.Close()
				return nil, dbErr("stats", err)
			}
			*g.dst = append(*g.dst, gf)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr("stats", err)
		}
	}
	return out, nil
}

// tzName returns a zone name PostgreSQL understands for loc (IANA names only; others fall back to UTC+8).
func tzName(loc *time.Location) string {
	name := loc.String()
	for _, r := range name {
		if !(r == '/' || r == '_' || r == '-' || r == '+' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return "Etc/GMT-8"
		}
	}
	if name == "Local" || name == "" {
		return "Etc/GMT-8"
	}
	return name
}
