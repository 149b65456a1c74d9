package docflow

// Long-term validation and keys at rest (issue 9): the key-encryption key that seals every stored private key,
// the register of what Parley's CA issued and the OCSP answers from it, validation data and a document timestamp
// after every signature (PAdES B-LTA), and the archive job that renews document timestamps before they expire.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// keySecret is SecretFunc for a generated key pair (JSON pemPair): the private key is sealed with the
// key-encryption key before it is stored and opened after it is read, so callers see the plain pair. A pair
// stored in plain text by an older version is sealed in place on first read.
func (k *Keys) keySecret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	raw, err := k.secrets.SecretFunc(ctx, name, func() ([]byte, error) {
		plain, err := gen()
		if err != nil {
			return nil, err
		}
		return sealPair(k.kek, name, plain)
	})
	if err != nil {
		return nil, err
	}
	var p pemPair
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("signing: stored key %s: %w", name, err)
	}
	if !signing.IsSealed([]byte(p.Key)) {
		sealed, err := sealPair(k.kek, name, raw)
		if err != nil {
			return nil, err
		}
		if _, err := k.secrets.Pool().Exec(ctx, `UPDATE server_secrets SET value = $2 WHERE name = $1`, name, sealed); err != nil {
			return nil, fmt.Errorf("signing: seal stored key %s: %w", name, err)
		}
		k.log.Warn("encrypted a signing key that was stored in plain text", "secret", name)
		return raw, nil
	}
	return openPair(k.kek, name, raw)
}

func sealPair(ring *signing.KeyRing, name string, plain []byte) ([]byte, error) {
	var p pemPair
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, err
	}
	s, err := ring.Seal(name, []byte(p.Key))
	if err != nil {
		return nil, err
	}
	p.Key = string(s)
	return json.Marshal(p)
}

func openPair(ring *signing.KeyRing, name string, sealed []byte) ([]byte, error) {
	var p pemPair
	if err := json.Unmarshal(sealed, &p); err != nil {
		return nil, err
	}
	k, err := ring.Open(name, []byte(p.Key))
	if err != nil {
		return nil, fmt.Errorf("signing: stored key %s: %w (is PARLEY_KEY_FILE the key file this database was set up with?)", name, err)
	}
	p.Key = string(k)
	return json.Marshal(p)
}

// RotateSecrets re-seals every stored key pair with ring's current key (opening with any of its keys), in one
// transaction (`parley keys rotate`). It returns how many secrets it looked at.
func RotateSecrets(ctx context.Context, secrets Secrets, ring *signing.KeyRing) (int, error) {
	tx, err := secrets.Pool().Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT name, value FROM server_secrets WHERE name LIKE 'signing:%' ORDER BY name FOR UPDATE`)
	if err != nil {
		return 0, err
	}
	type secret struct {
		name  string
		value []byte
	}
	var all []secret
	for rows.Next() {
		var s secret
		if err := rows.Scan(&s.name, &s.value); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, s := range all {
		var p pemPair
		if json.Unmarshal(s.value, &p) != nil || p.Key == "" {
			continue // not a key pair
		}
		plain := s.value
		if signing.IsSealed([]byte(p.Key)) {
			if plain, err = openPair(ring, s.name, s.value); err != nil {
				return 0, err
			}
		}
		sealed, err := sealPair(ring.Current(), s.name, plain)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE server_secrets SET value = $2 WHERE name = $1`, s.name, sealed); err != nil {
			return 0, err
		}
	}
	return len(all), tx.Commit(ctx)
}

// recordIssued keeps every certificate the CA issues, for the OCSP responder.
func (k *Keys) recordIssued(c *x509.Certificate) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := k.secrets.Pool().Exec(ctx, `INSERT INTO ca_certificates (serial, subject, cert, not_after) VALUES ($1, $2, $3, $4) ON CONFLICT (serial) DO NOTHING`,
		c.SerialNumber.Text(16), c.Subject.String(), c.Raw, c.NotAfter)
	return err
}

// CertStatus is what the CA's register says about a serial number.
func (k *Keys) CertStatus(ctx context.Context, serial *big.Int) (signing.CertStatus, error) {
	var revokedAt *time.Time
	var reason *int
	err := k.secrets.Pool().QueryRow(ctx, `SELECT revoked_at, revocation_reason FROM ca_certificates WHERE serial = $1`, serial.Text(16)).Scan(&revokedAt, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return signing.CertStatus{}, nil
	}
	if err != nil {
		return signing.CertStatus{}, err
	}
	st := signing.CertStatus{Known: true}
	if revokedAt != nil {
		st.Revoked, st.RevokedAt = true, *revokedAt
		if reason != nil {
			st.Reason = *reason
		}
	}
	return st, nil
}

// RespondOCSP answers a DER OCSP request about a certificate of Parley's CA from the register.
func (k *Keys) RespondOCSP(ctx context.Context, req []byte) ([]byte, error) {
	return k.CA.RespondOCSP(req, func(s *big.Int) (signing.CertStatus, error) { return k.CertStatus(ctx, s) }, time.Now())
}

