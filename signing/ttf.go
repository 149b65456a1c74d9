package signing

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"unicode/utf16"
)

// This file holds a small TrueType (glyf-flavoured sfnt) reader and subsetter. gopdf subsets the fonts of the
// documents it generates; signature appearances are written by Parley's own incremental writer, so they need their
// own subset: the glyphs of a signer's name, role and time, renumbered from 1, embedded as a CIDFontType2 with
// Identity-H encoding and a ToUnicode map so text extraction works.

var errBadFont = errors.New("malformed TrueType font")

// ttf is a parsed TrueType font. Only the tables a PDF subset needs are kept.
type ttf struct {
	tables      map[string][]byte
	unitsPerEm  int
	numGlyphs   int
	numHMetrics int
	locaLong    bool
	ascent      int // hhea ascender, font units
	descent     int // hhea descender (negative), font units
	capHeight   int
	bbox        [4]int
	psName      string
	cmap        map[rune]uint16
}

func u16(b []byte, off int) (int, bool) {
	if off < 0 || off+2 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[off:])), true
}

func i16(b []byte, off int) (int, bool) {
	v, ok := u16(b, off)
	return int(int16(uint16(v))), ok
}

func u32(b []byte, off int) (uint32, bool) {
	if off < 0 || off+4 > len(b) {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[off:]), true
}

// parseTTF reads the table directory and the metrics and character map the subsetter needs.
func parseTTF(data []byte) (*ttf, error) {
	version, ok := u32(data, 0)
	if !ok {
		return nil, fmt.Errorf("%w: too short", errBadFont)
	}
	switch version {
	case 0x00010000, 0x74727565: // 1.0, 'true'
	case 0x4F54544F: // 'OTTO'
		return nil, fmt.Errorf("%w: CFF-flavoured OpenType is not supported, use a glyf TrueType font", errBadFont)
	case 0x74746366: // 'ttcf'
		return nil, fmt.Errorf("%w: font collections (.ttc) are not supported, extract one face to .ttf", errBadFont)
	default:
		return nil, fmt.Errorf("%w: unknown sfnt version %#x", errBadFont, version)
	}
	n, _ := u16(data, 4)
	f := &ttf{tables: map[string][]byte{}}
	for i := 0; i < n; i++ {
		rec := 12 + 16*i
		if rec+16 > len(data) {
			return nil, fmt.Errorf("%w: table directory truncated", errBadFont)
		}
		tag := string(data[rec : rec+4])
		off, _ := u32(data, rec+8)
		length, _ := u32(data, rec+12)
		end := uint64(off) + uint64(length)
		if end > uint64(len(data)) {
			return nil, fmt.Errorf("%w: table %q out of range", errBadFont, tag)
		}
		f.tables[tag] = data[off:end]
	}
	for _, tag := range []string{"head", "hhea", "hmtx", "maxp", "loca", "glyf", "cmap"} {
		if f.tables[tag] == nil {
			return nil, fmt.Errorf("%w: missing %q table", errBadFont, tag)
		}
	}
	head := f.tables["head"]
	f.unitsPerEm, _ = u16(head, 18)
	if f.unitsPerEm == 0 {
		return nil, fmt.Errorf("%w: unitsPerEm is 0", errBadFont)
	}
	for i := range 4 {
		f.bbox[i], _ = i16(head, 36+2*i)
	}
	locFmt, ok := i16(head, 50)
	if !ok {
		return nil, fmt.Errorf("%w: head table truncated", errBadFont)
	}
	f.locaLong = locFmt == 1
	f.numGlyphs, ok = u16(f.tables["maxp"], 4)
	if !ok || f.numGlyphs == 0 {
		return nil, fmt.Errorf("%w: maxp table truncated", errBadFont)
	}
	hhea := f.tables["hhea"]
	f.ascent, _ = i16(hhea, 4)
	f.descent, _ = i16(hhea, 6)
	f.numHMetrics, ok = u16(hhea, 34)
	if !ok || f.numHMetrics == 0 || f.numHMetrics > f.numGlyphs || len(f.tables["hmtx"]) < 4*f.numHMetrics {
		return nil, fmt.Errorf("%w: hhea/hmtx inconsistent", errBadFont)
	}
	need := 2 * (f.numGlyphs + 1)
	if f.locaLong {
		need *= 2
	}
	if len(f.tables["loca"]) < need {
		return nil, fmt.Errorf("%w: loca table truncated", errBadFont)
	}
	f.capHeight = f.ascent * 7 / 10
	if os2 := f.tables["OS/2"]; len(os2) >= 90 {
		if v, _ := u16(os2, 0); v >= 2 {
			f.capHeight, _ = i16(os2, 88)
		}
	}
	f.psName = ttfPostScriptName(f.tables["name"])
	cm, err := parseCmap(f.tables["cmap"])
	if err != nil {
		return nil, err
	}
	f.cmap = cm
	return f, nil
}

