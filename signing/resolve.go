package signing

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// The resolver reads a file the way each of its revisions' own trailers and xref sections say, never repairing:
// revision k ends at its %%EOF and is what a viewer given only the first end(k) bytes would show. Every view is
// built from xref sections only (no scanning for objects), and every section is parsed once.

// xentry is one cross-reference entry.
type xentry struct {
	kind byte  // 0 free, 1 in use at off, 2 compressed in object stream stm at index idx
	off  int64 // byte offset (kind 1)
	gen  int   // generation (kind 1)
	stm  int   // object stream number (kind 2)
	idx  int   // index in the object stream (kind 2)
}

func (e xentry) live() bool { return e.kind == 1 || e.kind == 2 }

// xsection is one parsed xref section (table with trailer, or cross-reference stream).
type xsection struct {
	off     int64
	end     int64 // end of the section's bytes (after the trailer dictionary or the stream object)
	nums    []int // object numbers in the order listed
	ents    []xentry
	trailer pDict
	prev    int64 // -1 without /Prev
	stream  bool
	objNum  int   // the xref stream's own object number
	fromStm []int // hybrid file: numbers whose entries come from the /XRefStm stream
}

// revision is one %%EOF-terminated part of the file.
type revision struct {
	end       int64 // offset after %%EOF and its end-of-line
	startxref int64
	err       error // the startxref could not be read
}

// pdfFile is a file read by the resolver.
type pdfFile struct {
	data     []byte
	revs     []revision
	trailing int64 // offset of non-white bytes after the last %%EOF, -1 if none
	sections map[int64]*xsection
	secErr   map[int64]error
	entries  int
	budget   budget
	objstms  map[int64]*objStm // by the object stream's offset
	cache    map[int64]cached  // parsed indirect objects by offset
	ends     map[int64]int64   // end offset of every object read at or after endsFrom, by its offset
	endsFrom int64
}

// numSet is a set of object numbers.
type numSet []uint64

func (s *numSet) add(n int) {
	if n < 0 || n > maxObjectNumber {
		return
	}
	for len(*s) <= n/64 {
		*s = append(*s, 0)
	}
	(*s)[n/64] |= 1 << (n % 64)
}

func (s numSet) has(n int) bool {
	return n >= 0 && n/64 < len(s) && s[n/64]&(1<<(n%64)) != 0
}

type cached struct {
	o        pObj
	num, gen int
	end      int64
}

type objStm struct {
	offs []int // offsets of the objects, relative to data
	nums []int
	data []byte
	err  error
}

var startxrefTail = regexp.MustCompile(`startxref[\x00\t\n\f\r ]+(\d{1,15})[\x00\t\n\f\r ]*$`)

// readPDFFile finds the revisions of data. It fails only when the input is not a PDF or exceeds the limits.
func readPDFFile(data []byte) (*pdfFile, error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	if len(data) > maxPDFBytes {
		return nil, limitErr("the file is larger than %d bytes", maxPDFBytes)
	}
	f := &pdfFile{data: data, trailing: -1, sections: map[int64]*xsection{}, secErr: map[int64]error{}, objstms: map[int64]*objStm{}, cache: map[int64]cached{}, ends: map[int64]int64{}}
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("%%EOF"))
		if j < 0 {
			break
		}
		at := i + j
		i = at + 5
		m := startxrefTail.FindSubmatch(data[max(0, at-64):at])
		if m == nil {
			continue // not the end of a trailer (e.g. inside stream data)
		}
		end := at + 5
		if end < len(data) && data[end] == '\r' {
			end++
		}
		if end < len(data) && data[end] == '\n' {
			end++
		}
		if len(f.revs) >= maxRevisions {
			return nil, limitErr("more than %d revisions", maxRevisions)
		}
		r := revision{end: int64(end)}
		r.startxref, _ = strconv.ParseInt(string(m[1]), 10, 64)
		if r.startxref <= 0 || r.startxref >= int64(at) {
			r.err = fmt.Errorf("startxref %d is outside the revision", r.startxref)
		}
		f.revs = append(f.revs, r)
	}
	if len(f.revs) == 0 {
		return nil, errors.New("signing: parse PDF: no startxref/%%EOF in the file")
	}
	last := f.revs[len(f.revs)-1].end
	for i := last; i < int64(len(data)); i++ {
		if !isWS(data[i]) {
			f.trailing = i
			break
		}
	}
	return f, nil
}

