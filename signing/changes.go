package signing

import (
	"bytes"
	"fmt"
	"math"
	"slices"
)

// Modification is one change after a signature that PAdES does not allow: anything that could alter what a viewer
// shows. Code is stable (the UI translates it); the other fields say what and where; Detail is English for logs
// and the terminal.
type Modification struct {
	Code     string    `json:"code"`
	Revision int       `json:"revision"` // the 1-based revision that makes the change
	Object   int       `json:"object,omitempty"`
	Kind     string    `json:"kind,omitempty"` // page, content, annotation, field, xobject, font, catalog, form, info, object
	Page     int       `json:"page,omitempty"` // 1-based
	Field    string    `json:"field,omitempty"`
	Key      string    `json:"key,omitempty"`
	Subtype  string    `json:"subtype,omitempty"`
	Rect     []float64 `json:"rect,omitempty"`
	Offset   int64     `json:"offset,omitempty"`
	Detail   string    `json:"detail"`
}

// Modification codes.
const (
	ModObjectChanged     = "object_changed"    // an object of the signed document has another value
	ModObjectDeleted     = "object_deleted"    // a later xref frees or drops an object of the signed document
	ModObjectUnreadable  = "object_unreadable" // an object a later revision lists cannot be read
	ModUndefinedDefined  = "undefined_defined" // defines an object the signed document referred to but lacked
	ModCatalogReplaced   = "catalog_replaced"  // the trailer names another document catalog
	ModCatalogChanged    = "catalog_changed"   // a catalog entry other than /DSS changed
	ModFormChanged       = "form_changed"      // the form changed other than by filling declared signature fields
	ModFieldChanged      = "field_changed"     // an unsigned signature field changed other than /V and its appearance
	ModSignedFieldChange = "signed_field_changed"
	ModNewField          = "new_field"
	ModNewAnnotation     = "new_annotation"
	ModAnnotRemoved      = "annotation_removed"
	ModAppearanceOutside = "appearance_outside" // a signature appearance draws outside its field's rectangle
	ModAppearanceUnknown = "appearance_unchecked"
	ModInfoChanged       = "info_changed"
	ModEncrypted         = "encrypted"
	ModXrefUnreadable    = "xref_unreadable"
	ModUnaccountedData   = "unaccounted_data" // bytes in an update that no xref entry accounts for
	ModTrailingData      = "trailing_data"    // non-white bytes after the last %%EOF
	ModTooManyRewrites   = "too_many_rewrites"
	ModHybridXref        = "hybrid_xref" // an existing object redefined only in a hybrid file's /XRefStm
)

// Revision kinds in Report.RevisionKinds.
const (
	RevOriginal     = "original" // up to the first signed revision: not checked
	RevSignature    = "signature"
	RevDocTimestamp = "document_timestamp"
	RevDSS          = "dss"
	RevNone         = "no_change"
	RevModification = "modification"
)

type sigSlot struct {
	name    string
	field   int
	widgets []int
	rect    [4]float64
	page    int
	signed  bool
}

type fill struct {
	field  string
	sigNum int
	docTS  bool
}

// analyzer walks the revisions after the first signed one, comparing each with the document before it.
type analyzer struct {
	f        *pdfFile
	cur      *view
	curStart int64

	inR      numSet       // objects reachable from the trailer, not through the catalog's /DSS
	dangling map[int]bool // numbers that reachable objects refer to but that are not defined
	byStm    map[int][]int

	root       int
	info       int
	acroForm   int
	fieldsArr  int
	pageNo     map[int]int
	annotsArr  map[int]int
	contentsOf map[int]int
	annotOf    map[int]int
	slots      map[int]*sigSlot // field and widget objects of signature fields
	fieldName  map[int]string   // other fields' objects

	mods     []Modification
	kinds    []string
	fills    map[int][]fill // by 0-based revision
	rewrites int
	stopped  bool
}

