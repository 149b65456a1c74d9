package cases

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder for DecodeConfig
	_ "image/png"  // registers the PNG decoder for DecodeConfig
	"io"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The content rules of materials (issue 12 §1): what a file is comes from its bytes, never from what the
// client says; a file whose bytes do not match its name, a PDF whose compressed streams inflate out of all
// proportion, and an image whose header declares more pixels than anyone could open are refused.

// Stable error codes of material uploads (cmd/parley maps each to one HTTP status).
const (
	EMaterialEmpty    = "material_empty"      // a zero-byte file (400)
	EMaterialFilename = "material_filename"   // a name with a path separator, a control character, or none (400)
	EMaterialTooLarge = "material_too_large"  // larger than the per-file limit (413)
	ECaseFileFull     = "case_materials_full" // the case's materials would exceed the per-case limit (413)
	EMaterialType     = "material_type"       // not a PDF, JPEG, PNG or Office document, or not what its name says (415)
	EMaterialBomb     = "material_bomb"       // a decompression bomb: a PDF stream or an image too large once opened (422)
)

// MaterialLimits bounds uploads. Zero fields take the defaults of DefaultMaterialLimits.
type MaterialLimits struct {
	MaxFileBytes int64 // largest file
	MaxCaseBytes int64 // all stored materials of one case together
	MaxPixels    int64 // width × height an image may declare
	MaxInflated  int64 // bytes all of a PDF's Flate streams may inflate to together
	MaxRatio     int64 // a Flate stream inflating past 16 MiB may not exceed this ratio to its compressed size
}

// DefaultMaterialLimits are the limits when none are configured.
var DefaultMaterialLimits = MaterialLimits{MaxFileBytes: 64 << 20, MaxCaseBytes: 1 << 30, MaxPixels: 100_000_000, MaxInflated: 1 << 30, MaxRatio: 200}

