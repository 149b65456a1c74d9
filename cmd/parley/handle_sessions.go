package main

import (
	"context"
	"net/http"
	"strconv"

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
		if ss.ScheduledAt != nil && ss.Status == cases.SessionScheduled {
			// The session notice (time, link) is served on every party that accepts electronic service.
			if c, err := a.store.Case(r.Context(), ss.CaseID); err == nil {
				a.serveNotice(r.Context(), c, "session_notice", func(cases.Party) cases.Notice {
					return cases.SessionNotice(c, ss.Title, *ss.ScheduledAt, a.cfg.BaseURL+"/party", a.store.Cal.Loc)
				})
			}
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

// pathID reads a positive integer path value (a message ID, a caucus ref).
func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, cases.Errorf(cases.ENOTFOUND, "%s not found", name)
	}
	return v, nil
}

// handleMessageShare records a party's consent to move one caucus message into the shared record.
func handleMessageShare(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "message")
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		m, err := a.store.ShareCaucusMessage(r.Context(), principal(r), r.PathValue("id"), id)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, m)
	})
}

type caucusNotesRequest struct {
	Body    string `json:"body"`
	Version int    `json:"version"` // the version edited; 0 for the first notes
}

func handleCaucusNotes(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref, err := pathID(r, "caucus")
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		in, err := decode[caucusNotesRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		n, err := a.store.SaveCaucusNotes(r.Context(), principal(r), r.PathValue("id"), ref, in.Body, in.Version)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, n)
	})
}
