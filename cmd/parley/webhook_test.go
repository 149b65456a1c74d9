package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/webhook"
)

// receiver is a real HTTP server started by the test that records what Parley sends it.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer atomic.Int32 // status to answer (200 when 0)
	delay  atomic.Int64 // nanoseconds to wait before answering
}

type received struct {
	at       time.Time
	delivery string
	event    string
	sig      string
	body     []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{time.Now(), r.Header.Get(webhook.HeaderDelivery), r.Header.Get(webhook.HeaderEvent), r.Header.Get(webhook.HeaderSignature), body})
		rc.mu.Unlock()
		if d := time.Duration(rc.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		st := int(rc.answer.Load())
		if st == 0 {
			st = 200
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// silentReceiver accepts connections and never answers (nor reads).
func silentReceiver(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String() + "/hook"
}

// startSenders runs n senders (as n nodes would) on the test's store until the test ends.
func startSenders(t *testing.T, e *testEnv, n int, pol cases.RetryPolicy, timeout time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		s := &webhook.Sender{Store: e.store, Client: webhook.NewClient(timeout), Log: e.app.log, Policy: pol, Interval: 50 * time.Millisecond, Batch: 4}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Run(ctx)
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// waitFor polls cond until it holds, failing after limit (generous: the machine may be loaded).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// register has the platform admin register an endpoint through the API.
func register(t *testing.T, admin *client, url, orgID string, events ...string) webhookCreated {
	t.Helper()
	var out webhookCreated
	if st, raw := admin.raw("POST", "/api/v1/webhooks", cases.NewWebhookEndpoint{Name: "court system", URL: url, OrgID: orgID, Events: events}); st != 201 {
		t.Fatalf("register webhook: %d %s", st, raw)
	} else if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func deliveries(t *testing.T, admin *client, endpointID string) []cases.WebhookDelivery {
	t.Helper()
	var ds []cases.WebhookDelivery
	if st := admin.do("GET", "/api/v1/webhooks/"+endpointID+"/deliveries", nil, &ds); st != 200 {
		t.Fatalf("deliveries: %d", st)
	}
	return ds
}

// TestWebhookDelivery: an endpoint of the court receives the case's registration, signed with its secret, once;
// an endpoint of another court receives nothing; the delivery log shows one delivered attempt.
func TestWebhookDelivery(t *testing.T) {
	e := newTestEnv(t)
	admin := e.login(e.w.Admin)
	rc := newReceiver(t)
	ours := register(t, admin, rc.srv.URL+"/parley", e.w.Court.ID)
	other := register(t, admin, rc.srv.URL+"/other", e.w.OtherCourt.ID)
	if len(ours.Secret) < 40 || ours.Secret == other.Secret {
		t.Fatalf("secrets %q and %q", ours.Secret, other.Secret)
	}
	startSenders(t, e, 1, cases.RetryPolicy{Base: time.Second, Max: time.Second, MaxAttempts: 3}, 5*time.Second)
	clerk := e.login(e.w.Clerk)
	var cr caseResponse
	if st := clerk.do("POST", "/api/v1/cases", casestest.NewCase(cases.SourceDelegated), &cr); st != 201 {
		t.Fatalf("create case: %d", st)
	}
	waitFor(t, 30*time.Second, "the delivery", func() bool { return len(rc.all()) >= 1 })
	got := rc.all()[0]
	if err := webhook.Verify([]byte(ours.Secret), got.sig, got.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q: %v", got.sig, err)
	}
	if err := webhook.Verify([]byte(other.Secret), got.sig, got.body, time.Now(), 5*time.Minute); err == nil {
		t.Errorf("the signature verifies with another endpoint's secret")
	}
	var p webhookPayload
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatalf("payload %s: %v", got.body, err)
	}
	if p.Type != "case.registered" || got.event != p.Type || p.Case.ID != cr.Case.ID || p.Case.Number != cr.Case.Number || p.Case.CourtID != e.w.Court.ID || p.Event.Seq != 1 || len(p.Event.Hash) != 64 {
		t.Errorf("payload %s (event header %q), want case.registered of %s", got.body, got.event, cr.Case.Number)
	}
	if p.ID != "evt_"+cr.Case.ID+"_1" {
		t.Errorf("id %q", p.ID)
	}
	// The payload follows the document's x-webhooks schema.
	doc := openAPI(e.app.routes(), e.app.cfg.BaseURL)
	schema := doc["x-webhooks"].(map[string]any)["case.registered"].(map[string]any)["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if err := validateJSON(doc, schema, got.body); err != nil {
		t.Errorf("payload against x-webhooks: %v", err)
	}
	waitFor(t, 30*time.Second, "the delivered state", func() bool {
		ds := deliveries(t, admin, ours.Endpoint.ID)
		return len(ds) == 1 && ds[0].Status == cases.DeliveryDelivered
	})
	ds := deliveries(t, admin, ours.Endpoint.ID)
	if d := ds[0]; d.Attempts != 1 || len(d.Log) != 1 || d.Log[0].Outcome != "delivered" || d.Log[0].StatusCode != 200 || strconv.FormatInt(d.ID, 10) != got.delivery {
		t.Errorf("delivery %+v, want one delivered attempt with ID %s", d, got.delivery)
	}
	if ds := deliveries(t, admin, other.Endpoint.ID); len(ds) != 0 {
		t.Errorf("the other court's endpoint got %d deliveries of this court's case", len(ds))
	}
	time.Sleep(300 * time.Millisecond) // a few more sender rounds: nothing is sent twice
	if n := len(rc.all()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}
	// Only the platform admin manages webhooks.
	if st, _ := clerk.raw("GET", "/api/v1/webhooks", nil); st != 403 {
		t.Errorf("a clerk lists webhooks: %d, want 403", st)
	}
}

// TestWebhookRetriesAndDeadLetter: a receiver answering 500 is retried with exponential backoff (each wait at
// least the schedule's) until the delivery is dead; once the receiver is fixed, a manual replay delivers it,
// and the log keeps every attempt.
func TestWebhookRetriesAndDeadLetter(t *testing.T) {
	e := newTestEnv(t)
	admin := e.login(e.w.Admin)
	rc := newReceiver(t)
	rc.answer.Store(500)
	ep := register(t, admin, rc.srv.URL, "", "case.registered")
	pol := cases.RetryPolicy{Base: 200 * time.Millisecond, Max: 2 * time.Second, MaxAttempts: 4}
	startSenders(t, e, 1, pol, 5*time.Second)
	if _, err := e.store.CreateCase(context.Background(), e.w.Clerk, casestest.NewCase(cases.SourceDelegated)); err != nil {
		t.Fatal(err)
	}
	var d cases.WebhookDelivery
	waitFor(t, 40*time.Second, "the dead letter", func() bool {
		ds := deliveries(t, admin, ep.Endpoint.ID)
		if len(ds) == 1 {
			d = ds[0]
		}
		return d.Status == cases.DeliveryDead
	})
	if len(d.Log) != 4 || d.Attempts != 4 || d.LastStatus != 500 {
		t.Fatalf("dead delivery %+v, want 4 attempts", d)
	}
	for i, a := range d.Log {
		want := "retry"
		if i == 3 {
			want = "dead"
		}
		if a.Attempt != i+1 || a.Outcome != want || a.StatusCode != 500 {
			t.Errorf("attempt %d: %+v, want outcome %s with 500", i+1, a, want)
		}
		if i > 0 {
			gap, min := a.At.Sub(d.Log[i-1].At), pol.Backoff(i)
			if gap < min {
				t.Errorf("attempt %d came %v after attempt %d, sooner than the backoff %v", i+1, gap, i, min)
			}
			t.Logf("attempt %d: %v after the one before (backoff %v)", i+1, gap.Round(time.Millisecond), min)
		}
	}
	if n := len(rc.all()); n != 4 {
		t.Errorf("the receiver got %d requests, want 4", n)
	}
	// A dead delivery stays dead.
	time.Sleep(500 * time.Millisecond)
	if n := len(rc.all()); n != 4 {
		t.Errorf("after dying the delivery was sent again (%d requests)", n)
	}
	rc.answer.Store(204)
	var replayed cases.WebhookDelivery
	if st := admin.do("POST", fmt.Sprintf("/api/v1/webhook-deliveries/%d/replay", d.ID), nil, &replayed); st != 200 || replayed.Status != cases.DeliveryPending {
		t.Fatalf("replay: %d %+v", st, replayed)
	}
	waitFor(t, 30*time.Second, "the replayed delivery", func() bool {
		ds := deliveries(t, admin, ep.Endpoint.ID)
		return ds[0].Status == cases.DeliveryDelivered
	})
	final := deliveries(t, admin, ep.Endpoint.ID)[0]
	if len(final.Log) != 5 || final.Log[4].Outcome != "delivered" || final.Log[4].StatusCode != 204 {
		t.Errorf("log after replay %+v, want the 4 failures and one delivery", final.Log)
	}
	// A pending delivery is not replayed: it will be sent by itself (one not yet due, so no sender takes it).
	var pending int64
	if err := e.store.Pool().QueryRow(context.Background(), `INSERT INTO webhook_deliveries (endpoint_id, case_id, event_seq, event_type, payload, next_at, created_at)
		SELECT $1, case_id, 9999, 'case.registered', '{}', now() + interval '1 hour', now() FROM webhook_deliveries WHERE id = $2 RETURNING id`, ep.Endpoint.ID, d.ID).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if st, raw := admin.raw("POST", fmt.Sprintf("/api/v1/webhook-deliveries/%d/replay", pending), nil); st != 409 {
		t.Errorf("replaying a pending delivery: %d %s, want 409", st, raw)
	}
	got := rc.all()
	if got[0].delivery != got[4].delivery {
		t.Errorf("the replay has delivery ID %s, the first attempt %s: want the same", got[4].delivery, got[0].delivery)
	}
}

// TestWebhookSlowAndSilentReceivers: a receiver slower than the timeout and one that never answers are attempts
// that fail on the timeout, retried and then dead; neither holds the sender up for the healthy endpoint.
func TestWebhookSlowAndSilentReceivers(t *testing.T) {
	e := newTestEnv(t)
	admin := e.login(e.w.Admin)
	slow := newReceiver(t)
	slow.delay.Store(int64(20 * time.Second)) // far past the timeout; it stops when the sender gives up
	healthy := newReceiver(t)
	epSlow := register(t, admin, slow.srv.URL, "", "case.registered")
	epSilent := register(t, admin, silentReceiver(t), "", "case.registered")
	epOK := register(t, admin, healthy.srv.URL, "", "case.registered")
	// A timeout a healthy local receiver meets even on a loaded machine.
	startSenders(t, e, 1, cases.RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, MaxAttempts: 2}, 1500*time.Millisecond)
	if _, err := e.store.CreateCase(context.Background(), e.w.Clerk, casestest.NewCase(cases.SourceDelegated)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the healthy delivery", func() bool { return len(healthy.all()) == 1 })
	for name, ep := range map[string]webhookCreated{"slow": epSlow, "silent": epSilent} {
		var d cases.WebhookDelivery
		waitFor(t, 40*time.Second, name+" dead", func() bool {
			ds := deliveries(t, admin, ep.Endpoint.ID)
			if len(ds) == 1 {
				d = ds[0]
			}
			return d.Status == cases.DeliveryDead
		})
		if len(d.Log) != 2 {
			t.Errorf("%s: %d attempts, want 2", name, len(d.Log))
		}
		for _, a := range d.Log {
			if a.StatusCode != 0 || a.Error != "no answer within the timeout" {
				t.Errorf("%s: attempt %+v, want a timeout", name, a)
			}
		}
	}
	if ds := deliveries(t, admin, epOK.Endpoint.ID); len(ds) != 1 || ds[0].Status != cases.DeliveryDelivered {
		t.Errorf("healthy endpoint: %+v", ds)
	}
}

// TestWebhookOneSenderPerDelivery: three senders (three nodes) on one database deliver each of many deliveries
// exactly once.
func TestWebhookOneSenderPerDelivery(t *testing.T) {
	e := newTestEnv(t)
	admin := e.login(e.w.Admin)
	rc := newReceiver(t)
	rc.delay.Store(int64(20 * time.Millisecond)) // long enough for the senders' rounds to overlap
	ep := register(t, admin, rc.srv.URL, "")
	const cases_ = 8
	for i := 0; i < cases_; i++ {
		if _, err := e.store.CreateCase(context.Background(), e.w.Clerk, casestest.NewCase(cases.SourceDelegated)); err != nil {
			t.Fatal(err)
		}
	}
	var total int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1`, ep.Endpoint.ID).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total < cases_ {
		t.Fatalf("%d deliveries in the outbox, want at least %d", total, cases_)
	}
	startSenders(t, e, 3, cases.RetryPolicy{Base: time.Second, Max: time.Second, MaxAttempts: 3}, 5*time.Second)
	waitFor(t, 60*time.Second, "every delivery", func() bool {
		var left int
		_ = e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'delivered'`, ep.Endpoint.ID).Scan(&left)
		return left == 0
	})
	seen := map[string]int{}
	for _, r := range rc.all() {
		seen[r.delivery]++
	}
	if len(seen) != total {
		t.Errorf("the receiver saw %d deliveries, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s was sent %d times", id, n)
		}
	}
}

