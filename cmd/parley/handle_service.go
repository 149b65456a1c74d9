package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/webhook"
)

// The HTTP side of electronic service (issue 12 §2; rules and texts in cases/service.go): the party's own
// confirmation of its service address, the service records, and the personal link that opens a served notice.

func (a *app) serviceRoutes() []route {
	return []route{
		{"POST", "/api/v1/cases/{id}/service-address", "A party confirms its electronic-service address and consents to electronic service (送达地址确认书; its own act, not staff's)", "service", anyone, nil, cases.ServiceAddressInput{}, cases.ServiceConfirmation{}, 201, handleServiceAddress(a)},
		{"GET", "/api/v1/cases/{id}/service-address", "The confirmations in force (a party: its own; the case's staff: every party's)", "service", anyone, nil, nil, []cases.ServiceConfirmation{}, 200, handleServiceAddresses(a)},
		{"GET", "/api/v1/cases/{id}/service-records", "The case's electronic services: sent, accepted by the channel, reached, opened (a party: its own)", "service", anyone, nil, nil, []cases.ServiceRecord{}, 200, handleServiceRecords(a)},
		{"POST", "/api/v1/service-records/{id}/open", "The served party opens a notice on its page", "service", anyone, nil, nil, cases.ServiceRecord{}, 200, handleServiceOpen(a)},
		{"GET", "/api/v1/service-records/{id}/certificate", "The service certificate (送达证明) PDF of one service, signed by the platform (the served party and the case's staff)", "service", anyone, nil, nil, rawBody("application/pdf"), 200, handleServiceCertificate(a)},
		{"POST", "/api/v1/sms/receipts", "The HTTP SMS provider's delivery receipt {message_id, status: delivered|failed|undeliverable, at, error}, signed with the shared secret (Parley-Signature: t=<unix>,v1=<HMAC-SHA256 of \"<t>.<body>\">, within 5 minutes): delivered makes the service reached (effective) at its time", "service", public, nil, cases.ServiceReceipt{}, receiptAnswer{}, 200, handleSMSReceipt(a)},
		{"GET", "/api/v1/served/{token}", "The personal link of a served notice: shows it and records that it was opened", "service", public, nil, nil, cases.ServiceRecord{}, 200, handleServedLink(a)},
	}
}

func handleServiceAddress(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.ServiceAddressInput](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		c, err := a.store.ConfirmServiceAddress(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, c)
	})
}

func handleServiceAddresses(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.store.ServiceConfirmations(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, cs)
	})
}

func handleServiceRecords(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs, err := a.store.ServiceRecords(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rs)
	})
}

func handleServiceOpen(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := a.store.OpenServiceRecord(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rec)
	})
}

// openServed opens the service a personal link names (rate-limited per address: the link is the credential)
// and marks it opened; false when it answered the request itself.
func (a *app) openServed(w http.ResponseWriter, r *http.Request) (*cases.ServiceRecord, bool) {
	if !a.limiter.allow(r.Context(), "served:"+a.clientIP(r)) {
		fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests from your address: try again later"))
		return nil, false
	}
	rec, err := a.store.OpenService(r.Context(), r.PathValue("token"))
	if err != nil {
		fail(w, r, a.log, err)
		return nil, false
	}
	return rec, true
}

func handleServedLink(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := a.openServed(w, r)
		if !ok {
			return
		}
		rec.Address = maskContact(rec.Address)
		encode(w, http.StatusOK, rec)
	})
}

// serveNotice serves a notice on every party of c at its confirmed address (cases.BeginService decides whether
// it may): in-app at once, by SMS or e-mail through the notifier with the personal link that records the
// opening. The channel's answer is recorded: accepted, failed, or "logged" for the log notifier (never
// "delivered": nothing reached anyone).
func (a *app) serveNotice(ctx context.Context, c *cases.Case, kind string, notice func(p cases.Party) cases.Notice) []cases.ServiceRecord {
	return a.serveOn(ctx, c, kind, nil, notice)
}

