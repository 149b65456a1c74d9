package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases/casestest"
)

// TestBrowserThreads (issue 12 §4): a party on a phone (390×844) takes part by text: it writes to the mediator
// in its private thread from its case page; the mediator's case page shows the unread message on that side's
// tab and answers; the other party's page has no such tab and never shows the message.
func TestBrowserThreads(t *testing.T) {
	e := browserE2E(t, "TestBrowserThreads")
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
	const secret = "我方最低可接受八万元，请勿告知对方。"
	app := e.newTab("applicant", 390, 844)
	app.enter(link(0), c.Parties[0].Phone)
	app.wait(`document.querySelector('#threads [data-thread="applicant"]')`)
	app.click(`#threads [data-thread="applicant"]`)
	app.wait(`document.querySelector('#threads [data-thread="applicant"][aria-selected="true"]') && document.querySelector('#threads textarea')`)
	// With a file: it becomes a material of the case for this side and the mediators (issue 12 §4 with §1).
	pdf := filepath.Join(t.TempDir(), "报价依据.pdf")
	if err := os.WriteFile(pdf, testPDF(2000), 0o644); err != nil {
		t.Fatal(err)
	}
	app.setFile(`#threads input[type=file]`, pdf, `document.querySelector('#thread-file-chosen').textContent === '报价依据.pdf'`)
	app.fill(`#threads textarea`, secret)
	app.click(`#thread-send`)
	app.wait(fmt.Sprintf(`[...document.querySelectorAll('#threads .thread-msg.mine p')].some((p) => p.textContent === %q)`, secret))
	app.wait(`[...document.querySelectorAll('#threads .thread-msg.mine .thread-attachments a')].some((a) => a.textContent === '报价依据.pdf')`)
	app.shot("threads-party-private-390x844")
	app.pointShot("threads-party-attachment-390x844", `#threads .thread-attachments`)

	med := e.newTab("mediator", 1280, 800)
	med.login(w.Mediator)
	med.open("/cases/" + c.ID)
	med.wait(`document.querySelector('#threads [data-thread="applicant"] .badge')`)
	med.click(`#threads [data-thread="applicant"]`)
	med.wait(fmt.Sprintf(`[...document.querySelectorAll('#threads .thread-msg p')].some((p) => p.textContent === %q)`, secret))
	med.wait(`[...document.querySelectorAll('#threads .thread-attachments a')].some((a) => a.textContent === '报价依据.pdf' && a.href.endsWith('/content'))`)
	med.fill(`#threads textarea`, "收到，我会在单独沟通中与您讨论。")
	med.click(`#thread-send`)
	med.wait(`[...document.querySelectorAll('#threads .thread-msg.mine p')].some((p) => p.textContent === '收到，我会在单独沟通中与您讨论。')`)

	res := e.newTab("respondent", 390, 844)
	res.enter(link(1), c.Parties[1].Phone)
	res.wait(`document.querySelector('#threads [data-thread="joint"]')`)
	if js[bool](res, `!!document.querySelector('#threads [data-thread="applicant"]') || document.body.textContent.includes('八万元') || document.body.textContent.includes('报价依据')`) {
		t.Error("the respondent's page shows the applicant's private thread")
	}
	e.checkNoJSErrors()
}
