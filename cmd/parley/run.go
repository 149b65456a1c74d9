package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run is the whole program: tests call it with their own arguments, environment and writers.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, getenv, stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "sign-demo":
		return runSignDemo(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return exitError{2, fmt.Sprintf("unknown command %q", cmd)}
}

const usage = `Parley: online mediation of IP disputes.

usage:
  parley [serve] [flags]     run the server (the default)
  parley migrate [flags]     apply database migrations and exit
  parley demo [flags]        seed demo organisations, accounts and a referred case; print how to log in
  parley audit verify CASE   verify a case's audit trail (CASE is its ID or number); exit 1 if broken
  parley verify [-root PEM] FILE.pdf
                             check a PDF's signatures; exit 0 only when all are valid
  parley sign-demo -out DIR  write a signed demo agreement, completion certificate and session record
  parley keys rotate         re-encrypt the stored signing keys with a new key-encryption key (PARLEY_KEY_FILE)
  parley loadtest [flags]    rooms of Pion clients against a running server; prints throughput, CPU per
                             packet, loss, join → first frame and memory per participant
  parley healthcheck         exit 0 when the server on this machine (at -addr) is ready
  parley version             print the version

Every flag can also be set with its PARLEY_* environment variable: parley serve -h lists them.
`

// base is what every subcommand that touches the database needs.
type base struct {
	cfg   *Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	store *cases.Store
}

func (b *base) close() {
	if b.pool != nil {
		b.pool.Close()
	}
}

// open parses the configuration, connects to the database (waiting up to 30 s for it to come up) and builds the
// store; it applies migrations first when forceMigrate is set or the migrate setting is on.
func open(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, forceMigrate bool) (*base, []string, error) {
	cfg, rest, err := parseConfig(name, args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, exitError{0, ""}
		}
		return nil, nil, exitError{2, err.Error()}
	}
	b := &base{cfg: cfg, log: newLogger(cfg, stderr)}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, nil, exitError{2, "database-url: " + err.Error()}
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 16)
	if b.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = b.pool.Ping(pctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b.close()
			return nil, nil, fmt.Errorf("database %s unreachable: %w", redactURL(cfg.DatabaseURL), err)
		}
		b.log.Warn("waiting for the database", "err", err)
		time.Sleep(time.Second)
	}
	if forceMigrate || cfg.Migrate {
		applied, err := cases.Migrate(ctx, b.pool)
		if err != nil {
			b.close()
			return nil, nil, err
		}
		if len(applied) > 0 {
			b.log.Info("migrations applied", "migrations", applied)
		}
	}
	cal, err := calendar(cfg)
	if err != nil {
		b.close()
		return nil, nil, exitError{2, err.Error()}
	}
	b.store = cases.NewStore(b.pool, cal, b.log)
	if forceMigrate || cfg.Migrate {
		// The holiday calendar lives in the database; the built-in lists and the holidays file seed it once.
		if err := b.store.LoadHolidays(ctx); err != nil {
			b.close()
			return nil, nil, err
		}
	}
	return b, rest, nil
}

// calendar builds the working-day calendar: the built-in list in the configured zone plus the holidays file.
func calendar(cfg *Config) (*cases.Calendar, error) {
	cal := cases.DefaultCalendar()
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	cal.Loc = loc
	if cfg.HolidaysFile != "" {
		f, err := os.Open(cfg.HolidaysFile)
		if err != nil {
			return nil, fmt.Errorf("holidays-file: %w", err)
		}
		defer f.Close()
		if err := cal.Load(f); err != nil {
			return nil, fmt.Errorf("holidays-file %s: %w", cfg.HolidaysFile, err)
		}
	}
	return cal, nil
}

func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j > 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}

// openRedis connects to Redis and checks that it answers.
func openRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, exitError{2, "redis-url: " + err.Error()}
	}
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s unreachable: %w", redactURL(rawURL), err)
	}
	return rdb, nil
}

