package cases_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestMigration120KeepsExistingNumbers: on a database with cases numbered by the old global sequence, migration
// 120 gives every organisation a number code in creation order and starts the platform's counters after the
// numbers already given, year by year, so that no old number is given again.
func TestMigration120KeepsExistingNumbers(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, casestest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := cases.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	apply := func(before bool) {
		for _, m := range ms {
			if (m.Version < 120) == before {
				if _, err := pool.Exec(ctx, m.SQL); err != nil {
					t.Fatalf("migration %s: %v", m.Name, err)
				}
			}
		}
	}
	apply(true)
	var court string
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (kind, name, created_at) VALUES ('court', '甲法院', '2026-01-01') RETURNING id`).Scan(&court); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO organisations (kind, mediation_kind, name, created_at) VALUES ('mediation_org', 'commercial', '乙调解中心', '2026-02-01')`); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"（2025）知调字第000998号", "（2025）知调字第000999号", "（2026）知调字第001000号"} {
		if _, err := pool.Exec(ctx, `INSERT INTO cases (number, title, dispute_type, summary, source, court_id, state, created_at, updated_at)
			VALUES ($1, 't', 'patent', 's', 'delegated', $2, 'registered', now(), now())`, n, court); err != nil {
			t.Fatalf("legacy case %s: %v", n, err)
		}
	}
	apply(false)
	rows, err := pool.Query(ctx, `SELECT name, number_code FROM organisations ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for rows.Next() {
		var name, code string
		rows.Scan(&name, &code)
		codes = append(codes, name+"="+code)
	}
	rows.Close()
	if len(codes) != 2 || codes[0] != "甲法院=1" || codes[1] != "乙调解中心=2" {
		t.Errorf("number codes %v, want 甲法院=1, 乙调解中心=2", codes)
	}
	var next string
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (kind, name) VALUES ('court', '丙法院') RETURNING number_code`).Scan(&next); err != nil || next != "3" {
		t.Errorf("a new organisation's code %q (%v), want 3", next, err)
	}
	for year, want := range map[int]int64{2025: 999, 2026: 1000} {
		var last int64
		if err := pool.QueryRow(ctx, `SELECT last FROM case_number_counters WHERE scope = 'platform' AND year = $1`, year).Scan(&last); err != nil || last != want {
			t.Errorf("platform counter of %d: %d (%v), want %d", year, last, err, want)
		}
	}
}