// section parses (once) the xref section at off; limit is the end of the revision it must lie in.
func (f *pdfFile) section(off int64) (*xsection, error) {
	if s, ok := f.sections[off]; ok {
		return s, nil
	}
	if err, ok := f.secErr[off]; ok {
		return nil, err
	}
	s, err := f.parseSection(off)
	if err != nil {
		f.secErr[off] = err
		return nil, err
	}
	f.sections[off] = s
	return s, nil
}

func (f *pdfFile) parseSection(off int64) (*xsection, error) {
	if off <= 0 || off >= int64(len(f.data)) {
		return nil, fmt.Errorf("xref offset %d out of range", off)
	}
	l := &lexer{data: f.data, pos: int(off)}
	if l.peekKeyword("xref") {
		return f.parseTable(l, off)
	}
	return f.parseXrefStream(off)
}

func (f *pdfFile) addEntries(n int) error {
	f.entries += n
	if f.entries > maxXrefEntries {
		return limitErr("more than %d cross-reference entries", maxXrefEntries)
	}
	return nil
}

func (f *pdfFile) parseTable(l *lexer, off int64) (*xsection, error) {
	l.keyword() // xref
	s := &xsection{off: off, prev: -1}
	for {
		if l.peekKeyword("trailer") {
			l.keyword()
			break
		}
		first, ok1 := l.uint()
		count, ok2 := l.uint()
		if !ok1 || !ok2 {
			return nil, parseErr(l.pos, "bad xref subsection header")
		}
		if first+count > maxObjectNumber || count > int64(len(f.data)-l.pos)/18+1 {
			return nil, limitErr("xref subsection %d %d", first, count)
		}
		if err := f.addEntries(int(count)); err != nil {
			return nil, err
		}
		if int64(len(s.nums))+count > maxViewObjects {
			return nil, limitErr("an xref section lists more than %d objects", maxViewObjects)
		}
		for i := int64(0); i < count; i++ {
			o, ok1 := l.uint()
			g, ok2 := l.uint()
			t := l.keyword()
			if !ok1 || !ok2 || len(t) != 1 || (t[0] != 'n' && t[0] != 'f') || g > 65535 {
				return nil, parseErr(l.pos, "bad xref entry")
			}
			e := xentry{kind: 0, gen: int(g)}
			if t[0] == 'n' {
				e.kind, e.off = 1, o
			}
			s.nums = append(s.nums, int(first+i))
			s.ents = append(s.ents, e)
		}
	}
	tr, err := l.object(0)
	if err != nil {
		return nil, err
	}
	td, ok := tr.(pDict)
	if !ok {
		return nil, parseErr(l.pos, "trailer is not a dictionary")
	}
	s.trailer, s.end = td, int64(l.pos)
	if p, ok := td["Prev"]; ok {
		pv, ok := intOf(p)
		if !ok {
			return nil, errors.New("/Prev is not an integer")
		}
		s.prev = pv
	}
	if xs, ok := td["XRefStm"]; ok {
		// Hybrid file: the stream's entries hold the objects the table leaves free.
		xo, ok := intOf(xs)
		if !ok || xo <= 0 || xo >= off {
			return nil, errors.New("bad /XRefStm")
		}
		hs, err := f.parseXrefStream(xo)
		if err != nil {
			return nil, fmt.Errorf("/XRefStm: %w", err)
		}
		listed := map[int]bool{}
		for i, n := range s.nums {
			if s.ents[i].live() {
				listed[n] = true
			}
		}
		var nums []int
		var ents []xentry
		for i, n := range hs.nums {
			if !listed[n] {
				nums, ents = append(nums, n), append(ents, hs.ents[i])
				if hs.ents[i].live() {
					s.fromStm = append(s.fromStm, n)
				}
			}
		}
		for i, n := range s.nums {
			if listed[n] {
				nums, ents = append(nums, n), append(ents, s.ents[i])
			}
		}
		s.nums, s.ents = nums, ents
	}
	return s, nil
}

