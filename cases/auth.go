package cases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Token is a bearer secret. It prints as redacted so it never reaches a log by accident.
type Token string

// String redacts the token.
func (t Token) String() string { return "[redacted]" }

// LogValue redacts the token in structured logs.
func (t Token) LogValue() any { return "[redacted]" }

func newToken(prefix string) (Token, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("cases: new token: %w", err)
	}
	t := prefix + base64.RawURLEncoding.EncodeToString(b)
	return Token(t), hashToken(t), nil
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// WebSession is a logged-in browser session.
type WebSession struct {
	Token     Token
	CSRF      string
	ExpiresAt time.Time
}

// CreateWebSession starts a session for a staff account, a party or an agent (kind), valid for ttl.
func (s *Store) CreateWebSession(ctx context.Context, kind PrincipalKind, subjectID, caseID string, ttl time.Duration) (*WebSession, error) {
	tok, hash, err := newToken("ps_")
	if err != nil {
		return nil, err
	}
	csrf, _, err := newToken("")
	if err != nil {
		return nil, err
	}
	ws := &WebSession{Token: tok, CSRF: string(csrf), ExpiresAt: s.now().Add(ttl)}
	_, err = s.pool.Exec(ctx, `INSERT INTO web_sessions (token_hash, kind, subject_id, case_id, csrf_token, created_at, expires_at)
		VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5, $6, $7)`, hash, kind, subjectID, caseID, ws.CSRF, s.now(), ws.ExpiresAt)
	if err != nil {
		return nil, dbErr("create session", err)
	}
	// Sweep a few expired sessions on the way.
	_, _ = s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash IN (SELECT token_hash FROM web_sessions WHERE expires_at < $1 LIMIT 100)`, s.now())
	return ws, nil
}

// ErrNoSession answers a missing, unknown or expired session or token.
var ErrNoSession = Errorf(EUNAUTHORIZED, "not logged in, or the session has expired")

// WebSessionPrincipal resolves a session token to its principal and CSRF token.
func (s *Store) WebSessionPrincipal(ctx context.Context, token string) (Principal, string, error) {
	if !strings.HasPrefix(token, "ps_") || len(token) > 100 {
		return Principal{}, "", ErrNoSession
	}
	var kind PrincipalKind
	var subject, caseID, csrf string
	var expires time.Time
	err := s.pool.QueryRow(ctx, `SELECT kind, subject_id::text, COALESCE(case_id::text, ''), csrf_token, expires_at FROM web_sessions WHERE token_hash = $1`,
		hashToken(token)).Scan(&kind, &subject, &caseID, &csrf, &expires)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && s.now().After(expires)) {
		return Principal{}, "", ErrNoSession
	}
	if err != nil {
		return Principal{}, "", dbErr("session", err)
	}
	p, err := s.subjectPrincipal(ctx, kind, subject)
	if err != nil {
		return Principal{}, "", err
	}
	return p, csrf, nil
}

// subjectPrincipal builds the principal for an account, party or agent ID.
func (s *Store) subjectPrincipal(ctx context.Context, kind PrincipalKind, id string) (Principal, error) {
	switch kind {
	case KindAccount:
		return s.AccountPrincipal(ctx, id)
	case KindParty:
		var p Principal
		err := s.pool.QueryRow(ctx, `SELECT id, name, case_id, side FROM parties WHERE id = $1`, id).Scan(&p.ID, &p.Name, &p.CaseID, &p.Side)
		if err != nil {
			return Principal{}, ErrNoSession
		}
		p.Kind, p.PartyID = KindParty, p.ID
		return p, nil
	case KindAgent:
		var p Principal
		err := s.pool.QueryRow(ctx, `SELECT a.id, a.name, p.case_id, p.side, p.id FROM agents a JOIN parties p ON p.id = a.party_id WHERE a.id = $1`, id).
			Scan(&p.ID, &p.Name, &p.CaseID, &p.Side, &p.PartyID)
		if err != nil {
			return Principal{}, ErrNoSession
		}
		p.Kind = KindAgent
		return p, nil
	}
	return Principal{}, ErrNoSession
}

// DeleteWebSession ends a session.
func (s *Store) DeleteWebSession(ctx context.Context, token string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, hashToken(token))
	return dbErr("logout", err)
}

// APIToken is an integration's bearer token, acting as the account that created it.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// DefaultTokenMaxAge is the longest an API token lives unless the store is told otherwise (Store.TokenMaxAge).
const DefaultTokenMaxAge = 365 * 24 * time.Hour

func (s *Store) tokenMaxAge() time.Duration {
	if s.TokenMaxAge > 0 {
		return s.TokenMaxAge
	}
	return DefaultTokenMaxAge
}

// CreateAPIToken makes a token for accountID; the secret is returned once and only its hash is kept. Every token
// expires: ttl 0 means the longest lifetime allowed (Store.TokenMaxAge), and a longer ttl is refused.
func (s *Store) CreateAPIToken(ctx context.Context, accountID, name string, ttl time.Duration) (*APIToken, Token, error) {
	f := map[string]string{}
	requireText(f, "name", name, true, 100)
	maxAge := s.tokenMaxAge()
	if ttl == 0 {
		ttl = maxAge
	}
	if ttl < 0 || ttl > maxAge {
		f["expires_in_days"] = fmt.Sprintf("must be between 1 and %d (0 for the longest)", int(maxAge/(24*time.Hour)))
	}
	if err := Invalid(f); err != nil {
		return nil, "", err
	}
	tok, hash, err := newToken("pk_")
	if err != nil {
		return nil, "", err
	}
	t := &APIToken{Name: name, CreatedAt: s.now()}
	if ttl > 0 {
		t.ExpiresAt = ptr(s.now().Add(ttl))
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO api_tokens (account_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		accountID, name, hash, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
	if err != nil {
		return nil, "", dbErr("create token", err)
	}
	return t, tok, nil
}

// APITokenPrincipal resolves an API token to its account's principal.
func (s *Store) APITokenPrincipal(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, "pk_") || len(token) > 100 {
		return Principal{}, ErrNoSession
	}
	var id, account string
	var created time.Time
	var expires, revoked, used *time.Time
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, created_at, expires_at, revoked_at, last_used_at FROM api_tokens WHERE token_hash = $1`, hashToken(token)).
		Scan(&id, &account, &created, &expires, &revoked, &used)
	// A token made before lifetimes were bounded (no expiry) lives at most the maximum from its creation.
	if err == nil && (expires == nil || expires.After(created.Add(s.tokenMaxAge()))) {
		expires = ptr(created.Add(s.tokenMaxAge()))
	}
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (revoked != nil || s.now().After(*expires))) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, dbErr("token", err)
	}
	if used == nil || s.now().Sub(*used) > time.Minute {
		_, _ = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, s.now())
	}
	return s.AccountPrincipal(ctx, account)
}