func newAnalyzer(f *pdfFile, first int) (*analyzer, error) {
	v, err := f.buildView(f.revs[first].startxref, f.revs[first].end)
	if err != nil {
		return nil, err
	}
	a := &analyzer{f: f, cur: v, curStart: f.revs[first].startxref, dangling: map[int]bool{},
		byStm: map[int][]int{}, pageNo: map[int]int{}, annotsArr: map[int]int{}, contentsOf: map[int]int{}, annotOf: map[int]int{},
		slots: map[int]*sigSlot{}, fieldName: map[int]string{}, kinds: make([]string, len(f.revs)), fills: map[int][]fill{},
		acroForm: -1, fieldsArr: -1, info: -1, root: -1}
	for i := 0; i <= first; i++ {
		a.kinds[i] = RevOriginal
	}
	f.endsFrom = f.revs[first].end
	a.index(v)
	return a, nil
}

func (a *analyzer) index(v *view) {
	for n, e := range v.ents {
		if e.kind == 2 {
			a.byStm[e.stm] = append(a.byStm[e.stm], n)
		}
	}
	if r, ok := v.root(); ok {
		a.root = r.num
	}
	if r, ok := refOfP(v.trailer["Info"]); ok {
		a.info = r.num
	}
	cat := v.catalog()
	if r, ok := refOfP(cat["AcroForm"]); ok {
		a.acroForm = r.num
	}
	if r, ok := refOfP(v.dict(cat["AcroForm"])["Fields"]); ok {
		a.fieldsArr = r.num
	}
	for i, p := range v.pages() {
		a.pageNo[p.num] = i + 1
		pd := v.dict(p)
		if r, ok := refOfP(pd["Annots"]); ok {
			a.annotsArr[r.num] = i + 1
		}
		for _, an := range v.array(pd["Annots"]) {
			if r, ok := refOfP(an); ok {
				a.annotOf[r.num] = i + 1
			}
		}
		switch c := pd["Contents"].(type) {
		case pRef:
			a.contentsOf[c.num] = i + 1
			for _, e := range v.array(c) {
				if r, ok := refOfP(e); ok {
					a.contentsOf[r.num] = i + 1
				}
			}
		case pArray:
			for _, e := range c {
				if r, ok := refOfP(e); ok {
					a.contentsOf[r.num] = i + 1
				}
			}
		}
	}
	for _, fl := range v.fields() {
		if fl.ft != "Sig" {
			a.fieldName[fl.ref.num] = fl.name
			for _, w := range fl.widgets {
				a.fieldName[w.num] = fl.name
			}
			continue
		}
		s := &sigSlot{name: fl.name, field: fl.ref.num, signed: v.resolve(fl.value) != nil}
		for _, w := range fl.widgets {
			s.widgets = append(s.widgets, w.num)
			wd := v.dict(w)
			s.rect, _ = rectOf(v, wd["Rect"])
			if p, ok := refOfP(wd["P"]); ok {
				s.page = a.pageNo[p.num]
			}
			if s.page == 0 {
				s.page = a.annotOf[w.num]
			}
			a.slots[w.num] = s
		}
		a.slots[fl.ref.num] = s
	}
	var roots []int
	if a.root >= 0 {
		roots = append(roots, a.root)
	}
	if a.info >= 0 {
		roots = append(roots, a.info)
	}
	a.reach(v, roots)
}

// reach adds to inR everything reachable from nums (the catalog's /DSS excluded).
func (a *analyzer) reach(v *view, nums []int) {
	queue := slices.Clone(nums)
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if a.inR.has(n) {
			continue
		}
		if _, live := v.ents[n]; !live {
			a.dangling[n] = true
			continue
		}
		a.inR.add(n)
		if n != a.root {
			v.refsOf(n, func(r pRef) {
				if !a.inR.has(r.num) {
					queue = append(queue, r.num)
				}
			})
			continue
		}
		o, err := v.get(n)
		if err != nil {
			continue
		}
		if n == a.root {
			if d := dictOf(o); d != nil {
				for k, val := range d {
					if k != "DSS" {
						refsIn(val, func(r pRef) { queue = append(queue, r.num) })
					}
				}
				continue
			}
		}
		refsIn(o, func(r pRef) {
			if !a.inR.has(r.num) {
				queue = append(queue, r.num)
			}
		})
	}
}

