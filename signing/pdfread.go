package signing

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ErrNotPDF is returned when the input does not start like a PDF file.
var ErrNotPDF = errors.New("signing: input is not a PDF file")

// ErrEncrypted is returned for encrypted PDF files, which Parley neither signs nor verifies.
var ErrEncrypted = errors.New("signing: encrypted PDF files are not supported")

// maxPDFBytes bounds the size of a document Parley will parse.
const maxPDFBytes = 64 << 20

// pdfDoc is a parsed PDF plus what the incremental writer needs from its last trailer.
type pdfDoc struct {
	data       []byte
	ctx        *model.Context
	lastXref   int64 // value of the last startxref
	xrefStream bool  // the last xref section is a cross-reference stream
	size       int   // next free object number
	root       ref
	info       *ref
	id         [2][]byte
}

// pdfcpuConf is pdfcpu's default configuration built without touching its configuration directory, offline,
// with resource limits suited to documents Parley produces and to hostile input.
func pdfcpuConf() *model.Configuration {
	limits := model.DefaultResourceLimits()
	limits.MaxStreamBytes = maxPDFBytes
	limits.MaxDecodeBytes = 128 << 20
	return &model.Configuration{
		Reader15:                  true,
		ValidationMode:            model.ValidationRelaxed,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		TimestampFormat:           "2006-01-02 15:04",
		DateFormat:                "2006-01-02",
		Offline:                   true,
		Limits:                    limits,
	}
}

var startxrefRe = regexp.MustCompile(`startxref\s+(\d+)\s*%%EOF`)

// checkHeader reports ErrNotPDF unless "%PDF-" appears in the first 1 KiB.
func checkHeader(data []byte) error {
	head := data[:min(len(data), 1024)]
	if !bytes.Contains(head, []byte("%PDF-")) {
		return ErrNotPDF
	}
	return nil
}

// lastStartxref returns the value of the file's last startxref.
func lastStartxref(data []byte) (int64, error) {
	tail := data[max(0, len(data)-2048):]
	m := startxrefRe.FindAllSubmatch(tail, -1)
	if len(m) == 0 {
		return 0, errors.New("no startxref/%%EOF at the end of the file")
	}
	off, err := strconv.ParseInt(string(m[len(m)-1][1]), 10, 64)
	if err != nil || off <= 0 || off >= int64(len(data)) {
		return 0, fmt.Errorf("startxref %s out of range", m[len(m)-1][1])
	}
	return off, nil
}

var objHeaderRe = regexp.MustCompile(`^\s*\d+\s+\d+\s+obj\b`)

// openPDF parses data with pdfcpu and reads the last trailer.
func openPDF(data []byte) (d *pdfDoc, err error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	if len(data) > maxPDFBytes {
		return nil, fmt.Errorf("signing: PDF is larger than %d bytes", maxPDFBytes)
	}
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("signing: parse PDF: malformed file (%v)", r)
		}
	}()
	off, err := lastStartxref(data)
	if err != nil {
		return nil, fmt.Errorf("signing: parse PDF: %w", err)
	}
	d = &pdfDoc{data: data, lastXref: off}
	at := data[off:]
	switch {
	case bytes.HasPrefix(bytes.TrimLeft(at, " \t\r\n"), []byte("xref")):
	case objHeaderRe.Match(at[:min(len(at), 64)]):
		d.xrefStream = true
	default:
		return nil, errors.New("signing: parse PDF: startxref does not point at an xref section")
	}
	ctx, err := api.ReadContext(bytes.NewReader(data), pdfcpuConf())
	if err != nil {
		return nil, fmt.Errorf("signing: parse PDF: %w", err)
	}
	d.ctx = ctx
	if ctx.Encrypt != nil {
		return nil, ErrEncrypted
	}
	if ctx.Root == nil {
		return nil, errors.New("signing: parse PDF: no document catalog")
	}
	d.root = ref{int(ctx.Root.ObjectNumber), int(ctx.Root.GenerationNumber)}
	if ctx.Info != nil {
		d.info = &ref{int(ctx.Info.ObjectNumber), int(ctx.Info.GenerationNumber)}
	}
	d.size = *ctx.Size
	if len(ctx.ID) == 2 {
		for i := range 2 {
			d.id[i] = stringBytes(ctx.ID[i])
		}
	}
	return d, nil
}