func (f *pdfFile) parseXrefStream(off int64) (*xsection, error) {
	// The stream's /Length must be direct: there is no xref yet to resolve a reference with.
	num, _, o, end, err := f.parseIndirectAt(off, nil)
	if err != nil {
		return nil, fmt.Errorf("xref stream: %w", err)
	}
	st, ok := o.(*pStream)
	if !ok || nameOf(st.dict["Type"]) != "XRef" {
		return nil, errors.New("startxref points at neither an xref table nor an xref stream")
	}
	s := &xsection{off: off, end: end, prev: -1, stream: true, objNum: num, trailer: st.dict}
	size, ok := intOf(st.dict["Size"])
	if !ok || size < 0 || size > maxObjectNumber {
		return nil, errors.New("xref stream: bad /Size")
	}
	wa, _ := st.dict["W"].(pArray)
	if len(wa) != 3 {
		return nil, errors.New("xref stream: bad /W")
	}
	var w [3]int
	width := 0
	for i := range 3 {
		v, ok := intOf(wa[i])
		if !ok || v < 0 || v > 8 {
			return nil, errors.New("xref stream: bad /W")
		}
		w[i] = int(v)
		width += w[i]
	}
	if width == 0 || w[1] == 0 {
		return nil, errors.New("xref stream: bad /W")
	}
	index := pArray{int64(0), size}
	if ix, ok := st.dict["Index"].(pArray); ok {
		index = ix
	}
	if len(index)%2 != 0 {
		return nil, errors.New("xref stream: bad /Index")
	}
	total := int64(0)
	for i := 0; i < len(index); i += 2 {
		a, ok1 := intOf(index[i])
		c, ok2 := intOf(index[i+1])
		if !ok1 || !ok2 || a < 0 || c < 0 || a+c > maxObjectNumber {
			return nil, errors.New("xref stream: bad /Index")
		}
		total += c
	}
	if total > maxObjectNumber {
		return nil, limitErr("xref stream lists %d objects", total)
	}
	if err := f.addEntries(int(total)); err != nil {
		return nil, err
	}
	// Decode no more than the entries need: a stream that inflates further is rejected without inflating it all.
	// A PNG predictor (qpdf writes /Predictor 12) adds a tag byte to every row before deflating: allow for it.
	want := total * int64(width)
	raw, err := f.budget.decodeStream(st, want+total+int64(width)+16)
	if err != nil {
		return nil, fmt.Errorf("xref stream: %w", err)
	}
	if int64(len(raw)) < want {
		return nil, errors.New("xref stream: data shorter than its entries")
	}
	field := func(b []byte) int64 {
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	p := 0
	for i := 0; i < len(index); i += 2 {
		a, _ := intOf(index[i])
		c, _ := intOf(index[i+1])
		for n := a; n < a+c; n++ {
			t := int64(1)
			if w[0] > 0 {
				t = field(raw[p : p+w[0]])
			}
			f2 := field(raw[p+w[0] : p+w[0]+w[1]])
			f3 := field(raw[p+w[0]+w[1] : p+width])
			p += width
			var e xentry
			switch t {
			case 0:
				e = xentry{kind: 0, gen: int(f3)}
			case 1:
				e = xentry{kind: 1, off: f2, gen: int(f3)}
			case 2:
				e = xentry{kind: 2, stm: int(f2), idx: int(f3)}
			default:
				e = xentry{kind: 0} // unknown types are null references
			}
			s.nums = append(s.nums, int(n))
			s.ents = append(s.ents, e)
		}
	}
	if pv, ok := st.dict["Prev"]; ok {
		v, ok := intOf(pv)
		if !ok {
			return nil, errors.New("/Prev is not an integer")
		}
		s.prev = v
	}
	return s, nil
}

// view is the document as one xref chain resolves it.
type view struct {
	f       *pdfFile
	ents    map[int]xentry
	trailer pDict // the newest trailer of the chain
	chain   []int64
	limit   int64 // objects must lie before this offset
}

// chainOf returns the sections of the /Prev chain starting at off, newest first.
func (f *pdfFile) chainOf(off, limit int64) ([]*xsection, error) {
	var out []*xsection
	seen := map[int64]bool{}
	for at := off; at >= 0; {
		if seen[at] {
			return nil, errors.New("the /Prev chain loops")
		}
		if len(out) >= maxXrefChain {
			return nil, limitErr("more than %d xref sections in a chain", maxXrefChain)
		}
		seen[at] = true
		if at >= limit {
			return nil, fmt.Errorf("xref section at %d lies beyond the revision", at)
		}
		s, err := f.section(at)
		if err != nil {
			return nil, err
		}
		if s.end > limit {
			return nil, fmt.Errorf("xref section at %d runs beyond the revision", at)
		}
		out = append(out, s)
		if s.prev >= 0 && s.prev >= at {
			return nil, fmt.Errorf("/Prev %d does not point backwards", s.prev)
		}
		at = s.prev
	}
	return out, nil
}

// entryAt returns object num's entry in the view of the chain starting at off, without building the view.
func (f *pdfFile) entryAt(off, limit int64, num int) (xentry, bool, error) {
	chain, err := f.chainOf(off, limit)
	if err != nil {
		return xentry{}, false, err
	}
	for _, s := range chain {
		for i, n := range s.nums {
			if n == num {
				return s.ents[i], s.ents[i].live(), nil
			}
		}
	}
	return xentry{}, false, nil
}

// buildView resolves the chain starting at off from scratch.
func (f *pdfFile) buildView(off, limit int64) (*view, error) {
	chain, err := f.chainOf(off, limit)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, s := range chain {
		total += len(s.nums)
	}
	v := &view{f: f, ents: make(map[int]xentry, min(total, maxViewObjects)), trailer: chain[0].trailer, limit: limit}
	for i := len(chain) - 1; i >= 0; i-- {
		v.apply(chain[i])
		v.chain = append(v.chain, chain[i].off)
		if len(v.ents) > maxViewObjects {
			return nil, limitErr("more than %d objects", maxViewObjects)
		}
	}
	if len(v.ents) > maxViewObjects {
		return nil, limitErr("more than %d objects", maxViewObjects)
	}
	return v, nil
}

// apply overlays one section's entries (in a section, the first entry for a number counts, so they are applied
// last to first).
func (v *view) apply(s *xsection) {
	for i := len(s.nums) - 1; i >= 0; i-- {
		n := s.nums[i]
		if s.ents[i].live() {
			v.ents[n] = s.ents[i]
		} else {
			delete(v.ents, n)
		}
	}
}

// extend returns a copy-free successor view: v itself updated with s (v is consumed).
func (v *view) extend(s *xsection, limit int64) error {
	v.apply(s)
	if len(v.ents) > maxViewObjects {
		return limitErr("more than %d objects", maxViewObjects)
	}
	v.trailer = s.trailer
	v.chain = append(v.chain, s.off)
	v.limit = limit
	return nil
}

func (v *view) clone() *view {
	c := &view{f: v.f, ents: make(map[int]xentry, len(v.ents)), trailer: v.trailer, chain: append([]int64(nil), v.chain...), limit: v.limit}
	for k, e := range v.ents {
		c.ents[k] = e
	}
	return c
}

// parseIndirectAt parses "n g obj … endobj" at off. length resolves an indirect /Length (nil: refuse one).
func (f *pdfFile) parseIndirectAt(off int64, length func(pRef) (int64, bool)) (num, gen int, o pObj, end int64, err error) {
	if off < 0 || off >= int64(len(f.data)) {
		return 0, 0, nil, 0, fmt.Errorf("object offset %d out of range", off)
	}
	l := &lexer{data: f.data, pos: int(off)}
	n, ok1 := l.uint()
	g, ok2 := l.uint()
	if !ok1 || !ok2 || string(l.keyword()) != "obj" {
		return 0, 0, nil, 0, parseErr(int(off), "no object header")
	}
	o, err = l.object(0)
	if err != nil {
		return 0, 0, nil, 0, err
	}
	save := l.pos
	if d, isDict := o.(pDict); isDict && string(l.keyword()) == "stream" {
		p := l.pos
		if p < len(f.data) && f.data[p] == '\r' {
			p++
		}
		if p < len(f.data) && f.data[p] == '\n' {
			p++
		} else if p > 0 && f.data[p-1] != '\r' {
			return 0, 0, nil, 0, parseErr(p, "stream keyword not followed by an end of line")
		}
		var ln int64
		switch lv := d["Length"].(type) {
		case int64:
			ln = lv
		case pRef:
			if length == nil {
				return 0, 0, nil, 0, parseErr(p, "indirect /Length where none can be resolved")
			}
			v, ok := length(lv)
			if !ok {
				return 0, 0, nil, 0, parseErr(p, "stream /Length %s cannot be resolved", lv)
			}
			ln = v
		default:
			return 0, 0, nil, 0, parseErr(p, "stream without a valid /Length")
		}
		if ln < 0 || int64(p)+ln > int64(len(f.data)) {
			return 0, 0, nil, 0, parseErr(p, "stream /Length runs beyond the file")
		}
		st := &pStream{dict: d, raw: f.data[p : int64(p)+ln], at: int64(p)}
		l.pos = p + int(ln)
		if string(l.keyword()) != "endstream" {
			// A /Length that does not end at endstream is read differently by different viewers.
			return 0, 0, nil, 0, parseErr(l.pos, "stream /Length does not end at endstream")
		}
		o = st
	} else {
		l.pos = save
	}
	if string(l.keyword()) != "endobj" {
		return 0, 0, nil, 0, parseErr(l.pos, "object %d not closed by endobj", n)
	}
	return int(n), int(g), o, int64(l.pos), nil
}

// get returns the value of object n in the view (nil for a missing object) and an error when the entry cannot
// be read.
func (v *view) get(n int) (pObj, error) {
	return v.getDepth(n, 0)
}

func (v *view) getDepth(n, depth int) (pObj, error) {
	e, ok := v.ents[n]
	if !ok {
		return nil, nil
	}
	if depth > 4 {
		return nil, errors.New("references nested too deeply")
	}
	switch e.kind {
	case 1:
		if e.off >= v.limit {
			return nil, fmt.Errorf("object %d lies beyond its revision", n)
		}
		var lenRef *pRef
		c, hit := v.f.cache[e.off]
		num, gen, o, end := c.num, c.gen, c.o, c.end
		var err error
		if !hit {
			num, gen, o, end, err = v.f.parseIndirectAt(e.off, func(r pRef) (int64, bool) {
				lenRef = &r
				lo, err := v.getDepth(r.num, depth+1)
				if err != nil {
					return 0, false
				}
				x, ok := intOf(lo)
				return x, ok
			})
		}
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", n, err)
		}
		if end > v.limit {
			return nil, fmt.Errorf("object %d runs beyond its revision", n)
		}
		if num != n || gen != e.gen {
			return nil, fmt.Errorf("xref entry for object %d points at object %d %d", n, num, gen)
		}
		if e.off >= v.f.endsFrom {
			v.f.ends[e.off] = end
		}
		if _, isArr := o.(pArray); !hit && lenRef == nil && !isArr {
			v.f.cache[e.off] = cached{o: o, num: num, gen: gen, end: end}
		}
		return o, nil
	case 2:
		se, ok := v.ents[e.stm]
		if !ok || se.kind != 1 || e.stm == n {
			return nil, fmt.Errorf("object %d: object stream %d is missing", n, e.stm)
		}
		os, err := v.objStm(e.stm, se, depth)
		if err != nil {
			return nil, fmt.Errorf("object %d: object stream %d: %w", n, e.stm, err)
		}
		if e.idx < 0 || e.idx >= len(os.offs) || os.nums[e.idx] != n {
			return nil, fmt.Errorf("object %d is not at index %d of object stream %d", n, e.idx, e.stm)
		}
		l := &lexer{data: os.data, pos: os.offs[e.idx]}
		o, err := l.object(0)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", n, err)
		}
		return o, nil
	}
	return nil, nil
}

