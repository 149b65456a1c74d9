package signing

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Test-side PDF writers for the verifier's tests: a raw incremental-update writer that can do what attackers do
// (full xref tables without /Prev, re-pointed or dropped entries, xref streams), and the two updates PAdES allows
// after a signature that Parley's producer may not write yet: a DSS-only update with VRI, and a document
// timestamp (/SubFilter /ETSI.RFC3161).

// pdfBytes serialises a value of the verifier's object model.
func pdfBytes(o pObj) string {
	var b strings.Builder
	var w func(o pObj)
	w = func(o pObj) {
		switch v := o.(type) {
		case nil:
			b.WriteString("null")
		case bool:
			fmt.Fprint(&b, v)
		case int64:
			fmt.Fprint(&b, v)
		case float64:
			b.WriteString(pdfNum(v))
		case pName:
			b.WriteString("/" + string(v))
		case pString:
			fmt.Fprintf(&b, "<%X>", []byte(v))
		case pRef:
			fmt.Fprintf(&b, "%d %d R", v.num, v.gen)
		case pArray:
			b.WriteString("[")
			for i, e := range v {
				if i > 0 {
					b.WriteString(" ")
				}
				w(e)
			}
			b.WriteString("]")
		case pDict:
			b.WriteString("<<")
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b.WriteString(" /" + k + " ")
				w(v[k])
			}
			b.WriteString(" >>")
		default:
			panic(fmt.Sprintf("pdfBytes: %T", o))
		}
	}
	w(o)
	return b.String()
}

// rawUpdate is an incremental update written byte by byte.
type rawUpdate struct {
	objs       map[int]string // object number → body between "obj" and "endobj"
	free       []int          // entries written as free
	repoint    map[int]int64  // entries pointed at these offsets (existing bytes)
	gens       map[int]int    // generation of new objects (0 when absent)
	noPrev     bool           // a full xref without /Prev: every live object of the last view is listed
	omit       []int          // with noPrev: numbers left out
	xrefStream bool           // a cross-reference stream instead of a table
	prev       int64          // /Prev override (0: the last startxref)
	trailer    string         // extra trailer entries
	tail       func([]byte) []byte
}

