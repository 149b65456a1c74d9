package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// pageRenderer turns a page of a stored PDF into a PNG with poppler's pdftoppm, so that a phone can show the
// document as images (mobile browsers often cannot display a PDF inline). Rendered pages are cached by the
// version's SHA-256, the page and the width.
type pageRenderer struct {
	bin  string
	mu   sync.Mutex
	keys []string
	pngs map[string][]byte
	sem  chan struct{}
}

func newPageRenderer() *pageRenderer {
	bin, _ := exec.LookPath("pdftoppm")
	return &pageRenderer{bin: bin, pngs: map[string][]byte{}, sem: make(chan struct{}, 2)}
}

const pageCacheSize = 64

func (pr *pageRenderer) render(ctx context.Context, pdf []byte, sha string, page, width int) ([]byte, error) {
	key := fmt.Sprintf("%s:%d:%d", sha, page, width)
	pr.mu.Lock()
	if b, ok := pr.pngs[key]; ok {
		pr.mu.Unlock()
		return b, nil
	}
	pr.mu.Unlock()
	if pr.bin == "" {
		return nil, cases.Errorf(cases.EINTERNAL, "page images need pdftoppm (apt-get install poppler-utils); download the PDF instead")
	}
	select {
	case pr.sem <- struct{}{}:
		defer func() { <-pr.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	dir, err := os.MkdirTemp("", "parley-page-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out := filepath.Join(dir, "page")
	cmd := exec.CommandContext(ctx, pr.bin, "-png", "-f", strconv.Itoa(page), "-l", strconv.Itoa(page), "-scale-to-x", strconv.Itoa(width), "-scale-to-y", "-1", "-singlefile", in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pdftoppm: %v: %s", err, msg)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if _, ok := pr.pngs[key]; !ok {
		pr.pngs[key] = png
		pr.keys = append(pr.keys, key)
		if len(pr.keys) > pageCacheSize {
			delete(pr.pngs, pr.keys[0])
			pr.keys = pr.keys[1:]
		}
	}
	return png, nil
}

func handleDocumentPage(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _, err := a.documentFor(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		page, err := strconv.Atoi(r.PathValue("page"))
		if err != nil || page < 1 || page > d.Pages {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "the document has pages 1 to %d", d.Pages))
			return
		}
		version, err := intQuery(r, "version", 0, 0, 1<<20)
		if err == nil {
			var width int
			if width, err = intQuery(r, "width", 900, 200, 2400); err == nil {
				var pdf []byte
				if pdf, _, err = a.store.DocumentPDF(r.Context(), d.ID, version); err == nil {
					var png []byte
					if png, err = a.pages.render(r.Context(), pdf, sha256Hex(pdf), page, width); err == nil {
						w.Header().Set("Content-Type", "image/png")
						w.Header().Set("Cache-Control", "private, max-age=300")
						w.Write(png)
						return
					}
				}
			}
		}
		fail(w, r, a.log, err)
	})
}
