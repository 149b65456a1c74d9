package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// KeyPair is a server-held signing key (an organisation seal, a court, the platform) with its certificate and
// issuer chain.
type KeyPair struct {
	Key   crypto.Signer
	Cert  *x509.Certificate
	Chain []*x509.Certificate // issuers, nearest first, up to the root if known
}

// LogValue keeps the key out of logs.
func (k *KeyPair) LogValue() slog.Value {
	if k == nil || k.Cert == nil {
		return slog.StringValue("<nil key pair>")
	}
	return slog.GroupValue(slog.String("subject", k.Cert.Subject.String()), slog.String("key", "REDACTED"))
}

// NewKeyPair generates a P-256 key and has issuer certify it for s: the usual way to create a seal key for an
// organisation or court when no PKCS#12 file is configured.
func NewKeyPair(issuer Issuer, s Subject, notBefore, notAfter time.Time) (*KeyPair, error) {
	key, err := newECKey(CurveP256)
	if err != nil {
		return nil, err
	}
	cert, err := issuer.Issue(key.Public(), s, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Key: key, Cert: cert, Chain: issuer.Chain()}, nil
}

// LoadPKCS12 reads a PKCS#12 (.p12/.pfx) file holding one private key, its certificate and optionally the chain.
func LoadPKCS12(data []byte, password string) (*KeyPair, error) {
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, fmt.Errorf("signing: load PKCS#12: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing: load PKCS#12: key type %T cannot sign", key)
	}
	kp := &KeyPair{Key: signer, Cert: cert, Chain: chain}
	if err := kp.check(); err != nil {
		return nil, fmt.Errorf("signing: load PKCS#12: %w", err)
	}
	return kp, nil
}

// LoadKeyPairPEM reads a certificate (followed by its chain) and a private key (PKCS#8, SEC 1 or PKCS#1) in PEM.
func LoadKeyPairPEM(certPEM, keyPEM []byte) (*KeyPair, error) {
	var certs []*x509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing: load certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("signing: load certificate: no CERTIFICATE block in PEM")
	}
	var key crypto.Signer
	for rest := keyPEM; key == nil; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("signing: load key: no private key block in PEM")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("signing: load key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("signing: load key: key type %T cannot sign", k)
		}
		key = s
	}
	kp := &KeyPair{Key: key, Cert: certs[0], Chain: certs[1:]}
	if err := kp.check(); err != nil {
		return nil, fmt.Errorf("signing: load key pair: %w", err)
	}
	return kp, nil
}

// check verifies that the key matches the certificate and is a supported type.
func (k *KeyPair) check() error {
	if k.Key == nil || k.Cert == nil {
		return errors.New("missing key or certificate")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := k.Key.Public().(equaler)
	if !ok || !pub.Equal(k.Cert.PublicKey) {
		return errors.New("private key does not match the certificate")
	}
	switch k.Key.Public().(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return nil
	case ed25519.PublicKey:
		return errors.New("Ed25519 keys are not supported for PDF signatures")
	}
	return fmt.Errorf("unsupported key type %T", k.Key.Public())
}
