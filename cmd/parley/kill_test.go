package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// TestHelperServe is the server process TestKilledServerRecovers kills: the test binary runs itself with
// PARLEY_HELPER_SERVE=1 and this test runs `parley serve`, killing its own process with SIGKILL (kill -9) when the
// document flow reaches PARLEY_HELPER_KILL_AT. Run normally, it skips.
func TestHelperServe(t *testing.T) {
	if os.Getenv("PARLEY_HELPER_SERVE") != "1" {
		t.Skip("the child process of TestKilledServerRecovers")
	}
	at := os.Getenv("PARLEY_HELPER_KILL_AT")
	testHook = func(point string) {
		if point == at {
			fmt.Fprintf(os.Stderr, "helper: kill -9 at %s\n", point)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := run(ctx, []string{"parley", "serve"}, os.Getenv, os.Stdout, os.Stderr)
	fmt.Fprintln(os.Stderr, "helper: serve ended:", err)
	os.Exit(3)
}

// child is one run of the server process.
type child struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan error
}

func startChild(t *testing.T, dsn, killAt string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$", "-test.v=false")
	cmd.Env = append(os.Environ(), "PARLEY_HELPER_SERVE=1", "PARLEY_HELPER_KILL_AT="+killAt, "PARLEY_DATABASE_URL="+dsn,
		"PARLEY_ADDR=127.0.0.1:0", "PARLEY_SWEEP_INTERVAL=200ms", "PARLEY_MEDIA_UDP_PORT=0", "PARLEY_MEDIA_TCP_PORT=-1",
		"PARLEY_ICE_FILTER=127.0.0.0/8", "PARLEY_REDIS_URL=", "PARLEY_LOG_LEVEL=warn", "PARLEY_BASE_URL=http://127.0.0.1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() { c.kill(t) })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "parley: listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case c.base = <-addr:
	case err := <-c.done:
		if killAt == "" {
			t.Fatalf("the server process ended before listening: %v\n%s", err, c.stderr.String())
		}
		c.done <- err // it may die at its kill point as soon as it starts (its sweeper): died() reads this
	case <-time.After(60 * time.Second):
		t.Fatalf("the server process did not listen within a minute:\n%s", c.stderr.String())
	}
	return c
}

// kill sends SIGKILL (kill -9) and waits for the process to end.
func (c *child) kill(t *testing.T) {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Errorf("the server process did not end after SIGKILL")
	}
}