// stringBytes returns the bytes of a string object (literal or hex), or nil.
func stringBytes(o types.Object) []byte {
	switch v := o.(type) {
	case types.HexLiteral:
		b, err := v.Bytes()
		if err != nil {
			return nil
		}
		return b
	case types.StringLiteral:
		b, err := types.Unescape(v.Value())
		if err != nil {
			return nil
		}
		return b
	}
	return nil
}

// text decodes a PDF text string (PDFDocEncoding or UTF-16BE).
func (d *pdfDoc) text(o types.Object) string {
	o = d.deref(o)
	switch v := o.(type) {
	case types.StringLiteral, types.HexLiteral:
		s, err := types.StringOrHexLiteral(v)
		if err != nil || s == nil {
			return ""
		}
		return *s
	case types.Name:
		return v.Value()
	}
	return ""
}

func (d *pdfDoc) deref(o types.Object) types.Object {
	if ir, ok := o.(*types.IndirectRef); ok && ir != nil {
		o = *ir
	}
	v, err := d.ctx.Dereference(o)
	if err != nil {
		return nil
	}
	return v
}

func (d *pdfDoc) dict(o types.Object) types.Dict {
	v, _ := d.deref(o).(types.Dict)
	return v
}

func (d *pdfDoc) array(o types.Object) types.Array {
	v, _ := d.deref(o).(types.Array)
	return v
}

func (d *pdfDoc) integer(o types.Object) (int64, bool) {
	switch v := d.deref(o).(type) {
	case types.Integer:
		return int64(v), true
	case types.Float:
		return int64(v), float64(int64(v)) == float64(v)
	}
	return 0, false
}

func (d *pdfDoc) number(o types.Object) (float64, bool) {
	switch v := d.deref(o).(type) {
	case types.Integer:
		return float64(v), true
	case types.Float:
		return float64(v), true
	}
	return 0, false
}

func refOf(o types.Object) (ref, bool) {
	switch v := o.(type) {
	case types.IndirectRef:
		return ref{int(v.ObjectNumber), int(v.GenerationNumber)}, true
	case *types.IndirectRef:
		if v != nil {
			return ref{int(v.ObjectNumber), int(v.GenerationNumber)}, true
		}
	}
	return ref{}, false
}

func (d *pdfDoc) catalog() types.Dict {
	return d.dict(d.root.pdf())
}

