package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/webhook"
)

// smsProvider is an HTTP SMS provider started by the test: it keeps what it receives and answers as told.
type smsProvider struct {
	srv    *httptest.Server
	secret []byte
	mu     sync.Mutex
	mode   string // "ok", "500", "silent"
	got    []smsRequest
	auth   []string
	sigOK  []bool
	nextID int
}

func newSMSProvider(t *testing.T, secret string) *smsProvider {
	p := &smsProvider{secret: []byte(secret), mode: "ok"}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req smsRequest
		json.Unmarshal(body, &req)
		p.mu.Lock()
		p.got = append(p.got, req)
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.sigOK = append(p.sigOK, webhook.Verify(p.secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute) == nil)
		mode := p.mode
		p.nextID++
		id := "prov-" + string(rune('0'+p.nextID))
		p.mu.Unlock()
		switch mode {
		case "500":
			http.Error(w, `{"error":"gateway down"}`, 500)
		case "silent":
			select { // never answers; the client gives up
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"message_id": id, "status": "queued"})
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *smsProvider) set(mode string) { p.mu.Lock(); p.mode = mode; p.mu.Unlock() }

func (p *smsProvider) requests() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.got) }

// receipt POSTs a delivery receipt signed with secret at ts.
func receipt(t *testing.T, e *testEnv, secret string, ts time.Time, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/sms/receipts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestHTTPSMSProvider: a session notice to a party that confirmed SMS goes to the HTTP SMS provider (a real
// HTTP server started here) with the bearer token, a valid signature and the service's reference; its message
// id is kept and the service is accepted. The provider's signed receipt "delivered" makes it reached — effective
// at the receipt's time, in the trail and in the service certificate; forged, stale, unknown and malformed
// receipts change nothing. A provider answering 500 (tried twice) or never answering (a timeout) leaves the
// service failed with a clear result, and the scheduling request still answers in time; "undeliverable" fails
// an accepted service.
func TestHTTPSMSProvider(t *testing.T) {
	e := newTestEnv(t)
	const secret = "provider-shared-secret"
	prov := newSMSProvider(t, secret)
	cfg := *e.app.cfg
	cfg.SMSHTTPURL, cfg.SMSHTTPToken, cfg.SMSHTTPSecret, cfg.SMSHTTPTimeout, cfg.SMSHTTPAttempts = prov.srv.URL, "tok-123", secret, 300*time.Millisecond, 2
	e.app.cfg.SMSHTTPSecret = secret
	n := newHTTPSMSNotifier(&cfg, e.notify, slog.New(slog.DiscardHandler))
	n.retryPause = 50 * time.Millisecond

	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party, med, clerk := f.clientFor("party"), f.clientFor("mediator"), f.clientFor("clerk") // the party's login code goes to the capture notifier
	e.app.notify = n
	if st, raw := party.raw("POST", "/api/v1/cases/"+c.ID+"/service-address", cases.ServiceAddressInput{Channel: "sms", Address: "139 0000 0001", Consent: true}); st != 201 {
		t.Fatalf("confirm: %d %s", st, raw)
	}
	schedule := func(title string) (cases.ServiceRecord, time.Duration) {
		t.Helper()
		at := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
		start := time.Now()
		if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/sessions", cases.NewSession{Title: title, ScheduledAt: &at}); st != 201 {
			t.Fatalf("schedule: %d %s", st, raw)
		}
		took := time.Since(start)
		for _, r := range serviceRecords(t, clerk, c.ID) {
			if r.PartyID == c.Parties[0].ID && strings.Contains(r.Body, title) {
				return r, took
			}
		}
		t.Fatalf("no service of %q", title)
		return cases.ServiceRecord{}, 0
	}

	// Accepted by the provider, with its message id.
	rec, _ := schedule("第一次调解")
	if rec.Status != cases.ServiceAccepted || rec.MessageID != "prov-1" || rec.AcceptedAt == nil || rec.EffectiveAt != nil {
		t.Fatalf("after the provider's answer: %+v, want accepted as prov-1, not yet effective", rec)
	}
	prov.mu.Lock()
	got, auth, sigOK := prov.got[0], prov.auth[0], prov.sigOK[0]
	prov.mu.Unlock()
	if got.To != "13900000001" || got.Reference != rec.ID || !strings.Contains(got.Text, "第一次调解") || !strings.Contains(got.Text, "/api/v1/served/sv_") {
		t.Errorf("the provider received %+v", got)
	}
	if auth != "Bearer tok-123" || !sigOK {
		t.Errorf("the provider saw Authorization %q, signature valid %v", auth, sigOK)
	}

	// Receipts that must change nothing.
	// The phone got it a minute after it was sent; the receipt comes two minutes after.
	reachedAt := rec.SentAt.Add(time.Minute).Truncate(time.Second)
	e.clock.Advance(2 * time.Minute)
	good, _ := json.Marshal(map[string]any{"message_id": "prov-1", "status": "delivered", "at": reachedAt})
	for _, tc := range []struct {
		name   string
		secret string
		ts     time.Time
		body   []byte
		want   int
		says   string
	}{
		{"forged", "not-the-secret", time.Now(), good, 401, "signature"},
		{"unsigned", "", time.Now(), good, 401, "Parley-Signature"},
		{"stale (a replay)", secret, time.Now().Add(-10 * time.Minute), good, 401, "5 minutes"},
		{"unknown message id", secret, time.Now(), []byte(`{"message_id":"prov-999","status":"delivered"}`), 404, "message id"},
		{"malformed", secret, time.Now(), []byte(`{"message_id":`), 400, "JSON"},
		{"unknown status", secret, time.Now(), []byte(`{"message_id":"prov-1","status":"maybe"}`), 400, "status"},
		{"in the future", secret, time.Now(), []byte(`{"message_id":"prov-1","status":"delivered","at":"2027-01-01T00:00:00Z"}`), 400, "future"},
	} {
		st, raw := receipt(t, e, tc.secret, tc.ts, tc.body)
		if st != tc.want || !strings.Contains(string(raw), tc.says) {
			t.Errorf("%s receipt: %d %s, want %d naming %q", tc.name, st, raw, tc.want, tc.says)
		}
	}
	for _, r := range serviceRecords(t, clerk, c.ID) {
		if r.ID == rec.ID && (r.Status != cases.ServiceAccepted || r.ReachedAt != nil) {
			t.Errorf("a refused receipt changed the service: %+v", r)
		}
	}

	// The real receipt: reached, effective at the receipt's time, in the trail.
	st, raw := receipt(t, e, secret, time.Now(), good)
	var ans receiptAnswer
	json.Unmarshal(raw, &ans)
	wantAt := reachedAt
	if st != 200 || ans.Status != cases.ServiceReached || ans.EffectiveAt == nil || !ans.EffectiveAt.Equal(wantAt) {
		t.Fatalf("delivered receipt: %d %s, want reached at %s", st, raw, wantAt)
	}
	if st, raw := receipt(t, e, secret, time.Now(), good); st != 200 || !strings.Contains(string(raw), `"reached"`) {
		t.Errorf("the same receipt again: %d %s, want 200 and no change", st, raw)
	}
	if st, raw := receipt(t, e, secret, time.Now(), []byte(`{"message_id":"prov-1","status":"undeliverable"}`)); st != 409 {
		t.Errorf("a failure after delivery: %d %s, want 409", st, raw)
	}
	evs, _ := e.store.Events(context.Background(), c.ID)
	reachedEvents := 0
	for _, ev := range evs {
		if ev.Type == "service.reached" && ev.Data["message_id"] == "prov-1" {
			reachedEvents++
		}
	}
	if reachedEvents != 1 {
		t.Errorf("%d service.reached events for prov-1, want 1", reachedEvents)
	}
	// The service certificate lists the reached time (Beijing time) and is valid.
	resp, pdf := clerk.get("/api/v1/service-records/" + rec.ID + "/certificate")
	if resp.StatusCode != 200 {
		t.Fatalf("certificate: %d", resp.StatusCode)
	}
	if rep, err := signing.Verify(pdf, e.app.docs.Keys.Roots(), time.Now()); err != nil || !rep.Valid {
		t.Errorf("certificate verification: %v %+v", err, rep)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		path := filepath.Join(t.TempDir(), "cert.pdf")
		os.WriteFile(path, pdf, 0o600)
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		reached := wantAt.In(e.store.Cal.Loc).Format("2006-01-02 15:04:05 -07:00")
		if !strings.Contains(text, reached) || !strings.Contains(text, "送达生效（短信服务商送达回执）") || !strings.Contains(text, "送达渠道消息编号 prov-1") {
			t.Errorf("the certificate does not list the reached time %s: %s", reached, text)
		}
	}

	// "undeliverable" fails an accepted service.
	rec2, _ := schedule("第二次调解")
	if rec2.Status != cases.ServiceAccepted || rec2.MessageID == "" {
		t.Fatalf("second notice: %+v", rec2)
	}
	body, _ := json.Marshal(map[string]any{"message_id": rec2.MessageID, "status": "undeliverable", "error": "号码已停机"})
	if st, raw := receipt(t, e, secret, time.Now(), body); st != 200 || !strings.Contains(string(raw), `"failed"`) {
		t.Errorf("undeliverable: %d %s", st, raw)
	}

	// The provider answers 500: tried twice, failed, saying why.
	prov.set("500")
	before := prov.requests()
	rec3, _ := schedule("第三次调解")
	if rec3.Status != cases.ServiceFailed || !strings.Contains(rec3.Result, "500") || rec3.MessageID != "" {
		t.Errorf("provider 500: %s %q, want failed naming 500", rec3.Status, rec3.Result)
	}
	if n := prov.requests() - before; n != 2 {
		t.Errorf("%d attempts on 500, want 2", n)
	}

	// The provider never answers: each attempt times out (300 ms), the service fails, the request answers in time.
	prov.set("silent")
	rec4, took := schedule("第四次调解")
	if rec4.Status != cases.ServiceFailed || !strings.Contains(rec4.Result, "did not answer within 300ms") {
		t.Errorf("silent provider: %s %q, want failed: did not answer", rec4.Status, rec4.Result)
	}
	if took > 3*time.Second {
		t.Errorf("scheduling took %s with a silent provider, want under 3 s (2 attempts × 300 ms)", took)
	}
	t.Logf("scheduling with a silent provider answered in %s", took.Round(time.Millisecond))
	if rep, err := e.store.VerifyChain(context.Background(), c.ID); err != nil || !rep.Valid {
		t.Errorf("chain: %+v %v", rep, err)
	}
}

// TestSMSHTTPConfig: the provider's settings are checked at start; with a URL set, phone numbers go to the
// provider and e-mail addresses stay with SMTP or the log.
func TestSMSHTTPConfig(t *testing.T) {
	for env, says := range map[string]string{
		"PARLEY_SMS_HTTP_URL=ftp://sms.example.cn": "sms-http-url",
		"PARLEY_SMS_HTTP_ATTEMPTS=0":               "sms-http-attempts",
		"PARLEY_SMS_HTTP_ATTEMPTS=9":               "sms-http-attempts",
		"PARLEY_SMS_HTTP_TIMEOUT=0s":               "sms-http-timeout",
	} {
		k, v, _ := strings.Cut(env, "=")
		if _, _, err := parseConfig("serve", nil, envFunc(map[string]string{k: v}), io.Discard); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error naming %s", env, err, says)
		}
	}
	cfg, _, err := parseConfig("serve", nil, envFunc(map[string]string{"PARLEY_SMS_HTTP_URL": "https://sms.example.cn/send"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n := newNotifier(cfg, slog.New(slog.DiscardHandler))
	if _, ok := n.(trackedNotifier); !ok || n.Channel("13900000001") != "sms" || n.Channel("a@example.cn") != "log" {
		t.Errorf("with a provider: %T, phone %s, e-mail %s; want the provider for phones, the log for e-mail", n, n.Channel("13900000001"), n.Channel("a@example.cn"))
	}
	if cfg.SMSHTTPTimeout != 5*time.Second || cfg.SMSHTTPAttempts != 2 {
		t.Errorf("defaults: timeout %s, attempts %d", cfg.SMSHTTPTimeout, cfg.SMSHTTPAttempts)
	}
	// Without one, the log notifier still only logs.
	cfg, _, _ = parseConfig("serve", nil, envFunc(nil), io.Discard)
	if n := newNotifier(cfg, slog.New(slog.DiscardHandler)); n.Channel("13900000001") != "log" || channelResult(n.Channel("13900000001")) != "logged" {
		t.Errorf("the default notifier: %T says %s", n, channelResult(n.Channel("13900000001")))
	}
}
