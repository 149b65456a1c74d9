package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

func newTestHandler(features ...string) http.Handler {
	return Handler(Options{BaseURL: "https://parley.example.cn", Features: features})
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var assetsMeta = regexp.MustCompile(`<meta name="parley-assets" content="([^"]+)">`)

// assetPrefix reads the versioned asset prefix from the shell.
func assetPrefix(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := get(t, h, "GET", "/", nil)
	m := assetsMeta.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no parley-assets meta in the shell:\n%s", rec.Body)
	}
	return m[1]
}

func TestPagesAnswerWithTheShell(t *testing.T) {
	t.Parallel()
	plain := newTestHandler()
	rooms := newTestHandler(FeatureRooms, FeatureSigning)
	for _, tt := range []struct {
		h      http.Handler
		path   string
		status int
	}{
		{plain, "/", 200},
		{plain, "/login", 200},
		{plain, "/join/pi_abcdef", 200},
		{plain, "/party", 200},
		{plain, "/device", 200},
		{plain, "/desk", 200},
		{plain, "/desk/", 200},
		{plain, "/cases/0b9e1c8e-8f2c-4a53-9d0e-1a2b3c4d5e6f", 200},
		{plain, "/sessions/x/record", 200},
		{plain, "/sessions/x/recordings", 200},
		{plain, "/clerk/new", 200},
		{plain, "/stats?from=2026-01-01", 200},
		{plain, "/apply", 200},
		{plain, "/nope", 404},
		{plain, "/cases", 404},
		{plain, "/cases/a/b", 404},
		{plain, "/join/", 404},
		{plain, "/rooms/abc", 404},
		{plain, "/verify", 404},
		{plain, "/sign/abc", 404},
		{rooms, "/rooms/abc", 200},
		{rooms, "/verify", 200},
		{rooms, "/sign/abc", 200},
	} {
		rec := get(t, tt.h, "GET", tt.path, nil)
		if rec.Code != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, rec.Code, tt.status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want text/html", tt.path, ct)
		}
		if !strings.Contains(rec.Body.String(), `<script type="module" src="/assets/`) {
			t.Errorf("GET %s: the body is not the application shell", tt.path)
		}
	}
}

func TestShellSecurityHeaders(t *testing.T) {
	t.Parallel()
	rec := get(t, newTestHandler(), "GET", "/join/pi_x", nil)
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "connect-src 'self' wss://parley.example.cn"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval", csp)
	}
	for k, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"Cache-Control":          "no-cache",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if pp := h.Get("Permissions-Policy"); !strings.Contains(pp, "camera=(self)") || !strings.Contains(pp, "microphone=(self)") {
		t.Errorf("Permissions-Policy %q does not allow this origin's camera and microphone", pp)
	}
	if h.Get("ETag") == "" {
		t.Error("the shell has no ETag")
	}
}

