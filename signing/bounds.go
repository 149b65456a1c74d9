package signing

import (
	"errors"
	"fmt"
	"math"
)

// The appearance check: a signature's appearance stream may draw only inside its form's /BBox, which the viewer
// maps onto the field's rectangle. Viewers that do not clip to the /BBox would otherwise show what is drawn outside
// it over the page, so the verifier computes where the content stream paints (paths, images, nested forms, text
// with the fonts' widths, shadings) under the current transformation and clipping and reports anything beyond the
// box. Operators it cannot bound make the check fail.

type box struct{ x1, y1, x2, y2 float64 }

func emptyBox() box { return box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)} }

func (b box) empty() bool { return b.x1 > b.x2 || b.y1 > b.y2 }

func (b *box) add(x, y float64) {
	b.x1, b.y1 = math.Min(b.x1, x), math.Min(b.y1, y)
	b.x2, b.y2 = math.Max(b.x2, x), math.Max(b.y2, y)
}

func (b box) union(c box) box {
	if b.empty() {
		return c
	}
	if c.empty() {
		return b
	}
	return box{math.Min(b.x1, c.x1), math.Min(b.y1, c.y1), math.Max(b.x2, c.x2), math.Max(b.y2, c.y2)}
}

func (b box) intersect(c box) box {
	return box{math.Max(b.x1, c.x1), math.Max(b.y1, c.y1), math.Min(b.x2, c.x2), math.Min(b.y2, c.y2)}
}

func (b box) within(c box, tol float64) bool {
	return b.empty() || (b.x1 >= c.x1-tol && b.y1 >= c.y1-tol && b.x2 <= c.x2+tol && b.y2 <= c.y2+tol)
}

type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

func (m matrix) boxOf(b box) box {
	out := emptyBox()
	for _, p := range [][2]float64{{b.x1, b.y1}, {b.x1, b.y2}, {b.x2, b.y1}, {b.x2, b.y2}} {
		out.add(m.apply(p[0], p[1]))
	}
	return out
}

func matrixOf(v *view, o pObj) (matrix, bool) {
	a := v.array(o)
	if a == nil {
		return identity, o == nil
	}
	if len(a) != 6 {
		return identity, false
	}
	var m matrix
	for i := range 6 {
		x, ok := v.num(a[i])
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return identity, false
		}
		m[i] = x
	}
	return m, true
}

// formPaintBox returns where the form XObject st paints, in its own form space (before /Matrix), clipped to its
// /BBox, and the unclipped extent.
type painter struct {
	v      *view
	ops    int
	depth  int
	visits map[int]bool
}

const maxAppearanceOps = 200000

// appearanceExtent returns the form's /BBox and the extent of what its content paints in form space (unclipped).
func (p *painter) appearanceExtent(o pObj) (bbox box, paint box, err error) {
	st, ok := p.v.resolve(o).(*pStream)
	if !ok {
		return box{}, box{}, errors.New("appearance is not a stream")
	}
	bb, ok := rectOf(p.v, st.dict["BBox"])
	if !ok {
		return box{}, box{}, errors.New("appearance has no /BBox")
	}
	bbox = box{bb[0], bb[1], bb[2], bb[3]}
	paint, err = p.content(st, identity)
	return bbox, paint, err
}

