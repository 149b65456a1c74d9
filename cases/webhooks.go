package cases

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Webhooks (issue 12 §5): a court system or an IP dispute platform registers an endpoint and receives the
// docking events of its cases as signed JSON. The outbox row of each event is written in the transaction that
// appends the event to the case's trail (enqueueWebhooks, called by appendEvent), so an event is never lost nor
// sent without having happened. Package webhook sends them.

// WebhookEvents are the trail events an endpoint may receive (and subscribe to by name). Caucus content,
// identity checks, electronic service and entering through a link never leave Parley.
var WebhookEvents = []string{
	"case.registered", "case.refer", "case.referred_by_joint_choice", "case.assign", "case.accept", "case.co_mediator_accepted",
	"case.decline", "case.co_mediator_declined", "case.return_unanswered", "case.replace_mediator", "case.withdraw",
	"case.request_extension", "case.extension_granted", "case.pause_for_appraisal", "case.resume",
	"case.agreement_reached", "case.ended", "case.agreement_effective", "case.confirmation_requested",
	"case.accept_confirmation_request", "case.refuse_confirmation_request", "case.confirm", "case.reject_confirmation",
	"case.remediate", "case.issue_statement", "case.withdraw_suit", "case.file", "case.resume_trial", "case.push_to_court",
	"session.scheduled", "session.started", "session.ended",
	"document.generated", "document.signed", "document.sealed", "document.court_signed",
	"material.uploaded", "case.bundle_pushed", "case.ruling_issued", "case.statement_issued",
}

// webhookEvent reports whether an event goes to webhooks: a docking event, visible to everyone or to staff
// (never one limited to a side), and for materials only a shared one.
func webhookEvent(typ, vis string, data map[string]any) bool {
	if !slices.Contains(WebhookEvents, typ) || (vis != VisAll && vis != VisStaff && vis != "") {
		return false
	}
	if typ == "material.uploaded" {
		return data["visibility"] == MatShared
	}
	return true
}

// webhookData is an event's data as a court system reads it: no contact details, no notes that may hold
// identity numbers.
func webhookData(data map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range data {
		if !slices.Contains(contactKeys, k) {
			out[k] = v
		}
	}
	return out
}

