package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

func TestBadInputIsAnsweredAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	clerk := f.login(f.w.Clerk)
	ctx := context.Background()
	count := func() int {
		_, total, err := f.store.Cases(ctx, f.w.Admin, cases.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	events := func() int64 {
		evs, err := f.store.Events(ctx, f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(evs))
	}
	beforeCases, beforeEvents := count(), events()
	good := `{"title":"t","dispute_type":"patent","summary":"s","source":"delegated","parties":[{"side":"applicant","kind":"person","name":"甲","phone":"13900000001"},{"side":"respondent","kind":"person","name":"乙","phone":"13900000002"}]}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		mention                         string
	}{
		{"unknown field", "POST", "/api/v1/cases", "application/json", strings.Replace(good, `"title"`, `"colour":"red","title"`, 1), 400, "unknown field"},
		{"not JSON", "POST", "/api/v1/cases", "application/json", `{"title": `, 400, "ends too early"},
		{"syntax error", "POST", "/api/v1/cases", "application/json", `{"title" "x"}`, 400, "syntax error"},
		{"wrong type", "POST", "/api/v1/cases", "application/json", strings.Replace(good, `"summary":"s"`, `"summary":"s","claim_amount_fen":"lots"`, 1), 400, "claim_amount_fen must be a number"},
		{"trailing data", "POST", "/api/v1/cases", "application/json", good + ` {"again":1}`, 400, "after the JSON value"},
		{"NUL character", "POST", "/api/v1/cases", "application/json", strings.Replace(good, `"s"`, `"a\u0000b"`, 1), 400, "NUL"},
		{"empty body", "POST", "/api/v1/cases", "application/json", ``, 400, "empty"},
		{"form instead of JSON", "POST", "/api/v1/cases", "application/x-www-form-urlencoded", `title=x`, 415, "application/json"},
		{"too large", "POST", "/api/v1/cases", "application/json", `{"title":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
		{"invalid fields", "POST", "/api/v1/cases", "application/json", strings.Replace(good, `"13900000002"`, `"call me"`, 1), 400, "parties[1].phone"},
		{"unknown action", "POST", "/api/v1/cases/" + f.c.ID + "/actions/celebrate", "application/json", `{}`, 404, "unknown action"},
		{"refused action", "POST", "/api/v1/cases/" + f.c.ID + "/actions/accept", "application/json", `{}`, 409, "in_mediation"},
		{"bad ground", "POST", "/api/v1/cases/" + f.c.ID + "/actions/end", "application/json", `{"ground":"bored"}`, 403, "may not"},
		{"malformed case ID", "GET", "/api/v1/cases/../../etc/passwd", "", "", 404, ""},
		{"not a UUID", "GET", "/api/v1/cases/12345", "", "", 404, "not found"},
		{"bad limit", "GET", "/api/v1/cases?limit=100000", "", "", 400, "limit"},
		{"bad state", "GET", "/api/v1/cases?state=happy", "", "", 400, "state"},
		{"bad date", "GET", "/api/v1/stats?from=yesterday", "", "", 400, "from"},
		{"unknown endpoint", "GET", "/api/v1/teapot", "", "", 404, "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("X-CSRF-Token", clerk.csrf)
			resp, err := clerk.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body apiError
			raw := readAll(resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tt.status)
			}
			if tt.mention != "" && !strings.Contains(raw, tt.mention) {
				t.Errorf("answer %s does not mention %q", raw, tt.mention)
			}
			_ = body
		})
	}
	if got := count(); got != beforeCases {
		t.Errorf("bad requests created cases: %d → %d", beforeCases, got)
	}
	if got := events(); got != beforeEvents {
		t.Errorf("bad requests changed the trail: %d → %d events", beforeEvents, got)
	}
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestCSRFAndTokens(t *testing.T) {
	f := newFixture(t)
	clerk := f.login(f.w.Clerk)
	csrf := clerk.csrf
	clerk.csrf = ""
	if st := clerk.do("PATCH", "/api/v1/cases/"+f.c.ID, map[string]string{"summary": "x"}, nil); st != 403 {
		t.Errorf("unsafe request without CSRF token: %d, want 403", st)
	}
	clerk.csrf = "wrong"
	if st := clerk.do("PATCH", "/api/v1/cases/"+f.c.ID, map[string]string{"summary": "x"}, nil); st != 403 {
		t.Errorf("unsafe request with a wrong CSRF token: %d, want 403", st)
	}
	clerk.csrf = csrf
	if st := clerk.do("GET", "/api/v1/cases", nil, nil); st != 200 {
		t.Errorf("safe request: %d", st)
	}
	bad := f.anonymous()
	bad.bearer = "pk_forged"
	if st := bad.do("GET", "/api/v1/cases", nil, nil); st != 401 {
		t.Errorf("forged API token: %d, want 401", st)
	}
	// A revoked token stops working at once; a disabled account's sessions end.
	tok := f.token(f.w.Clerk)
	var list []cases.APIToken
	clerk.do("GET", "/api/v1/auth/tokens", nil, &list)
	for _, tk := range list {
		clerk.do("DELETE", "/api/v1/auth/tokens/"+tk.ID, nil, nil)
	}
	if st := tok.do("GET", "/api/v1/cases", nil, nil); st != 401 {
		t.Errorf("revoked token: %d, want 401", st)
	}
	med := f.login(f.w.Mediator2)
	admin := f.login(f.w.Admin)
	if st := admin.do("POST", "/api/v1/accounts/"+f.w.Mediator2.ID+"/disable", nil, nil); st != 204 {
		t.Fatalf("disable: %d", st)
	}
	if st := med.do("GET", "/api/v1/cases", nil, nil); st != 401 {
		t.Errorf("disabled account's session: %d, want 401", st)
	}
	// Parties never see the other side's private details.
	party := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	var cr caseResponse
	party.do("GET", "/api/v1/cases/"+f.c.ID, nil, &cr)
	if cr.Case.Parties[1].Phone != "" || cr.Case.Parties[1].IDNumber != "" {
		t.Errorf("the applicant sees the respondent's phone %q / ID %q", cr.Case.Parties[1].Phone, cr.Case.Parties[1].IDNumber)
	}
	other, err := f.store.CreateCase(context.Background(), f.w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	if st := party.do("GET", "/api/v1/cases/"+other.ID, nil, nil); st != 404 {
		t.Errorf("a party opens another case: %d, want 404", st)
	}
}
