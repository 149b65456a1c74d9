package signing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify: it must never panic (Verify turns a panic into an error, which the
// fuzzer reports as a failure), must return either an error or a report, and a report that says VALID must be
// consistent. The seeds are the signed agreement, the attack corpus of testdata/attacks and small hostile files.
func FuzzVerify(f *testing.F) {
	v := sharedAgreement(f)
	final := v[len(v)-1]
	f.Add(final)
	f.Add(v[0])
	f.Add(final[:len(final)-100])
	f.Add(final[:len(final)/3])
	f.Add(append(bytes.Clone(final), "\n%%EOF\n"...))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"))
	f.Add([]byte("%PDF-1.4\n%%EOF"))
	f.Add([]byte("garbage"))
	f.Add(xrefBomb(f, 1<<16))
	files, _ := filepath.Glob(filepath.Join(attackDir, "*.pdf"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	roots := getPKI(f).roots
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(data, roots, testNow)
		if err != nil {
			if rep != nil {
				t.Fatal("both a report and an error")
			}
			if strings.Contains(err.Error(), "malformed PDF (") {
				t.Fatalf("Verify panicked: %v", err)
			}
			return
		}
		if rep == nil {
			t.Fatal("neither a report nor an error")
		}
		if rep.Valid && len(rep.Signatures) == 0 {
			t.Fatal("valid without signatures")
		}
		for _, s := range rep.Signatures {
			if rep.Valid && (!s.Valid || !s.CMSValid || !s.CoversRevision || !s.PolicyOK || s.ModifiedAfter) {
				t.Fatalf("document valid but signature %s is not: %+v", s.Field, s)
			}
		}
		if rep.Valid && len(rep.Modifications) > 0 {
			t.Fatalf("document valid with modifications %+v", rep.Modifications)
		}
	})
}
