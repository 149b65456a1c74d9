package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
)

// TestMain lets the test binary act as a Parley node: the cluster tests start it again as separate processes
// (PARLEY_TEST_NODE=1), so that a node can be killed for real.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_TEST_NODE") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// privateRedis starts a redis-server of the test's own on a free loopback port (never the machine's).
type privateRedis struct {
	port int
	cmd  *exec.Cmd
}

func startRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	r := &privateRedis{port: freePort(t)}
	r.start(t, bin)
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) start(t testing.TB, bin string) {
	t.Helper()
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(r.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *privateRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// node is one Parley process.
type node struct {
	name string
	base string // http://127.0.0.1:port
	ws   string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// startNode runs the test binary as a Parley node on its own HTTP port and ephemeral media ports (loopback
// only), against the shared database and Redis.
func startNode(t testing.TB, name string, env map[string]string) *node {
	return startNodeVia(t, name, env, false)
}

// startNodeVia is startNode; with proxied the node's signalling URL goes through a TCP proxy of the test (as
// behind a load balancer: a connection to it succeeds even when the node is dead).
func startNodeVia(t testing.TB, name string, env map[string]string, proxied bool) *node {
	t.Helper()
	port := freePort(t)
	n := &node{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: &syncBuffer{}, done: make(chan error, 1)}
	n.ws = "ws://127.0.0.1:" + strconv.Itoa(port) + "/rtc"
	if proxied {
		p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", port))
		n.ws = "ws://" + p.addr + "/rtc"
	}
	n.cmd = exec.Command(os.Args[0], "serve", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	vars := map[string]string{
		"PARLEY_TEST_NODE": "1", "PARLEY_NODE_ID": name, "PARLEY_BASE_URL": n.base, "PARLEY_NODE_URL": n.ws,
		"PARLEY_MEDIA_UDP_PORT": "0", "PARLEY_MEDIA_TCP_PORT": "-1", "PARLEY_ICE_FILTER": "127.0.0.0/8",
		"PARLEY_LOG_LEVEL": "info", "PARLEY_SHUTDOWN_TIMEOUT": "5s",
	}
	for k, v := range env {
		vars[k] = v
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			n.cmd.Env = append(n.cmd.Env, kv)
		}
	}
	for k, v := range vars {
		n.cmd.Env = append(n.cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	n.cmd.Stdout = io.MultiWriter(pw, n.out)
	n.cmd.Stderr = n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait(); pw.Close() }()
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(up) })
			}
		}
	}()
	select {
	case <-up:
	case err := <-n.done:
		t.Fatalf("node %s stopped: %v\n%s", name, err, n.out)
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not start\n%s", name, n.out)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, tail(n.out.String(), 60))
		}
	})
	return n
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// kill ends the node with SIGKILL (no drain, no goodbye), as a crashed machine would.
func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// health reads /readyz.
func (n *node) health(t testing.TB) health {
	t.Helper()
	resp, err := http.Get(n.base + "/readyz")
	if err != nil {
		return health{}
	}
	defer resp.Body.Close()
	var h health
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// person is someone with a web session, who can ask any node for a join token.
type person struct {
	name   string
	cookie string
	csrf   string
}

func (p person) join(ctx context.Context, n *node, sessionID string) (joinResponse, int, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", n.base+"/api/v1/sessions/"+sessionID+"/join", nil)
	req.Header.Set("Cookie", sessionCookie+"="+p.cookie)
	req.Header.Set("X-CSRF-Token", p.csrf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return joinResponse{}, 0, err
	}
	defer resp.Body.Close()
	var j joinResponse
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		err = json.Unmarshal(b, &j)
	} else {
		err = fmt.Errorf("join: %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return j, resp.StatusCode, err
}

// clusterWorld is a case in mediation with a live session, on a schema every node uses.
type clusterWorld struct {
	dsn     string
	store   *cases.Store
	w       *casestest.World
	c       *cases.Case
	session *cases.Session
}

func newClusterWorld(t testing.TB) *clusterWorld {
	t.Helper()
	dsn := casestest.Schema(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := cases.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store := cases.NewStore(pool, cases.DefaultCalendar(), nil)
	w := casestest.Populate(t, store)
	c := casestest.InMediation(t, store, w)
	ss, err := store.CreateSession(context.Background(), w.Mediator, c.ID, cases.NewSession{Title: "调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	return &clusterWorld{dsn: dsn, store: store, w: w, c: c, session: ss}
}

func (cw *clusterWorld) person(t testing.TB, kind cases.PrincipalKind, id, caseID, name string) person {
	t.Helper()
	ws, err := cw.store.CreateWebSession(context.Background(), kind, id, caseID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return person{name: name, cookie: string(ws.Token), csrf: ws.CSRF}
}

// seat is one participant's Pion client and how it gets back in after losing its node.
type seat struct {
	p      person
	cl     *rtcclient.Client
	id     string
	scope  string
	joined *signaling.JoinedData
}

// rejoin reconnects a client whose connection ended: a reconnect message's URL if it got one, else the URL the
// join API of any live node returns; it resumes the seat with the resume token.
func (s *seat) rejoin(ctx context.Context, nodes []*node, sessionID string) error {
	url := ""
	msgs := s.cl.Messages()
	for i := len(msgs) - 1; i >= 0 && i >= len(msgs)-5; i-- {
		if msgs[i].Type == signaling.TypeReconnect {
			var d signaling.ReconnectData
			_ = json.Unmarshal(msgs[i].Data, &d)
			url = d.URL
			break
		}
	}
	var last error
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if url == "" || attempt > 0 {
			n := nodes[attempt%len(nodes)]
			j, _, err := s.p.join(ctx, n, sessionID)
			if err != nil {
				last = err
				time.Sleep(200 * time.Millisecond)
				continue
			}
			url = j.URL
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		j, err := s.cl.ResumeAt(actx, url)
		cancel()
		if err == nil {
			s.joined = j
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s could not get back in: %v", s.p.name, last)
}

// receivedSince reports whether s got video and audio packets from each publisher in from beyond base (with
// needKey, video only counts once a new keyframe arrived: a fresh subscription's decodable start).
func (s *seat) receivedSince(base map[string]rtcclient.RemoteStats, from []string, needKey bool) bool {
	st := s.cl.Stats()
	for _, pid := range from {
		var video, audio bool
		for id, r := range st {
			if r.Participant != pid && !strings.HasPrefix(id, pid+"/") {
				continue
			}
			if r.Packets > base[id].Packets+5 {
				if r.Kind == "video" {
					video = !needKey || r.Keyframes > base[id].Keyframes
				} else {
					audio = true
				}
			}
		}
		if !video || !audio {
			return false
		}
	}
	return true
}

// receivedNothingSince reports whether s got no packet from anyone in from beyond base.
func (s *seat) receivedNothingSince(base map[string]rtcclient.RemoteStats, from []string) bool {
	for id, r := range s.cl.Stats() {
		for _, pid := range from {
			if (r.Participant == pid || strings.HasPrefix(id, pid+"/")) && r.Packets > base[id].Packets {
				return false
			}
		}
	}
	return true
}

// clusterSession is the scene of the cluster tests: two or three nodes on one database and one private Redis;
// the mediator and the judge enter through node A, the two parties through node B; the mediator admits the
// parties with an identity check; all publish; a caucus holds the mediator and the applicant, while the
// respondent and the judge stay in the joint room.
type clusterSession struct {
	t      testing.TB
	cw     *clusterWorld
	redis  *privateRedis
	nodes  []*node
	seats  []*seat // mediator, applicant, respondent, judge
	caucus string
}

func newClusterSession(t testing.TB, ctx context.Context, nNodes int, env map[string]string) *clusterSession {
	return newClusterSessionVia(t, ctx, nNodes, env, false)
}

func newClusterSessionVia(t testing.TB, ctx context.Context, nNodes int, env map[string]string, proxied bool) *clusterSession {
	t.Helper()
	cs := &clusterSession{t: t, cw: newClusterWorld(t), redis: startRedis(t)}
	nodeEnv := map[string]string{"PARLEY_DATABASE_URL": cs.cw.dsn, "PARLEY_REDIS_URL": cs.redis.url()}
	for k, v := range env {
		nodeEnv[k] = v
	}
	names := []string{"node-a", "node-b", "node-c"}
	for i := 0; i < nNodes; i++ {
		cs.nodes = append(cs.nodes, startNodeVia(t, names[i], nodeEnv, proxied))
	}
	waitUntilTB(t, 15*time.Second, "every node to be ready for rooms", func() bool {
		for _, n := range cs.nodes {
			if n.health(t).Placement != "ready" {
				return false
			}
		}
		return true
	})
	cw := cs.cw
	med := cw.person(t, cases.KindAccount, cw.w.Mediator.ID, "", "mediator")
	judge := cw.person(t, cases.KindAccount, cw.w.Judge.ID, "", "judge")
	app := cw.person(t, cases.KindParty, cw.c.Parties[0].ID, cw.c.ID, "applicant")
	resp := cw.person(t, cases.KindParty, cw.c.Parties[1].ID, cw.c.ID, "respondent")
	a, b := cs.nodes[0], cs.nodes[len(cs.nodes)-1]
	dial := func(p person, via *node) *seat {
		t.Helper()
		j, _, err := p.join(ctx, via, cw.session.ID)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		cl, err := rtcclient.Dial(ctx, rtcclient.Config{URL: j.URL, Token: j.Token, CaseID: j.CaseID, SessionID: j.SessionID, Loopback: true})
		if err != nil {
			t.Fatalf("%s dials %s: %v", p.name, j.URL, err)
		}
		t.Cleanup(cl.Close)
		return &seat{p: p, cl: cl, id: j.ParticipantID}
	}
	ms := dial(med, a)
	// The parties ask node B. B's answer names the hosting node; a party that goes to B's own WebSocket anyway
	// is told wrong_node with the host's URL, and the client follows it.
	jApp, _, err := app.join(ctx, b, cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if jApp.URL != ms.cl.URL() {
		t.Errorf("node B's join API sends the applicant to %s, want the host %s", jApp.URL, ms.cl.URL())
	}
	appCl, err := rtcclient.Dial(ctx, rtcclient.Config{URL: b.ws, Token: jApp.Token, CaseID: jApp.CaseID, SessionID: jApp.SessionID, Loopback: true})
	if err != nil {
		t.Fatalf("applicant at node B's WebSocket: %v", err)
	}
	t.Cleanup(appCl.Close)
	if b.ws != ms.cl.URL() && appCl.URL() != ms.cl.URL() {
		t.Errorf("applicant connected at %s, want it redirected to the host %s", appCl.URL(), ms.cl.URL())
	}
	as := &seat{p: app, cl: appCl, id: jApp.ParticipantID}
	rs := dial(resp, b)
	js := dial(judge, a)
	cs.seats = []*seat{ms, as, rs, js}
	for _, s := range []*seat{as, rs} {
		if s.cl.Joined() != nil {
			t.Fatalf("%s entered without the lobby", s.p.name)
		}
		admit(ctx, t, ms.cl, s.id)
		if _, err := s.cl.WaitJoined(ctx); err != nil {
			t.Fatalf("%s not admitted: %v", s.p.name, err)
		}
	}
	for _, s := range cs.seats {
		if err := s.cl.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s publish: %v", s.p.name, err)
		}
	}
	cs.expectMedia("before the caucus", cs.everyone(), 30*time.Second)
	env2, err := ms.cl.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{as.id}})
	if err != nil {
		t.Fatalf("caucus: %v", err)
	}
	var ref signaling.CaucusRef
	_ = json.Unmarshal(env2.Data, &ref)
	cs.caucus, ms.scope, as.scope = ref.CaucusID, ref.CaucusID, ref.CaucusID
	cs.expectMedia("in the caucus", cs.scopes(), 30*time.Second)
	return cs
}

func admit(ctx context.Context, t testing.TB, mod *rtcclient.Client, id string) {
	t.Helper()
	if _, err := mod.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: id,
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed, Note: "身份证与本人一致"}}); err != nil {
		t.Fatalf("admit %s: %v", id, err)
	}
}

// everyone: each seat should receive every other seat.
func (cs *clusterSession) everyone() map[*seat][]string {
	out := map[*seat][]string{}
	for _, s := range cs.seats {
		for _, o := range cs.seats {
			if o != s {
				out[s] = append(out[s], o.id)
			}
		}
	}
	return out
}

// scopes: each seat should receive exactly the seats in its own scope.
func (cs *clusterSession) scopes() map[*seat][]string {
	out := map[*seat][]string{}
	for _, s := range cs.seats {
		for _, o := range cs.seats {
			if o != s && o.scope == s.scope {
				out[s] = append(out[s], o.id)
			}
		}
	}
	return out
}

func (cs *clusterSession) others(s *seat, want []string) []string {
	var out []string
	for _, o := range cs.seats {
		if o != s && !slices.Contains(want, o.id) {
			out = append(out, o.id)
		}
	}
	return out
}

// expectMedia waits until every seat receives video and audio from the seats want names, and nothing from
// the others.
func (cs *clusterSession) expectMedia(what string, want map[*seat][]string, within time.Duration) {
	cs.t.Helper()
	time.Sleep(500 * time.Millisecond) // packets forwarded before a change are still on their way
	base := map[*seat]map[string]rtcclient.RemoteStats{}
	for _, s := range cs.seats {
		base[s] = s.cl.Stats()
	}
	waitUntilTB(cs.t, within, "media "+what, func() bool {
		for _, s := range cs.seats {
			if !s.receivedSince(base[s], want[s], false) {
				return false
			}
		}
		return true
	})
	for _, s := range cs.seats {
		if !s.receivedNothingSince(base[s], cs.others(s, want[s])) {
			cs.t.Errorf("%s: %s receives media from outside its scope", what, s.p.name)
		}
	}
}

// host returns the node hosting the session (from the mediator's connection).
func (cs *clusterSession) host() *node {
	u := cs.seats[0].cl.URL()
	for _, n := range cs.nodes {
		if n.ws == u {
			return n
		}
	}
	cs.t.Fatalf("no node serves %s", u)
	return nil
}

func (cs *clusterSession) live(except *node) []*node {
	var out []*node
	for _, n := range cs.nodes {
		if n != except && n.cmd.ProcessState == nil {
			out = append(out, n)
		}
	}
	return out
}

// recoverAll waits for every seat's connection to end, brings each back (in parallel, as phones would), and
// returns per seat the time from start until it receives media again from everyone in its scope.
func (cs *clusterSession) recoverAll(ctx context.Context, start time.Time, gone *node) map[*seat]time.Duration {
	cs.t.Helper()
	want := cs.scopes()
	base := map[*seat]map[string]rtcclient.RemoteStats{}
	for _, s := range cs.seats {
		base[s] = s.cl.Stats()
	}
	var mu sync.Mutex
	took := map[*seat]time.Duration{}
	var wg sync.WaitGroup
	errs := make(chan error, len(cs.seats))
	for _, s := range cs.seats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-s.cl.ConnDone():
			case <-ctx.Done():
				errs <- fmt.Errorf("%s never noticed", s.p.name)
				return
			}
			if err := s.rejoin(ctx, cs.live(gone), cs.cw.session.ID); err != nil {
				errs <- err
				return
			}
			deadline := time.Now().Add(30 * time.Second)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if s.receivedSince(base[s], want[s], true) {
					mu.Lock()
					took[s] = time.Since(start)
					mu.Unlock()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			errs <- fmt.Errorf("%s: no media again from %v", s.p.name, want[s])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		cs.t.Error(err)
	}
	return took
}

// checkSeats verifies that everyone came back in their seat: resumed (not through the lobby), with the scope
// they had, and nobody saw anyone leave.
func (cs *clusterSession) checkSeats(what string, marks map[*seat]int) {
	cs.t.Helper()
	for _, s := range cs.seats {
		if s.joined == nil || !s.joined.Resumed {
			cs.t.Errorf("%s: %s did not resume its seat: %+v", what, s.p.name, s.joined)
			continue
		}
		if s.joined.Scope != s.scope {
			cs.t.Errorf("%s: %s is in scope %q, want %q", what, s.p.name, s.joined.Scope, s.scope)
		}
		if len(s.joined.Participants) != len(cs.seats) {
			cs.t.Errorf("%s: %s sees %d participants, want %d", what, s.p.name, len(s.joined.Participants), len(cs.seats))
		}
		for _, m := range s.cl.Messages()[marks[s]:] {
			switch m.Type {
			case signaling.TypeWaiting, signaling.TypeParticipantLeft, signaling.TypeParticipantJoined:
				cs.t.Errorf("%s: %s got %s %s", what, s.p.name, m.Type, m.Data)
			}
		}
	}
	if caucuses := cs.seats[0].joined.Caucuses; len(caucuses) != 1 || caucuses[0].CaucusID != cs.caucus {
		cs.t.Errorf("%s: caucuses after the move: %+v, want %s", what, caucuses, cs.caucus)
	}
}

func (cs *clusterSession) marks() map[*seat]int {
	m := map[*seat]int{}
	for _, s := range cs.seats {
		m[s] = s.cl.Mark()
	}
	return m
}

func clusterTest(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (slow)")
	}
}

// TestClusterMeetAndSurviveNodeKill: a mediator via node A and two parties via node B meet in one room and
// receive each other's media; the hosting node is killed with SIGKILL; every client comes back on the
// surviving node through the join API, with its admission and caucus scope intact, nobody seeing a leave, and
// media flowing again within the goal (10 s).
func TestClusterMeetAndSurviveNodeKill(t *testing.T) {
	clusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	// A 3 s lease (default 6 s) keeps the test short; BenchmarkFailover measures the default.
	cs := newClusterSession(t, ctx, 2, map[string]string{"PARLEY_LEASE_TTL": "3s"})
	host := cs.host()
	marks := cs.marks()
	start := time.Now()
	host.kill()
	took := cs.recoverAll(ctx, start, host)
	worst := time.Duration(0)
	for s, d := range took {
		t.Logf("kill → media back: %-10s %s", s.p.name, d.Round(time.Millisecond))
		worst = max(worst, d)
	}
	// The goal is 10 s. Under the race detector on a shared machine everything is several times slower, so the
	// test then fails only beyond twice the goal (and says how it compares); BenchmarkFailover gives the figures.
	limit := 10 * time.Second
	if raceEnabled {
		limit = 20 * time.Second
	}
	if len(took) == len(cs.seats) && worst > limit {
		t.Errorf("kill → media back took %s for the slowest participant, goal 10 s", worst)
	} else if worst > 10*time.Second {
		t.Logf("slowest participant %s: above the 10 s goal (race detector: %v)", worst, raceEnabled)
	}
	cs.checkSeats("after the kill", marks)
	// The room still works and is recorded: chat lands in the database, in the caucus's scope.
	if _, err := cs.seats[1].cl.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "换了节点还在"}); err != nil {
		t.Fatalf("chat after the move: %v", err)
	}
	d, err := cs.cw.store.SessionDetail(ctx, cs.cw.w.Mediator, cs.cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(d.Messages, func(m cases.ChatMessage) bool { return m.Body == "换了节点还在" && m.Scope == cs.caucus }) {
		t.Errorf("chat after the move not stored in the caucus scope: %+v", d.Messages)
	}
	for _, a := range d.Attendance {
		if a.LeftAt != nil {
			t.Errorf("%s is recorded as having left (%v): the move must not end anyone's attendance", a.Name, a.LeftAt)
		}
	}
	if len(d.IdentityChecks) != 2 {
		t.Errorf("identity checks %d, want 2 (one per party, none repeated)", len(d.IdentityChecks))
	}
	// The session ends from the case API on the surviving node's peer... here, the survivor: the room closes.
	mark := cs.seats[2].cl.Mark()
	if _, err := cs.seats[0].cl.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	if _, err := cs.seats[2].cl.WaitType(ctx, mark, signaling.TypeSessionEnding); err != nil {
		t.Errorf("respondent not told the session ended: %v", err)
	}
}

