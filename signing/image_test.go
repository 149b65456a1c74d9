package signing

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/parley-mediation/parley/signing/signingtest"
)

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestDecodeSignatureImage(t *testing.T) {
	t.Parallel()
	valid := signingtest.SignaturePNG(1, 900, 300)
	blank := encodePNG(image.NewNRGBA(image.Rect(0, 0, 50, 20)))
	white := image.NewGray(image.Rect(0, 0, 50, 20))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	gray := image.NewGray(image.Rect(0, 0, 400, 100))
	for i := range gray.Pix {
		gray.Pix[i] = 255
	}
	for x := 50; x < 350; x++ {
		gray.SetGray(x, 50, color.Gray{Y: 0})
	}
	tests := []struct {
		name    string
		data    []byte
		lim     ImageLimits
		wantErr error
		ok      bool
	}{
		{name: "phone signature", data: valid, ok: true},
		{name: "opaque grayscale", data: encodePNG(gray), ok: true},
		{name: "empty", data: nil},
		{name: "JPEG magic", data: []byte("\xff\xd8\xff\xe0 not png")},
		{name: "truncated", data: valid[:len(valid)/2]},
		{name: "too many bytes", data: valid, lim: ImageLimits{MaxBytes: 100, MaxWidth: 5000, MaxHeight: 5000}},
		{name: "too wide", data: valid, lim: ImageLimits{MaxBytes: 1 << 20, MaxWidth: 800, MaxHeight: 5000}},
		{name: "transparent", data: blank, wantErr: ErrBlankSignature},
		{name: "white", data: encodePNG(white), wantErr: ErrBlankSignature},
	}
	for _, tt := range tests {
		img, err := DecodeSignatureImage(tt.data, tt.lim)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if img.Width > maxAppearanceW || img.Height > maxAppearanceH || len(img.rgb) != 3*img.Width*img.Height || len(img.alpha) != img.Width*img.Height {
				t.Errorf("%s: %d×%d image with %d/%d bytes", tt.name, img.Width, img.Height, len(img.rgb), len(img.alpha))
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}

func FuzzDecodeSignatureImage(f *testing.F) {
	valid := signingtest.SignaturePNG(2, 300, 100)
	f.Add(valid)
	f.Add(valid[:len(valid)/3])
	f.Add(encodePNG(image.NewNRGBA(image.Rect(0, 0, 3, 3))))
	f.Add(encodePNG(image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x06\x00\x00\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := ImageLimits{MaxBytes: 1 << 16, MaxWidth: 1000, MaxHeight: 500}
		img, err := DecodeSignatureImage(data, lim)
		if err != nil {
			return
		}
		if img.Width < 1 || img.Height < 1 || img.Width > maxAppearanceW || img.Height > maxAppearanceH ||
			len(img.rgb) != 3*img.Width*img.Height || len(img.alpha) != img.Width*img.Height {
			t.Fatalf("inconsistent image %d×%d (%d, %d bytes)", img.Width, img.Height, len(img.rgb), len(img.alpha))
		}
	})
}

// FuzzDecodeSealImage: a company's uploaded seal picture (PNG or JPEG) never panics the decoder, and what it
// accepts is within the page's bounds.
func FuzzDecodeSealImage(f *testing.F) {
	valid := signingtest.SignaturePNG(4, 400, 400)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	var jb bytes.Buffer
	_ = jpeg.Encode(&jb, image.NewRGBA(image.Rect(0, 0, 40, 30)), nil)
	f.Add(jb.Bytes())
	f.Add(jb.Bytes()[:jb.Len()/2])
	f.Add([]byte("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x06\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeSealImage(data)
		if err != nil {
			return
		}
		if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 || b.Dx() > maxSealPixels || b.Dy() > maxSealPixels {
			t.Fatalf("seal image %v, want within %d px", b, maxSealPixels)
		}
	})
}
