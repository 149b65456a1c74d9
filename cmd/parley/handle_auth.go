package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-mediation/parley/cases"
)

type health struct {
	Status string `json:"status"`
	Uptime string `json:"uptime,omitempty"`
	Error  string `json:"error,omitempty"`
	// Placement is "ready" when this node takes new video rooms, "unavailable" when it cannot reach Redis,
	// "draining" while it hands its rooms over; the node stays ready for HTTP either way.
	Placement string `json:"placement,omitempty"`
}

func handleHealthz(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, health{Status: "ok", Uptime: time.Since(a.started).Round(time.Second).String()})
	})
}

func handleReadyz(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			a.log.Warn("not ready", "err", err)
			encode(w, http.StatusServiceUnavailable, health{Status: "unavailable", Error: "database unreachable"})
			return
		}
		h := health{Status: "ready"}
		if a.rooms != nil {
			switch {
			case a.rooms.sig.Draining():
				h.Placement = "draining"
			case !a.rooms.ready():
				h.Placement = "unavailable"
			default:
				h.Placement = "ready"
			}
		}
		encode(w, http.StatusOK, h)
	})
}

type workflowDoc struct {
	States      []cases.State        `json:"states"`
	EndGrounds  []cases.EndGround    `json:"end_grounds"`
	Transitions []*cases.Transition  `json:"transitions"`
	TimeLimits  map[cases.Source]int `json:"time_limit_days"`
}

func handleWorkflow(a *app) http.Handler {
	doc := workflowDoc{States: cases.States, EndGrounds: cases.EndGrounds, Transitions: cases.Transitions, TimeLimits: map[cases.Source]int{}}
	for _, s := range []cases.Source{cases.SourceDelegated, cases.SourceEntrustedOrdinary, cases.SourceEntrustedSimplified, cases.SourceDirect} {
		doc.TimeLimits[s] = s.TimeLimitDays()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { encode(w, http.StatusOK, doc) })
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (l loginRequest) Valid() map[string]string {
	f := map[string]string{}
	if l.Username == "" || len(l.Username) > 100 {
		f["username"] = "is required"
	}
	if l.Password == "" || len(l.Password) > 1000 {
		f["password"] = "is required"
	}
	return f
}

type loginResponse struct {
	Account   cases.Account   `json:"account"`
	Principal cases.Principal `json:"principal"` // as GET /api/v1/auth/me reports it (with the organisation's kind and region)
	CSRFToken string          `json:"csrf_token"`
	ExpiresAt time.Time       `json:"expires_at"`
}

func handleLogin(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[loginRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		acc, err := a.store.Authenticate(r.Context(), strings.TrimSpace(in.Username), in.Password, a.clientIP(r))
		if err != nil {
			failLogin(w, r, a, strings.TrimSpace(in.Username), err)
			return
		}
		ws, err := a.store.CreateWebSession(r.Context(), cases.KindAccount, acc.ID, "", a.cfg.SessionTTL)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p, err := a.store.AccountPrincipal(r.Context(), acc.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.setSessionCookie(w, ws)
		a.log.Info("login", "account", acc.Username, "role", acc.Role)
		encode(w, http.StatusOK, loginResponse{Account: *acc, Principal: p, CSRFToken: ws.CSRF, ExpiresAt: ws.ExpiresAt})
	})
}

func handleLogout(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if err := a.store.DeleteWebSession(r.Context(), c.Value); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
}

type meResponse struct {
	Principal cases.Principal `json:"principal"`
	CSRFToken string          `json:"csrf_token,omitempty"`
}

func handleMe(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := meResponse{Principal: principal(r)}
		if c, err := r.Cookie(sessionCookie); err == nil {
			if _, csrf, err := a.store.WebSessionPrincipal(r.Context(), c.Value); err == nil {
				out.CSRFToken = csrf
			}
		}
		encode(w, http.StatusOK, out)
	})
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// RevokeTokens answers the question a password change asks: revoke the account's API tokens too? (An
	// integration using one stops working; a token that may have leaked stops too.) It must be given.
	RevokeTokens *bool `json:"revoke_tokens"`
}

func (p passwordRequest) Valid() map[string]string {
	f := map[string]string{}
	if p.CurrentPassword == "" {
		f["current_password"] = "is required"
	}
	if n := utf8.RuneCountInString(p.NewPassword); n < cases.MinPasswordLen || n > 200 {
		f["new_password"] = fmt.Sprintf("must be %d to 200 characters", cases.MinPasswordLen)
	}
	if p.RevokeTokens == nil {
		f["revoke_tokens"] = "say whether to revoke the account's API tokens (true or false)"
	}
	return f
}

