package main

import (
	"context"
	"net/http"

	"github.com/parley-mediation/parley/cases"
)

func handleSessions(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.store.CaseFor(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		list, err := a.store.Sessions(r.Context(), c.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orEmpty(list))
	})
}

func handleSessionCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewSession](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ss, err := a.store.CreateSession(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, ss)
	})
}

func handleLiveSessions(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.LiveSessions(r.Context(), principal(r))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orEmpty(list))
	})
}

func handleSession(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := a.store.SessionDetail(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, d)
	})
}

func handleSessionStart(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := a.store.StartSession(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ss)
	})
}

func handleSessionEnd(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := a.store.EndSession(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if a.rooms != nil {
			// Close the room now if it is here; a room on another node sees the ended session within seconds.
			a.rooms.sig.EndSession(context.WithoutCancel(r.Context()), ss.ID)
		}
		encode(w, http.StatusOK, ss)
	})
}

// sessionForStaff loads a session whose case the caller may see.
func (a *app) sessionForCaller(r *http.Request) (*cases.Session, error) {
	ss, err := a.store.Session(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if _, err := a.store.CaseFor(r.Context(), principal(r), ss.CaseID); err != nil {
		return nil, cases.Errorf(cases.ENOTFOUND, "session not found")
	}
	return ss, nil
}

func handleRecord(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, err := a.sessionForCaller(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rec, err := a.store.Record(r.Context(), ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rec)
	})
}

func handleRecordSave(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.SessionRecord](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rec, err := a.store.SaveRecord(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rec)
	})
}
