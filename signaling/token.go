package signaling

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is a participant's role in a session.
type Role string

// Roles. Parties, agents and observers wait in the lobby until a mediator admits them;
// mediators, judges and clerks enter directly.
const (
	RoleParty    Role = "party"
	RoleAgent    Role = "agent"
	RoleMediator Role = "mediator"
	RoleJudge    Role = "judge"
	RoleClerk    Role = "clerk"
	RoleObserver Role = "observer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleParty, RoleAgent, RoleMediator, RoleJudge, RoleClerk, RoleObserver:
		return true
	}
	return false
}

// waitsInLobby reports whether the role must be admitted by a mediator.
func (r Role) waitsInLobby() bool {
	return r == RoleParty || r == RoleAgent || r == RoleObserver
}

// Sides of a dispute.
const (
	SideApplicant  = "applicant"
	SideRespondent = "respondent"
)

// Claims are what a join token grants: one person, in one role, in one session of one
// case, until ExpiresAt.
type Claims struct {
	CaseID        string    `json:"case_id"`
	SessionID     string    `json:"session_id"`
	ParticipantID string    `json:"participant_id"`
	Name          string    `json:"name"`
	Role          Role      `json:"role"`
	Side          string    `json:"side,omitempty"`
	CanPublish    bool      `json:"can_publish"`
	CanSubscribe  bool      `json:"can_subscribe"`
	CanModerate   bool      `json:"can_moderate"`
	ExpiresAt     time.Time `json:"-"`
	// Mode is how the participant takes part (join.data.mode: ModeVideo, ModeVoice or
	// ModeText); chosen at join, not part of the token.
	Mode string `json:"-"`
}

// Ways of taking part (OMR Art. 18: video, voice or text).
const (
	ModeVideo = "video"
	ModeVoice = "voice"
	ModeText  = "text"
)

// Token errors. VerifyToken wraps one of these.
var (
	ErrTokenMalformed = errors.New("signaling: token malformed")
	ErrTokenSignature = errors.New("signaling: token signature invalid")
	ErrTokenExpired   = errors.New("signaling: token expired")
	ErrTokenVersion   = errors.New("signaling: token version unsupported")
	ErrTokenKey       = errors.New("signaling: token key shorter than 32 bytes")
)

const tokenVersion = "v1"

// wireClaims is the JSON inside a token.
type wireClaims struct {
	Claims
	Exp int64 `json:"exp"`
}

// Valid checks the claims' fields.
func (c Claims) Valid() error {
	var errs []string
	for name, v := range map[string]string{"case_id": c.CaseID, "session_id": c.SessionID, "participant_id": c.ParticipantID} {
		if v == "" || len(v) > 128 || strings.ContainsAny(v, " /\t\r\n") {
			errs = append(errs, name+" must be 1–128 characters without spaces or slashes")
		}
	}
	if !c.Role.Valid() {
		errs = append(errs, fmt.Sprintf("unknown role %q", c.Role))
	}
	switch c.Side {
	case "", SideApplicant, SideRespondent:
	default:
		errs = append(errs, fmt.Sprintf("unknown side %q", c.Side))
	}
	if len(c.Name) > 200 {
		errs = append(errs, "name longer than 200 bytes")
	}
	if c.ExpiresAt.IsZero() {
		errs = append(errs, "expiry missing")
	}
	if len(errs) > 0 {
		return fmt.Errorf("signaling: claims: %s", strings.Join(errs, "; "))
	}
	return nil
}

// IssueToken signs claims with key (HMAC-SHA256, at least 32 bytes). The token is
// "v1.<base64url(claims JSON)>.<base64url(MAC)>", the MAC covering "v1.<payload>".
func IssueToken(key []byte, c Claims) (string, error) {
	if len(key) < 32 {
		return "", ErrTokenKey
	}
	if err := c.Valid(); err != nil {
		return "", err
	}
	body, err := json.Marshal(wireClaims{Claims: c, Exp: c.ExpiresAt.Unix()})
	if err != nil {
		return "", fmt.Errorf("signaling: token: %w", err)
	}
	signed := tokenVersion + "." + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(key, signed)), nil
}

func tokenMAC(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// VerifyToken checks a token's version, MAC (constant time) and expiry at now, and
// returns its claims. The caller must still check that the claims' session is the one
// being joined.
func VerifyToken(key []byte, token string, now time.Time) (Claims, error) {
	if len(key) < 32 {
		return Claims{}, ErrTokenKey
	}
	if len(token) > 4096 {
		return Claims{}, ErrTokenMalformed
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, ErrTokenMalformed
	}
	if parts[0] != tokenVersion {
		return Claims{}, ErrTokenVersion
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, ErrTokenMalformed
	}
	if !hmac.Equal(mac, tokenMAC(key, parts[0]+"."+parts[1])) {
		return Claims{}, ErrTokenSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Claims{}, ErrTokenMalformed
	}
	var w wireClaims
	if err := json.Unmarshal(body, &w); err != nil {
		return Claims{}, ErrTokenMalformed
	}
	c := w.Claims
	c.ExpiresAt = time.Unix(w.Exp, 0)
	if err := c.Valid(); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	if !now.Before(c.ExpiresAt) {
		return Claims{}, ErrTokenExpired
	}
	return c, nil
}