func (v *view) objStm(n int, e xentry, depth int) (*objStm, error) {
	if os, ok := v.f.objstms[e.off]; ok {
		return os, os.err
	}
	os := &objStm{}
	v.f.objstms[e.off] = os
	os.err = func() error {
		o, err := v.getDepth(n, depth+1)
		if err != nil {
			return err
		}
		st, ok := o.(*pStream)
		if !ok || nameOf(st.dict["Type"]) != "ObjStm" {
			return errors.New("not an object stream")
		}
		if _, ext := st.dict["Extends"]; ext {
			return errors.New("/Extends is not supported")
		}
		cnt, ok1 := intOf(st.dict["N"])
		first, ok2 := intOf(st.dict["First"])
		if !ok1 || !ok2 || cnt < 0 || cnt > maxObjStmObjects || first < 0 {
			return errors.New("bad /N or /First")
		}
		data, err := v.f.budget.decodeStream(st, 0)
		if err != nil {
			return err
		}
		if first > int64(len(data)) {
			return errors.New("/First beyond the data")
		}
		l := &lexer{data: data[:first]}
		for i := int64(0); i < cnt; i++ {
			num, ok1 := l.uint()
			off, ok2 := l.uint()
			if !ok1 || !ok2 || first+off >= int64(len(data)) {
				return errors.New("bad object stream header")
			}
			os.nums = append(os.nums, int(num))
			os.offs = append(os.offs, int(first+off))
		}
		os.data = data
		return nil
	}()
	return os, os.err
}