// APITokens lists an account's tokens.
func (s *Store) APITokens(ctx context.Context, accountID string) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY created_at`, accountID)
	if err != nil {
		return nil, dbErr("tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIToken, error) {
		var t APIToken
		err := r.Scan(&t.ID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
		return t, err
	})
	return out, dbErr("tokens", err)
}

// RevokeAPIToken revokes one of an account's tokens.
func (s *Store) RevokeAPIToken(ctx context.Context, accountID, id string) error {
	if !isUUID(id) {
		return Errorf(ENOTFOUND, "token not found")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL`, id, accountID, s.now())
	if err != nil {
		return dbErr("revoke token", err)
	}
	if tag.RowsAffected() == 0 {
		return Errorf(ENOTFOUND, "token not found")
	}
	return nil
}

// Invitation is a personal link for a party or agent to enter one case.
type Invitation struct {
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	PartyID   string    `json:"party_id"`
	AgentID   string    `json:"agent_id,omitempty"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateInvitation makes an invitation for a party (or one of its agents) of a case; the staff principal p must
// be allowed to edit the case. The secret token is returned once.
func (s *Store) CreateInvitation(ctx context.Context, p Principal, caseID, partyID, agentID string, ttl time.Duration) (*Invitation, Token, error) {
	c, err := s.Case(ctx, caseID)
	if err != nil {
		return nil, "", err
	}
	if !CanView(p, c) {
		return nil, "", Errorf(ENOTFOUND, "case not found")
	}
	if !mayEditCase(p, c) {
		return nil, "", Errorf(EFORBIDDEN, "invitations are sent by the court's clerks, the organisation's admins and the case's mediators")
	}
	party := c.Party(partyID)
	if party == nil {
		return nil, "", Invalid(map[string]string{"party_id": "is not a party of this case"})
	}
	name := party.Name
	if agentID != "" {
		found := false
		for _, a := range party.Agents {
			if a.ID == agentID {
				found, name = true, a.Name
			}
		}
		if !found {
			return nil, "", Invalid(map[string]string{"agent_id": "is not an agent of this party"})
		}
	}
	if c.State.Final() {
		return nil, "", Errorf(ECONFLICT, "the case is closed (%s)", c.State)
	}
	tok, hash, err := newToken("pi_")
	if err != nil {
		return nil, "", err
	}
	inv := &Invitation{CaseID: caseID, PartyID: partyID, AgentID: agentID, Name: name, ExpiresAt: s.now().Add(ttl)}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
			return err
		}
		// A new link for the same person revokes the older ones: only the newest link sent works.
		rows, err := tx.Query(ctx, `UPDATE invitations SET revoked_at = $4, revoked_reason = 'replaced', code_hash = NULL
			WHERE case_id = $1 AND party_id = $2 AND agent_id IS NOT DISTINCT FROM NULLIF($3, '')::uuid AND revoked_at IS NULL RETURNING id::text`,
			caseID, partyID, agentID, s.now())
		if err != nil {
			return err
		}
		replaced, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO invitations (case_id, party_id, agent_id, token_hash, created_by, created_at, expires_at)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7) RETURNING id`, caseID, partyID, agentID, hash, p.ID, s.now(), inv.ExpiresAt).Scan(&inv.ID); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, caseID, p, "invitation.created", VisStaff,
			map[string]any{"invitation_id": inv.ID, "party_id": partyID, "agent_id": agentID, "name": name, "expires_at": inv.ExpiresAt.Format(time.RFC3339), "replaced": replaced}, s.now())
		return err
	})
	if err != nil {
		return nil, "", dbErr("create invitation", err)
	}
	return inv, tok, nil
}