// enqueueWebhooks writes the outbox rows of one event inside the transaction that appends it. The payload is
// built in SQL from the case row as the event leaves it.
func (s *Store) enqueueWebhooks(ctx context.Context, tx pgx.Tx, caseID string, seq int64, at time.Time, actor Principal, typ, vis string, data map[string]any, hash []byte) error {
	if !webhookEvent(typ, vis, data) {
		return nil
	}
	raw, err := json.Marshal(webhookData(data))
	if err != nil {
		return fmt.Errorf("cases: webhook payload: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, case_id, event_seq, event_type, payload, next_at, created_at)
		SELECT e.id, c.id, $2::bigint, $3::text,
			jsonb_build_object('id', 'evt_' || c.id::text || '_' || ($2::bigint)::text, 'type', $3::text, 'created_at', $4::timestamptz,
				'case', jsonb_build_object('id', c.id, 'number', c.number, 'court_case_number', c.court_case_number, 'state', c.state,
					'court_id', COALESCE(c.court_id::text, ''), 'organisation_id', COALESCE(c.organisation_id::text, '')),
				'event', jsonb_build_object('seq', $2::bigint, 'at', $4::timestamptz, 'actor_kind', $5::text, 'actor_name', $6::text, 'data', $7::jsonb, 'hash', $8::text)),
			$4::timestamptz, $4::timestamptz
		FROM webhook_endpoints e, cases c
		WHERE c.id = $1 AND e.active AND (e.org_id IS NULL OR e.org_id = c.court_id OR e.org_id = c.organisation_id)
			AND (cardinality(e.events) = 0 OR $3::text = ANY (e.events))`,
		caseID, seq, typ, at, string(actor.Kind), actor.Name, string(raw), fmt.Sprintf("%x", hash))
	if err != nil {
		return fmt.Errorf("cases: webhook outbox: %w", err)
	}
	return nil
}

// WebhookEndpoint is a registered receiver. Its secret is shown once, when it is created.
type WebhookEndpoint struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	OrgID     string    `json:"org_id,omitempty"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// NewWebhookEndpoint registers an endpoint.
type NewWebhookEndpoint struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	OrgID  string   `json:"org_id,omitempty"` // only this organisation's cases (a court's, or a mediation organisation's); empty: every case
	Events []string `json:"events,omitempty"` // only these events; empty: all of WebhookEvents
}

// Valid checks the input.
func (n NewWebhookEndpoint) Valid() map[string]string {
	f := map[string]string{}
	requireText(f, "name", n.Name, true, 100)
	if u, err := url.Parse(n.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(n.URL) > 500 {
		f["url"] = "is an http or https URL without credentials (https in production)"
	}
	if n.OrgID != "" && !isUUID(n.OrgID) {
		f["org_id"] = "is an organisation's ID"
	}
	for _, e := range n.Events {
		if !slices.Contains(WebhookEvents, e) {
			f["events"] = fmt.Sprintf("%q is not a webhook event (see the OpenAPI document's x-webhooks)", e)
		}
	}
	return f
}

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// WebhookDelivery is one event for one endpoint, with its attempts when read from the log.
type WebhookDelivery struct {
	ID          int64            `json:"id"`
	EndpointID  string           `json:"endpoint_id"`
	CaseID      string           `json:"case_id"`
	EventSeq    int64            `json:"event_seq"`
	EventType   string           `json:"event_type"`
	Status      string           `json:"status"`
	Attempts    int              `json:"attempts"`
	NextAt      time.Time        `json:"next_at"`
	LastStatus  int              `json:"last_status,omitempty"`
	LastError   string           `json:"last_error,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	DeliveredAt *time.Time       `json:"delivered_at,omitempty"`
	Log         []WebhookAttempt `json:"log"`
}

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int       `json:"duration_ms"`
	Outcome    string    `json:"outcome"` // delivered, retry or dead
}

// ClaimedDelivery is a delivery a sender holds the lease of: what to send, where, with which secret.
type ClaimedDelivery struct {
	ID         int64
	EndpointID string
	URL        string
	Secret     []byte
	EventType  string
	Payload    []byte
	Attempt    int // this attempt's number, from 1
	Token      string
}

// RetryPolicy says when a failed delivery is tried again: after Base, doubling each time up to Max, and after
// MaxAttempts attempts it is dead (kept, and replayable by hand).
type RetryPolicy struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// Backoff is the wait after failed attempt n (from 1): Base × 2^(n-1), at most Max.
func (r RetryPolicy) Backoff(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

func mustAdmin(p Principal) error {
	if !p.IsStaff(RoleAdmin) {
		return Errorf(EFORBIDDEN, "webhooks are managed by the platform admin")
	}
	return nil
}

// CreateWebhookEndpoint registers an endpoint (platform admin) and returns it with its signing secret, which is
// never shown again.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, p Principal, n NewWebhookEndpoint) (*WebhookEndpoint, string, error) {
	if err := mustAdmin(p); err != nil {
		return nil, "", err
	}
	if err := Invalid(n.Valid()); err != nil {
		return nil, "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("cases: webhook secret: %w", err)
	}
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	ep := &WebhookEndpoint{Name: strings.TrimSpace(n.Name), URL: n.URL, OrgID: n.OrgID, Events: n.Events, Active: true, CreatedAt: s.now()}
	if ep.Events == nil {
		ep.Events = []string{}
	}
	var org any
	if n.OrgID != "" {
		org = n.OrgID
	}
	if err := s.pool.QueryRow(ctx, `INSERT INTO webhook_endpoints (name, url, secret, org_id, events, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		ep.Name, ep.URL, secret, org, ep.Events, p.ID, ep.CreatedAt).Scan(&ep.ID); err != nil {
		return nil, "", dbErr("create webhook", err)
	}
	return ep, secret, nil
}

// WebhookEndpoints lists the endpoints (platform admin).
func (s *Store) WebhookEndpoints(ctx context.Context, p Principal) ([]WebhookEndpoint, error) {
	if err := mustAdmin(p); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, name, url, COALESCE(org_id::text, ''), events, active, created_at FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr("webhooks", err)
	}
	defer rows.Close()
	out := []WebhookEndpoint{}
	for rows.Next() {
		var e WebhookEndpoint
		if err := rows.Scan(&e.ID, &e.Name, &e.URL, &e.OrgID, &e.Events, &e.Active, &e.CreatedAt); err != nil {
			return nil, dbErr("webhooks", err)
		}
		out = append(out, e)
	}
	return out, dbErr("webhooks", rows.Err())
}

// DisableWebhookEndpoint stops new deliveries to an endpoint (platform admin); pending ones are not sent.
func (s *Store) DisableWebhookEndpoint(ctx context.Context, p Principal, id string) error {
	if err := mustAdmin(p); err != nil {
		return err
	}
	if !isUUID(id) {
		return Errorf(ENOTFOUND, "webhook not found")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET active = false WHERE id = $1`, id)
	if err != nil {
		return dbErr("disable webhook", err)
	}
	if tag.RowsAffected() == 0 {
		return Errorf(ENOTFOUND, "webhook not found")
	}
	return nil
}

// WebhookDeliveries is an endpoint's delivery log, newest first, each with its attempts (platform admin).
func (s *Store) WebhookDeliveries(ctx context.Context, p Principal, endpointID string, limit int) ([]WebhookDelivery, error) {
	if err := mustAdmin(p); err != nil {
		return nil, err
	}
	if !isUUID(endpointID) {
		return nil, Errorf(ENOTFOUND, "webhook not found")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, endpoint_id, case_id, event_seq, event_type, status, attempts, next_at, last_status, last_error, created_at, delivered_at
		FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`, endpointID, limit)
	if err != nil {
		return nil, dbErr("webhook deliveries", err)
	}
	out := []WebhookDelivery{}
	idx := map[int64]int{}
	for rows.Next() {
		var d WebhookDelivery
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.CaseID, &d.EventSeq, &d.EventType, &d.Status, &d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt); err != nil {
			rows.Close()
			return nil, dbErr("webhook deliveries", err)
		}
		d.Log = []WebhookAttempt{}
		idx[d.ID] = len(out)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("webhook deliveries", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, 0, len(out))
	for _, d := range out {
		ids = append(ids, d.ID)
	}
	rows, err = s.pool.Query(ctx, `SELECT delivery_id, attempt, at, status_code, error, duration_ms, outcome FROM webhook_attempts WHERE delivery_id = ANY ($1) ORDER BY id`, ids)
	if err != nil {
		return nil, dbErr("webhook deliveries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a WebhookAttempt
		if err := rows.Scan(&id, &a.Attempt, &a.At, &a.StatusCode, &a.Error, &a.DurationMS, &a.Outcome); err != nil {
			return nil, dbErr("webhook deliveries", err)
		}
		out[idx[id]].Log = append(out[idx[id]].Log, a)
	}
	return out, dbErr("webhook deliveries", rows.Err())
}

// ReplayWebhookDelivery sends a delivery again from its first attempt (platform admin): a dead one after the
// receiver is fixed, or a delivered one the receiver lost. Its log is kept.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, p Principal, id int64) (*WebhookDelivery, error) {
	if err := mustAdmin(p); err != nil {
		return nil, err
	}
	var d WebhookDelivery
	err := s.pool.QueryRow(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = $2, lease_until = NULL, lease_token = ''
		WHERE id = $1 AND status <> 'pending' RETURNING id, endpoint_id, case_id, event_seq, event_type, status, attempts, next_at, created_at`, id, s.now()).
		Scan(&d.ID, &d.EndpointID, &d.CaseID, &d.EventSeq, &d.EventType, &d.Status, &d.Attempts, &d.NextAt, &d.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		var status string
		if err := s.pool.QueryRow(ctx, `SELECT status FROM webhook_deliveries WHERE id = $1`, id).Scan(&status); err != nil {
			return nil, Errorf(ENOTFOUND, "delivery not found")
		}
		return nil, Errorf(ECONFLICT, "the delivery is still pending: it will be sent (or retried) by itself")
	}
	if err != nil {
		return nil, dbErr("replay delivery", err)
	}
	d.Log = []WebhookAttempt{}
	return &d, nil
}

// ClaimWebhookDeliveries takes up to n due deliveries for this sender: the rows are chosen with FOR UPDATE
// SKIP LOCKED (two nodes never pick the same row) and leased until now+lease, and the claim commits at once, so
// no lock is held while the request is out. A sender that dies loses its lease when it expires, and another
// sends the delivery again (receivers deduplicate by the delivery ID).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, n int, lease time.Duration) ([]ClaimedDelivery, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("cases: claim deliveries: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) AND e.active
			ORDER BY d.next_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
		UPDATE webhook_deliveries d SET lease_until = $3, lease_token = $4, attempts = d.attempts + 1
		FROM due, webhook_endpoints e WHERE d.id = due.id AND e.id = d.endpoint_id
		RETURNING d.id, d.endpoint_id, e.url, e.secret, d.event_type, d.payload::text, d.attempts`, now, n, now.Add(lease), tok)
	if err != nil {
		return nil, dbErr("claim deliveries", err)
	}
	defer rows.Close()
	var out []ClaimedDelivery
	for rows.Next() {
		var c ClaimedDelivery
		var secret, payload string
		if err := rows.Scan(&c.ID, &c.EndpointID, &c.URL, &secret, &c.EventType, &payload, &c.Attempt); err != nil {
			return nil, dbErr("claim deliveries", err)
		}
		c.Secret, c.Payload, c.Token = []byte(secret), []byte(payload), tok
		out = append(out, c)
	}
	return out, dbErr("claim deliveries", rows.Err())
}

// WebhookResult is what one attempt gave.
type WebhookResult struct {
	StatusCode int
	Error      string
	Duration   time.Duration
}

// OK reports whether the receiver took the delivery (any 2xx).
func (r WebhookResult) OK() bool { return r.Error == "" && r.StatusCode >= 200 && r.StatusCode < 300 }

// RecordWebhookAttempt logs an attempt of a delivery the caller leased and moves the delivery on: delivered, due
// again after the policy's backoff, or dead after its last attempt. It returns the outcome ("" when the lease
// had been lost, and nothing was changed).
func (s *Store) RecordWebhookAttempt(ctx context.Context, now time.Time, c ClaimedDelivery, r WebhookResult, pol RetryPolicy) (string, error) {
	outcome := "retry"
	switch {
	case r.OK():
		outcome = DeliveryDelivered
	case c.Attempt >= pol.MaxAttempts:
		outcome = DeliveryDead
	}
	errText := r.Error
	if len(errText) > 500 {
		errText = errText[:500]
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var tag interface{ RowsAffected() int64 }
		var err error
		switch outcome {
		case DeliveryDelivered:
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $3, lease_until = NULL, last_status = $4, last_error = ''
				WHERE id = $1 AND lease_token = $2 AND status = 'pending'`, c.ID, c.Token, now, r.StatusCode)
		case DeliveryDead:
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', lease_until = NULL, last_status = $3, last_error = $4
				WHERE id = $1 AND lease_token = $2 AND status = 'pending'`, c.ID, c.Token, r.StatusCode, errText)
		default:
			tag, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET next_at = $3, lease_until = NULL, last_status = $4, last_error = $5
				WHERE id = $1 AND lease_token = $2 AND status = 'pending'`, c.ID, c.Token, now.Add(pol.Backoff(c.Attempt)), r.StatusCode, errText)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			outcome = ""
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Attempt, now, r.StatusCode, errText, int(r.Duration/time.Millisecond), outcome)
		return err
	})
	if err != nil {
		return "", dbErr("record delivery", err)
	}
	return outcome, nil
}
