package main

import (
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestThreadsOverHTTP (issue 12 §4): a party takes part by text only. The mediator writes in the joint thread and
// in the respondent's private thread; each party reads what it may (the applicant never the respondent's thread);
// the parties of a thread are told by SMS once, not once per message; bad input is refused and nothing stored.
func TestThreadsOverHTTP(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	mediator, judge := e.login(e.w.Mediator), e.login(e.w.Judge)
	applicant := e.enter(c.ID, c.Parties[0].ID, "")
	respondent := e.enter(c.ID, c.Parties[1].ID, "")
	base := "/api/v1/cases/" + c.ID + "/threads/"
	smsTo := func(phone string) (n int) {
		e.notify.mu.Lock()
		defer e.notify.mu.Unlock()
		for _, m := range e.notify.msgs {
			if m.To == phone && strings.Contains(m.Body, c.Number) && strings.Contains(m.Body, "新消息") {
				n++
			}
		}
		return n
	}

	var m cases.ThreadMessage
	if st := mediator.do("POST", base+"joint/messages", threadMessageRequest{Body: "请双方于本周五前提交和解方案。"}, &m); st != 201 || m.AuthorRole != "mediator" || m.Hash == "" {
		t.Fatalf("mediator writes in the joint thread: %d %+v", st, m)
	}
	if st := mediator.do("POST", base+"joint/messages", threadMessageRequest{Body: "补充：请附许可费计算依据。"}, nil); st != 201 {
		t.Fatalf("second joint message: %d", st)
	}
	if st := mediator.do("POST", base+"respondent/messages", threadMessageRequest{Body: "请单独告诉我您可接受的最低金额。"}, nil); st != 201 {
		t.Fatalf("mediator writes in the respondent's thread: %d", st)
	}
	if n := smsTo(c.Parties[0].Phone); n != 1 {
		t.Errorf("the applicant got %d SMS for two joint messages, want 1", n)
	}
	if n := smsTo(c.Parties[1].Phone); n != 2 {
		t.Errorf("the respondent got %d SMS (joint twice, its own thread once), want 2 (one per thread)", n)
	}

	var list []cases.ThreadSummary
	if st := applicant.do("GET", "/api/v1/cases/"+c.ID+"/threads", nil, &list); st != 200 || len(list) != 2 || list[0].Thread != cases.ThreadJoint || list[0].Unread != 2 || list[1].Thread != cases.ThreadApplicant {
		t.Fatalf("the applicant's threads: %d %+v", st, list)
	}
	var page threadMessages
	if st := respondent.do("GET", base+"respondent/messages", nil, &page); st != 200 || len(page.Messages) != 1 {
		t.Fatalf("the respondent reads its thread: %d %+v", st, page)
	}
	if st := respondent.do("POST", base+"respondent/messages", threadMessageRequest{Body: "最低可接受八万元。"}, nil); st != 201 {
		t.Fatalf("the respondent answers in its thread: %d", st)
	}
	for name, cl := range map[string]*client{"applicant": applicant, "judge": judge} {
		if st := cl.do("GET", base+"respondent/messages", nil, &page); st != 403 {
			t.Errorf("%s reads the respondent's private thread: %d, want 403", name, st)
		}
		if st := cl.do("POST", base+"respondent/messages", threadMessageRequest{Body: "我也想看看"}, nil); st != 403 {
			t.Errorf("%s writes in the respondent's private thread: %d, want 403", name, st)
		}
	}
	if st := judge.do("GET", base+"joint/messages?after=0&limit=1", nil, &page); st != 200 || len(page.Messages) != 1 {
		t.Errorf("the judge reads the joint thread one at a time: %d %+v", st, page)
	}

	// Bad input: nothing stored.
	for _, bad := range []struct {
		path string
		body any
		want int
	}{
		{base + "joint/messages", threadMessageRequest{Body: "  "}, 400},
		{base + "joint/messages", threadMessageRequest{Body: strings.Repeat("长", cases.MaxThreadMessage+1)}, 400},
		{base + "joint/messages", map[string]any{"body": 5}, 400},
		{base + "caucus-1/messages", threadMessageRequest{Body: "hi"}, 400},
	} {
		if st := applicant.do("POST", bad.path, bad.body, nil); st != bad.want {
			t.Errorf("POST %s %v: %d, want %d", bad.path, bad.body, st, bad.want)
		}
	}
	if st := applicant.do("GET", base+"joint/messages?after=x", nil, nil); st != 400 {
		t.Errorf("after=x: %d, want 400", st)
	}
	if st := applicant.do("GET", base+"joint/messages", nil, &page); st != 200 || len(page.Messages) != 2 {
		t.Errorf("the joint thread after the refused messages: %d, %d messages, want 2", st, len(page.Messages))
	}
	if err := e.store.VerifyThreads(t.Context(), c.ID); err != nil {
		t.Errorf("the threads' chain: %v", err)
	}
}
