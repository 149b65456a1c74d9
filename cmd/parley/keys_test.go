package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
)

func writeKeyFile(t *testing.T, path string) []byte {
	t.Helper()
	k, err := signing.NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := signing.NewKeyRing(k)
	if err := os.WriteFile(path, ring.MarshalKeyFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestStoredKeysNeedTheKeyFile: whoever has only the database cannot sign. The private keys of the CA, the
// TSA, the platform and the seals are stored sealed with the key-encryption key; without the key file (or with
// another one) nothing opens them; `parley keys rotate` re-encrypts them all.
func TestStoredKeysNeedTheKeyFile(t *testing.T) {
	dsn := casestest.Schema(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := cases.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := cases.NewStore(pool, cases.DefaultCalendar(), nil)
	dir := t.TempDir()
	keyA := filepath.Join(dir, "a.kek")
	writeKeyFile(t, keyA)
	newSigner := func(env map[string]string) (*docflow.Service, error) {
		cfg, _, err := parseConfig("serve", nil, envFunc(env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return newDocSigner(ctx, cfg, store, store.Cal, slog.New(slog.DiscardHandler))
	}
	d, err := newSigner(map[string]string{"PARLEY_KEY_FILE": keyA})
	if err != nil {
		t.Fatal(err)
	}
	seal, err := d.Keys.SealKey(ctx, "00000000-0000-0000-0000-000000000001", "某某调解中心", signing.RoleOrganisation)
	if err != nil {
		t.Fatal(err)
	}
	// A legacy plain-text key pair is sealed in place when read.
	legacy, err := signing.NewKeyPair(d.Keys.CA, signing.Subject{Name: "旧印章"}, d.Now(), d.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	legacyDER, _ := x509.MarshalPKCS8PrivateKey(legacy.Key)
	plain, _ := json.Marshal(pemPair{Cert: string(pemCert(legacy.Cert)), Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: legacyDER}))})
	if _, err := pool.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ('signing:seal:legacy', $1)`, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Keys.SealKey(ctx, "legacy", "旧印章", signing.RoleOrganisation); err != nil {
		t.Fatalf("legacy key: %v", err)
	}

	// The database alone: no private key in any form.
	secrets := func() map[string][]byte {
		rows, err := pool.Query(ctx, `SELECT name, value FROM server_secrets WHERE name LIKE 'signing:%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][]byte{}
		for rows.Next() {
			var n string
			var v []byte
			if err := rows.Scan(&n, &v); err != nil {
				t.Fatal(err)
			}
			out[n] = v
		}
		return out
	}
	before := secrets()
	for _, name := range []string{"signing:ca", "signing:tsa", "signing:platform", "signing:seal:00000000-0000-0000-0000-000000000001", "signing:seal:legacy"} {
		v, ok := before[name]
		if !ok {
			t.Fatalf("no stored secret %s", name)
		}
		if bytes.Contains(v, []byte("PRIVATE KEY")) {
			t.Errorf("%s is stored with a readable private key", name)
		}
		var p pemPair
		if err := json.Unmarshal(v, &p); err != nil || !signing.IsSealed([]byte(p.Key)) {
			t.Errorf("%s: key not sealed: %v", name, err)
		}
		// Nothing in the row parses as a key, whichever way one decodes it.
		raw, _ := base64.StdEncoding.DecodeString(p.Key[strings.LastIndex(p.Key, ":")+1:])
		for _, cand := range [][]byte{raw, []byte(p.Key), v} {
			if blk, _ := pem.Decode(cand); blk != nil && strings.Contains(blk.Type, "PRIVATE") {
				t.Errorf("%s holds a PEM private key", name)
			}
			for i := range cand {
				if cand[i] != 0x30 {
					continue
				}
				if _, err := x509.ParsePKCS8PrivateKey(cand[i:]); err == nil {
					t.Errorf("%s holds a PKCS#8 key at offset %d", name, i)
				}
				if _, err := x509.ParseECPrivateKey(cand[i:]); err == nil {
					t.Errorf("%s holds an EC key at offset %d", name, i)
				}
			}
		}
	}
	// Another key file, or a freshly generated one in the data directory, opens nothing.
	keyB := filepath.Join(dir, "b.kek")
	writeKeyFile(t, keyB)
	if _, err := newSigner(map[string]string{"PARLEY_KEY_FILE": keyB}); !errors.Is(err, signing.ErrKEK) {
		t.Errorf("signer with another key file: %v, want ErrKEK", err)
	}
	dataDir := filepath.Join(dir, "data")
	if _, err := newSigner(map[string]string{"PARLEY_DATA_DIR": dataDir}); !errors.Is(err, signing.ErrKEK) {
		t.Errorf("signer with a generated key file: %v, want ErrKEK", err)
	}
	if st, err := os.Stat(filepath.Join(dataDir, kekFileName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("generated key file: %v, mode %v", err, st)
	}

	// Rotation: every stored key re-encrypted, the file holds only the new key, the keys themselves unchanged.
	oldFile, _ := os.ReadFile(keyA)
	var out bytes.Buffer
	if err := run(ctx, []string{"parley", "keys", "rotate"}, envFunc(map[string]string{"PARLEY_DATABASE_URL": dsn, "PARLEY_KEY_FILE": keyA, "PARLEY_LOG_LEVEL": "error"}), &out, &out); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out.String())
	}
	newFile, _ := os.ReadFile(keyA)
	ring, err := signing.ParseKeyFile(newFile)
	if err != nil || ring.Keys() != 1 || bytes.Equal(oldFile, newFile) {
		t.Fatalf("after rotate the key file holds %d keys (changed %v): %v", ring.Keys(), !bytes.Equal(oldFile, newFile), err)
	}
	after := secrets()
	for name, v := range after {
		var p pemPair
		json.Unmarshal(v, &p)
		if bytes.Equal(v, before[name]) || signing.SealedKeyID([]byte(p.Key)) != ring.CurrentID() {
			t.Errorf("%s was not re-encrypted with the new key", name)
		}
	}
	d2, err := newSigner(map[string]string{"PARLEY_KEY_FILE": keyA})
	if err != nil {
		t.Fatalf("signer after rotate: %v", err)
	}
	if !d2.Keys.CA.Cert.Equal(d.Keys.CA.Cert) || !d2.Keys.Platform.Cert.Equal(d.Keys.Platform.Cert) {
		t.Error("rotation changed the keys themselves")
	}
	seal2, err := d2.Keys.SealKey(ctx, "00000000-0000-0000-0000-000000000001", "某某调解中心", signing.RoleOrganisation)
	if err != nil || !seal2.Cert.Equal(seal.Cert) {
		t.Errorf("seal after rotate: %v", err)
	}
	os.WriteFile(keyB, oldFile, 0o600)
	if _, err := newSigner(map[string]string{"PARLEY_KEY_FILE": keyB}); !errors.Is(err, signing.ErrKEK) {
		t.Errorf("the old key still opens the stored keys after rotation: %v", err)
	}
}

// pemPair is how docflow stores a generated key pair in server_secrets (docflow/keys.go).
type pemPair struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}
