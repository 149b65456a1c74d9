package main

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// threadUpload uploads a file from a thread (POST …/threads/{thread}/attachments).
func (c *client) threadUpload(caseID string, th cases.Thread, filename string, data []byte) (int, cases.Material, []byte) {
	c.env.t.Helper()
	st, raw := c.raw("POST", "/api/v1/cases/"+caseID+"/threads/"+string(th)+"/attachments?"+url.Values{"filename": {filename}}.Encode(), rawRequest{"application/octet-stream", data})
	var m cases.Material
	if st == 201 {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.env.t.Fatal(err)
		}
	}
	return st, m, raw
}

// TestMaterialAttachmentsInThreads (issue 12 §4 with §1): attachments in messages are materials. The applicant
// uploads a file from its private thread (mediators only, owned by its side) and attaches it; the mediator
// attaches a shared material in the joint thread and uploads one into the applicant's thread (the applicant's
// side owns it, so it reads it). Each reader sees an attachment and downloads it only as the material rules
// allow: the respondent never sees the applicant's private file, not in a thread, not in the list, not by its
// id. A material hidden from some reader of a thread cannot be attached there; bad lists are refused and
// nothing is stored; the thread's hash chain covers each attachment's id and SHA-256.
func TestMaterialAttachmentsInThreads(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	mediator, judge := e.login(e.w.Mediator), e.login(e.w.Judge)
	applicant := e.enter(c.ID, c.Parties[0].ID, "")
	respondent := e.enter(c.ID, c.Parties[1].ID, "")
	base := "/api/v1/cases/" + c.ID + "/threads/"
	messages := func(cl *client, th cases.Thread) []cases.ThreadMessage {
		t.Helper()
		var page threadMessages
		if st := cl.do("GET", base+string(th)+"/messages", nil, &page); st != 200 {
			t.Fatalf("read %s: %d", th, st)
		}
		return page.Messages
	}

	// A file uploaded from the applicant's private thread: for the mediators, owned by the applicant's side.
	st, secret, raw := applicant.threadUpload(c.ID, cases.ThreadApplicant, "底线说明.pdf", testPDF(3000))
	if st != 201 || secret.Visibility != cases.MatMediators || secret.OwnerSide != cases.Applicant {
		t.Fatalf("upload from the private thread: %d %+v %s", st, secret, truncate(raw))
	}
	var m cases.ThreadMessage
	if st := applicant.do("POST", base+"applicant/messages", threadMessageRequest{Body: "附上我方底线说明。", Attachments: []string{secret.ID}}, &m); st != 201 ||
		len(m.Attachments) != 1 || m.Attachments[0].MaterialID != secret.ID || m.Attachments[0].SHA256 != secret.SHA256 {
		t.Fatalf("post with the attachment: %d %+v", st, m)
	}
	// The same private file cannot go to the joint thread, where the respondent reads.
	if st, raw := applicant.raw("POST", base+"joint/messages", threadMessageRequest{Body: "给大家看看", Attachments: []string{secret.ID}}); st != 422 || errCode(raw) != cases.EAttachmentHidden {
		t.Errorf("a mediators-only material into the joint thread: %d %s, want 422 %s", st, truncate(raw), cases.EAttachmentHidden)
	}
	// The respondent cannot attach what it cannot see: for it, the material does not exist.
	if st, _ := respondent.raw("POST", base+"respondent/messages", threadMessageRequest{Body: "这是什么？", Attachments: []string{secret.ID}}); st != 404 {
		t.Errorf("the respondent attaches the applicant's private material: %d, want 404", st)
	}

	// The mediator: a shared material of the case in the joint thread (text-free), a file into the applicant's thread.
	shared := mediator.mustUpload(c.ID, "比对表.pdf", cases.MatShared, testPDF(2000))
	if st, raw := mediator.raw("POST", base+"joint/messages", threadMessageRequest{Attachments: []string{shared.ID}}); st != 201 {
		t.Fatalf("a shared material in the joint thread, no text: %d %s", st, truncate(raw))
	}
	st, note, raw := mediator.threadUpload(c.ID, cases.ThreadApplicant, "调解员意见.pdf", testPDF(1000))
	if st != 201 || note.Visibility != cases.MatMediators || note.OwnerSide != cases.Applicant {
		t.Fatalf("the mediator uploads into the applicant's thread: %d %+v %s", st, note, truncate(raw))
	}
	if st, raw := mediator.raw("POST", base+"applicant/messages", threadMessageRequest{Body: "请看我的意见。", Attachments: []string{note.ID, secret.ID}}); st != 201 {
		t.Fatalf("the mediator attaches two: %d %s", st, truncate(raw))
	}
	// The mediator's own mediators-only material is hidden from the applicant: not in the applicant's thread.
	own := mediator.mustUpload(c.ID, "内部笔记.pdf", cases.MatMediators, testPDF(500))
	if st, raw := mediator.raw("POST", base+"applicant/messages", threadMessageRequest{Body: "笔记", Attachments: []string{own.ID}}); st != 422 || errCode(raw) != cases.EAttachmentHidden {
		t.Errorf("the mediator's own mediators-only material into the applicant's thread: %d %s, want 422", st, truncate(raw))
	}

	// What each reader sees, and downloads.
	app := messages(applicant, cases.ThreadApplicant)
	if len(app) != 2 || len(app[0].Attachments) != 1 || len(app[1].Attachments) != 2 || app[1].Attachments[0].Filename != "调解员意见.pdf" {
		t.Fatalf("the applicant's thread as it reads it: %+v", app)
	}
	for _, a := range app[1].Attachments {
		if r, body := applicant.get("/api/v1/materials/" + a.MaterialID + "/content"); r.StatusCode != 200 || r.Header.Get("X-Content-SHA256") != a.SHA256 || len(body) != int(a.Size) {
			t.Errorf("the applicant downloads %s: %d", a.Filename, r.StatusCode)
		}
	}
	if med := messages(mediator, cases.ThreadApplicant); len(med) != 2 || len(med[0].Attachments) != 1 {
		t.Errorf("the mediator's view of the applicant's thread: %+v", med)
	}
	joint := messages(respondent, cases.ThreadJoint)
	if len(joint) != 1 || len(joint[0].Attachments) != 1 || joint[0].Attachments[0].MaterialID != shared.ID {
		t.Errorf("the respondent's joint thread: %+v", joint)
	}
	if r, _ := respondent.get("/api/v1/materials/" + shared.ID + "/content"); r.StatusCode != 200 {
		t.Errorf("the respondent downloads the shared attachment: %d", r.StatusCode)
	}
	for _, id := range []string{secret.ID, note.ID} {
		if r, _ := respondent.get("/api/v1/materials/" + id + "/content"); r.StatusCode != 404 {
			t.Errorf("the respondent downloads the applicant's private attachment %s: %d, want 404", id, r.StatusCode)
		}
	}
	var list []cases.Material
	if st := respondent.do("GET", "/api/v1/cases/"+c.ID+"/materials", nil, &list); st != 200 || len(list) != 1 || list[0].ID != shared.ID {
		t.Errorf("the respondent's materials: %d %+v, want only the shared one", st, list)
	}
	if st, _ := judge.raw("GET", base+"applicant/messages", nil); st != 403 {
		t.Errorf("the judge reads the applicant's thread: %d, want 403", st)
	}
	if r, _ := judge.get("/api/v1/materials/" + note.ID + "/content"); r.StatusCode != 404 {
		t.Errorf("the judge downloads the applicant's thread file: %d, want 404", r.StatusCode)
	}

	// Bad lists: refused, nothing stored.
	before, _ := e.store.ThreadCount(context.Background(), c.ID)
	for name, in := range map[string]threadMessageRequest{
		"not an id":     {Body: "x", Attachments: []string{"../../etc/passwd"}},
		"unknown":       {Body: "x", Attachments: []string{"00000000-0000-0000-0000-000000000000"}},
		"twice":         {Body: "x", Attachments: []string{shared.ID, shared.ID}},
		"eleven":        {Body: "x", Attachments: []string{shared.ID, "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}},
		"no text, none": {Body: " ", Attachments: []string{}},
	} {
		if st, raw := mediator.raw("POST", base+"joint/messages", in); st != 400 && st != 404 {
			t.Errorf("%s: %d %s, want 400 or 404", name, st, truncate(raw))
		}
	}
	if after, _ := e.store.ThreadCount(context.Background(), c.ID); after != before {
		t.Errorf("refused messages stored: %d messages, want %d", after, before)
	}
	if st, raw := respondent.raw("POST", base+"applicant/attachments?filename=x.pdf", rawRequest{"application/pdf", testPDF(10)}); st != 403 {
		t.Errorf("the respondent uploads into the applicant's thread: %d %s, want 403", st, truncate(raw))
	}

	// The chain covers each attachment: it verifies; a swapped attachment's SHA-256 breaks it.
	if err := e.store.VerifyThreads(context.Background(), c.ID); err != nil {
		t.Fatalf("verify threads: %v", err)
	}
	// Around the append-only trigger, as a database administrator could: the applicant's first message now
	// carries the shared file instead, id and SHA-256 both.
	ctx := context.Background()
	tx, err := e.store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE case_message_attachments SET material_id = $1, sha256 = decode($2, 'hex') WHERE message_id = $3`, shared.ID, shared.SHA256, app[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.store.VerifyThreads(context.Background(), c.ID); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("verify after swapping an attachment: %v, want a conflict", err)
	}
}
