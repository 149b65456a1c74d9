package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func envFunc(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startServer runs the whole program on a free port against dsn and returns its base URL.
func startServer(t *testing.T, ctx context.Context, env map[string]string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"parley", "serve", "-addr", "127.0.0.1:0"}, envFunc(env), pw, stderr)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return a, done
	case err := <-done:
		t.Fatalf("server stopped: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start\n%s", stderr)
	}
	return "", nil
}

func TestRunServeDemoAuditAndShutdown(t *testing.T) {
	dsn := casestest.Schema(t)
	env := map[string]string{"PARLEY_DATABASE_URL": dsn, "PARLEY_LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServer(t, ctx, env)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	// The demo seeds through the same program, and a second run finds what the first made.
	var out bytes.Buffer
	if err := run(ctx, []string{"parley", "demo"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	if !strings.Contains(out.String(), "demo-mediator") || !strings.Contains(out.String(), "/join/pi_") {
		t.Errorf("demo output lacks logins or invitation links:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"parley", "demo"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("demo again: %v", err)
	}
	num := regexp.MustCompile(`Case (（\d+）知调\d*字第\d+号)`).FindStringSubmatch(out.String())
	if num == nil {
		t.Fatalf("no case number in:\n%s", out.String())
	}
	// Log in as the demo clerk and list the one referred case.
	body, _ := json.Marshal(loginRequest{"demo-clerk", "parley-demo-2026"})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("demo login: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/cases", nil)
	req.AddCookie(resp.Cookies()[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list caseList
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if list.Total != 1 || list.Cases[0].State != "referred" {
		t.Errorf("demo clerk sees %+v", list)
	}
	out.Reset()
	if err := run(ctx, []string{"parley", "audit", "verify", num[1]}, envFunc(env), &out, io.Discard); err != nil {
		t.Errorf("audit verify: %v", err)
	}
	if !strings.Contains(out.String(), "intact") {
		t.Errorf("audit output: %s", out.String())
	}
	// SIGTERM (here: the context) shuts the server down cleanly.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestRunRefusesBadConfigAndCommands(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		args []string
		env  map[string]string
		code int
	}{
		{[]string{"parley", "frobnicate"}, nil, 2},
		{[]string{"parley", "serve", "-sweep-interval", "soon"}, nil, 2},
		{[]string{"parley", "serve"}, map[string]string{"PARLEY_BASE_URL": "ftp://x"}, 2},
		{[]string{"parley", "serve"}, map[string]string{"PARLEY_TIMEZONE": "Mars/Olympus"}, 2},
		{[]string{"parley", "audit"}, nil, 2},
	} {
		err := run(ctx, tt.args, envFunc(tt.env), io.Discard, io.Discard)
		var ee exitError
		if !asExit(err, &ee) || ee.code != tt.code {
			t.Errorf("run(%v, %v) = %v, want exit %d", tt.args, tt.env, err, tt.code)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"parley", "version"}, envFunc(nil), &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "parley ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
}

func asExit(err error, ee *exitError) bool {
	e, ok := err.(exitError)
	if ok {
		*ee = e
	}
	return ok
}

// TestReadmeListsEverySetting keeps the README's configuration table true.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		row := "| `" + s.Env() + "` | `-" + s.Name + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row starting %q", row)
		}
	}
}

// TestWorkflowDocListsEveryAction keeps docs/workflow.md true to the table in cases/workflow.go.
func TestWorkflowDocListsEveryAction(t *testing.T) {
	doc, err := os.ReadFile("../../docs/workflow.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range cases.Transitions {
		if !strings.Contains(string(doc), "| `"+string(tr.Action)+"` |") {
			t.Errorf("docs/workflow.md does not describe action %s", tr.Action)
		}
	}
	for _, st := range cases.States {
		if !strings.Contains(string(doc), "`"+string(st)+"`") {
			t.Errorf("docs/workflow.md does not describe state %s", st)
		}
	}
}

func TestSignDemoAndVerifyCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"parley", "sign-demo", "-out", dir}, envFunc(nil), &out, io.Discard); err != nil {
		t.Fatalf("sign-demo: %v", err)
	}
	root := dir + "/root.pem"
	for _, f := range []string{"agreement.pdf", "agreement-confirmed.pdf", "completion.pdf", "session-record.pdf"} {
		out.Reset()
		if err := run(ctx, []string{"parley", "verify", "-root", root, dir + "/" + f}, envFunc(nil), &out, io.Discard); err != nil {
			t.Errorf("verify %s: %v\n%s", f, err, out.String())
		}
	}
	// The report names the PAdES level of every signature and of the document and Parley's policy (issue 9).
	for _, want := range []string{"document: VALID, level B-", "VALID, level B-", "Parley policy (B-T or higher) met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verify output lacks %q:\n%s", want, out.String())
		}
	}
	// A changed byte makes verify exit 1; a file that is not a PDF exits 2.
	data, _ := os.ReadFile(dir + "/agreement.pdf")
	data[len(data)/2] ^= 1
	os.WriteFile(dir+"/tampered.pdf", data, 0o600)
	var ee exitError
	if err := run(ctx, []string{"parley", "verify", "-root", root, dir + "/tampered.pdf"}, envFunc(nil), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 1 {
		t.Errorf("tampered: %v, want exit 1", err)
	}
	if err := run(ctx, []string{"parley", "verify", "-root", root, root}, envFunc(nil), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 2 {
		t.Errorf("not a PDF: %v, want exit 2", err)
	}
	// An unsigned file is not valid either.
	if err := run(ctx, []string{"parley", "verify", "-root", root, dir + "/agreement-unsigned.pdf"}, envFunc(nil), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 1 {
		t.Errorf("unsigned: %v, want exit 1", err)
	}
}

// TestLoadtestCommand runs a tiny load against the whole program (loopback only, bounded).
func TestLoadtestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and Pion clients")
	}
	dsn := casestest.Schema(t)
	env := map[string]string{"PARLEY_DATABASE_URL": dsn, "PARLEY_LOG_LEVEL": "warn", "PARLEY_ICE_FILTER": "127.0.0.0/8", "PARLEY_MEDIA_UDP_PORT": "0", "PARLEY_MEDIA_TCP_PORT": "-1"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServer(t, ctx, env)
	var out bytes.Buffer
	if err := run(ctx, []string{"parley", "loadtest", "-server", base, "-rooms", "2", "-participants", "2", "-duration", "2s"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out.String())
	}
	for _, want := range []string{"rooms 2, participants 4", "join → first frame", "server:", "CPU per forwarded packet",
		"floor per datagram (load mix): sendto", "CPU per datagram = ", "× the floor", "0 dropped (write failed)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("loadtest output lacks %q:\n%s", want, out.String())
		}
	}
	if m := regexp.MustCompile(`\((\d+) without a frame\)`).FindStringSubmatch(out.String()); m == nil || m[1] != "0" {
		t.Errorf("some tracks got no frame:\n%s", out.String())
	}
	// Several -server URLs (here the same node twice): the rooms are spread, each node reported on its own,
	// the floor measured once.
	out.Reset()
	if err := run(ctx, []string{"parley", "loadtest", "-server", base + "," + base, "-rooms", "2", "-participants", "2", "-duration", "2s"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("loadtest on two servers: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "== node "+base+" =="); n != 2 {
		t.Errorf("two-server loadtest: %d node reports, want 2:\n%s", n, out.String())
	}
	if n := strings.Count(out.String(), "rooms 1, participants 2"); n != 2 {
		t.Errorf("two-server loadtest: %d reports of one room, want 2:\n%s", n, out.String())
	}
	if n := strings.Count(out.String(), "floor per datagram (load mix): sendto"); n != 1 {
		t.Errorf("two-server loadtest: floor printed %d times, want once:\n%s", n, out.String())
	}
	var ee exitError
	for _, args := range [][]string{{"-server", base + "," + base, "-rooms", "1"}, {"-server", base + "," + base, "-search"}, {"-server", " , "}} {
		if err := run(ctx, append([]string{"parley", "loadtest"}, args...), envFunc(env), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 2 {
			t.Errorf("loadtest %v: %v, want exit 2", args, err)
		}
	}
	if err := run(ctx, []string{"parley", "loadtest", "-server", base, "-preset", "fanout-9000"}, envFunc(env), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 2 {
		t.Errorf("unknown preset: %v, want exit 2", err)
	}
	if err := run(ctx, []string{"parley", "loadtest", "-server", base, "-pin-load", "x"}, envFunc(env), io.Discard, io.Discard); !asExit(err, &ee) || ee.code != 2 {
		t.Errorf("bad CPU list: %v, want exit 2", err)
	}
	cancel()
	<-done
}
