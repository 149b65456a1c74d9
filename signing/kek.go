package signing

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Keys at rest. Private keys the server keeps (the CA, the TSA, the platform, seals) are stored encrypted
// with a key-encryption key (KEK) that lives outside the database, so that a copy of the database alone
// cannot sign. A KeyRing holds one or more 256-bit KEKs: the first encrypts, every one decrypts (which is how
// rotation stays crash-safe: the file holds the new and the old key until every stored key is re-encrypted).
//
// A sealed value is the text "parley-kek:v1:<key id>:<base64(nonce ‖ AES-256-GCM ciphertext)>", where the key
// id is the first 8 bytes of SHA-256 of the KEK in hex and the additional data is the secret's name, so a
// sealed key cannot be moved to another name.

const sealedPrefix = "parley-kek:v1:"

// ErrKEK means a sealed key cannot be opened with the key ring (wrong or missing key-encryption key, or the
// value was tampered with).
var ErrKEK = errors.New("signing: key-encryption key does not open this key")

// KeyRing is a set of key-encryption keys.
type KeyRing struct {
	keys [][]byte
}

// NewKEK returns a fresh random 256-bit key-encryption key.
func NewKEK() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("signing: new key-encryption key: %w", err)
	}
	return k, nil
}

// NewKeyRing builds a key ring; keys[0] encrypts. Every key must be 32 bytes.
func NewKeyRing(keys ...[]byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("signing: key ring: no key")
	}
	r := &KeyRing{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("signing: key ring: key %d is %d bytes, want 32", i+1, len(k))
		}
		r.keys = append(r.keys, bytes.Clone(k))
	}
	return r, nil
}

// ParseKeyFile reads a key file: one base64 (or hex) 32-byte key per line, the current key first; blank lines
// and lines starting with # are ignored.
func ParseKeyFile(b []byte) (*KeyRing, error) {
	var keys [][]byte
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(k) != 32 {
			if h, herr := hex.DecodeString(line); herr == nil && len(h) == 32 {
				k, err = h, nil
			}
		}
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("signing: key file line %d: not a base64 or hex 32-byte key", n+1)
		}
		keys = append(keys, k)
	}
	return NewKeyRing(keys...)
}

// MarshalKeyFile writes the key ring in ParseKeyFile's format, with a comment header.
func (r *KeyRing) MarshalKeyFile() []byte {
	var b strings.Builder
	b.WriteString("# Parley key-encryption keys (base64, 32 bytes). The first encrypts; all decrypt. Keep this file\n")
	b.WriteString("# out of the database and its backups: without it the stored signing keys cannot be used.\n")
	for _, k := range r.keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	return []byte(b.String())
}

// Keys returns the number of keys in the ring.
func (r *KeyRing) Keys() int { return len(r.keys) }

// CurrentID is the key id of the encrypting key.
func (r *KeyRing) CurrentID() string { return kekID(r.keys[0]) }

// Current returns a key ring holding only the encrypting key.
func (r *KeyRing) Current() *KeyRing { return &KeyRing{keys: r.keys[:1]} }

// With returns a key ring whose encrypting key is k, followed by this ring's keys.
func (r *KeyRing) With(k []byte) (*KeyRing, error) {
	return NewKeyRing(append([][]byte{k}, r.keys...)...)
}

func kekID(k []byte) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}

// IsSealed reports whether b is a value sealed by a KeyRing.
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, []byte(sealedPrefix)) }

// SealedKeyID returns the key id a sealed value was encrypted with, or "".
func SealedKeyID(b []byte) string {
	if !IsSealed(b) {
		return ""
	}
	rest := string(b[len(sealedPrefix):])
	id, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	return id
}

// Seal encrypts plaintext (a PEM private key, say) bound to name.
func (r *KeyRing) Seal(name string, plaintext []byte) ([]byte, error) {
	gcm, err := newGCM(r.keys[0])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("signing: seal key: %w", err)
	}
	ct := gcm.Seal(nonce, nonce, plaintext, []byte(name))
	return []byte(sealedPrefix + kekID(r.keys[0]) + ":" + base64.StdEncoding.EncodeToString(ct)), nil
}

// Open decrypts a value sealed for name with any key of the ring (ErrKEK when none opens it).
func (r *KeyRing) Open(name string, sealed []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, errors.New("signing: open key: value is not sealed")
	}
	id, body, ok := strings.Cut(string(sealed[len(sealedPrefix):]), ":")
	if !ok {
		return nil, errors.New("signing: open key: malformed sealed value")
	}
	ct, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, errors.New("signing: open key: malformed sealed value")
	}
	for _, k := range r.keys {
		if kekID(k) != id {
			continue
		}
		gcm, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		if len(ct) < gcm.NonceSize() {
			return nil, errors.New("signing: open key: malformed sealed value")
		}
		pt, err := gcm.Open(nil, ct[:gcm.NonceSize()], ct[gcm.NonceSize():], []byte(name))
		if err != nil {
			return nil, fmt.Errorf("%w (%s, key %s)", ErrKEK, name, id)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: %s was sealed with key %s, which the key file does not hold", ErrKEK, name, id)
}

func newGCM(k []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("signing: key-encryption key: %w", err)
	}
	return cipher.NewGCM(b)
}