func (a *analyzer) mod(m Modification) {
	for _, o := range a.mods {
		if o.Code == m.Code && o.Revision == m.Revision && o.Object == m.Object && o.Key == m.Key && o.Offset == m.Offset {
			return
		}
	}
	if len(a.mods) < 1000 {
		a.mods = append(a.mods, m)
	}
}

// run checks revisions first+1 … last.
func (a *analyzer) run(first int) {
	for k := first + 1; k < len(a.f.revs); k++ {
		if a.stopped {
			a.kinds[k] = RevModification
			continue
		}
		a.revision(k)
	}
}

func (a *analyzer) revision(k int) {
	rev := a.f.revs[k]
	rn := k + 1
	before := len(a.mods)
	defer func() {
		if len(a.mods) > before {
			a.kinds[k] = RevModification
		}
	}()
	unreadable := func(err error) {
		a.mod(Modification{Code: ModXrefUnreadable, Revision: rn, Detail: fmt.Sprintf("revision %d: its cross-reference data cannot be read: %v", rn, err)})
	}
	if rev.err != nil {
		unreadable(rev.err)
		return
	}
	s, err := a.f.section(rev.startxref)
	if err == nil && s.end > rev.end {
		err = fmt.Errorf("xref section runs beyond the revision")
	}
	if err != nil {
		unreadable(err)
		return
	}
	P := a.cur
	var cand []int
	seen := map[int]bool{}
	addCand := func(n int) {
		if !seen[n] {
			seen[n] = true
			cand = append(cand, n)
		}
	}
	linear := s.prev == a.curStart
	var C *view
	if linear {
		for _, n := range s.nums {
			addCand(n)
		}
	} else {
		nv, err := a.f.buildView(rev.startxref, rev.end)
		if err != nil {
			unreadable(err)
			return
		}
		a.rewrites++
		if a.rewrites > maxRewrites {
			a.mod(Modification{Code: ModTooManyRewrites, Revision: rn, Detail: fmt.Sprintf("revision %d: more than %d cross-reference sections that do not extend the previous revision; not checked further", rn, maxRewrites)})
			a.stopped = true
			return
		}
		for n := range P.ents {
			addCand(n)
		}
		for n := range nv.ents {
			addCand(n)
		}
		C = nv
	}
	// Objects stored in an object stream that this revision replaces change with it.
	for _, n := range slices.Clone(cand) {
		if e, ok := P.ents[n]; ok && e.kind == 1 {
			for _, m := range a.byStm[n] {
				if pe, ok := P.ents[m]; ok && pe.kind == 2 && pe.stm == n {
					addCand(m)
				}
			}
		}
	}
	slices.Sort(cand)
	type pv struct {
		o    pObj
		live bool
		gen  int
	}
	old := make(map[int]pv, len(cand))
	for _, n := range cand {
		e, live := P.ents[n]
		o, _ := P.get(n)
		old[n] = pv{o, live, e.gen}
	}
	// A hybrid section's /XRefStm entries are invisible to readers that know only xref tables: redefining an
	// existing object there shows those readers another document.
	for _, n := range s.fromStm {
		if o := old[n]; o.live {
			a.mod(Modification{Code: ModHybridXref, Revision: rn, Object: n, Kind: a.kindOf(n, o.o), Page: a.pageOf(n),
				Detail: fmt.Sprintf("revision %d redefines object %d only in its /XRefStm, which readers of xref tables do not see", rn, n)})
		}
	}
	oldTrailer := P.trailer
	var oldInfo pObj
	if r, ok := refOfP(oldTrailer["Info"]); ok {
		oldInfo, _ = P.get(r.num)
	}
	if linear {
		P = nil // a.cur becomes C in place
		if err := a.cur.extend(s, rev.end); err != nil {
			a.mod(Modification{Code: ModTooManyRewrites, Revision: rn, Detail: fmt.Sprintf("revision %d: %v; not checked further", rn, err)})
			a.stopped = true
			return
		}
		C = a.cur
	} else {
		a.cur = C
		a.byStm = map[int][]int{}
		for n, e := range C.ents {
			if e.kind == 2 {
				a.byStm[e.stm] = append(a.byStm[e.stm], n)
			}
		}
	}
	a.curStart = rev.startxref
	for _, n := range cand {
		if e, ok := C.ents[n]; ok && e.kind == 2 && linear {
			a.byStm[e.stm] = append(a.byStm[e.stm], n)
		}
	}

	// Trailer.
	if r, _ := refOfP(C.trailer["Root"]); r.num != a.root {
		a.mod(Modification{Code: ModCatalogReplaced, Revision: rn, Object: r.num, Kind: "catalog", Detail: fmt.Sprintf("revision %d replaces the document catalog", rn)})
	}
	if _, enc := C.trailer["Encrypt"]; enc {
		a.mod(Modification{Code: ModEncrypted, Revision: rn, Detail: fmt.Sprintf("revision %d encrypts the document", rn)})
	}
	if !equalObj(oldTrailer["Info"], C.trailer["Info"]) {
		// A new /Info object is as good as a rewritten one: only /ModDate and /Producer may differ.
		oi, ni := dictOf(oldInfo), C.dict(C.trailer["Info"])
		for _, k := range diffKeys(oi, ni) {
			if k != "ModDate" && k != "Producer" {
				a.mod(Modification{Code: ModInfoChanged, Revision: rn, Key: k, Kind: "info", Detail: fmt.Sprintf("revision %d points the trailer at another /Info that changes /%s", rn, k)})
			}
		}
		if r, ok := refOfP(C.trailer["Info"]); ok {
			a.info = r.num
			a.reach(C, []int{r.num})
		}
	}

	st := &revState{a: a, C: C, rn: rn, k: k}
	var changedR []int
	for _, n := range cand {
		o := old[n]
		cvE, cLive := C.ents[n]
		var cv pObj
		if cLive {
			var err error
			cv, err = C.get(n)
			if err != nil {
				a.mod(Modification{Code: ModObjectUnreadable, Revision: rn, Object: n, Detail: fmt.Sprintf("revision %d: object %d cannot be read: %v", rn, n, err)})
				continue
			}
		}
		switch {
		case !o.live && !cLive:
			continue
		case o.live && cLive && equalObj(o.o, cv) && o.gen == cvE.gen:
			continue
		case !o.live:
			if a.dangling[n] {
				a.mod(Modification{Code: ModUndefinedDefined, Revision: rn, Object: n, Kind: a.kindOf(n, cv), Page: a.pageOf(n),
					Detail: fmt.Sprintf("revision %d defines object %d, which the signed document referred to without having it", rn, n)})
				delete(a.dangling, n)
			}
			continue
		case !cLive:
			if a.inR.has(n) {
				a.mod(Modification{Code: ModObjectDeleted, Revision: rn, Object: n, Kind: a.kindOf(n, o.o), Page: a.pageOf(n), Field: a.fieldOf(n),
					Detail: fmt.Sprintf("revision %d drops object %d (%s) from the cross-reference data", rn, n, a.kindOf(n, o.o))})
			}
			continue
		}
		if !a.inR.has(n) {
			if r, ok := refOfP(C.catalog()["DSS"]); ok && r.num == n {
				st.dss = true
			}
			continue // validation data, or an object nothing in the document uses
		}
		changedR = append(changedR, n)
		if o.gen != cvE.gen {
			// References "n g R" to the old generation now resolve to null.
			a.mod(Modification{Code: ModObjectChanged, Revision: rn, Object: n, Kind: a.kindOf(n, o.o), Page: a.pageOf(n), Field: a.fieldOf(n), Key: "generation",
				Detail: fmt.Sprintf("revision %d gives object %d (%s) another generation, so references to it no longer resolve", rn, n, a.kindOf(n, o.o))})
			continue
		}
		st.changed(n, o.o, cv)
	}
	// Newly reachable objects.
	for _, n := range changedR {
		o, err := C.get(n)
		if err != nil {
			continue
		}
		var next []int
		if n == a.root {
			for k, val := range dictOf(o) {
				if k != "DSS" {
					refsIn(val, func(r pRef) { next = append(next, r.num) })
				}
			}
		} else {
			refsIn(o, func(r pRef) { next = append(next, r.num) })
		}
		a.reach(C, next)
	}
	for _, fl := range st.fills {
		if s := a.slots[fl.sigNum]; s != nil {
			s.signed = true
		}
	}
	for _, num := range st.filled {
		if s := a.slots[num]; s != nil {
			s.signed = true
		}
	}
	a.fills[k] = st.fills
	a.account(k, s)
	switch {
	case len(a.mods) > before:
	case len(st.fills) > 0 && st.fills[0].docTS:
		a.kinds[k] = RevDocTimestamp
	case len(st.fills) > 0:
		a.kinds[k] = RevSignature
	case st.dss:
		a.kinds[k] = RevDSS
	default:
		a.kinds[k] = RevNone
	}
}

