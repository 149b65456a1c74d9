package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// docSigner holds the keys and services the document endpoints sign with: Parley's CA (issuing certificates for
// signers' device keys), the timestamp authority, the font, the platform's key and the organisations' and
// courts' seal keys. Every key Parley generates is kept in server_secrets so that all nodes use the same ones.
type docSigner struct {
	store    *cases.Store
	log      *slog.Logger
	ca       *signing.CA
	tsa      signing.Timestamper
	local    *signing.LocalTSA // nil when an external TSA is configured
	tsaCerts []*x509.Certificate
	font     *signing.Font
	platform *signing.KeyPair
	baseURL  string
	zone     *time.Location
	sealDir  string
	sealPass string
	now      func() time.Time
	kek      *signing.KeyRing // encrypts the stored private keys (signltv.go)

	mu       sync.Mutex
	seals    map[string]*signing.KeyPair
	crl      []byte
	crlUntil time.Time
}

// pemPair is how a generated key and its certificate are stored in server_secrets.
type pemPair struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

func marshalPair(cert *x509.Certificate, key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(pemPair{
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
}

func unmarshalPair(b []byte) (certPEM, keyPEM []byte, err error) {
	var p pemPair
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, err
	}
	return []byte(p.Cert), []byte(p.Key), nil
}

// newDocSigner loads (or on first start creates) the CA, the TSA and the platform key.
func newDocSigner(ctx context.Context, cfg *Config, store *cases.Store, cal *cases.Calendar, logger *slog.Logger) (*docSigner, error) {
	d := &docSigner{store: store, log: logger.With("component", "signing"), baseURL: cfg.BaseURL, zone: cal.Loc,
		sealDir: cfg.SealKeysDir, sealPass: cfg.SealKeysPassword, now: time.Now, seals: map[string]*signing.KeyPair{}}
	var err error
	if d.kek, _, err = loadKeyRing(cfg, d.log); err != nil {
		return nil, err
	}
	if cfg.Font != "" {
		d.font, err = signing.LoadFont(cfg.Font)
	} else {
		d.font, err = signing.FindFont()
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w (install fonts-lxgw-wenkai, or set PARLEY_FONT)", err)
	}
	// The CA: configured files (an external CA's intermediate, say), or Parley's own, made at first start.
	if cfg.CACertFile != "" {
		certPEM, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("ca-cert-file: %w", err)
		}
		keyPEM, err := os.ReadFile(cfg.CAKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ca-key-file: %w", err)
		}
		if d.ca, err = signing.LoadCA(certPEM, keyPEM); err != nil {
			return nil, err
		}
	} else {
		raw, err := d.keySecret(ctx, "signing:ca", func() ([]byte, error) {
			ca, err := signing.NewCA(signing.CAConfig{Operator: cfg.Operator})
			if err != nil {
				return nil, err
			}
			return marshalPair(ca.Cert, ca.Key)
		})
		if err != nil {
			return nil, err
		}
		certPEM, keyPEM, err := unmarshalPair(raw)
		if err != nil {
			return nil, fmt.Errorf("signing: stored CA: %w", err)
		}
		if d.ca, err = signing.LoadCA(certPEM, keyPEM); err != nil {
			return nil, err
		}
	}
	d.ca.SetBaseURL(cfg.BaseURL)
	d.ca.OnIssue = d.recordIssued
	// The timestamp authority: an external one, or Parley's own.
	if cfg.TSAURL != "" {
		d.tsa = &signing.HTTPTimestamper{URL: cfg.TSAURL}
	} else {
		raw, err := d.keySecret(ctx, "signing:tsa", func() ([]byte, error) {
			now := time.Now()
			t, err := signing.NewLocalTSA(d.ca, "Parley TSA", now, now.AddDate(10, 0, 0))
			if err != nil {
				return nil, err
			}
			return marshalPair(t.Cert, t.Key)
		})
		if err != nil {
			return nil, err
		}
		kp, err := loadPair(raw)
		if err != nil {
			return nil, fmt.Errorf("signing: stored TSA key: %w", err)
		}
		d.local = &signing.LocalTSA{Key: kp.Key, Cert: kp.Cert, Chain: d.ca.Chain()}
		d.tsa = d.local
		d.tsaCerts = d.local.Certificates()
	}
	d.platform, err = d.generatedKey(ctx, "signing:platform", signing.Subject{Name: "Parley 在线调解平台", Role: signing.RolePlatform, Organisation: cfg.Operator})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func loadPair(raw []byte) (*signing.KeyPair, error) {
	certPEM, keyPEM, err := unmarshalPair(raw)
	if err != nil {
		return nil, err
	}
	return signing.LoadKeyPairPEM(certPEM, keyPEM)
}

// generatedKey returns the server-held key stored under name, issuing one for subj on first use.
func (d *docSigner) generatedKey(ctx context.Context, name string, subj signing.Subject) (*signing.KeyPair, error) {
	raw, err := d.keySecret(ctx, name, func() ([]byte, error) {
		now := time.Now()
		kp, err := signing.NewKeyPair(d.ca, subj, now.Add(-time.Minute), now.AddDate(10, 0, 0))
		if err != nil {
			return nil, err
		}
		return marshalPair(kp.Cert, kp.Key)
	})
	if err != nil {
		return nil, err
	}
	kp, err := loadPair(raw)
	if err != nil {
		return nil, fmt.Errorf("signing: stored key %s: %w", name, err)
	}
	if len(kp.Chain) == 0 {
		kp.Chain = d.ca.Chain()
	}
	return kp, nil
}

// sealKey returns the key an organisation or court signs with: <seal-keys-dir>/<id>.p12 or <id>.pem when
// present, otherwise a key Parley issues for it on first use.
func (d *docSigner) sealKey(ctx context.Context, orgID, name, role string) (*signing.KeyPair, error) {
	d.mu.Lock()
	kp := d.seals[orgID]
	d.mu.Unlock()
	if kp != nil {
		return kp, nil
	}
	var err error
	if d.sealDir != "" {
		if b, rerr := os.ReadFile(filepath.Join(d.sealDir, orgID+".p12")); rerr == nil {
			kp, err = signing.LoadPKCS12(b, d.sealPass)
		} else if b, rerr := os.ReadFile(filepath.Join(d.sealDir, orgID+".pem")); rerr == nil {
			kp, err = signing.LoadKeyPairPEM(b, b)
		}
		if err != nil {
			return nil, fmt.Errorf("seal key for %s: %w", name, err)
		}
	}
	if kp == nil {
		if kp, err = d.generatedKey(ctx, "signing:seal:"+orgID, signing.Subject{Name: name, Role: role, Organisation: name}); err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	d.seals[orgID] = kp
	d.mu.Unlock()
	return kp, nil
}

// currentCRL returns a CRL from Parley's CA, reissued every hour (valid a week). Parley revokes nothing yet: the
// CRL says so, with a signature, which is what a verifier checks.
func (d *docSigner) currentCRL() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now() // revocation data is about the real present, not the documents' (injectable) clock
	if d.crl != nil && now.Before(d.crlUntil) {
		return d.crl, nil
	}
	crl, err := d.ca.CRL(now.Unix(), nil, now.Add(-time.Minute), now.AddDate(0, 0, 7))
	if err != nil {
		return nil, err
	}
	d.crl, d.crlUntil = crl, now.Add(time.Hour)
	return crl, nil
}

// validation is the /DSS material added in a signature's own revision: none. The validation data is produced
// after the signature, in a DSS-only update followed by a document timestamp (makeLTA, signltv.go).
func (d *docSigner) validation() (signing.ValidationData, error) {
	return signing.ValidationData{}, nil
}

// roots is the pool verification trusts: Parley's root.
func (d *docSigner) roots() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range d.ca.Chain() {
		p.AddCert(c)
	}
	return p
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
