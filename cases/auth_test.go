package cases_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestLoginThrottle: failures slow down and then lock the pair of account and address, so that an attacker from
// one address cannot lock the owner out from theirs; an address trying many accounts locks itself; every
// lock-out is kept for the admin, who can lift it.
func TestLoginThrottle(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	acc, err := s.Account(ctx, w.Clerk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, acc.Username, w.Password, "1.2.3.4"); err != nil {
		t.Fatalf("good login: %v", err)
	}
	// The attacker at 1.2.3.4: three quick failures, then each try must wait longer.
	for i := 0; i < cases.LoginSlowAfter; i++ {
		_, err := s.Authenticate(ctx, acc.Username, "wrong password "+strconv.Itoa(i), "1.2.3.4")
		wantCode(t, err, cases.EUNAUTHORIZED)
	}
	_, err = s.Authenticate(ctx, acc.Username, "wrong password again", "1.2.3.4")
	wantCode(t, err, cases.ERATELIMIT)
	if ra := cases.ErrorFields(err)["retry_after"]; ra != "1" {
		t.Errorf("retry_after %q after %d failures, want 1", ra, cases.LoginSlowAfter)
	}
	slowed := 0
	for i := cases.LoginSlowAfter; i < cases.LoginLockAfter; i++ {
		clock.Advance(time.Minute)
		_, err := s.Authenticate(ctx, acc.Username, "wrong password "+strconv.Itoa(i), "1.2.3.4")
		wantCode(t, err, cases.EUNAUTHORIZED)
		if _, err := s.Authenticate(ctx, acc.Username, "too quick", "1.2.3.4"); cases.ErrorCode(err) == cases.ERATELIMIT {
			slowed++
		}
	}
	if slowed != cases.LoginLockAfter-cases.LoginSlowAfter {
		t.Errorf("immediate retries slowed down %d times, want %d", slowed, cases.LoginLockAfter-cases.LoginSlowAfter)
	}
	// Locked from the attacker's address, even with the right password…
	clock.Advance(time.Minute)
	_, err = s.Authenticate(ctx, acc.Username, w.Password, "1.2.3.4")
	wantCode(t, err, cases.ERATELIMIT)
	// …while the owner logs in from theirs.
	if _, err := s.Authenticate(ctx, acc.Username, w.Password, "5.6.7.8"); err != nil {
		t.Errorf("the owner was locked out by an attacker at another address: %v", err)
	}
	_, err = s.Authenticate(ctx, "nobody", w.Password, "9.9.9.9")
	if !errors.Is(err, cases.ErrBadLogin) {
		t.Errorf("unknown user: %v", err)
	}
	// An address trying many accounts locks itself, not the accounts.
	for i := 0; i < cases.LoginAddressLock; i++ {
		_, err := s.Authenticate(ctx, "guess"+strconv.Itoa(i), "password guess", "6.6.6.6")
		wantCode(t, err, cases.EUNAUTHORIZED)
	}
	_, err = s.Authenticate(ctx, acc.Username, w.Password, "6.6.6.6")
	wantCode(t, err, cases.ERATELIMIT)
	if _, err := s.Authenticate(ctx, acc.Username, w.Password, "7.7.7.7"); err != nil {
		t.Errorf("another address was refused: %v", err)
	}
	// The admin sees both lock-outs; an organisation admin sees those of its accounts only; the admin lifts one.
	list, err := s.Lockouts(ctx, w.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Scope != "address" || list[1].Scope != "account_address" || list[1].Username != acc.Username || list[1].Address != "1.2.3.4" || !list[1].Active {
		t.Fatalf("lock-outs %+v", list)
	}
	if got, err := s.Lockouts(ctx, w.OrgAdmin); err != nil || len(got) != 0 {
		t.Errorf("an organisation admin sees another organisation's lock-outs: %+v %v", got, err)
	}
	_, err = s.Lockouts(ctx, w.Clerk)
	wantCode(t, err, cases.EFORBIDDEN)
	wantCode(t, s.ClearLockout(ctx, w.OrgAdmin, list[1].ID), cases.EFORBIDDEN)
	if err := s.ClearLockout(ctx, w.Admin, list[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, acc.Username, w.Password, "1.2.3.4"); err != nil {
		t.Errorf("after the admin lifted the lock-out: %v", err)
	}
	// A lock-out ends by itself after the window.
	clock.Advance(cases.LoginWindow + time.Second)
	if _, err := s.Authenticate(ctx, acc.Username, w.Password, "6.6.6.6"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestPasswordPolicy: at least 12 characters, not the user name, not the previous password, not a common one.
func TestPasswordPolicy(t *testing.T) {
	prev, err := cases.HashPassword("the old long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, password, want string
	}{
		{"clerk1", "short pass", "12 to 200"},
		{"clerk1", "elevenchars", "12 to 200"},
		{"zhang.wei.clerk", "Zhang.Wei.Clerk", "user name"},
		{"clerk1", "Password1234", "common"},
		{"clerk1", "qwerty123456", "common"},
		{"clerk1", "ッッッッッッッッッッッッッ", "repeated"},
		{"clerk1", "2345678901234", "run"},
		{"clerk1", "the old long passphrase", "differ"},
		{"clerk1", strings.Repeat("长", 201), "12 to 200"},
		{"clerk1", "知识产权调解很重要的一句话", ""},
		{"clerk1", "a brand new passphrase", ""},
	} {
		got := cases.PasswordProblem(tc.user, tc.password, prev)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("PasswordProblem(%q, %q) = %q, want %q", tc.user, tc.password, got, tc.want)
		}
	}
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	_, err = s.CreateAccount(context.Background(), cases.NewAccount{OrgID: w.Org.ID, Role: cases.RoleMediator, Username: "newbie", DisplayName: "新人", Password: "password1234"})
	wantCode(t, err, cases.EINVALID)
}

// TestPasswordChangeEndsOtherSessions: a password change ends the account's other sessions and, as asked,
// revokes its API tokens; API tokens live at most the configured maximum, old ones without expiry included.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	mine, err := s.CreateWebSession(ctx, cases.KindAccount, w.Clerk.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.CreateWebSession(ctx, cases.KindAccount, w.Clerk.ID, "", time.Hour)
	judges, _ := s.CreateWebSession(ctx, cases.KindAccount, w.Judge.ID, "", time.Hour)
	_, keep, _ := s.CreateAPIToken(ctx, w.Clerk.ID, "court system", 0)
	_, err = s.ChangePassword(ctx, w.Clerk.ID, w.Password, string(mine.Token), false)
	wantCode(t, err, cases.EINVALID) // the previous password
	out, err := s.ChangePassword(ctx, w.Clerk.ID, "a brand new passphrase", string(mine.Token), false)
	if err != nil || out.SessionsEnded != 1 || out.TokensRevoked != 0 {
		t.Fatalf("change: %+v %v", out, err)
	}
	if _, _, err := s.WebSessionPrincipal(ctx, string(mine.Token)); err != nil {
		t.Errorf("the session that changed the password was ended: %v", err)
	}
	if _, _, err := s.WebSessionPrincipal(ctx, string(other.Token)); err == nil {
		t.Error("another session of the account survived the password change")
	}
	if _, _, err := s.WebSessionPrincipal(ctx, string(judges.Token)); err != nil {
		t.Errorf("another account's session was ended: %v", err)
	}
	if _, err := s.APITokenPrincipal(ctx, string(keep)); err != nil {
		t.Errorf("the token was revoked though the caller chose to keep it: %v", err)
	}
	out, err = s.ChangePassword(ctx, w.Clerk.ID, "yet another long passphrase", string(mine.Token), true)
	if err != nil || out.TokensRevoked != 1 {
		t.Fatalf("change revoking tokens: %+v %v", out, err)
	}
	if _, err := s.APITokenPrincipal(ctx, string(keep)); err == nil {
		t.Error("the token survived a password change that revoked tokens")
	}

	// Lifetimes: 0 means the maximum; longer is refused; the maximum holds for tokens made without expiry.
	s.TokenMaxAge = 30 * 24 * time.Hour
	tok, secret, err := s.CreateAPIToken(ctx, w.Judge.ID, "judge's tool", 0)
	if err != nil || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(clock.Now().Add(30*24*time.Hour).UTC().Truncate(time.Microsecond)) {
		t.Fatalf("token without a lifetime: %+v %v", tok, err)
	}
	_, _, err = s.CreateAPIToken(ctx, w.Judge.ID, "too long", 31*24*time.Hour)
	wantCode(t, err, cases.EINVALID)
	_, legacy, _ := s.CreateAPIToken(ctx, w.Judge.ID, "legacy", time.Hour)
	if _, err := s.Pool().Exec(ctx, `UPDATE api_tokens SET expires_at = NULL WHERE name = 'legacy'`); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * 24 * time.Hour)
	if _, err := s.APITokenPrincipal(ctx, string(legacy)); err != nil {
		t.Errorf("a legacy token within the maximum: %v", err)
	}
	clock.Advance(2 * 24 * time.Hour)
	for name, sec := range map[string]cases.Token{"new": secret, "legacy": legacy} {
		if _, err := s.APITokenPrincipal(ctx, string(sec)); err == nil {
			t.Errorf("the %s token outlived the maximum lifetime", name)
		}
	}
}