// ttfPostScriptName returns name ID 6, or "" if there is none.
func ttfPostScriptName(name []byte) string {
	count, ok := u16(name, 2)
	if !ok {
		return ""
	}
	strOff, _ := u16(name, 4)
	for i := 0; i < count; i++ {
		rec := 6 + 12*i
		platform, _ := u16(name, rec)
		nameID, ok := u16(name, rec+6)
		if !ok {
			return ""
		}
		length, _ := u16(name, rec+8)
		off, _ := u16(name, rec+10)
		start := strOff + off
		if nameID != 6 || start+length > len(name) {
			continue
		}
		raw := name[start : start+length]
		var s string
		switch platform {
		case 3, 0:
			u := make([]uint16, len(raw)/2)
			for j := range u {
				u[j] = binary.BigEndian.Uint16(raw[2*j:])
			}
			s = string(utf16.Decode(u))
		case 1:
			s = string(raw)
		}
		clean := make([]byte, 0, len(s))
		for _, c := range []byte(s) {
			if c > 32 && c < 127 && c != '[' && c != ']' && c != '(' && c != ')' && c != '{' && c != '}' && c != '<' && c != '>' && c != '/' && c != '%' {
				clean = append(clean, c)
			}
		}
		if len(clean) > 0 {
			return string(clean)
		}
	}
	return ""
}

// parseCmap reads the best Unicode subtable (format 12 preferred, else format 4).
func parseCmap(cmap []byte) (map[rune]uint16, error) {
	n, ok := u16(cmap, 2)
	if !ok {
		return nil, fmt.Errorf("%w: cmap truncated", errBadFont)
	}
	best, bestScore := -1, 0
	for i := 0; i < n; i++ {
		rec := 4 + 8*i
		platform, _ := u16(cmap, rec)
		encoding, _ := u16(cmap, rec+2)
		off, ok := u32(cmap, rec+4)
		if !ok || int(off) >= len(cmap) {
			continue
		}
		format, _ := u16(cmap, int(off))
		score := 0
		switch {
		case format == 12 && (platform == 3 && encoding == 10 || platform == 0):
			score = 3
		case format == 4 && (platform == 3 && encoding == 1 || platform == 0):
			score = 2
		}
		if score > bestScore {
			best, bestScore = int(off), score
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("%w: no Unicode cmap subtable", errBadFont)
	}
	m := map[rune]uint16{}
	format, _ := u16(cmap, best)
	if format == 12 {
		groups, ok := u32(cmap, best+12)
		if !ok || uint64(groups)*12+16 > uint64(len(cmap)-best) {
			return nil, fmt.Errorf("%w: cmap format 12 truncated", errBadFont)
		}
		for g := 0; g < int(groups); g++ {
			p := best + 16 + 12*g
			start, _ := u32(cmap, p)
			end, _ := u32(cmap, p+4)
			gid, _ := u32(cmap, p+8)
			if end < start || end > 0x10FFFF || end-start > 0x10000 {
				continue
			}
			for c := start; c <= end; c++ {
				if g := gid + (c - start); g < 0x10000 {
					m[rune(c)] = uint16(g)
				}
			}
		}
		return m, nil
	}
	segX2, ok := u16(cmap, best+6)
	if !ok || segX2%2 != 0 || best+16+4*segX2 > len(cmap) {
		return nil, fmt.Errorf("%w: cmap format 4 truncated", errBadFont)
	}
	segs := segX2 / 2
	endBase := best + 14
	startBase := endBase + segX2 + 2
	deltaBase := startBase + segX2
	rangeBase := deltaBase + segX2
	for s := 0; s < segs; s++ {
		end, _ := u16(cmap, endBase+2*s)
		start, _ := u16(cmap, startBase+2*s)
		delta, _ := u16(cmap, deltaBase+2*s)
		ro, _ := u16(cmap, rangeBase+2*s)
		if start > end || start == 0xFFFF {
			continue
		}
		for c := start; c <= end; c++ {
			var g int
			if ro == 0 {
				g = (c + delta) & 0xFFFF
			} else {
				addr := rangeBase + 2*s + ro + 2*(c-start)
				v, ok := u16(cmap, addr)
				if !ok || v == 0 {
					continue
				}
				g = (v + delta) & 0xFFFF
			}
			if g != 0 {
				m[rune(c)] = uint16(g)
			}
		}
	}
	return m, nil
}

func (f *ttf) advance(gid int) int {
	if gid >= f.numHMetrics {
		gid = f.numHMetrics - 1
	}
	v, _ := u16(f.tables["hmtx"], 4*gid)
	return v
}

func (f *ttf) lsb(gid int) int {
	hmtx := f.tables["hmtx"]
	if gid < f.numHMetrics {
		v, _ := i16(hmtx, 4*gid+2)
		return v
	}
	v, _ := i16(hmtx, 4*f.numHMetrics+2*(gid-f.numHMetrics))
	return v
}

func (f *ttf) glyph(gid int) []byte {
	if gid < 0 || gid >= f.numGlyphs {
		return nil
	}
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	var a, b int
	if f.locaLong {
		x, _ := u32(loca, 4*gid)
		y, _ := u32(loca, 4*gid+4)
		a, b = int(x), int(y)
	} else {
		x, _ := u16(loca, 2*gid)
		y, _ := u16(loca, 2*gid+2)
		a, b = 2*x, 2*y
	}
	if a >= b || b > len(glyf) {
		return nil
	}
	return glyf[a:b]
}

// components returns the glyph IDs a composite glyph refers to, with the offsets of their glyphIndex fields.
func glyphComponents(g []byte) (gids, offsets []int) {
	if n, ok := i16(g, 0); !ok || n >= 0 {
		return nil, nil
	}
	p := 10
	for range 64 {
		flags, ok := u16(g, p)
		if !ok {
			return gids, offsets
		}
		gid, ok := u16(g, p+2)
		if !ok {
			return gids, offsets
		}
		gids, offsets = append(gids, gid), append(offsets, p+2)
		p += 4
		if flags&0x1 != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x8 != 0:
			p += 2
		case flags&0x40 != 0:
			p += 4
		case flags&0x80 != 0:
			p += 8
		}
		if flags&0x20 == 0 {
			break
		}
	}
	return gids, offsets
}

