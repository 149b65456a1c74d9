package main

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// Test files, made by the test.

// testPDF is a small PDF with one Flate stream of n pseudo-random bytes (not compressible: many chunks).
func testPDF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 0 /Filter /FlateDecode >>\nstream\n")
	zw := zlib.NewWriter(&b)
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096)
	for left := n; left > 0; left -= len(buf) {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		zw.Write(buf[:min(left, len(buf))])
	}
	zw.Close()
	b.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

// pdfBomb is a PDF whose one stream inflates 40 MiB of zeros from about 40 KiB.
func pdfBomb() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n1 0 obj\n<< /Length 0 /Filter /FlateDecode >>\nstream\r\n")
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	zw.Write(make([]byte, 40<<20))
	zw.Close()
	b.WriteString("\r\nendstream\nendobj\n%%EOF\n")
	return b.Bytes()
}

func testPNG() []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 16, 16)))
	return b.Bytes()
}

// pngBomb declares 100 000 × 100 000 pixels in a valid IHDR (10 gigapixels) with almost nothing after it.
func pngBomb() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1000))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

func testJPEG() []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil)
	return b.Bytes()
}

// get sends a GET as c and returns the whole answer with its headers.
func (c *client) get(path string) (*http.Response, []byte) {
	c.env.t.Helper()
	req, err := http.NewRequest("GET", c.env.srv.URL+path, nil)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.env.t.Fatalf("GET %s: %v", path, err)
	}
	return resp, body
}

func testDOCX() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml"} {
		w, _ := zw.Create(name)
		w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	zw.Close()
	return b.Bytes()
}

func testDOC() []byte {
	return append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 2048)...)
}