// resolve follows a reference (one level); other values are returned as they are.
func (v *view) resolve(o pObj) pObj {
	for i := 0; i < 8; i++ {
		r, ok := o.(pRef)
		if !ok {
			return o
		}
		e, ok := v.ents[r.num]
		if !ok || (e.kind == 1 && e.gen != r.gen) {
			return nil
		}
		o, _ = v.get(r.num)
	}
	return nil
}

func (v *view) dict(o pObj) pDict   { return dictOf(v.resolve(o)) }
func (v *view) array(o pObj) pArray { a, _ := v.resolve(o).(pArray); return a }
func (v *view) name(o pObj) string  { return nameOf(v.resolve(o)) }
func (v *view) num(o pObj) (float64, bool) {
	return numOf(v.resolve(o))
}

func (v *view) root() (pRef, bool) { return refOfP(v.trailer["Root"]) }

func (v *view) catalog() pDict {
	r, ok := v.root()
	if !ok {
		return nil
	}
	return v.dict(r)
}

// streamData decodes a stream object.
func (v *view) streamData(o pObj, limit int64) ([]byte, error) {
	st, ok := v.resolve(o).(*pStream)
	if !ok {
		return nil, errors.New("not a stream")
	}
	return v.f.budget.decodeStream(st, limit)
}

