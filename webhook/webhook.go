// Package webhook sends the case events of the outbox (cases/webhooks.go) to the endpoints court systems and IP
// dispute platforms registered, signed with HMAC-SHA256 over a timestamp and the body, with retries and
// exponential backoff. Every node runs a Sender; the store's claim (FOR UPDATE SKIP LOCKED and a lease) makes
// one sender send each delivery at a time. It knows nothing of the HTTP API.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// Headers of every delivery.
const (
	HeaderSignature = "Parley-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
	HeaderEvent     = "Parley-Event"     // the event type, e.g. case.accept
	HeaderDelivery  = "Parley-Delivery"  // the delivery's ID: the same on every retry and replay (deduplicate by it)
)

// Sign returns the Parley-Signature header for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a Parley-Signature header against body as a receiver does: one of its v1 signatures must match
// and its timestamp must be within tolerance of now (which stops replays of an old, captured request).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook: malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp outside the tolerance")
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: signature does not match")
}

// Store is what the sender needs of the case store.
type Store interface {
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]cases.ClaimedDelivery, error)
	RecordWebhookAttempt(ctx context.Context, now time.Time, c cases.ClaimedDelivery, r cases.WebhookResult, pol cases.RetryPolicy) (string, error)
}

// Sender sends due deliveries. Run it once per node.
type Sender struct {
	Store    Store
	Client   *http.Client // its Timeout bounds each attempt
	Log      *slog.Logger
	Policy   cases.RetryPolicy
	Interval time.Duration // how often to look for due deliveries
	Batch    int           // deliveries claimed (and sent in parallel) at once
	Now      func() time.Time
	// UserAgent names the sender.
	UserAgent string
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Run sends until ctx ends. Each round claims a batch, sends it in parallel and records every attempt before
// the next round; it returns once the last round's requests have finished (each is bounded by the client's
// timeout and by ctx).
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		for s.round(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round claims and sends one batch; it returns how many it claimed.
func (s *Sender) round(ctx context.Context) int {
	timeout := s.Client.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	batch := max(s.Batch, 1)
	claimed, err := s.Store.ClaimWebhookDeliveries(ctx, s.now(), batch, 2*timeout+10*time.Second)
	if err != nil {
		if ctx.Err() == nil {
			s.Log.Warn("webhook: claim", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, c := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.deliver(ctx, c)
		}()
	}
	wg.Wait()
	return len(claimed)
}

// Deliver sends one claimed delivery and records the attempt.
func (s *Sender) deliver(ctx context.Context, c cases.ClaimedDelivery) {
	res := s.send(ctx, c)
	// The attempt is recorded even when ctx ended mid-request (a shutdown): the lease then runs out and another
	// node sends it again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	outcome, err := s.Store.RecordWebhookAttempt(rctx, s.now(), c, res, s.Policy)
	if err != nil {
		s.Log.Error("webhook: record attempt", "delivery", c.ID, "err", err)
		return
	}
	lvl := slog.LevelDebug
	if outcome != cases.DeliveryDelivered {
		lvl = slog.LevelWarn
	}
	s.Log.Log(ctx, lvl, "webhook delivery", "delivery", c.ID, "endpoint", c.EndpointID, "event", c.EventType, "attempt", c.Attempt, "status", res.StatusCode, "err", res.Error, "outcome", outcome)
}

func (s *Sender) send(ctx context.Context, c cases.ClaimedDelivery) cases.WebhookResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Payload))
	if err != nil {
		return cases.WebhookResult{Error: "bad endpoint URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, Sign(c.Secret, s.now(), c.Payload))
	req.Header.Set(HeaderEvent, c.EventType)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(c.ID, 10))
	ua := s.UserAgent
	if ua == "" {
		ua = "Parley-Webhooks/1"
	}
	req.Header.Set("User-Agent", ua)
	resp, err := s.Client.Do(req)
	if err != nil {
		return cases.WebhookResult{Error: describe(err), Duration: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r := cases.WebhookResult{StatusCode: resp.StatusCode, Duration: time.Since(start)}
	if !r.OK() {
		r.Error = fmt.Sprintf("the receiver answered %d", resp.StatusCode)
	}
	return r
}

func describe(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer within the timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "the sender stopped"
	}
	return err.Error()
}

// NewClient is an HTTP client for deliveries: redirects are not followed (a receiver answers itself), and
// timeout bounds each attempt.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
