package main

// Issue 9, the server side of certificates other tools accept and long-term validation: the OCSP responder and
// the register of what Parley's CA issued, validation data and a document timestamp after every signature
// (PAdES B-LTA), the archive job that renews document timestamps before they expire, and the key-encryption
// key that keeps the stored private keys unusable without a file outside the database (`parley keys rotate`).

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// defaultDataDir is $XDG_DATA_HOME/parley, else ~/.local/share/parley, else ./parley-data.
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "parley")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "parley")
	}
	return "parley-data"
}

// kekFileName is the key-encryption key's file in the data directory when PARLEY_KEY_FILE is empty.
const kekFileName = "parley.kek"

// loadKeyRing reads the key-encryption key file (PARLEY_KEY_FILE, or <data-dir>/parley.kek, generated there at
// first start with mode 0600).
func loadKeyRing(cfg *Config, logger *slog.Logger) (*signing.KeyRing, string, error) {
	path := cfg.KeyFile
	if path == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = defaultDataDir()
		}
		path = filepath.Join(dir, kekFileName)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			k, err := signing.NewKEK()
			if err != nil {
				return nil, "", err
			}
			ring, _ := signing.NewKeyRing(k)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, "", fmt.Errorf("key file: %w", err)
			}
			created, err := createFileOnce(path, ring.MarshalKeyFile(), 0o600)
			if err != nil {
				return nil, "", fmt.Errorf("key file: %w", err)
			}
			if created {
				logger.Warn("GENERATED A NEW KEY-ENCRYPTION KEY: the stored signing keys (CA, TSA, platform, seals) are encrypted with "+path+
					"; back it up apart from the database and give every node the same file (PARLEY_KEY_FILE). Without it those keys are lost.",
					"key_file", path, "key_id", ring.CurrentID())
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		logger.Warn("the key-encryption key file is readable by others: chmod 600 it", "key_file", path, "mode", st.Mode().Perm().String())
	}
	ring, err := signing.ParseKeyFile(b)
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	return ring, path, nil
}

// createFileOnce writes data to path unless path exists, atomically: the content is written to a temporary
// file and hard-linked into place, so two processes starting at once agree on one file and nobody reads a
// half-written one. It reports whether this call created it.
func createFileOnce(path string, data []byte, mode os.FileMode) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parley-kek-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err == nil {
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parley-kek-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// keySecret is store.SecretFunc for a generated key pair (JSON pemPair): the private key is sealed with the
// key-encryption key before it is stored and opened after it is read, so callers see the plain pair. A pair
// stored in plain text by an older version is sealed in place on first read.
func (d *docSigner) keySecret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	raw, err := d.store.SecretFunc(ctx, name, func() ([]byte, error) {
		plain, err := gen()
		if err != nil {
			return nil, err
		}
		return sealPair(d.kek, name, plain)
	})
	if err != nil {
		return nil, err
	}
	var p pemPair
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("signing: stored key %s: %w", name, err)
	}
	if !signing.IsSealed([]byte(p.Key)) {
		sealed, err := sealPair(d.kek, name, raw)
		if err != nil {
			return nil, err
		}
		if _, err := d.store.Pool().Exec(ctx, `UPDATE server_secrets SET value = $2 WHERE name = $1`, name, sealed); err != nil {
			return nil, fmt.Errorf("signing: seal stored key %s: %w", name, err)
		}
		d.log.Warn("encrypted a signing key that was stored in plain text", "secret", name)
		return raw, nil
	}
	return openPair(d.kek, name, raw)
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

// runKeys is `parley keys rotate`: a new key-encryption key, every stored private key re-encrypted with it in
// one transaction. The key file holds the new and the old key until the transaction committed, then only the
// new one, so a crash at any point leaves a file that opens every stored key.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, "usage: parley keys rotate [flags]\n\nre-encrypts the stored private keys (CA, TSA, platform, seals) with a new key-encryption key written to PARLEY_KEY_FILE (or <data-dir>/parley.kek)")
		return exitError{2, ""}
	}
	b, _, err := open(ctx, "keys rotate", args[1:], getenv, stderr, false)
	if err != nil {
		return err
	}
	defer b.close()
	ring, path, err := loadKeyRing(b.cfg, b.log)
	if err != nil {
		return err
	}
	k, err := signing.NewKEK()
	if err != nil {
		return err
	}
	both, err := ring.With(k)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, both.MarshalKeyFile(), 0o600); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	n, err := rotateSecrets(ctx, b.store, both)
	if err != nil {
		return fmt.Errorf("keys rotate: %w (the key file %s now holds the new and the old key; run again)", err, path)
	}
	if err := writeFileAtomic(path, both.Current().MarshalKeyFile(), 0o600); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d stored keys with key %s; %s holds only the new key. Copy it to every node and restart them.\n", n, both.CurrentID(), path)
	return nil
}

// rotateSecrets re-seals every stored key pair with ring's current key (opening with any of its keys).
func rotateSecrets(ctx context.Context, store *cases.Store, ring *signing.KeyRing) (int, error) {
	tx, err := store.Pool().Begin(ctx)
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
func (d *docSigner) recordIssued(c *x509.Certificate) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.store.Pool().Exec(ctx, `INSERT INTO ca_certificates (serial, subject, cert, not_after) VALUES ($1, $2, $3, $4) ON CONFLICT (serial) DO NOTHING`,
		c.SerialNumber.Text(16), c.Subject.String(), c.Raw, c.NotAfter)
	return err
}

