package signing

import (
	"bytes"
	"compress/zlib"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bounded-work benchmark: Verify on the worst inputs up to the upload limit (PARLEY_MAX_PDF_BYTES, 20 MiB by
// default), each run in a child process so that its peak RSS (VmHWM) is its own. `make bench` runs it; the
// figures are printed as ms/verify (wall clock), cpu-ms/verify (user+system CPU, less sensitive to a busy
// machine) and MB-rss.

// worstInput is one hostile or extreme file.
type worstInput struct {
	name  string
	build func(tb testing.TB) []byte
}

// appendRevisions appends n DSS-only updates to pdf (each a new catalog naming a new /DSS with one CRL), written
// with offsets tracked here so that building 10,000 of them stays linear.
func appendRevisions(tb testing.TB, pdf []byte, n int, crl []byte) []byte {
	tb.Helper()
	v := lastView(tb, pdf)
	cat := v.catalog()
	root, _ := v.root()
	next := nextNum(tb, pdf)
	prev := v.f.revs[len(v.f.revs)-1].startxref
	var b bytes.Buffer
	b.Grow(len(pdf) + n*(len(crl)+400))
	b.Write(pdf)
	crlNum := next
	next++
	crlAt := b.Len()
	fmt.Fprintf(&b, "\n%d 0 obj\n%s\nendobj\n", crlNum, stream("", crl))
	crlAt++ // after the newline
	first := true
	for i := 0; i < n; i++ {
		dssNum := next
		catAt := b.Len()
		nc := pDict{}
		for k, e := range cat {
			nc[k] = e
		}
		nc["DSS"] = pRef{dssNum, 0}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", root.num, pdfBytes(nc))
		dssAt := b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /DSS /CRLs [%d 0 R] >>\nendobj\n", dssNum, crlNum)
		xrefAt := b.Len()
		b.WriteString("xref\n")
		if first {
			fmt.Fprintf(&b, "%d 1\n%010d 00000 n\r\n", crlNum, crlAt)
			first = false
		}
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n\r\n%d 1\n%010d 00000 n\r\n", root.num, catAt, dssNum, dssAt)
		fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", dssNum+1, root.num, prev, xrefAt)
		prev = int64(xrefAt)
		next++
	}
	return b.Bytes()
}

// xrefBomb is a small file whose cross-reference stream inflates to size bytes.
func xrefBomb(tb testing.TB, size int64) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	io.CopyN(zw, zeroReader{}, size)
	zw.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	at := b.Len()
	fmt.Fprintf(&b, "3 0 obj\n<< /Type /XRef /Size 4 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// manyObjects is a file of about size bytes holding tiny objects all reachable from the catalog, a signature
// revision (its CMS garbage, so the signature is invalid but the revision analysis runs in full) and a DSS-like
// update.
func manyObjects(tb testing.TB, size, count int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	var offs []int
	obj := func(body string) int {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
		return len(offs)
	}
	obj("<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R /Names 5 0 R >>")
	obj("<< /Type /Pages /Kids [] /Count 0 >>")
	obj("<< /Fields [4 0 R] /SigFlags 3 >>")
	obj("<< /FT /Sig /T (s) /Rect [0 0 0 0] >>")
	obj("<< /Kids 6 0 R >>")
	var a strings.Builder
	a.WriteString("[")
	for i := 0; i < count; i++ {
		fmt.Fprintf(&a, "%d 0 R ", 7+i)
	}
	a.WriteString("]")
	obj(a.String())
	for i := 0; i < count; i++ {
		obj("<< /A [1 2] /B (x) >>")
	}
	if pad := size - b.Len() - count*32; pad > 0 {
		// An image-like stream fills the file up to size: hashed by every signature, never decoded.
		junk := make([]byte, pad)
		for i := range junk {
			junk[i] = byte(i*7919 + i>>8)
		}
		obj(string(stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray", junk)))
	}
	x1 := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x1)
	rev2 := b.Len()
	sigNum := len(offs) + 1
	sigAt := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Sig /SubFilter /ETSI.CAdES.detached %s /Contents <%s> >>\nendobj\n", sigNum, byteRangePlaceholder, strings.Repeat("0", 64))
	fieldAt := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<< /FT /Sig /T (s) /Rect [0 0 0 0] /V %d 0 R >>\nendobj\n", sigNum)
	x2 := b.Len()
	fmt.Fprintf(&b, "xref\n4 1\n%010d 00000 n\r\n%d 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", fieldAt, sigNum, sigAt, sigNum+1, x1, x2)
	out := fillByteRange(tb, b.Bytes(), rev2, func([]byte) []byte { return []byte{0x30, 0x03, 0x02, 0x01, 0x01} })
	return appendRevisionsRaw(out, int64(x2), 1, sigNum+1)
}

// appendRevisionsRaw appends n updates that only redefine an unreachable number (a DSS-like update).
func appendRevisionsRaw(pdf []byte, prev int64, n, num int) []byte {
	var b bytes.Buffer
	b.Write(pdf)
	for i := 0; i < n; i++ {
		at := b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /DSS >>\nendobj\n", num)
		x := b.Len()
		fmt.Fprintf(&b, "xref\n%d 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", num, at, num+1, prev, x)
		prev = int64(x)
	}
	return b.Bytes()
}

func worstInputs() []worstInput {
	return []worstInput{
		{"3000 DSS-only updates", func(tb testing.TB) []byte {
			d := buildAttackDocs(tb)
			return appendRevisions(tb, d.lta, 3000, d.p.crl)
		}},
		{"9990 DSS-only updates (revision cap 10000)", func(tb testing.TB) []byte {
			d := buildAttackDocs(tb)
			return appendRevisions(tb, d.lta, 9990, d.p.crl)
		}},
		{"10001 revisions (over the cap)", func(tb testing.TB) []byte {
			d := buildAttackDocs(tb)
			return appendRevisions(tb, d.signed, 10001, d.p.crl)
		}},
		{"1 MB file, xref stream inflating to 1 GiB", func(tb testing.TB) []byte { return xrefBomb(tb, 1<<30) }},
		{"20 MB, 249,990 reachable objects (object cap 250,000), signed, then updated", func(tb testing.TB) []byte { return manyObjects(tb, 20<<20, 249990) }},
		{"20 MB, 300,000 objects (over the cap)", func(tb testing.TB) []byte { return manyObjects(tb, 20<<20, 300000) }},
	}
}

// TestVerifyChild is the child process of BenchmarkVerifyWorst: it verifies one file and prints its time and
// peak RSS.
func TestVerifyChild(t *testing.T) {
	path := os.Getenv("PARLEY_VERIFY_CHILD")
	if path == "" {
		t.Skip("only run as BenchmarkVerifyWorst's child")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(readFile(t, os.Getenv("PARLEY_VERIFY_ROOT")))
	start := time.Now()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	rep, err := Verify(data, roots, attackNow)
	el := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	status, _ := os.ReadFile("/proc/self/status")
	hwm := 0
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			hwm, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	verdict := "error: " + fmt.Sprint(err)
	if err == nil {
		verdict = fmt.Sprintf("valid %v, %d revisions", rep.Valid, rep.Revisions)
	}
	fmt.Printf("VERIFY elapsed_ms=%d cpu_ms=%d rss_kb=%d bytes=%d result=%q\n", el.Milliseconds(), cpu.Milliseconds(), hwm, len(data), verdict)
}

// BenchmarkVerifyWorst prints, for each worst input, Verify's time and the verifying process's peak RSS.
func BenchmarkVerifyWorst(b *testing.B) {
	dir := b.TempDir()
	root := filepath.Join(dir, "root.pem")
	os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: getPKI(b).ca.Cert.Raw}), 0o644)
	for _, in := range worstInputs() {
		path := filepath.Join(dir, strings.Map(func(r rune) rune {
			if r == ' ' || r == '/' || r == '(' || r == ')' || r == ',' {
				return '-'
			}
			return r
		}, in.name)+".pdf")
		data := in.build(b)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			var ms, cpu, rss float64
			var line string
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestVerifyChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "PARLEY_VERIFY_CHILD="+path, "PARLEY_VERIFY_ROOT="+root)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				i := bytes.Index(out, []byte("VERIFY "))
				if i < 0 {
					b.Fatalf("child printed no figures:\n%s", out)
				}
				line = strings.SplitN(string(out[i:]), "\n", 2)[0]
				var el, c, kb, n int
				fmt.Sscanf(line, "VERIFY elapsed_ms=%d cpu_ms=%d rss_kb=%d bytes=%d", &el, &c, &kb, &n)
				ms, cpu, rss = float64(el), float64(c), float64(kb)/1024
			}
			b.ReportMetric(ms, "ms/verify")
			b.ReportMetric(cpu, "cpu-ms/verify")
			b.ReportMetric(rss, "MB-rss")
			b.Logf("%s: %d bytes: %s", in.name, len(data), line)
		})
	}
}

// TestVerifyLimits: hostile inputs over the bounds fail with errLimit instead of consuming the machine (the
// figures are BenchmarkVerifyWorst's).
func TestVerifyLimits(t *testing.T) {
	t.Parallel()
	d := buildAttackDocs(t)
	tests := []struct {
		name string
		pdf  []byte
	}{
		{"xref stream inflating to 64 MiB", xrefBomb(t, 64<<20)},
		{"10001 revisions", appendRevisions(t, d.signed, 10001, d.p.crl)},
		{"300,000 objects", manyObjects(t, 8<<20, 300000)},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := Verify(tt.pdf, d.p.roots, attackNow)
		if !errors.Is(err, errLimit) {
			t.Errorf("%s: %v, want a limit error", tt.name, err)
		}
		t.Logf("%s (%d bytes): refused in %v: %v", tt.name, len(tt.pdf), time.Since(start), err)
	}
	// Under the revision cap, DSS-only updates stay valid.
	if rep, err := Verify(appendRevisions(t, d.lta, 500, d.p.crl), d.p.roots, attackNow); err != nil || !rep.Valid {
		t.Errorf("500 DSS-only updates: %v, valid %v", err, rep != nil && rep.Valid)
	}
}