func TestAssetsAreVersionedCachedAndCompressed(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	prefix := assetPrefix(t, h)
	raw, err := static.ReadFile("static/js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, "GET", prefix+"/js/app.js", nil)
	if rec.Code != 200 {
		t.Fatalf("GET app.js: %d", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/javascript", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q, want a year and immutable", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), raw) {
		t.Error("app.js served differs from the embedded file")
	}
	etag := rec.Header().Get("ETag")
	if rec := get(t, h, "GET", prefix+"/js/app.js", map[string]string{"If-None-Match": etag}); rec.Code != 304 || rec.Body.Len() != 0 {
		t.Errorf("conditional GET: %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
	gz := get(t, h, "GET", prefix+"/js/app.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: Content-Encoding %q Vary %q", gz.Header().Get("Content-Encoding"), gz.Header().Get("Vary"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, raw) {
		t.Error("the gzip body does not decompress to app.js")
	}
	if gz.Header().Get("ETag") == etag {
		t.Error("the gzip and identity representations share an ETag")
	}
	if rec := get(t, h, "GET", prefix+"/js/app.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	if rec := get(t, h, "HEAD", prefix+"/css/app.css", nil); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
	for _, p := range []string{
		prefix + "/js/nope.js",
		prefix + "/index.html",
		prefix + "/../index.html",
		"/assets/0123456789ab/js/app.js", // another build
		"/assets/js/app.js",
		"/assets/",
	} {
		if rec := get(t, h, "GET", p, nil); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}

func TestOtherMethodsAreRefused(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := get(t, h, m, "/login", nil)
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /login: %d Allow %q, want 405 GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestVersionFollowsContent(t *testing.T) {
	t.Parallel()
	a, b := newTestHandler().(*handler), Handler(Options{}).(*handler)
	if a.version != b.version || len(a.version) != 12 {
		t.Errorf("versions %q and %q: want one 12-digit version for the same files", a.version, b.version)
	}
}

func TestShellHasNoInlineCodeOrText(t *testing.T) {
	t.Parallel()
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(s, -1); len(m) != 1 || !strings.Contains(m[0], "src=") {
		t.Errorf("script tags %q: want exactly one, with src", m)
	}
	if regexp.MustCompile(`\s(on[a-z]+|style)=`).MatchString(s) || strings.Contains(s, "<style") {
		t.Error("index.html has inline handlers or styles")
	}
	// Every visible word comes from the dictionaries, except the <noscript> notice (no script, no dictionary).
	body := s[strings.Index(s, "<body>"):]
	body = regexp.MustCompile(`(?s)<noscript>.*?</noscript>`).ReplaceAllString(body, "")
	text := strings.TrimSpace(regexp.MustCompile(`(?s)<[^>]+>`).ReplaceAllString(body, ""))
	if text != "" {
		t.Errorf("index.html has text outside the dictionaries: %q", text)
	}
}

// scripts returns every embedded JavaScript file by name.
func scripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fs.WalkDir(static, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".js" {
			b, _ := static.ReadFile(p)
			out[strings.TrimPrefix(p, "static/")] = string(b)
		}
		return err
	})
	if len(out) < 10 {
		t.Fatalf("found only %d scripts", len(out))
	}
	return out
}

func TestScriptsAvoidUnsafeDOM(t *testing.T) {
	t.Parallel()
	bad := regexp.MustCompile(`\.innerHTML\b|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*'style'`)
	for name, src := range scripts(t) {
		for i, line := range strings.Split(src, "\n") {
			if m := bad.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s (build DOM with dom.js h(); styles in app.css)", name, i+1, m)
			}
		}
	}
}

func dictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := static.ReadFile("static/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return d
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

func TestDictionariesHaveTheSameKeysAndPlaceholders(t *testing.T) {
	t.Parallel()
	zh, en := dictionary(t, "zh-CN"), dictionary(t, "en")
	for k, v := range zh {
		ev, ok := en[k]
		if !ok {
			t.Errorf("en.json lacks %q", k)
			continue
		}
		if strings.TrimSpace(v) == "" || strings.TrimSpace(ev) == "" {
			t.Errorf("%q is empty in one language", k)
		}
		if a, b := placeholders(v), placeholders(ev); !slices.Equal(a, b) {
			t.Errorf("%q: zh-CN has placeholders %v, en has %v", k, a, b)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh-CN.json lacks %q", k)
		}
	}
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

var (
	literalKey   = regexp.MustCompile(`\bt\(\s*'([a-z0-9_.]+)'`)
	dynamicT     = regexp.MustCompile("`([a-z0-9_]+\\.[a-z0-9_.]*)\\$\\{")
	dynamicLabel = regexp.MustCompile(`\blabel\(\s*'([a-z]+)'`)
	dynamicOpts  = regexp.MustCompile(`\boptions\([^;]*?,\s*'([a-z]+)'`)
	quoted       = regexp.MustCompile(`'([a-z0-9_]+\.[a-z0-9_.]+)'`)
)

// TestScriptsUseOnlyKnownKeys checks every key a script names exists, and every key of the dictionaries is
// used: named literally, or under a prefix a script completes at run time (t(`state.${s}`), label('state', s)).
func TestScriptsUseOnlyKnownKeys(t *testing.T) {
	t.Parallel()
	zh := dictionary(t, "zh-CN")
	used := map[string]bool{}
	prefixes := map[string]bool{}
	for name, src := range scripts(t) {
		for _, m := range literalKey.FindAllStringSubmatch(src, -1) {
			if _, ok := zh[m[1]]; !ok {
				t.Errorf("%s: t('%s') is in no dictionary", name, m[1])
			}
		}
		for _, m := range quoted.FindAllStringSubmatch(src, -1) {
			used[m[1]] = true
		}
		for _, re := range []*regexp.Regexp{dynamicT, dynamicLabel, dynamicOpts} {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				p := m[1]
				if !strings.HasSuffix(p, ".") && !strings.HasSuffix(p, "_") {
					p += "."
				}
				prefixes[p] = true
			}
		}
	}
	for k := range zh {
		if used[k] {
			continue
		}
		covered := false
		for p := range prefixes {
			if strings.HasPrefix(k, p) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("dictionary key %q is used by no script", k)
		}
	}
}

var (
	jsString = regexp.MustCompile("'(?:[^'\\\\\n]|\\\\.)*'|\"(?:[^\"\\\\\n]|\\\\.)*\"|`(?:[^`\\\\]|\\\\.)*`")
	cjk      = regexp.MustCompile(`[\p{Han}\x{3000}-\x{303f}\x{ff00}-\x{ffef}]`)
	sentence = regexp.MustCompile(`^[A-Z][a-z]+(?: [a-z]+){2,}`)
)

// TestNoHardCodedUIText checks, as far as a pattern can, that no script carries user-facing text of its own:
// no Chinese at all outside the dictionaries, and no English sentence-like string literals (messages for
// developers go to the console).
func TestNoHardCodedUIText(t *testing.T) {
	t.Parallel()
	for name, src := range scripts(t) {
		for i, line := range strings.Split(src, "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "//") || strings.HasPrefix(trimmed, "*") || strings.Contains(line, "console.") {
				continue
			}
			code := line
			if j := strings.Index(code, " // "); j >= 0 {
				code = code[:j]
			}
			if cjk.MatchString(code) {
				t.Errorf("%s:%d has Chinese text; put it in the dictionaries: %s", name, i+1, trimmed)
			}
			for _, lit := range jsString.FindAllString(code, -1) {
				if body := lit[1 : len(lit)-1]; sentence.MatchString(body) {
					t.Errorf("%s:%d has an English sentence %s; put it in the dictionaries", name, i+1, lit)
				}
			}
		}
	}
}

var (
	routeEntry   = regexp.MustCompile(`\{ path: '([^']+)'.*view: \(\) => import\('([^']+)'\)`)
	routeFeature = regexp.MustCompile(`feature: '([a-z]+)'`)
)

// TestRouterAgreesWithServer keeps js/routes.js and the server's page list the same, and checks that every
// page has its view module.
func TestRouterAgreesWithServer(t *testing.T) {
	t.Parallel()
	src := scripts(t)["js/routes.js"]
	var js []page
	for _, line := range strings.Split(src, "\n") {
		m := routeEntry.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pg := page{Pattern: m[1]}
		if f := routeFeature.FindStringSubmatch(line); f != nil {
			pg.Feature = f[1]
		}
		js = append(js, pg)
		if _, err := static.ReadFile(path.Join("static/js", m[2])); err != nil {
			t.Errorf("route %s: view %s is missing", m[1], m[2])
		}
	}
	if !slices.Equal(js, pages) {
		t.Errorf("js/routes.js has\n%v\nweb.go has\n%v", js, pages)
	}
}

func TestQRCode(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	rec := get(t, h, "GET", "/qr.svg?path="+"%2Fjoin%2Fpi_abc%3Fx%3D1", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("qr: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the SVG is not well-formed: %v", err)
	}
	if doc.ViewBox == "" || strings.Count(doc.Path.D, "M") < 50 {
		t.Errorf("the SVG has viewBox %q and %d runs: not a QR code", doc.ViewBox, strings.Count(doc.Path.D, "M"))
	}
	for _, bad := range []string{"", "x", "//evil.example/x", "http://evil.example/", "/a\nb", `/a\b`, "/" + strings.Repeat("a", 600)} {
		if rec := get(t, h, "GET", "/qr.svg?path="+urlQueryEscape(bad), nil); rec.Code != 400 {
			t.Errorf("qr path %q: %d, want 400", bad, rec.Code)
		}
	}
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("\n", "%0A", "%", "%25", "&", "%26", "?", "%3F", "#", "%23", " ", "%20", "+", "%2B", "\\", "%5C")
	return r.Replace(s)
}

func TestQRTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		base, path, want string
		ok               bool
	}{
		{"https://p.example.cn", "/desk", "https://p.example.cn/desk", true},
		{"https://p.example.cn/", "/join/pi_x", "https://p.example.cn/join/pi_x", true},
		{"https://p.example.cn", "/stats?from=2026-01-01", "https://p.example.cn/stats?from=2026-01-01", true},
		{"https://p.example.cn", "//evil.example", "", false},
		{"https://p.example.cn", "https://evil.example/", "", false},
		{"https://p.example.cn", "desk", "", false},
		{"", "/desk", "", false},
	} {
		got, err := qrTarget(tt.base, tt.path)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("qrTarget(%q, %q) = %q, %v; want %q ok=%v", tt.base, tt.path, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzQRTarget(f *testing.F) {
	for _, s := range []string{"/desk", "/join/pi_x?a=b#c", "//x", "/\x00", "/%zz", "http://x/", "/" + strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := qrTarget("https://p.example.cn", p)
		if err == nil && !strings.HasPrefix(got, "https://p.example.cn/") {
			t.Errorf("qrTarget(%q) = %q: leaves the server", p, got)
		}
	})
}

func FuzzMatchPage(f *testing.F) {
	for _, s := range []string{"/", "/cases/x", "/cases/", "//", "/join/a/b", "/sessions/x/record/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if pg, ok := matchPage(p); ok && !slices.Contains(pages, pg) {
			t.Errorf("matchPage(%q) = %v, not a page", p, pg)
		}
	})
}

func TestNetcheck(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	rec := get(t, h, "GET", "/netcheck?bytes=1000", nil)
	if rec.Code != 200 || rec.Body.Len() != 1000 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("netcheck: %d, %d bytes, Cache-Control %q", rec.Code, rec.Body.Len(), rec.Header().Get("Cache-Control"))
	}
	if rec := get(t, h, "GET", "/netcheck", nil); rec.Body.Len() != 256<<10 {
		t.Errorf("netcheck default: %d bytes", rec.Body.Len())
	}
	for _, q := range []string{"-1", "x", "99999999"} {
		if rec := get(t, h, "GET", "/netcheck?bytes="+q, nil); rec.Code != 400 {
			t.Errorf("netcheck bytes=%s: %d, want 400", q, rec.Code)
		}
	}
}

func BenchmarkShell(b *testing.B) {
	h := newTestHandler()
	req := httptest.NewRequest("GET", "/cases/x", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// TestWebAppManifest: the shell links a manifest from its own origin (the CSP's default-src 'self' allows it),
// and the manifest names the app, opens standalone at the start page, and lists icons of this build that exist,
// are PNG or SVG of the sizes it says, with a maskable one, so a party can add Parley to the home screen.
func TestWebAppManifest(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	shell := get(t, h, "GET", "/", nil).Body.String()
	prefix := assetPrefix(t, h)
	for _, want := range []string{`<link rel="manifest" href="/manifest.webmanifest">`, `<link rel="apple-touch-icon" href="` + prefix + `/img/apple-touch-icon.png">`} {
		if !strings.Contains(shell, want) {
			t.Errorf("the shell lacks %s", want)
		}
	}
	rec := get(t, h, "GET", "/manifest.webmanifest", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("GET /manifest.webmanifest: %d %q, want 200 application/manifest+json", rec.Code, rec.Header().Get("Content-Type"))
	}
	var m struct {
		Name       string `json:"name"`
		ShortName  string `json:"short_name"`
		StartURL   string `json:"start_url"`
		Scope      string `json:"scope"`
		Display    string `json:"display"`
		ThemeColor string `json:"theme_color"`
		Icons      []struct{ Src, Sizes, Type, Purpose string }
	}
	raw := rec.Body.Bytes()
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Name == "" || m.ShortName == "" || m.StartURL != "/" || m.Scope != "/" || m.Display != "standalone" || m.ThemeColor == "" {
		t.Errorf("manifest %s: want a name, a short name, start_url and scope /, standalone display and a theme colour", raw)
	}
	maskable, big := false, false
	for _, ic := range m.Icons {
		if !strings.HasPrefix(ic.Src, prefix+"/") {
			t.Errorf("icon %s is not an asset of this build (%s)", ic.Src, prefix)
			continue
		}
		r := get(t, h, "GET", ic.Src, nil)
		if r.Code != 200 || r.Header().Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %q, want 200 %s", ic.Src, r.Code, r.Header().Get("Content-Type"), ic.Type)
			continue
		}
		if ic.Type == "image/png" {
			cfg, err := png.DecodeConfig(bytes.NewReader(r.Body.Bytes()))
			if err != nil || fmt.Sprintf("%dx%d", cfg.Width, cfg.Height) != ic.Sizes {
				t.Errorf("icon %s: %dx%d (%v), the manifest says %s", ic.Src, cfg.Width, cfg.Height, err, ic.Sizes)
			}
			big = big || ic.Sizes == "512x512"
		}
		maskable = maskable || ic.Purpose == "maskable"
	}
	if !maskable || !big {
		t.Errorf("the manifest's icons %+v lack a 512×512 PNG or a maskable icon", m.Icons)
	}
}