// revState collects what one revision does.
type revState struct {
	a      *analyzer
	C      *view
	rn, k  int
	fills  []fill
	filled []int
	dss    bool
}

func (st *revState) mod(m Modification) {
	m.Revision = st.rn
	st.a.mod(m)
}

func (a *analyzer) pageOf(n int) int {
	for _, m := range []map[int]int{a.pageNo, a.contentsOf, a.annotOf, a.annotsArr} {
		if p := m[n]; p > 0 {
			return p
		}
	}
	if s := a.slots[n]; s != nil {
		return s.page
	}
	return 0
}

func (a *analyzer) fieldOf(n int) string {
	if s := a.slots[n]; s != nil {
		return s.name
	}
	return a.fieldName[n]
}

func (a *analyzer) kindOf(n int, o pObj) string {
	switch {
	case n == a.root:
		return "catalog"
	case n == a.acroForm || n == a.fieldsArr:
		return "form"
	case n == a.info:
		return "info"
	case a.pageNo[n] > 0:
		return "page"
	case a.contentsOf[n] > 0:
		return "content"
	case a.slots[n] != nil || a.fieldName[n] != "":
		return "field"
	case a.annotOf[n] > 0 || a.annotsArr[n] > 0:
		return "annotation"
	}
	d := dictOf(o)
	switch {
	case nameOf(d["Type"]) == "Font" || nameOf(d["Type"]) == "FontDescriptor":
		return "font"
	case nameOf(d["Subtype"]) == "Form" || nameOf(d["Subtype"]) == "Image" || nameOf(d["Type"]) == "XObject":
		return "xobject"
	case nameOf(d["Type"]) == "Annot":
		return "annotation"
	case nameOf(d["Type"]) == "Page" || nameOf(d["Type"]) == "Pages":
		return "page"
	}
	return "object"
}

