package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// serverWith starts another server on the same store and world with its settings changed by change.
func (e *testEnv) serverWith(change func(cfg *Config, a *app)) *testEnv {
	e.t.Helper()
	cfg := *e.app.cfg
	a := *e.app
	a.cfg = &cfg
	change(&cfg, &a)
	srv := httptest.NewServer(NewServer(&a, nil))
	e.t.Cleanup(srv.Close)
	out := *e
	out.srv, out.app = srv, &a
	return &out
}

// TestAPITokensCannotMakeTokensOrChangePasswords: a token acts for its account in the case system, but cannot
// mint more tokens nor change the account's password.
func TestAPITokensCannotMakeTokensOrChangePasswords(t *testing.T) {
	e := newTestEnv(t)
	tok := e.token(e.w.Clerk)
	no := false
	if st := tok.do("POST", "/api/v1/auth/tokens", tokenRequest{Name: "another"}, nil); st != 403 {
		t.Errorf("a token made a token: %d, want 403", st)
	}
	if st := tok.do("POST", "/api/v1/auth/password", passwordRequest{e.w.Password, "a token's new passphrase", &no}, nil); st != 403 {
		t.Errorf("a token changed the password: %d, want 403", st)
	}
	if st := tok.do("GET", "/api/v1/cases", nil, nil); st != 200 {
		t.Errorf("a token lists cases: %d", st)
	}
	// A logged-in account makes tokens; a lifetime past the maximum is refused.
	clerk := e.login(e.w.Clerk)
	var out tokenResponse
	if st := clerk.do("POST", "/api/v1/auth/tokens", tokenRequest{Name: "court system"}, &out); st != 201 || out.Token.ExpiresAt == nil {
		t.Errorf("token by login: %d %+v", st, out.Token)
	} else if d := out.Token.ExpiresAt.Sub(e.clock.Now()); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("a token asked for without a lifetime expires in %v, want the 365-day maximum", d)
	}
	if st := clerk.do("POST", "/api/v1/auth/tokens", tokenRequest{Name: "forever", ExpiresInDays: 366}, nil); st != 400 {
		t.Errorf("a 366-day token: %d, want 400", st)
	}
}

// TestPasswordChangeOverHTTP: the policy is enforced, the question about tokens must be answered, and the
// account's other sessions end.
func TestPasswordChangeOverHTTP(t *testing.T) {
	e := newTestEnv(t)
	here, there := e.login(e.w.Judge), e.login(e.w.Judge)
	tok := e.token(e.w.Judge)
	yes, no := true, false
	for _, tc := range []struct {
		in   passwordRequest
		want int
	}{
		{passwordRequest{e.w.Password, "short one", &no}, 400},
		{passwordRequest{e.w.Password, "password1234", &no}, 400},
		{passwordRequest{e.w.Password, e.w.Password, &no}, 400},
		{passwordRequest{e.w.Password, "a judge's new passphrase", nil}, 400},
		{passwordRequest{"wrong current one", "a judge's new passphrase", &no}, 422},
	} {
		if st := here.do("POST", "/api/v1/auth/password", tc.in, nil); st != tc.want {
			t.Errorf("password change %+v: %d, want %d", tc.in, st, tc.want)
		}
	}
	var out cases.PasswordChange
	if st := here.do("POST", "/api/v1/auth/password", passwordRequest{e.w.Password, "a judge's new passphrase", &yes}, &out); st != 200 || out.SessionsEnded != 1 || out.TokensRevoked != 1 {
		t.Fatalf("password change: %d %+v", st, out)
	}
	if st := here.do("GET", "/api/v1/auth/me", nil, nil); st != 200 {
		t.Errorf("the session that changed the password: %d", st)
	}
	if st := there.do("GET", "/api/v1/auth/me", nil, nil); st != 401 {
		t.Errorf("another session after the change: %d, want 401", st)
	}
	if st := tok.do("GET", "/api/v1/cases", nil, nil); st != 401 {
		t.Errorf("a revoked token: %d, want 401", st)
	}
}

// TestLoginLockoutOverHTTP: an attacker's address is slowed and locked (429 with Retry-After) while the owner,
// from another address, logs in; the admin sees the lock-out.
func TestLoginLockoutOverHTTP(t *testing.T) {
	e := newTestEnv(t).serverWith(func(cfg *Config, a *app) { cfg.TrustProxy = true })
	acc, _ := e.store.Account(context.Background(), e.w.Mediator.ID)
	from := func(ip string, password string) (int, http.Header) {
		body := strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, acc.Username, password))
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/auth/login", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	statuses := []int{}
	for i := 0; i < cases.LoginLockAfter; i++ {
		e.clock.Advance(61 * time.Second)
		st, _ := from("198.51.100.7", fmt.Sprintf("guess number %d", i))
		statuses = append(statuses, st)
	}
	st, h := from("198.51.100.7", e.w.Password)
	if st != 429 || h.Get("Retry-After") == "" {
		t.Errorf("the attacker's address after %d failures (%v): %d, Retry-After %q; want 429 with Retry-After", cases.LoginLockAfter, statuses, st, h.Get("Retry-After"))
	}
	if st, _ := from("203.0.113.20", e.w.Password); st != 200 {
		t.Errorf("the owner from another address: %d, want 200", st)
	}
	var list []cases.Lockout
	if st := e.login(e.w.Admin).do("GET", "/api/v1/auth/lockouts", nil, &list); st != 200 || len(list) != 1 || list[0].Address != "198.51.100.7" || list[0].Username != acc.Username {
		t.Errorf("the admin's lock-outs: %d %+v", st, list)
	}
}

