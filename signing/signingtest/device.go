// Package signingtest provides helpers for tests of code that uses package signing: a Device that plays the
// signer's phone in two-step signing and a generated signature image.
package signingtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Device plays a signer's phone: a P-256 key that stays inside it, used the way WebCrypto does with
// {name: "ECDSA", hash: "SHA-256"}.
type Device struct {
	key *ecdsa.PrivateKey
}

// NewDevice generates the device key.
func NewDevice() (*Device, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signingtest: generate device key: %w", err)
	}
	return &Device{key: k}, nil
}

// Public returns the device's public key.
func (d *Device) Public() crypto.PublicKey { return &d.key.PublicKey }

// SPKI returns the public key as WebCrypto's exportKey("spki") does (DER SubjectPublicKeyInfo).
func (d *Device) SPKI() []byte {
	b, err := x509.MarshalPKIXPublicKey(&d.key.PublicKey)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return b
}

// Sign signs msg as WebCrypto does: SHA-256 over msg, ECDSA, and the raw r‖s encoding (64 bytes).
func (d *Device) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, d.key, h[:])
	if err != nil {
		return nil, fmt.Errorf("signingtest: sign: %w", err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// SignaturePNG draws a handwriting-like stroke (a seeded Lissajous curve) on a transparent canvas, as a phone's
// signature pad would produce.
func SignaturePNG(seed int, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	ink := color.NRGBA{R: 20, G: 30, B: 90, A: 255}
	a, b := 3+float64(seed%3), 2+float64(seed%2)
	for i := 0; i < 4000; i++ {
		t := float64(i) / 4000 * 2 * math.Pi
		x := float64(w)/2 + float64(w)*0.42*math.Sin(a*t+float64(seed)) + float64(w)*0.05*math.Sin(9*t)
		y := float64(h)/2 + float64(h)*0.35*math.Sin(b*t)
		for dx := -2; dx <= 2; dx++ {
			for dy := -2; dy <= 2; dy++ {
				if dx*dx+dy*dy <= 5 {
					img.SetNRGBA(int(x)+dx, int(y)+dy, ink)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}
