package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-mediation/parley/cases"
)

// The HTTP side of the case file's materials (issue 12 §1; rules in cases/materials.go and
// cases/materialcheck.go). An upload's body is the file itself, streamed to the store; what the file is comes
// from its bytes, never from Content-Type.

func (a *app) materialRoutes() []route {
	upload := []param{
		{"filename", "string", "the file's name (no path): its extension must match the content"},
		{"visibility", "string", "shared (everyone in the case), mediators (your side and the mediators) or court (your side and the court)"},
		{"kind", "string", "application, evidence (default), ip_certificate, comparison, appraisal or other"},
		{"description", "string", "what the material shows (at most 500 characters)"},
		{"ip_kind", "string", "ip_certificate: patent, utility_model, design, trademark, copyright, layout_design, plant_variety or other"},
		{"ip_number", "string", "ip_certificate: the patent or registration number"},
		{"ip_holder", "string", "ip_certificate: the right holder"},
	}
	return []route{
		{"GET", "/api/v1/cases/{id}/materials", "The case's materials the caller may see (the other side's mediators-only and court-only materials are not listed)", "materials", anyone, nil, nil, []cases.Material{}, 200, handleMaterials(a)},
		{"POST", "/api/v1/cases/{id}/materials", "Upload a material: the body is the file (PDF, JPEG, PNG, Word, Excel, PowerPoint), streamed; errors material_empty, material_filename, material_too_large, case_materials_full, material_type, material_bomb", "materials", anyone, upload, rawBody("application/octet-stream"), cases.Material{}, 201, handleMaterialUpload(a)},
		{"GET", "/api/v1/materials/{id}", "One material's description", "materials", anyone, nil, nil, cases.Material{}, 200, handleMaterial(a)},
		{"GET", "/api/v1/cases/{id}/bundle", "The case file for the court as a signed zip: events, documents, the materials the court reads, manifest.json with every SHA-256, manifest.sig and platform.pem (the case's court, once mediation has ended)", "materials", anyone, nil, nil, rawBody("application/zip"), 200, handleBundle(a)},
		{"POST", "/api/v1/cases/{id}/bundle/push", "Push an ended case's file to its court: the webhook event case.bundle_pushed carries the bundle's address (mediator, organisation admin, court clerk)", "materials", staff, nil, nil, cases.Event{}, 200, handleBundlePush(a)},
		{"GET", "/api/v1/cases/{id}/failure-report", "The mediator's failure report for the court (调解不成告知书) as a PDF signed by the mediation organisation (the case's staff)", "materials", staff, nil, nil, rawBody("application/pdf"), 200, handleFailureReport(a)},
		{"GET", "/api/v1/cases/{id}/ruling", "The court's ruling on judicial confirmation (民事裁定书: the agreement confirmed, or the application rejected with the reason) as a PDF signed by the court, made once at the decision (everyone who sees the case, once the court has decided); its SHA-256 in X-Content-SHA256", "materials", anyone, nil, nil, rawBody("application/pdf"), 200, handleRuling(a)},
		{"GET", "/api/v1/materials/{id}/content", "Download a material (always as an attachment, with its SHA-256 in X-Content-SHA256)", "materials", anyone, nil, nil, rawBody("application/octet-stream"), 200, handleMaterialContent(a)},
	}
}

// materialLimits are the configured upload limits.
func (a *app) materialLimits() cases.MaterialLimits {
	return cases.MaterialLimits{MaxFileBytes: a.cfg.MaterialMaxBytes, MaxCaseBytes: a.cfg.MaterialCaseMaxBytes, MaxPixels: a.cfg.MaterialMaxPixels, MaxInflated: a.cfg.MaterialMaxInflated}
}

func handleMaterials(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms, err := a.store.Materials(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ms)
	})
}

func handleMaterial(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := a.store.Material(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, m)
	})
}

// slowUpload names a body cut for arriving too slowly (server.go's slowBodies) as such.
type slowUpload struct{ io.Reader }

func (s slowUpload) Read(p []byte) (int, error) {
	n, err := s.Reader.Read(p)
	if errors.Is(err, errSlowBody) {
		err = &cases.Error{Code: "body_timeout", Message: "the file arrived too slowly"}
	}
	return n, err
}

func handleMaterialUpload(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		in := cases.NewMaterial{Filename: q.Get("filename"), Kind: q.Get("kind"), Visibility: q.Get("visibility"), Description: q.Get("description"), Length: r.ContentLength}
		if in.Kind == "" {
			in.Kind = "evidence"
		}
		if q.Get("ip_kind") != "" || q.Get("ip_number") != "" || q.Get("ip_holder") != "" {
			in.IPRight = &cases.IPRight{Kind: q.Get("ip_kind"), Number: q.Get("ip_number"), Holder: q.Get("ip_holder")}
		}
		m, err := a.store.UploadMaterial(r.Context(), principal(r), r.PathValue("id"), in, slowUpload{r.Body}, a.materialLimits())
		if err != nil {
			// net/http reads up to 256 KiB of what is left of a refused body, so that the client reads this answer,
			// and closes the connection when more remains (a client sending Expect: 100-continue never sends a
			// body refused on its declared length).
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, m)
	})
}

func handleMaterialContent(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := a.store.Material(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", m.ContentType)
		h.Set("Content-Disposition", attachment(m.Filename))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "private, no-store")
		h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
		h.Set("X-Content-SHA256", m.SHA256)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := a.store.CopyMaterial(r.Context(), m.ID, w); err != nil && r.Context().Err() == nil {
			// The status is sent; the short body tells the client (Content-Length) that the download broke.
			a.log.Error("material download failed", "material", m.ID, "err", err)
		}
	})
}

// attachment is a Content-Disposition that always downloads: an ASCII fallback name and the real one in
// RFC 5987 form.
func attachment(name string) string {
	var ascii strings.Builder
	for _, c := range name {
		switch {
		case c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%' || c == ';':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(c)
		}
	}
	return fmt.Sprintf("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii.String(), urlPathEscape(name))
}

func handleBundle(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		c, err := a.store.Case(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !cases.CanView(p, c) {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "case not found"))
			return
		}
		if !cases.MayTakeBundle(p, c) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "the case file goes to the case's court once mediation has ended"))
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", attachment("case-"+c.ID+".zip"))
		w.Header().Set("Cache-Control", "private, no-store")
		if _, err := a.docs.Bundle(r.Context(), p, c.ID, w); err != nil && r.Context().Err() == nil {
			// The answer has begun: the broken zip tells the client; the log tells us.
			a.log.Error("case bundle", "case", c.ID, "err", err)
		}
	})
}

func handleBundlePush(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := a.store.PushBundle(r.Context(), principal(r), r.PathValue("id"), a.cfg.BaseURL+"/api/v1/cases/"+r.PathValue("id")+"/bundle")
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ev)
	})
}

func handleFailureReport(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pdf, err := a.docs.FailureReport(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", attachment("failure-report.pdf"))
		w.Header().Set("X-Content-SHA256", sha256Hex(pdf))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Write(pdf)
	})
}

func handleRuling(a *app) http.Handler { return handleCourtDocument(a, cases.CourtRuling) }