// fontSubset is an embeddable subset: glyph i of the subset is CID i.
type fontSubset struct {
	data    []byte       // the subset font program (FontFile2)
	cid     map[rune]int // rune → CID (new glyph ID)
	runes   map[int]rune // CID → rune, for ToUnicode
	widths  []int        // per CID, in 1/1000 em
	tag     string       // six-letter subset tag
	missing []rune       // runes the font cannot show (drawn as .notdef)
}

// subset builds a TrueType font holding .notdef and the glyphs for the given runes (plus composite components).
func (f *ttf) subset(text string) (*fontSubset, error) {
	s := &fontSubset{cid: map[rune]int{}, runes: map[int]rune{}}
	var runes []rune
	for _, r := range text {
		if _, seen := s.cid[r]; seen {
			continue
		}
		s.cid[r] = -1
		runes = append(runes, r)
	}
	slices.Sort(runes)
	order := []int{0}
	newID := map[int]int{0: 0}
	for _, r := range runes {
		gid, ok := f.cmap[r]
		if !ok {
			s.missing = append(s.missing, r)
			s.cid[r] = 0
			continue
		}
		id, seen := newID[int(gid)]
		if !seen {
			id = len(order)
			newID[int(gid)] = id
			order = append(order, int(gid))
		}
		s.cid[r] = id
		if _, taken := s.runes[id]; !taken {
			s.runes[id] = r
		}
	}
	// Pull in composite components (breadth first, bounded by the glyph count).
	for i := 0; i < len(order) && len(order) <= f.numGlyphs; i++ {
		comps, _ := glyphComponents(f.glyph(order[i]))
		for _, c := range comps {
			if c >= f.numGlyphs {
				return nil, fmt.Errorf("%w: composite glyph refers to glyph %d of %d", errBadFont, c, f.numGlyphs)
			}
			if _, seen := newID[c]; !seen {
				newID[c] = len(order)
				order = append(order, c)
			}
		}
	}
	n := len(order)
	var glyf []byte
	loca := make([]byte, 4*(n+1))
	hmtx := make([]byte, 4*n)
	s.widths = make([]int, n)
	for i, old := range order {
		binary.BigEndian.PutUint32(loca[4*i:], uint32(len(glyf)))
		g := slices.Clone(f.glyph(old))
		_, offs := glyphComponents(g)
		for _, off := range offs {
			c, _ := u16(g, off)
			binary.BigEndian.PutUint16(g[off:], uint16(newID[c]))
		}
		glyf = append(glyf, g...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		aw := f.advance(old)
		binary.BigEndian.PutUint16(hmtx[4*i:], uint16(aw))
		binary.BigEndian.PutUint16(hmtx[4*i+2:], uint16(int16(f.lsb(old))))
		s.widths[i] = aw * 1000 / f.unitsPerEm
	}
	binary.BigEndian.PutUint32(loca[4*n:], uint32(len(glyf)))

	head := slices.Clone(f.tables["head"])
	if len(head) < 54 {
		return nil, fmt.Errorf("%w: head table truncated", errBadFont)
	}
	binary.BigEndian.PutUint32(head[8:], 0)
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := slices.Clone(f.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], uint16(n))
	maxp := slices.Clone(f.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], uint16(n))
	tables := map[string][]byte{"head": head, "hhea": hhea, "maxp": maxp, "hmtx": hmtx, "loca": loca, "glyf": glyf}
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if t := f.tables[tag]; t != nil {
			tables[tag] = t
		}
	}
	tables["cmap"] = subsetCmap(s.cid)
	if post := f.tables["post"]; len(post) >= 32 {
		p := slices.Clone(post[:32])
		binary.BigEndian.PutUint32(p, 0x00030000)
		tables["post"] = p
	}
	s.data = writeSfnt(tables)
	sum := sha256.Sum256(append([]byte(string(runes)), s.data[:min(len(s.data), 64)]...))
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	s.tag = string(tag)
	return s, nil
}

func sfntChecksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// writeSfnt assembles tables into a TrueType file with a correct directory and head.checkSumAdjustment.
func writeSfnt(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr[0:], 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(16*n-(16<<es)))
	off := len(hdr)
	var body []byte
	headAt := -1
	for i, t := range tags {
		b := tables[t]
		rec := 12 + 16*i
		copy(hdr[rec:], t)
		binary.BigEndian.PutUint32(hdr[rec+4:], sfntChecksum(b))
		binary.BigEndian.PutUint32(hdr[rec+8:], uint32(off+len(body)))
		binary.BigEndian.PutUint32(hdr[rec+12:], uint32(len(b)))
		if t == "head" {
			headAt = off + len(body)
		}
		body = append(body, b...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	out := append(hdr, body...)
	if headAt >= 0 {
		binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-sfntChecksum(out))
	}
	return out
}

// subsetCmap builds a (3,1) format 4 cmap for the BMP runes of the subset: PDF viewers use the CIDToGIDMap, but
// font tools and some viewers expect a cmap in every TrueType program.
func subsetCmap(cid map[rune]int) []byte {
	var codes []int
	for r, id := range cid {
		if r < 0xFFFF && id > 0 {
			codes = append(codes, int(r))
		}
	}
	slices.Sort(codes)
	codes = codes[:min(len(codes), 4000)] // keeps the subtable length within 16 bits
	segs := len(codes) + 1
	sub := make([]byte, 16+8*segs)
	binary.BigEndian.PutUint16(sub[0:], 4)
	binary.BigEndian.PutUint16(sub[2:], uint16(len(sub)))
	binary.BigEndian.PutUint16(sub[6:], uint16(2*segs))
	es := 0
	for 1<<(es+1) <= segs {
		es++
	}
	binary.BigEndian.PutUint16(sub[8:], uint16(2<<es))
	binary.BigEndian.PutUint16(sub[10:], uint16(es))
	binary.BigEndian.PutUint16(sub[12:], uint16(2*segs-(2<<es)))
	end, start, delta := 14, 16+2*segs, 16+4*segs
	for i, c := range codes {
		binary.BigEndian.PutUint16(sub[end+2*i:], uint16(c))
		binary.BigEndian.PutUint16(sub[start+2*i:], uint16(c))
		binary.BigEndian.PutUint16(sub[delta+2*i:], uint16(cid[rune(c)]-c))
	}
	last := len(codes)
	binary.BigEndian.PutUint16(sub[end+2*last:], 0xFFFF)
	binary.BigEndian.PutUint16(sub[start+2*last:], 0xFFFF)
	binary.BigEndian.PutUint16(sub[delta+2*last:], 1)
	hdr := []byte{0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0, 12}
	return append(hdr, sub...)
}