func waitUntilTB(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterDrainOnSIGTERM: the hosting node gets SIGTERM; it hands the room to the other node, tells every
// client to reconnect there (message reconnect with the URL), and stops once they have gone; everyone resumes
// the seat on the new node with scope intact and nobody leaves the record.
func TestClusterDrainOnSIGTERM(t *testing.T) {
	clusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cs := newClusterSession(t, ctx, 2, map[string]string{"PARLEY_DRAIN_TIMEOUT": "20s"})
	host := cs.host()
	marks := cs.marks()
	start := time.Now()
	if err := host.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took := cs.recoverAll(ctx, start, host)
	for s, d := range took {
		t.Logf("drain → media back: %-10s %s", s.p.name, d.Round(time.Millisecond))
	}
	select {
	case <-host.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the drained node did not stop")
	}
	t.Logf("SIGTERM → node stopped: %s (%s)", time.Since(start).Round(time.Millisecond),
		regexp.MustCompile(`drained in \S+`).FindString(host.out.String()))
	for _, s := range cs.seats {
		got := false
		for _, m := range s.cl.Messages()[marks[s]:] {
			if m.Type == signaling.TypeReconnect {
				var d signaling.ReconnectData
				_ = json.Unmarshal(m.Data, &d)
				got = d.URL != "" && d.URL != host.ws
			}
		}
		if !got {
			t.Errorf("%s was not told to reconnect to the other node", s.p.name)
		}
	}
	cs.checkSeats("after the drain", marks)
	d, err := cs.cw.store.SessionDetail(ctx, cs.cw.w.Mediator, cs.cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Attendance {
		if a.LeftAt != nil {
			t.Errorf("%s is recorded as having left during the drain", a.Name)
		}
	}
}

// TestClusterRedisStopped: Redis goes away mid-session (a private redis-server, stopped and frozen by the test):
// the room goes on (media, chat stored), a new session gets a clear 503 "try again" quickly, a rate-limited
// request does not hang, the nodes report not-ready for placements; when Redis is back they are ready again
// and the room's lease is re-established.
func TestClusterRedisStopped(t *testing.T) {
	clusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cs := newClusterSession(t, ctx, 2, nil)
	bin, _ := exec.LookPath("redis-server")
	other := cs.cw.person(t, cases.KindAccount, cs.cw.w.Mediator.ID, "", "mediator-2nd-session")
	c2 := casestest.InMediation(t, cs.cw.store, cs.cw.w)
	ss2, err := cs.cw.store.CreateSession(ctx, cs.cw.w.Mediator, c2.ID, cases.NewSession{Title: "第二场", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	limited := func(n *node) (time.Duration, int) {
		t0 := time.Now()
		resp, err := http.Post(n.base+"/api/v1/invitations/no-such-invitation/code", "application/json", nil)
		if err != nil {
			return time.Since(t0), 0
		}
		resp.Body.Close()
		return time.Since(t0), resp.StatusCode
	}
	for _, phase := range []string{"stopped", "frozen"} {
		switch phase {
		case "stopped":
			cs.redis.stop()
		case "frozen":
			cs.redis.start(t, bin)
			waitUntilTB(t, 20*time.Second, "the nodes to be ready again after Redis came back", func() bool {
				return cs.nodes[0].health(t).Placement == "ready" && cs.nodes[1].health(t).Placement == "ready"
			})
			_ = cs.redis.cmd.Process.Signal(syscall.SIGSTOP)
		}
		waitUntilTB(t, 15*time.Second, "the nodes to report not-ready for placements ("+phase+")", func() bool {
			return cs.nodes[0].health(t).Placement == "unavailable" && cs.nodes[1].health(t).Placement == "unavailable"
		})
		cs.expectMedia("with Redis "+phase, cs.scopes(), 20*time.Second)
		if _, err := cs.seats[2].cl.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "redis " + phase}); err != nil {
			t.Errorf("chat with Redis %s: %v", phase, err)
		}
		t0 := time.Now()
		_, st, err := other.join(ctx, cs.nodes[1], ss2.ID)
		if st != http.StatusServiceUnavailable {
			t.Errorf("join of a new session with Redis %s: %d %v, want 503", phase, st, err)
		}
		t.Logf("Redis %s: new-session join answered %d in %s", phase, st, time.Since(t0).Round(time.Millisecond))
		// The room's own participants still get join tokens from the hosting node.
		if _, st, err := cs.seats[1].p.join(ctx, cs.host(), cs.cw.session.ID); st != 200 {
			t.Errorf("join of the hosted session at its node with Redis %s: %d %v", phase, st, err)
		}
		for i := 0; i < 3; i++ {
			d, st := limited(cs.nodes[0])
			if d > 2*time.Second {
				t.Errorf("rate-limited request with Redis %s took %s", phase, d)
			}
			if i == 0 {
				t.Logf("Redis %s: rate-limited request answered %d in %s", phase, st, d.Round(time.Millisecond))
			}
		}
	}
	_ = cs.redis.cmd.Process.Signal(syscall.SIGCONT)
	waitUntilTB(t, 20*time.Second, "the nodes to be ready again", func() bool {
		return cs.nodes[0].health(t).Placement == "ready" && cs.nodes[1].health(t).Placement == "ready"
	})
	// The lease was re-established by the host's heartbeat: the other node sends new joins to the host.
	j, st, err := cs.seats[2].p.join(ctx, cs.nodes[1], cs.cw.session.ID)
	if st != 200 || j.URL != cs.host().ws {
		t.Errorf("after Redis came back, node B sends the respondent to %q (%d %v), want the host %s", j.URL, st, err, cs.host().ws)
	}
	d, err := cs.cw.store.SessionDetail(ctx, cs.cw.w.Mediator, cs.cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"redis stopped", "redis frozen"} {
		if !slices.ContainsFunc(d.Messages, func(m cases.ChatMessage) bool { return m.Body == want }) {
			t.Errorf("chat %q not stored", want)
		}
	}
	// The mediator ends the session through the case API of the node that does not host the room: the room
	// closes where it is, within seconds.
	other2 := cs.nodes[0]
	if other2 == cs.host() {
		other2 = cs.nodes[1]
	}
	mark := cs.seats[2].cl.Mark()
	req, _ := http.NewRequestWithContext(ctx, "POST", other2.base+"/api/v1/sessions/"+cs.cw.session.ID+"/end", nil)
	req.Header.Set("Cookie", sessionCookie+"="+other.cookie)
	req.Header.Set("X-CSRF-Token", other.csrf)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("end the session on the other node: %d", res.StatusCode)
	}
	t0 := time.Now()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	if _, err := cs.seats[2].cl.WaitType(wctx, mark, signaling.TypeSessionEnding); err != nil {
		t.Errorf("the room on the host did not close after the session ended on the other node: %v", err)
	}
	t.Logf("session ended on the other node → room closed in %s", time.Since(t0).Round(time.Millisecond))
}

// TestNodesAgreeOnGeneratedKeys: several nodes starting at once on a fresh database generate the CA, TSA,
// platform and join-token keys at the same moment; the first writer wins in server_secrets and every node
// ends up with the same keys (so a node signs what another verifies, and accepts another's join tokens). The
// overdue sweeper's once-per-case property with several nodes is TestSweepEndsOverdueCasesOnce (cases).
func TestNodesAgreeOnGeneratedKeys(t *testing.T) {
	cw := newClusterWorld(t)
	cfg, _, err := parseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MediaUDPPort, cfg.MediaTCPPort, cfg.ICEFilter = 0, -1, "127.0.0.0/8"
	const n = 4
	signers := make([]*docflow.Service, n)
	rms := make([]*rooms, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := cases.NewStore(cw.store.Pool(), cw.store.Cal, nil)
			if signers[i], errs[i] = newDocSigner(context.Background(), cfg, st, st.Cal, slogDiscard()); errs[i] != nil {
				return
			}
			rms[i], errs[i] = newRooms(context.Background(), cfg, st, slogDiscard())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer rms[i].close(context.Background())
	}
	for i := 1; i < n; i++ {
		if !signers[i].Keys.CA.Cert.Equal(signers[0].Keys.CA.Cert) {
			t.Errorf("node %d has another CA certificate", i)
		}
		if !signers[i].Keys.Platform.Cert.Equal(signers[0].Keys.Platform.Cert) {
			t.Errorf("node %d has another platform key", i)
		}
		if !bytes.Equal(rms[i].tokenKey, rms[0].tokenKey) {
			t.Errorf("node %d has another join-token key", i)
		}
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// tcpProxy forwards a loopback port to PostgreSQL; cutting it is a database outage for whoever connects
// through it, without touching the machine's PostgreSQL.
type tcpProxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t testing.TB, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseOutageDuringSession: PostgreSQL becomes unreachable mid-session. Media goes on; chat is refused
// (record_failed) rather than acknowledged and lost; a new join gets a clear "try again" (unavailable) and
// the join-token API answers 503, not 500. When the database is back, chat is stored again.
func TestDatabaseOutageDuringSession(t *testing.T) {
	clusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cw := newClusterWorld(t)
	u, err := neturl.Parse(cw.dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	n := startNode(t, "node-db", map[string]string{"PARLEY_DATABASE_URL": u.String()})
	med := cw.person(t, cases.KindAccount, cw.w.Mediator.ID, "", "mediator")
	judge := cw.person(t, cases.KindAccount, cw.w.Judge.ID, "", "judge")
	dial := func(p person) *rtcclient.Client {
		j, _, err := p.join(ctx, n, cw.session.ID)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := rtcclient.Dial(ctx, rtcclient.Config{URL: j.URL, Token: j.Token, CaseID: j.CaseID, SessionID: j.SessionID, Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		if err := cl.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
			t.Fatal(err)
		}
		return cl
	}
	mc, jc := dial(med), dial(judge)
	packetsFrom := func(cl *rtcclient.Client) uint64 {
		var total uint64
		for _, s := range cl.Stats() {
			total += s.Packets
		}
		return total
	}
	waitUntil(t, 20*time.Second, "media between mediator and judge", func() bool { return packetsFrom(mc) > 50 && packetsFrom(jc) > 50 })
	tok2, _, err := judge.join(ctx, n, cw.session.ID) // a token issued before the outage
	if err != nil {
		t.Fatal(err)
	}

	proxy.down()
	before := [2]uint64{packetsFrom(mc), packetsFrom(jc)}
	time.Sleep(1500 * time.Millisecond)
	if a, b := packetsFrom(mc), packetsFrom(jc); a <= before[0]+20 || b <= before[1]+20 {
		t.Errorf("media stopped with the database: %v → %d, %d", before, a, b)
	}
	if _, err := mc.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "数据库断了"}); errCodeOf(err) != signaling.CodeRecordFailed {
		t.Errorf("chat during the outage: %v, want record_failed", err)
	}
	t0 := time.Now()
	_, st, err := med.join(ctx, n, cw.session.ID)
	if st != http.StatusServiceUnavailable {
		t.Errorf("join-token API during the outage: %d %v, want 503", st, err)
	}
	t.Logf("join-token API during the outage: %d in %s", st, time.Since(t0).Round(time.Millisecond))
	_, err = rtcclient.Dial(ctx, rtcclient.Config{URL: tok2.URL, Token: tok2.Token, CaseID: tok2.CaseID, SessionID: tok2.SessionID, Loopback: true})
	if code := errCodeOf(err); code != signaling.CodeUnavailable && code != signaling.CodeAlreadyJoined {
		// the judge's own seat exists: a second join takes it over only if the session check passes
		t.Errorf("a join over the WebSocket during the outage: %v, want unavailable", err)
	}

	proxy.up()
	waitUntil(t, 20*time.Second, "chat to be stored again", func() bool {
		_, err := mc.Request(ctx, signaling.TypeChat, signaling.ChatData{Text: "数据库回来了"})
		return err == nil
	})
	d, err := cw.store.SessionDetail(ctx, cw.w.Mediator, cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.Messages {
		if m.Body == "数据库断了" {
			t.Error("a chat refused during the outage was stored after all")
		}
	}
}

func errCodeOf(err error) string {
	var e *signaling.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestMetricsEndpoint: /metrics is served on its own address, and on the main address only with the bearer
// token; it carries the room, media, HTTP, database-pool, Redis and Go runtime figures.
func TestMetricsEndpoint(t *testing.T) {
	dsn := casestest.Schema(t)
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := map[string]string{"PARLEY_DATABASE_URL": dsn, "PARLEY_LOG_LEVEL": "warn", "PARLEY_METRICS_TOKEN": "s3cret-metrics",
		"PARLEY_METRICS_ADDR": maddr, "PARLEY_MEDIA_UDP_PORT": "0", "PARLEY_MEDIA_TCP_PORT": "-1", "PARLEY_ICE_FILTER": "127.0.0.0/8"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServer(t, ctx, env)
	defer func() { cancel(); <-done }()
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, _ = get(base+"/readyz", "")
	if st, _ := get(base+"/metrics", ""); st != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", st)
	}
	if st, _ := get(base+"/metrics", "wrong"); st != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", st)
	}
	st, body := get(base+"/metrics", "s3cret-metrics")
	if st != 200 {
		t.Fatalf("/metrics with the token: %d", st)
	}
	st2, body2 := get("http://"+maddr+"/metrics", "")
	if st2 != 200 {
		t.Fatalf("/metrics on the metrics address: %d", st2)
	}
	for _, want := range []string{"parley_rooms ", "parley_participants ", "parley_media_tracks ", "parley_media_packets_forwarded_total ",
		"parley_media_bytes_forwarded_total ", "parley_media_nacks_received_total ", "parley_media_keyframe_requests_total ",
		"parley_media_subscriber_keyframe_requests_total ", "parley_media_keyframe_waits_total ", "parley_media_keyframe_wait_seconds_total ", "parley_media_packets_lost_upstream_total ",
		"parley_media_subscriber_loss_ratio ", "parley_join_to_media_seconds_bucket", "parley_reconnects_total ",
		"parley_placement_moves_in_total ", `parley_http_request_duration_seconds_count{code="2xx",route="GET /readyz"}`,
		"parley_db_pool_connections ", "parley_cluster_redis_errors_total ", "parley_redis_request_errors_total ", "go_goroutines ",
		"process_cpu_seconds_total ", "parley_recording_packets_dropped_total ", "parley_recording_files_total "} {
		if !strings.Contains(body, want) || !strings.Contains(body2, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// BenchmarkFailover kills the hosting node again and again (SIGKILL, default lease time) in a three-node
// cluster and prints kill → media back per participant (p50 and max over the kills), then one SIGTERM drain.
// Run it with: go test ./cmd/parley -run '^$' -bench Failover -benchtime 1x [PARLEY_BENCH_KILLS=10]
func BenchmarkFailover(b *testing.B) {
	for _, proxied := range []bool{false, true} {
		name := "direct"
		if proxied {
			name = "proxied"
		}
		b.Run(name, func(b *testing.B) { benchFailover(b, proxied) })
	}
}

// benchFailover: direct, clients reach each node's own address, so a killed node is recognised at once (its
// port refuses connections); proxied, each node is behind a TCP proxy (as behind a load balancer), so only the
// expiry of its registry entry and lease tells.
func benchFailover(b *testing.B, proxied bool) {
	kills := 10
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(kills)*40*time.Second+120*time.Second)
	defer cancel()
	cs := newClusterSessionVia(b, ctx, 3, nil, proxied)
	nodeEnv := map[string]string{"PARLEY_DATABASE_URL": cs.cw.dsn, "PARLEY_REDIS_URL": cs.redis.url()}
	per := map[string][]time.Duration{}
	var all []time.Duration
	b.ResetTimer()
	for k := 0; k < kills; k++ {
		host := cs.host()
		start := time.Now()
		host.kill()
		took := cs.recoverAll(ctx, start, host)
		for s, d := range took {
			per[s.p.name] = append(per[s.p.name], d)
			all = append(all, d)
		}
		if len(took) != len(cs.seats) {
			b.Fatalf("kill %d: only %d of %d participants got media back", k+1, len(took), len(cs.seats))
		}
		// Bring the killed node back (a new process, as an orchestrator would) before the next kill.
		for i, n := range cs.nodes {
			if n == host {
				cs.nodes[i] = startNodeVia(b, n.name, nodeEnv, proxied)
				waitUntilTB(b, 20*time.Second, "the restarted node to be ready", func() bool { return cs.nodes[i].health(b).Placement == "ready" })
			}
		}
		b.Logf("kill %d: slowest participant %s", k+1, slices.Max(durations(took)).Round(time.Millisecond))
	}
	b.StopTimer()
	fmt.Printf("kill → media back over %d kills (lease 6s, %s):\n", kills, map[bool]string{false: "direct node URLs", true: "node URLs behind a proxy"}[proxied])
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Printf("  %-11s p50 %6s  max %6s\n", n, pct(per[n], 50), slices.Max(per[n]).Round(time.Millisecond))
	}
	fmt.Printf("  %-11s p50 %6s  max %6s\n", "everyone", pct(all, 50), slices.Max(all).Round(time.Millisecond))
	b.ReportMetric(float64(pct(all, 50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(slices.Max(all).Milliseconds()), "max-ms")

	host := cs.host()
	start := time.Now()
	_ = host.cmd.Process.Signal(syscall.SIGTERM)
	took := cs.recoverAll(ctx, start, host)
	<-host.done
	fmt.Printf("drain: SIGTERM → node stopped %s (%s); SIGTERM → media back, slowest %s\n", time.Since(start).Round(time.Millisecond),
		regexp.MustCompile(`drained in \S+`).FindString(host.out.String()), slices.Max(durations(took)).Round(time.Millisecond))
}

func durations(m map[*seat]time.Duration) []time.Duration {
	out := []time.Duration{0}
	for _, d := range m {
		out = append(out, d)
	}
	return out
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(time.Millisecond)
}

// TestRestartKeepsAdmission: a single node without Redis (no saved room state) restarts mid-session; the
// admitted party joins again and enters at once, not through the lobby, with its identity check kept; a party
// the mediator removed goes back to the lobby.
func TestRestartKeepsAdmission(t *testing.T) {
	clusterTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cw := newClusterWorld(t)
	env := map[string]string{"PARLEY_DATABASE_URL": cw.dsn}
	n := startNode(t, "solo", env)
	med := cw.person(t, cases.KindAccount, cw.w.Mediator.ID, "", "mediator")
	app := cw.person(t, cases.KindParty, cw.c.Parties[0].ID, cw.c.ID, "applicant")
	resp := cw.person(t, cases.KindParty, cw.c.Parties[1].ID, cw.c.ID, "respondent")
	dial := func(p person, n *node) *rtcclient.Client {
		t.Helper()
		j, _, err := p.join(ctx, n, cw.session.ID)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := rtcclient.Dial(ctx, rtcclient.Config{URL: j.URL, Token: j.Token, CaseID: j.CaseID, SessionID: j.SessionID, Loopback: true})
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	mc := dial(med, n)
	for _, p := range []person{app, resp} {
		cl := dial(p, n)
		j, _, _ := p.join(ctx, n, cw.session.ID)
		admit(ctx, t, mc, j.ParticipantID)
		if _, err := cl.WaitJoined(ctx); err != nil {
			t.Fatal(err)
		}
		if p.name == "respondent" {
			if _, err := mc.Request(ctx, signaling.TypeRemove, signaling.RemoveData{ParticipantID: j.ParticipantID, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-n.done
	n2 := startNode(t, "solo", env)
	mc2 := dial(med, n2)
	if mc2.Joined() == nil {
		t.Fatal("mediator not in after the restart")
	}
	ac := dial(app, n2)
	if ac.Joined() == nil {
		t.Error("the admitted applicant was sent back to the lobby after a restart")
	}
	rc := dial(resp, n2)
	if rc.Joined() != nil {
		t.Error("the removed respondent entered without the lobby")
	}
	d, err := cw.store.SessionDetail(ctx, cw.w.Mediator, cw.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.IdentityChecks) != 2 {
		t.Errorf("identity checks %d, want 2", len(d.IdentityChecks))
	}
}
