package signing

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// Bounds on the verifier's work on hostile input. Every file up to maxPDFBytes is read in time linear in its size
// and in memory bounded by these numbers.
const (
	maxObjectNumber     = 1 << 22  // highest object number accepted (4,194,304)
	maxViewObjects      = 250000   // live objects in one revision's view
	maxXrefEntries      = 1 << 22  // xref entries parsed in the whole file
	maxRevisions        = 10000    // incremental updates (%%EOF markers) in a file
	maxXrefChain        = 20000    // xref sections in one /Prev chain
	maxStreamDecoded    = 32 << 20 // decoded bytes of one stream
	maxFileDecoded      = 96 << 20 // decoded bytes of all streams of one file
	maxVerifySignatures = 100      // signatures and document timestamps checked
	maxRewrites         = 8        // xref sections after the first signature that do not extend the previous one
	maxObjStmObjects    = 100000   // objects in one object stream
)

// errLimit marks input that exceeds one of the bounds.
var errLimit = errors.New("signing: PDF exceeds the verifier's limits")

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errLimit, fmt.Sprintf(format, args...))
}

// budget counts decoded bytes across a whole file.
type budget struct {
	decoded int64
}

func (b *budget) take(n int64) error {
	b.decoded += n
	if b.decoded > maxFileDecoded {
		return limitErr("more than %d decoded bytes in the file", maxFileDecoded)
	}
	return nil
}

// decodeStream applies the stream's filters, decoding at most limit bytes (and at most the file's remaining
// budget). Supported: FlateDecode (with PNG and TIFF predictors), ASCIIHexDecode, ASCII85Decode, no filter.
func (b *budget) decodeStream(s *pStream, limit int64) ([]byte, error) {
	if limit <= 0 || limit > maxStreamDecoded {
		limit = maxStreamDecoded
	}
	if rest := maxFileDecoded - b.decoded; limit > rest {
		limit = max(rest, 0)
	}
	var filters []string
	var parms []pDict
	switch f := s.dict["Filter"].(type) {
	case nil:
	case pName:
		filters = []string{string(f)}
		parms = []pDict{dictOf(s.dict["DecodeParms"])}
	case pArray:
		pa, _ := s.dict["DecodeParms"].(pArray)
		for i, e := range f {
			n, ok := e.(pName)
			if !ok {
				return nil, errors.New("filter is not a name")
			}
			filters = append(filters, string(n))
			var p pDict
			if i < len(pa) {
				p = dictOf(pa[i])
			}
			parms = append(parms, p)
		}
	default:
		return nil, errors.New("filter is not a name")
	}
	if len(filters) > 4 {
		return nil, errors.New("more than four filters")
	}
	data := s.raw
	for i, f := range filters {
		var err error
		switch f {
		case "FlateDecode", "Fl":
			data, err = inflate(data, limit)
			if err == nil {
				data, err = unpredict(data, parms[i])
			}
		case "ASCIIHexDecode", "AHx":
			data, err = asciiHex(data, limit)
		case "ASCII85Decode", "A85":
			data, err = ascii85(data, limit)
		default:
			err = fmt.Errorf("unsupported filter /%s", f)
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(data)) > limit {
		return nil, limitErr("a stream decodes to more than %d bytes", limit)
	}
	if err := b.take(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// inflate decompresses zlib data, failing as soon as the output exceeds limit.
func inflate(in []byte, limit int64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, fmt.Errorf("flate: %w", err)
	}
	defer zr.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, limit+1))
	if n > limit {
		return nil, limitErr("a stream inflates to more than %d bytes", limit)
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("flate: %w", err)
	}
	return out.Bytes(), nil
}

func asciiHex(in []byte, limit int64) ([]byte, error) {
	l := lexer{data: append(append([]byte{'<'}, in...), '>')}
	if i := bytes.IndexByte(in, '>'); i >= 0 {
		l.data = append([]byte{'<'}, in[:i+1]...)
	}
	o, err := l.hex()
	if err != nil {
		return nil, err
	}
	if int64(len(o.(pString))) > limit {
		return nil, limitErr("a stream decodes to more than %d bytes", limit)
	}
	return o.(pString), nil
}

func ascii85(in []byte, limit int64) ([]byte, error) {
	if i := bytes.Index(in, []byte("~>")); i >= 0 {
		in = in[:i]
	}
	var out []byte
	var tuple uint32
	n := 0
	for _, c := range in {
		switch {
		case isWS(c):
			continue
		case c == 'z' && n == 0:
			out = append(out, 0, 0, 0, 0)
		case c >= '!' && c <= 'u':
			tuple = tuple*85 + uint32(c-'!')
			n++
			if n == 5 {
				out = append(out, byte(tuple>>24), byte(tuple>>16), byte(tuple>>8), byte(tuple))
				tuple, n = 0, 0
			}
		default:
			return nil, errors.New("ascii85: bad character")
		}
		if int64(len(out)) > limit {
			return nil, limitErr("a stream decodes to more than %d bytes", limit)
		}
	}
	if n == 1 {
		return nil, errors.New("ascii85: truncated group")
	}
	if n > 1 {
		for k := n; k < 5; k++ {
			tuple = tuple*85 + 84
		}
		b := []byte{byte(tuple >> 24), byte(tuple >> 16), byte(tuple >> 8), byte(tuple)}
		out = append(out, b[:n-1]...)
	}
	return out, nil
}

// unpredict reverses a PNG (10–15) or TIFF (2) predictor.
func unpredict(data []byte, p pDict) ([]byte, error) {
	if p == nil {
		return data, nil
	}
	pred, _ := intOf(p["Predictor"])
	if pred <= 1 {
		return data, nil
	}
	colors, bpc, cols := int64(1), int64(8), int64(1)
	if v, ok := intOf(p["Colors"]); ok {
		colors = v
	}
	if v, ok := intOf(p["BitsPerComponent"]); ok {
		bpc = v
	}
	if v, ok := intOf(p["Columns"]); ok {
		cols = v
	}
	if colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) || cols < 1 || cols > 1<<20 {
		return nil, errors.New("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	row := int((colors*bpc*cols + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return nil, errors.New("TIFF predictor with other than 8 bits per component")
		}
		out := bytes.Clone(data)
		for r := 0; r+row <= len(out); r += row {
			for i := bpp; i < row; i++ {
				out[r+i] += out[r+i-bpp]
			}
		}
		return out, nil
	}
	if pred < 10 || pred > 15 {
		return nil, fmt.Errorf("unsupported predictor %d", pred)
	}
	out := make([]byte, 0, len(data)/(row+1)*row)
	prev := make([]byte, row)
	for i := 0; i+row+1 <= len(data); i += row + 1 {
		ft := data[i]
		cur := bytes.Clone(data[i+1 : i+1+row])
		for j := range cur {
			var a, b, c byte
			if j >= bpp {
				a = cur[j-bpp]
				c = prev[j-bpp]
			}
			b = prev[j]
			switch ft {
			case 0:
			case 1:
				cur[j] += a
			case 2:
				cur[j] += b
			case 3:
				cur[j] += byte((int(a) + int(b)) / 2)
			case 4:
				cur[j] += paeth(a, b, c)
			default:
				return nil, errors.New("bad PNG predictor row type")
			}
		}
		out = append(out, cur...)
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
