package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// The case's message threads outside sessions (text and asynchronous mediation, issue 12 §4). The rules of who
// reads and writes which thread are cases.MayReadThread and cases.MayWriteThread.

type threadMessageRequest struct {
	Body string `json:"body"`
	// Attachments are material ids of the case (an existing material, or one just uploaded from the thread).
	Attachments []string `json:"attachments,omitempty"`
}

type threadMessages struct {
	Messages []cases.ThreadMessage `json:"messages"`
}

func threadParam(r *http.Request) (cases.Thread, error) {
	return cases.ParseThread(r.PathValue("thread"))
}

func handleThreads(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := a.store.CaseThreads(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if out == nil {
			out = []cases.ThreadSummary{}
		}
		encode(w, http.StatusOK, out)
	})
}

func handleThreadMessages(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th, err := threadParam(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		var after int64
		if v := r.URL.Query().Get("after"); v != "" {
			if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
				fail(w, r, a.log, cases.Invalid(map[string]string{"after": "must be a message id"}))
				return
			}
		}
		limit, err := intQuery(r, "limit", 200, 1, 500)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		msgs, err := a.store.ThreadMessages(r.Context(), principal(r), r.PathValue("id"), th, after, limit)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if msgs == nil {
			msgs = []cases.ThreadMessage{}
		}
		encode(w, http.StatusOK, threadMessages{Messages: msgs})
	})
}

func handleThreadPost(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th, err := threadParam(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		p := principal(r)
		if !a.limiter.allow(r.Context(), "thread:"+p.ID) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests: wait a minute"))
			return
		}
		in, err := decode[threadMessageRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		res, err := a.store.PostThreadMessage(r.Context(), p, r.PathValue("id"), th, in.Body, in.Attachments...)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		for _, n := range res.Notices {
			a.threadNotice(r.Context(), n)
		}
		encode(w, http.StatusCreated, res.Message)
	})
}

// handleThreadUpload stores a file uploaded from a thread as a material whose visibility follows the thread
// (cases.ThreadMaterial), to attach to the next message.
func handleThreadUpload(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th, err := threadParam(r)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		q := r.URL.Query()
		in := cases.NewMaterial{Filename: q.Get("filename"), Kind: q.Get("kind"), Description: q.Get("description"), Length: r.ContentLength}
		if in.Kind == "" {
			in.Kind = "evidence"
		}
		m, err := a.store.UploadThreadMaterial(r.Context(), principal(r), r.PathValue("id"), th, in, slowUpload{r.Body}, a.materialLimits())
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, m)
	})
}

// threadNotice tells a party or agent by SMS that a thread of its case has a new message (the store allows one
// such SMS an hour per thread and reader). A notice is not electronic service of a document: nothing is served.
func (a *app) threadNotice(ctx context.Context, n cases.ThreadNotice) {
	zh, en := "共同留言", "the joint thread"
	if n.Thread != cases.ThreadJoint {
		zh, en = "您方与调解员的单独留言", "your private thread with the mediator"
	}
	body := fmt.Sprintf("%s，您好：案件 %s 的%s有新消息，请登录 Parley 查看（%s）。\n%s: there is a new message in %s of case %s; log in to Parley to read it (%s).",
		n.Name, n.CaseNumber, zh, a.cfg.BaseURL, n.Name, en, n.CaseNumber, a.cfg.BaseURL)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := a.notify.Notify(ctx, Message{To: n.To, Name: n.Name, Subject: "Parley 新留言 / new message", Body: body}); err != nil {
		a.log.Error("thread notice", "case_number", n.CaseNumber, "thread", n.Thread, "err", err)
	}
}

// threadRoutes are this file's endpoints, appended to routes().
func (a *app) threadRoutes() []route {
	return []route{
		{"GET", "/api/v1/cases/{id}/threads", "The case's message threads the caller may read (joint; its own side's private thread with the mediators), with unread counts", "cases", anyone, nil, nil, []cases.ThreadSummary{}, 200, handleThreads(a)},
		{"GET", "/api/v1/cases/{id}/threads/{thread}/messages", "Messages of a thread (joint, applicant or respondent), oldest first, marked read for the caller", "cases", anyone,
			[]param{{"after", "integer", "only messages after this id"}, {"limit", "integer", "1–500 (default 200)"}}, nil, threadMessages{}, 200, handleThreadMessages(a)},
		{"POST", "/api/v1/cases/{id}/threads/{thread}/messages", "Write in a thread (until mediation ends), with materials of the case as attachments (shared ones; in a side's thread also that side's mediators-only ones; else attachment_hidden); the parties of the thread are told by SMS at most once an hour", "cases", anyone, nil, threadMessageRequest{}, cases.ThreadMessage{}, 201, handleThreadPost(a)},
		{"POST", "/api/v1/cases/{id}/threads/{thread}/attachments", "Upload a file from a thread as a material to attach: the body is the file, as for materials; the joint thread's are shared, a side's thread's are for the mediators and owned by that side", "cases", anyone,
			[]param{{"filename", "string", "the file's name (no path): its extension must match the content"}, {"kind", "string", "evidence (default), application, ip_certificate, comparison, appraisal or other"}, {"description", "string", "what the material shows (at most 500 characters)"}},
			rawBody("application/octet-stream"), cases.Material{}, 201, handleThreadUpload(a)},
	}
}
