package main

import "net/http"

// handleChecklist answers what each party of a case still has to do, for the mediator's checklist.
func handleChecklist(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := a.store.Checklist(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}
