package signing

// A small, bounded PDF object parser for the verifier. Verify does not use pdfcpu: it must read every revision of a
// possibly hostile file exactly as the bytes and each trailer say, without repairing anything, in bounded time and
// memory (see limits.go). The object model is plain Go values:
//
//	null → nil, true/false → bool, integer → int64, real → float64, string → pString, name → pName,
//	array → pArray, dictionary → pDict, indirect reference → pRef, stream → *pStream.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

type (
	pObj    = any
	pName   string
	pString []byte
	pArray  []pObj
	pDict   map[string]pObj
	pRef    struct{ num, gen int }
	pStream struct {
		dict pDict
		raw  []byte // the encoded data, a slice of the file
		at   int64  // offset of the data in the file
	}
)

func (r pRef) String() string { return fmt.Sprintf("%d %d R", r.num, r.gen) }

var errParse = errors.New("malformed PDF object")

func parseErr(at int, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errParse, at, fmt.Sprintf(format, args...))
}

const maxObjDepth = 48

func isWS(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isWS(c) && !isDelim(c) }

// lexer reads objects from data starting at pos.
type lexer struct {
	data []byte
	pos  int
}

// skip skips white space and comments.
func (l *lexer) skip() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		switch {
		case isWS(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// keyword reads a run of regular characters.
func (l *lexer) keyword() []byte {
	l.skip()
	s := l.pos
	for l.pos < len(l.data) && isRegular(l.data[l.pos]) {
		l.pos++
	}
	return l.data[s:l.pos]
}

// peekKeyword reports whether the next token is kw (without consuming it).
func (l *lexer) peekKeyword(kw string) bool {
	save := l.pos
	k := l.keyword()
	l.pos = save
	return string(k) == kw
}

// uint reads an unsigned decimal integer token.
func (l *lexer) uint() (int64, bool) {
	l.skip()
	s := l.pos
	for l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '9' && l.pos-s < 18 {
		l.pos++
	}
	if l.pos == s || (l.pos < len(l.data) && isRegular(l.data[l.pos])) {
		l.pos = s
		return 0, false
	}
	n, err := strconv.ParseInt(string(l.data[s:l.pos]), 10, 64)
	return n, err == nil
}

// object parses one direct object (references "n g R" included).
func (l *lexer) object(depth int) (pObj, error) {
	if depth > maxObjDepth {
		return nil, parseErr(l.pos, "objects nested too deeply")
	}
	l.skip()
	if l.pos >= len(l.data) {
		return nil, parseErr(l.pos, "unexpected end of data")
	}
	switch c := l.data[l.pos]; {
	case c == '/':
		return l.name()
	case c == '(':
		return l.literal()
	case c == '<' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '<':
		return l.dict(depth)
	case c == '<':
		return l.hex()
	case c == '[':
		l.pos++
		arr := pArray{}
		for {
			l.skip()
			if l.pos >= len(l.data) {
				return nil, parseErr(l.pos, "unterminated array")
			}
			if l.data[l.pos] == ']' {
				l.pos++
				return arr, nil
			}
			o, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, o)
		}
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return l.number()
	case isRegular(c):
		start := l.pos
		switch k := string(l.keyword()); k {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		default:
			return nil, parseErr(start, "unexpected keyword %.20q", k)
		}
	default:
		return nil, parseErr(l.pos, "unexpected character %q", c)
	}
}

func (l *lexer) number() (pObj, error) {
	start := l.pos
	for l.pos < len(l.data) && isRegular(l.data[l.pos]) {
		l.pos++
	}
	tok := string(l.data[start:l.pos])
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		// "n g R"?
		if n >= 0 && n <= maxObjectNumber {
			save := l.pos
			if g, ok := l.uint(); ok && g <= 65535 {
				l.skip()
				if l.pos < len(l.data) && l.data[l.pos] == 'R' && (l.pos+1 == len(l.data) || !isRegular(l.data[l.pos+1])) {
					l.pos++
					return pRef{int(n), int(g)}, nil
				}
			}
			l.pos = save
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil || len(tok) > 40 {
		return nil, parseErr(start, "bad number %.20q", tok)
	}
	return f, nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (l *lexer) name() (pObj, error) {
	l.pos++ // '/'
	var b []byte
	for l.pos < len(l.data) && isRegular(l.data[l.pos]) {
		c := l.data[l.pos]
		if c == '#' && l.pos+2 < len(l.data) && hexVal(l.data[l.pos+1]) >= 0 && hexVal(l.data[l.pos+2]) >= 0 {
			b = append(b, byte(hexVal(l.data[l.pos+1])<<4|hexVal(l.data[l.pos+2])))
			l.pos += 3
			continue
		}
		b = append(b, c)
		l.pos++
	}
	return pName(b), nil
}

func (l *lexer) literal() (pObj, error) {
	start := l.pos
	l.pos++ // '('
	depth := 1
	var b []byte
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return pString(b), nil
			}
		case '\\':
			if l.pos >= len(l.data) {
				return nil, parseErr(start, "unterminated string")
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '7'; k++ {
						v = v*8 + int(l.data[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		b = append(b, c)
	}
	return nil, parseErr(start, "unterminated string")
}

func (l *lexer) hex() (pObj, error) {
	start := l.pos
	l.pos++ // '<'
	var b []byte
	hi := -1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		if c == '>' {
			if hi >= 0 {
				b = append(b, byte(hi<<4))
			}
			return pString(b), nil
		}
		if isWS(c) {
			continue
		}
		v := hexVal(c)
		if v < 0 {
			return nil, parseErr(l.pos-1, "bad hex string")
		}
		if hi < 0 {
			hi = v
		} else {
			b = append(b, byte(hi<<4|v))
			hi = -1
		}
	}
	return nil, parseErr(start, "unterminated hex string")
}

func (l *lexer) dict(depth int) (pObj, error) {
	start := l.pos
	l.pos += 2
	d := pDict{}
	for {
		l.skip()
		if l.pos+1 < len(l.data) && l.data[l.pos] == '>' && l.data[l.pos+1] == '>' {
			l.pos += 2
			return d, nil
		}
		if l.pos >= len(l.data) {
			return nil, parseErr(start, "unterminated dictionary")
		}
		if l.data[l.pos] != '/' {
			return nil, parseErr(l.pos, "dictionary key is not a name")
		}
		k, _ := l.name()
		v, err := l.object(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := d[string(k.(pName))]; dup {
			// Viewers disagree on which of two equal keys wins: refuse the ambiguity.
			return nil, parseErr(l.pos, "duplicate key /%s", k)
		}
		d[string(k.(pName))] = v
	}
}

// Helpers on values.

func dictOf(o pObj) pDict {
	switch v := o.(type) {
	case pDict:
		return v
	case *pStream:
		return v.dict
	}
	return nil
}

func nameOf(o pObj) string {
	n, _ := o.(pName)
	return string(n)
}

func numOf(o pObj) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func intOf(o pObj) (int64, bool) {
	v, ok := o.(int64)
	return v, ok
}

func refOfP(o pObj) (pRef, bool) {
	r, ok := o.(pRef)
	return r, ok
}

// equalObj compares two values structurally (references compare by number and generation).
func equalObj(a, b pObj) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, float64, pName, pRef:
		return a == b
	case pString:
		y, ok := b.(pString)
		return ok && bytes.Equal(x, y)
	case pArray:
		y, ok := b.(pArray)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalObj(x[i], y[i]) {
				return false
			}
		}
		return true
	case pDict:
		y, ok := b.(pDict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalObj(v, w) {
				return false
			}
		}
		return true
	case *pStream:
		y, ok := b.(*pStream)
		return ok && equalObj(x.dict, y.dict) && bytes.Equal(x.raw, y.raw)
	}
	return false
}

// refsIn calls f for every reference inside o (not following them).
func refsIn(o pObj, f func(pRef)) {
	switch v := o.(type) {
	case pRef:
		f(v)
	case pArray:
		for _, e := range v {
			refsIn(e, f)
		}
	case pDict:
		for _, e := range v {
			refsIn(e, f)
		}
	case *pStream:
		refsIn(v.dict, f)
	}
}

// diffKeys returns the keys whose values differ between a and b, sorted.
func diffKeys(a, b pDict) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !equalObj(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// textOf decodes a PDF text string (UTF-16BE with BOM, or PDFDocEncoding approximated by Latin-1).
func textOf(o pObj) string {
	s, ok := o.(pString)
	if !ok {
		if n, ok := o.(pName); ok {
			return string(n)
		}
		return ""
	}
	if len(s) >= 2 && s[0] == 0xFE && s[1] == 0xFF {
		var r []rune
		for i := 2; i+1 < len(s); i += 2 {
			c := rune(s[i])<<8 | rune(s[i+1])
			if c >= 0xD800 && c < 0xDC00 && i+3 < len(s) {
				lo := rune(s[i+2])<<8 | rune(s[i+3])
				c = 0x10000 + (c-0xD800)<<10 + (lo - 0xDC00)
				i += 2
			}
			r = append(r, c)
		}
		return string(r)
	}
	if len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF {
		return string(s[3:])
	}
	r := make([]rune, len(s))
	for i, c := range s {
		r[i] = rune(c)
	}
	return string(r)
}
