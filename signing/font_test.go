package signing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

func TestFindFont(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.ttf")
	os.WriteFile(junk, []byte("not a font"), 0o644)
	_, err := FindFont(filepath.Join(dir, "missing.ttf"), junk)
	if !errors.Is(err, ErrNoFont) {
		t.Fatalf("FindFont with bad paths: %v, want ErrNoFont", err)
	}
	if !strings.Contains(err.Error(), "missing.ttf") || !strings.Contains(err.Error(), "junk.ttf") {
		t.Errorf("error %q does not name the candidates", err)
	}
	f, err := FindFont(junk, DefaultFontPaths[0], DefaultFontPaths[1])
	if err != nil {
		t.Skipf("no default font installed: %v", err)
	}
	if f.Path() == junk || !f.Covers("调解协议书 Parley 2025") || f.Covers("\U0001F600") {
		t.Errorf("font %s: coverage not as expected", f.Path())
	}
}

func TestParseFontRejects(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{
		"empty":      nil,
		"CFF":        []byte("OTTO\x00\x01\x00\x00\x00\x00\x00\x00"),
		"collection": []byte("ttcf\x00\x01\x00\x00"),
		"truncated":  []byte("\x00\x01\x00\x00\x00\x20"),
	} {
		if _, err := ParseFont(name, data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSubset checks a subset against the original font with an independent sfnt parser: same outlines'
// advances, glyph count, and a structurally valid file.
func TestSubset(t *testing.T) {
	t.Parallel()
	f := getPKI(t).font
	text := "张三（申请人）签署时间 2025-03-01 10:20:30 +08:00 北京某某科技有限公司"
	s, err := f.ttf.subset(text)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := sfnt.Parse(f.data)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := sfnt.Parse(s.data)
	if err != nil {
		t.Fatalf("subset does not parse: %v", err)
	}
	distinct := map[rune]bool{}
	for _, r := range text {
		distinct[r] = true
	}
	if sub.NumGlyphs() > len(distinct)+1+8 || sub.NumGlyphs() < 2 {
		t.Errorf("subset has %d glyphs for %d distinct runes", sub.NumGlyphs(), len(distinct))
	}
	var b sfnt.Buffer
	ppem := fixed.I(1000)
	for r := range distinct {
		og, err := orig.GlyphIndex(&b, r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := orig.GlyphAdvance(&b, og, ppem, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sub.GlyphAdvance(&b, sfnt.GlyphIndex(s.cid[r]), ppem, 0)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		if got != want {
			t.Errorf("%q: advance %v in the subset, %v in the font", r, got, want)
		}
		if r != ' ' {
			if segs, err := sub.LoadGlyph(&b, sfnt.GlyphIndex(s.cid[r]), ppem, nil); err != nil || len(segs) == 0 {
				t.Errorf("%q: no outline in the subset (%v)", r, err)
			}
		}
	}
	if len(s.missing) != 0 {
		t.Errorf("missing runes %q", s.missing)
	}
	if len(s.data) > 120<<10 {
		t.Errorf("subset is %d bytes", len(s.data))
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	f := getPKI(t).font
	tests := []struct {
		text  string
		width float64
		want  []string
	}{
		{"甲乙丙丁戊己庚辛", 4 * 10, []string{"甲乙丙丁", "戊己庚辛"}},
		// A closing mark never starts a line: it hangs at the end of the previous one.
		{"甲乙丙丁。戊己", 4 * 10, []string{"甲乙丙丁。", "戊己"}},
		// An opening bracket never ends a line.
		{"甲乙丙（丁戊", 4 * 10, []string{"甲乙丙", "（丁戊"}},
		// Latin words break at spaces.
		{"hello world again", f.textWidth("hello world", 10) + 1, []string{"hello world", "again"}},
		{"第一段\n第二段", 100, []string{"第一段", "第二段"}},
	}
	for _, tt := range tests {
		got := f.wrap(tt.text, tt.width, 10)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %v) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}
