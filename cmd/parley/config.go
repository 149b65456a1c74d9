package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting Parley reads. Each has a flag and a PARLEY_* environment variable; a flag wins over
// the variable, the variable over the default. settings() lists them for parsing and for the README.
type Config struct {
	Addr             string
	DatabaseURL      string
	RedisURL         string
	BaseURL          string
	LogLevel         string
	LogFormat        string
	Timezone         string
	HolidaysFile     string
	SweepInterval    time.Duration
	SessionTTL       time.Duration
	InviteTTL        time.Duration
	CookieSecure     bool
	TrustProxy       bool
	Migrate          bool
	ShutdownTimeout  time.Duration
	MaxBodyBytes     int64
	SMTPAddr         string
	SMTPUser         string
	SMTPPassword     string
	SMTPFrom         string
	SMTPSMSGateway   string
	SMSHTTPURL       string
	SMSHTTPToken     string
	SMSHTTPSecret    string
	SMSHTTPTimeout   time.Duration
	SMSHTTPAttempts  int
	DemoPassword     string
	Operator         string
	Font             string
	CACertFile       string
	CAKeyFile        string
	TSAURL           string
	SealKeysDir      string
	SealKeysPassword string
	MaxPDFBytes      int64
	MediaUDPPort     int
	MediaTCPPort     int
	PublicIP         string
	ICEFilter        string
	MediaDirectSend  bool
	TURN             bool
	TURNPort         int
	TURNHost         string
	TURNRelayIP      string
	TURNSecret       string
	RTCOrigins       string
	NodeID           string
	// Issue 9: key encryption at rest and archive timestamps.
	KeyFile         string
	DataDir         string
	ArchiveInterval time.Duration
	ArchiveMargin   time.Duration
	// Identity verification (issue 8): a real-name or face-verification service.
	IdentityVerifierURL  string
	IdentityVerifierName string
	// Accounts and the HTTP server (issue 8 §4).
	APITokenMaxDays int
	BodyReadTimeout time.Duration
	BodyMinRate     int
	WSPerAddress    int
	TSAPerMinute    int
	ApplyPerPhone   int

	badBools []string // boolean settings whose environment value is not a boolean, reported by check()
	// Cluster and metrics (issue 11).
	NodeURL           string
	NodeMediaIP       string
	DrainTimeout      time.Duration
	LeaseTTL          time.Duration
	PlacementSelector string
	MetricsAddr       string
	MetricsToken      string
	// Recording (issue 14).
	RecordingStore     string
	RecordingQuota     int64
	RecordingFreeFloor int64
	RecordingRetention time.Duration
	RecordingQueue     int
	RecordingCompose   bool
	// The case file (issue 12).
	MaterialMaxBytes     int64
	MaterialCaseMaxBytes int64
	MaterialMaxPixels    int64
	MaterialMaxInflated  int64
	WebhookInterval      time.Duration
	WebhookTimeout       time.Duration
	WebhookRetryBase     time.Duration
	WebhookRetryMax      time.Duration
	WebhookMaxAttempts   int
}

// setting describes one configuration setting.
type setting struct {
	Name    string // flag name; the variable is PARLEY_ + upper-case name with _ for -
	Default string
	Usage   string
	bind    func(fs *flag.FlagSet, c *Config, def string)
}

// Env returns the environment variable of a setting.
func (s setting) Env() string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
}

