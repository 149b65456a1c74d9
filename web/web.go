package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Options configures the front end.
type Options struct {
	// BaseURL is the public URL of this server (PARLEY_BASE_URL). QR codes only ever encode pages under it.
	BaseURL string
	// TimeZone is the IANA zone in which pages show dates and deadlines (PARLEY_TIMEZONE); default Asia/Shanghai.
	TimeZone string
	// Features lists the optional parts this server has wired: FeatureRooms, FeatureSigning. Pages that need a
	// feature are served, and linked from the navigation, only when it is listed.
	Features []string
	// Logger receives the handler's rare complaints; nil discards them.
	Logger *slog.Logger
}

// Optional features pages may depend on.
const (
	FeatureRooms   = "rooms"   // video rooms (sfu, signaling): the room page
	FeatureSigning = "signing" // electronic signing: the signing and verify pages
)

// page is a client-side route: a path pattern in which {name} matches one segment, and the feature it needs.
// js/routes.js holds the same list (a test keeps them equal).
type page struct {
	Pattern string
	Feature string
}

var pages = []page{
	{"/", ""},
	{"/login", ""},
	{"/password", ""},
	{"/join/{token}", ""},
	{"/consent/{token}", ""},
	{"/party", ""},
	{"/device", ""},
	{"/desk", ""},
	{"/cases/{id}", ""},
	{"/sessions/{id}/record", ""},
	{"/sessions/{id}/recordings", ""},
	{"/clerk", ""},
	{"/clerk/new", ""},
	{"/org", ""},
	{"/ipoffice", ""},
	{"/judge", ""},
	{"/stats", ""},
	{"/apply", ""},
	// Pages of optional features, served only when the feature is wired (Options.Features).
	{"/rooms/{id}", FeatureRooms},
	{"/sign/{id}", FeatureSigning},
	{"/verify", FeatureSigning},
}

// matchPage reports whether p is a page of the application (a trailing slash is ignored) and which.
func matchPage(p string) (page, bool) {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	segs := strings.Split(p, "/")
	for _, pg := range pages {
		want := strings.Split(pg.Pattern, "/")
		if len(want) != len(segs) {
			continue
		}
		ok := true
		for i, w := range want {
			if strings.HasPrefix(w, "{") {
				ok = segs[i] != ""
			} else {
				ok = w == segs[i]
			}
			if !ok {
				break
			}
		}
		if ok {
			return pg, true
		}
	}
	return page{}, false
}

// asset is one embedded file, ready to serve.
type asset struct {
	body, gz    []byte // gz is nil when compression does not pay
	contentType string
	etag        string
}

type handler struct {
	opts     Options
	version  string
	assets   map[string]*asset // by path below static/, e.g. "js/app.js"
	shell    *asset            // the HTML shell
	features map[string]bool
	csp      string
	netcheck []byte
	manifest *asset // the web app manifest (/manifest.webmanifest)
}

// Handler returns the front end: the single-page application's HTML for every page route (404 status for
// unknown paths, which the application then explains), the static assets under /assets/<version>/, /qr.svg and
// /netcheck. Mount it at "/" beside the API.
func Handler(opts Options) http.Handler {
	if opts.TimeZone == "" {
		opts.TimeZone = "Asia/Shanghai"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{opts: opts, assets: map[string]*asset{}, features: map[string]bool{}}
	for _, f := range opts.Features {
		h.features[f] = true
	}
	sum := sha256.New()
	var names []string
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("web: read embedded files: %v", err)) // the embed is fixed at build time
	}
	sort.Strings(names)
	for _, p := range names {
		b, _ := static.ReadFile(p)
		name := strings.TrimPrefix(p, "static/")
		fmt.Fprintf(sum, "%s\x00%d\x00", name, len(b))
		sum.Write(b)
		if name == "index.html" {
			continue
		}
		h.assets[name] = newAsset(b, contentType(name))
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	h.csp = contentSecurityPolicy(opts.BaseURL)
	h.shell = h.renderShell()
	h.manifest = h.renderManifest()
	h.netcheck = make([]byte, maxNetcheck)
	x := uint32(2463534242)
	for i := range h.netcheck { // xorshift: incompressible enough that a proxy cannot shrink the probe
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		h.netcheck[i] = byte(x)
	}
	return h
}

