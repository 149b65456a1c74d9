package main

// Browser engines other than Chromium (issue 10 §5): Debian's firefox-esr, driven by puppeteer-core over
// WebDriver BiDi (testdata/ff, installed by scripts/lib.sh with npm ci and no browser download), takes part in a
// session with Chromium participants.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases/casestest"
)

const firefoxEnv = "PARLEY_FIREFOX" // the Firefox to drive (default /usr/bin/firefox-esr)

func firefoxPath() string {
	if p := os.Getenv(firefoxEnv); p != "" {
		return p
	}
	return "/usr/bin/firefox-esr"
}

// ffTab is one page in a Firefox driven through testdata/ff/drive.mjs: JSON commands on its stdin, answers on
// its stdout.
type ffTab struct {
	e    *e2e
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	mu   sync.Mutex
	next int
	ver  string
}

// newFirefox starts Firefox (headless, fake camera and microphone) with one page of w×h CSS pixels.
func (e *e2e) newFirefox(name string, w, h int) *ffTab {
	e.t.Helper()
	dir, _ := filepath.Abs("testdata/ff")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		e.t.Fatalf("firefox: %s/node_modules is missing: run scripts/test.sh (or: cd %s && PUPPETEER_SKIP_DOWNLOAD=1 npm ci)", dir, dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "drive.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), firefoxEnv+"="+firefoxPath(), fmt.Sprintf("PARLEY_FF_WIDTH=%d", w), fmt.Sprintf("PARLEY_FF_HEIGHT=%d", h),
		"PUPPETEER_SKIP_DOWNLOAD=1", "HOME="+e.t.TempDir())
	in, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("firefox: start node: %v", err)
	}
	f := &ffTab{e: e, name: name, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	f.out.Buffer(make([]byte, 1<<20), 4<<20)
	e.t.Cleanup(func() {
		_ = in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	ready := make(chan error, 1)
	go func() {
		if !f.out.Scan() {
			ready <- fmt.Errorf("no output (stderr: %s)", stderr.String())
			return
		}
		var r struct {
			Ready   bool   `json:"ready"`
			Version string `json:"version"`
		}
		if err := json.Unmarshal(f.out.Bytes(), &r); err != nil || !r.Ready {
			ready <- fmt.Errorf("unexpected first line %q (stderr: %s)", f.out.Text(), stderr.String())
			return
		}
		f.ver = r.Version
		ready <- nil
	}()
	select {
	case err := <-ready:
		if err != nil {
			e.t.Fatalf("firefox: %v", err)
		}
	case <-time.After(150 * time.Second):
		e.t.Fatalf("firefox: not ready after 150 s (stderr: %s)", stderr.String())
	}
	return f
}

// call sends one command and returns its value.
func (f *ffTab) call(op map[string]any) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	op["id"] = f.next
	b, _ := json.Marshal(op)
	if _, err := f.in.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	type answer struct {
		ID    int             `json:"id"`
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	got := make(chan answer, 1)
	go func() {
		for f.out.Scan() {
			var a answer
			if json.Unmarshal(f.out.Bytes(), &a) == nil && a.ID == f.next {
				got <- a
				return
			}
		}
		got <- answer{Error: "driver exited"}
	}()
	select {
	case a := <-got:
		if !a.OK {
			return nil, fmt.Errorf("%s", a.Error)
		}
		return a.Value, nil
	case <-time.After(40 * time.Second):
		return nil, fmt.Errorf("no answer to %s within 40 s", b)
	}
}

func (f *ffTab) fail(format string, args ...any) {
	f.e.t.Helper()
	body, _ := f.call(map[string]any{"op": "eval", "expr": `document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 1500) : ''`})
	_, _ = f.call(map[string]any{"op": "shot", "path": filepath.Join(f.e.shots, "failure-"+f.name+".png")})
	f.e.t.Fatalf("%s (firefox): %s\npage text:\n%s", f.name, fmt.Sprintf(format, args...), body)
}

func ffJS[T any](f *ffTab, expr string) T {
	f.e.t.Helper()
	raw, err := f.call(map[string]any{"op": "eval", "expr": expr})
	if err != nil {
		f.fail("evaluate %s: %v", expr, err)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		f.fail("evaluate %s: decode %s: %v", expr, raw, err)
	}
	return v
}

func (f *ffTab) open(url string) {
	f.e.t.Helper()
	if _, err := f.call(map[string]any{"op": "goto", "url": url}); err != nil {
		f.fail("open %s: %v", url, err)
	}
	f.wait(`document.querySelector('main h1') && !document.querySelector('main .boot')`)
}

// wait polls a condition (20 s).
func (f *ffTab) wait(cond string) {
	f.e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ffJS[bool](f, `!!(`+cond+`)`) {
		if time.Now().After(deadline) {
			f.fail("waiting for %s", cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// press clicks an element with a DOM click once it exists and is enabled.
func (f *ffTab) press(sel string) {
	f.e.t.Helper()
	f.wait(fmt.Sprintf(`document.querySelector(%q) && !document.querySelector(%q).disabled`, sel, sel))
	ffJS[bool](f, fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))
}

func (f *ffTab) fill(sel, value string) {
	f.e.t.Helper()
	v, _ := json.Marshal(value)
	if !ffJS[bool](f, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false;
		el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, v)) {
		f.fail("no field %s", sel)
	}
}

func (f *ffTab) shot(name string) {
	if _, err := f.call(map[string]any{"op": "shot", "path": filepath.Join(f.e.shots, name+".png")}); err != nil {
		f.e.t.Logf("firefox screenshot %s: %v", name, err)
	}
}

// enter opens a party's invitation link and signs in with the SMS code, as tab.enter does.
func (f *ffTab) enter(link, phone string) {
	f.e.t.Helper()
	f.open(link)
	f.press(`#join-continue`)
	f.wait(`document.querySelector('#consent-yes') || document.querySelector('#send-code')`)
	if ffJS[bool](f, `!!document.querySelector('#consent-yes')`) {
		f.press(`#consent-yes`)
	}
	f.press(`#send-code`)
	f.wait(`!document.querySelector('#code-form').hidden`)
	f.fill(`#code-form input[name=code]`, f.e.notify.lastCode(f.e.t, phone))
	f.press(`#code-form button[type=submit]`)
	f.wait(`location.pathname === '/party' && document.querySelector('.page-head .chip')`)
}

func (f *ffTab) media() map[string]remoteMedia { return ffJS[map[string]remoteMedia](f, mediaJS) }

// expectFlows waits (20 s) until media() shows video and audio growing from everyone in on (and a picture in
// their tile) and nothing at all from anyone in off.
func expectFlows(t *testing.T, who, what string, media func() map[string]remoteMedia, names map[string]string, on, off []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := media()
		time.Sleep(1200 * time.Millisecond)
		b := media()
		var bad []string
		for _, id := range on {
			x, y := a[id], b[id]
			if !(y.Frames > x.Frames && y.VideoBytes > x.VideoBytes && y.AudioBytes > x.AudioBytes && y.Width > 0) {
				bad = append(bad, fmt.Sprintf("%s should flow: %+v → %+v", names[id], x, y))
			}
		}
		for _, id := range off {
			x, y := a[id], b[id]
			if y.VideoBytes != x.VideoBytes || y.AudioBytes != x.AudioBytes {
				bad = append(bad, fmt.Sprintf("%s should be cut off: %+v → %+v", names[id], x, y))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s, %s: %s", who, what, strings.Join(bad, "; "))
		}
	}
}

// vethPair adds, inside the test's own network namespace, a veth pair with addresses from 198.18.0.0/15 and a
// default route over it.
func vethPair(t *testing.T) {
	t.Helper()
	if os.Getenv(netnsEnv) != "1" {
		t.Fatal("vethPair outside the test's network namespace")
	}
	for _, args := range [][]string{
		{"link", "add", "pv0", "type", "veth", "peer", "name", "pv1"},
		{"addr", "add", "198.18.0.1/30", "dev", "pv0"},
		{"addr", "add", "198.18.0.2/30", "dev", "pv1"},
		{"link", "set", "pv0", "up"},
		{"link", "set", "pv1", "up"},
		{"route", "add", "default", "via", "198.18.0.2", "dev", "pv0"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// lobbyVideo waits (30 s) until the mediator's lobby panel shows the waiting person's live camera.
func lobbyVideo(med *tab, id string) {
	med.e.t.Helper()
	cond := fmt.Sprintf(`(() => { const v = document.querySelector('video[data-lobby-video=%q]'); return !!v && v.videoWidth > 0; })()`, id)
	deadline := time.Now().Add(30 * time.Second)
	for !js[bool](med, cond) {
		if time.Now().After(deadline) {
			st := js[string](med, fmt.Sprintf(`JSON.stringify({remote: [...window.__parley.session.remote.keys()], tracks: [...window.__parley.session.tracks.values()].filter((x) => x.participant_id === %q)})`, id))
			med.fail("no lobby preview of %s after 30 s: %s", med.e.names[id], st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserFirefox: a party on Firefox (firefox-esr, 390×844) joins a session with a mediator and the other
// party on Chromium: it shows its camera to the mediator only while waiting (lobby preview), is admitted,
// sends and receives audio and video, and takes part in a caucus (cut off from the other side, then back).
func TestBrowserFirefox(t *testing.T) {
	if testing.Short() {
		t.Skip("slow browser test (Firefox and Chromium): skipped under -short")
	}
	if _, err := os.Stat(firefoxPath()); err != nil {
		t.Fatalf("firefox: %s is missing (scripts/lib.sh installs firefox-esr; %s names another): %v", firefoxPath(), firefoxEnv, err)
	}
	if chromiumPath() == "" {
		t.Skip("browser tests: Chromium is not installed")
	}
	if inNamespace(t, "TestBrowserFirefox") {
		return
	}
	// Firefox gathers no ICE candidate on loopback, nor on any address without a default route: give the
	// namespace a veth pair of its own (198.18.0.1 ↔ 198.18.0.2, both ends here) and a default route into it.
	// Nothing can leave: the namespace has no other interface.
	vethPair(t)
	t.Setenv(e2eICEFilterEnv, "127.0.0.0/8,198.18.0.0/15")
	e := startE2E(t)
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	applicant, respondent := c.Parties[0], c.Parties[1]
	link := func(partyID string) string {
		_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, partyID, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return e.base + "/join/" + string(tok)
	}
	e.names = map[string]string{w.Mediator.ID: "mediator (Chromium)", applicant.ID: "applicant (Chromium)", respondent.ID: "respondent (Firefox)"}

	// The mediator (Chromium) starts the session. Every browser is in data-saver mode (one 320×240 layer), as
	// in TestBrowserRoom: three browsers encoding on a shared test machine.
	med := e.newTab("mediator", 1280, 800)
	med.login(w.Mediator)
	med.debug()
	sessionID := med.scheduleSession(c.ID, "火狐浏览器调解")
	med.click(`li[data-session] a[href^="/rooms/"]`)
	med.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	med.click(`#join-room`)
	med.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room .tile.self.video-on')`)

	// The applicant on Chromium (a phone), admitted with an ID card check.
	partyA := e.newTab("applicant", 390, 844)
	partyA.enter(link(applicant.ID), applicant.Phone)
	partyA.debug()
	partyA.click(`a.btn[href="/rooms/` + sessionID + `"]`)
	partyA.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled`)
	partyA.click(`#join-room`)
	partyA.wait(`window.__parley.session.status === 'lobby'`)
	med.wait(`document.querySelector('#lobby-banner')`)
	med.press(`#open-people`)
	med.wait(`document.querySelector('#lobby-list')`)
	form := fmt.Sprintf(`form.admit-form[data-participant=%q]`, applicant.ID)
	// The lobby preview: the mediator sees the waiting applicant's camera, with the ID card prompt.
	lobbyVideo(med, applicant.ID)
	med.fill(form+` select[name=method]`, "id_card_on_camera")
	med.press(form + ` button[type=submit]`)
	partyA.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room')`)

	// The respondent on Firefox waits in the lobby: the mediator sees their camera, the applicant gets nothing.
	ff := e.newFirefox("respondent", 390, 844)
	t.Logf("Firefox: %s", ff.ver)
	ff.enter(link(respondent.ID), respondent.Phone)
	// Data-saver mode on the Firefox phone (one 320×240 layer), as the Chromium phones of TestBrowserRoom: two
	// browsers encoding on a shared test machine.
	ffJS[bool](ff, `(localStorage.setItem('parley.debug', '1'), localStorage.setItem('parley.datasaver', '1'), true)`)
	ff.press(`a.btn[href="/rooms/` + sessionID + `"]`)
	ff.wait(`document.querySelector('#join-room') && !document.querySelector('#join-room').disabled && document.querySelector('#prejoin-preview').videoWidth > 0`)
	ff.press(`#join-room`)
	ff.wait(`window.__parley.session.status === 'lobby' && document.querySelector('#lobby-preview-note')`)
	ff.shot("room-firefox-lobby")
	form = fmt.Sprintf(`form.admit-form[data-participant=%q]`, respondent.ID)
	med.wait(`document.querySelector('` + form + `')`)
	lobbyVideo(med, respondent.ID)
	med.shot("room-mediator-lobby-preview-1280x800")
	if got := js[string](med, `document.querySelector('`+form+` select[name=method]').value`); got != "id_card_on_camera" {
		t.Errorf("the identity-check method offered for the second person: %q, want the session's last, id_card_on_camera", got)
	}
	expectFlows(t, "applicant", "while the respondent waits with a preview", partyA.media, e.names, []string{w.Mediator.ID}, []string{respondent.ID})
	if js[bool](partyA, fmt.Sprintf(`window.__parley.session.remote.has(%q) || [...window.__parley.session.tracks.values()].some((tr) => tr.participant_id === %q)`, respondent.ID, respondent.ID)) {
		t.Error("the admitted applicant was given the waiting respondent's tracks")
	}
	med.press(form + ` button[type=submit]`)
	ff.wait(`window.__parley.session.status === 'joined' && document.querySelector('.room')`)

	// Everyone receives everyone, Firefox included, both ways.
	time.Sleep(4 * time.Second)
	t.Logf("firefox state: %s", ffJS[string](ff, `(async () => { const s = window.__parley.session; const out = {paused: [...s.paused], tracks: [...s.tracks.values()], remote: [...s.remote.entries()].map(([k, v]) => k + ':' + !!v.video + '/' + !!v.audio), inbound: []}; (await s.sub.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') out.inbound.push(r.kind + ' ' + r.mid + ' ' + r.bytesReceived + ' ' + r.framesDecoded + ' ' + (r.decoderImplementation || '')); }); return JSON.stringify(out); })()`))
	t.Logf("applicant inbound: %+v", partyA.media())
	expectFlows(t, "respondent (Firefox)", "joint room", ff.media, e.names, []string{w.Mediator.ID, applicant.ID}, nil)
	expectFlows(t, "mediator", "joint room", med.media, e.names, []string{applicant.ID, respondent.ID}, nil)
	expectFlows(t, "applicant", "joint room", partyA.media, e.names, []string{w.Mediator.ID, respondent.ID}, nil)
	ff.shot("room-firefox-joint-390x844")
	for _, who := range []struct {
		name, id string
	}{{"mediator (Chromium, 1280×800)", w.Mediator.ID}, {"applicant (Chromium, 390×844)", applicant.ID}, {"respondent (Firefox, 390×844)", respondent.ID}} {
		info := js[map[string]any](med, fmt.Sprintf(`(() => { const tr = [...window.__parley.session.tracks.values()].find((x) => x.participant_id === %q && x.kind === 'video'); return tr || {}; })()`, who.id))
		t.Logf("%s publishes video %v, simulcast %v", who.name, info["codec"], info["simulcast"])
	}

	// A caucus with the respondent's side: Firefox hears only the mediator, the applicant nobody.
	med.press(`[data-caucus-open=respondent]`)
	ff.wait(`document.querySelector('#caucus-in')`)
	partyA.wait(`document.querySelector('#caucus-away')`)
	time.Sleep(500 * time.Millisecond)
	expectFlows(t, "respondent (Firefox)", "in the caucus", ff.media, e.names, []string{w.Mediator.ID}, []string{applicant.ID})
	expectFlows(t, "applicant", "outside the caucus", partyA.media, e.names, nil, []string{w.Mediator.ID, respondent.ID})
	ff.press(`#open-chat`)
	ff.fill(`.chat-form textarea`, "我方同意在三十日内付款。")
	ff.press(`#chat-send`)
	med.wait(`window.__parley.session.chat.some((m) => m.text === '我方同意在三十日内付款。' && m.scope !== 'joint')`)
	if js[bool](partyA, `window.__parley.session.chat.some((m) => m.text === '我方同意在三十日内付款。')`) {
		t.Error("the caucus chat from Firefox reached the other side")
	}
	ff.press(`#close-panel`)
	ff.shot("room-firefox-caucus-390x844")
	med.press(`[data-caucus-close^="caucus"]`)
	ff.wait(`!document.querySelector('#caucus-in')`)
	expectFlows(t, "respondent (Firefox)", "after the caucus", ff.media, e.names, []string{w.Mediator.ID, applicant.ID}, nil)
	expectFlows(t, "applicant", "after the caucus", partyA.media, e.names, []string{w.Mediator.ID, respondent.ID}, nil)

	ffErrs := ffJS[[]string](ff, `[]`)
	if raw, err := ff.call(map[string]any{"op": "errors"}); err == nil {
		_ = json.Unmarshal(raw, &ffErrs)
	}
	for _, m := range ffErrs {
		if !slices.ContainsFunc([]string{"favicon"}, func(s string) bool { return strings.Contains(m, s) }) {
			t.Errorf("firefox page error: %s", m)
		}
	}
	e.checkNoJSErrors()
}