// pages returns the page objects in document order.
func (d *pdfDoc) pages() ([]ref, error) {
	var out []ref
	seen := map[int]bool{}
	var walk func(o types.Object, depth int) error
	walk = func(o types.Object, depth int) error {
		r, ok := refOf(o)
		if !ok {
			return errors.New("page tree node is not an indirect object")
		}
		if seen[r.num] || depth > 64 || len(seen) > 100000 {
			return errors.New("page tree has a cycle or is too deep")
		}
		seen[r.num] = true
		node := d.dict(o)
		if node == nil {
			return fmt.Errorf("page tree node %s is not a dictionary", r)
		}
		kids, hasKids := node["Kids"]
		if t, _ := d.deref(node["Type"]).(types.Name); t == "Page" || !hasKids {
			out = append(out, r)
			return nil
		}
		for _, k := range d.array(kids) {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	pages, ok := d.catalog()["Pages"]
	if !ok {
		return nil, errors.New("signing: catalog has no /Pages")
	}
	if err := walk(pages, 0); err != nil {
		return nil, fmt.Errorf("signing: read page tree: %w", err)
	}
	return out, nil
}

// sigField is a signature field found in the AcroForm.
type sigField struct {
	name   string
	field  ref        // the field dictionary
	widget ref        // the widget annotation (== field when merged)
	dict   types.Dict // the widget dictionary as in the file
	fdict  types.Dict // the field dictionary as in the file
	value  types.Object
	page   *ref
	rect   [4]float64
}

// acroForm returns the AcroForm dictionary and its reference (nil when it is direct in the catalog).
func (d *pdfDoc) acroForm() (types.Dict, *ref) {
	o, ok := d.catalog()["AcroForm"]
	if !ok {
		return nil, nil
	}
	if r, ok := refOf(o); ok {
		return d.dict(o), &r
	}
	return d.dict(o), nil
}

// fields walks the AcroForm field tree and returns its terminal signature fields by fully qualified name.
func (d *pdfDoc) sigFields() []sigField {
	af, _ := d.acroForm()
	if af == nil {
		return nil
	}
	var out []sigField
	seen := map[int]bool{}
	var walk func(o types.Object, parent string, inheritedFT string, depth int)
	walk = func(o types.Object, parent string, inheritedFT string, depth int) {
		r, isRef := refOf(o)
		if !isRef || seen[r.num] || depth > 32 || len(seen) > 10000 {
			return
		}
		seen[r.num] = true
		f := d.dict(o)
		if f == nil {
			return
		}
		name := parent
		if t := d.text(f["T"]); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		ft := inheritedFT
		if n, ok := d.deref(f["FT"]).(types.Name); ok {
			ft = string(n)
		}
		kids := d.array(f["Kids"])
		// Kids that carry /T are fields; kids without /T are widgets of this field.
		var widgets []ref
		for _, k := range kids {
			kd := d.dict(k)
			if kd == nil {
				continue
			}
			if _, hasT := kd["T"]; hasT {
				walk(k, name, ft, depth+1)
				continue
			}
			if kr, ok := refOf(k); ok {
				widgets = append(widgets, kr)
			}
		}
		if ft != "Sig" || (len(kids) > 0 && len(widgets) == 0) {
			return
		}
		sf := sigField{name: name, field: r, widget: r, fdict: f, dict: f, value: f["V"]}
		if len(widgets) > 0 {
			sf.widget = widgets[0]
			sf.dict = d.dict(widgets[0].pdf())
		}
		if p, ok := refOf(sf.dict["P"]); ok {
			sf.page = &p
		}
		if rect := d.array(sf.dict["Rect"]); len(rect) == 4 {
			for i := range 4 {
				sf.rect[i], _ = d.number(rect[i])
			}
		}
		out = append(out, sf)
	}
	for _, f := range d.array(af["Fields"]) {
		walk(f, "", "", 0)
	}
	return out
}

// pageOfAnnot finds the page whose /Annots holds the annotation r.
func (d *pdfDoc) pageOfAnnot(r ref) (*ref, error) {
	pages, err := d.pages()
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		for _, a := range d.array(d.dict(p.pdf())["Annots"]) {
			if ar, ok := refOf(a); ok && ar.num == r.num {
				return &p, nil
			}
		}
	}
	return nil, nil
}

// fieldName validates a new field's partial name: no periods, printable.
func validFieldName(name string) error {
	if name == "" || len(name) > 100 || strings.ContainsAny(name, ".()<>[]{}/%\\") {
		return fmt.Errorf("signing: invalid field name %q (no periods or PDF delimiters, 1–100 bytes)", name)
	}
	for _, r := range name {
		if r < 32 || r == 127 {
			return fmt.Errorf("signing: invalid field name %q", name)
		}
	}
	return nil
}

// streamData returns the decoded data of a stream object, or nil.
func (d *pdfDoc) streamData(o types.Object) []byte {
	r, ok := refOf(o)
	if !ok {
		return nil
	}
	sd, _, err := d.ctx.DereferenceStreamDict(r.pdf())
	if err != nil || sd == nil {
		return nil
	}
	if sd.Content == nil && len(sd.FilterPipeline) == 0 {
		return sd.Raw
	}
	if sd.Content == nil {
		if err := sd.DecodeWithLimit(16 << 20); err != nil {
			return nil
		}
	}
	return sd.Content
}