// InvitationView is what the invitation page shows before the one-time code is entered.
type InvitationView struct {
	CaseNumber   string    `json:"case_number"`
	CaseTitle    string    `json:"case_title"`
	Organisation string    `json:"organisation,omitempty"`
	Court        string    `json:"court,omitempty"`
	Name         string    `json:"name"`
	Side         Side      `json:"side"`
	MaskedPhone  string    `json:"masked_phone"`
	ExpiresAt    time.Time `json:"expires_at"`
	CaseState    State     `json:"case_state"`
	Consented    bool      `json:"consented"` // the party already consented to online mediation
	// ConsentOpen says whether the holder may answer the consent question now (false once the case is past it:
	// settled, ended…), so the page asks it only then.
	ConsentOpen bool `json:"consent_open"`
}

type invitationRow struct {
	id, caseID, partyID, agentID, name, phone, email string
	side                                             Side
	expires                                          time.Time
	revoked, codeExpires, codeSent                   *time.Time
	codeHash                                         []byte
	attempts                                         int
}

var errBadInvitation = Errorf(ENOTFOUND, "this invitation link is not valid or has expired: ask the mediator or the court for a new one")

func (s *Store) invitation(ctx context.Context, q querier, token string, lock bool) (*invitationRow, error) {
	if !strings.HasPrefix(token, "pi_") || len(token) > 100 {
		return nil, errBadInvitation
	}
	sql := `SELECT i.id, i.case_id, i.party_id, COALESCE(i.agent_id::text, ''), COALESCE(a.name, p.name), COALESCE(NULLIF(a.phone, ''), p.phone),
		COALESCE(NULLIF(a.service_address, ''), p.service_address), p.side, i.expires_at, i.revoked_at, i.code_expires_at, i.code_sent_at, i.code_hash, i.code_attempts
		FROM invitations i JOIN parties p ON p.id = i.party_id LEFT JOIN agents a ON a.id = i.agent_id WHERE i.token_hash = $1`
	if lock {
		sql += ` FOR UPDATE OF i`
	}
	var r invitationRow
	err := q.QueryRow(ctx, sql, hashToken(token)).Scan(&r.id, &r.caseID, &r.partyID, &r.agentID, &r.name, &r.phone, &r.email, &r.side, &r.expires,
		&r.revoked, &r.codeExpires, &r.codeSent, &r.codeHash, &r.attempts)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (r.revoked != nil || s.now().After(r.expires))) {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, dbErr("invitation", err)
	}
	return &r, nil
}

