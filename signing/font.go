package signing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultFontPaths is the search list FindFont uses when it is given no paths: LXGW WenKai (OFL, Debian package
// fonts-lxgw-wenkai), then AR PL SungtiL GB (Arphic Public Licence, fonts-arphic-gbsn00lp). Both licences allow
// embedding; only a subset of the glyphs is ever embedded.
var DefaultFontPaths = []string{
	"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
	"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
}

// ErrNoFont is returned by FindFont when none of the candidate font files can be used.
var ErrNoFont = errors.New("signing: no usable Chinese TrueType font found")

// Font is a TrueType font with CJK coverage, loaded once and shared by document generation (gopdf embeds a
// subset) and signature appearances (Parley embeds its own subset). A Font is safe for concurrent use.
type Font struct {
	path string
	data []byte
	ttf  *ttf
}

// LoadFont reads and parses a plain TrueType (.ttf, glyf outlines) file.
func LoadFont(path string) (*Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: load font: %w", err)
	}
	return ParseFont(path, data)
}

// ParseFont parses TrueType font data; name is only used in messages and as a fallback font name.
func ParseFont(name string, data []byte) (*Font, error) {
	t, err := parseTTF(data)
	if err != nil {
		return nil, fmt.Errorf("signing: parse font %s: %w", name, err)
	}
	if t.psName == "" {
		base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
		t.psName = strings.Map(func(r rune) rune {
			if r > 32 && r < 127 && !strings.ContainsRune("[](){}<>/%", r) {
				return r
			}
			return -1
		}, base)
		if t.psName == "" {
			t.psName = "ParleyFont"
		}
	}
	if _, ok := t.cmap['中']; !ok {
		return nil, fmt.Errorf("signing: parse font %s: no Chinese glyphs (U+4E2D missing)", name)
	}
	return &Font{path: name, data: data, ttf: t}, nil
}

// FindFont loads the first usable font of paths, or of DefaultFontPaths when paths is empty. The error wraps
// ErrNoFont and names every candidate and why it was rejected.
func FindFont(paths ...string) (*Font, error) {
	if len(paths) == 0 {
		paths = DefaultFontPaths
	}
	var why []string
	for _, p := range paths {
		f, err := LoadFont(p)
		if err == nil {
			return f, nil
		}
		why = append(why, err.Error())
	}
	return nil, fmt.Errorf("%w (install fonts-lxgw-wenkai or set the font path): %s", ErrNoFont, strings.Join(why, "; "))
}

// Path returns the file the font was loaded from.
func (f *Font) Path() string { return f.path }

// Name returns the font's PostScript name.
func (f *Font) Name() string { return f.ttf.psName }

// Covers reports whether the font has a glyph for every rune of s (spaces and control characters excepted).
func (f *Font) Covers(s string) bool {
	for _, r := range s {
		if r <= ' ' {
			continue
		}
		if _, ok := f.ttf.cmap[r]; !ok {
			return false
		}
	}
	return true
}

// textWidth returns the advance width of s in points at the given size.
func (f *Font) textWidth(s string, size float64) float64 {
	units := 0
	for _, r := range s {
		units += f.ttf.advance(int(f.ttf.cmap[r]))
	}
	return float64(units) * size / float64(f.ttf.unitsPerEm)
}
