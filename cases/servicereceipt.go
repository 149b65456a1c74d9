package cases

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery receipts (issue 12 §2): an HTTP SMS provider that accepted a message under its own message id later
// reports whether it reached the phone. "delivered" means it reached the address's system: the service takes
// effect at the receipt's time. "failed" or "undeliverable" means it never will: the service failed.

// Receipt statuses an SMS provider reports.
const (
	ReceiptDelivered     = "delivered"
	ReceiptFailed        = "failed"
	ReceiptUndeliverable = "undeliverable"
)

// ReceiptSkew is how far in the future a receipt's time may lie (the provider's clock against ours); such a time
// is taken as now.
const ReceiptSkew = 5 * time.Minute

// ServiceReceipt is one delivery receipt.
type ServiceReceipt struct {
	MessageID string     `json:"message_id"`      // the provider's id of the message, as it answered when it accepted it
	Status    string     `json:"status"`          // delivered, failed or undeliverable
	At        *time.Time `json:"at,omitempty"`    // when it reached the phone (or failed); now when absent
	Error     string     `json:"error,omitempty"` // the provider's reason for a failure
}

// Valid checks a receipt.
func (r ServiceReceipt) Valid() map[string]string {
	f := map[string]string{}
	if strings.TrimSpace(r.MessageID) == "" || len(r.MessageID) > 200 {
		f["message_id"] = "is the provider's message id (1–200 characters)"
	}
	switch r.Status {
	case ReceiptDelivered, ReceiptFailed, ReceiptUndeliverable:
	default:
		f["status"] = "is delivered, failed or undeliverable"
	}
	if len(r.Error) > 500 {
		f["error"] = "is at most 500 characters"
	}
	return f
}

// RecordServiceReceipt applies a receipt of channel's provider to the service it names. Applying the same receipt
// again changes nothing (a provider may send it twice); a receipt that contradicts the record — delivered after a
// failure, or a failure after the service reached the phone — is a conflict and changes nothing.
func (s *Store) RecordServiceReceipt(ctx context.Context, channel string, r ServiceReceipt) (*ServiceRecord, error) {
	if err := Invalid(r.Valid()); err != nil {
		return nil, err
	}
	var rec *ServiceRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id, caseID string
		err := tx.QueryRow(ctx, `SELECT id, case_id FROM service_records WHERE channel = $1 AND provider_message_id = $2`, channel, r.MessageID).Scan(&id, &caseID)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(ENOTFOUND, "no service was sent under this message id")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		cur, err := scanService(tx.QueryRow(ctx, `SELECT `+serviceCols+` FROM service_records WHERE id = $1`, id))
		if err != nil {
			return err
		}
		now := s.now()
		at := now
		if r.At != nil {
			at = *r.At
		}
		switch {
		case at.After(now.Add(ReceiptSkew)):
			return Invalid(map[string]string{"at": "lies in the future"})
		case at.After(now):
			at = now
		case cur.SentAt != nil && at.Before(*cur.SentAt):
			return Invalid(map[string]string{"at": "is before the message was sent"})
		}
		delivered := r.Status == ReceiptDelivered
		switch cur.Status {
		case ServiceReached, ServiceOpened:
			if delivered {
				rec = cur // a repeated receipt
				return nil
			}
			return Errorf(ECONFLICT, "the service already reached the party: a later failure receipt cannot undo it")
		case ServiceFailed:
			if !delivered {
				rec = cur
				return nil
			}
			return Errorf(ECONFLICT, "the service was already recorded as failed")
		case ServiceSent, ServiceAccepted:
		default:
			return Errorf(ECONFLICT, "the service was already recorded as failed")
		}
		data := map[string]any{"service_id": id, "party_id": cur.PartyID, "channel": channel, "message_id": r.MessageID, "receipt": r.Status, "at": at.UTC().Format(time.RFC3339)}
		if delivered {
			rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET status = 'reached', reached_at = $2, result = $3 WHERE id = $1 RETURNING `+serviceCols,
				id, at, "delivered (the provider's receipt)"))
			if err != nil {
				return err
			}
			_, err = s.appendEvent(ctx, tx, caseID, System, "service.reached", VisStaff, data, now)
			return err
		}
		result := r.Status
		if e := strings.TrimSpace(r.Error); e != "" {
			result += ": " + e
			data["error"] = e
		}
		rec, err = scanService(tx.QueryRow(ctx, `UPDATE service_records SET status = 'failed', failed_at = $2, result = $3 WHERE id = $1 RETURNING `+serviceCols, id, at, result))
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, caseID, System, "service.failed", VisStaff, data, now)
		return err
	})
	if err != nil {
		return nil, dbErr("service receipt", err)
	}
	return rec, nil
}