func settings() []setting {
	s := func(name, def, usage string, p func(*Config) *string) setting {
		return setting{name, def, usage, func(fs *flag.FlagSet, c *Config, d string) { fs.StringVar(p(c), name, d, usage) }}
	}
	d := func(name, def, usage string, p func(*Config) *time.Duration) setting {
		return setting{name, def, usage, func(fs *flag.FlagSet, c *Config, v string) {
			dur, err := time.ParseDuration(v)
			if err != nil {
				dur = -1 // reported by check()
			}
			fs.DurationVar(p(c), name, dur, usage)
		}}
	}
	b := func(name, def, usage string, p func(*Config) *bool) setting {
		return setting{name, def, usage, func(fs *flag.FlagSet, c *Config, v string) {
			bv, err := strconv.ParseBool(v)
			if err != nil {
				// "yes" or "on" is not silently false: check() reports it (a bad flag value fails in fs.Parse).
				c.badBools = append(c.badBools, fmt.Sprintf("%s (PARLEY_%s) must be true or false, not %q", name, strings.ToUpper(strings.ReplaceAll(name, "-", "_")), v))
			}
			fs.BoolVar(p(c), name, bv, usage)
		}}
	}
	i := func(name, def, usage string, p func(*Config) *int64) setting {
		return setting{name, def, usage, func(fs *flag.FlagSet, c *Config, v string) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				n = -1
			}
			fs.Int64Var(p(c), name, n, usage)
		}}
	}
	n := func(name, def, usage string, p func(*Config) *int) setting {
		return setting{name, def, usage, func(fs *flag.FlagSet, c *Config, v string) {
			x, err := strconv.Atoi(v)
			if err != nil {
				x = -2 // reported by check()
			}
			fs.IntVar(p(c), name, x, usage)
		}}
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "parley"
	}
	return []setting{
		s("addr", ":8080", "HTTP listen address (API, web front end, WebSocket signalling)", func(c *Config) *string { return &c.Addr }),
		s("database-url", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable", "PostgreSQL connection URL", func(c *Config) *string { return &c.DatabaseURL }),
		s("redis-url", "", "Redis URL (redis://host:6379/0) for state shared by several nodes; empty for a single node", func(c *Config) *string { return &c.RedisURL }),
		s("base-url", "http://localhost:8080", "public URL of this server, used in invitation links, QR codes and cookies", func(c *Config) *string { return &c.BaseURL }),
		s("log-level", "info", "log level: debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
		s("log-format", "text", "log format: text or json", func(c *Config) *string { return &c.LogFormat }),
		s("timezone", "Asia/Shanghai", "time zone of the working-day calendar and of deadlines", func(c *Config) *string { return &c.Timezone }),
		s("holidays-file", "", "extra holiday file (lines \"YYYY-MM-DD holiday [name]\" or \"YYYY-MM-DD workday [name]\") on top of the built-in mainland China calendar", func(c *Config) *string { return &c.HolidaysFile }),
		d("sweep-interval", "1m", "how often the overdue job ends cases past their time limit and returns unanswered referrals, and the document jobs run (certificates of completion, court documents left unmade)", func(c *Config) *time.Duration { return &c.SweepInterval }),
		d("session-ttl", "12h", "how long a login (staff or party) lasts", func(c *Config) *time.Duration { return &c.SessionTTL }),
		d("invite-ttl", "168h", "how long a party's invitation link stays valid", func(c *Config) *time.Duration { return &c.InviteTTL }),
		b("cookie-secure", "false", "mark cookies Secure (always on when base-url is https)", func(c *Config) *bool { return &c.CookieSecure }),
		b("trust-proxy", "false", "take the client address from X-Forwarded-For (only behind a reverse proxy you run)", func(c *Config) *bool { return &c.TrustProxy }),
		b("migrate", "true", "apply database migrations when the server starts", func(c *Config) *bool { return &c.Migrate }),
		d("shutdown-timeout", "20s", "how long a graceful shutdown waits for requests and rooms to finish", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
		i("max-body-bytes", "1048576", "largest JSON request body accepted, in bytes", func(c *Config) *int64 { return &c.MaxBodyBytes }),
		s("smtp-addr", "", "SMTP server host:port for notices and one-time codes; empty logs them instead", func(c *Config) *string { return &c.SMTPAddr }),
		s("smtp-user", "", "SMTP user name (PLAIN auth); empty for none", func(c *Config) *string { return &c.SMTPUser }),
		s("smtp-password", "", "SMTP password", func(c *Config) *string { return &c.SMTPPassword }),
		s("smtp-from", "parley@localhost", "sender address of notices", func(c *Config) *string { return &c.SMTPFrom }),
		s("smtp-sms-gateway", "", "e-mail-to-SMS gateway for phone numbers, as a pattern with %s for the number (e.g. %s@sms.example.cn); empty logs SMS instead", func(c *Config) *string { return &c.SMTPSMSGateway }),
		s("sms-http-url", "", "HTTP SMS provider: Parley POSTs {to, text, reference} as JSON here for every phone number (before smtp-sms-gateway); empty: no provider", func(c *Config) *string { return &c.SMSHTTPURL }),
		s("sms-http-token", "", "bearer token sent to the SMS provider in Authorization", func(c *Config) *string { return &c.SMSHTTPToken }),
		s("sms-http-secret", "", "shared secret with the SMS provider: signs each request (Parley-Signature, HMAC-SHA256) and checks its delivery receipts at POST /api/v1/sms/receipts; empty turns receipts off", func(c *Config) *string { return &c.SMSHTTPSecret }),
		d("sms-http-timeout", "5s", "how long the SMS provider has to answer one attempt", func(c *Config) *time.Duration { return &c.SMSHTTPTimeout }),
		n("sms-http-attempts", "2", "attempts per SMS when the provider answers 5xx, times out or cannot be reached (a 4xx is not retried), 1–5", func(c *Config) *int { return &c.SMSHTTPAttempts }),
		s("identity-verifier-url", "", "URL of a real-name or face-verification service parties can verify their identity with before signing (POST JSON, see docs/signing.md); empty: identity is checked by the mediator or the court", func(c *Config) *string { return &c.IdentityVerifierURL }),
		s("identity-verifier-name", "identity-verifier", "name of that service, written into the certificates and the trail", func(c *Config) *string { return &c.IdentityVerifierName }),
		s("operator", "Parley", "name of the platform operator, written into Parley's root certificate", func(c *Config) *string { return &c.Operator }),
		s("font", "", "TrueType font for documents and signatures; empty finds LXGW WenKai, then AR PL SungtiL GB", func(c *Config) *string { return &c.Font }),
		s("ca-cert-file", "", "PEM certificate (and chain) of the CA that certifies signers' keys; empty uses Parley's own CA, created at first start", func(c *Config) *string { return &c.CACertFile }),
		s("ca-key-file", "", "PEM private key of that CA (with ca-cert-file)", func(c *Config) *string { return &c.CAKeyFile }),
		s("tsa-url", "", "RFC 3161 timestamp authority URL; empty uses Parley's own TSA (see docs/signing.md for what that proves)", func(c *Config) *string { return &c.TSAURL }),
		s("seal-keys-dir", "", "directory of organisation and court seal keys, <organisation-id>.p12 or <organisation-id>.pem; keys missing there are issued by Parley's CA", func(c *Config) *string { return &c.SealKeysDir }),
		s("seal-keys-password", "", "password of the .p12 seal keys", func(c *Config) *string { return &c.SealKeysPassword }),
		i("max-pdf-bytes", "20971520", "largest PDF accepted for verification, in bytes", func(c *Config) *int64 { return &c.MaxPDFBytes }),
		n("media-udp-port", "7882", "the one UDP port that carries all audio and video (open it in the firewall)", func(c *Config) *int { return &c.MediaUDPPort }),
		n("media-tcp-port", "7881", "ICE-TCP port, the media fallback for networks that block UDP; -1 turns it off", func(c *Config) *int { return &c.MediaTCPPort }),
		s("public-ip", "", "public IP(s) to announce for media when the server sits behind a 1:1 NAT (comma-separated)", func(c *Config) *string { return &c.PublicIP }),
		s("ice-filter", "", "interfaces and/or CIDRs media may use (comma-separated, e.g. eth0,10.0.0.0/8); empty means every non-loopback interface; name lo or 127.0.0.0/8 to include loopback", func(c *Config) *string { return &c.ICEFilter }),
		b("media-direct-send", "true", "send forwarded media on the direct path (own SRTP, one sendmmsg per source packet; docs/media.md); false sends every packet through Pion", func(c *Config) *bool { return &c.MediaDirectSend }),
		b("turn", "false", "run the embedded TURN server (relays media for networks that allow nothing else)", func(c *Config) *bool { return &c.TURN }),
		n("turn-port", "3478", "TURN port, on UDP and TCP", func(c *Config) *int { return &c.TURNPort }),
		s("turn-host", "", "host name or IP put in the TURN URLs given to browsers; empty means the relay IP", func(c *Config) *string { return &c.TURNHost }),
		s("turn-relay-ip", "", "IP the TURN server relays on; empty means the first public-ip, else the first address ice-filter allows", func(c *Config) *string { return &c.TURNRelayIP }),
		s("turn-secret", "", "shared secret for time-limited TURN credentials; empty means one Parley generates and keeps in the database (shared by all nodes)", func(c *Config) *string { return &c.TURNSecret }),
		s("rtc-origins", "", "browser origins allowed to open the signalling WebSocket besides this server's own (comma-separated, * for any)", func(c *Config) *string { return &c.RTCOrigins }),
		s("node-id", host, "this node's name for placing rooms when several nodes share the database (default: the host name)", func(c *Config) *string { return &c.NodeID }),
		s("key-file", "", "file of the key-encryption key that encrypts the stored private keys (CA, TSA, platform, seals); empty uses <data-dir>/parley.kek, generated at first start", func(c *Config) *string { return &c.KeyFile }),
		s("data-dir", defaultDataDir(), "directory for files Parley generates on this node (the key-encryption key when key-file is empty)", func(c *Config) *string { return &c.DataDir }),
		d("archive-interval", "1h", "how often the archive job looks for documents whose newest document timestamp must be renewed", func(c *Config) *time.Duration { return &c.ArchiveInterval }),
		d("archive-margin", "2160h", "renew a document's archive timestamp this long before its TSA certificate or algorithm expires", func(c *Config) *time.Duration { return &c.ArchiveMargin }),
		n("api-token-max-days", "365", "longest lifetime of an API token, in days (a token asked for without a lifetime gets this one)", func(c *Config) *int { return &c.APITokenMaxDays }),
		d("body-read-timeout", "10s", "time a request body may take to start arriving; after it the body must keep up body-min-rate or the connection is cut", func(c *Config) *time.Duration { return &c.BodyReadTimeout }),
		n("body-min-rate", "1024", "slowest a request body may arrive after body-read-timeout, in bytes per second (a 1-byte/s body is cut)", func(c *Config) *int { return &c.BodyMinRate }),
		n("ws-per-address", "32", "most signalling WebSockets one client address may hold open at once", func(c *Config) *int { return &c.WSPerAddress }),
		n("tsa-per-minute", "60", "timestamp requests one client address may make per minute to /api/v1/tsa", func(c *Config) *int { return &c.TSAPerMinute }),
		n("applications-per-phone", "5", "online applications (each sends a code to the phone) one phone number may make per hour", func(c *Config) *int { return &c.ApplyPerPhone }),
		s("node-url", "", "this node's own signalling WebSocket URL as browsers reach it when several nodes serve behind one proxy (e.g. wss://parley.example.cn/n/node1/rtc); empty derives it from base-url", func(c *Config) *string { return &c.NodeURL }),
		s("node-media-ip", "", "IP at which this node's media ports are reached; announced to browsers when public-ip is empty, and listed in the cluster registry", func(c *Config) *string { return &c.NodeMediaIP }),
		d("drain-timeout", "30s", "on SIGTERM, how long a node waits for its clients to move to other nodes before it stops", func(c *Config) *time.Duration { return &c.DrainTimeout }),
		d("lease-ttl", "6s", "lifetime of a node's claim on a room in Redis, renewed every third of it; a lost node's rooms move after at most this long", func(c *Config) *time.Duration { return &c.LeaseTTL }),
		s("placement-selector", "least_loaded", "how a new room picks its node: least_loaded (fewest participants, then CPU, then rooms), cpu (lowest CPU) or rooms (fewest rooms)", func(c *Config) *string { return &c.PlacementSelector }),
		s("metrics-addr", "", "separate listen address for Prometheus /metrics (e.g. 127.0.0.1:9090); empty serves it only on addr, and only with metrics-token", func(c *Config) *string { return &c.MetricsAddr }),
		s("metrics-token", "", "bearer token that opens /metrics on the main address; empty keeps /metrics off the main address", func(c *Config) *string { return &c.MetricsToken }),
		s("recording-store", "pg", "where session recordings are kept: pg (PostgreSQL large objects, seen by every node) or dir (<data-dir>/recordings on this node)", func(c *Config) *string { return &c.RecordingStore }),
		i("recording-quota", "0", "bytes the recordings may take in PostgreSQL (recording-store pg); with 0 the free-space floor is checked only on the spool directory", func(c *Config) *int64 { return &c.RecordingQuota }),
		i("recording-free-floor", "1073741824", "a recording refuses to start (and says why in the trail) when the store or the spool directory has less free space than this, in bytes; 0 turns the check off", func(c *Config) *int64 { return &c.RecordingFreeFloor }),
		d("recording-retention", "0s", "how long recordings are kept; after it their bytes are deleted, their hash and a deletion event stay in the trail; 0s keeps them", func(c *Config) *time.Duration { return &c.RecordingRetention }),
		n("recording-queue", "2048", "packets queued per recorded track between forwarding and the writer; when full, packets are dropped and counted, never waited for", func(c *Config) *int { return &c.RecordingQueue }),
		b("recording-compose", "true", "after a recorded session, compose one playback file (grid with names and clock, mixed sound) with ffmpeg at nice 19, one at a time per node; off, or without ffmpeg, only the per-track files are kept", func(c *Config) *bool { return &c.RecordingCompose }),
		i("material-max-bytes", "67108864", "largest material (evidence file) one upload may be, in bytes", func(c *Config) *int64 { return &c.MaterialMaxBytes }),
		i("material-case-max-bytes", "1073741824", "most bytes of materials one case may hold", func(c *Config) *int64 { return &c.MaterialCaseMaxBytes }),
		i("material-max-pixels", "100000000", "most pixels (width × height) an uploaded JPEG or PNG may declare; more is refused as an image bomb", func(c *Config) *int64 { return &c.MaterialMaxPixels }),
		i("material-max-inflated", "1073741824", "most bytes the Flate streams of an uploaded PDF may inflate to together; more (or one stream inflating over 200 times past 16 MiB) is refused as a PDF bomb", func(c *Config) *int64 { return &c.MaterialMaxInflated }),
		d("webhook-interval", "2s", "how often each node looks for webhook deliveries that are due", func(c *Config) *time.Duration { return &c.WebhookInterval }),
		d("webhook-timeout", "10s", "how long a webhook receiver has to answer one delivery before the attempt counts as failed", func(c *Config) *time.Duration { return &c.WebhookTimeout }),
		d("webhook-retry-base", "10s", "wait after a webhook delivery's first failed attempt; it doubles after each further failure", func(c *Config) *time.Duration { return &c.WebhookRetryBase }),
		d("webhook-retry-max", "1h", "longest wait between two attempts of a webhook delivery", func(c *Config) *time.Duration { return &c.WebhookRetryMax }),
		n("webhook-max-attempts", "10", "attempts of a webhook delivery before it is dead (kept in the log, replayable by the platform admin)", func(c *Config) *int { return &c.WebhookMaxAttempts }),
		s("demo-password", "parley-demo-2026", "password the demo subcommand gives every demo account", func(c *Config) *string { return &c.DemoPassword }),
	}
}

// parseConfig reads settings from the environment and then from args (flags), and checks them.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*Config, []string, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, st := range settings() {
		def := st.Default
		if v := getenv(st.Env()); v != "" {
			def = v
		}
		st.bind(fs, c, def)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: parley %s [flags]\n\nEvery flag can also be set with its PARLEY_* environment variable:\n\n", name)
		for _, st := range settings() {
			fmt.Fprintf(stderr, "  -%s (%s, default %q)\n      %s\n", st.Name, st.Env(), st.Default, st.Usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), c.check()
}

func (c *Config) check() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	problems = append(problems, c.badBools...)
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base-url %q must be an http or https URL", c.BaseURL)
	} else {
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
		if u.Scheme == "https" {
			c.CookieSecure = true
		}
	}
	if _, err := url.Parse(c.DatabaseURL); err != nil || c.DatabaseURL == "" {
		add("database-url must be a PostgreSQL URL")
	}
	if c.APITokenMaxDays < 1 || c.APITokenMaxDays > 3650 {
		add("api-token-max-days must be between 1 and 3650")
	}
	if c.BodyMinRate < 1 {
		add("body-min-rate must be at least 1 byte per second")
	}
	if c.WSPerAddress < 1 {
		add("ws-per-address must be at least 1")
	}
	if c.ApplyPerPhone < 1 {
		add("applications-per-phone must be at least 1")
	}
	if c.TSAPerMinute < 1 {
		add("tsa-per-minute must be at least 1")
	}
	for name, d := range map[string]time.Duration{"body-read-timeout": c.BodyReadTimeout, "sweep-interval": c.SweepInterval, "session-ttl": c.SessionTTL, "invite-ttl": c.InviteTTL, "shutdown-timeout": c.ShutdownTimeout,
		"drain-timeout": c.DrainTimeout, "lease-ttl": c.LeaseTTL, "archive-interval": c.ArchiveInterval} {
		if d <= 0 {
			add("%s must be a positive duration such as 30s, 5m or 12h", name)
		}
	}
	if (c.CACertFile == "") != (c.CAKeyFile == "") {
		add("ca-cert-file and ca-key-file go together")
	}
	if c.MaxPDFBytes < 1024 || c.MaxPDFBytes > 256<<20 {
		add("max-pdf-bytes must be between 1024 and 268435456")
	}
	if c.TSAURL != "" {
		if u, err := url.Parse(c.TSAURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			add("tsa-url must be an http or https URL")
		}
	}
	for name, p := range map[string]int{"media-udp-port": c.MediaUDPPort, "turn-port": c.TURNPort} {
		if p < 0 || p > 65535 {
			add("%s must be a port number (0 picks a free one)", name)
		}
	}
	if c.MediaTCPPort < -1 || c.MediaTCPPort > 65535 {
		add("media-tcp-port must be a port number, or -1 for off")
	}
	for name, v := range map[string]int64{"material-max-bytes": c.MaterialMaxBytes, "material-case-max-bytes": c.MaterialCaseMaxBytes, "material-max-pixels": c.MaterialMaxPixels, "material-max-inflated": c.MaterialMaxInflated} {
		if v < 1 {
			add("%s must be a positive number", name)
		}
	}
	for name, d := range map[string]time.Duration{"webhook-interval": c.WebhookInterval, "webhook-timeout": c.WebhookTimeout, "webhook-retry-base": c.WebhookRetryBase, "webhook-retry-max": c.WebhookRetryMax} {
		if d <= 0 {
			add("%s must be a positive duration such as 30s, 5m or 12h", name)
		}
	}
	if c.WebhookMaxAttempts < 1 || c.WebhookMaxAttempts > 100 {
		add("webhook-max-attempts must be between 1 and 100")
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		add("max-body-bytes must be between 1024 and 67108864")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log-level must be debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add("log-format must be text or json")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		add("timezone %q is not a known time zone", c.Timezone)
	}
	if c.HolidaysFile != "" {
		if _, err := os.Stat(c.HolidaysFile); err != nil {
			add("holidays-file: %v", err)
		}
	}
	if c.SMTPSMSGateway != "" && strings.Count(c.SMTPSMSGateway, "%s") != 1 {
		add("smtp-sms-gateway must contain %%s once")
	}
	if v := c.SMSHTTPURL; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("sms-http-url must be an http or https URL")
		}
	}
	if c.SMSHTTPTimeout <= 0 {
		add("sms-http-timeout must be a positive duration such as 5s")
	}
	if c.SMSHTTPAttempts < 1 || c.SMSHTTPAttempts > 5 {
		add("sms-http-attempts must be between 1 and 5")
	}
	if v := c.IdentityVerifierURL; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("identity-verifier-url must be an http or https URL")
		}
		if strings.TrimSpace(c.IdentityVerifierName) == "" {
			add("identity-verifier-name must not be empty")
		}
	}
	if c.NodeURL != "" {
		if u, err := url.Parse(c.NodeURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			add("node-url %q must be a ws or wss URL", c.NodeURL)
		}
	}
	if c.NodeMediaIP != "" && net.ParseIP(c.NodeMediaIP) == nil {
		add("node-media-ip %q is not an IP address", c.NodeMediaIP)
	}
	if c.RecordingStore != "pg" && c.RecordingStore != "dir" {
		add("recording-store must be pg or dir")
	}
	if c.RecordingQuota < 0 || c.RecordingFreeFloor < 0 || c.RecordingRetention < 0 {
		add("recording-quota, recording-free-floor and recording-retention must not be negative")
	}
	if c.RecordingQueue < 16 || c.RecordingQueue > 1<<16 {
		add("recording-queue must be between 16 and 65536")
	}
	switch c.PlacementSelector {
	case "least_loaded", "cpu", "rooms":
	default:
		add("placement-selector must be least_loaded, cpu or rooms")
	}
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// newLogger builds the one logger the process uses.
func newLogger(c *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	// Every line names the node, so the logs of several nodes can be read together.
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)).With("node", c.NodeID)
	}
	return slog.New(slog.NewTextHandler(w, opts)).With("node", c.NodeID)
}
