package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/sfu"
)

// codeUnavailable is the error code (HTTP 503) of a request that failed because a store the server needs
// (PostgreSQL, Redis) does not answer just now: the client should try again shortly.
const codeUnavailable = "unavailable"

// redisOpTimeout bounds each Redis call of a request (rate limits, placement), so that a Redis that is down
// or frozen costs a request at most this long.
const redisOpTimeout = 300 * time.Millisecond

// newRedis builds the Redis client with short timeouts and checks whether it answers. A Redis that does not
// answer is not fatal: the node starts, logs it, takes no new rooms until Redis is back (the cluster
// heartbeat notices), and keeps counting rate limits in memory meanwhile.
func newRedis(ctx context.Context, rawURL string, logger *slog.Logger) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, exitError{2, "redis-url: " + err.Error()}
	}
	opts.DialTimeout = time.Second
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.MaxRetries = 1
	opts.PoolTimeout = time.Second
	redis.SetLogger(redisLogger{logger.With("component", "redis")})
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		logger.Warn("redis does not answer: starting anyway; no new rooms until it does", "url", redactURL(rawURL), "err", err)
	}
	return rdb, nil
}

// redisLogger sends go-redis's own messages to the node's logger (they name the node like every line).
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}

// unavailable reports whether err comes from a store that could not be reached (connection refused or lost,
// timeout, the server shutting down), as opposed to a bug or a bad request.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, redis.ErrClosed):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P01–57P03: the server is shutting down or starting.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "closed pool")
}

// cpuMeter measures the share of the machine's CPUs the process used since the previous call.
type cpuMeter struct {
	mu       sync.Mutex
	lastAt   time.Time
	lastUsed float64
	last     float64
}

func (c *cpuMeter) fraction() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	used := tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAt.IsZero() {
		if dt := now.Sub(c.lastAt).Seconds(); dt > 0.2 {
			c.last = min(1, (used-c.lastUsed)/dt/float64(runtime.NumCPU()))
		} else {
			return c.last
		}
	}
	c.lastAt, c.lastUsed = now, used
	return c.last
}