func (st *revState) changed(n int, pv, cv pObj) {
	a := st.a
	pd, cd := dictOf(pv), dictOf(cv)
	_, pIsStream := pv.(*pStream)
	_, cIsStream := cv.(*pStream)
	generic := func() {
		kind := a.kindOf(n, pv)
		st.mod(Modification{Code: ModObjectChanged, Object: n, Kind: kind, Page: a.pageOf(n), Field: a.fieldOf(n),
			Detail: fmt.Sprintf("revision %d changes object %d (%s%s)", st.rn, n, kind, where(a.pageOf(n), a.fieldOf(n)))})
	}
	if pIsStream || cIsStream || pd == nil || cd == nil {
		if pa, ok := pv.(pArray); ok {
			if ca, ok := cv.(pArray); ok {
				switch {
				case n == a.fieldsArr:
					st.appended(pa, ca, 0, true)
					return
				case a.annotsArr[n] > 0:
					st.appended(pa, ca, a.annotsArr[n], false)
					return
				}
			}
		}
		generic()
		return
	}
	switch s := a.slots[n]; {
	case n == a.root:
		for _, k := range diffKeys(pd, cd) {
			switch k {
			case "DSS", "Extensions":
				st.dss = true
			case "AcroForm":
				pf, ok1 := pd["AcroForm"].(pDict)
				cf, ok2 := cd["AcroForm"].(pDict)
				if ok1 && ok2 {
					st.acroForm(pf, cf)
				} else {
					st.mod(Modification{Code: ModFormChanged, Object: n, Kind: "form", Key: "AcroForm", Detail: fmt.Sprintf("revision %d replaces the form", st.rn)})
				}
			default:
				st.mod(Modification{Code: ModCatalogChanged, Object: n, Kind: "catalog", Key: k, Detail: fmt.Sprintf("revision %d changes the catalog's /%s", st.rn, k)})
			}
		}
	case n == a.acroForm:
		st.acroForm(pd, cd)
	case n == a.info:
		for _, k := range diffKeys(pd, cd) {
			if k != "ModDate" && k != "Producer" {
				st.mod(Modification{Code: ModInfoChanged, Object: n, Kind: "info", Key: k, Detail: fmt.Sprintf("revision %d changes the document information /%s", st.rn, k)})
			}
		}
	case s != nil && s.signed:
		st.mod(Modification{Code: ModSignedFieldChange, Object: n, Kind: "field", Field: s.name, Page: s.page, Rect: s.rect[:],
			Detail: fmt.Sprintf("revision %d changes signature field %q, which is already signed (%v)", st.rn, s.name, diffKeys(pd, cd))})
	case s != nil:
		isField, isWidget := n == s.field, slices.Contains(s.widgets, n)
		for _, k := range diffKeys(pd, cd) {
			switch {
			case k == "V" && isField:
				st.fillField(s, n, cd)
			case k == "AP" && isWidget:
				st.appearance(s, n, cd)
			default:
				st.mod(Modification{Code: ModFieldChanged, Object: n, Kind: "field", Field: s.name, Page: s.page, Rect: s.rect[:], Key: k,
					Detail: fmt.Sprintf("revision %d changes /%s of signature field %q%s", st.rn, k, s.name, where(s.page, ""))})
			}
		}
	case a.pageNo[n] > 0:
		for _, k := range diffKeys(pd, cd) {
			pa, ok1 := pd["Annots"].(pArray)
			ca, ok2 := cd["Annots"].(pArray)
			if pd["Annots"] == nil {
				pa, ok1 = pArray{}, true
			}
			if k == "Annots" && ok1 && ok2 {
				st.appended(pa, ca, a.pageNo[n], false)
				continue
			}
			st.mod(Modification{Code: ModObjectChanged, Object: n, Kind: "page", Page: a.pageNo[n], Key: k,
				Detail: fmt.Sprintf("revision %d changes /%s of page %d", st.rn, k, a.pageNo[n])})
		}
	default:
		generic()
	}
}