func newAsset(b []byte, ct string) *asset {
	a := &asset{body: b, contentType: ct}
	s := sha256.Sum256(b)
	a.etag = `"` + hex.EncodeToString(s[:8]) + `"`
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() < len(b)*9/10 {
		a.gz = buf.Bytes()
	}
	return a
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// contentSecurityPolicy allows scripts, styles, fonts and connections only to this origin (and, for the
// WebSocket of the video rooms, the ws/wss form of the base URL, which older Safari does not derive from
// 'self'), media from the camera and blobs, and no framing at all.
func contentSecurityPolicy(baseURL string) string {
	connect := "'self'"
	if u, ok := strings.CutPrefix(baseURL, "https://"); ok {
		connect += " wss://" + strings.TrimSuffix(u, "/")
	} else if u, ok := strings.CutPrefix(baseURL, "http://"); ok {
		connect += " ws://" + strings.TrimSuffix(u, "/")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob:",
		"media-src 'self' blob: mediastream:",
		"connect-src " + connect,
		"font-src 'self'",
		"worker-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

var shellTemplate = template.Must(template.ParseFS(static, "static/index.html"))

func (h *handler) renderShell() *asset {
	feats := h.featureList()
	var buf bytes.Buffer
	err := shellTemplate.Execute(&buf, map[string]string{
		"Assets":   "/assets/" + h.version,
		"Features": strings.Join(feats, " "),
		"TimeZone": h.opts.TimeZone,
	})
	if err != nil {
		panic(fmt.Sprintf("web: render index.html: %v", err)) // a fixed template and fixed data
	}
	return newAsset(buf.Bytes(), "text/html; charset=utf-8")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/assets/"):
		h.serveAsset(w, r, strings.TrimPrefix(p, "/assets/"))
	case p == "/qr.svg":
		h.serveQR(w, r)
	case p == "/netcheck":
		h.serveNetcheck(w, r)
	case p == "/manifest.webmanifest":
		w.Header().Set("Cache-Control", "no-cache") // its icons are of this build
		write(w, r, h.manifest, http.StatusOK)
	default:
		h.servePage(w, r)
	}
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	version, name, ok := strings.Cut(rest, "/")
	a := h.assets[name]
	if !ok || version != h.version || a == nil || strings.Contains(name, "..") {
		// An asset of another build (or none at all): a stale page should reload, not mix versions.
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	write(w, r, a, http.StatusOK)
}

// write sends a, gzip-compressed when the client accepts it, answering conditional requests with 304.
func write(w http.ResponseWriter, r *http.Request, a *asset, status int) {
	body, etag := a.body, a.etag
	hdr := w.Header()
	if a.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", etag)
	if status == http.StatusOK && etagMatch(r.Header.Get("If-None-Match"), etag) {
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// servePage answers a page route with the application's HTML shell. Unknown paths, and pages whose feature is
// not enabled, get the same shell with status 404: the application shows a "page not found" with a way on.
func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if pg, ok := matchPage(r.URL.Path); !ok || (pg.Feature != "" && !h.features[pg.Feature]) {
		status = http.StatusNotFound
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()")
	hdr.Set("Cache-Control", "no-cache")
	write(w, r, h.shell, status)
}

// maxNetcheck is the largest probe /netcheck sends.
const maxNetcheck = 2 << 20

// manifestIcon is one icon of the web app manifest.
type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose,omitempty"`
}

// renderManifest writes the web app manifest that lets a party add Parley to its phone's home screen (issue 13):
// a stable URL, same origin (the CSP's default-src 'self' covers manifest-src), icons from this build's assets,
// standalone display; the start page routes a party with a session to its case.
func (h *handler) renderManifest() *asset {
	img := "/assets/" + h.version + "/img/"
	m := map[string]any{
		"id":               "/",
		"name":             "Parley 在线调解",
		"short_name":       "Parley",
		"description":      "知识产权纠纷在线调解 / Online mediation of IP disputes",
		"lang":             "zh-CN",
		"dir":              "ltr",
		"start_url":        "/",
		"scope":            "/",
		"display":          "standalone",
		"orientation":      "any",
		"theme_color":      "#17467e",
		"background_color": "#ffffff",
		"icons": []manifestIcon{
			{Src: img + "icon-192.png", Sizes: "192x192", Type: "image/png", Purpose: "any"},
			{Src: img + "icon-512.png", Sizes: "512x512", Type: "image/png", Purpose: "any"},
			{Src: img + "icon-maskable-512.png", Sizes: "512x512", Type: "image/png", Purpose: "maskable"},
			{Src: img + "icon.svg", Sizes: "any", Type: "image/svg+xml", Purpose: "any"},
		},
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("web: manifest: %v", err)) // fixed values
	}
	return newAsset(b, "application/manifest+json")
}

// serveNetcheck sends ?bytes= bytes (default 256 KiB, at most 2 MiB) that the device-check page downloads and
// times; never cached.
func (h *handler) serveNetcheck(w http.ResponseWriter, r *http.Request) {
	n := 256 << 10
	if v := r.URL.Query().Get("bytes"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > maxNetcheck {
			http.Error(w, fmt.Sprintf("bytes must be a whole number from 0 to %d", maxNetcheck), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	if r.Method != http.MethodHead {
		w.Write(h.netcheck[:n])
	}
}

// featureList returns the enabled features, sorted (for tests and the shell).
func (h *handler) featureList() []string {
	var out []string
	for f := range h.features {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