// pages returns the page objects in order.
func (v *view) pages() []pRef {
	var out []pRef
	seen := map[int]bool{}
	var walk func(o pObj, depth int)
	walk = func(o pObj, depth int) {
		r, ok := o.(pRef)
		if !ok || seen[r.num] || depth > 64 || len(out) > 100000 {
			return
		}
		seen[r.num] = true
		node := v.dict(r)
		if node == nil {
			return
		}
		kids, hasKids := node["Kids"]
		if nameOf(node["Type"]) == "Page" || !hasKids {
			out = append(out, r)
			return
		}
		for _, k := range v.array(kids) {
			walk(k, depth+1)
		}
	}
	if cat := v.catalog(); cat != nil {
		walk(cat["Pages"], 0)
	}
	return out
}

// field is a terminal form field with its widgets.
type field struct {
	name    string
	ref     pRef
	dict    pDict
	ft      string // inherited field type
	value   pObj   // /V (inheritable)
	widgets []pRef // widget annotations (== ref when merged)
}

// fields walks the AcroForm field tree.
func (v *view) fields() []field {
	cat := v.catalog()
	af := v.dict(cat["AcroForm"])
	if af == nil {
		return nil
	}
	var out []field
	seen := map[int]bool{}
	var walk func(o pObj, parent, ft string, val pObj, depth int)
	walk = func(o pObj, parent, ft string, val pObj, depth int) {
		r, ok := o.(pRef)
		if !ok || seen[r.num] || depth > 32 || len(seen) > 20000 {
			return
		}
		seen[r.num] = true
		d := v.dict(r)
		if d == nil {
			return
		}
		name := parent
		if t := textOf(v.resolve(d["T"])); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		if n := v.name(d["FT"]); n != "" {
			ft = n
		}
		if x, ok := d["V"]; ok {
			val = x
		}
		var widgets []pRef
		for _, k := range v.array(d["Kids"]) {
			kd := v.dict(k)
			if kd == nil {
				continue
			}
			if _, hasT := kd["T"]; hasT || (kd["Subtype"] == nil && kd["Kids"] != nil) {
				walk(k, name, ft, val, depth+1)
				continue
			}
			if kr, ok := k.(pRef); ok {
				widgets = append(widgets, kr)
			}
		}
		if _, hasKids := d["Kids"]; !hasKids {
			widgets = []pRef{r}
		}
		if len(widgets) > 0 {
			out = append(out, field{name: name, ref: r, dict: d, ft: ft, value: val, widgets: widgets})
		}
	}
	for _, fo := range v.array(af["Fields"]) {
		walk(fo, "", "", nil, 0)
	}
	return out
}