// serveOn serves like serveNotice; with doc, the stored court document itself is what is served: each record
// names its ID and SHA-256 (so its certificate does), and the personal link opens the PDF.
func (a *app) serveOn(ctx context.Context, c *cases.Case, kind string, doc *cases.CourtDocument, notice func(p cases.Party) cases.Notice) []cases.ServiceRecord {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var out []cases.ServiceRecord
	for _, p := range c.Parties {
		n := notice(p)
		ns := cases.NewService{PartyID: p.ID, Kind: kind, Title: n.Title, Body: n.Body()}
		if doc != nil { // what is served is the document: its title, ID and hash (the notice text goes with it)
			ns.Title, ns.DocumentID, ns.DocumentSHA256 = doc.Title, doc.ID, doc.SHA256
		}
		rec, tok, err := a.store.BeginService(ctx, c.ID, ns)
		if err != nil {
			a.log.Error("electronic service", "case", c.ID, "party", p.ID, "err", err)
			continue
		}
		if rec.Status == cases.ServiceSent {
			link := a.cfg.BaseURL + "/api/v1/served/" + string(tok)
			if doc != nil {
				link += "/document" // the PDF itself
			}
			ans := cases.ChannelAnswer{Outcome: cases.ServiceAccepted, Result: "accepted by " + a.notify.Channel(rec.Address)}
			m := Message{To: rec.Address, Name: p.Name, Subject: n.Title, Body: n.ZH + " 查看：" + link + " / " + n.EN + " Open: " + link, Reference: rec.ID}
			var err error
			if tn, ok := a.notify.(trackedNotifier); ok {
				ans.MessageID, err = tn.NotifyTracked(ctx, m)
			} else {
				err = a.notify.Notify(ctx, m)
			}
			switch {
			case err != nil:
				ans = cases.ChannelAnswer{Outcome: cases.ServiceFailed, Result: "failed: " + err.Error()}
			case a.notify.Channel(rec.Address) == "log":
				ans.Outcome, ans.Result = "logged", "logged"
			case ans.MessageID != "":
				ans.Result += " as message " + ans.MessageID
			}
			if r2, err := a.store.FinishService(ctx, rec.ID, ans); err == nil {
				rec = r2
			} else {
				a.log.Error("record electronic service", "case", c.ID, "err", err)
			}
		}
		out = append(out, *rec)
	}
	return out
}

// channelResult is what a notice handed to a channel without error tells: the log notifier only logged it (it
// reached no one: never "delivered"); an SMTP server or SMS gateway accepted it, which is not yet its arrival.
func channelResult(channel string) string {
	if channel == "log" {
		return "logged"
	}
	return "accepted by " + channel
}

func handleServiceCertificate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, c, err := a.store.ServiceRecordFor(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		addr := "—"
		if rec.Address != "" {
			addr = maskContact(rec.Address)
		}
		pdf, err := a.docs.ServiceCertificate(r.Context(), c, rec, addr)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", attachment("送达证明-"+rec.ID[:8]+".pdf"))
		w.Header().Set("X-Content-SHA256", sha256Hex(pdf))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(pdf)
	})
}

// receiptTolerance is how far a receipt's signature timestamp may be from now: an older request is refused as a
// replay.
const receiptTolerance = 5 * time.Minute

// handleSMSReceipt takes the SMS provider's delivery receipts. The signature is checked over the raw body before
// anything is parsed; a bad or stale one is 401 and changes nothing.
func handleSMSReceipt(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.SMSHTTPSecret == "" {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "SMS delivery receipts are not configured on this server"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
		if errors.Is(err, errSlowBody) {
			fail(w, r, a.log, &cases.Error{Code: "body_timeout", Message: "the request body arrived too slowly"})
			return
		}
		if err != nil {
			fail(w, r, a.log, cases.Errorf(cases.EINVALID, "could not read the request body"))
			return
		}
		if len(body) > 64<<10 {
			fail(w, r, a.log, cases.Errorf("too_large", "the request body is larger than %d bytes", 64<<10))
			return
		}
		sig := r.Header.Get(webhook.HeaderSignature)
		if sig == "" {
			fail(w, r, a.log, cases.Errorf(cases.EUNAUTHORIZED, "the receipt has no Parley-Signature header"))
			return
		}
		if err := webhook.Verify([]byte(a.cfg.SMSHTTPSecret), sig, body, time.Now(), receiptTolerance); err != nil {
			a.log.Warn("SMS receipt refused", "err", err, "remote", a.clientIP(r))
			fail(w, r, a.log, cases.Errorf(cases.EUNAUTHORIZED, "the receipt's signature is not valid or its timestamp is more than 5 minutes away"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		in, err := decode[cases.ServiceReceipt](r, 64<<10)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rec, err := a.store.RecordServiceReceipt(r.Context(), cases.ChannelSMS, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, receiptAnswer{ServiceID: rec.ID, Status: rec.Status, EffectiveAt: rec.EffectiveAt, FailedAt: rec.FailedAt})
	})
}

// receiptAnswer tells the provider what its receipt did, and nothing of the case.
type receiptAnswer struct {
	ServiceID   string     `json:"service_id"`
	Status      string     `json:"status"` // reached or failed
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
}