// content returns the extent (in the space given by ctm0) painted by the form stream st.
func (p *painter) content(st *pStream, ctm0 matrix) (box, error) {
	if p.depth > 8 {
		return box{}, errors.New("forms nested too deeply")
	}
	p.depth++
	defer func() { p.depth-- }()
	data, err := p.v.f.budget.decodeStream(st, 8<<20)
	if err != nil {
		return box{}, err
	}
	res := p.v.dict(st.dict["Resources"])
	type gstate struct {
		ctm  matrix
		clip box
		font pDict
		size float64
		th   float64 // horizontal scaling
		cs   float64 // character spacing
		ws   float64 // word spacing
		rise float64
		lead float64
		lw   float64 // line width
	}
	inf := box{math.Inf(-1), math.Inf(-1), math.Inf(1), math.Inf(1)}
	gs := gstate{ctm: ctm0, clip: inf, th: 1, lw: 1}
	var stack []gstate
	out := emptyBox()
	path := emptyBox()
	pendingClip := false
	var tm, tlm matrix
	var operands []pObj
	paint := func(b box) {
		out = out.union(b.intersect(gs.clip))
	}
	num := func(i int) float64 {
		if i < 0 || i >= len(operands) {
			return 0
		}
		x, _ := numOf(operands[i])
		return x
	}
	addPt := func(x, y float64) { path.add(gs.ctm.apply(x, y)) }
	showText := func(s []byte) {
		if gs.font == nil {
			paint(inf) // text without a font cannot be bounded
			return
		}
		w := textAdvance(p.v, gs.font, s, gs.size, gs.cs, gs.ws) * gs.th
		asc := gs.size * 1.2
		trm := matrix{1, 0, 0, 1, 0, gs.rise}.mul(tm).mul(gs.ctm)
		b := emptyBox()
		b.add(trm.apply(0, -0.3*gs.size))
		b.add(trm.apply(w, asc))
		b.add(trm.apply(0, asc))
		b.add(trm.apply(w, -0.3*gs.size))
		paint(b)
		tm = matrix{1, 0, 0, 1, w, 0}.mul(tm)
	}
	l := &lexer{data: data}
	for {
		l.skip()
		if l.pos >= len(l.data) {
			break
		}
		if p.ops++; p.ops > maxAppearanceOps {
			return box{}, errors.New("appearance has too many operators")
		}
		c := l.data[l.pos]
		if isRegular(c) && !(c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) {
			op := string(l.keyword())
			if op == "true" || op == "false" || op == "null" {
				operands = append(operands, op == "true")
				continue
			}
			switch op {
			case "q":
				if len(stack) > 64 {
					return box{}, errors.New("graphics state stack too deep")
				}
				stack = append(stack, gs)
			case "Q":
				if len(stack) > 0 {
					gs = stack[len(stack)-1]
					stack = stack[:len(stack)-1]
				}
			case "cm":
				gs.ctm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}.mul(gs.ctm)
			case "m", "l":
				addPt(num(0), num(1))
			case "c":
				addPt(num(0), num(1))
				addPt(num(2), num(3))
				addPt(num(4), num(5))
			case "v", "y":
				addPt(num(0), num(1))
				addPt(num(2), num(3))
			case "re":
				x, y, w, h := num(0), num(1), num(2), num(3)
				addPt(x, y)
				addPt(x+w, y+h)
				addPt(x, y+h)
				addPt(x+w, y)
			case "h":
			case "W", "W*":
				pendingClip = true
			case "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n":
				if op != "n" {
					// Strokes extend by the line width; allow for it with a margin.
					b := path
					if !b.empty() && (op == "S" || op == "s" || op[0] == 'B' || op[0] == 'b') {
						m := math.Abs(gs.lw) / 2 * math.Max(math.Hypot(gs.ctm[0], gs.ctm[1]), math.Hypot(gs.ctm[2], gs.ctm[3]))
						b = box{b.x1 - m, b.y1 - m, b.x2 + m, b.y2 + m}
					}
					paint(b)
				}
				if pendingClip {
					gs.clip = gs.clip.intersect(path)
					pendingClip = false
				}
				path = emptyBox()
			case "sh":
				paint(inf)
			case "BT":
				tm, tlm = identity, identity
			case "ET":
			case "Tf":
				if len(operands) >= 2 {
					n, _ := operands[0].(pName)
					gs.font = p.v.dict(p.v.dict(res["Font"])[string(n)])
					gs.size = num(1)
				}
			case "Tc":
				gs.cs = num(0)
			case "Tw":
				gs.ws = num(0)
			case "Tz":
				gs.th = num(0) / 100
			case "TL":
				gs.lead = num(0)
			case "Ts":
				gs.rise = num(0)
			case "Td":
				tlm = matrix{1, 0, 0, 1, num(0), num(1)}.mul(tlm)
				tm = tlm
			case "TD":
				gs.lead = -num(1)
				tlm = matrix{1, 0, 0, 1, num(0), num(1)}.mul(tlm)
				tm = tlm
			case "Tm":
				tlm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}
				tm = tlm
			case "T*":
				tlm = matrix{1, 0, 0, 1, 0, -gs.lead}.mul(tlm)
				tm = tlm
			case "Tj", "'", "\"":
				if op != "Tj" {
					tlm = matrix{1, 0, 0, 1, 0, -gs.lead}.mul(tlm)
					tm = tlm
				}
				if len(operands) > 0 {
					s, _ := operands[len(operands)-1].(pString)
					showText(s)
				}
			case "TJ":
				if len(operands) > 0 {
					arr, _ := operands[0].(pArray)
					for _, e := range arr {
						switch x := e.(type) {
						case pString:
							showText(x)
						case int64, float64:
							adj, _ := numOf(x)
							tm = matrix{1, 0, 0, 1, -adj / 1000 * gs.size * gs.th, 0}.mul(tm)
						}
					}
				}
			case "Do":
				if len(operands) == 0 {
					break
				}
				n, _ := operands[0].(pName)
				xr := p.v.dict(res["XObject"])[string(n)]
				xo, ok := p.v.resolve(xr).(*pStream)
				if !ok {
					break
				}
				switch p.v.name(xo.dict["Subtype"]) {
				case "Image":
					paint(gs.ctm.boxOf(box{0, 0, 1, 1}))
				case "Form":
					r, _ := xr.(pRef)
					if p.visits[r.num] {
						return box{}, errors.New("form XObjects refer to themselves")
					}
					p.visits[r.num] = true
					m, ok := matrixOf(p.v, xo.dict["Matrix"])
					bb, ok2 := rectOf(p.v, xo.dict["BBox"])
					if !ok || !ok2 {
						return box{}, errors.New("form XObject without a valid /BBox or /Matrix")
					}
					inner, err := p.content(xo, m.mul(gs.ctm))
					delete(p.visits, r.num)
					if err != nil {
						return box{}, err
					}
					paint(inner.intersect(m.mul(gs.ctm).boxOf(box{bb[0], bb[1], bb[2], bb[3]})))
				default:
					paint(inf)
				}
			case "BI":
				// Inline image: painted into the unit square; skip its data up to EI.
				paint(gs.ctm.boxOf(box{0, 0, 1, 1}))
				if err := skipInlineImage(l); err != nil {
					return box{}, err
				}
			case "EI", "ID":
				return box{}, errors.New("misplaced inline image operator")
			case "w":
				gs.lw = num(0)
			case "d0", "d1", "BX", "EX", "BMC", "BDC", "EMC", "MP", "DP", "gs", "J", "j", "M", "d", "ri", "i",
				"CS", "cs", "SC", "SCN", "sc", "scn", "G", "g", "RG", "rg", "K", "k", "Tr":
			default:
				return box{}, fmt.Errorf("unknown operator %.12q in an appearance", op)
			}
			operands = operands[:0]
			continue
		}
		o, err := l.object(0)
		if err != nil {
			return box{}, err
		}
		if len(operands) > 64 {
			return box{}, errors.New("too many operands")
		}
		operands = append(operands, o)
	}
	return out, nil
}

