package main

// The harness of the browser tests: a network namespace with only loopback, the whole server over a fresh
// schema (PostgreSQL reached through its Unix socket), one headless Chromium with fake camera and microphone, and
// one tab per person, each in its own browser context (its own cookies).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/web"
)

const (
	netnsEnv     = "PARLEY_E2E_NETNS"                // set in the child that runs inside the namespace
	socketDSNEnv = "PARLEY_TEST_SOCKET_DATABASE_URL" // the database as the namespace reaches it
	defSocketDSN = "postgres://postgres@/test?host=/var/run/postgresql&sslmode=disable"
	shotDirEnv   = "PARLEY_SCREENSHOT_DIR" // where screenshots go (default out/screenshots)
	chromiumEnv  = "PARLEY_CHROMIUM"       // the browser (default /usr/bin/chromium)
	// e2eICEFilterEnv widens the media addresses of startE2E inside the namespace (never outside it).
	e2eICEFilterEnv = "PARLEY_E2E_ICE_FILTER"
)

// chromiumPath returns the browser to drive, or "" when there is none.
func chromiumPath() string {
	p := os.Getenv(chromiumEnv)
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// onlyLoopback reports whether this process sees no network interface but lo.
func onlyLoopback() (bool, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return false, err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false, nil
		}
	}
	return true, nil
}

// browserE2E begins a browser test: without Chromium it skips; outside an isolated namespace it runs the test
// again inside one and returns nil (the caller returns too); inside, it starts the environment.
func browserE2E(t *testing.T, test string) *e2e {
	t.Helper()
	if chromiumPath() == "" {
		t.Skip("browser tests: Chromium is not installed at /usr/bin/chromium (make test installs it; PARLEY_CHROMIUM names another)")
	}
	if inNamespace(t, test) {
		return nil
	}
	return startE2E(t)
}

// inNamespace runs test (by name) again, in a new network namespace whose only interface is lo, and reports
// its output; it returns false in the child, which goes on to run the test body.
func inNamespace(t *testing.T, test string) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		ok, err := onlyLoopback()
		if err != nil || !ok {
			t.Fatalf("browser tests: %s=1 but this process sees interfaces other than lo (%v): refusing to run outside an isolated namespace", netnsEnv, err)
		}
		return false
	}
	if os.Geteuid() != 0 {
		t.Fatalf("browser tests: they run Chromium and the server inside a network namespace (unshare --net), which needs root; run make test as root")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("browser tests: %s is missing (apt-get install util-linux iproute2): %v", tool, err)
		}
	}
	dsn := os.Getenv(socketDSNEnv)
	if dsn == "" {
		dsn = defSocketDSN
	}
	shots := os.Getenv(shotDirEnv)
	if shots == "" {
		shots = "../../out/screenshots"
	}
	shots, _ = filepath.Abs(shots)
	timeout := 5 * time.Minute
	if dl, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)-10*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	args := []string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		os.Args[0], "-test.run=^" + test + "$", "-test.count=1", "-test.v", "-test.timeout=" + timeout.String()}
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "PARLEY_TEST_DATABASE_URL="+dsn, shotDirEnv+"="+shots)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("browser tests: start unshare: %v", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser tests in the network namespace failed (%v); the child's output is above", err)
	}
	return true
}

// e2e is the world of one browser test run.
type e2e struct {
	t       *testing.T
	base    string
	store   *cases.Store
	w       *casestest.World
	notify  *captureNotifier
	browser context.Context
	shots   string
	app     *app
	names   map[string]string // participant id → name in failure messages

	mu        sync.Mutex
	jsErrors  []string
	shotCount int
	refused   *refusals
}

// refusals records the API requests the server refused with 409 or 422: an action the pages offered that the
// workflow did not allow (a dead end for the person who tapped it).
type refusals struct {
	mu   sync.Mutex
	list []string
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flushing).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (r *refusals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
			h.ServeHTTP(w, req)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, req)
		if rec.status == http.StatusConflict || rec.status == http.StatusUnprocessableEntity {
			r.mu.Lock()
			r.list = append(r.list, fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, rec.status))
			r.mu.Unlock()
		}
	})
}