// runHealthcheck asks a running server on this machine whether it is up (for container health checks).
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("healthcheck", args, getenv, stderr)
	if err != nil {
		return exitError{2, err.Error()}
	}
	_, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return exitError{2, "addr: " + err.Error()}
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(hctx, "GET", "http://127.0.0.1:"+port+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitError{1, "not reachable: " + err.Error()}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitError{1, fmt.Sprintf("not ready: %s", resp.Status)}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	b, _, err := open(ctx, "migrate", args, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintln(stdout, "parley: database is up to date")
	return nil
}

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "verify" {
		return exitError{2, "usage: parley audit verify CASE (a case ID or number)"}
	}
	ref := args[1]
	b, _, err := open(ctx, "audit", args[2:], getenv, stderr, false)
	if err != nil {
		return err
	}
	defer b.close()
	id := ref
	if !looksLikeUUID(ref) {
		if err := b.pool.QueryRow(ctx, `SELECT id FROM cases WHERE number = $1`, ref).Scan(&id); err != nil {
			return exitError{2, fmt.Sprintf("no case numbered %q", ref)}
		}
	}
	rep, err := b.store.VerifyChain(ctx, id)
	if err != nil {
		if cases.ErrorCode(err) == cases.ENOTFOUND {
			return exitError{2, fmt.Sprintf("no case %q", ref)}
		}
		return err
	}
	if !rep.Valid {
		fmt.Fprintf(stdout, "case %s: audit trail BROKEN at event %d of %d: %s\n", ref, rep.BadSeq, rep.Events, rep.Problem)
		return exitError{1, ""}
	}
	fmt.Fprintf(stdout, "case %s: audit trail intact, %d events, head %s\n", ref, rep.Events, rep.Head)
	if err := b.store.VerifyThreads(ctx, id); err != nil {
		if cases.ErrorCode(err) != cases.ECONFLICT {
			return err
		}
		fmt.Fprintf(stdout, "case %s: message threads BROKEN: %s\n", ref, cases.ErrorMessage(err))
		return exitError{1, ""}
	}
	n, err := b.store.ThreadCount(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "case %s: message threads intact, %d messages\n", ref, n)
	blobs, err := newBlobStore(b.cfg, b.pool)
	if err != nil {
		return err
	}
	checked, bad, err := verifyRecordings(ctx, b.store, blobs, id, stdout)
	if err != nil {
		return err
	}
	if bad > 0 {
		fmt.Fprintf(stdout, "case %s: %d of %d recordings do NOT match their hash in the trail\n", ref, bad, checked)
		return exitError{1, ""}
	}
	if checked > 0 {
		fmt.Fprintf(stdout, "case %s: %d recordings match their hash in the trail\n", ref, checked)
	}
	courtDocs, err := b.store.CheckCourtDocuments(ctx, id)
	if err != nil {
		return err
	}
	badDocs := 0
	for _, d := range courtDocs {
		if !d.Matches {
			badDocs++
			fmt.Fprintf(stdout, "case %s: court document %s (%s) does NOT match its hash in the trail: stored %s, trail %q\n", ref, d.ID, d.Kind, d.Stored, d.Trail)
		}
	}
	if badDocs > 0 {
		return exitError{1, ""}
	}
	if len(courtDocs) > 0 {
		fmt.Fprintf(stdout, "case %s: %d court documents match their hash in the trail\n", ref, len(courtDocs))
	}
	return nil
}

func looksLikeUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

