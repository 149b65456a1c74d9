package signing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeyRing(t *testing.T) {
	t.Parallel()
	k1, _ := NewKEK()
	k2, _ := NewKEK()
	r1, err := NewKeyRing(k1)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n")
	sealed, err := r1.Seal("signing:ca", secret)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(sealed) || bytes.Contains(sealed, []byte("PRIVATE")) || SealedKeyID(sealed) != r1.CurrentID() {
		t.Fatalf("sealed value %q", sealed)
	}
	if got, err := r1.Open("signing:ca", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	// Bound to its name, its key and its bytes.
	if _, err := r1.Open("signing:tsa", sealed); !errors.Is(err, ErrKEK) {
		t.Errorf("opened under another name: %v", err)
	}
	r2, _ := NewKeyRing(k2)
	if _, err := r2.Open("signing:ca", sealed); !errors.Is(err, ErrKEK) {
		t.Errorf("opened with another key: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-3] ^= 1
	if _, err := r1.Open("signing:ca", tampered); err == nil {
		t.Error("opened a tampered value")
	}
	// Rotation: a ring with the new key first opens both, seals with the new one.
	both, _ := r1.With(k2)
	if got, err := both.Open("signing:ca", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("rotation ring cannot open the old value: %v", err)
	}
	resealed, _ := both.Seal("signing:ca", secret)
	if SealedKeyID(resealed) != r2.CurrentID() || both.Current().Keys() != 1 {
		t.Errorf("rotation ring seals with %s", SealedKeyID(resealed))
	}
	// The key file round-trips; junk is refused.
	parsed, err := ParseKeyFile(both.MarshalKeyFile())
	if err != nil || parsed.Keys() != 2 || parsed.CurrentID() != both.CurrentID() {
		t.Errorf("key file: %v", err)
	}
	for _, bad := range []string{"", "# only a comment\n", "not base64\n", strings.Repeat("A", 20) + "\n"} {
		if _, err := ParseKeyFile([]byte(bad)); err == nil {
			t.Errorf("key file %q accepted", bad)
		}
	}
}
