package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
)

// app holds what the HTTP handlers need. cmd/parley is the only place that builds one.
type app struct {
	cfg     *Config
	log     *slog.Logger
	store   *cases.Store
	notify  Notifier
	limiter limiter
	// tsaLimit and phoneLimit cap /api/v1/tsa per address and online applications per phone number; when nil
	// (tests building an app by hand) limiter is used.
	tsaLimit   limiter
	phoneLimit limiter
	docs       *docflow.Service
	rooms      *rooms
	pages      *pageRenderer
	started    time.Time
	extra      []route // routes added by later wiring (rooms, signing, web)
	// verifier is the identity-verification service, nil when none is configured (PARLEY_IDENTITY_VERIFIER_URL).
	verifier cases.IdentityVerifier
	metrics  *metrics
	recs     *recorder // recording (issue 14); nil in tests that build an app by hand
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

const (
	principalKey ctxKey = 1
	viaTokenKey  ctxKey = 2 // the caller authenticated with an API token, not a login
	sessionKey   ctxKey = 3 // the caller's session cookie value
)

// viaToken reports whether the caller authenticated with an API token. A token acts for its account in the
// case system, but cannot make more tokens nor change the account's password.
func viaToken(r *http.Request) bool {
	v, _ := r.Context().Value(viaTokenKey).(bool)
	return v
}

// errTokenNotAllowed answers what an API token may not do.
var errTokenNotAllowed = cases.Errorf(cases.EFORBIDDEN, "an API token cannot do this: log in with the account's password")

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
		authed, bearer, cookie := false, false, ""
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
			authed, bearer = true, true
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
				authed, cookie = true, c.Value
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
			ctx := context.WithValue(r.Context(), principalKey, p)
			ctx = context.WithValue(ctx, viaTokenKey, bearer)
			ctx = context.WithValue(ctx, sessionKey, cookie)
			r = r.WithContext(ctx)
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

// redisLimiter counts calls per key and minute (or per window, when set) in Redis, so every node sees the same
// limit. Each call waits at most redisOpTimeout; when Redis does not answer, the node's own in-memory limiter
// decides instead (fail direction: limited per node rather than open or closed), so a request never hangs on
// Redis and the limit still holds, only per node.
type redisLimiter struct {
	rdb       *redis.Client
	perMinute int64 // calls per window
	window    time.Duration
	log       *slog.Logger
	fallback  limiter
	errors    func() // counts a Redis failure (metrics); may be nil

	mu       sync.Mutex
	lastWarn time.Time
}

func (l *redisLimiter) allow(ctx context.Context, key string) bool {
	win := l.window
	if win <= 0 {
		win = time.Minute
	}
	k := fmt.Sprintf("parley:limit:%s:%d:%d", key, int64(win/time.Second), time.Now().Unix()/int64(win/time.Second))
	rctx, cancel := context.WithTimeout(ctx, redisOpTimeout)
	defer cancel()
	pipe := l.rdb.TxPipeline()
	incr := pipe.Incr(rctx, k)
	pipe.Expire(rctx, k, 2*win)
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

// checkQuery answers 400 for a query string that does not parse, or whose names or values hold a NUL character
// or invalid UTF-8, before any handler reads it.
func checkQuery(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			q, err := url.ParseQuery(r.URL.RawQuery)
			bad := err != nil
			for k, vs := range q {
				bad = bad || !textOK(k)
				for _, v := range vs {
					bad = bad || !textOK(v)
				}
			}
			if bad {
				fail(w, r, logger, cases.Errorf(cases.EINVALID, "the query string is malformed or holds a NUL character or invalid UTF-8"))
				return
			}
		}
		if !textOK(r.URL.Path) {
			fail(w, r, logger, cases.Errorf(cases.EINVALID, "the path holds a NUL character or invalid UTF-8"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// slowBodies cuts request bodies that arrive too slowly (a slow-loris upload holding a connection open): the
// body may take grace to start, then must keep up minRate bytes per second on average. WebSocket upgrades are
// left alone (their connection lives on). The read deadline is the connection's: a cut body ends the request.
func slowBodies(grace time.Duration, minRate int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		start := time.Now()
		if err := rc.SetReadDeadline(start.Add(grace)); err != nil {
			next.ServeHTTP(w, r) // not a real connection (a test recorder): nothing to cut
			return
		}
		rb := &rateBody{ReadCloser: r.Body, rc: rc, start: start, grace: grace, rate: float64(minRate)}
		// A copy of the request carries the wrapped body: the server's own request keeps its body, so that it
		// still sees an Expect: 100-continue body the handler refused unread (and does not wait for it).
		r = r.WithContext(r.Context())
		r.Body = rb
		next.ServeHTTP(w, r)
		// A body read to its end lifts the deadline. One left unread keeps it: the server drains what remains
		// before it answers, and that drain must not wait on a slow client either.
		if rb.eof {
			_ = rc.SetReadDeadline(time.Time{})
		}
	})
}

// rateBody moves the read deadline forward as bytes arrive: start + grace + read/rate.
type rateBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  float64
	n     int64
	eof   bool
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if n > 0 {
		_ = b.rc.SetReadDeadline(b.start.Add(b.grace + time.Duration(float64(b.n)/b.rate*float64(time.Second))))
	}
	if err == io.EOF {
		b.eof = true
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errSlowBody
	}
	return n, err
}

var errSlowBody = errors.New("the request body arrived too slowly")

// wsLimiter caps the signalling WebSockets one address holds open at once.
type wsLimiter struct {
	mu   sync.Mutex
	max  int
	open map[string]int
}

func newWSLimiter(max int) *wsLimiter { return &wsLimiter{max: max, open: map[string]int{}} }

// wrap refuses (429) an upgrade from an address already holding max WebSockets, and counts the others for as
// long as their handler runs (the signalling handler serves the connection until it closes).
func (l *wsLimiter) wrap(a *app, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := a.clientIP(r)
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			a.log.Warn("websocket cap reached", "address", ip, "open", l.max)
			w.Header().Set("Retry-After", "10")
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many open connections from this address"))
			return
		}
		l.open[ip]++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			if l.open[ip]--; l.open[ip] <= 0 {
				delete(l.open, ip)
			}
			l.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// allowTSA applies the per-address limit of the timestamp authority.
func (a *app) allowTSA(ctx context.Context, ip string) bool {
	if a.tsaLimit != nil {
		return a.tsaLimit.allow(ctx, "tsa:"+ip)
	}
	return a.limiter.allow(ctx, "tsa:"+ip)
}

// allowPhone applies the per-phone-number limit of online applications (each one texts the phone).
func (a *app) allowPhone(ctx context.Context, phone string) bool {
	var digits strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	key := "apply-phone:" + strings.TrimPrefix(digits.String(), "86")
	if a.phoneLimit != nil {
		return a.phoneLimit.allow(ctx, key)
	}
	return a.limiter.allow(ctx, key)
}

// newLimiters builds the per-endpoint limiters: in this process, or in Redis when rdb is set.
func newLimiters(cfg *Config, rdb *redis.Client, logger *slog.Logger, onRedisError func()) (general, tsa, phone limiter) {
	general = newLimiter(20, 10)
	tsa = newLimiter(cfg.TSAPerMinute, max(cfg.TSAPerMinute/2, 1))
	phone = &memLimiter{rate: float64(cfg.ApplyPerPhone) / 3600, burst: float64(cfg.ApplyPerPhone), buckets: map[string]*bucket{}}
	if rdb == nil {
		return general, tsa, phone
	}
	return &redisLimiter{rdb: rdb, perMinute: 20, log: logger, fallback: general, errors: onRedisError},
		&redisLimiter{rdb: rdb, perMinute: int64(cfg.TSAPerMinute), log: logger, fallback: tsa, errors: onRedisError},
		&redisLimiter{rdb: rdb, perMinute: int64(cfg.ApplyPerPhone), window: time.Hour, log: logger, fallback: phone, errors: onRedisError}
}
