package cases

import (
	"bytes"
	"compress/zlib"
	"testing"
)

func TestSanitiseFilename(t *testing.T) {
	for in, want := range map[string]string{
		"证据1.pdf":              "证据1.pdf",
		"  report.pdf. ":       "report.pdf",
		"a<b>c:d\"e|f?g*.png":  "a_b_c_d_e_f_g_.png",
		"tab\tand\x00nul.docx": "tabandnul.docx",
		"rtl\u202eexe.pdf":     "rtlexe.pdf",
		"..hidden.pdf":         "hidden.pdf",
	} {
		if got, err := SanitiseFilename(in); err != nil || got != want {
			t.Errorf("SanitiseFilename(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"../a.pdf", `a\b.pdf`, "/etc/passwd", "", " . ", "\xff.pdf"} {
		if _, err := SanitiseFilename(bad); ErrorCode(err) != EMaterialFilename {
			t.Errorf("SanitiseFilename(%q): %v, want %s", bad, err, EMaterialFilename)
		}
	}
	long := string(bytes.Repeat([]byte("长"), 300)) + ".pdf"
	if got, _ := SanitiseFilename(long); len([]rune(got)) != 120 || got[len(got)-4:] != ".pdf" {
		t.Errorf("a long name became %d characters %q, want 120 ending .pdf", len([]rune(got)), got[len(got)-8:])
	}
}

// FuzzCheckContent: whatever bytes arrive, sniffing and the content check answer without panicking or hanging.
func FuzzCheckContent(f *testing.F) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(bytes.Repeat([]byte("q 1 0 0 1 0 0 cm "), 100))
	zw.Close()
	f.Add([]byte("%PDF-1.7\n1 0 obj<</Filter/FlateDecode>>stream\n"+z.String()+"\nendstream\nendobj\n%%EOF"), "a.pdf")
	f.Add([]byte("%PDF-1.7\nstream\r\n\x78\x9c"), "a.pdf")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "a.png")
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10}, "a.jpg")
	f.Add([]byte("PK\x03\x04[Content_Types].xml"), "a.docx")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		ft, _, err := SniffMaterial(data, name)
		if err != nil {
			return
		}
		_ = checkContent(ft, bytes.NewReader(data), DefaultMaterialLimits)
	})
}
