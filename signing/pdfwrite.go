package signing

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// This file is Parley's incremental-update writer: it serialises objects (pdfcpu's types for objects read from
// the file, plain byte strings for new ones) and appends them with an xref section of the same kind as the file's
// last one, chained with /Prev, so every byte of the earlier revisions stays untouched.

// ref is an indirect reference.
type ref struct{ num, gen int }

func (r ref) String() string { return fmt.Sprintf("%d %d R", r.num, r.gen) }

func (r ref) pdf() types.IndirectRef { return *types.NewIndirectRef(r.num, r.gen) }

// writeObject serialises a pdfcpu object in PDF syntax. Strings are written as read (pdfcpu keeps them escaped).
func writeObject(b *bytes.Buffer, o types.Object) {
	switch v := o.(type) {
	case nil:
		b.WriteString("null")
	case types.Dict:
		b.WriteString("<<")
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(" /")
			b.WriteString(types.EncodeName(k))
			b.WriteByte(' ')
			writeObject(b, v[k])
		}
		b.WriteString(" >>")
	case types.Array:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeObject(b, e)
		}
		b.WriteByte(']')
	case types.Name:
		b.WriteString(v.PDFString())
	case types.StringLiteral:
		b.WriteString("(" + string(v) + ")")
	case types.HexLiteral:
		b.WriteString("<" + string(v) + ">")
	case types.Integer:
		b.WriteString(strconv.Itoa(int(v)))
	case types.Float:
		b.WriteString(pdfNum(float64(v)))
	case types.Boolean:
		b.WriteString(strconv.FormatBool(bool(v)))
	case types.IndirectRef:
		fmt.Fprintf(b, "%d %d R", v.ObjectNumber, v.GenerationNumber)
	case *types.IndirectRef:
		fmt.Fprintf(b, "%d %d R", v.ObjectNumber, v.GenerationNumber)
	default:
		// Every object the writer re-serialises is a dictionary or array from the file; anything else
		// (a stream inside a dictionary is impossible in PDF) is written via pdfcpu's own formatter.
		b.WriteString(o.PDFString())
	}
}

