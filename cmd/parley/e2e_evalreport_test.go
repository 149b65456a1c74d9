package main

import (
	"strings"
	"testing"
)

// TestBrowserEvaluationReport (issue 12 §6): the statistics page links the signed evaluation report (PDF) and the
// ratings (CSV) of the period shown, in both languages; the links download.
func TestBrowserEvaluationReport(t *testing.T) {
	e := browserE2E(t, "TestBrowserEvaluationReport")
	if e == nil {
		return
	}
	judge := e.newTab("judge", 390, 844)
	judge.login(e.w.Judge)
	judge.open("/stats?from=2026-11-01&to=2026-12-01")
	judge.wait(`document.querySelector('#report-pdf') && document.querySelector('#report-csv')`)
	if href := js[string](judge, `document.querySelector('#report-pdf').getAttribute('href')`); href != "/api/v1/stats/satisfaction.pdf?from=2026-11-01&to=2026-12-01" {
		t.Errorf("the PDF link is %q", href)
	}
	if got := judge.text(`#report-pdf`); got != "下载评估报告（PDF）" {
		t.Errorf("the PDF link says %q", got)
	}
	// The link downloads a PDF with the judge's session.
	if got := js[string](judge, `fetch(document.querySelector('#report-pdf').href).then(async (r) => r.status + ' ' + r.headers.get('content-type') + ' ' + (await r.text()).slice(0, 5))`); got != "200 application/pdf %PDF-" {
		t.Errorf("fetching the PDF link: %q", got)
	}
	if got := js[string](judge, `fetch(document.querySelector('#report-csv').href).then((r) => r.status + ' ' + r.headers.get('content-type'))`); !strings.HasPrefix(got, "200 text/csv") {
		t.Errorf("fetching the CSV link: %q", got)
	}
	// The page fits a phone: the links do not make it scroll sideways.
	if w := js[int](judge, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the statistics page is %d px wide on a 390 px phone", w)
	}
	judge.click(`.lang-btn`)
	judge.wait(`document.documentElement.lang === 'en' && document.querySelector('#report-pdf') && document.querySelector('#report-pdf').innerText === 'Download the report (PDF)'`)
	if href := js[string](judge, `document.querySelector('#report-pdf').getAttribute('href')`); !strings.Contains(href, "lang=en") {
		t.Errorf("the English PDF link is %q, want lang=en", href)
	}
	judge.shot("stats-report-en-390x844")
	e.checkNoJSErrors()
}