func (l MaterialLimits) withDefaults() MaterialLimits {
	d := DefaultMaterialLimits
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxCaseBytes <= 0 {
		l.MaxCaseBytes = d.MaxCaseBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxInflated <= 0 {
		l.MaxInflated = d.MaxInflated
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// FileType is a sniffed kind of file.
type FileType struct {
	Name        string   // pdf, jpeg, png, ooxml, ole
	ContentType string   // the media type Parley serves it with
	Exts        []string // the filename extensions that may carry it
}

var (
	typePDF  = FileType{"pdf", "application/pdf", []string{".pdf"}}
	typeJPEG = FileType{"jpeg", "image/jpeg", []string{".jpg", ".jpeg"}}
	typePNG  = FileType{"png", "image/png", []string{".png"}}
	typeOOXM = FileType{"ooxml", "", []string{".docx", ".xlsx", ".pptx"}}
	typeOLE  = FileType{"ole", "", []string{".doc", ".xls", ".ppt"}}
)

var officeTypes = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".doc":  "application/msword",
	".xls":  "application/vnd.ms-excel",
	".ppt":  "application/vnd.ms-powerpoint",
}

// SniffMaterial decides what a file is from its first bytes (at least the first 8 KiB when the file is that
// long) and checks that its name agrees; it returns the media type to store and serve.
func SniffMaterial(head []byte, filename string) (FileType, string, error) {
	ext := strings.ToLower(path.Ext(filename))
	var ft FileType
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		ft = typePNG
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		ft = typeJPEG
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		ft = typePDF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		// An Office Open XML document is a zip whose parts include [Content_Types].xml, near the start.
		if !bytes.Contains(head, []byte("[Content_Types].xml")) {
			return ft, "", Errorf(EMaterialType, "this zip archive is not an Office document (only PDF, JPEG, PNG, Word, Excel and PowerPoint files are accepted)")
		}
		ft = typeOOXM
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		ft = typeOLE
	default:
		return ft, "", Errorf(EMaterialType, "only PDF, JPEG, PNG, Word, Excel and PowerPoint files are accepted")
	}
	ok := false
	for _, e := range ft.Exts {
		ok = ok || e == ext
	}
	if !ok {
		return ft, "", Errorf(EMaterialType, "the file's content is %s but its name ends in %q: name it %s", ft.Name, ext, strings.Join(ft.Exts, " or "))
	}
	ct := ft.ContentType
	if ct == "" {
		ct = officeTypes[ext]
	}
	return ft, ct, nil
}

// SanitiseFilename returns the name to store for an uploaded file: Unicode NFC is not forced, but control and
// format characters, characters Windows refuses and surrounding dots and spaces are removed, and the name is cut
// to 120 characters keeping its extension. A name with a path separator, or nothing left, is refused.
func SanitiseFilename(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EMaterialFilename, "the file name is not valid UTF-8")
	}
	if strings.ContainsAny(name, `/\`) {
		return "", Errorf(EMaterialFilename, "the file name may not contain / or \\: send the file's own name, not a path")
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	clean := strings.Trim(b.String(), " .")
	if clean == "" || clean == ".." {
		return "", Errorf(EMaterialFilename, "the file needs a name, such as 证据1.pdf")
	}
	if rs := []rune(clean); len(rs) > 120 {
		ext := []rune(path.Ext(clean))
		if len(ext) > 10 {
			ext = nil
		}
		clean = string(rs[:120-len(ext)]) + string(ext)
	}
	return clean, nil
}

// checkContent reads the whole file from r and refuses decompression bombs: every Flate stream of a PDF is
// inflated (into nothing) with a budget, an image's declared dimensions are read. It never keeps more than a
// small buffer.
func checkContent(ft FileType, r io.Reader, lim MaterialLimits) error {
	switch ft.Name {
	case "pdf":
		return checkPDF(r, lim)
	case "jpeg", "png":
		cfg, _, err := image.DecodeConfig(r)
		if err != nil {
			return Errorf(EMaterialType, "the image cannot be read: %s", imageProblem(err))
		}
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return Errorf(EMaterialType, "the image declares no size")
		}
		if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
			return Errorf(EMaterialBomb, "the image declares %d × %d pixels, more than the %d million allowed", cfg.Width, cfg.Height, lim.MaxPixels/1_000_000)
		}
	}
	_, err := io.Copy(io.Discard, r)
	return err
}

func imageProblem(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "it ends too early"
	}
	return "it is damaged"
}

// countingReader counts bytes read through it (the compressed side of a stream).
type countingReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// checkPDF scans a PDF for the keyword "stream" followed by an end of line and tries to inflate what follows as
// zlib (FlateDecode). Streams that are not zlib are skipped. A stream that inflates past 16 MiB at more than
// MaxRatio times its compressed size, or all streams together past MaxInflated, make the file a bomb.
func checkPDF(r io.Reader, lim MaterialLimits) error {
	cr := &countingReader{br: bufio.NewReaderSize(r, 64<<10)}
	var tail []byte // the last bytes before the current line's end, across buffer boundaries
	var total int64
	const floor = 16 << 20
	for {
		line, err := cr.br.ReadSlice('\n')
		cr.n += int64(len(line))
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			tail = append(tail[:0], line[max(0, len(line)-10):]...)
			continue
		case err != nil:
			return err
		}
		w := append(tail, line[max(0, len(line)-11):]...)
		tail = tail[:0]
		w = bytes.TrimSuffix(bytes.TrimSuffix(w, []byte("\n")), []byte("\r"))
		if !bytes.HasSuffix(w, []byte("stream")) || bytes.HasSuffix(w, []byte("endstream")) {
			continue
		}
		start := cr.n
		zr, err := zlib.NewReader(cr)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if !isFlateData(err) {
				return err // the upload itself failed
			}
			continue // not Flate: an image (DCT), or another filter
		}
		budget := lim.MaxInflated - total
		n, err := io.CopyN(io.Discard, zr, budget+1)
		total += n
		if total > lim.MaxInflated {
			return Errorf(EMaterialBomb, "the PDF's compressed streams inflate to more than %d MiB", lim.MaxInflated>>20)
		}
		if used := cr.n - start; n > floor && n > lim.MaxRatio*max(used, 1) {
			return Errorf(EMaterialBomb, "a stream of the PDF inflates %d times over (%d MiB from %d KiB)", n/max(used, 1), n>>20, used>>10)
		}
		_ = zr.Close()
		if err != nil && !errors.Is(err, io.EOF) && !isFlateData(err) {
			return err // the upload itself failed
		}
	}
}

// isFlateData reports whether err is the stream's own corruption rather than a failure to read the upload.
func isFlateData(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || errors.Is(err, zlib.ErrChecksum) || errors.Is(err, zlib.ErrHeader) ||
		errors.Is(err, zlib.ErrDictionary) || errors.Is(err, io.ErrUnexpectedEOF)
}

// describeSize writes n bytes for people.
func describeSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
