package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/parley-mediation/parley/webhook"
)

// httpSMSNotifier sends SMS through an HTTP SMS provider (issue 12 §2): it POSTs {to, text, reference} as JSON
// with a bearer token and a Parley-Signature (HMAC-SHA256 over a timestamp and the body, as webhooks are
// signed), and reads the provider's answer {id or message_id, status}. The provider's id is how its delivery
// receipts (POST /api/v1/sms/receipts) later find the service. E-mail addresses go to next (SMTP, or the log).
//
// Retries: a 5xx answer, a timeout or a broken connection is tried again, attempts times in all, with a pause of
// retryPause between; a 4xx answer is the provider's refusal and is not retried. Every attempt carries the same
// reference (and Idempotency-Key), so a provider that took the first attempt can recognise the second.
type httpSMSNotifier struct {
	url, token string
	secret     []byte
	timeout    time.Duration // of one attempt
	attempts   int
	retryPause time.Duration
	client     *http.Client
	next       Notifier
	log        *slog.Logger
}

func newHTTPSMSNotifier(cfg *Config, next Notifier, log *slog.Logger) *httpSMSNotifier {
	return &httpSMSNotifier{url: cfg.SMSHTTPURL, token: cfg.SMSHTTPToken, secret: []byte(cfg.SMSHTTPSecret), timeout: cfg.SMSHTTPTimeout,
		attempts: cfg.SMSHTTPAttempts, retryPause: 500 * time.Millisecond, next: next, log: log,
		// A redirect is answered as it is (a refusal): following it would turn the POST into a GET.
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (n *httpSMSNotifier) Channel(to string) string {
	if strings.Contains(to, "@") {
		return n.next.Channel(to)
	}
	return "sms"
}

func (n *httpSMSNotifier) Notify(ctx context.Context, m Message) error {
	_, err := n.NotifyTracked(ctx, m)
	return err
}

// smsRequest is what Parley POSTs to the provider.
type smsRequest struct {
	To        string `json:"to"`        // the phone number, digits and an optional +
	Text      string `json:"text"`      // the message
	Reference string `json:"reference"` // Parley's reference of the message (the service record's id): the same on every retry
}

// smsAnswer is what the provider answers; either id or message_id names the message.
type smsAnswer struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Error     string `json:"error"`
}

// errRetry marks an attempt worth repeating (a 5xx answer, a timeout, a broken connection).
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }

// NotifyTracked sends one SMS and returns the provider's id of it.
func (n *httpSMSNotifier) NotifyTracked(ctx context.Context, m Message) (string, error) {
	if strings.Contains(m.To, "@") {
		return "", n.next.Notify(ctx, m)
	}
	ref := m.Reference
	if ref == "" {
		b := make([]byte, 12)
		rand.Read(b)
		ref = "n_" + hex.EncodeToString(b)
	}
	body, err := json.Marshal(smsRequest{To: phoneDigits(m.To), Text: m.Body, Reference: ref})
	if err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		id, err := n.attempt(ctx, body, ref)
		var retry errRetry
		if err == nil || !errors.As(err, &retry) || attempt >= n.attempts || ctx.Err() != nil {
			return id, err
		}
		n.log.Warn("SMS provider: trying again", "attempt", attempt, "reference", ref, "err", err)
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(n.retryPause):
		}
	}
}

func (n *httpSMSNotifier) attempt(ctx context.Context, body []byte, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("SMS provider: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", ref)
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	if len(n.secret) > 0 {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(n.secret, time.Now(), body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", errRetry{fmt.Errorf("the SMS provider did not answer within %s", n.timeout)}
		}
		return "", errRetry{fmt.Errorf("the SMS provider could not be reached: %v", shortErr(err))}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		if ctx.Err() != nil {
			return "", errRetry{fmt.Errorf("the SMS provider did not answer within %s", n.timeout)}
		}
		return "", errRetry{fmt.Errorf("the SMS provider's answer broke off: %v", shortErr(err))}
	}
	var ans smsAnswer
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode >= 500:
		return "", errRetry{fmt.Errorf("the SMS provider answered %d%s", resp.StatusCode, providerReason(ans, raw))}
	case resp.StatusCode >= 300:
		return "", fmt.Errorf("the SMS provider refused the message: %d%s", resp.StatusCode, providerReason(ans, raw))
	}
	switch strings.ToLower(ans.Status) {
	case "failed", "rejected", "undeliverable", "error":
		return "", fmt.Errorf("the SMS provider refused the message: %s%s", ans.Status, providerReason(ans, nil))
	}
	id := ans.MessageID
	if id == "" {
		id = ans.ID
	}
	if len(id) > 200 {
		return "", fmt.Errorf("the SMS provider answered a message id longer than 200 characters")
	}
	return id, nil
}

// providerReason is the provider's stated error, or the start of its answer.
func providerReason(ans smsAnswer, raw []byte) string {
	s := ans.Error
	if s == "" {
		s = strings.TrimSpace(string(raw))
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func shortErr(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// phoneDigits keeps the digits and a + of a phone number.
func phoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '+' {
			return r
		}
		return -1
	}, s)
}

// smsProviderDoc describes, for the OpenAPI document, the request Parley sends to the HTTP SMS provider and the
// answer it reads; the provider's delivery receipts are the route POST /api/v1/sms/receipts.
func smsProviderDoc(g *schemaGen) map[string]any {
	return map[string]any{"post": map[string]any{
		"summary": "Parley sends one SMS to PARLEY_SMS_HTTP_URL",
		"parameters": []any{
			map[string]any{"name": "Authorization", "in": "header", "schema": map[string]any{"type": "string"}, "description": "Bearer <PARLEY_SMS_HTTP_TOKEN>, when set"},
			map[string]any{"name": webhook.HeaderSignature, "in": "header", "schema": map[string]any{"type": "string"}, "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" keyed with PARLEY_SMS_HTTP_SECRET>, when set"},
			map[string]any{"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string"}, "description": "the reference: the same on a retry"},
		},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(smsRequest{}))}}},
		"responses": map[string]any{
			"2XX":     map[string]any{"description": "accepted, with the provider's message id (message_id or id) and a status; a status failed, rejected, undeliverable or error is a refusal", "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(smsAnswer{}))}}},
			"4XX":     map[string]any{"description": "refused: the service fails, not retried"},
			"default": map[string]any{"description": "5xx or no answer within PARLEY_SMS_HTTP_TIMEOUT: retried up to PARLEY_SMS_HTTP_ATTEMPTS attempts in all, then the service fails"},
		},
	}}
}