// pdfNum formats a number compactly (at most 4 decimals).
func pdfNum(f float64) string {
	s := strconv.FormatFloat(f, 'f', 4, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// pdfTextString encodes s as a PDF text string: a literal for printable ASCII, UTF-16BE with BOM otherwise.
func pdfTextString(s string) string {
	ascii := true
	for _, r := range s {
		if r < 32 || r > 126 {
			ascii = false
			break
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
		return "(" + r.Replace(s) + ")"
	}
	u := utf16.Encode([]rune(s))
	buf := make([]byte, 2+2*len(u))
	buf[0], buf[1] = 0xFE, 0xFF
	for i, c := range u {
		binary.BigEndian.PutUint16(buf[2+2*i:], c)
	}
	return "<" + strings.ToUpper(hex.EncodeToString(buf)) + ">"
}

// pdfDate formats t as a PDF date string, e.g. (D:20250301102030+08'00').
func pdfDate(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	if off == 0 {
		return "(D:" + t.Format("20060102150405") + "Z)"
	}
	return fmt.Sprintf("(D:%s%c%02d'%02d')", t.Format("20060102150405"), sign, off/3600, off%3600/60)
}

// parsePDFDate parses a PDF date string (without parentheses); it accepts the common variants.
func parsePDFDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, "D:")
	s = strings.ReplaceAll(s, "'", "")
	if len(s) < 4 {
		return time.Time{}, false
	}
	layouts := []string{"20060102150405Z0700", "20060102150405Z07", "20060102150405", "200601021504", "2006010215", "20060102", "200601", "2006"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	if strings.HasSuffix(s, "Z") {
		if t, err := time.Parse("20060102150405", strings.TrimSuffix(s, "Z")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// stream formats a stream object body from a dictionary body (without << >>) and data.
func stream(dict string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", dict, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// update collects the objects of one incremental update and writes it.
type update struct {
	base       []byte
	xrefStream bool
	prev       int64 // offset of the base file's last xref section
	size       int   // next free object number
	root       ref
	info       *ref
	id         [2][]byte
	objs       map[int][]byte // object number → body (between "obj" and "endobj")
	gens       map[int]int
}

func newUpdate(d *pdfDoc) *update {
	return &update{
		base:       d.data,
		xrefStream: d.xrefStream,
		prev:       d.lastXref,
		size:       d.size,
		root:       d.root,
		info:       d.info,
		id:         d.id,
		objs:       map[int][]byte{},
		gens:       map[int]int{},
	}
}

// alloc reserves a new object number.
func (u *update) alloc() ref {
	r := ref{u.size, 0}
	u.size++
	return r
}

// set stores the body of object r (new or a new version of an existing object).
func (u *update) set(r ref, body []byte) {
	u.objs[r.num] = body
	u.gens[r.num] = r.gen
}

// setObject stores a pdfcpu object as the new version of r.
func (u *update) setObject(r ref, o types.Object) {
	var b bytes.Buffer
	writeObject(&b, o)
	u.set(r, b.Bytes())
}

// add allocates a new object with the given body.
func (u *update) add(body []byte) ref {
	r := u.alloc()
	u.set(r, body)
	return r
}

// bytes returns the appended bytes (not including the base) and the offset of each object, relative to the
// start of the whole file.
func (u *update) bytes() ([]byte, map[int]int64) {
	var b bytes.Buffer
	start := int64(len(u.base))
	if n := len(u.base); n > 0 && u.base[n-1] != '\n' && u.base[n-1] != '\r' {
		b.WriteByte('\n')
	}
	nums := make([]int, 0, len(u.objs)+1)
	for n := range u.objs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	offsets := map[int]int64{}
	for _, n := range nums {
		offsets[n] = start + int64(b.Len())
		fmt.Fprintf(&b, "%d %d obj\n", n, u.gens[n])
		b.Write(u.objs[n])
		b.WriteString("\nendobj\n")
	}
	var trailer bytes.Buffer
	fmt.Fprintf(&trailer, "/Root %s", u.root)
	if u.info != nil {
		fmt.Fprintf(&trailer, " /Info %s", *u.info)
	}
	if len(u.id[0]) > 0 {
		fmt.Fprintf(&trailer, " /ID [<%X> <%X>]", u.id[0], u.id[1])
	}
	fmt.Fprintf(&trailer, " /Prev %d", u.prev)

	if !u.xrefStream {
		xrefAt := start + int64(b.Len())
		b.WriteString("xref\n")
		for _, sub := range subsections(nums) {
			fmt.Fprintf(&b, "%d %d\n", sub[0], sub[1])
			for n := sub[0]; n < sub[0]+sub[1]; n++ {
				fmt.Fprintf(&b, "%010d %05d n\r\n", offsets[n], u.gens[n])
			}
		}
		fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", u.size, trailer.String(), xrefAt)
		return b.Bytes(), offsets
	}

	// Cross-reference stream: the stream object itself is the last new object.
	xr := u.size
	size := xr + 1
	xrefAt := start + int64(b.Len())
	offsets[xr] = xrefAt
	all := append(slices.Clone(nums), xr)
	var data []byte
	for _, n := range all {
		var e [7]byte
		e[0] = 1
		binary.BigEndian.PutUint32(e[1:], uint32(offsets[n]))
		binary.BigEndian.PutUint16(e[5:], uint16(u.gens[n]))
		data = append(data, e[:]...)
	}
	var index strings.Builder
	for i, sub := range subsections(all) {
		if i > 0 {
			index.WriteByte(' ')
		}
		fmt.Fprintf(&index, "%d %d", sub[0], sub[1])
	}
	fmt.Fprintf(&b, "%d 0 obj\n", xr)
	b.Write(stream(fmt.Sprintf("/Type /XRef /Size %d /Index [%s] /W [1 4 2] %s", size, index.String(), trailer.String()), data))
	fmt.Fprintf(&b, "\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return b.Bytes(), offsets
}

// subsections groups sorted object numbers into [first, count] runs.
func subsections(nums []int) [][2]int {
	var out [][2]int
	for _, n := range nums {
		if k := len(out); k > 0 && out[k-1][0]+out[k-1][1] == n {
			out[k-1][1]++
			continue
		}
		out = append(out, [2]int{n, 1})
	}
	return out
}