// checkNoRefusals fails the test for every request the server refused with 409 or 422, except those matching
// expected (the test provokes them on purpose).
func (e *e2e) checkNoRefusals(expected ...*regexp.Regexp) {
	e.refused.mu.Lock()
	defer e.refused.mu.Unlock()
next:
	for _, r := range e.refused.list {
		for _, re := range expected {
			if re.MatchString(r) {
				continue next
			}
		}
		e.t.Errorf("the server refused what a page offered: %s", r)
	}
	e.refused.list = nil
}

// startE2E starts the server (the same wiring as runServe: API and front end) and Chromium.
func startE2E(t *testing.T) *e2e {
	t.Helper()
	store := cases.NewStore(casestest.Pool(t), cases.DefaultCalendar(), nil)
	w := casestest.Populate(t, store)
	cfg, _, err := parseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = "http://" + ln.Addr().String()
	logger := slog.New(slog.DiscardHandler)
	n := &captureNotifier{}
	ctx := context.Background()
	docs, err := newDocSigner(ctx, cfg, store, store.Cal, logger)
	if err != nil {
		t.Fatal(err)
	}
	// Media on loopback only, every port ephemeral, no TURN: the network rule for tests (and the namespace has
	// nothing but lo anyway).
	cfg.MediaUDPPort, cfg.MediaTCPPort, cfg.ICEFilter = 0, -1, "127.0.0.0/8"
	if f := os.Getenv(e2eICEFilterEnv); f != "" {
		cfg.ICEFilter = f // a test that added a veth pair inside its namespace (198.18.0.0/15, e2e_media_test.go)
	}
	rms, err := newRooms(ctx, cfg, store, logger)
	if err != nil {
		t.Fatal(err)
	}
	rms.wsURL = "ws://" + ln.Addr().String() + "/rtc"
	// Recording (issue 14) as runServe wires it, into a directory of the test's own; sessions are recorded only
	// when a test turns it on, and the composed file is made as in production.
	rc := *cfg
	rc.DataDir = t.TempDir()
	recs, err := newRecording(&rc, store, store.Pool(), rms, logger)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, log: logger, store: store, notify: n, limiter: newLimiter(6000, 1000), docs: docs, pages: newPageRenderer(), rooms: rms, started: time.Now(), recs: recs}
	refused := &refusals{}
	srv := &http.Server{Handler: refused.wrap(NewServer(a, map[string]http.Handler{"/": web.Handler(webOptions(cfg, logger))})), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rms.close(cctx)
		recs.close(cctx)
		srv.Close()
	})

	shots := os.Getenv(shotDirEnv)
	if shots == "" {
		shots = "../../out/screenshots"
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // start the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return &e2e{t: t, base: cfg.BaseURL, store: store, w: w, notify: n, browser: bctx, shots: shots, app: a, refused: refused}
}

// tab is one person's browser tab, in a browser context of its own.
type tab struct {
	e    *e2e
	name string
	ctx  context.Context
}

// newTab opens a tab with its own cookies, sized w×h (mobile emulation for phone sizes).
func (e *e2e) newTab(name string, w, h int64) *tab {
	e.t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	e.t.Cleanup(cancel)
	tb := &tab{e: e, name: name, ctx: ctx}
	// The first action opens the tab, which then lives as long as the context it ran with: run it on ctx
	// itself, not on a context with a timeout.
	if err := chromedp.Do(ctx, tb.viewport(w, h)); err != nil {
		e.t.Fatalf("open tab %s: %v", name, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == "error" && !strings.Contains(m.Text, "Failed to load resource")) {
				e.mu.Lock()
				e.jsErrors = append(e.jsErrors, fmt.Sprintf("%s: %s", name, m.String()))
				e.mu.Unlock()
			}
		}
	}()
	return tb
}

func (tb *tab) viewport(w, h int64) chromedp.Action[chromedp.Void] {
	if w < 600 {
		return chromedp.EmulateViewport(w, h, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(w, h)
}

// do runs actions, failing the test on error with the tab's name and address.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.e.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.fail("%v", err)
	}
}

