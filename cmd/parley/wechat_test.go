package main

import (
	"strings"
	"testing"
)

// TestDocumentPDFInline checks a document's PDF is saved by default and shown in place with ?inline=1 (WeChat's
// built-in browser saves no downloads), and that another value is answered with a clear error.
func TestDocumentPDFInline(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mediator := f.login(f.w.Mediator)
	for _, tc := range []struct {
		query, status, disposition string
	}{{"", "200", "attachment;"}, {"?inline=0", "200", "attachment;"}, {"?inline=1", "200", "inline;"}, {"?inline=yes", "400", ""}} {
		resp, err := mediator.http.Get(f.srv.URL + "/api/v1/documents/" + f.doc.ID + "/pdf" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		d := resp.Header.Get("Content-Disposition")
		if got := resp.Status[:3]; got != tc.status || !strings.HasPrefix(d, tc.disposition) {
			t.Errorf("GET pdf%s: %s %q, want %s %q…", tc.query, resp.Status, d, tc.status, tc.disposition)
		}
		if tc.status == "200" && resp.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("GET pdf%s: Content-Type %q", tc.query, resp.Header.Get("Content-Type"))
		}
	}
}
