package main

import (
	"context"
	"net/http"

	"github.com/parley-mediation/parley/cases"
)

// The court's documents over HTTP (issue 12 §3; made and stored in docflow/courtdocs.go): the mediation statement
// of an entrusted case, any stored court document by its ID (what a service record names), and the document a
// personal service link served. The ruling's own route is with the materials' (handle_materials.go).

func (a *app) courtDocRoutes() []route {
	return []route{
		{"GET", "/api/v1/cases/{id}/mediation-statement", "The court's mediation statement (民事调解书) of a case entrusted after filing (委托) as a PDF signed by the court, made once when the judge issued it (everyone who sees the case); its SHA-256 in X-Content-SHA256", "materials", anyone, nil, nil, rawBody("application/pdf"), 200, handleCourtDocument(a, cases.CourtStatement)},
		{"GET", "/api/v1/court-documents/{id}", "A court document (ruling or mediation statement) by the ID its service record names, as the stored PDF (everyone who sees the case)", "materials", anyone, nil, nil, rawBody("application/pdf"), 200, handleCourtDocumentByID(a)},
		{"GET", "/api/v1/served/{token}/document", "The court document a personal service link served, as the stored PDF; opening it marks the service opened", "service", public, nil, nil, rawBody("application/pdf"), 200, handleServedDocument(a)},
	}
}

// writeCourtDocument sends a stored court document as an attachment, with its SHA-256.
func writeCourtDocument(w http.ResponseWriter, d *cases.CourtDocument, pdf []byte) {
	name := map[string]string{cases.CourtRuling: "ruling", cases.CourtStatement: "mediation-statement"}[d.Kind]
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", attachment(d.Title+"-"+name+"-"+d.ID[:8]+".pdf"))
	w.Header().Set("X-Content-SHA256", d.SHA256)
	w.Header().Set("X-Document-ID", d.ID)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(pdf)
}

func handleCourtDocument(a *app, kind string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, pdf, err := a.docs.CourtDocument(r.Context(), principal(r), r.PathValue("id"), kind)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		writeCourtDocument(w, d, pdf)
	})
}

func handleCourtDocumentByID(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, pdf, err := a.docs.CourtDocumentByID(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		writeCourtDocument(w, d, pdf)
	})
}

func handleServedDocument(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := a.openServed(w, r)
		if !ok {
			return
		}
		if rec.DocumentID == "" {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "this notice was served as its text: there is no document to download"))
			return
		}
		d, pdf, err := a.store.CourtDocumentByID(r.Context(), rec.DocumentID)
		if err != nil || d.CaseID != rec.CaseID {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "this notice was served as its text: there is no document to download"))
			return
		}
		writeCourtDocument(w, d, pdf)
	})
}

// issueAndServe makes (or finds) the court document of kind that the decision in c calls for; the node that stores
// it serves it (serveIssued). When it cannot be made now (the job sweeper makes and serves it later), the decision
// is served at once as its notice text, as before court documents were stored.
func (a *app) issueAndServe(ctx context.Context, c *cases.Case, serviceKind, docKind string, notice func(cases.Party) cases.Notice) {
	ctx = context.WithoutCancel(ctx)
	if _, _, err := a.docs.IssueCourtDocument(ctx, c, docKind); err != nil {
		a.log.Error("court document", "case", c.ID, "kind", docKind, "err", err)
		a.serveNotice(ctx, c, serviceKind, notice)
	}
}

// serveIssued serves a court document just stored on every party that accepts electronic service (docflow's
// Issued): the record names the document and its SHA-256, the notice says what the court decided.
func (a *app) serveIssued(ctx context.Context, c *cases.Case, d *cases.CourtDocument, decision *cases.Event) {
	kind, notice := "mediation_statement", func(cases.Party) cases.Notice { return cases.StatementNotice(c, decision.At, a.store.Cal.Loc) }
	if d.Kind == cases.CourtRuling {
		reason, _ := decision.Data["reason"].(string)
		kind, notice = "confirmation_decision", func(cases.Party) cases.Notice {
			return cases.ConfirmationNotice(c, decision.Type == "case.confirm", reason, decision.At, a.store.Cal.Loc)
		}
	}
	a.serveOn(ctx, c, kind, d, notice)
}