// failLogin answers a refused login; a throttled one carries Retry-After and is logged.
func failLogin(w http.ResponseWriter, r *http.Request, a *app, username string, err error) {
	if cases.ErrorCode(err) == cases.ERATELIMIT {
		if ra := cases.ErrorFields(err)["retry_after"]; ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		a.log.Warn("login throttled", "username", username, "address", a.clientIP(r), "reason", cases.ErrorMessage(err))
	}
	fail(w, r, a.log, err)
}

// handlePassword changes the caller's own password: it ends the account's other sessions and, as the caller
// chose, revokes its API tokens. An API token cannot change a password.
func handlePassword(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if viaToken(r) {
			fail(w, r, a.log, errTokenNotAllowed)
			return
		}
		in, err := decode[passwordRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		acc, err := a.store.Account(r.Context(), p.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if _, err := a.store.Authenticate(r.Context(), acc.Username, in.CurrentPassword, a.clientIP(r)); err != nil {
			if cases.ErrorCode(err) == cases.ERATELIMIT {
				failLogin(w, r, a, acc.Username, err)
				return
			}
			fail(w, r, a.log, &cases.Error{Code: cases.EUNPROCESSABLE, Message: "the current password is wrong", Fields: map[string]string{"current_password": "is wrong"}})
			return
		}
		keep, _ := r.Context().Value(sessionKey).(string)
		out, err := a.store.ChangePassword(r.Context(), p.ID, in.NewPassword, keep, *in.RevokeTokens)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

type tokenRequest struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days"`
}

type tokenResponse struct {
	Token  cases.APIToken `json:"token"`
	Secret string         `json:"secret"`
}

func handleTokens(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := a.store.APITokens(r.Context(), principal(r).ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ts)
	})
}

func handleTokenCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if viaToken(r) {
			fail(w, r, a.log, errTokenNotAllowed)
			return
		}
		in, err := decode[tokenRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		t, secret, err := a.store.CreateAPIToken(r.Context(), principal(r).ID, in.Name, time.Duration(in.ExpiresInDays)*24*time.Hour)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, tokenResponse{Token: *t, Secret: string(secret)})
	})
}

func handleLockouts(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.Lockouts(r.Context(), principal(r))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, list)
	})
}

func handleLockoutClear(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if err := a.store.ClearLockout(r.Context(), principal(r), id); err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.log.Info("login lock-out lifted", "lockout_id", id, "by", principal(r).Name)
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleTokenRevoke(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.RevokeAPIToken(r.Context(), principal(r).ID, r.PathValue("id")); err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleInvitationInfo(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := a.store.InvitationInfo(r.Context(), r.PathValue("token"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, info)
	})
}

type codeSent struct {
	SentTo    string    `json:"sent_to"`
	ExpiresAt time.Time `json:"expires_at"`
}

func handleInvitationCode(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "code:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests from your address: wait a minute"))
			return
		}
		d, err := a.store.IssueInvitationCode(r.Context(), r.PathValue("token"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		body := "【Parley 在线调解】您的验证码是 " + string(d.Code) + "，10 分钟内有效。请勿告诉他人。/ Your Parley code is " + string(d.Code) + " (valid 10 minutes)."
		to := d.Phone
		if err := a.notify.Notify(r.Context(), Message{To: to, Name: d.Name, Subject: "Parley 验证码 / verification code", Body: body}); err != nil {
			a.log.Error("send one-time code", "err", err)
			fail(w, r, a.log, cases.Errorf(cases.EINTERNAL, "the code could not be sent: try again shortly"))
			return
		}
		encode(w, http.StatusAccepted, codeSent{SentTo: maskContact(to), ExpiresAt: d.ExpiresAt})
	})
}

type verifyRequest struct {
	Code string `json:"code"`
}

func (v verifyRequest) Valid() map[string]string {
	if c := strings.TrimSpace(v.Code); len(c) != 6 || strings.Trim(c, "0123456789") != "" {
		return map[string]string{"code": "is the 6-digit code we sent"}
	}
	return nil
}

func handleInvitationVerify(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[verifyRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p, err := a.store.VerifyInvitationCode(r.Context(), r.PathValue("token"), in.Code)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ws, err := a.store.CreateWebSession(r.Context(), p.Kind, p.ID, p.CaseID, a.cfg.SessionTTL)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.setSessionCookie(w, ws)
		encode(w, http.StatusOK, meResponse{Principal: p, CSRFToken: ws.CSRF})
	})
}

// maskContact hides most of a phone number or e-mail address.
func maskContact(s string) string {
	if at := strings.IndexByte(s, '@'); at > 0 {
		return s[:1] + "***" + s[at:]
	}
	r := []rune(s)
	if len(r) < 7 {
		return "***"
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
