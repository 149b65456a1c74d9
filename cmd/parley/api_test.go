package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// captureNotifier keeps every notice so tests can read one-time codes and links.
type captureNotifier struct {
	mu   sync.Mutex
	msgs []Message
}

func (n *captureNotifier) Notify(ctx context.Context, m Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

func (n *captureNotifier) Channel(string) string { return "test" }

var codeRE = regexp.MustCompile(`验证码是 (\d{6})`)

func (n *captureNotifier) lastCode(t *testing.T, to string) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.msgs) - 1; i >= 0; i-- {
		if n.msgs[i].To == to {
			if m := codeRE.FindStringSubmatch(n.msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}

// testEnv is a running API over a fresh schema with a populated world.
type testEnv struct {
	t      *testing.T
	srv    *httptest.Server
	app    *app
	store  *cases.Store
	clock  *casestest.Clock
	w      *casestest.World
	notify *captureNotifier
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	store, clock := casestest.Store(t, time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC))
	cfg, _, err := parseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n := &captureNotifier{}
	// The server's address is known before the CA starts issuing, so certificates point their OCSP and CRL
	// addresses at this test server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = "http://" + ln.Addr().String()
	docs, err := newDocSigner(context.Background(), cfg, store, store.Cal, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	docs.Now = clock.Now
	// Media on loopback only, every port ephemeral, no TURN: the network rule for tests.
	cfg.MediaUDPPort, cfg.MediaTCPPort, cfg.ICEFilter = 0, -1, "127.0.0.0/8"
	rms, err := newRooms(context.Background(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rc := *cfg                                           // the recorder's spool in a directory of the test's own (cfg's data dir holds the key file)
	rc.DataDir, rc.RecordingCompose = t.TempDir(), false // the signalling test composes (TestRecordingJointRoom)
	recs, err := newRecording(&rc, store, store.Pool(), rms, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, log: slog.New(slog.DiscardHandler), store: store, notify: n, limiter: newLimiter(6000, 1000), docs: docs, pages: newPageRenderer(), rooms: rms, started: time.Now(), recs: recs}
	srv := httptest.NewUnstartedServer(NewServer(a, nil))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	rms.wsURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/rtc"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rms.close(ctx)
		recs.close(ctx)
		srv.Close()
	})
	return &testEnv{t: t, srv: srv, app: a, store: store, clock: clock, w: casestest.Populate(t, store), notify: n}
}

// client is an HTTP client acting as one principal: a cookie session (with its CSRF token) or an API token.
type client struct {
	env    *testEnv
	http   *http.Client
	csrf   string
	bearer string
}

func (e *testEnv) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{env: e, http: &http.Client{Jar: jar}}
}

func (e *testEnv) login(p cases.Principal) *client {
	e.t.Helper()
	acc, err := e.store.Account(context.Background(), p.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.anonymous()
	var out loginResponse
	if st := c.do("POST", "/api/v1/auth/login", loginRequest{acc.Username, e.w.Password}, &out); st != 200 {
		e.t.Fatalf("login %s: status %d", acc.Username, st)
	}
	c.csrf = out.CSRFToken
	return c
}

// enter logs a party or agent in through an invitation and its one-time code.
func (e *testEnv) enter(caseID, partyID, agentID string) *client {
	e.t.Helper()
	clerk := e.login(e.w.Clerk)
	var inv invitationResponse
	if st := clerk.do("POST", "/api/v1/cases/"+caseID+"/invitations", invitationRequest{PartyID: partyID, AgentID: agentID}, &inv); st != 201 {
		e.t.Fatalf("invite: %d", st)
	}
	tok := strings.TrimPrefix(inv.Link, e.app.cfg.BaseURL+"/join/")
	c := e.anonymous()
	if st := c.do("POST", "/api/v1/invitations/"+tok+"/code", nil, nil); st != 202 {
		e.t.Fatalf("code: %d", st)
	}
	cs, _ := e.store.Case(context.Background(), caseID)
	phone := cs.Party(partyID).Phone
	for _, a := range cs.Party(partyID).Agents {
		if a.ID == agentID {
			phone = a.Phone
		}
	}
	var me meResponse
	if st := c.do("POST", "/api/v1/invitations/"+tok+"/verify", verifyRequest{e.notify.lastCode(e.t, phone)}, &me); st != 200 {
		e.t.Fatalf("verify: %d", st)
	}
	c.csrf = me.CSRFToken
	return c
}

func (e *testEnv) token(p cases.Principal) *client {
	e.t.Helper()
	_, secret, err := e.store.CreateAPIToken(context.Background(), p.ID, "court system", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.anonymous()
	c.bearer = string(secret)
	return c
}

// do sends a request with a JSON body (nil for none) and decodes a JSON answer into out (when not nil). It
// returns the status.
func (c *client) do(method, path string, body, out any) int {
	c.env.t.Helper()
	st, raw := c.raw(method, path, body)
	if out != nil && st < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.env.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return st
}

// rawRequest is a non-JSON request body.
type rawRequest struct {
	ctype string
	data  []byte
}

func (c *client) raw(method, path string, body any) (int, []byte) {
	c.env.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	if rr, ok := body.(rawRequest); ok {
		rd, ctype, body = bytes.NewReader(rr.data), rr.ctype, nil
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.env.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.env.srv.URL+path, rd)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// fixture is the world the matrix test acts on: a case in mediation accepted by Mediator, both parties
// consented, a live session.
type fixture struct {
	*testEnv
	c       *cases.Case
	session *cases.Session
	doc     *cases.Document
	n       int
}

func (f *fixture) uniq() int { f.n++; return f.n }

// newConsentLink makes a consent link for the first party.
func (f *fixture) newConsentLink() string {
	tok, err := f.store.CreateConsentLink(context.Background(), f.c.ID, f.c.Parties[0].ID, cases.ActConsentExtension, time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(tok)
}

// newCaucusMessage opens a fresh caucus of the first party with the mediator, in which the party says something;
// it returns the caucus's ref and the message's ID.
func (f *fixture) newCaucusMessage() (int64, int64) {
	ctx := context.Background()
	id := fmt.Sprintf("caucus-m%d", f.uniq())
	party := f.c.Parties[0]
	at := f.clock.Now()
	if err := f.store.RecordCaucusOpened(ctx, f.session.ID, cases.Caucus{CaucusID: id, Members: []string{party.ID}, OpenedBy: f.w.Mediator.ID, OpenedAt: at}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.RecordMessage(ctx, f.session.ID, cases.ChatMessage{SenderID: party.ID, SenderName: party.Name, Scope: id, Body: "我方可以让步", At: at}); err != nil {
		f.t.Fatal(err)
	}
	var ref, msg int64
	if err := f.store.Pool().QueryRow(ctx, `SELECT caucus_ref, id FROM session_messages WHERE session_id = $1 AND scope = $2`, f.session.ID, id).Scan(&ref, &msg); err != nil {
		f.t.Fatal(err)
	}
	return ref, msg
}

func newFixture(t *testing.T) *fixture {
	e := newTestEnv(t)
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	ss, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	for _, p := range c.Parties {
		if err := e.store.RecordJoin(ctx, ss.ID, cases.Attendance{ParticipantID: p.ID, Name: p.Name, Role: "party", Side: string(p.Side), JoinedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.RecordJoin(ctx, ss.ID, cases.Attendance{ParticipantID: w.Mediator.ID, Name: w.Mediator.Name, Role: "mediator", JoinedAt: now}); err != nil {
		t.Fatal(err)
	}
	identityChecked(t, e.store, c, w.Mediator)
	doc, err := e.app.docs.CreateAgreement(ctx, w.Mediator, c, agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{testEnv: e, c: c, session: ss, doc: doc}
}

// newRecording stores a small file as a recording of the fixture's session and returns its ID.
func (f *fixture) newRecording() string {
	ctx := context.Background()
	b, err := f.app.recs.blobs.Put(ctx, strings.NewReader("not really webm"))
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := f.store.AddRecording(ctx, cases.Recording{SessionID: f.session.ID, TrackID: "p/audio", ParticipantID: "p", Kind: "audio",
		Codec: "opus", Container: "webm", BlobRef: b.Ref, Size: b.Size, SHA256: b.SHA256, StartedAt: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return r.ID
}

func (f *fixture) newSession(start bool) string {
	// Parties added by earlier calls must consent before a session can be held.
	c, err := f.store.Case(context.Background(), f.c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	yes := true
	for _, p := range c.Parties {
		if !p.ConsentOnline {
			if _, err := f.store.Act(context.Background(), f.w.Clerk, c.ID, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: p.ID, Note: "书面同意"}); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	ss, err := f.store.CreateSession(context.Background(), f.w.Mediator, f.c.ID, cases.NewSession{Start: start})
	if err != nil {
		f.t.Fatal(err)
	}
	return ss.ID
}

func (f *fixture) newMediator() string {
	a, err := f.store.CreateAccount(context.Background(), cases.NewAccount{OrgID: f.w.Org.ID, Role: cases.RoleMediator, Username: fmt.Sprintf("fresh%d", f.uniq()), DisplayName: "新调解员", Password: f.w.Password})
	if err != nil {
		f.t.Fatal(err)
	}
	return a.ID
}

func (f *fixture) newRecommendation() string {
	e, err := f.store.Recommend(context.Background(), f.w.Officer, cases.Recommendation{CourtID: f.w.Court.ID, MediatorID: f.newMediator()})
	if err != nil {
		f.t.Fatal(err)
	}
	return e.ID
}

func (f *fixture) newInvitation() string {
	_, tok, err := f.store.CreateInvitation(context.Background(), f.w.Clerk, f.c.ID, f.c.Parties[0].ID, "", time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(tok)
}

// roles are the callers the matrix walks.
var roles = []string{"anonymous", "admin", "ip_officer", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator", "party", "agent", "api_token"}

// matrixCall is one endpoint of the matrix: how to reach it with fresh fixtures, what to send, and which roles
// the authorisation rules allow. A denied call answers 401, 403 or 404; an allowed one anything else.
type matrixCall struct {
	route string
	path  func(f *fixture) string
	body  func(f *fixture, role string) any
	allow []string
	fresh bool // use a fresh login (the call ends it)
}

var (
	everyone  = roles
	loggedIn  = []string{"admin", "ip_officer", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator", "party", "agent", "api_token"}
	allStaff  = []string{"admin", "ip_officer", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator", "api_token"}
	loginOnly = []string{"admin", "ip_officer", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator"} // not with an API token
	viewers   = []string{"admin", "clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}
	staffView = []string{"admin", "clerk", "judge", "org_admin", "mediator", "api_token"}
	editors   = []string{"clerk", "org_admin", "mediator", "api_token"}
)

func fixed(p string) func(*fixture) string { return func(*fixture) string { return p } }

func matrix() []matrixCall {
	caseP := func(suffix string) func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + suffix }
	}
	sessP := func(suffix string) func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/sessions/" + f.session.ID + suffix }
	}
	docP := func(suffix string) func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/documents/" + f.doc.ID + suffix }
	}
	docPublic := func() func(*fixture) string {
		return func(f *fixture) string { return "/api/v1/verify/" + f.doc.ID }
	}
	newCase := func(f *fixture, role string) any {
		n := casestest.NewCase(cases.SourceDelegated)
		switch role {
		case "admin":
			n.CourtID = f.w.Court.ID
		case "org_admin":
			n.Source, n.OrganisationID = cases.SourceDirect, f.w.Org.ID
		}
		return n
	}
	return []matrixCall{
		{route: "GET /healthz", path: fixed("/healthz"), allow: everyone},
		{route: "GET /readyz", path: fixed("/readyz"), allow: everyone},
		{route: "GET /api/v1/workflow", path: fixed("/api/v1/workflow"), allow: everyone},
		{route: "GET /api/v1/openapi.json", path: fixed("/api/v1/openapi.json"), allow: everyone},
		{route: "POST /api/v1/auth/login", path: fixed("/api/v1/auth/login"), body: func(f *fixture, _ string) any {
			acc, _ := f.store.Account(context.Background(), f.w.Judge.ID)
			return loginRequest{acc.Username, f.w.Password}
		}, allow: everyone, fresh: true},
		{route: "POST /api/v1/auth/logout", path: fixed("/api/v1/auth/logout"), allow: loggedIn, fresh: true},
		{route: "GET /api/v1/auth/me", path: fixed("/api/v1/auth/me"), allow: loggedIn},
		{route: "POST /api/v1/auth/password", path: fixed("/api/v1/auth/password"), body: func(*fixture, string) any {
			no := false
			return passwordRequest{"not the password", "a new password 123", &no}
		}, allow: loginOnly},
		{route: "GET /api/v1/auth/tokens", path: fixed("/api/v1/auth/tokens"), allow: allStaff},
		{route: "POST /api/v1/auth/tokens", path: fixed("/api/v1/auth/tokens"), body: func(*fixture, string) any { return tokenRequest{Name: "integration"} }, allow: loginOnly},
		{route: "GET /api/v1/auth/lockouts", path: fixed("/api/v1/auth/lockouts"), allow: []string{"admin", "org_admin"}},
		{route: "POST /api/v1/auth/lockouts/{id}/clear", path: func(f *fixture) string {
			var id int64
			if err := f.store.Pool().QueryRow(context.Background(), `INSERT INTO login_lockouts (username, address, scope, failures, at, until)
				VALUES ('someone', '203.0.113.9', 'account_address', 10, now(), now() + interval '15 minutes') RETURNING id`).Scan(&id); err != nil {
				f.t.Fatal(err)
			}
			return fmt.Sprintf("/api/v1/auth/lockouts/%d/clear", id)
		}, allow: []string{"admin"}},
		{route: "DELETE /api/v1/auth/tokens/{id}", path: func(f *fixture) string {
			t, _, _ := f.store.CreateAPIToken(context.Background(), f.w.Clerk.ID, "to revoke", 0)
			return "/api/v1/auth/tokens/" + t.ID
		}, allow: []string{"clerk", "api_token"}},
		{route: "GET /api/v1/court/deadlines", path: fixed("/api/v1/court/deadlines"), allow: []string{"clerk", "judge", "other_clerk", "api_token"}},
		{route: "GET /api/v1/holidays", path: fixed("/api/v1/holidays"), allow: allStaff},
		{route: "PUT /api/v1/holidays/{day}", path: func(f *fixture) string {
			return fmt.Sprintf("/api/v1/holidays/2031-%02d-%02d", 1+f.uniq()%12, 1+f.uniq()%28)
		},
			body: func(*fixture, string) any { return holidayRequest{Kind: "holiday", Name: "测试"} }, allow: []string{"admin"}},
		{route: "DELETE /api/v1/holidays/{day}", path: func(f *fixture) string {
			day := fmt.Sprintf("2032-%02d-%02d", 1+f.uniq()%12, 1+f.uniq()%28)
			if _, err := f.store.Pool().Exec(context.Background(), `INSERT INTO holidays (day, kind) VALUES ($1, 'holiday') ON CONFLICT DO NOTHING`, day); err != nil {
				f.t.Fatal(err)
			}
			return "/api/v1/holidays/" + day
		}, allow: []string{"admin"}},
		{route: "GET /api/v1/consent-links/{token}", path: func(f *fixture) string { return "/api/v1/consent-links/" + f.newConsentLink() }, allow: everyone},
		{route: "POST /api/v1/consent-links/{token}", path: func(f *fixture) string { return "/api/v1/consent-links/" + f.newConsentLink() }, allow: everyone},
		{route: "GET /api/v1/invitations/{token}", path: func(f *fixture) string { return "/api/v1/invitations/" + f.newInvitation() }, allow: everyone},
		{route: "POST /api/v1/invitations/{token}/code", path: func(f *fixture) string { return "/api/v1/invitations/" + f.newInvitation() + "/code" }, allow: everyone},
		{route: "POST /api/v1/invitations/{token}/verify", path: func(f *fixture) string { return "/api/v1/invitations/" + f.newInvitation() + "/verify" },
			body: func(*fixture, string) any { return verifyRequest{"123456"} }, allow: everyone},
		{route: "GET /api/v1/organisations", path: fixed("/api/v1/organisations"), allow: allStaff},
		{route: "POST /api/v1/organisations", path: fixed("/api/v1/organisations"), body: func(f *fixture, role string) any {
			return cases.NewOrganisation{Kind: cases.OrgCourt, Name: fmt.Sprintf("测试法院%d", f.uniq()), Region: "北京市"}
		}, allow: []string{"admin"}},
		{route: "GET /api/v1/organisations/{id}", path: func(f *fixture) string { return "/api/v1/organisations/" + f.w.Court.ID }, allow: allStaff},
		{route: "GET /api/v1/directory/organisations", path: fixed("/api/v1/directory/organisations"), allow: everyone},
		{route: "GET /api/v1/accounts", path: fixed("/api/v1/accounts"), allow: []string{"admin", "org_admin"}},
		{route: "POST /api/v1/accounts", path: fixed("/api/v1/accounts"), body: func(f *fixture, role string) any {
			return cases.NewAccount{OrgID: f.w.Org.ID, Role: cases.RoleMediator, Username: fmt.Sprintf("new%d", f.uniq()), DisplayName: "新人", Password: "a long password"}
		}, allow: []string{"admin", "org_admin"}},
		{route: "POST /api/v1/accounts/{id}/disable", path: func(f *fixture) string { return "/api/v1/accounts/" + f.newMediator() + "/disable" }, allow: []string{"admin", "org_admin"}},
		{route: "POST /api/v1/accounts/{id}/enable", path: func(f *fixture) string { return "/api/v1/accounts/" + f.newMediator() + "/enable" }, allow: []string{"admin", "org_admin"}},
		{route: "GET /api/v1/mediators", path: fixed("/api/v1/mediators?specialty=patent"), allow: loggedIn},
		{route: "GET /api/v1/mediators/{id}", path: func(f *fixture) string { return "/api/v1/mediators/" + f.w.Mediator.ID }, allow: loggedIn},
		{route: "PUT /api/v1/mediators/{id}/profile", path: func(f *fixture) string { return "/api/v1/mediators/" + f.w.Mediator.ID + "/profile" },
			body: func(*fixture, string) any {
				return cases.ProfileUpdate{Specialties: []string{"patent"}, Background: "专利代理师", Free: true}
			}, allow: []string{"admin", "org_admin", "mediator"}},
		{route: "GET /api/v1/roster", path: fixed("/api/v1/roster"), allow: allStaff},
		{route: "POST /api/v1/roster", path: fixed("/api/v1/roster"), body: func(f *fixture, role string) any {
			return cases.Recommendation{CourtID: f.w.Court.ID, MediatorID: f.newMediator()}
		}, allow: []string{"admin", "ip_officer"}},
		{route: "POST /api/v1/roster/{id}/confirm", path: func(f *fixture) string { return "/api/v1/roster/" + f.newRecommendation() + "/confirm" }, allow: []string{"clerk", "api_token"}},
		{route: "POST /api/v1/roster/{id}/remove", path: func(f *fixture) string { return "/api/v1/roster/" + f.newRecommendation() + "/remove" }, allow: []string{"clerk", "api_token"}},
		{route: "GET /api/v1/cases", path: fixed("/api/v1/cases"), allow: []string{"admin", "clerk", "judge", "other_clerk", "org_admin", "mediator", "other_mediator", "party", "agent", "api_token"}},
		{route: "POST /api/v1/cases", path: fixed("/api/v1/cases"), body: newCase, allow: []string{"admin", "clerk", "other_clerk", "org_admin", "api_token"}},
		{route: "POST /api/v1/applications", path: fixed("/api/v1/applications"), body: func(f *fixture, role string) any {
			n := casestest.NewCase(cases.SourceDirect)
			return applicationRequest{OrganisationID: f.w.Org.ID, Title: n.Title, DisputeType: n.DisputeType, Summary: n.Summary, Applicant: n.Parties[0], Respondents: n.Parties[1:], ConsentOnline: true}
		}, allow: everyone},
		{route: "GET /api/v1/cases/{id}", path: caseP(""), allow: viewers},
		{route: "PATCH /api/v1/cases/{id}", path: caseP(""), body: func(*fixture, string) any { s := "更新后的案情摘要"; return cases.CasePatch{Summary: &s} }, allow: editors},
		{route: "POST /api/v1/cases/{id}/parties", path: caseP("/parties"), body: func(*fixture, string) any {
			return cases.NewParty{Side: cases.Respondent, Kind: cases.PartyPerson, Name: "第三人", Phone: "13700000000"}
		}, allow: editors},
		{route: "PATCH /api/v1/cases/{id}/parties/{party}", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/parties/" + f.c.Parties[1].ID },
			body: func(*fixture, string) any {
				addr := "北京市朝阳区某路 1 号"
				return cases.PartyPatch{Address: &addr}
			}, allow: editors},
		// Contact corrections, invitation links and identity checks (issue 8 §1; trust_identity_test.go).
		{route: "POST /api/v1/cases/{id}/parties/{party}/contact-corrections", path: func(f *fixture) string {
			c := f.freshCase()
			return "/api/v1/cases/" + c.ID + "/parties/" + c.Parties[0].ID + "/contact-corrections"
		},
			body: func(*fixture, string) any {
				ph := "13500000001"
				return cases.ContactChange{Phone: &ph, Reason: "当事人换号"}
			}, allow: []string{"clerk", "api_token"}},
		{route: "POST /api/v1/cases/{id}/contact-changes", path: caseP("/contact-changes"), body: func(*fixture, string) any { ph := "13500000002"; return cases.ContactChange{Phone: &ph} }, allow: []string{"party"}},
		{route: "GET /api/v1/cases/{id}/contact-corrections", path: caseP("/contact-corrections"), allow: viewers},
		{route: "POST /api/v1/cases/{id}/contact-corrections/{correction}/confirm", path: func(f *fixture) string { return f.newCorrection() + "/confirm" },
			body: func(*fixture, string) any { return codeRequest{"123456"} }, allow: []string{"clerk", "judge", "api_token"}},
		{route: "POST /api/v1/cases/{id}/contact-corrections/{correction}/approve", path: func(f *fixture) string { return f.newCorrection() + "/approve" }, allow: []string{"judge"}},
		{route: "POST /api/v1/cases/{id}/contact-corrections/{correction}/reject", path: func(f *fixture) string { return f.newCorrection() + "/reject" }, allow: []string{"clerk", "judge", "api_token"}},
		{route: "GET /api/v1/cases/{id}/invitations", path: caseP("/invitations"), allow: []string{"clerk", "judge", "org_admin", "mediator", "api_token"}},
		{route: "DELETE /api/v1/cases/{id}/invitations/{invitation}", path: func(f *fixture) string { return caseP("/invitations/" + f.newInvitationID())(f) }, allow: editors},
		{route: "POST /api/v1/cases/{id}/identity-checks", path: caseP("/identity-checks"), body: func(f *fixture, _ string) any {
			return cases.NewIdentityCheck{ParticipantID: f.c.Parties[0].ID, Method: "court_verified", Result: "passed"}
		}, allow: editors},
		// The case's message threads (issue 12 §4; cases/threads_test.go walks every role × thread).
		{route: "GET /api/v1/cases/{id}/threads", path: caseP("/threads"), allow: viewers},
		{route: "GET /api/v1/cases/{id}/threads/{thread}/messages", path: caseP("/threads/joint/messages"), allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}},
		{route: "POST /api/v1/cases/{id}/threads/{thread}/messages", path: caseP("/threads/joint/messages"), body: func(*fixture, string) any { return threadMessageRequest{Body: "请双方补充证据。"} },
			allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}},
		{route: "POST /api/v1/cases/{id}/threads/{thread}/attachments", path: caseP("/threads/joint/attachments?filename=a.pdf"), body: func(*fixture, string) any { return rawRequest{"application/pdf", testPDF(10)} },
			allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}},
		// No verification service is configured here: the route answers 404 to parties and 403 to staff.
		{route: "POST /api/v1/identity/verify", path: fixed("/api/v1/identity/verify"), body: func(*fixture, string) any { return verifyIdentityRequest{} }, allow: []string{}},
		{route: "POST /api/v1/cases/{id}/parties/{party}/agents", path: func(f *fixture) string {
			return "/api/v1/cases/" + f.c.ID + "/parties/" + f.c.Parties[0].ID + "/agents"
		},
			body:  func(*fixture, string) any { return cases.NewAgent{Name: "代理人", Phone: "13600000000"} },
			allow: []string{"clerk", "party", "api_token"}},
		{route: "POST /api/v1/cases/{id}/actions/{action}", path: caseP("/actions/consent_online"), body: func(f *fixture, role string) any {
			yes := true
			if role == "party" || role == "agent" {
				return cases.Params{Consent: &yes}
			}
			return cases.Params{Consent: &yes, PartyID: f.c.Parties[0].ID, Note: "电话确认"}
		}, allow: []string{"clerk", "mediator", "party", "agent", "api_token"}},
		{route: "GET /api/v1/cases/{id}/events", path: caseP("/events"), allow: viewers},
		{route: "GET /api/v1/cases/{id}/audit", path: caseP("/audit"), allow: staffView},
		{route: "GET /api/v1/cases/{id}/checklist", path: caseP("/checklist"), allow: editors},
		{route: "POST /api/v1/cases/{id}/invitations", path: caseP("/invitations"), body: func(f *fixture, role string) any {
			return invitationRequest{PartyID: f.c.Parties[1].ID, Send: true}
		}, allow: editors},
		{route: "GET /api/v1/cases/{id}/sessions", path: caseP("/sessions"), allow: viewers},
		{route: "POST /api/v1/cases/{id}/sessions", path: caseP("/sessions"), body: func(*fixture, string) any { return cases.NewSession{Title: "第二次调解"} }, allow: []string{"mediator"}},
		{route: "GET /api/v1/sessions/live", path: fixed("/api/v1/sessions/live"), allow: allStaff},
		{route: "GET /api/v1/sessions/{id}", path: sessP(""), allow: viewers},
		{route: "POST /api/v1/sessions/{id}/start", path: func(f *fixture) string { return "/api/v1/sessions/" + f.newSession(false) + "/start" }, allow: []string{"mediator"}},
		{route: "POST /api/v1/sessions/{id}/end", path: func(f *fixture) string { return "/api/v1/sessions/" + f.newSession(true) + "/end" }, allow: []string{"mediator"}},
		{route: "GET /api/v1/sessions/{id}/record", path: sessP("/record"), allow: staffView},
		{route: "GET /api/v1/sessions/{id}/recordings", path: sessP("/recordings"), allow: viewers},
		{route: "PUT /api/v1/sessions/{id}/recording", path: func(f *fixture) string { return "/api/v1/sessions/" + f.newSession(false) + "/recording" },
			body: func(*fixture, string) any { return cases.SessionRecordingChoice{Record: true} }, allow: []string{"mediator"}},
		{route: "GET /api/v1/organisations/{id}/recording-settings", path: func(f *fixture) string { return "/api/v1/organisations/" + f.w.Org.ID + "/recording-settings" }, allow: allStaff},
		{route: "PUT /api/v1/organisations/{id}/recording-settings", path: func(f *fixture) string { return "/api/v1/organisations/" + f.w.Org.ID + "/recording-settings" },
			body: func(*fixture, string) any { return cases.RecordingSettings{} }, allow: []string{"admin", "org_admin"}},
		{route: "GET /api/v1/recordings/{id}/media", path: func(f *fixture) string { return "/api/v1/recordings/" + f.newRecording() + "/media" }, allow: []string{"judge", "mediator"}},
		{route: "POST /api/v1/sessions/{id}/messages/{message}/share", path: func(f *fixture) string {
			ref, msg := f.newCaucusMessage()
			_ = ref
			return fmt.Sprintf("/api/v1/sessions/%s/messages/%d/share", f.session.ID, msg)
		}, allow: []string{"party"}},
		{route: "PUT /api/v1/sessions/{id}/caucuses/{caucus}/notes", path: func(f *fixture) string {
			ref, _ := f.newCaucusMessage()
			return fmt.Sprintf("/api/v1/sessions/%s/caucuses/%d/notes", f.session.ID, ref)
		}, body: func(*fixture, string) any { return caucusNotesRequest{Body: "申请人可接受分期付款"} }, allow: []string{"mediator"}},
		{route: "PUT /api/v1/sessions/{id}/record", path: func(f *fixture) string { return "/api/v1/sessions/" + f.newSession(true) + "/record" },
			body: func(*fixture, string) any { return cases.SessionRecord{Facts: "双方陈述了各自意见"} }, allow: []string{"mediator"}},
		{route: "GET /api/v1/stats", path: fixed("/api/v1/stats"), allow: allStaff},
		{route: "POST /api/v1/sessions/{id}/join", path: sessP("/join"), allow: []string{"clerk", "judge", "mediator", "party", "agent", "api_token"}},
		{route: "GET /api/v1/rtc/stats", path: fixed("/api/v1/rtc/stats"), allow: []string{"admin"}},
		{route: "POST /api/v1/cases/{id}/agreement", path: caseP("/agreement"), body: func(*fixture, string) any {
			return agreementRequest{Terms: []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人经济损失人民币十万元。"}}}
		}, allow: []string{"mediator"}},
		{route: "POST /api/v1/cases/{id}/offline-agreement", path: caseP("/offline-agreement"), body: func(f *fixture, _ string) any {
			return offlineRequest{PDF: base64.StdEncoding.EncodeToString(f.download(f.login(f.w.Mediator), f.doc.ID)), Terms: []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人经济损失人民币十万元。"}}}
		}, allow: []string{"mediator"}},
		{route: "POST /api/v1/sessions/{id}/record-document", path: sessP("/record-document"), body: func(*fixture, string) any { return recordDocRequest{} }, allow: []string{"mediator"}},
		{route: "GET /api/v1/cases/{id}/documents", path: caseP("/documents"), allow: viewers},
		{route: "GET /api/v1/documents/{id}", path: docP(""), allow: viewers},
		{route: "GET /api/v1/documents/{id}/pdf", path: docP("/pdf"), allow: viewers},
		{route: "GET /api/v1/documents/{id}/pages/{page}", path: docP("/pages/1?width=300"), allow: viewers},
		{route: "POST /api/v1/documents/{id}/prepare", path: docP("/prepare"), body: func(*fixture, string) any {
			return prepareRequest{Field: "sig-applicant-1", PublicKey: "AAAA", Proof: "AAAA", Image: "AAAA"}
		}, allow: []string{"party"}},
		{route: "POST /api/v1/documents/{id}/finish", path: docP("/finish"), body: func(*fixture, string) any {
			return finishRequest{Field: "sig-applicant-1", Signature: "AAAA"}
		}, allow: []string{"party"}},
		{route: "POST /api/v1/documents/{id}/seal", path: docP("/seal"), allow: []string{"org_admin", "mediator"}},
		{route: "POST /api/v1/verify", path: fixed("/api/v1/verify"), body: func(f *fixture, _ string) any {
			pdf, _, _ := f.store.DocumentPDF(context.Background(), f.doc.ID, 0)
			return rawRequest{"application/pdf", pdf}
		}, allow: everyone},
		{route: "GET /api/v1/verify/{id}", path: docPublic(), allow: everyone},
		{route: "GET /api/v1/ca/root.pem", path: fixed("/api/v1/ca/root.pem"), allow: everyone},
		{route: "GET /api/v1/ca/crl", path: fixed("/api/v1/ca/crl"), allow: everyone},
		{route: "GET /api/v1/ca/root.cer", path: fixed("/api/v1/ca/root.cer"), allow: everyone},
		{route: "POST /api/v1/ca/ocsp", path: fixed("/api/v1/ca/ocsp"), body: func(*fixture, string) any { return rawRequest{"application/ocsp-request", []byte("not a request")} }, allow: everyone},
		{route: "GET /api/v1/ca/ocsp/{request}", path: fixed("/api/v1/ca/ocsp/MAo="), allow: everyone},
		{route: "POST /api/v1/tsa", path: fixed("/api/v1/tsa"), body: func(*fixture, string) any { return rawRequest{"application/timestamp-query", []byte("not a query")} }, allow: everyone},
	}
}

func (f *fixture) clientFor(role string) *client {
	w := f.w
	switch role {
	case "anonymous":
		return f.anonymous()
	case "admin":
		return f.login(w.Admin)
	case "ip_officer":
		return f.login(w.Officer)
	case "clerk":
		return f.login(w.Clerk)
	case "judge":
		return f.login(w.Judge)
	case "other_clerk":
		return f.login(w.OtherClerk)
	case "org_admin":
		return f.login(w.OrgAdmin)
	case "mediator":
		return f.login(w.Mediator)
	case "other_mediator":
		return f.login(w.OtherMediator)
	case "party":
		return f.enter(f.c.ID, f.c.Parties[0].ID, "")
	case "agent":
		return f.enter(f.c.ID, f.c.Parties[1].ID, f.c.Parties[1].Agents[0].ID)
	case "api_token":
		return f.token(w.Clerk)
	}
	f.t.Fatalf("unknown role %s", role)
	return nil
}

// TestAuthorisationMatrix walks every endpoint × every role and asserts allow or deny; every answer that was
// allowed is also checked against the endpoint's schema in the OpenAPI document.
func TestAuthorisationMatrix(t *testing.T) {
	f := newFixture(t)
	calls := matrix()
	calls = append(calls, materialMatrix()...)
	calls = append(calls, webhookMatrix()...)
	calls = append(calls, serviceMatrix()...)
	calls = append(calls, courtDocMatrix()...)
	calls = append(calls, evaluationMatrix()...)
	// Every route is in the matrix, and the matrix names no route that does not exist.
	listed := map[string]bool{}
	for _, mc := range calls {
		listed[mc.route] = true
	}
	routes := map[string]route{}
	for _, rt := range f.app.routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = rt
		if !listed[key] {
			t.Errorf("route %s is missing from the authorisation matrix", key)
		}
	}
	for key := range listed {
		if _, ok := routes[key]; !ok {
			t.Errorf("the matrix lists %s, which is not a route", key)
		}
	}
	doc := openAPI(f.app.routes(), f.app.cfg.BaseURL)
	clients := map[string]*client{}
	for _, role := range roles {
		clients[role] = f.clientFor(role)
	}
	for _, mc := range calls {
		method, _, _ := strings.Cut(mc.route, " ")
		for _, role := range roles {
			c := clients[role]
			if mc.fresh {
				c = f.clientFor(role)
			}
			path := mc.path(f)
			var body any
			if mc.body != nil {
				body = mc.body(f, role)
			}
			st, raw := c.raw(method, path, body)
			denied := st == 401 || st == 403 || st == 404
			want := slices.Contains(mc.allow, role)
			if denied == want {
				verdict := "denied"
				if !denied {
					verdict = "allowed"
				}
				t.Errorf("%s as %s: %s with %d %s, want the opposite", mc.route, role, verdict, st, truncate(raw))
				continue
			}
			if st >= 500 {
				t.Errorf("%s as %s: status %d %s", mc.route, role, st, truncate(raw))
			}
			if _, isRaw := routes[mc.route].Resp.(rawBody); st < 300 && len(raw) > 0 && routes[mc.route].Resp != nil && !isRaw {
				if err := validateJSON(doc, responseSchema(doc, routes[mc.route]), raw); err != nil {
					t.Errorf("%s as %s: the answer does not match the OpenAPI document: %v", mc.route, role, err)
				}
			}
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func responseSchema(doc map[string]any, rt route) map[string]any {
	op := doc["paths"].(map[string]any)[rt.Path].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
	resp := op["responses"].(map[string]any)[itoa3(rt.Status)].(map[string]any)
	return resp["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
}

// validateJSON checks a JSON document against the subset of JSON Schema the generator emits.
func validateJSON(doc map[string]any, schema map[string]any, raw []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return validate(doc, schema, v, "$")
}

func validate(doc map[string]any, s map[string]any, v any, at string) error {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s = doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
	if v == nil {
		if s["nullable"] == true || s["type"] == nil {
			return nil
		}
		return fmt.Errorf("%s is null", at)
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", at)
		}
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]string); ok {
			for _, r := range req {
				if _, ok := m[r]; !ok {
					return fmt.Errorf("%s lacks required %q", at, r)
				}
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if props != nil {
				if ps, ok := props[k]; ok {
					if err := validate(doc, ps.(map[string]any), m[k], at+"."+k); err != nil {
						return err
					}
					continue
				}
			}
			if ap, ok := s["additionalProperties"]; ok {
				if ap == false {
					return fmt.Errorf("%s has %q, which the document does not list", at, k)
				}
				if aps, ok := ap.(map[string]any); ok {
					if err := validate(doc, aps, m[k], at+"."+k); err != nil {
						return err
					}
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s is not an array", at)
		}
		for i, e := range a {
			if err := validate(doc, s["items"].(map[string]any), e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s is not a string", at)
		}
		if enum, ok := s["enum"].([]string); ok && !slices.Contains(enum, str) {
			return fmt.Errorf("%s = %q is not one of %v", at, str, enum)
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return fmt.Errorf("%s is not an integer", at)
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("%s is not a number", at)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s is not a boolean", at)
		}
	}
	return nil
}
