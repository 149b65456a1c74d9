package signing

import (
	"bytes"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify's PDF input path: it must never panic and must return either an
// error or a report.
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
	roots := getPKI(f).roots
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(data, roots, testNow)
		if err != nil {
			if rep != nil {
				t.Fatal("both a report and an error")
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
			if rep.Valid && (!s.Valid || !s.CMSValid || !s.CoversRevision) {
				t.Fatalf("document valid but signature %s is not: %+v", s.Field, s)
			}
		}
	})
}
