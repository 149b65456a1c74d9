package docflow

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/signing"
)

// Secrets keeps keys Parley generates, first writer wins, so every node uses the same ones (cases.Store). Its
// pool also holds the register of the certificates Parley's CA issued (ca_certificates, for OCSP) and is where a
// key stored in plain text by an older version is sealed in place.
type Secrets interface {
	SecretFunc(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
	Pool() *pgxpool.Pool
}

// KeyConfig says where the keys come from.
type KeyConfig struct {
	Operator         string // written into Parley's root certificate
	BaseURL          string // the CRL distribution point is <base>/api/v1/ca/crl
	CACertFile       string // an external CA (with CAKeyFile); empty: Parley's own, made at first start
	CAKeyFile        string
	TSAURL           string // an external timestamp authority; empty: Parley's own
	SealKeysDir      string // <organisation-id>.p12 or .pem seal keys
	SealKeysPassword string
	// KEK encrypts every private key stored in server_secrets (the CA, the TSA, the platform, the seals); required.
	KEK *signing.KeyRing
	Log *slog.Logger
}

// Keys holds the keys documents are signed with: Parley's CA (issuing certificates for signers' device keys),
// the timestamp authority, the platform's key and the organisations' and courts' seal keys. Every key Parley
// generates is kept in server_secrets so that all nodes use the same ones.
type Keys struct {
	CA       *signing.CA
	TSA      signing.Timestamper
	Local    *signing.LocalTSA // nil when an external TSA is configured
	tsaCerts []*x509.Certificate
	Platform *signing.KeyPair
	secrets  Secrets
	kek      *signing.KeyRing
	log      *slog.Logger
	sealDir  string
	sealPass string

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

func loadPair(raw []byte) (*signing.KeyPair, error) {
	certPEM, keyPEM, err := unmarshalPair(raw)
	if err != nil {
		return nil, err
	}
	return signing.LoadKeyPairPEM(certPEM, keyPEM)
}

// LoadKeys loads (or on first start creates) the CA, the TSA and the platform key.
func LoadKeys(ctx context.Context, cfg KeyConfig, secrets Secrets) (*Keys, error) {
	if cfg.KEK == nil {
		return nil, errors.New("docflow: keys: no key-encryption key")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	k := &Keys{secrets: secrets, kek: cfg.KEK, log: cfg.Log, sealDir: cfg.SealKeysDir, sealPass: cfg.SealKeysPassword, seals: map[string]*signing.KeyPair{}}
	if cfg.CACertFile != "" {
		certPEM, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("ca-cert-file: %w", err)
		}
		keyPEM, err := os.ReadFile(cfg.CAKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ca-key-file: %w", err)
		}
		if k.CA, err = signing.LoadCA(certPEM, keyPEM); err != nil {
			return nil, err
		}
	} else {
		raw, err := k.keySecret(ctx, "signing:ca", func() ([]byte, error) {
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
		if k.CA, err = signing.LoadCA(certPEM, keyPEM); err != nil {
			return nil, err
		}
	}
	k.CA.SetBaseURL(cfg.BaseURL)
	k.CA.OnIssue = k.recordIssued // the register the OCSP responder answers from
	if cfg.TSAURL != "" {
		k.TSA = &signing.HTTPTimestamper{URL: cfg.TSAURL}
	} else {
		raw, err := k.keySecret(ctx, "signing:tsa", func() ([]byte, error) {
			now := time.Now()
			t, err := signing.NewLocalTSA(k.CA, "Parley TSA", now, now.AddDate(10, 0, 0))
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
		k.Local = &signing.LocalTSA{Key: kp.Key, Cert: kp.Cert, Chain: k.CA.Chain()}
		k.TSA = k.Local
		k.tsaCerts = k.Local.Certificates()
	}
	var err error
	k.Platform, err = k.generatedKey(ctx, "signing:platform", signing.Subject{Name: "Parley 在线调解平台", Role: signing.RolePlatform, Organisation: cfg.Operator})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// generatedKey returns the server-held key stored under name, issuing one for subj on first use.
func (k *Keys) generatedKey(ctx context.Context, name string, subj signing.Subject) (*signing.KeyPair, error) {
	raw, err := k.keySecret(ctx, name, func() ([]byte, error) {
		now := time.Now()
		kp, err := signing.NewKeyPair(k.CA, subj, now.Add(-time.Minute), now.AddDate(10, 0, 0))
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
		kp.Chain = k.CA.Chain()
	}
	return kp, nil
}

// SealKey returns the key an organisation or court signs with: <seal-keys-dir>/<id>.p12 or <id>.pem when
// present, otherwise a key Parley issues for it on first use.
func (k *Keys) SealKey(ctx context.Context, orgID, name, role string) (*signing.KeyPair, error) {
	k.mu.Lock()
	kp := k.seals[orgID]
	k.mu.Unlock()
	if kp != nil {
		return kp, nil
	}
	var err error
	if k.sealDir != "" {
		if b, rerr := os.ReadFile(filepath.Join(k.sealDir, orgID+".p12")); rerr == nil {
			kp, err = signing.LoadPKCS12(b, k.sealPass)
		} else if b, rerr := os.ReadFile(filepath.Join(k.sealDir, orgID+".pem")); rerr == nil {
			kp, err = signing.LoadKeyPairPEM(b, b)
		}
		if err != nil {
			return nil, fmt.Errorf("seal key for %s: %w", name, err)
		}
	}
	if kp == nil {
		if kp, err = k.generatedKey(ctx, "signing:seal:"+orgID, signing.Subject{Name: name, Role: role, Organisation: name}); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	k.seals[orgID] = kp
	k.mu.Unlock()
	return kp, nil
}

// CurrentCRL returns a CRL from Parley's CA, reissued every hour (valid a week). Parley revokes nothing yet: the
// CRL says so, with a signature, which is what a verifier checks.
func (k *Keys) CurrentCRL() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now() // revocation data is about the real present, not the documents' (injectable) clock
	if k.crl != nil && now.Before(k.crlUntil) {
		return k.crl, nil
	}
	crl, err := k.CA.CRL(now.Unix(), nil, now.Add(-time.Minute), now.AddDate(0, 0, 7))
	if err != nil {
		return nil, err
	}
	k.crl, k.crlUntil = crl, now.Add(time.Hour)
	return crl, nil
}

// Validation is the /DSS material added in a signature's own revision: none. The validation data is produced
// after the signature, in a DSS-only update followed by a document timestamp (MakeLTA, ltv.go).
func (k *Keys) Validation() (signing.ValidationData, error) {
	return signing.ValidationData{}, nil
}

// Roots is the pool verification trusts: Parley's root.
func (k *Keys) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range k.CA.Chain() {
		p.AddCert(c)
	}
	return p
}
