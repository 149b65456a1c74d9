package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/signing"
)

// setFile chooses the file at path in the file input sel, as a person picking it would, until check (a
// JavaScript condition: the page shows the chosen name) holds: a part of the page drawn again between finding
// the input and setting it loses the choice, so it is made again.
func (tb *tab) setFile(sel, path, check string) {
	tb.e.t.Helper()
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{path}), chromedp.Sleep(50*time.Millisecond))
		cancel()
		if err == nil && js[bool](tb, `!!(`+check+`)`) {
			return
		}
		if i == 30 {
			tb.fail("choose %s in %s: %v", path, sel, err)
		}
		tb.do(chromedp.Sleep(150 * time.Millisecond))
	}
}

// TestBrowserMaterials (issue 12 §1, §2): the applicant, on a phone (390×844), uploads two PDFs from its case
// page — evidence shared with everyone and a note for the mediators only — and sees both listed; the mediator's
// case page lists both; the respondent's page lists the shared one and never the other. The applicant then
// chooses service on its page (in-app), is served a session notice, and opens its service certificate (送达证明)
// from the page: a PDF the platform signed.
func TestBrowserMaterials(t *testing.T) {
	e := browserE2E(t, "TestBrowserMaterials")
	if e == nil {
		return
	}
	ctx := context.Background()
	w := e.w
	c := casestest.InMediation(t, e.store, w)
	link := func(i int) string {
		_, tok, err := e.store.CreateInvitation(ctx, w.Clerk, c.ID, c.Parties[i].ID, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return e.base + "/join/" + string(tok)
	}
	dir := t.TempDir()
	file := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, testPDF(n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shared, private := file("专利侵权比对表.pdf", 20000), file("调解底线说明.pdf", 3000)
	listed := func(name string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('#material-list li[data-material] a')].some((a) => a.textContent === %q)`, name)
	}

	app := e.newTab("applicant", 390, 844)
	app.enter(link(0), c.Parties[0].Phone)
	app.wait(`document.querySelector('#material-list .muted, #material-list ul')`)
	upload := func(path, visibility string) {
		t.Helper()
		if !js[bool](app, `!!document.querySelector('#material-upload[open]')`) {
			app.click(`#material-upload summary`)
		}
		app.setFile(`#material-form input[type=file]`, path, fmt.Sprintf(`document.querySelector('#material-form .file-chosen').textContent === %q`, filepath.Base(path)))
		app.fill(`#material-form [name=visibility]`, visibility)
		app.fill(`#material-form [name=description]`, "由申请人提交")
		if visibility == "shared" {
			app.pointShot("materials-party-form-390x844", `#material-form`)
		}
		app.click(`#material-form button[type=submit]`)
		app.wait(listed(filepath.Base(path)))
	}
	upload(shared, "shared")
	upload(private, "mediators")
	app.wait(`document.querySelector('#material-list li[data-visibility="mediators"] .chip.vis-mediators')`)
	app.pointShot("materials-party-upload-390x844", `#material-list`)
	for _, problem := range js[[]string](app, phoneCheck) {
		t.Errorf("the party's page at 390×844: %s", problem)
	}

	med := e.newTab("mediator", 1280, 800)
	med.login(w.Mediator)
	med.open("/cases/" + c.ID)
	med.wait(listed("专利侵权比对表.pdf") + ` && ` + listed("调解底线说明.pdf"))
	// The download link serves the bytes the party sent.
	if got := js[int](med, `fetch(document.querySelector('#material-list li[data-visibility="shared"] a').href).then((r) => r.ok ? r.arrayBuffer().then((b) => b.byteLength) : -r.status)`); got != len(testPDF(20000)) {
		t.Errorf("the mediator downloads %d bytes, want %d", got, len(testPDF(20000)))
	}

	res := e.newTab("respondent", 390, 844)
	res.enter(link(1), c.Parties[1].Phone)
	res.wait(listed("专利侵权比对表.pdf"))
	if js[bool](res, listed("调解底线说明.pdf")+` || document.body.textContent.includes('调解底线')`) {
		t.Error("the respondent's page shows the applicant's mediators-only material")
	}

	// Service: the applicant chooses its page on Parley as its address, and is served a session notice there.
	app.click(`#service-confirm summary`)
	app.fill(`#service-form [name=channel]`, "in_app")
	app.wait(`document.querySelector('#service-form [name=address]').closest('.field').hidden`)
	app.pointShot("service-party-confirm-390x844", `#service-form`)
	app.click(`#service-form button[type=submit]`)
	app.wait(`document.querySelector('#service-current') && document.querySelector('#service-current').textContent.includes('平台站内')`)
	e.app.serveNotice(ctx, c, "session_notice", func(cases.Party) cases.Notice {
		return cases.SessionNotice(c, "第一次调解", time.Now().Add(24*time.Hour), e.base+"/party", e.store.Cal.Loc)
	})
	app.open("/party")
	app.wait(`document.querySelector('#service-records li[data-status="reached"] a[href$="/certificate"]')`)
	app.pointShot("service-party-certificate-390x844", `#service-records`)
	b64 := js[string](app, `fetch(document.querySelector('#service-records a[href$="/certificate"]').href).then((r) => {
		if (!r.ok || r.headers.get('Content-Type') !== 'application/pdf') return 'status ' + r.status + ' ' + r.headers.get('Content-Type');
		return r.arrayBuffer().then((b) => { let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); return btoa(s); });
	})`)
	pdf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("the certificate from the page: %s", b64[:min(len(b64), 200)])
	}
	rep, err := signing.Verify(pdf, e.app.docs.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RolePlatform {
		t.Errorf("the certificate the party opened: %v %+v", err, rep)
	}
	e.checkNoJSErrors()
	e.checkNoRefusals()
}