// lastView resolves the final revision of pdf with the verifier's resolver.
func lastView(t testing.TB, pdf []byte) *view {
	t.Helper()
	f, err := readPDFFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	last := f.revs[len(f.revs)-1]
	v, err := f.buildView(last.startxref, int64(len(pdf)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (u rawUpdate) apply(t testing.TB, base []byte) []byte {
	t.Helper()
	v := lastView(t, base)
	f := v.f
	size, _ := intOf(v.trailer["Size"])
	for n := range v.ents {
		size = max(size, int64(n+1))
	}
	for n := range u.objs {
		size = max(size, int64(n+1))
	}
	var b bytes.Buffer
	b.Write(base)
	if base[len(base)-1] != '\n' {
		b.WriteByte('\n')
	}
	ents := map[int]xentry{}
	if u.noPrev {
		for n, e := range v.ents {
			if !slices.Contains(u.omit, n) {
				ents[n] = e
			}
		}
	}
	nums := make([]int, 0, len(u.objs))
	for n := range u.objs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		ents[n] = xentry{kind: 1, off: int64(b.Len()), gen: u.gens[n]}
		fmt.Fprintf(&b, "%d %d obj\n%s\nendobj\n", n, u.gens[n], u.objs[n])
	}
	for n, off := range u.repoint {
		ents[n] = xentry{kind: 1, off: off}
	}
	for _, n := range u.free {
		ents[n] = xentry{kind: 0, gen: 1}
	}
	prev := f.revs[len(f.revs)-1].startxref
	if u.prev != 0 {
		prev = u.prev
	}
	trailer := fmt.Sprintf("/Root %s", pdfBytes(v.trailer["Root"]))
	if id, ok := v.trailer["ID"]; ok {
		trailer += " /ID " + pdfBytes(id)
	}
	if !u.noPrev {
		trailer += fmt.Sprintf(" /Prev %d", prev)
	}
	trailer += " " + u.trailer
	xrefAt := int64(b.Len())
	if u.xrefStream {
		xn := int(size)
		size++
		ents[xn] = xentry{kind: 1, off: xrefAt}
	}
	list := make([]int, 0, len(ents)+1)
	for n := range ents {
		list = append(list, n)
	}
	if u.noPrev && !slices.Contains(list, 0) {
		list = append(list, 0)
		ents[0] = xentry{kind: 0, gen: 65535}
	}
	slices.Sort(list)
	if !u.xrefStream {
		b.WriteString("xref\n")
		for _, sub := range subsections(list) {
			fmt.Fprintf(&b, "%d %d\n", sub[0], sub[1])
			for n := sub[0]; n < sub[0]+sub[1]; n++ {
				e := ents[n]
				if e.kind == 1 {
					fmt.Fprintf(&b, "%010d %05d n\r\n", e.off, e.gen)
				} else {
					fmt.Fprintf(&b, "%010d %05d f\r\n", 0, e.gen)
				}
			}
		}
		fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", size, trailer, xrefAt)
	} else {
		var data []byte
		var index []string
		for _, sub := range subsections(list) {
			index = append(index, fmt.Sprintf("%d %d", sub[0], sub[1]))
			for n := sub[0]; n < sub[0]+sub[1]; n++ {
				e := ents[n]
				row := []byte{byte(e.kind), byte(e.off >> 24), byte(e.off >> 16), byte(e.off >> 8), byte(e.off), byte(e.gen >> 8), byte(e.gen)}
				data = append(data, row...)
			}
		}
		fmt.Fprintf(&b, "%d 0 obj\n", size-1)
		b.Write(stream(fmt.Sprintf("/Type /XRef /Size %d /Index [%s] /W [1 4 2] %s", size, strings.Join(index, " "), trailer), data))
		fmt.Fprintf(&b, "\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	}
	out := b.Bytes()
	if u.tail != nil {
		out = u.tail(out)
	}
	return out
}

// nextNum returns the first unused object number of pdf's final view.
func nextNum(t testing.TB, pdf []byte) int {
	v := lastView(t, pdf)
	size, _ := intOf(v.trailer["Size"])
	n := int(size)
	for k := range v.ents {
		n = max(n, k+1)
	}
	return n
}

// dssUpdate appends a DSS-only incremental update holding certificates, CRLs and OCSP responses, with a VRI entry
// for every signature of the document (keyed by the SHA-1 of its /Contents, as PAdES says).
func dssUpdate(t testing.TB, pdf []byte, certs, crls, ocsps [][]byte, xrefStream ...bool) []byte {
	t.Helper()
	v := lastView(t, pdf)
	n := nextNum(t, pdf)
	objs := map[int]string{}
	add := func(body string) pRef {
		objs[n] = body
		n++
		return pRef{n - 1, 0}
	}
	var cr, rr, or pArray
	for _, c := range certs {
		cr = append(cr, add(string(stream("", c))))
	}
	for _, c := range crls {
		rr = append(rr, add(string(stream("", c))))
	}
	for _, c := range ocsps {
		or = append(or, add(string(stream("", c))))
	}
	cat := v.catalog()
	old := v.dict(cat["DSS"])
	merge := func(key string, a pArray) pArray {
		return append(slices.Clone(v.array(old[key])), a...)
	}
	vri := pDict{}
	for k, e := range v.dict(old["VRI"]) {
		vri[k] = e
	}
	for _, fl := range v.fields() {
		sd := v.dict(fl.value)
		if c, ok := sd["Contents"].(pString); ok && fl.ft == "Sig" {
			h := sha1.Sum(c)
			vri[strings.ToUpper(hex.EncodeToString(h[:]))] = pDict{"Cert": cr, "CRL": rr, "OCSP": or}
		}
	}
	dss := pDict{"Type": pName("DSS"), "Certs": merge("Certs", cr), "CRLs": merge("CRLs", rr), "OCSPs": merge("OCSPs", or), "VRI": vri}
	dr := add(pdfBytes(dss))
	nc := pDict{}
	for k, e := range cat {
		nc[k] = e
	}
	nc["DSS"] = dr
	root, _ := v.root()
	objs[root.num] = pdfBytes(nc)
	return rawUpdate{objs: objs, xrefStream: len(xrefStream) > 0 && xrefStream[0]}.apply(t, pdf)
}

// docTimestamp appends a document timestamp in a new invisible signature field on page 1.
func docTimestamp(t testing.TB, pdf []byte, ts Timestamper) []byte {
	t.Helper()
	v := lastView(t, pdf)
	n := nextNum(t, pdf)
	field, sig := n, n+1
	page := v.pages()[0]
	cat := v.catalog()
	afRef, _ := refOfP(cat["AcroForm"])
	af := v.dict(cat["AcroForm"])
	naf := pDict{}
	for k, e := range af {
		naf[k] = e
	}
	naf["Fields"] = append(slices.Clone(v.array(af["Fields"])), pRef{field, 0})
	pd := v.dict(page)
	np := pDict{}
	for k, e := range pd {
		np[k] = e
	}
	np["Annots"] = append(slices.Clone(v.array(pd["Annots"])), pRef{field, 0})
	const size = 8192
	objs := map[int]string{
		field:     fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (doc-timestamp-%d) /V %d 0 R /P %s /Rect [0 0 0 0] /F 132 >>", field, sig, pdfBytes(page)),
		sig:       fmt.Sprintf("<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 %s /Contents <%s> >>", byteRangePlaceholder, strings.Repeat("0", 2*size)),
		afRef.num: pdfBytes(naf),
		page.num:  pdfBytes(np),
	}
	out := rawUpdate{objs: objs}.apply(t, pdf)
	return fillByteRange(t, out, len(pdf), func(digest []byte) []byte {
		tok, err := ts.Timestamp(context.Background(), digest)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	})
}

// fillByteRange fills the /ByteRange placeholder and the /Contents hole that follow offset from, with what sign
// returns for the SHA-256 of the byte ranges.
func fillByteRange(t testing.TB, out []byte, from int, sign func([]byte) []byte) []byte {
	t.Helper()
	brAt := bytes.Index(out[from:], []byte(byteRangePlaceholder)) + from
	cAt := bytes.Index(out[brAt:], []byte("/Contents <")) + brAt + len("/Contents ")
	end := bytes.IndexByte(out[cAt:], '>') + cAt + 1
	br := fmt.Sprintf("/ByteRange [0 %d %d %d", cAt, end, len(out)-end)
	br += strings.Repeat(" ", len(byteRangePlaceholder)-1-len(br)) + "]"
	copy(out[brAt:], br)
	h := sha256.New()
	h.Write(out[:cAt])
	h.Write(out[end:])
	val := []byte(strings.ToUpper(hex.EncodeToString(sign(h.Sum(nil)))))
	if len(val) > end-cAt-2 {
		t.Fatalf("signature value of %d hex digits does not fit %d", len(val), end-cAt-2)
	}
	copy(out[cAt+1:], val)
	return out
}

// ltvData returns revocation data for the signer and TSA certificates produced at the given time (after the
// signatures' timestamps): a CRL of the test CA and an OCSP response for each certificate.
func (p *testPKI) ltvData(t testing.TB, pdf []byte, at time.Time) (certs, crls, ocsps [][]byte) {
	t.Helper()
	crl, err := p.ca.CRL(at.Unix(), nil, at, at.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	crls = [][]byte{crl}
	certs = [][]byte{p.ca.Cert.Raw, p.tsa.Cert.Raw}
	v := lastView(t, pdf)
	for _, fl := range v.fields() {
		c, _ := v.dict(fl.value)["Contents"].(pString)
		pc, err := parseCMS(c)
		if err != nil {
			continue
		}
		certs = append(certs, pc.signer.Raw)
		for _, leaf := range []*x509.Certificate{pc.signer, p.tsa.Cert} {
			r, err := ocsp.CreateResponse(p.ca.Cert, p.ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: leaf.SerialNumber, ThisUpdate: at, NextUpdate: at.AddDate(0, 0, 7)}, p.ca.Key)
			if err != nil {
				t.Fatal(err)
			}
			ocsps = append(ocsps, r)
		}
	}
	return certs, crls, ocsps
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