func (tb *tab) fail(format string, args ...any) {
	tb.e.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 1500) : ''`))
	if ctx.Err() == nil {
		tb.shot("failure-" + tb.name)
	}
	tb.e.t.Fatalf("%s at %s: %s\npage text:\n%s", tb.name, loc, msg, body)
}

// open goes to a path of the server and waits for the page to be drawn (the boot spinner gone).
func (tb *tab) open(path string) {
	tb.e.t.Helper()
	tb.do(chromedp.Navigate(tb.e.base + path))
	tb.wait(`document.querySelector('main h1') && !document.querySelector('main .boot')`)
}

// wait polls a JavaScript condition until it holds (10 s).
func (tb *tab) wait(cond string) {
	tb.e.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+cond+`)`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		tb.fail("waiting for %s: %v", cond, err)
	}
}

// js evaluates an expression (awaiting a promise) and decodes its value.
func js[T any](tb *tab, expr string) T {
	tb.e.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// click clicks the first element matching a CSS selector.
func (tb *tab) click(sel string) {
	tb.e.t.Helper()
	tb.wait(fmt.Sprintf(`document.querySelector(%q)`, sel))
	// Bring it to the middle of the screen first, clear of the sticky header, as a person would scroll.
	js[bool](tb, fmt.Sprintf(`(() => { document.querySelector(%q).scrollIntoView({block: 'center'}); return true; })()`, sel))
	tb.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeIn types into a field with real key events.
func (tb *tab) typeIn(sel, text string) {
	tb.e.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// fill sets a field's value as a user's typing would (input and change events), for long or Chinese text.
func (tb *tab) fill(sel, value string) {
	tb.e.t.Helper()
	v, _ := json.Marshal(value)
	ok := js[bool](tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false;
		el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, v))
	if !ok {
		tb.fail("no field %s", sel)
	}
}

func (tb *tab) text(sel string) string {
	tb.e.t.Helper()
	return js[string](tb, fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ''`, sel))
}