// webOptions configures the front end from the server's settings.
func webOptions(cfg *Config, logger *slog.Logger) web.Options {
	return web.Options{BaseURL: cfg.BaseURL, TimeZone: cfg.Timezone, Features: []string{web.FeatureRooms, web.FeatureSigning}, Logger: logger.With("component", "web")}
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	b, _, err := open(ctx, "serve", args, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer b.close()
	cfg, logger := b.cfg, b.log
	mx := newMetrics()
	mx.setPool(b.pool)
	lim, tsaLim, phoneLim := newLimiters(cfg, nil, logger, nil)
	var rdb *redis.Client
	if cfg.RedisURL != "" {
		if rdb, err = newRedis(ctx, cfg.RedisURL, logger); err != nil {
			return err
		}
		defer rdb.Close()
		lim, tsaLim, phoneLim = newLimiters(cfg, rdb, logger, func() { mx.redisErrors.Inc() })
		logger.Info("sharing state through redis", "url", redactURL(cfg.RedisURL))
	}
	b.store.TokenMaxAge = time.Duration(cfg.APITokenMaxDays) * 24 * time.Hour
	docs, err := newDocSigner(ctx, cfg, b.store, b.store.Cal, logger)
	if err != nil {
		return err
	}
	rms, err := newClusterRooms(ctx, cfg, b.store, rdb, mx, logger)
	if err != nil {
		return err
	}
	mx.setRooms(rms)
	recs, err := newRecording(cfg, b.store, b.pool, rms, logger)
	if err != nil {
		rms.close(context.Background())
		return err
	}
	mx.addRecording(recs)
	defer func() { // after the rooms closed: store the last files before the pool closes
		rctx, rcancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer rcancel()
		recs.close(rctx)
	}()
	a := &app{cfg: cfg, log: logger, store: b.store, notify: newNotifier(cfg, logger), limiter: lim, tsaLimit: tsaLim, phoneLimit: phoneLim, docs: docs, pages: newPageRenderer(), rooms: rms, started: time.Now(), metrics: mx, recs: recs}
	if cfg.IdentityVerifierURL != "" {
		a.verifier = &httpVerifier{url: cfg.IdentityVerifierURL, name: cfg.IdentityVerifierName, client: &http.Client{Timeout: 30 * time.Second}}
	}
	mounts := map[string]http.Handler{"/": web.Handler(webOptions(cfg, logger))}
	if cfg.MetricsToken != "" {
		mounts["GET /metrics"] = mx.handler(cfg.MetricsToken)
	}
	handler := NewServer(a, mounts)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			rms.close(context.Background())
			return fmt.Errorf("listen %s (metrics): %w", cfg.MetricsAddr, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", mx.handler(""))
		msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		fmt.Fprintf(stdout, "parley: metrics on http://%s/metrics\n", mln.Addr())
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "parley: listening on http://%s\n", ln.Addr())
	logger.Info("serving", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "version", version)

	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	jobsDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		b.store.RunSweeper(sweepCtx, cfg.SweepInterval, logger.With("component", "sweeper"))
	}()
	archiveDone := make(chan struct{})
	go func() { // archive timestamps (signltv.go); stopped with the sweeper
		defer close(archiveDone)
		docs.RunArchiver(sweepCtx, cfg.ArchiveInterval, cfg.ArchiveMargin, logger.With("component", "archiver"))
	}()
	go func() {
		defer close(jobsDone)
		docs.RunSweeper(sweepCtx, cfg.SweepInterval, logger.With("component", "document-jobs"))
	}()
	retentionDone := make(chan struct{})
	go func() { // recording retention (recording.go); stopped with the sweeper
		defer close(retentionDone)
		runRetention(sweepCtx, b.store, recs.blobs, cfg.RecordingRetention, time.Hour, logger.With("component", "recording-retention"))
	}()
	webhooksDone := make(chan struct{})
	go func() { // webhook deliveries (webhook/); stopped with the sweeper
		defer close(webhooksDone)
		newWebhookSender(cfg, b.store, logger).Run(sweepCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopSweep()
		<-sweepDone
		<-archiveDone
		<-jobsDone
		<-retentionDone
		<-webhooksDone
		rms.close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	// In a cluster, first hand the rooms to other nodes (clients are told to reconnect there) while HTTP still
	// answers, so that their join requests reaching this node are sent on.
	if rms.cluster != nil {
		start := time.Now()
		dctx, dcancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
		err := rms.drain(dctx)
		dcancel()
		logger.Info("drained", "took", time.Since(start).Round(time.Millisecond), "complete", err == nil)
		fmt.Fprintf(stdout, "parley: drained in %s\n", time.Since(start).Round(time.Millisecond))
	}
	// Stop accepting and drain HTTP with a fresh timeout, then stop the jobs, then (deferred) the pool.
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	// WebSockets are hijacked connections that Shutdown does not wait for: end the rooms (clients are told the
	// session is ending), then the media engine.
	rms.close(shutCtx)
	stopSweep()
	<-sweepDone
	<-archiveDone
	<-jobsDone
	<-retentionDone
	<-webhooksDone
	logger.Info("stopped")
	return nil
}
