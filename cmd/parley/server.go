package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/cases"
)

// app holds what the HTTP handlers need. cmd/parley is the only place that builds one.
type app struct {
	cfg     *Config
	log     *slog.Logger
	store   *cases.Store
	notify  Notifier
	limiter limiter
	docs    *docSigner
	rooms   *rooms
	pages   *pageRenderer
	started time.Time
	extra   []route // routes added by later wiring (rooms, signing, web)
	// verifier is the identity-verification service, nil when none is configured (PARLEY_IDENTITY_VERIFIER_URL).
	verifier cases.IdentityVerifier
	metrics  *metrics
}

// access says who may call a route before the handler looks at the case.
type access int

const (
	public access = iota // anyone
	anyone               // any logged-in principal: staff, party or agent
	staff                // staff accounts only
)

const sessionCookie = "parley_session"

type ctxKey int

const principalKey ctxKey = 1

// principal returns the caller; routes with access public may have the zero Principal.
func principal(r *http.Request) cases.Principal {
	p, _ := r.Context().Value(principalKey).(cases.Principal)
	return p
}

// authenticate resolves the caller from the session cookie or an API token and enforces the route's access and
// the CSRF token on unsafe methods of cookie sessions.
func (a *app) authenticate(acc access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p cases.Principal
		var err error
		authed := false
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				fail(w, r, a.log, cases.Errorf(cases.EUNAUTHORIZED, "use Authorization: Bearer <API token>"))
				return
			}
			if p, err = a.store.APITokenPrincipal(r.Context(), strings.TrimSpace(tok)); err != nil {
				fail(w, r, a.log, err)
				return
			}
			authed = true
		} else if c, cerr := r.Cookie(sessionCookie); cerr == nil && c.Value != "" {
			var csrf string
			p, csrf, err = a.store.WebSessionPrincipal(r.Context(), c.Value)
			switch {
			case err != nil && acc == public:
				// A stale cookie on a public route is ignored.
			case err != nil:
				fail(w, r, a.log, err)
				return
			default:
				authed = true
				if unsafeMethod(r.Method) && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(csrf)) != 1 {
					fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "missing or wrong X-CSRF-Token header (get it from GET /api/v1/auth/me)"))
					return
				}
			}
		}
		switch {
		case acc == public:
		case !authed:
			fail(w, r, a.log, cases.ErrNoSession)
			return
		case acc == staff && p.Kind != cases.KindAccount:
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "this is for staff accounts"))
			return
		}
		if authed {
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		}
		next.ServeHTTP(w, r)
	})
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// statusWriter records the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade (gorilla/websocket asks for http.Hijacker directly).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("http: response writer cannot be hijacked")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// logRequests logs each request and turns a panic into a 500 without taking the process down.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					encode(sw, http.StatusInternalServerError, apiError{errorBody{Code: cases.EINTERNAL, Message: "internal error"}})
				}
			}
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
			logger.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start).Round(time.Microsecond))
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(sw, r)
	})
}

// clientIP returns the caller's address (the first X-Forwarded-For hop when trust-proxy is on).
func (a *app) clientIP(r *http.Request) string {
	if a.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter caps how often one client may call a public endpoint that creates things or sends messages.
type limiter interface {
	allow(ctx context.Context, key string) bool
}

// memLimiter is a per-key token bucket in this process (a single node).
type memLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute, burst int) *memLimiter {
	return &memLimiter{rate: float64(perMinute) / 60, burst: float64(burst), buckets: map[string]*bucket{}}
}

func (l *memLimiter) allow(ctx context.Context, key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 10000 {
		for k, b := range l.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// redisLimiter counts calls per key and minute in Redis, so every node sees the same limit. Each call waits
// at most redisOpTimeout; when Redis does not answer, the node's own in-memory limiter decides instead (fail
// direction: limited per node rather than open or closed), so a request never hangs on Redis and the limit
// still holds, only per node.
type redisLimiter struct {
	rdb       *redis.Client
	perMinute int64
	log       *slog.Logger
	fallback  limiter
	errors    func() // counts a Redis failure (metrics); may be nil

	mu       sync.Mutex
	lastWarn time.Time
}

func (l *redisLimiter) allow(ctx context.Context, key string) bool {
	k := fmt.Sprintf("parley:limit:%s:%d", key, time.Now().Unix()/60)
	rctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	pipe := l.rdb.TxPipeline()
	incr := pipe.Incr(rctx, k)
	pipe.Expire(rctx, k, 2*time.Minute)
	if _, err := pipe.Exec(rctx); err != nil {
		if l.errors != nil {
			l.errors()
		}
		l.mu.Lock()
		if time.Since(l.lastWarn) > time.Minute {
			l.lastWarn = time.Now()
			l.log.Warn("rate limiter: redis unavailable, limiting per node", "err", err)
		}
		l.mu.Unlock()
		if l.fallback != nil {
			return l.fallback.allow(ctx, key)
		}
		return true
	}
	return incr.Val() <= l.perMinute
}

// setSessionCookie gives the browser a session cookie.
func (a *app) setSessionCookie(w http.ResponseWriter, ws *cases.WebSession) {
	// MaxAge rather than Expires: the browser's clock need not agree with ours.
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: string(ws.Token), Path: "/", MaxAge: int(a.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: a.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
}