// shot saves a full-page screenshot.
func (tb *tab) shot(name string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	// From the top, without passing toasts: a full-page capture of a scrolled page would draw the sticky
	// header and the toasts in the middle.
	_ = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); document.querySelectorAll('.toast').forEach((x) => x.remove())`), chromedp.Sleep(50*time.Millisecond))
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(tb.e.shots, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		tb.e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	tb.e.mu.Lock()
	tb.e.shotCount++
	tb.e.mu.Unlock()
}

// pointAlias names a screenshot already taken after the point of issue 13 it shows (pointNN-what.png beside it),
// so that each of the eleven points has its picture under its number.
func (e *e2e) pointAlias(point, shot string) {
	b, err := os.ReadFile(filepath.Join(e.shots, shot+".png"))
	if err != nil {
		e.t.Logf("screenshot %s for %s: %v", shot, point, err)
		return
	}
	if err := os.WriteFile(filepath.Join(e.shots, point+".png"), b, 0o644); err != nil {
		e.t.Logf("screenshot %s: %v", point, err)
	}
}

// viewShot saves what the screen shows now (a sheet over the page, a room), without scrolling.
func (tb *tab) viewShot(name string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(tb.e.shots, name+".png"), buf, 0o644); err != nil {
		tb.e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	tb.e.mu.Lock()
	tb.e.shotCount++
	tb.e.mu.Unlock()
}

// pointShot scrolls sel to the middle of the screen and saves the screen (issue 13's screenshots per point).
func (tb *tab) pointShot(name, sel string) {
	tb.e.t.Helper()
	tb.wait(fmt.Sprintf(`document.querySelector(%q)`, sel))
	js[bool](tb, fmt.Sprintf(`(() => { document.querySelector(%q).scrollIntoView({block: 'center'}); return true; })()`, sel))
	tb.do(chromedp.Sleep(150 * time.Millisecond))
	tb.viewShot(name)
}

// phoneCheck lists what makes the current page hard to use on a phone: a page wider than the screen, and
// controls smaller than 44×44 px (links inside running text are exempt, as WCAG 2.5.8 allows).
const phoneCheck = `(() => {
	const bad = [];
	const vw = window.innerWidth;
	if (document.documentElement.scrollWidth > vw + 1) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
	// Text that is not meant for people: a null or undefined drawn as text, a dictionary key shown untranslated.
	for (const line of document.querySelector('main').innerText.split(/\n/)) {
		const l = line.trim();
		if (/^(null|undefined|NaN)$|\[object /.test(l) || /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(l)) bad.push('the page shows ' + JSON.stringify(l));
	}
	bad.push(...` + untranslated + `);
	const sel = 'a[href], button, select, textarea, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), summary, label.check';
	for (const el of document.querySelectorAll(sel)) {
		const r = el.getBoundingClientRect();
		if (!r.width || !r.height || el.closest('[hidden]') || el.classList.contains('skip')) continue;
		if (el.tagName === 'A' && !el.classList.contains('btn') && el.closest('p, li, dd, .meta, .small')) continue;
		if (r.right > vw + 1) bad.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' reaches past the screen edge');
		if (r.height < 43.5 || r.width < 43.5) bad.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' "' + (el.innerText || el.name || '').trim().slice(0, 20) + '" is ' + Math.round(r.width) + '×' + Math.round(r.height));
	}
	return bad;
})()`

// untranslated lists what a Chinese page shows people in English or as a raw value of the domain: an error,
// a field's reason, a toast, a trail entry (an English phrase of four words or more, an enum such as
// id_card_on_camera).
const untranslated = `(() => {
	const bad = [];
	if (document.documentElement.lang !== 'zh-CN') return bad;
	for (const el of document.querySelectorAll('.alert, .field-error, .form-alert, .toast, .timeline .what, .timeline .detail, dialog.sheet')) {
		const tx = el.innerText || '';
		if (/[A-Za-z]{2,}(?:[ ,]+[A-Za-z']{2,}){3,}/.test(tx)) bad.push('untranslated text ' + JSON.stringify(tx.slice(0, 120)));
		if (/(^|[^A-Za-z0-9_])[a-z]+_[a-z0-9_]+($|[^A-Za-z0-9_])/.test(tx)) bad.push('a raw value shown ' + JSON.stringify(tx.slice(0, 120)));
	}
	return bad;
})()`

// checkTranslated fails the test on any error, reason, toast or trail entry the page shows untranslated.
func (tb *tab) checkTranslated(where string) {
	tb.e.t.Helper()
	for _, problem := range js[[]string](tb, untranslated) {
		tb.e.t.Errorf("%s: %s", where, problem)
	}
}

// phoneShots screenshots the current page at 360×640 and 390×844, checking that it fits the screen and that
// its controls are big enough to touch, then restores the tab's size.
func (tb *tab) phoneShots(name string, restoreW, restoreH int64) {
	tb.e.t.Helper()
	for _, sz := range [][2]int64{{360, 640}, {390, 844}} {
		tb.do(tb.viewport(sz[0], sz[1]), chromedp.Sleep(350*time.Millisecond))
		tb.shot(fmt.Sprintf("%s-%dx%d", name, sz[0], sz[1]))
		for _, problem := range js[[]string](tb, phoneCheck) {
			tb.e.t.Errorf("%s at %d×%d: %s", name, sz[0], sz[1], problem)
		}
	}
	tb.do(tb.viewport(restoreW, restoreH), chromedp.Sleep(100*time.Millisecond))
}

// login logs a staff member in through the login page.
func (tb *tab) login(p cases.Principal) {
	tb.e.t.Helper()
	acc, err := tb.e.store.Account(context.Background(), p.ID)
	if err != nil {
		tb.e.t.Fatal(err)
	}
	tb.open("/login")
	tb.typeIn(`input[name=username]`, acc.Username)
	tb.typeIn(`input[name=password]`, tb.e.w.Password)
	tb.click(`form button[type=submit]`)
	tb.wait(`location.pathname !== '/login' && document.querySelector('.top .who')`)
}

// action takes a workflow action from the case page's panel: it opens the action, fills its fields (by name),
// submits, and waits until the page has been drawn again from the server's answer.
func (tb *tab) action(name string, fields map[string]string) {
	tb.e.t.Helper()
	panel := `#action-` + name
	if !js[bool](tb, fmt.Sprintf(`!!document.querySelector(%q)`, panel+`[open]`)) {
		tb.click(panel + ` summary`)
	}
	for field, v := range fields {
		tb.fill(fmt.Sprintf(`%s [name=%q]`, panel, field), v)
	}
	js[bool](tb, `(document.querySelector('.page-head').dataset.stale = '1') === '1'`)
	tb.click(panel + ` button[type=submit]`)
	switch name {
	case "end", "end_agreement", "confirm", "reject_confirmation":
		tb.confirmSheet()
	}
	tb.wait(`document.querySelector('.page-head') && !document.querySelector('.page-head').dataset.stale`)
}

// scheduleSession starts a session now from the case page (as the mediator does) and returns its id once
// the case page shows it live with its room link.
func (tb *tab) scheduleSession(caseID, title string) string {
	tb.e.t.Helper()
	tb.open("/cases/" + caseID)
	tb.click(`#schedule summary`)
	tb.fill(`#schedule [name=title]`, title)
	tb.click(`#schedule [name=start]`)
	tb.click(`#schedule button[type=submit]`)
	tb.wait(`document.querySelector('li[data-session] .chip.live') && document.querySelector('li[data-session] a[href^="/rooms/"]')`)
	return js[string](tb, `document.querySelector('li[data-session]').dataset.session`)
}

// confirmSheet answers the confirmation sheet of an irreversible act (it must state the consequence) with its
// confirm button.
func (tb *tab) confirmSheet() {
	tb.e.t.Helper()
	tb.wait(`document.querySelector('dialog.sheet[open] #sheet-ok')`)
	if txt := tb.text(`dialog.sheet[open] .sheet-consequence`); len([]rune(txt)) < 10 {
		tb.fail("the confirmation sheet states no consequence: %q", txt)
	}
	tb.click(`dialog.sheet[open] #sheet-ok`)
	tb.wait(`!document.querySelector('dialog.sheet')`)
}

// enter goes through an invitation link quickly (consenting), as the party with that phone.
func (tb *tab) enter(link, phone string) {
	tb.e.t.Helper()
	tb.open(strings.TrimPrefix(link, tb.e.base))
	tb.click(`#join-continue`)
	// The consent question comes only while the case still asks it (a signing or settled case: straight to the code).
	tb.wait(`document.querySelector('#consent-yes') || document.querySelector('#send-code')`)
	if js[bool](tb, `!!document.querySelector('#consent-yes')`) {
		tb.click(`#consent-yes`)
	}
	tb.click(`#send-code`)
	tb.wait(`!document.querySelector('#code-form').hidden`)
	tb.typeIn(`#code-form input[name=code]`, tb.e.notify.lastCode(tb.e.t, phone))
	tb.click(`#code-form button[type=submit]`)
	tb.wait(`location.pathname === '/party' && document.querySelector('.page-head .chip')`)
}

// checkNoJSErrors fails the test for every uncaught exception or console error the pages reported.
func (e *e2e) checkNoJSErrors() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.jsErrors {
		e.t.Errorf("page error: %s", m)
	}
	e.jsErrors = nil
}

// axePath is axe-core, installed test-only by scripts/lib.sh (cmd/parley/testdata/axe, pinned by its lock file).
const axePath = "testdata/axe/node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile(axePath) })

// checkAxe runs axe-core on the page as it is (WCAG 2.1 A and AA rules) and fails the test on any serious or
// critical violation, naming the rule and the elements. axe is evaluated through DevTools, which the page's
// Content-Security-Policy does not govern: nothing is added to the page or served by Parley.
func (tb *tab) checkAxe(where string) {
	tb.e.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.e.t.Fatalf("axe-core is missing (%v): run scripts/test.sh (or: cd cmd/parley/testdata/axe && npm ci)", err)
	}
	if !js[bool](tb, `typeof window.axe === 'object'`) {
		js[bool](tb, string(src)+";\ntrue")
	}
	out := js[string](tb, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
		.then((r) => JSON.stringify({passes: r.passes.length, violations: r.violations.map((v) => ({impact: v.impact, text: v.impact + ' ' + v.id + ' (' + v.help + '): ' +
			v.nodes.slice(0, 6).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' ')).join(' | ')}))}))`)
	var res struct {
		Passes     int
		Violations []struct{ Impact, Text string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		tb.e.t.Fatalf("axe on %s: %v (%s)", where, err, out)
	}
	var minor []string
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.e.t.Errorf("accessibility (axe-core) of %s: %s", where, v.Text)
		} else {
			minor = append(minor, v.Text)
		}
	}
	tb.e.t.Logf("axe-core: %s: %d rules pass; %d violations, %d of them minor or moderate %q", where, res.Passes, len(res.Violations), len(minor), minor)
}

// focusStop is where one press of Tab put the focus.
type focusStop struct {
	End                  bool
	What                 string
	Top, Left, W, H      float64
	InMain, Ring, Hidden bool
}

// checkFocusOrder walks the page with the Tab key from the top, as a keyboard user would: the first stop is
// the skip link, every stop is visible and shows a focus ring, and in the page's main content the focus
// moves down each column, never back up it (the reading order). It stops after max presses or when focus leaves
// the page.
func (tb *tab) checkFocusOrder(where string, max int) {
	tb.e.t.Helper()
	// Start from the top of the document: a focused, untabbable marker before everything (blur alone leaves
	// Chromium's starting point where the focus was).
	js[bool](tb, `(() => { const m = document.createElement('span'); m.id = 'focus-start'; m.tabIndex = -1;
		document.body.prepend(m); m.focus(); window.scrollTo(0, 0); return true; })()`)
	defer js[bool](tb, `(() => { const m = document.getElementById('focus-start'); if (m) m.remove(); return true; })()`)
	const probe = `(() => {
		const el = document.activeElement;
		if (!el || el === document.body || el === document.documentElement) return {End: true};
		const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
		const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none'
			|| !!(el.matches('.file-input') && el.nextElementSibling && getComputedStyle(el.nextElementSibling).outlineStyle !== 'none');
		return {What: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.innerText || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 24) + '"',
			Top: r.top + scrollY, Left: r.left, W: r.width, H: r.height, InMain: !!el.closest('main'), Ring: ring, Hidden: !!el.closest('[hidden]')};
	})()`
	var prev *focusStop
	stops := 0
	defer func() { tb.e.t.Logf("keyboard: %s: %d Tab stops checked", where, stops) }()
	for i := 0; i < max; i++ {
		tb.do(chromedp.KeyEvent("\t"))
		s := js[focusStop](tb, probe)
		if s.End {
			break
		}
		switch {
		case i == 0 && !strings.HasPrefix(s.What, "a#skip"):
			tb.e.t.Errorf("keyboard on %s: the first Tab goes to %s, want the skip link", where, s.What)
		case s.Hidden || (s.W == 0 && s.H == 0):
			tb.e.t.Errorf("keyboard on %s: Tab %d focuses %s, which is not shown", where, i+1, s.What)
		case !s.Ring:
			tb.e.t.Errorf("keyboard on %s: Tab %d focuses %s without a visible focus ring", where, i+1, s.What)
		}
		// Back up the same column (a second column may start higher: that is its reading order).
		sameColumn := prev != nil && s.Left < prev.Left+prev.W && prev.Left < s.Left+s.W
		if sameColumn && prev.InMain && s.InMain && s.Top+s.H/2 < prev.Top-4 {
			tb.e.t.Errorf("keyboard on %s: Tab %d goes back up the page, from %s to %s", where, i+1, prev.What, s.What)
		}
		prev = &s
		stops++
	}
}
