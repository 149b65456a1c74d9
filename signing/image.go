package signing

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // seal images may be JPEG
	"image/png"
)

// ImageLimits bounds what DecodeSignatureImage accepts.
type ImageLimits struct {
	MaxBytes  int // encoded size
	MaxWidth  int
	MaxHeight int
}

// DefaultImageLimits suit a signature drawn on a phone: 1 MiB, 3000 × 1500 pixels.
var DefaultImageLimits = ImageLimits{MaxBytes: 1 << 20, MaxWidth: 3000, MaxHeight: 1500}

// ErrBlankSignature is returned for an image without any visible ink.
var ErrBlankSignature = errors.New("signing: signature image is blank")

// SignatureImage is a decoded handwritten signature, cropped to its ink and scaled down to at most
// 600 × 240 pixels, ready for a signature appearance.
type SignatureImage struct {
	Width, Height int
	rgb           []byte // 3 bytes per pixel
	alpha         []byte // 1 byte per pixel
}

const (
	maxAppearanceW = 600
	maxAppearanceH = 240
)

// DecodeSignatureImage validates and decodes a PNG signature image (any PNG colour type; transparency is kept).
func DecodeSignatureImage(data []byte, lim ImageLimits) (*SignatureImage, error) {
	if lim == (ImageLimits{}) {
		lim = DefaultImageLimits
	}
	if len(data) == 0 {
		return nil, errors.New("signing: signature image is empty")
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("signing: signature image is %d bytes, limit %d", len(data), lim.MaxBytes)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, errors.New("signing: signature image is not a PNG file")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("signing: signature image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight {
		return nil, fmt.Errorf("signing: signature image is %d×%d pixels, limit %d×%d", cfg.Width, cfg.Height, lim.MaxWidth, lim.MaxHeight)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("signing: signature image: %w", err)
	}
	return fromImage(img)
}

// fromImage crops img to its ink, scales it down and splits colour and alpha.
func fromImage(img image.Image) (*SignatureImage, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	nrgba, ok := img.(*image.NRGBA)
	if !ok || b.Min != (image.Point{}) {
		nrgba = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(nrgba, nrgba.Bounds(), img, b.Min, draw.Src)
	}
	minX, minY, maxX, maxY := w, h, -1, -1
	for y := 0; y < h; y++ {
		row := nrgba.Pix[y*nrgba.Stride : y*nrgba.Stride+4*w]
		for x := 0; x < w; x++ {
			c := color.NRGBA{row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]}
			// Ink: visible and not near-white.
			if c.A > 24 && (int(c.R)+int(c.G)+int(c.B) < 3*235) {
				minX, minY = min(minX, x), min(minY, y)
				maxX, maxY = max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < 0 {
		return nil, ErrBlankSignature
	}
	pad := max(2, (maxX-minX+maxY-minY)/60)
	crop := image.Rect(max(0, minX-pad), max(0, minY-pad), min(w, maxX+pad+1), min(h, maxY+pad+1))
	cw, ch := crop.Dx(), crop.Dy()
	k := 1
	for cw/k > maxAppearanceW || ch/k > maxAppearanceH {
		k++
	}
	ow, oh := max(1, cw/k), max(1, ch/k)
	s := &SignatureImage{Width: ow, Height: oh, rgb: make([]byte, 3*ow*oh), alpha: make([]byte, ow*oh)}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			// Box filter with alpha weighting, so transparent pixels do not bleed their colour.
			var r, g, bl, a, n int
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					x, y := crop.Min.X+ox*k+dx, crop.Min.Y+oy*k+dy
					if x >= crop.Max.X || y >= crop.Max.Y {
						continue
					}
					c := nrgba.NRGBAAt(x, y)
					r += int(c.R) * int(c.A)
					g += int(c.G) * int(c.A)
					bl += int(c.B) * int(c.A)
					a += int(c.A)
					n++
				}
			}
			i := oy*ow + ox
			if a > 0 {
				s.rgb[3*i], s.rgb[3*i+1], s.rgb[3*i+2] = byte(r/a), byte(g/a), byte(bl/a)
			}
			if n > 0 {
				s.alpha[i] = byte(a / n)
			}
		}
	}
	return s, nil
}

// deflate compresses b with zlib (FlateDecode).
func deflate(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// SealImageLimits bound a company's uploaded seal picture (Party.SealImage).
var SealImageLimits = ImageLimits{MaxBytes: 4 << 20, MaxWidth: 4000, MaxHeight: 4000}

// maxSealPixels is the largest side of a seal picture once scaled for the page (about 300 dpi at 36 mm).
const maxSealPixels = 420

// DecodeSealImage validates a company's seal picture (PNG or JPEG, within SealImageLimits) and returns it
// flattened on white and scaled down to at most 420 pixels a side. The picture is only printed on the page
// (captioned as an image): it is not a digital seal.
func DecodeSealImage(data []byte) (image.Image, error) {
	lim := SealImageLimits
	if len(data) == 0 {
		return nil, errors.New("signing: seal image is empty")
	}
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("signing: seal image is %d bytes, limit %d", len(data), lim.MaxBytes)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) && !bytes.HasPrefix(data, []byte("\xff\xd8\xff")) {
		return nil, errors.New("signing: seal image is neither PNG nor JPEG")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("signing: seal image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight {
		return nil, fmt.Errorf("signing: seal image is %d×%d pixels, limit %d×%d", cfg.Width, cfg.Height, lim.MaxWidth, lim.MaxHeight)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("signing: seal image: %w", err)
	}
	// One conversion with draw's fast paths, then the box filter over the bytes.
	b := src.Bounds()
	nrgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(nrgba, nrgba.Bounds(), src, b.Min, draw.Src)
	k := 1
	for b.Dx()/k > maxSealPixels || b.Dy()/k > maxSealPixels {
		k++
	}
	w, h := max(1, b.Dx()/k), max(1, b.Dy()/k)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Box filter over k×k source pixels, composited on white.
			var r, g, bl, n int
			for dy := 0; dy < k; dy++ {
				sy := y*k + dy
				if sy >= b.Dy() {
					break
				}
				row := nrgba.Pix[sy*nrgba.Stride:]
				for dx := 0; dx < k; dx++ {
					sx := x*k + dx
					if sx >= b.Dx() {
						break
					}
					px := row[4*sx : 4*sx+4]
					a := int(px[3])
					r += (int(px[0])*a + 255*(255-a)) / 255
					g += (int(px[1])*a + 255*(255-a)) / 255
					bl += (int(px[2])*a + 255*(255-a)) / 255
					n++
				}
			}
			n = max(n, 1)
			out.SetRGBA(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), 0xff})
		}
	}
	return out, nil
}
