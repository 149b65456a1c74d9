package signaling

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func validClaims(now time.Time) Claims {
	return Claims{CaseID: "c1", SessionID: "s1", ParticipantID: "p1", Name: "张三", Role: RoleParty,
		Side: SideApplicant, CanPublish: true, CanSubscribe: true, ExpiresAt: now.Add(5 * time.Minute)}
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := validClaims(now)
	tok, err := IssueToken(key, c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "v1.") {
		t.Errorf("token %q, want the v1. prefix", tok)
	}
	got, err := VerifyToken(key, tok, now)
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if got.ExpiresAt.Unix() != c.ExpiresAt.Unix() {
		t.Errorf("expiry %v, want %v", got.ExpiresAt, c.ExpiresAt)
	}
	got.ExpiresAt = c.ExpiresAt
	if got != c {
		t.Errorf("claims %+v, want %+v", got, c)
	}
}

func TestTokenRefusals(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	good, _ := IssueToken(key, validClaims(now))
	forged, _ := IssueToken([]byte("another-key-another-key-another-k"), validClaims(now))
	parts := strings.Split(good, ".")
	other := validClaims(now)
	other.SessionID = "s2"
	otherBody, _ := IssueToken(key, other)
	// A payload taken from another token under this token's MAC.
	spliced := parts[0] + "." + strings.Split(otherBody, ".")[1] + "." + parts[2]
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"case_id":"c1"}`)) + "." + parts[2]
	tests := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"expired", good, now.Add(6 * time.Minute), ErrTokenExpired},
		{"exactly at expiry", good, now.Add(5 * time.Minute), ErrTokenExpired},
		{"forged with another key", forged, now, ErrTokenSignature},
		{"payload spliced from another token", spliced, now, ErrTokenSignature},
		{"payload tampered", tampered, now, ErrTokenSignature},
		{"future version", "v2." + parts[1] + "." + parts[2], now, ErrTokenVersion},
		{"two parts", parts[0] + "." + parts[1], now, ErrTokenMalformed},
		{"bad base64 mac", parts[0] + "." + parts[1] + ".%%%", now, ErrTokenMalformed},
		{"empty", "", now, ErrTokenMalformed},
		{"huge", strings.Repeat("a", 5000), now, ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := VerifyToken(key, tt.token, tt.at)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyToken: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssueTokenValidates(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		mutate func(*Claims)
	}{
		{"no case", func(c *Claims) { c.CaseID = "" }},
		{"slash in session", func(c *Claims) { c.SessionID = "a/b" }},
		{"unknown role", func(c *Claims) { c.Role = "king" }},
		{"unknown side", func(c *Claims) { c.Side = "both" }},
		{"no expiry", func(c *Claims) { c.ExpiresAt = time.Time{} }},
	}
	for _, tt := range tests {
		c := validClaims(now)
		tt.mutate(&c)
		if _, err := IssueToken(key, c); err == nil {
			t.Errorf("%s: IssueToken accepted %+v, want an error", tt.name, c)
		}
	}
	if _, err := IssueToken(key[:16], validClaims(now)); !errors.Is(err, ErrTokenKey) {
		t.Errorf("short key: got %v, want ErrTokenKey", err)
	}
}

// FuzzVerifyToken: no input makes the verifier panic or accept a token it did not sign.
func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good, _ := IssueToken(key, validClaims(now))
	f.Add(good)
	f.Add("v1..")
	f.Add("v1.e30.AAAA")
	f.Add(strings.Replace(good, "v1", "v0", 1))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := VerifyToken(key, tok, now)
		if err == nil && tok != good {
			// Only a byte-identical token can verify (base64 padding bits aside).
			if _, err2 := IssueToken(key, c); err2 != nil {
				t.Fatalf("accepted invalid claims %+v", c)
			}
		}
	})
}