// metrics is the Prometheus registry of one process. Its gauges read the live objects (set once they exist).
type metrics struct {
	reg          *prometheus.Registry
	httpDur      *prometheus.HistogramVec
	mediaConnect prometheus.Histogram
	redisErrors  prometheus.Counter

	mu    sync.Mutex
	rooms *rooms
	pool  *pgxpool.Pool
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.httpDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_http_request_duration_seconds",
		Help: "HTTP request durations by route (the pattern of routes.go), method and status class.", Buckets: prometheus.DefBuckets},
		[]string{"route", "code"})
	m.mediaConnect = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_join_to_media_seconds",
		Help:    "Time from joined (or a resume) to the participant's subscriber transport connecting, when media can first flow.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20}})
	m.redisErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_redis_request_errors_total",
		Help: "Failed Redis calls of HTTP requests (rate limits); placement errors are in parley_cluster_redis_errors_total."})
	m.reg.MustRegister(m.httpDur, m.mediaConnect, m.redisErrors)

	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	sig := func(f func(r *rooms) float64) func() float64 {
		return func() float64 {
			m.mu.Lock()
			r := m.rooms
			m.mu.Unlock()
			if r == nil || r.sig == nil {
				return 0
			}
			return f(r)
		}
	}
	gauge("parley_rooms", "Video rooms hosted by this node.", sig(func(r *rooms) float64 { return float64(r.sig.Stats().Rooms) }))
	gauge("parley_participants", "Seats in this node's rooms (admitted or waiting, connected or within the reconnect grace).",
		sig(func(r *rooms) float64 { return float64(r.sig.Stats().Seats) }))
	gauge("parley_participants_connected", "Seats with a live signalling connection.", sig(func(r *rooms) float64 { return float64(r.sig.Stats().Connected) }))
	counter("parley_reconnects_total", "Seats taken back by a new connection (resume or rejoin).", sig(func(r *rooms) float64 { return float64(r.sig.Stats().Reconnects) }))
	counter("parley_rooms_opened_total", "Rooms opened on this node.", sig(func(r *rooms) float64 { return float64(r.sig.Stats().RoomsOpened) }))
	counter("parley_placement_moves_in_total", "Rooms this node rebuilt from saved state (taken over from a lost or draining node).",
		sig(func(r *rooms) float64 { return float64(r.sig.Stats().RoomsRebuilt) }))
	counter("parley_placement_moves_out_total", "Rooms this node handed to another node (drain).", sig(func(r *rooms) float64 { return float64(r.sig.Stats().RoomsMoved) }))
	counter("parley_media_events_dropped_total", "Speaker and quality updates dropped on a full room queue.", sig(func(r *rooms) float64 { return float64(r.sig.Stats().EventsDropped) }))
	counter("parley_room_state_errors_total", "Failed writes of room state to Redis.", sig(func(r *rooms) float64 { return float64(r.sig.Stats().StateErrors) }))
	gauge("parley_cluster_ready", "1 when this node reaches Redis and takes new rooms (always 1 without a cluster).",
		sig(func(r *rooms) float64 { return b2f(r.ready()) }))
	gauge("parley_cluster_leases", "Room leases this node holds in Redis.", sig(func(r *rooms) float64 {
		if r.cluster == nil {
			return 0
		}
		return float64(r.cluster.Held())
	}))
	counter("parley_cluster_redis_errors_total", "Failed Redis calls of the cluster (placement, heartbeat, room state).", sig(func(r *rooms) float64 {
		if r.cluster == nil {
			return 0
		}
		return float64(r.cluster.Errors())
	}))

	// Every field of sfu.Stats: counters (uint64) as parley_media_<name>_total, gauges (int) as parley_media_<name>.
	st := reflect.TypeOf(sfu.Stats{})
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		idx := i
		read := sig(func(r *rooms) float64 {
			v := reflect.ValueOf(r.engine.Stats()).Field(idx)
			switch v.Kind() {
			case reflect.Uint64, reflect.Uint32:
				return float64(v.Uint())
			case reflect.Int, reflect.Int64:
				return float64(v.Int())
			case reflect.Float64:
				return v.Float()
			}
			return 0
		})
		help := "SFU: " + strings.ReplaceAll(name, "_", " ") + " (sfu.Stats." + f.Name + ")."
		switch f.Type.Kind() {
		case reflect.Uint64, reflect.Uint32:
			counter("parley_media_"+strings.TrimSuffix(name, "_total")+"_total", help, read)
		case reflect.Float64:
			if strings.HasSuffix(name, "_seconds") { // a sum of durations, only growing
				counter("parley_media_"+name+"_total", help, read)
			} else {
				gauge("parley_media_"+name, help, read)
			}
		case reflect.Int, reflect.Int64:
			gauge("parley_media_"+name, help, read)
		}
	}
	var lossMu sync.Mutex
	var lastSum, lastN uint64
	gauge("parley_media_subscriber_loss_ratio", "Mean fraction of packets lost by subscribers, from their receiver reports since the previous scrape.",
		sig(func(r *rooms) float64 {
			s := r.engine.Stats()
			lossMu.Lock()
			defer lossMu.Unlock()
			ds, dn := s.LossFractionSum-lastSum, s.LossReports-lastN
			lastSum, lastN = s.LossFractionSum, s.LossReports
			if dn == 0 {
				return 0
			}
			return float64(ds) / float64(dn) / 256
		}))

	pool := func(f func(s *pgxpool.Stat) float64) func() float64 {
		return func() float64 {
			m.mu.Lock()
			p := m.pool
			m.mu.Unlock()
			if p == nil {
				return 0
			}
			return f(p.Stat())
		}
	}
	gauge("parley_db_pool_connections", "PostgreSQL connections open.", pool(func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }))
	gauge("parley_db_pool_acquired", "PostgreSQL connections in use.", pool(func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }))
	gauge("parley_db_pool_idle", "PostgreSQL connections idle.", pool(func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }))
	gauge("parley_db_pool_max", "PostgreSQL pool size.", pool(func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }))
	counter("parley_db_pool_acquires_total", "Connections taken from the pool.", pool(func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }))
	counter("parley_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", pool(func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }))
	counter("parley_db_pool_acquire_seconds_total", "Time spent waiting for connections.", pool(func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }))
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metrics) setRooms(r *rooms) {
	m.mu.Lock()
	m.rooms = r
	m.mu.Unlock()
}

func (m *metrics) setPool(p *pgxpool.Pool) {
	m.mu.Lock()
	m.pool = p
	m.mu.Unlock()
}

func (m *metrics) observeMediaConnected(d time.Duration) {
	if m != nil {
		m.mediaConnect.Observe(d.Seconds())
	}
}

// instrument times a route's requests.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		m.httpDur.WithLabelValues(route, strconv.Itoa(code/100)+"xx").Observe(time.Since(start).Seconds())
	})
}

// handler serves /metrics; with token set it requires "Authorization: Bearer <token>".
func (m *metrics) handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token (PARLEY_METRICS_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