func rectOf(v *view, o pObj) ([4]float64, bool) {
	var r [4]float64
	a := v.array(o)
	if len(a) != 4 {
		return r, false
	}
	for i := range 4 {
		x, ok := v.num(a[i])
		if !ok {
			return r, false
		}
		r[i] = x
	}
	if r[0] > r[2] {
		r[0], r[2] = r[2], r[0]
	}
	if r[1] > r[3] {
		r[1], r[3] = r[3], r[1]
	}
	return r, true
}

// refsOf calls f for every reference inside object n without building its value (the revision analysis walks
// every reachable object of the signed document this way). It falls back to a full parse where the quick scan
// cannot tell (object streams, an indirect stream /Length, anything malformed).
func (v *view) refsOf(n int, f func(pRef)) error {
	e, ok := v.ents[n]
	if !ok {
		return nil
	}
	if e.kind == 1 && e.off < v.limit {
		if refs, ok := v.f.scanRefs(e.off, n, e.gen, v.limit); ok {
			for _, r := range refs {
				f(r)
			}
			return nil
		}
	}
	o, err := v.get(n)
	if err != nil {
		return err
	}
	refsIn(o, f)
	return nil
}

// scanRefs scans "n g obj … endobj" at off for references; ok is false when a full parse is needed.
func (f *pdfFile) scanRefs(off int64, num, gen int, limit int64) (refs []pRef, ok bool) {
	data := f.data[:limit]
	l := &lexer{data: data, pos: int(off)}
	n, ok1 := l.uint()
	g, ok2 := l.uint()
	if !ok1 || !ok2 || int(n) != num || int(g) != gen || string(l.keyword()) != "obj" {
		return nil, false
	}
	depth := 0
	var nums [2]int64 // the last two integers, for "n g R"
	nn := 0
	lengthNext := false
	length := int64(-1)
	for {
		l.skip()
		if l.pos >= len(data) {
			return nil, false
		}
		c := data[l.pos]
		switch {
		case c == '(':
			d := 0
			for l.pos < len(data) {
				ch := data[l.pos]
				l.pos++
				if ch == '\\' {
					l.pos++
					continue
				}
				if ch == '(' {
					d++
				} else if ch == ')' {
					d--
					if d == 0 {
						break
					}
				}
			}
			nn, lengthNext = 0, false
		case c == '<' && l.pos+1 < len(data) && data[l.pos+1] == '<':
			l.pos += 2
			depth++
			nn = 0
		case c == '>' && l.pos+1 < len(data) && data[l.pos+1] == '>':
			l.pos += 2
			depth--
			nn = 0
		case c == '<':
			e := bytes.IndexByte(data[l.pos:], '>')
			if e < 0 {
				return nil, false
			}
			l.pos += e + 1
			nn, lengthNext = 0, false
		case c == '[' || c == ']' || c == '{' || c == '}':
			l.pos++
			nn = 0
		case c == '/':
			s := l.pos
			l.pos++
			for l.pos < len(data) && isRegular(data[l.pos]) {
				l.pos++
			}
			lengthNext = depth == 1 && string(data[s:l.pos]) == "/Length"
			nn = 0
		case c >= '0' && c <= '9':
			x, okNum := l.uint()
			if !okNum {
				for l.pos < len(data) && isRegular(data[l.pos]) {
					l.pos++
				}
				nn, lengthNext = 0, false
				continue
			}
			if lengthNext {
				length, lengthNext = x, false
			}
			nums[0], nums[1] = nums[1], x
			if nn < 2 {
				nn++
			}
		case isRegular(c):
			k := string(l.keyword())
			switch k {
			case "R":
				if nn < 2 {
					return nil, false
				}
				refs = append(refs, pRef{int(nums[0]), int(nums[1])})
				if length == nums[1] && depth == 1 {
					return nil, false // an indirect /Length: let the full parser resolve it
				}
			case "endobj":
				return refs, depth == 0
			case "stream":
				if depth != 0 || length < 0 {
					return nil, false
				}
				p := l.pos
				if p < len(data) && data[p] == '\r' {
					p++
				}
				if p < len(data) && data[p] == '\n' {
					p++
				}
				if int64(p)+length > int64(len(data)) {
					return nil, false
				}
				l.pos = p + int(length)
				if string(l.keyword()) != "endstream" {
					return nil, false
				}
			default:
				// numbers with signs or fractions, true/false/null
				if k == "" {
					return nil, false
				}
			}
			nn = 0
		default:
			return nil, false
		}
	}
}