// upload sends a material as c; it returns the status and the answer.
func (c *client) upload(caseID, filename, visibility string, data []byte, extra ...string) (int, []byte) {
	c.env.t.Helper()
	q := url.Values{"filename": {filename}, "visibility": {visibility}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return c.raw("POST", "/api/v1/cases/"+caseID+"/materials?"+q.Encode(), rawRequest{"application/octet-stream", data})
}

// uploadExpect uploads as a careful client does: Expect: 100-continue, so that a body refused on its declared
// length is never sent (the answer then always arrives). Failures are t's, not the parent test's.
func (c *client) uploadExpect(t *testing.T, caseID, filename, visibility string, data []byte) (int, []byte) {
	t.Helper()
	q := url.Values{"filename": {filename}, "visibility": {visibility}}
	req, err := http.NewRequest("POST", c.env.srv.URL+"/api/v1/cases/"+caseID+"/materials?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if len(data) > 0 {
		req.Header.Set("Expect", "100-continue")
	}
	tr := &http.Transport{ExpectContinueTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Jar: c.http.Jar, Transport: tr}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("upload %s: %v", filename, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (c *client) mustUpload(caseID, filename, visibility string, data []byte, extra ...string) cases.Material {
	c.env.t.Helper()
	st, raw := c.upload(caseID, filename, visibility, data, extra...)
	if st != 201 {
		c.env.t.Fatalf("upload %s: %d %s, want 201", filename, st, truncate(raw))
	}
	var m cases.Material
	if err := json.Unmarshal(raw, &m); err != nil {
		c.env.t.Fatal(err)
	}
	return m
}

func errCode(raw []byte) string {
	var e apiError
	_ = json.Unmarshal(raw, &e)
	return e.Error.Code
}

// materialRows counts what is stored of materials (any state) and their chunks.
func materialRows(t *testing.T, e *testEnv) (int, int) {
	t.Helper()
	var m, ch int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM materials), (SELECT count(*) FROM material_chunks)`).Scan(&m, &ch); err != nil {
		t.Fatal(err)
	}
	return m, ch
}

// TestMaterialUploadDownload: a party uploads a multi-chunk PDF; it is listed, downloads byte for byte as an
// attachment with nosniff and its SHA-256, and its hash is in the case's hash chain, which still verifies.
func TestMaterialUploadDownload(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party := f.clientFor("party")
	pdf := testPDF(900 << 10) // four chunks
	m := party.mustUpload(c.ID, "证据1：专利证书.pdf", "shared", pdf, "kind", "ip_certificate", "ip_kind", "patent", "ip_number", "ZL202010123456.7", "ip_holder", "北京某某科技有限公司", "description", "专利证书")
	sum := sha256.Sum256(pdf)
	if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(pdf)) || m.ContentType != "application/pdf" || m.OwnerSide != cases.Applicant {
		t.Fatalf("stored %+v, want sha %x size %d application/pdf applicant", m, sum, len(pdf))
	}
	if m.IPRight == nil || m.IPRight.Number != "ZL202010123456.7" || m.IPRight.Holder != "北京某某科技有限公司" {
		t.Errorf("ip right %+v, want the patent number and holder", m.IPRight)
	}
	if m.Filename != "证据1_专利证书.pdf" && m.Filename != "证据1：专利证书.pdf" {
		t.Errorf("filename %q", m.Filename)
	}
	// The other side (the respondent's agent) lists and downloads it.
	agent := f.clientFor("agent")
	var list []cases.Material
	if st := agent.do("GET", "/api/v1/cases/"+c.ID+"/materials", nil, &list); st != 200 || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("list: %d %+v, want the one material", st, list)
	}
	resp, body := agent.get("/api/v1/materials/" + m.ID + "/content")
	if resp.StatusCode != 200 || !bytes.Equal(body, pdf) {
		t.Fatalf("download: %d, %d bytes, want 200 and the %d bytes uploaded", resp.StatusCode, len(body), len(pdf))
	}
	for h, want := range map[string]string{"Content-Type": "application/pdf", "X-Content-Type-Options": "nosniff", "X-Content-SHA256": m.SHA256} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=UTF-8''") {
		t.Errorf("Content-Disposition %q, want an attachment with the UTF-8 name", cd)
	}
	// The hash is in the chain.
	evs, err := e.store.Events(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[m.EventSeq-1]
	if last.Type != "material.uploaded" || last.Data["sha256"] != m.SHA256 || last.Seq != m.EventSeq {
		t.Errorf("last event %s %v, want material.uploaded with the SHA-256 at seq %d", last.Type, last.Data, m.EventSeq)
	}
	if rep, err := e.store.VerifyChain(context.Background(), c.ID); err != nil || !rep.Valid {
		t.Errorf("chain: %+v %v, want valid", rep, err)
	}
	// Every other accepted type.
	for name, data := range map[string][]byte{"截图.png": testPNG(), "比对表.docx": testDOCX(), "旧合同.doc": testDOC(), "照片.jpg": testJPEG()} {
		if got := party.mustUpload(c.ID, name, "mediators", data); got.Size != int64(len(data)) {
			t.Errorf("%s: size %d", name, got.Size)
		}
	}
}

// TestMaterialBadInput: every kind of bad upload gets its own stable code and leaves nothing stored, not a row,
// not a chunk, not an event.
func TestMaterialBadInput(t *testing.T) {
	e := newTestEnv(t)
	e.app.cfg.MaterialMaxBytes = 1 << 20
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party := f.clientFor("party")
	bomb := pdfBomb()
	for _, tc := range []struct {
		name, filename, vis string
		data                []byte
		status              int
		code                string
	}{
		{"empty", "a.pdf", "shared", nil, 400, cases.EMaterialEmpty},
		{"oversized", "big.pdf", "shared", testPDF(1200 << 10), 413, cases.EMaterialTooLarge},
		{"text named pdf", "a.pdf", "shared", []byte("just some text, not a PDF at all"), 415, cases.EMaterialType},
		{"png named pdf", "a.pdf", "shared", testPNG(), 415, cases.EMaterialType},
		{"executable", "a.exe", "shared", append([]byte("MZ\x90\x00"), make([]byte, 100)...), 415, cases.EMaterialType},
		{"plain zip as docx", "a.docx", "shared", func() []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			w, _ := zw.Create("payload.bin")
			w.Write([]byte("x"))
			zw.Close()
			return b.Bytes()
		}(), 415, cases.EMaterialType},
		{"truncated png", "a.png", "shared", testPNG()[:20], 415, cases.EMaterialType},
		{"pdf bomb", "bomb.pdf", "shared", bomb, 422, cases.EMaterialBomb},
		{"image bomb", "huge.png", "shared", pngBomb(), 422, cases.EMaterialBomb},
		{"path", "../../etc/passwd.pdf", "shared", testPDF(10), 400, cases.EMaterialFilename},
		{"windows path", `C:\evidence\a.pdf`, "shared", testPDF(10), 400, cases.EMaterialFilename},
		{"no name", " .. ", "shared", testPDF(10), 400, cases.EMaterialFilename},
		{"bad visibility", "a.pdf", "everyone", testPDF(10), 400, cases.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "pdf bomb" && len(bomb) > 1<<20 {
				t.Fatalf("the bomb is %d bytes: it must be under the limit to test the bomb check", len(bomb))
			}
			st, raw := party.uploadExpect(t, c.ID, tc.filename, tc.vis, tc.data)
			if st != tc.status || errCode(raw) != tc.code {
				t.Errorf("%d %s, want %d %s", st, truncate(raw), tc.status, tc.code)
			}
			var body apiError
			if json.Unmarshal(raw, &body); body.Error.Message == "" {
				t.Errorf("no message in %s", raw)
			}
			if m, ch := materialRows(t, e); m != 0 || ch != 0 {
				t.Errorf("%d materials and %d chunks stored, want none", m, ch)
			}
		})
	}
	if evs, _ := e.store.Events(context.Background(), c.ID); slices.ContainsFunc(evs, func(ev cases.Event) bool { return ev.Type == "material.uploaded" }) {
		t.Errorf("a refused upload entered the trail")
	}
	// The per-case limit: the second file would pass it; the first stays, the second leaves nothing.
	e.app.cfg.MaterialCaseMaxBytes = 600 << 10
	first := party.mustUpload(c.ID, "a.pdf", "shared", testPDF(400<<10))
	m0, ch0 := materialRows(t, e)
	st, raw := party.upload(c.ID, "b.pdf", "shared", testPDF(400<<10))
	if st != 413 || errCode(raw) != cases.ECaseFileFull {
		t.Errorf("over the case limit: %d %s, want 413 %s", st, truncate(raw), cases.ECaseFileFull)
	}
	if m, ch := materialRows(t, e); m != m0 || ch != ch0 {
		t.Errorf("after the refusal %d materials %d chunks, want %d %d", m, ch, m0, ch0)
	}
	_ = first
}

// TestMaterialMatrix walks every owner × visibility × role: who lists a material, reads its description and
// downloads it. The expectations are written out, not derived from the rule they test.
func TestMaterialMatrix(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	clients := map[string]*client{}
	for _, role := range roles {
		clients[role] = f.clientFor(role)
	}
	allow := map[string]map[string][]string{
		"party": { // the applicant
			"shared":    viewers,
			"mediators": {"party", "mediator"},
			"court":     {"party", "clerk", "judge", "api_token"},
		},
		"agent": { // the respondent's agent
			"shared":    viewers,
			"mediators": {"agent", "mediator"},
			"court":     {"agent", "clerk", "judge", "api_token"},
		},
		"mediator": {
			"shared":    viewers,
			"mediators": {"mediator"},
			"court":     {"mediator", "clerk", "judge", "api_token"},
		},
		"clerk": { // the API token is the clerk's: the same account, the owner
			"shared":    viewers,
			"mediators": {"clerk", "mediator", "api_token"},
			"court":     {"clerk", "judge", "api_token"},
		},
	}
	for owner, byVis := range allow {
		for _, vis := range []string{"shared", "mediators", "court"} {
			m := clients[owner].mustUpload(c.ID, fmt.Sprintf("%s-%s.pdf", owner, vis), vis, testPDF(100))
			for _, role := range roles {
				want := slices.Contains(byVis[vis], role)
				cl := clients[role]
				var list []cases.Material
				st := cl.do("GET", "/api/v1/cases/"+c.ID+"/materials", nil, &list)
				listed := st == 200 && slices.ContainsFunc(list, func(x cases.Material) bool { return x.ID == m.ID })
				stMeta, _ := cl.raw("GET", "/api/v1/materials/"+m.ID, nil)
				stBody, body := cl.raw("GET", "/api/v1/materials/"+m.ID+"/content", nil)
				if listed != want || (stMeta == 200) != want || (stBody == 200) != want {
					t.Errorf("%s's %s material as %s: listed %v, description %d, content %d; want allowed=%v", owner, vis, role, listed, stMeta, stBody, want)
				}
				if !want && stBody != 401 && stBody != 404 {
					t.Errorf("%s's %s material as %s: content %d, want 401 or 404 (its existence is not revealed)", owner, vis, role, stBody)
				}
				if want && !bytes.Equal(body, testPDF(100)) {
					t.Errorf("%s's %s material as %s: wrong bytes", owner, vis, role)
				}
			}
		}
	}
	// Who may upload at all: the parties, agents and the case's staff; not the platform admin, an IP officer,
	// another court or another organisation's mediator.
	for _, role := range roles {
		st, _ := clients[role].upload(c.ID, "x.pdf", "shared", testPDF(10))
		want := slices.Contains([]string{"party", "agent", "clerk", "judge", "org_admin", "mediator", "api_token"}, role)
		if (st == 201) != want {
			t.Errorf("upload as %s: %d, want allowed=%v", role, st, want)
		}
	}
}

// materialMatrix adds the material endpoints to TestAuthorisationMatrix (a shared material of the mediator's).
func materialMatrix() []matrixCall {
	shared := func(f *fixture) string {
		m, err := f.store.UploadMaterial(context.Background(), f.w.Mediator, f.c.ID, cases.NewMaterial{Filename: "m.pdf", Kind: "evidence", Visibility: cases.MatShared, Length: -1},
			bytes.NewReader(testPDF(10)), cases.MaterialLimits{})
		if err != nil {
			f.t.Fatal(err)
		}
		return m.ID
	}
	return []matrixCall{
		{route: "GET /api/v1/cases/{id}/materials", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/materials" }, allow: viewers},
		{route: "POST /api/v1/cases/{id}/materials", path: func(f *fixture) string {
			return "/api/v1/cases/" + f.c.ID + "/materials?filename=a.pdf&visibility=shared"
		}, body: func(*fixture, string) any { return rawRequest{"application/pdf", testPDF(10)} },
			allow: []string{"clerk", "judge", "org_admin", "mediator", "party", "agent", "api_token"}},
		// The fixture's case is in mediation: nobody takes its bundle yet, and a push is refused to all.
		{route: "GET /api/v1/cases/{id}/bundle", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/bundle" }, allow: []string{}},
		{route: "POST /api/v1/cases/{id}/bundle/push", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/bundle/push" }, allow: []string{}},
		// Not failed: its staff are answered 404 (no report), everyone else 403 or 404.
		{route: "GET /api/v1/cases/{id}/failure-report", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/failure-report" }, allow: []string{}},
		{route: "GET /api/v1/cases/{id}/ruling", path: func(f *fixture) string { return "/api/v1/cases/" + f.c.ID + "/ruling" }, allow: []string{}},
		{route: "GET /api/v1/materials/{id}", path: func(f *fixture) string { return "/api/v1/materials/" + shared(f) }, allow: viewers},
		{route: "GET /api/v1/materials/{id}/content", path: func(f *fixture) string { return "/api/v1/materials/" + shared(f) + "/content" }, allow: viewers},
	}
}

// pdfStream is an endless-looking PDF of n bytes made as it is read (the test holds none of it in memory).
type pdfStream struct {
	n, off int64
	r      *rand.Rand
}

func newPDFStream(n int64) *pdfStream { return &pdfStream{n: n, r: rand.New(rand.NewPCG(3, 4))} }

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		b[i] = byte(p.r.Uint32())
	}
	if p.off == 0 {
		copy(b, "%PDF-1.7\n")
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestMaterialTooLargeUnannounced: a body sent without Content-Length (chunked) that runs past the limit is cut
// there, answered material_too_large, and leaves nothing.
func TestMaterialTooLargeUnannounced(t *testing.T) {
	e := newTestEnv(t)
	e.app.cfg.MaterialMaxBytes = 1 << 20
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party := f.clientFor("party")
	req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/cases/"+c.ID+"/materials?filename=big.pdf&visibility=shared", io.MultiReader(newPDFStream(1<<20+1000)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF-Token", party.csrf)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := party.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength > 0 || resp.StatusCode != 413 || errCode(raw) != cases.EMaterialTooLarge {
		t.Errorf("chunked upload over the limit: %d %s (length %d), want 413 %s", resp.StatusCode, raw, req.ContentLength, cases.EMaterialTooLarge)
	}
	if m, ch := materialRows(t, e); m != 0 || ch != 0 {
		t.Errorf("%d materials and %d chunks stored, want none", m, ch)
	}
}

// TestMaterialThroughput uploads and downloads a 50 MB PDF through the HTTP API into PostgreSQL and prints the
// throughput of each and the process's peak resident memory during each (client, server and checks together; the
// file is generated as it is sent and discarded as it is received, so the growth is what Parley holds). It
// measures, it does not judge: it runs only when asked.
//
//	PARLEY_MATERIAL_BENCH=1 go test ./cmd/parley -run TestMaterialThroughput -v
func TestMaterialThroughput(t *testing.T) {
	if os.Getenv("PARLEY_MATERIAL_BENCH") == "" {
		t.Skip("set PARLEY_MATERIAL_BENCH=1 to measure")
	}
	const size = 50 << 20
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	med := f.clientFor("mediator")
	runtime.GC()
	base := resetPeakRSS()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/cases/"+c.ID+"/materials?filename=big.pdf&visibility=shared", newPDFStream(size))
	req.ContentLength = size
	req.Header.Set("X-CSRF-Token", med.csrf)
	start := time.Now()
	resp, err := med.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m cases.Material
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	up := time.Since(start)
	upPeak := peakRSS()
	runtime.GC()
	base2 := resetPeakRSS()
	start = time.Now()
	req, _ = http.NewRequest("GET", e.srv.URL+"/api/v1/materials/"+m.ID+"/content", nil)
	resp, err = med.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	down := time.Since(start)
	if n != size {
		t.Fatalf("download: %d bytes", n)
	}
	downPeak := peakRSS()
	mib := func(v int64) float64 { return float64(max(v, 0)) / (1 << 20) }
	t.Logf("50 MiB upload:   %.1f MB/s (%v), peak RSS %.0f MiB (%.0f MiB before, +%.0f MiB)", float64(size)/1e6/up.Seconds(), up.Round(time.Millisecond), mib(upPeak), mib(base), mib(upPeak-base))
	t.Logf("50 MiB download: %.1f MB/s (%v), peak RSS %.0f MiB (%.0f MiB before, +%.0f MiB)", float64(size)/1e6/down.Seconds(), down.Round(time.Millisecond), mib(downPeak), mib(base2), mib(downPeak-base2))
}

// resetPeakRSS resets the process's peak resident set to its current one (Linux clear_refs 5) and returns it.
func resetPeakRSS() int64 {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return procStatus("VmRSS:")
}

// peakRSS is the process's peak resident set (VmHWM) in bytes; 0 where /proc is not there.
func peakRSS() int64 { return procStatus("VmHWM:") }

func procStatus(field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