// TestQueryNULAndBadUTF8Are400: NUL or invalid UTF-8 in query parameters is the caller's error, not a 500.
func TestQueryNULAndBadUTF8Are400(t *testing.T) {
	e := newTestEnv(t)
	clerk := e.login(e.w.Clerk)
	for _, q := range []string{"q=%00", "q=abc%00def", "q=%ff%fe", "state=%c3%28", "%00=x", "q=%zz", "limit=%00"} {
		st, body := clerk.raw("GET", "/api/v1/cases?"+q, nil)
		if st != 400 || !strings.Contains(string(body), `"invalid"`) {
			t.Errorf("GET /api/v1/cases?%s: %d %s, want 400 invalid", q, st, body)
		}
	}
	if st, _ := clerk.raw("GET", "/api/v1/cases?q="+"%E4%B8%93%E5%88%A9", nil); st != 200 {
		t.Errorf("a valid UTF-8 query: %d", st)
	}
}

// TestSlowBodyIsCut: a body sent at one byte per second is cut once the grace passes.
func TestSlowBodyIsCut(t *testing.T) {
	e := newTestEnv(t).serverWith(func(cfg *Config, a *app) { cfg.BodyReadTimeout = time.Second; cfg.BodyMinRate = 64 })
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"clerk3","password":"` + strings.Repeat("x", 60) + `"}`
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- "closed: " + err.Error()
			return
		}
		resp.Body.Close()
		answered <- resp.Status
	}()
	sent := 0
	deadline := time.After(20 * time.Second)
loop:
	for sent < len(body) {
		select {
		case got := <-answered:
			t.Logf("after %d bytes in %v the server answered %s", sent, time.Since(start).Round(10*time.Millisecond), got)
			if !strings.HasPrefix(got, "408") && !strings.HasPrefix(got, "closed") {
				t.Errorf("a slow body got %s, want 408 or a closed connection", got)
			}
			break loop
		case <-deadline:
			t.Fatalf("the server still waited for a 1-byte/s body after %v", time.Since(start))
		case <-time.After(time.Second):
			if _, err := conn.Write([]byte{body[sent]}); err != nil {
				t.Logf("write cut after %d bytes in %v: %v", sent, time.Since(start).Round(10*time.Millisecond), err)
				break loop
			}
			sent++
		}
	}
	if sent >= len(body) {
		t.Errorf("the whole %d-byte body was read at one byte per second", len(body))
	}
	// A normal body on a fresh connection still works.
	if st := e.anonymous().do("POST", "/api/v1/auth/login", loginRequest{"nobody", "some password here"}, nil); st != 401 {
		t.Errorf("a normal login after: %d, want 401", st)
	}
}

// TestWebSocketCapPerAddress: one address holds at most ws-per-address signalling WebSockets at once.
func TestWebSocketCapPerAddress(t *testing.T) {
	e := newTestEnv(t).serverWith(func(cfg *Config, a *app) { cfg.WSPerAddress = 2 })
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/rtc"
	dial := func() (*websocket.Conn, int) {
		c, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {e.srv.URL}})
		if err != nil {
			if resp != nil {
				return nil, resp.StatusCode
			}
			t.Fatalf("dial: %v", err)
		}
		return c, 101
	}
	a, st1 := dial()
	b, st2 := dial()
	if st1 != 101 || st2 != 101 {
		t.Fatalf("first two WebSockets: %d %d", st1, st2)
	}
	defer b.Close()
	if c, st := dial(); st != 429 {
		if c != nil {
			c.Close()
		}
		t.Errorf("a third WebSocket from the same address: %d, want 429", st)
	}
	a.Close()
	ok := false
	for i := 0; i < 50 && !ok; i++ {
		time.Sleep(100 * time.Millisecond)
		if c, st := dial(); st == 101 {
			c.Close()
			ok = true
		}
	}
	if !ok {
		t.Error("no WebSocket accepted after one of the two closed")
	}
}

// TestTSAAndApplicationLimits: the timestamp authority is limited per address, online applications per
// address and per phone number (each one texts the phone).
func TestTSAAndApplicationLimits(t *testing.T) {
	e := newTestEnv(t).serverWith(func(cfg *Config, a *app) {
		cfg.TrustProxy = true
		a.tsaLimit, a.phoneLimit = newLimiter(1, 3), newLimiter(1, 2)
	})
	post := func(path, ip, ctype string, body []byte) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var tsa []int
	for i := 0; i < 4; i++ {
		tsa = append(tsa, post("/api/v1/tsa", "198.51.100.1", "application/timestamp-query", []byte("not a query")))
	}
	if tsa[3] != 429 || tsa[0] == 429 {
		t.Errorf("timestamp requests from one address: %v, want the fourth refused with 429", tsa)
	}
	if st := post("/api/v1/tsa", "198.51.100.2", "application/timestamp-query", []byte("not a query")); st == 429 {
		t.Errorf("another address was limited too")
	}
	n := casestest.NewCase(cases.SourceDirect)
	app := func() []byte {
		b, _ := json.Marshal(applicationRequest{OrganisationID: e.w.Org.ID, Title: n.Title, DisputeType: n.DisputeType, Summary: n.Summary, Applicant: n.Parties[0], Respondents: n.Parties[1:], ConsentOnline: true})
		return b
	}
	var apps []int
	for i, ip := range []string{"198.51.100.11", "198.51.100.12", "198.51.100.13"} {
		apps = append(apps, post("/api/v1/applications", ip, "application/json", app()))
		_ = i
	}
	if apps[0] != 202 || apps[1] != 202 || apps[2] != 429 {
		t.Errorf("applications with one phone from three addresses: %v, want 202 202 429", apps)
	}
}
