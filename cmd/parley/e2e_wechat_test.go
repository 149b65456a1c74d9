package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// wechatUA is the user agent of WeChat's built-in browser on an Android phone.
const wechatUA = "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"

// popupHook counts, in every document, the calls of window.open (which WeChat's browser does not open) and keeps
// the count in sessionStorage across page loads.
const popupHook = `(() => {
	window.open = function () {
		sessionStorage.setItem('test.popups', String(Number(sessionStorage.getItem('test.popups') || 0) + 1));
		return null;
	};
})()`

// initScript runs src at the start of every document the tab loads from now on.
func (tb *tab) initScript(src string) {
	tb.e.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var res struct{ Identifier string }
		return t.Call(ctx, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": src}, &res)
	}))
}

// userAgent makes the tab say it is another browser.
func (tb *tab) userAgent(ua string) {
	tb.e.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return t.Call(ctx, "Emulation.setUserAgentOverride", map[string]any{"userAgent": ua, "acceptLanguage": "zh-CN"}, nil)
	}))
}

// checkInPlace fails the test when the page opened a popup or holds a link or form that opens elsewhere (a new
// tab or window), or a download link, which WeChat's browser does not follow.
func (tb *tab) checkInPlace(where string) {
	tb.e.t.Helper()
	got := js[string](tb, `(() => {
		const bad = [];
		const popups = Number(sessionStorage.getItem('test.popups') || 0);
		if (popups) bad.push(popups + ' window.open');
		for (const el of document.querySelectorAll('a[target], form[target], area[target]')) if (el.target !== '_self') bad.push(el.tagName.toLowerCase() + ' target=' + el.target + ' ' + (el.getAttribute('href') || el.getAttribute('action') || ''));
		for (const a of document.querySelectorAll('a[download]')) bad.push('a download ' + a.getAttribute('href'));
		return bad.join('; ');
	})()`)
	if got != "" {
		tb.e.t.Errorf("WeChat, %s: %s", where, got)
	}
}

// TestBrowserWeChat takes the invitation path in WeChat's built-in browser (its Android user agent, 360×640):
// nothing opens a popup or a new tab and nothing is a download on any page of the way, the documents' PDFs open
// in place, the flow reaches the device check, and where the browser has no WebRTC (RTCPeerConnection removed
// before the page's scripts run) the device check and the room say, translated, how to open the page in the
// phone's own browser.
func TestBrowserWeChat(t *testing.T) {
	e := browserE2E(t, "TestBrowserWeChat")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	applicant := c.Parties[0]
	_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, applicant.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.store.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.docs.CreateAgreement(ctx, w.Mediator, c, agreementRequest{Terms: []cases.Term{{Kind: cases.TermCessation, Text: "被申请人停止销售涉案产品。"}}}); err != nil {
		t.Fatal(err)
	}

	party := e.newTab("wechat", 360, 640)
	party.userAgent(wechatUA)
	party.initScript(popupHook)
	party.open("/join/" + string(tok))
	if !party.js(`/MicroMessenger/.test(navigator.userAgent) && String(window.open).includes('test.popups')`) {
		t.Fatal("the tab does not say it is WeChat's browser, or window.open is not hooked")
	}
	party.checkInPlace("the invitation")
	party.click(`#join-continue`)
	party.checkInPlace("who it is for")
	party.click(`#consent-yes`)
	party.checkInPlace("the consent")
	party.click(`#send-code`)
	party.wait(`!document.querySelector('#code-form').hidden`)
	party.typeIn(`#code-form input[name=code]`, e.notify.lastCode(t, applicant.Phone))
	party.click(`#code-form button[type=submit]`)
	party.wait(`location.pathname === '/party' && document.querySelector('#document-list li[data-kind=agreement] a[href*="/pdf"]')`)
	party.checkInPlace("the case page")
	// The agreement's PDF opens in place: shown, not saved.
	href := js[string](party, `document.querySelector('#document-list li[data-kind=agreement] a[href*="/pdf"]').getAttribute('href')`)
	if !strings.HasSuffix(href, "?inline=1") {
		t.Errorf("in WeChat the PDF link is %q, want it shown in place (?inline=1)", href)
	}
	disp := js[string](party, fmt.Sprintf(`fetch(%q, {credentials: 'same-origin'}).then((r) => r.status + ' ' + r.headers.get('Content-Disposition'))`, href))
	if !strings.HasPrefix(disp, fmt.Sprint(http.StatusOK)+" inline;") {
		t.Errorf("GET %s: %s, want 200 and an inline PDF", href, disp)
	}
	// A WeChat browser that can call goes on as any other: the device check's checks.
	party.click(`li.caseitem a[href^="/device"]`)
	party.wait(`location.pathname === '/device' && document.querySelector('#start-media')`)
	if party.js(`!!document.querySelector('#wechat-guide')`) {
		t.Error("WeChat's browser with WebRTC is told to open another browser")
	}
	party.checkInPlace("the device check")
	party.click(`#device-enter`)
	party.wait(`document.querySelector('#join-room')`)
	party.checkInPlace("the pre-join screen")

	// Without WebRTC (older WeChat builds, some phones): the guidance instead of the checks, in both languages.
	party.initScript(`delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`)
	party.open("/device?session=" + s.ID)
	party.wait(`document.querySelector('#wechat-guide')`)
	if txt := party.text(`#wechat-guide`); !strings.Contains(txt, "请点击右上角「…」，选择「在浏览器打开」") {
		t.Errorf("the guidance reads %q", txt)
	}
	if party.js(`!!document.querySelector('#start-media')`) || !party.js(`!!document.querySelector('#device-back')`) {
		t.Error("without WebRTC the device check still offers its checks, or no way back")
	}
	party.checkTranslated("the WeChat guidance")
	party.checkAxe("the WeChat guidance")
	party.checkInPlace("the WeChat guidance")
	party.shot("wechat-guide-360x640")
	party.click(`.lang-btn`)
	party.wait(`document.documentElement.lang === 'en' && document.querySelector('#wechat-guide')`)
	if txt := party.text(`#wechat-guide`); !strings.Contains(txt, `choose "Open in browser"`) || strings.ContainsAny(txt, "请点") {
		t.Errorf("the English guidance reads %q", txt)
	}
	party.shot("wechat-guide-en-360x640")
	// The room says the same (in the language chosen) instead of a pre-join screen that cannot join.
	party.open("/rooms/" + s.ID)
	party.wait(`document.querySelector('#wechat-guide') && document.querySelector('#room-back')`)
	if party.js(`!!document.querySelector('#join-room')`) || !strings.Contains(party.text(`#wechat-guide`), "Open in browser") {
		t.Errorf("without WebRTC the room offers to join, or its guidance reads %q", party.text(`#wechat-guide`))
	}
	party.checkInPlace("the room without WebRTC")

	e.checkNoRefusals()
	e.checkNoJSErrors()
}