func where(page int, field string) string {
	s := ""
	if field != "" {
		s += fmt.Sprintf(", field %q", field)
	}
	if page > 0 {
		s += fmt.Sprintf(", page %d", page)
	}
	return s
}

func (st *revState) acroForm(pd, cd pDict) {
	for _, k := range diffKeys(pd, cd) {
		switch k {
		case "SigFlags":
		case "Fields":
			pa, ok1 := pd["Fields"].(pArray)
			ca, ok2 := cd["Fields"].(pArray)
			if ok1 && ok2 {
				st.appended(pa, ca, 0, true)
				continue
			}
			fallthrough
		default:
			st.mod(Modification{Code: ModFormChanged, Kind: "form", Key: k, Detail: fmt.Sprintf("revision %d changes the form's /%s", st.rn, k)})
		}
	}
}

// appended checks an /Annots or /Fields array that may only grow by document-timestamp fields.
func (st *revState) appended(pa, ca pArray, page int, fields bool) {
	a, C := st.a, st.C
	if len(ca) < len(pa) || !equalObj(pa, ca[:len(pa)]) {
		code, what := ModAnnotRemoved, "annotations"
		if fields {
			code, what = ModFormChanged, "form fields"
		}
		st.mod(Modification{Code: code, Page: page, Kind: map[bool]string{true: "form", false: "annotation"}[fields],
			Detail: fmt.Sprintf("revision %d removes or replaces %s%s", st.rn, what, where(page, ""))})
		return
	}
	for _, e := range ca[len(pa):] {
		r, _ := refOfP(e)
		d := C.dict(e)
		rect, _ := rectOf(C, d["Rect"])
		pg := page
		if p, ok := refOfP(d["P"]); ok && pg == 0 {
			pg = a.pageNo[p.num]
		}
		name := textOf(C.resolve(d["T"]))
		ft := C.name(d["FT"])
		if ft == "" {
			ft = C.name(C.dict(d["Parent"])["FT"])
		}
		newObj := a.slots[r.num] == nil && !a.inR.has(r.num)
		sig := C.dict(d["V"])
		// A new signature field that shows nothing (a document timestamp's, or an invisible signature's) does not
		// change what a viewer draws; any other new field or annotation does.
		flags, _ := intOf(C.resolve(d["F"]))
		invisible := rect[2]-rect[0] == 0 || rect[3]-rect[1] == 0 || flags&(2|32) != 0
		sr, _ := refOfP(d["V"])
		if newObj && ft == "Sig" && invisible && isSigDict(sig) && !a.inR.has(sr.num) {
			if fields {
				st.fills = append(st.fills, fill{field: name, sigNum: r.num, docTS: isDocTimestamp(sig)})
				a.slots[r.num] = &sigSlot{name: name, field: r.num, widgets: []int{r.num}, page: pg, rect: rect, signed: true}
			}
			continue
		}
		switch {
		case fields || nameOf(d["Subtype"]) == "Widget":
			st.mod(Modification{Code: ModNewField, Object: r.num, Kind: "field", Field: name, Page: pg, Rect: rect[:], Subtype: ft,
				Detail: fmt.Sprintf("revision %d adds form field %q%s at %v, which the signed document did not declare", st.rn, name, where(pg, ""), rect)})
		default:
			sub := C.name(d["Subtype"])
			st.mod(Modification{Code: ModNewAnnotation, Object: r.num, Kind: "annotation", Subtype: sub, Page: pg, Rect: rect[:],
				Detail: fmt.Sprintf("revision %d adds a /%s annotation on page %d at %v", st.rn, sub, pg, rect)})
		}
	}
}