// webhookMatrix adds the webhook endpoints to TestAuthorisationMatrix: the platform admin only.
func webhookMatrix() []matrixCall {
	admin := []string{"admin"}
	endpoint := func(f *fixture) string {
		ep, _, err := f.store.CreateWebhookEndpoint(context.Background(), f.w.Admin, cases.NewWebhookEndpoint{Name: "m", URL: "https://court.example.cn/hook", OrgID: f.w.OtherCourt.ID})
		if err != nil {
			f.t.Fatal(err)
		}
		return ep.ID
	}
	return []matrixCall{
		{route: "GET /api/v1/webhooks", path: fixed("/api/v1/webhooks"), allow: admin},
		{route: "POST /api/v1/webhooks", path: fixed("/api/v1/webhooks"), body: func(f *fixture, _ string) any {
			return cases.NewWebhookEndpoint{Name: "court", URL: "https://court.example.cn/hook", OrgID: f.w.OtherCourt.ID}
		}, allow: admin},
		{route: "DELETE /api/v1/webhooks/{id}", path: func(f *fixture) string { return "/api/v1/webhooks/" + endpoint(f) }, allow: admin},
		{route: "GET /api/v1/webhooks/{id}/deliveries", path: func(f *fixture) string { return "/api/v1/webhooks/" + endpoint(f) + "/deliveries" }, allow: admin},
		{route: "POST /api/v1/webhook-deliveries/{id}/replay", path: func(f *fixture) string {
			var id int64
			if err := f.store.Pool().QueryRow(context.Background(), `INSERT INTO webhook_deliveries (endpoint_id, case_id, event_seq, event_type, payload, status, next_at, created_at)
				VALUES ($1, $2, $3, 'case.registered', '{}', 'dead', now(), now()) RETURNING id`, endpoint(f), f.c.ID, 1000+f.uniq()).Scan(&id); err != nil {
				f.t.Fatal(err)
			}
			return fmt.Sprintf("/api/v1/webhook-deliveries/%d/replay", id)
		}, allow: admin},
	}
}
