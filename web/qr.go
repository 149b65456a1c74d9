package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"rsc.io/qr"
)

// maxQRPath bounds the page address a QR code may carry (a QR code stays scannable on a phone screen).
const maxQRPath = 512

// qrTarget returns the absolute URL of a page of this server for a QR code, or an error saying why the path is
// not acceptable: it must be a path on this server (no scheme, no host, no //), short and printable.
func qrTarget(baseURL, p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("path is required")
	case len(p) > maxQRPath:
		return "", fmt.Errorf("path is longer than %d bytes", maxQRPath)
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, `\`):
		return "", fmt.Errorf("path must be a path on this server, starting with a single /")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("path contains a control character")
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "", fmt.Errorf("path must be a path on this server")
	}
	if baseURL == "" {
		return "", fmt.Errorf("the server has no base URL")
	}
	return strings.TrimSuffix(baseURL, "/") + u.String(), nil
}

// qrSVG draws the code as an SVG: one path of dark modules (runs of a row merged) with a 4-module quiet zone.
func qrSVG(c *qr.Code) []byte {
	const quiet = 4
	n := c.Size + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*4, n*4)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < c.Size && c.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quiet, y+quiet, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// serveQR answers /qr.svg?path=/some/page with a QR code of that page of this server.
func (h *handler) serveQR(w http.ResponseWriter, r *http.Request) {
	target, err := qrTarget(h.opts.BaseURL, r.URL.Query().Get("path"))
	if err != nil {
		http.Error(w, "qr: "+err.Error(), http.StatusBadRequest)
		return
	}
	code, err := qr.Encode(target, qr.M)
	if err != nil {
		h.opts.Logger.Warn("qr: encode", "err", err)
		http.Error(w, "qr: the address does not fit in a QR code", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	write(w, r, newAsset(qrSVG(code), "image/svg+xml"), http.StatusOK)
}
