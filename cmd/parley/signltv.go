package main

// Issue 9, the wiring of certificates other tools accept and long-term validation: the OCSP responder's and the
// root certificate's endpoints, the key-encryption key's file (`parley keys rotate`) and sign-demo's CA server.
// The register of what Parley's CA issued, the sealing of stored keys, validation data and a document timestamp
// after every signature (PAdES B-LTA) and the archive job are docflow's (docflow/ltv.go, docflow/keys.go).

import (
	"context"
	"encoding/base64"
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

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
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
	n, err := docflow.RotateSecrets(ctx, b.store, both)
	if err != nil {
		return fmt.Errorf("keys rotate: %w (the key file %s now holds the new and the old key; run again)", err, path)
	}
	if err := writeFileAtomic(path, both.Current().MarshalKeyFile(), 0o600); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d stored keys with key %s; %s holds only the new key. Copy it to every node and restart them.\n", n, both.CurrentID(), path)
	return nil
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
		resp, err := a.docs.Keys.RespondOCSP(r.Context(), req)
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
		w.Write(a.docs.Keys.CA.Cert.Raw)
	})
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
