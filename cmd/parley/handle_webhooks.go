package main

import (
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/webhook"
)

// The HTTP side of webhooks (issue 12 §5; the outbox and its rules in cases/webhooks.go, the sender in
// webhook/). Endpoints are managed by the platform admin; docs/casefile.md describes the signature.

type webhookCreated struct {
	Endpoint *cases.WebhookEndpoint `json:"endpoint"`
	Secret   string                 `json:"secret"` // shown once: sign-checking key of the endpoint
}

// webhookPayload is the body of every delivery (built in SQL by cases.enqueueWebhooks; described here for the
// OpenAPI document).
type webhookPayload struct {
	ID        string       `json:"id"`   // evt_<case>_<seq>: the event, the same for every endpoint
	Type      string       `json:"type"` // one of cases.WebhookEvents
	CreatedAt time.Time    `json:"created_at"`
	Case      webhookCase  `json:"case"`
	Event     webhookEvent `json:"event"`
}

type webhookCase struct {
	ID              string `json:"id"`
	Number          string `json:"number"`
	CourtCaseNumber string `json:"court_case_number"`
	State           string `json:"state"` // after the event
	CourtID         string `json:"court_id"`
	OrganisationID  string `json:"organisation_id"`
}

type webhookEvent struct {
	Seq       int64          `json:"seq"`
	At        time.Time      `json:"at"`
	ActorKind string         `json:"actor_kind"`
	ActorName string         `json:"actor_name"`
	Data      map[string]any `json:"data"` // the trail event's data without contact details
	Hash      string         `json:"hash"` // the event's hash in the case's chain (hex)
}

func (a *app) webhookRoutes() []route {
	return []route{
		{"GET", "/api/v1/webhooks", "Registered webhook endpoints (platform admin)", "webhooks", staff, nil, nil, []cases.WebhookEndpoint{}, 200, handleWebhooks(a)},
		{"POST", "/api/v1/webhooks", "Register a webhook endpoint of a court system or IP platform (platform admin); answers its signing secret once", "webhooks", staff, nil, cases.NewWebhookEndpoint{}, webhookCreated{}, 201, handleWebhookCreate(a)},
		{"DELETE", "/api/v1/webhooks/{id}", "Stop sending to an endpoint (platform admin)", "webhooks", staff, nil, nil, nil, 204, handleWebhookDisable(a)},
		{"GET", "/api/v1/webhooks/{id}/deliveries", "An endpoint's delivery log, newest first, with every attempt (platform admin)", "webhooks", staff, []param{{"limit", "integer", "1–500 (default 100)"}}, nil, []cases.WebhookDelivery{}, 200, handleWebhookDeliveries(a)},
		{"POST", "/api/v1/webhook-deliveries/{id}/replay", "Send a dead or delivered delivery again from its first attempt (platform admin)", "webhooks", staff, nil, nil, cases.WebhookDelivery{}, 200, handleWebhookReplay(a)},
	}
}

func handleWebhooks(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eps, err := a.store.WebhookEndpoints(r.Context(), principal(r))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, eps)
	})
}

func handleWebhookCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).IsStaff(cases.RoleAdmin) { // before reading the body
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "webhooks are managed by the platform admin"))
			return
		}
		in, err := decode[cases.NewWebhookEndpoint](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ep, secret, err := a.store.CreateWebhookEndpoint(r.Context(), principal(r), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, webhookCreated{ep, secret})
	})
}

func handleWebhookDisable(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.DisableWebhookEndpoint(r.Context(), principal(r), r.PathValue("id")); err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleWebhookDeliveries(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intQuery(r, "limit", 100, 1, 500)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ds, err := a.store.WebhookDeliveries(r.Context(), principal(r), r.PathValue("id"), limit)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ds)
	})
}

func handleWebhookReplay(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "delivery not found"))
			return
		}
		d, err := a.store.ReplayWebhookDelivery(r.Context(), principal(r), id)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, d)
	})
}

// webhookPolicy is the configured retry schedule.
func webhookPolicy(cfg *Config) cases.RetryPolicy {
	return cases.RetryPolicy{Base: cfg.WebhookRetryBase, Max: cfg.WebhookRetryMax, MaxAttempts: cfg.WebhookMaxAttempts}
}

// newWebhookSender is this node's sender of webhook deliveries.
func newWebhookSender(cfg *Config, store *cases.Store, logger *slog.Logger) *webhook.Sender {
	return &webhook.Sender{Store: store, Client: webhook.NewClient(cfg.WebhookTimeout), Log: logger.With("component", "webhooks"),
		Policy: webhookPolicy(cfg), Interval: cfg.WebhookInterval, Batch: 8, UserAgent: "Parley-Webhooks/" + version}
}

// webhookDoc describes the deliveries for the OpenAPI document (x-webhooks: OpenAPI 3.0 has no webhooks
// object): one entry per event, each a POST of webhookPayload with the signature headers.
func webhookDoc(g *schemaGen) map[string]any {
	schema := g.schema(reflect.TypeOf(webhookPayload{}))
	headers := []any{
		map[string]any{"name": webhook.HeaderSignature, "in": "header", "required": true, "schema": map[string]any{"type": "string"},
			"description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" keyed with the endpoint's secret>; reject a t more than 5 minutes from your clock (docs/casefile.md)"},
		map[string]any{"name": webhook.HeaderEvent, "in": "header", "required": true, "schema": map[string]any{"type": "string"}, "description": "the event type"},
		map[string]any{"name": webhook.HeaderDelivery, "in": "header", "required": true, "schema": map[string]any{"type": "string"}, "description": "the delivery's ID, the same on every retry and replay: deduplicate by it"},
	}
	out := map[string]any{}
	for _, ev := range cases.WebhookEvents {
		out[ev] = map[string]any{"post": map[string]any{
			"summary":     "Parley sends " + ev,
			"parameters":  headers,
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema}}},
			"responses": map[string]any{
				"2XX":     map[string]any{"description": "received; any other answer, or none within the timeout, is retried with exponential backoff"},
				"default": map[string]any{"description": "retried"},
			},
		}}
	}
	return out
}