// died waits for the process to kill itself and checks it was SIGKILL.
func (c *child) died(t *testing.T, point string) {
	t.Helper()
	select {
	case err := <-c.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("at %s the process ended with %v, want SIGKILL\n%s", point, err, c.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the process did not die at %s:\n%s", point, c.stderr.String())
	}
}

// session is a logged-in caller of the child server (a web session made in the database).
type session struct {
	t           *testing.T
	base        *string
	token, csrf string
}

func (s *session) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, *s.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", s.csrf)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.token})
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	if resp.StatusCode >= 300 {
		s.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

func (s *session) must(method, path string, body, out any) {
	s.t.Helper()
	if st, err := s.do(method, path, body, out); err != nil || st >= 300 {
		s.t.Fatalf("%s %s: %d %v", method, path, st, err)
	}
}

// prepared holds a prepared signature and the device's signature over it: the body of finish.
func (s *session) prepare(dev *signingtest.Device, caseID, selfID, docID, field string) finishRequest {
	s.t.Helper()
	pub := base64.StdEncoding.EncodeToString(dev.SPKI())
	proof, _ := dev.Sign(keyProofMessage(caseID, selfID, pub))
	var p prepareResponse
	s.must("POST", "/api/v1/documents/"+docID+"/prepare", prepareRequest{Field: field, PublicKey: pub, Proof: base64.StdEncoding.EncodeToString(proof),
		Image: base64.StdEncoding.EncodeToString(signingtest.SignaturePNG(3, 600, 240))}, &p)
	tbs, _ := base64.StdEncoding.DecodeString(p.ToBeSigned)
	sig, _ := dev.Sign(tbs)
	return finishRequest{Field: field, Signature: base64.StdEncoding.EncodeToString(sig)}
}

// TestKilledServerRecovers kills the server process (SIGKILL, a real child process) at each step of an
// agreement's signing and confirmation, restarts it, and checks the state: nothing half-done, the agreement's
// effect dated at the last party's signature, the certificate of completion produced by the sweeper after a
// death between the seal and the certificate (and after a death half-way through the certificate), repeated
// requests answered 200, and judicial confirmation either whole (with the court's signature) or not at all.
func TestKilledServerRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server process seven times")
	}
	ctx := context.Background()
	dsn := casestest.Schema(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := cases.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := cases.NewStore(pool, nil, nil)
	w := casestest.Populate(t, store)
	c := casestest.InMediation(t, store, w)
	res, err := store.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	if err != nil {
		t.Fatal(err)
	}
	c = res.Case
	identityChecked(t, store, c, w.Mediator) // signing is bound to a checked identity
	var base string
	login := func(kind cases.PrincipalKind, id, caseID string) *session {
		ws, err := store.CreateWebSession(ctx, kind, id, caseID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return &session{t: t, base: &base, token: string(ws.Token), csrf: ws.CSRF}
	}
	mediator := login(cases.KindAccount, w.Mediator.ID, "")
	orgAdmin := login(cases.KindAccount, w.OrgAdmin.ID, "")
	judge := login(cases.KindAccount, w.Judge.ID, "")
	parties := []*session{login(cases.KindParty, c.Parties[0].ID, c.ID), login(cases.KindParty, c.Parties[1].ID, c.ID)}
	devs := map[string]*signingtest.Device{}
	for _, id := range []string{c.Parties[0].ID, c.Parties[1].ID, w.Mediator.ID} {
		if devs[id], err = signingtest.NewDevice(); err != nil {
			t.Fatal(err)
		}
	}
	state := func() *cases.Case {
		t.Helper()
		c, err := store.Case(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	doc := func(id string) *cases.Document {
		t.Helper()
		d, err := store.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// Step 1: the mediator drafts; the applicant signs; the server is killed from outside right after.
	srv := startChild(t, dsn, "")
	base = srv.base
	var ag documentResponse
	mediator.must("POST", "/api/v1/cases/"+c.ID+"/agreement", agreementRequest{Terms: []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币十万元。"}}}, &ag)
	id := ag.Document.ID
	parties[0].must("POST", "/api/v1/documents/"+id+"/finish", parties[0].prepare(devs[c.Parties[0].ID], c.ID, c.Parties[0].ID, id, "sig-applicant-1"), nil)
	srv.kill(t)
	if st := state(); st.State != cases.StateSigning || len(doc(id).Signed()) != 1 {
		t.Fatalf("after kill -9 with one party signed: %s, %d signatures", st.State, len(doc(id).Signed()))
	}

	// Step 2: the last party's signature; the process dies inside its transaction, before the commit: nothing of
	// it is stored, and the same prepared signature finishes after the restart.
	srv = startChild(t, dsn, "finish:signing")
	base = srv.base
	last := parties[1].prepare(devs[c.Parties[1].ID], c.ID, c.Parties[1].ID, id, "sig-respondent-1")
	if _, err := parties[1].do("POST", "/api/v1/documents/"+id+"/finish", last, nil); err == nil {
		t.Fatal("finish answered although the server died in it")
	}
	srv.died(t, "finish:signing")
	if st := state(); st.State != cases.StateSigning || st.EffectiveAt != nil || len(doc(id).Signed()) != 1 {
		t.Fatalf("after dying inside the last signature's transaction: %s, effective %v, %d signatures", st.State, st.EffectiveAt, len(doc(id).Signed()))
	}

	// Step 3: the same finish again; the process dies right after the commit (before answering). The signature
	// and the effect are both there, the effect dated at the signature; the repeated finish answers 200.
	srv = startChild(t, dsn, "finish:committed")
	base = srv.base
	if _, err := parties[1].do("POST", "/api/v1/documents/"+id+"/finish", last, nil); err == nil {
		t.Fatal("finish answered although the server died after its commit")
	}
	srv.died(t, "finish:committed")
	st, d := state(), doc(id)
	sig, ok := d.Signed()["sig-respondent-1"]
	if !ok || st.State != cases.StateSettled || st.EffectiveAt == nil || !st.EffectiveAt.Equal(sig.CreatedAt) {
		t.Fatalf("after dying after the last signature's commit: %s, effective %v, signature %v", st.State, st.EffectiveAt, sig.CreatedAt)
	}
	srv = startChild(t, dsn, "")
	base = srv.base
	var again documentResponse
	if code, err := parties[1].do("POST", "/api/v1/documents/"+id+"/finish", last, &again); err != nil || code != 200 || again.Document.CurrentVersion != d.CurrentVersion {
		t.Fatalf("the repeated finish: %d %v, version %d (want %d)", code, err, again.Document.CurrentVersion, d.CurrentVersion)
	}

	// Step 4: the mediator prepares, the server is killed from outside, the prepared signature survives.
	medFinish := mediator.prepare(devs[w.Mediator.ID], c.ID, w.Mediator.ID, id, "sig-mediator-1")
	srv.kill(t)
	srv = startChild(t, dsn, "seal:committed")
	base = srv.base
	mediator.must("POST", "/api/v1/documents/"+id+"/finish", medFinish, nil)

	// Step 5: the seal commits and the process dies before the certificate of completion.
	if _, err := orgAdmin.do("POST", "/api/v1/documents/"+id+"/seal", nil, nil); err == nil {
		t.Fatal("seal answered although the server died after its commit")
	}
	srv.died(t, "seal:committed")
	if d := doc(id); d.Status != cases.DocComplete {
		t.Fatalf("after the seal's commit the document is %s", d.Status)
	}
	if n, _ := store.PendingJobs(ctx); n != 1 {
		t.Fatalf("%d pending document jobs after dying after the seal, want 1", n)
	}

	// Step 6: the restarted node's sweeper takes the job and dies half-way (the certificate created, not signed).
	srv = startChild(t, dsn, "completion:created")
	srv.died(t, "completion:created")

	// Step 7: the next start finishes the job once its lease has run out; one certificate, signed.
	srv = startChild(t, dsn, "confirm:signing")
	base = srv.base
	var completion *cases.Document
	deadline := time.Now().Add(30 * time.Second)
	for completion == nil && time.Now().Before(deadline) {
		docs, _ := store.Documents(ctx, c.ID)
		n := 0
		for i := range docs {
			if docs[i].Kind == cases.DocCompletion && docs[i].ParentID == id {
				n++
				if docs[i].Status == cases.DocComplete {
					completion = &docs[i]
				}
			}
		}
		if n > 1 {
			t.Fatalf("%d certificates of completion", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if completion == nil {
		t.Fatalf("no signed certificate of completion after the restart:\n%s", srv.stderr.String())
	}
	if n, _ := store.PendingJobs(ctx); n != 0 {
		t.Errorf("%d document jobs still pending", n)
	}
	var sealed documentResponse
	if code, err := orgAdmin.do("POST", "/api/v1/documents/"+id+"/seal", nil, &sealed); err != nil || code != 200 || sealed.Document.Status != cases.DocComplete {
		t.Errorf("the repeated seal: %d %v", code, err)
	}

	// Step 8: both parties apply; the judge confirms and the process dies inside the confirmation's transaction,
	// with the court's signature made but not committed: neither is there after the restart.
	for _, p := range parties {
		p.must("POST", "/api/v1/cases/"+c.ID+"/actions/apply_confirmation", nil, nil)
	}
	before := doc(id).CurrentVersion
	if _, err := judge.do("POST", "/api/v1/cases/"+c.ID+"/actions/confirm", cases.Params{Note: "确认"}, nil); err == nil {
		t.Fatal("confirm answered although the server died in it")
	}
	srv.died(t, "confirm:signing")
	if st := state(); st.State != cases.StateConfirmationPending || doc(id).CurrentVersion != before {
		t.Fatalf("after dying inside the confirmation: %s, version %d (was %d)", st.State, doc(id).CurrentVersion, before)
	}
	// Step 9: the confirmation again; it commits, and the process dies after making the court's ruling, before
	// storing it. After the restart the job sweeper makes the ruling the decision calls for, once.
	srv = startChild(t, dsn, "court-document-made")
	base = srv.base
	if _, err := judge.do("POST", "/api/v1/cases/"+c.ID+"/actions/confirm", cases.Params{Note: "确认"}, nil); err == nil {
		t.Fatal("confirm answered although the server died after it")
	}
	srv.died(t, "court-document-made")
	if st, d := state(), doc(id); st.State != cases.StateConfirmed || d.Signed()[cases.CourtField].SignerRole != "court" {
		t.Fatalf("after the confirmation: %s, court signature %+v", st.State, d.Signed()[cases.CourtField])
	}
	if cds, err := store.CourtDocuments(ctx, c.ID); err != nil || len(cds) != 0 {
		t.Fatalf("court documents after dying before storing the ruling: %+v %v", cds, err)
	}
	srv = startChild(t, dsn, "")
	base = srv.base
	var cds []cases.CourtDocument
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && len(cds) == 0; time.Sleep(200 * time.Millisecond) {
		cds, _ = store.CourtDocuments(ctx, c.ID)
	}
	if len(cds) != 1 || cds[0].Kind != cases.CourtRuling {
		t.Fatalf("the sweeper's ruling after the restart: %+v\n%s", cds, srv.stderr.String())
	}
	time.Sleep(600 * time.Millisecond) // more sweeps: none makes a second one
	if again, _ := store.CourtDocuments(ctx, c.ID); len(again) != 1 {
		t.Errorf("%d court documents after more sweeps, want 1", len(again))
	}
	if checks, err := store.CheckCourtDocuments(ctx, c.ID); err != nil || len(checks) != 1 || !checks[0].Matches {
		t.Errorf("the ruling against the trail: %+v %v", checks, err)
	}
	// The node that stored it served it on both parties, naming the ruling and its SHA-256.
	recs, err := store.ServiceRecords(ctx, cases.System, c.ID)
	served := 0
	for _, r := range recs {
		if r.Kind == "confirmation_decision" && r.DocumentID == cds[0].ID && r.DocumentSHA256 == cds[0].SHA256 {
			served++
		}
	}
	if err != nil || served != len(c.Parties) {
		t.Errorf("%d services of the sweeper's ruling (%v), want %d", served, err, len(c.Parties))
	}
	if rep, err := store.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Errorf("audit chain: %+v %v", rep, err)
	}
}