func (st *revState) fillField(s *sigSlot, n int, cd pDict) {
	a, C := st.a, st.C
	r, ok := refOfP(cd["V"])
	sig := C.dict(cd["V"])
	if !ok || a.inR.has(r.num) || !isSigDict(sig) {
		st.mod(Modification{Code: ModFieldChanged, Object: n, Kind: "field", Field: s.name, Page: s.page, Rect: s.rect[:], Key: "V",
			Detail: fmt.Sprintf("revision %d sets /V of field %q to something that is not a new signature", st.rn, s.name)})
		return
	}
	st.fills = append(st.fills, fill{field: s.name, sigNum: r.num, docTS: isDocTimestamp(sig)})
	st.filled = append(st.filled, s.field)
}

// appearance checks a new appearance of a declared signature field's widget.
func (st *revState) appearance(s *sigSlot, n int, cd pDict) {
	C := st.C
	ap := C.dict(cd["AP"])
	var streams []pObj
	for _, k := range []string{"N", "D", "R"} {
		o := ap[k]
		if o == nil {
			continue
		}
		if _, isStream := C.resolve(o).(*pStream); isStream {
			streams = append(streams, o)
			continue
		}
		for _, sub := range C.dict(o) {
			streams = append(streams, sub)
		}
	}
	for _, o := range streams {
		p := &painter{v: C, visits: map[int]bool{}}
		bbox, paint, err := p.appearanceExtent(o)
		if err != nil {
			st.mod(Modification{Code: ModAppearanceUnknown, Object: n, Kind: "field", Field: s.name, Page: s.page, Rect: s.rect[:],
				Detail: fmt.Sprintf("revision %d: the appearance of field %q cannot be checked: %v", st.rn, s.name, err)})
			return
		}
		tol := 0.5 + 0.01*math.Max(bbox.x2-bbox.x1, bbox.y2-bbox.y1)
		if !paint.within(bbox, tol) {
			st.mod(Modification{Code: ModAppearanceOutside, Object: n, Kind: "field", Field: s.name, Page: s.page, Rect: s.rect[:],
				Detail: fmt.Sprintf("revision %d: the appearance of field %q draws at [%.1f %.1f %.1f %.1f], outside its box [%.1f %.1f %.1f %.1f]",
					st.rn, s.name, paint.x1, paint.y1, paint.x2, paint.y2, bbox.x1, bbox.y1, bbox.x2, bbox.y2)})
			return
		}
	}
}