// revocationSource gives validation data from Parley's CA: OCSP from the register, the current CRL. It uses the
// wall clock: validation data must be produced after the signature's timestamp, which the TSA dates with the
// wall clock.
func (k *Keys) revocationSource(ctx context.Context) signing.RevocationSource {
	return &signing.CASource{CA: k.CA,
		Status:  func(s *big.Int) (signing.CertStatus, error) { return k.CertStatus(ctx, s) },
		CRLFunc: k.CurrentCRL}
}

// MakeLTA is what follows every signature: validation data produced after it (a DSS-only update), then a
// document timestamp, so the stored version is PAdES B-LTA.
func (k *Keys) MakeLTA(ctx context.Context, pdf []byte) ([]byte, error) {
	return signing.MakeLTA(ctx, pdf, k.revocationSource(ctx), signing.ValidationOptions{Extra: k.tsaCerts}, k.TSA)
}

// errNotDue makes the archive job leave a document whose timestamp is not due yet.
var errNotDue = errors.New("archive timestamp not due")

// RunArchiver renews document timestamps before they expire, every interval until ctx ends. Several nodes may
// run it: each pass claims documents with FOR UPDATE SKIP LOCKED and moves their due time forward in the same
// statement, and the renewal itself re-checks under the document's row lock.
func (s *Service) RunArchiver(ctx context.Context, interval, margin time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ArchivePass(ctx, margin); err != nil && ctx.Err() == nil {
			logger.Error("archive timestamps", "err", err)
		} else if n > 0 {
			logger.Info("archive timestamps renewed", "documents", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ArchivePass schedules documents that have no due time yet and renews those that are due; it returns how many
// it renewed.
func (s *Service) ArchivePass(ctx context.Context, margin time.Duration) (int, error) {
	pool := s.Store.Pool()
	// 1. Schedule: documents signed at least once and not yet scheduled.
	rows, err := pool.Query(ctx, `SELECT d.id, v.pdf FROM documents d JOIN document_versions v ON v.document_id = d.id AND v.version = d.current_version
		WHERE d.archive_due IS NULL AND d.status <> 'superseded' AND v.kind = 'signed' LIMIT 100`)
	if err != nil {
		return 0, err
	}
	type doc struct {
		id  string
		pdf []byte
	}
	var todo []doc
	for rows.Next() {
		var x doc
		if err := rows.Scan(&x.id, &x.pdf); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, x)
	}
	rows.Close()
	for _, x := range todo {
		due := s.Now()
		if st, err := signing.Archive(x.pdf); err == nil && st.Field != "" {
			due = st.Expires().Add(-margin)
		}
		if _, err := pool.Exec(ctx, `UPDATE documents SET archive_due = $2 WHERE id = $1 AND archive_due IS NULL`, x.id, due); err != nil {
			return 0, err
		}
	}
	// 2. Claim what is due (a lease of an hour, so a node that dies mid-way does not block the document).
	rows, err = pool.Query(ctx, `UPDATE documents SET archive_due = $1 WHERE id IN (
		SELECT id FROM documents WHERE archive_due <= $2 AND status <> 'superseded' ORDER BY archive_due LIMIT 20 FOR UPDATE SKIP LOCKED) RETURNING id`,
		s.Now().Add(time.Hour), s.Now())
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	renewed := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return renewed, ctx.Err()
		}
		var next time.Time
		_, _, err := s.Store.AppendVersion(ctx, id, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
			st, err := signing.Archive(current)
			if err != nil {
				return nil, err
			}
			if st.Field != "" && st.Expires().Add(-margin).After(s.Now()) {
				next = st.Expires().Add(-margin)
				return nil, errNotDue
			}
			pdf, err := s.Keys.MakeLTA(ctx, current)
			if err != nil {
				return nil, err
			}
			nst, err := signing.Archive(pdf)
			if err != nil {
				return nil, err
			}
			next = nst.Expires().Add(-margin)
			return &cases.NewVersion{PDF: pdf, Field: nst.Field, SignerKind: "archive", SignerName: "archive timestamp", SignerRole: "timestamp",
				IdentityMethod: "document timestamp", EventType: "document.archive_timestamped", Actor: cases.System}, nil
		})
		switch {
		case errors.Is(err, errNotDue):
		case err != nil:
			s.Log.Error("archive timestamp", "document", id, "err", err)
			continue
		default:
			renewed++
		}
		// Never schedule sooner than an interval from now: a TSA that is itself about to expire must not make the
		// job re-timestamp in a loop.
		if min := s.Now().Add(time.Hour); next.Before(min) {
			next = min
		}
		if _, err := pool.Exec(ctx, `UPDATE documents SET archive_due = $2 WHERE id = $1`, id, next); err != nil {
			return renewed, err
		}
	}
	return renewed, nil
}