// InvitationInfo returns what the invitation page may show to anyone holding the link.
func (s *Store) InvitationInfo(ctx context.Context, token string) (*InvitationView, error) {
	r, err := s.invitation(ctx, s.pool, token, false)
	if err != nil {
		return nil, err
	}
	c, err := s.Case(ctx, r.caseID)
	if err != nil {
		return nil, err
	}
	v := &InvitationView{CaseNumber: c.Number, CaseTitle: c.Title, Organisation: c.OrganisationName, Court: c.CourtName, Name: r.name, Side: r.side,
		MaskedPhone: maskPhone(r.phone), ExpiresAt: r.expires, CaseState: c.State}
	if p := c.Party(r.partyID); p != nil {
		v.Consented = p.ConsentOnline
	}
	holder := Principal{Kind: KindParty, ID: r.partyID, Name: r.name, CaseID: r.caseID, PartyID: r.partyID, Side: r.side}
	if r.agentID != "" {
		holder = Principal{Kind: KindAgent, ID: r.agentID, Name: r.name, CaseID: r.caseID, PartyID: r.partyID, Side: r.side}
	}
	v.ConsentOpen = slices.Contains(Available(holder, c), ActConsentOnline)
	return v, nil
}

func maskPhone(p string) string {
	digits := []rune(p)
	if len(digits) < 7 {
		return "***"
	}
	return string(digits[:3]) + strings.Repeat("*", len(digits)-7) + string(digits[len(digits)-4:])
}

// CodeDelivery is a one-time code to send to a party, and where.
type CodeDelivery struct {
	Code      Token
	Name      string
	Phone     string
	Email     string
	CaseID    string
	ExpiresAt time.Time
}

// IssueInvitationCode makes a fresh 6-digit one-time code for an invitation, valid 10 minutes; a new code may
// be asked for once a minute. The caller sends it through the notifier.
func (s *Store) IssueInvitationCode(ctx context.Context, token string) (*CodeDelivery, error) {
	var d *CodeDelivery
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := s.invitation(ctx, tx, token, true)
		if err != nil {
			return err
		}
		if r.codeSent != nil && s.now().Sub(*r.codeSent) < time.Minute {
			return Errorf(ERATELIMIT, "a code was sent less than a minute ago: wait before asking for another")
		}
		n, err := rand.Int(rand.Reader, big.NewInt(1000000))
		if err != nil {
			return err
		}
		code := fmt.Sprintf("%06d", n.Int64())
		d = &CodeDelivery{Code: Token(code), Name: r.name, Phone: r.phone, Email: r.email, CaseID: r.caseID, ExpiresAt: s.now().Add(10 * time.Minute)}
		_, err = tx.Exec(ctx, `UPDATE invitations SET code_hash = $2, code_expires_at = $3, code_sent_at = $4, code_attempts = 0 WHERE id = $1`,
			r.id, codeHash(r.id, code), d.ExpiresAt, s.now())
		return err
	})
	if err != nil {
		return nil, dbErr("issue code", err)
	}
	return d, nil
}