func skipInlineImage(l *lexer) error {
	for {
		l.skip()
		if l.pos >= len(l.data) {
			return errors.New("unterminated inline image")
		}
		if l.peekKeyword("ID") {
			l.keyword()
			l.pos++
			break
		}
		if _, err := l.object(0); err != nil {
			return err
		}
	}
	for i := l.pos; i+2 <= len(l.data); i++ {
		if l.data[i] == 'E' && l.data[i+1] == 'I' && (i == 0 || isWS(l.data[i-1])) && (i+2 == len(l.data) || !isRegular(l.data[i+2])) {
			l.pos = i + 2
			return nil
		}
	}
	return errors.New("unterminated inline image")
}

// textAdvance is the horizontal advance of s in font f at size, in text space units.
func textAdvance(v *view, f pDict, s []byte, size, cs, ws float64) float64 {
	scale := size / 1000
	if v.name(f["Subtype"]) == "Type0" {
		desc := v.dict(v.array(f["DescendantFonts"]).at(0))
		dw := 1000.0
		if x, ok := v.num(desc["DW"]); ok {
			dw = x
		}
		widths := cidWidths(v, v.array(desc["W"]))
		adv := 0.0
		for i := 0; i+1 < len(s); i += 2 {
			cid := int(s[i])<<8 | int(s[i+1])
			w, ok := widths[cid]
			if !ok {
				w = dw
			}
			adv += math.Max(w, 0)*scale + cs
		}
		return adv
	}
	first, _ := v.num(f["FirstChar"])
	wa := v.array(f["Widths"])
	adv := 0.0
	for _, c := range s {
		w := 1000.0
		if i := int(c) - int(first); i >= 0 && i < len(wa) {
			if x, ok := v.num(wa[i]); ok {
				w = x
			}
		}
		adv += math.Max(w, 0)*scale + cs
		if c == ' ' {
			adv += ws
		}
	}
	return adv
}

func (a pArray) at(i int) pObj {
	if i < len(a) {
		return a[i]
	}
	return nil
}

func cidWidths(v *view, w pArray) map[int]float64 {
	out := map[int]float64{}
	for i := 0; i < len(w) && len(out) < 1<<16; {
		c1, ok := v.num(w[i])
		if !ok || i+1 >= len(w) {
			break
		}
		if arr := v.array(w[i+1]); arr != nil {
			for j, e := range arr {
				if x, ok := v.num(e); ok {
					out[int(c1)+j] = x
				}
			}
			i += 2
			continue
		}
		if i+2 >= len(w) {
			break
		}
		c2, _ := v.num(w[i+1])
		x, _ := v.num(w[i+2])
		for c := int(c1); c <= int(c2) && c-int(c1) < 1<<16; c++ {
			out[c] = x
		}
		i += 3
	}
	return out
}