// certStatus is what the CA's register says about a serial number.
func (d *docSigner) certStatus(ctx context.Context, serial *big.Int) (signing.CertStatus, error) {
	var revokedAt *time.Time
	var reason *int
	err := d.store.Pool().QueryRow(ctx, `SELECT revoked_at, revocation_reason FROM ca_certificates WHERE serial = $1`, serial.Text(16)).Scan(&revokedAt, &reason)
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

// revocationSource gives validation data from Parley's CA: OCSP from the register, the current CRL.
func (d *docSigner) revocationSource(ctx context.Context) signing.RevocationSource {
	// The wall clock, not d.now: validation data must be produced after the signature's timestamp, which the
	// TSA dates with the wall clock.
	return &signing.CASource{CA: d.ca,
		Status:  func(s *big.Int) (signing.CertStatus, error) { return d.certStatus(ctx, s) },
		CRLFunc: d.currentCRL}
}

// makeLTA is what follows every signature: validation data produced after it (a DSS-only update), then a
// document timestamp, so the stored version is PAdES B-LTA.
func (d *docSigner) makeLTA(ctx context.Context, pdf []byte) ([]byte, error) {
	return signing.MakeLTA(ctx, pdf, d.revocationSource(ctx), signing.ValidationOptions{Extra: d.tsaCerts}, d.tsa)
}

// handleOCSP answers OCSP requests (RFC 6960 appendix A: POST application/ocsp-request, or GET with the
// base64 request in the path) about certificates of Parley's CA.
func handleOCSP(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req []byte
		var err error
		if r.Method == http.MethodGet {
			enc := r.PathValue("request")
			if req, err = base64.StdEncoding.DecodeString(enc); err != nil {
				req, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
			}
		} else {
			if ct := r.Header.Get("Content-Type"); ct != "application/ocsp-request" {
				fail(w, r, a.log, &cases.Error{Code: "unsupported_media", Message: "send an OCSP request with Content-Type: application/ocsp-request"})
				return
			}
			req, err = io.ReadAll(io.LimitReader(r.Body, 16<<10))
		}
		if err != nil {
			req = nil // answered as malformedRequest
		}
		resp, err := a.docs.ca.RespondOCSP(req, func(s *big.Int) (signing.CertStatus, error) { return a.docs.certStatus(r.Context(), s) }, time.Now())
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(resp)
	})
}

// handleRootDER serves the root certificate in DER, the authority information access caIssuers target.
func handleRootDER(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(a.docs.ca.Cert.Raw)
	})
}

// errNotDue makes the archive job leave a document whose timestamp is not due yet.
var errNotDue = errors.New("archive timestamp not due")

// runArchiver renews document timestamps before they expire, every interval until ctx ends. Several nodes may
// run it: each pass claims documents with FOR UPDATE SKIP LOCKED and moves their due time forward in the same
// statement, and the renewal itself re-checks under the document's row lock.
func (d *docSigner) runArchiver(ctx context.Context, interval, margin time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := d.archivePass(ctx, margin); err != nil && ctx.Err() == nil {
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

// archivePass schedules documents that have no due time yet and renews those that are due; it returns how
// many it renewed.
func (d *docSigner) archivePass(ctx context.Context, margin time.Duration) (int, error) {
	pool := d.store.Pool()
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
		due := d.now()
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
		d.now().Add(time.Hour), d.now())
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
		_, _, err := d.store.AppendVersion(ctx, id, func(locked *cases.Document, current []byte) (*cases.NewVersion, error) {
			st, err := signing.Archive(current)
			if err != nil {
				return nil, err
			}
			if st.Field != "" && st.Expires().Add(-margin).After(d.now()) {
				next = st.Expires().Add(-margin)
				return nil, errNotDue
			}
			pdf, err := d.makeLTA(ctx, current)
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
			d.log.Error("archive timestamp", "document", id, "err", err)
			continue
		default:
			renewed++
		}
		// Never schedule sooner than an interval from now: a TSA that is itself about to expire must not make
		// the job re-timestamp in a loop.
		if min := d.now().Add(time.Hour); next.Before(min) {
			next = min
		}
		if _, err := pool.Exec(ctx, `UPDATE documents SET archive_due = $2 WHERE id = $1`, id, next); err != nil {
			return renewed, err
		}
	}
	return renewed, nil
}

// serveDemoCA serves sign-demo's CA (OCSP, CRL, root certificate) on addr until ctx ends. Every certificate
// the demo CA signed is good.
func serveDemoCA(ctx context.Context, addr string, ca *signing.CA, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	good := func(*big.Int) (signing.CertStatus, error) { return signing.CertStatus{Known: true}, nil }
	ocspH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req []byte
		if r.Method == http.MethodGet {
			req, _ = base64.StdEncoding.DecodeString(r.PathValue("request"))
		} else {
			req, _ = io.ReadAll(io.LimitReader(r.Body, 16<<10))
		}
		resp, err := ca.RespondOCSP(req, good, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	})
	mux := http.NewServeMux()
	mux.Handle("POST "+signing.OCSPPath, ocspH)
	mux.Handle("GET "+signing.OCSPPath+"/{request}", ocspH)
	mux.HandleFunc("GET "+signing.CRLPath, func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		crl, err := ca.CRL(now.Unix(), nil, now.Add(-time.Minute), now.AddDate(0, 0, 7))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	})
	mux.HandleFunc("GET "+signing.IssuerCerPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(ca.Cert.Raw)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving the demo CA on http://%s (OCSP %s, CRL %s); interrupt to stop\n", ln.Addr(), signing.OCSPPath, signing.CRLPath)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