func codeHash(invitationID, code string) []byte {
	h := sha256.Sum256([]byte(invitationID + ":" + code))
	return h[:]
}

// VerifyInvitationCode checks a one-time code; five wrong tries spend the code. On success it returns the
// party's or agent's principal, and the event trail records the entry.
func (s *Store) VerifyInvitationCode(ctx context.Context, token, code string) (Principal, error) {
	var p Principal
	var verr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := s.invitation(ctx, tx, token, true)
		if err != nil {
			return err
		}
		if r.codeHash == nil || r.codeExpires == nil || s.now().After(*r.codeExpires) {
			verr = Errorf(EUNPROCESSABLE, "no valid code: ask for a new code")
			return nil
		}
		if r.attempts >= 5 {
			verr = Errorf(ERATELIMIT, "too many wrong codes: ask for a new code")
			return nil
		}
		if subtle.ConstantTimeCompare(codeHash(r.id, strings.TrimSpace(code)), r.codeHash) != 1 {
			if _, err := tx.Exec(ctx, `UPDATE invitations SET code_attempts = code_attempts + 1 WHERE id = $1`, r.id); err != nil {
				return err
			}
			verr = Errorf(EUNPROCESSABLE, "the code is wrong (%d tries left)", 4-r.attempts)
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET code_hash = NULL, code_expires_at = NULL, verified_at = $2 WHERE id = $1`, r.id, s.now()); err != nil {
			return err
		}
		if r.agentID != "" {
			p = Principal{Kind: KindAgent, ID: r.agentID, Name: r.name, CaseID: r.caseID, PartyID: r.partyID, Side: r.side}
		} else {
			p = Principal{Kind: KindParty, ID: r.partyID, Name: r.name, CaseID: r.caseID, PartyID: r.partyID, Side: r.side}
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, r.caseID); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, r.caseID, p, "party.entered", VisAll, map[string]any{"invitation_id": r.id, "party_id": r.partyID, "method": "invitation link + one-time code", "to": maskPhone(r.phone)}, s.now())
		return err
	})
	if err != nil {
		return Principal{}, dbErr("verify code", err)
	}
	if verr != nil {
		return Principal{}, verr
	}
	return p, nil
}

// ErrBadLogin is the answer to a wrong username or password; it never says which.
var ErrBadLogin = Errorf(EUNAUTHORIZED, "wrong username or password")

// The login throttle. Failures are counted over LoginWindow per pair of account and address, per address, and
// per account:
//   - a pair slows down after LoginSlowAfter failures (each next try waits twice as long, up to a minute) and is
//     locked for LoginWindow after LoginLockAfter: the owner, from another address, still logs in;
//   - an address that fails LoginAddressLock times (trying many accounts) is locked for LoginWindow;
//   - an account failing LoginAccountSlow times across all addresses (a distributed attack) only slows: one try
//     every two seconds, never a lock-out, so that no one can lock the owner out.
//
// Every lock-out is logged and kept in login_lockouts for the admin (Lockouts), who can clear it.
const (
	LoginWindow      = 15 * time.Minute
	LoginSlowAfter   = 3
	LoginLockAfter   = 10
	LoginAddressLock = 50
	LoginAccountSlow = 20
)

func rateLimited(wait time.Duration, format string, args ...any) *Error {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	e := Errorf(ERATELIMIT, format+": try again in %d seconds", append(args, secs)...)
	e.Fields = map[string]string{"retry_after": strconv.Itoa(secs)}
	return e
}

// Authenticate checks a username and password from the client address clientKey, under the login throttle.
func (s *Store) Authenticate(ctx context.Context, username, password, clientKey string) (*Account, error) {
	now := s.now()
	pairKey, addrKey, userKey := "pair:"+username+"|"+clientKey, "client:"+clientKey, "user:"+username
	var pair, addr, user int
	var lastPair, lastAddr, lastUser *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE key = $1), max(at) FILTER (WHERE key = $1),
		count(*) FILTER (WHERE key = $2), max(at) FILTER (WHERE key = $2),
		count(*) FILTER (WHERE key = $3), max(at) FILTER (WHERE key = $3)
		FROM login_attempts WHERE key IN ($1, $2, $3) AND at > $4`, pairKey, addrKey, userKey, now.Add(-LoginWindow)).
		Scan(&pair, &lastPair, &addr, &lastAddr, &user, &lastUser); err != nil {
		return nil, dbErr("login", err)
	}
	switch {
	case pair >= LoginLockAfter:
		return nil, rateLimited(lastPair.Add(LoginWindow).Sub(now), "too many failed logins to this account from this address")
	case addr >= LoginAddressLock:
		return nil, rateLimited(lastAddr.Add(LoginWindow).Sub(now), "too many failed logins from this address")
	case pair >= LoginSlowAfter:
		wait := min(time.Duration(1<<min(pair-LoginSlowAfter, 6))*time.Second, time.Minute)
		if until := lastPair.Add(wait); now.Before(until) {
			return nil, rateLimited(until.Sub(now), "several failed logins: wait before the next try")
		}
	}
	if user >= LoginAccountSlow {
		if until := lastUser.Add(2 * time.Second); now.Before(until) {
			return nil, rateLimited(until.Sub(now), "many failed logins to this account: wait before the next try")
		}
	}
	var a *Account
	var hash string
	var acc Account
	err := s.pool.QueryRow(ctx, `SELECT `+accountCols+`, password_hash FROM accounts WHERE username = $1`, username).
		Scan(&acc.ID, &acc.OrgID, &acc.Role, &acc.Username, &acc.DisplayName, &acc.Phone, &acc.Email, &acc.Disabled, &acc.CreatedAt, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		CheckPassword(dummyHash, password)
	case err != nil:
		return nil, dbErr("login", err)
	default:
		if CheckPassword(hash, password) && !acc.Disabled {
			a = &acc
		}
	}
	if a == nil {
		if _, err := s.pool.Exec(ctx, `INSERT INTO login_attempts (key, at) VALUES ($1, $4), ($2, $4), ($3, $4)`, pairKey, addrKey, userKey, now); err != nil {
			return nil, dbErr("login", err)
		}
		var lock []string
		if pair+1 == LoginLockAfter {
			lock = append(lock, "account_address")
		}
		if addr+1 == LoginAddressLock {
			lock = append(lock, "address")
		}
		for _, scope := range lock {
			n := pair + 1
			if scope == "address" {
				n = addr + 1
			}
			if _, err := s.pool.Exec(ctx, `INSERT INTO login_lockouts (username, account_id, address, scope, failures, at, until)
				VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6, $7)`, username, acc.ID, clientKey, scope, n, now, now.Add(LoginWindow)); err != nil {
				return nil, dbErr("login", err)
			}
			s.log.Warn("login locked out", "username", username, "address", clientKey, "scope", scope, "failures", n, "until", now.Add(LoginWindow))
		}
		return nil, ErrBadLogin
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1 OR at < $2`, pairKey, now.Add(-time.Hour)); err != nil {
		return nil, dbErr("login", err)
	}
	return a, nil
}

// Lockout is one login lock-out, for the admin.
type Lockout struct {
	ID        int64      `json:"id"`
	Username  string     `json:"username"`
	AccountID string     `json:"account_id,omitempty"`
	Address   string     `json:"address"`
	Scope     string     `json:"scope"` // account_address | address
	Failures  int        `json:"failures"`
	At        time.Time  `json:"at"`
	Until     time.Time  `json:"until"`
	Active    bool       `json:"active"`
	ClearedAt *time.Time `json:"cleared_at,omitempty"`
	ClearedBy string     `json:"cleared_by,omitempty"`
}

// Lockouts lists the latest lock-outs: all of them for the platform admin, those of the organisation's accounts
// for an organisation admin.
func (s *Store) Lockouts(ctx context.Context, p Principal) ([]Lockout, error) {
	var q string
	var args []any
	switch {
	case p.IsStaff(RoleAdmin):
		q = `SELECT l.id, l.username, COALESCE(l.account_id::text, ''), l.address, l.scope, l.failures, l.at, l.until, l.cleared_at, l.cleared_by
			FROM login_lockouts l ORDER BY l.at DESC LIMIT 200`
	case p.IsStaff(RoleOrgAdmin) && p.OrgID != "":
		q = `SELECT l.id, l.username, COALESCE(l.account_id::text, ''), l.address, l.scope, l.failures, l.at, l.until, l.cleared_at, l.cleared_by
			FROM login_lockouts l JOIN accounts a ON a.id = l.account_id WHERE a.org_id = $1 ORDER BY l.at DESC LIMIT 200`
		args = []any{p.OrgID}
	default:
		return nil, Errorf(EFORBIDDEN, "lock-outs are shown to the platform admin and to organisation admins")
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr("lockouts", err)
	}
	now := s.now()
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lockout, error) {
		var l Lockout
		err := r.Scan(&l.ID, &l.Username, &l.AccountID, &l.Address, &l.Scope, &l.Failures, &l.At, &l.Until, &l.ClearedAt, &l.ClearedBy)
		l.Active = l.ClearedAt == nil && now.Before(l.Until)
		return l, err
	})
	if out == nil {
		out = []Lockout{}
	}
	return out, dbErr("lockouts", err)
}

// ClearLockout lifts a lock-out before its time (the platform admin): the failures behind it are forgotten.
func (s *Store) ClearLockout(ctx context.Context, p Principal, id int64) error {
	if !p.IsStaff(RoleAdmin) {
		return Errorf(EFORBIDDEN, "lock-outs are lifted by the platform admin")
	}
	return dbErr("clear lockout", s.inTx(ctx, func(tx pgx.Tx) error {
		var username, address, scope string
		err := tx.QueryRow(ctx, `UPDATE login_lockouts SET cleared_at = $2, cleared_by = $3 WHERE id = $1 AND cleared_at IS NULL RETURNING username, address, scope`,
			id, s.now(), p.Name).Scan(&username, &address, &scope)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(ENOTFOUND, "lock-out not found or already lifted")
		}
		if err != nil {
			return err
		}
		key := "pair:" + username + "|" + address
		if scope == "address" {
			key = "client:" + address
		}
		_, err = tx.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, key)
		return err
	}))
}

// PasswordChange is what a password change did.
type PasswordChange struct {
	SessionsEnded int `json:"sessions_ended"` // the account's other logged-in sessions, ended
	TokensRevoked int `json:"tokens_revoked"` // its API tokens, when the caller chose to revoke them
}

// ChangePassword sets a new password for an account under the password policy (PasswordProblem), ends every
// other session of the account (all but keepSession, the token of the session that made the change) and, when
// revokeTokens, revokes its API tokens.
func (s *Store) ChangePassword(ctx context.Context, accountID, password, keepSession string, revokeTokens bool) (*PasswordChange, error) {
	if !isUUID(accountID) {
		return nil, Errorf(ENOTFOUND, "account not found")
	}
	out := &PasswordChange{}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var username, old string
		if err := tx.QueryRow(ctx, `SELECT username, password_hash FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&username, &old); err != nil {
			return err
		}
		if msg := PasswordProblem(username, password, old); msg != "" {
			return Invalid(map[string]string{"new_password": msg})
		}
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1`, accountID, hash, s.now()); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE kind = 'account' AND subject_id = $1 AND token_hash <> $2`, accountID, hashToken(keepSession))
		if err != nil {
			return err
		}
		out.SessionsEnded = int(tag.RowsAffected())
		if revokeTokens {
			tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`, accountID, s.now())
			if err != nil {
				return err
			}
			out.TokensRevoked = int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("change password", err)
	}
	s.log.Info("password changed", "account_id", accountID, "sessions_ended", out.SessionsEnded, "tokens_revoked", out.TokensRevoked)
	return out, nil
}

// SetPassword sets an account's password under the password policy (an admin's reset, the demo); it does not
// touch sessions.
func (s *Store) SetPassword(ctx context.Context, accountID, password string) error {
	if !isUUID(accountID) {
		return Errorf(ENOTFOUND, "account not found")
	}
	var username, old string
	if err := s.pool.QueryRow(ctx, `SELECT username, password_hash FROM accounts WHERE id = $1`, accountID).Scan(&username, &old); err != nil {
		return dbErr("set password", err)
	}
	if msg := PasswordProblem(username, password, old); msg != "" {
		return Invalid(map[string]string{"password": msg})
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1`, accountID, hash, s.now())
	return dbErr("set password", err)
}