// account checks that every byte of revision k belongs to an object its xref lists, to the xref data, or is white
// space, a comment or the closing startxref: an object that only a viewer reconstructing the file would find is
// a change.
func (a *analyzer) account(k int, s *xsection) {
	from, to := a.f.revs[k-1].end, a.f.revs[k].end
	type span struct{ a, b int64 }
	spans := []span{{s.off, s.end}}
	if xo, ok := intOf(s.trailer["XRefStm"]); ok && !s.stream {
		if _, _, _, end, err := a.f.parseIndirectAt(xo, nil); err == nil {
			spans = append(spans, span{xo, end})
		}
	}
	for i, e := range s.ents {
		if e.kind != 1 || e.off < from || e.off >= to {
			continue
		}
		end, ok := a.f.ends[e.off]
		if !ok {
			if _, err := a.cur.get(s.nums[i]); err == nil {
				end, ok = a.f.ends[e.off]
			}
		}
		if ok {
			spans = append(spans, span{e.off, end})
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return int(x.a - y.a) })
	pos := from
	check := func(g0, g1 int64) bool {
		l := &lexer{data: a.f.data[:g1], pos: int(g0)}
		for {
			for l.pos < len(l.data) && isWS(l.data[l.pos]) {
				l.pos++
			}
			if l.pos >= len(l.data) {
				return true
			}
			if l.data[l.pos] == '%' {
				e := l.pos
				for e < len(l.data) && l.data[e] != '\n' && l.data[e] != '\r' {
					e++
				}
				if bytes.Contains(l.data[l.pos:e], []byte("obj")) {
					a.mod(Modification{Code: ModUnaccountedData, Revision: k + 1, Offset: int64(l.pos), Detail: fmt.Sprintf("revision %d: a comment at byte %d holds an object", k+1, l.pos)})
					return false
				}
				l.pos = e
				continue
			}
			at := l.pos
			if string(l.keyword()) == "startxref" {
				if _, ok := l.uint(); ok {
					continue
				}
			}
			a.mod(Modification{Code: ModUnaccountedData, Revision: k + 1, Offset: int64(at), Detail: fmt.Sprintf("revision %d: bytes at %d belong to no object its cross-reference data lists", k+1, at)})
			return false
		}
	}
	for _, sp := range spans {
		if sp.a > pos && !check(pos, min(sp.a, to)) {
			return
		}
		pos = max(pos, sp.b)
	}
	if pos < to {
		check(pos, to)
	}
}

// isSigDict reports whether d is a signature dictionary (/Type /Sig or /DocTimeStamp, or untyped with the
// signature entries).
func isSigDict(d pDict) bool {
	switch nameOf(d["Type"]) {
	case "Sig", "DocTimeStamp":
		return true
	case "":
		_, br := d["ByteRange"]
		_, c := d["Contents"]
		return d != nil && br && c
	}
	return false
}

func isDocTimestamp(d pDict) bool {
	return nameOf(d["Type"]) == "DocTimeStamp" || nameOf(d["SubFilter"]) == "ETSI.RFC3161"
}