// ConsentLink is what a party's consent link (from a served notice) is for.
type ConsentLink struct {
	CaseID     string     `json:"case_id"`
	CaseNumber string     `json:"case_number"`
	PartyName  string     `json:"party_name"`
	Action     Action     `json:"action"`
	Days       int        `json:"days,omitempty"`   // consent_extension: the extension asked for
	Reason     string     `json:"reason,omitempty"` // and why
	ExpiresAt  time.Time  `json:"expires_at"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
}

// CreateConsentLink makes a party's personal link for one consent (today: consent_extension), to send in a
// served notice. The secret is returned once.
func (s *Store) CreateConsentLink(ctx context.Context, caseID, partyID string, action Action, ttl time.Duration) (Token, error) {
	if action != ActConsentExtension {
		return "", Errorf(EINVALID, "no consent link for %s", action)
	}
	tok, hash, err := newToken("pc_")
	if err != nil {
		return "", err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO consent_links (token_hash, case_id, party_id, action, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, caseID, partyID, string(action), s.now(), s.now().Add(ttl))
	return tok, dbErr("consent link", err)
}

func (s *Store) consentLink(ctx context.Context, token string) (*ConsentLink, string, error) {
	if !strings.HasPrefix(token, "pc_") || len(token) > 100 {
		return nil, "", Errorf(ENOTFOUND, "this link is not valid")
	}
	var l ConsentLink
	var partyID string
	err := s.pool.QueryRow(ctx, `SELECT l.case_id, c.number, p.name, p.id, l.action, l.expires_at, l.used_at
		FROM consent_links l JOIN cases c ON c.id = l.case_id JOIN parties p ON p.id = l.party_id WHERE l.token_hash = $1`, hashToken(token)).
		Scan(&l.CaseID, &l.CaseNumber, &l.PartyName, &partyID, &l.Action, &l.ExpiresAt, &l.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", Errorf(ENOTFOUND, "this link is not valid")
	}
	if err != nil {
		return nil, "", dbErr("consent link", err)
	}
	if c, err := s.Case(ctx, l.CaseID); err == nil && c.Pending != nil && c.Pending.Extension != nil {
		l.Days, l.Reason = c.Pending.Extension.Days, c.Pending.Extension.Reason
	}
	return &l, partyID, nil
}

// ConsentLinkInfo says what a consent link is for (public: the link is the party's).
func (s *Store) ConsentLinkInfo(ctx context.Context, token string) (*ConsentLink, error) {
	l, _, err := s.consentLink(ctx, token)
	return l, err
}

// UseConsentLink gives the party's consent through its link: the action is the party's own, recorded as given
// by the link in the served notice. A link works once and until it expires.
func (s *Store) UseConsentLink(ctx context.Context, token string) (*ActResult, error) {
	l, partyID, err := s.consentLink(ctx, token)
	if err != nil {
		return nil, err
	}
	switch {
	case l.UsedAt != nil:
		return nil, Errorf(ECONFLICT, "this link was already used")
	case s.now().After(l.ExpiresAt):
		return nil, Errorf(EUNPROCESSABLE, "this link has expired: consent in the app instead")
	}
	p, err := s.subjectPrincipal(ctx, KindParty, partyID)
	if err != nil {
		return nil, err
	}
	res, err := s.Act(ctx, p, l.CaseID, l.Action, Params{Note: ConsentByNoticeLink})
	if err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE consent_links SET used_at = $2 WHERE token_hash = $1`, hashToken(token), s.now()); err != nil {
		return nil, dbErr("consent link", err)
	}
	return res, nil
}
