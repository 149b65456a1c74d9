package cases_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestThreadReaderMatrix (issue 12 §4): the joint thread is everyone in the case; each side's thread is that
// side and the mediators who accepted the case — never the other side, the court, the organisation's admin,
// another mediator or the platform admin — for reading and for writing, and a reader's list shows only its
// threads.
func TestThreadReaderMatrix(t *testing.T) {
	t.Parallel()
	s, _ := casestest.Store(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := casestest.InMediation(t, s, w)
	app, res := casestest.PartyPrincipal(c, 0), casestest.PartyPrincipal(c, 1)
	who := []struct {
		name string
		p    cases.Principal
		want map[cases.Thread]bool
	}{
		{"applicant", app, map[cases.Thread]bool{cases.ThreadJoint: true, cases.ThreadApplicant: true}},
		{"respondent", res, map[cases.Thread]bool{cases.ThreadJoint: true, cases.ThreadRespondent: true}},
		{"mediator", w.Mediator, map[cases.Thread]bool{cases.ThreadJoint: true, cases.ThreadApplicant: true, cases.ThreadRespondent: true}},
		{"clerk", w.Clerk, map[cases.Thread]bool{cases.ThreadJoint: true}},
		{"judge", w.Judge, map[cases.Thread]bool{cases.ThreadJoint: true}},
		{"organisation admin", w.OrgAdmin, map[cases.Thread]bool{cases.ThreadJoint: true}},
		{"another mediator of the organisation", w.OrgMediator, map[cases.Thread]bool{}},
		{"another court's clerk", w.OtherClerk, map[cases.Thread]bool{}},
		{"platform admin", w.Admin, map[cases.Thread]bool{}},
		{"a party of another case", cases.Principal{Kind: cases.KindParty, ID: "x", Name: "x", CaseID: "00000000-0000-0000-0000-000000000000", PartyID: "x", Side: cases.Applicant}, map[cases.Thread]bool{}},
	}
	for _, th := range cases.Threads {
		for _, x := range who {
			_, err := s.PostThreadMessage(ctx, x.p, c.ID, th, x.name+" 在 "+string(th)+" 中留言")
			if x.want[th] != (err == nil) {
				t.Errorf("%s writes in %s: %v, want allowed %v", x.name, th, err, x.want[th])
			}
		}
	}
	for _, x := range who {
		for _, th := range cases.Threads {
			msgs, err := s.ThreadMessages(ctx, x.p, c.ID, th, 0, 100)
			if x.want[th] != (err == nil) {
				t.Errorf("%s reads %s: %v, want allowed %v", x.name, th, err, x.want[th])
				continue
			}
			for _, m := range msgs {
				for _, y := range who {
					if !y.want[th] && strings.HasPrefix(m.Body, y.name+" ") {
						t.Errorf("%s reads in %s a message by %s, who may not write there", x.name, th, y.name)
					}
				}
			}
		}
		list, err := s.CaseThreads(ctx, x.p, c.ID)
		if len(x.want) == 0 {
			if err == nil && len(list) > 0 {
				t.Errorf("%s lists threads %+v, want none", x.name, list)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s lists threads: %v", x.name, err)
		}
		got := map[cases.Thread]bool{}
		for _, sum := range list {
			got[sum.Thread] = true
			if sum.Unread != 0 {
				t.Errorf("%s: %s has %d unread after reading it all", x.name, sum.Thread, sum.Unread)
			}
		}
		if len(got) != len(x.want) {
			t.Errorf("%s lists %v, want %v", x.name, got, x.want)
		}
	}
	// The applicant's private thread holds the applicant's and the mediator's messages only.
	msgs, err := s.ThreadMessages(ctx, w.Mediator, c.ID, cases.ThreadApplicant, 0, 100)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("the applicant's thread: %d messages, %v; want the applicant's and the mediator's", len(msgs), err)
	}
	if err := s.VerifyThreads(ctx, c.ID); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestThreadMessages: unread counts, paging, bad input refused with nothing stored, SMS at most once an hour per
// thread and reader, read-only after mediation ended, and a changed or removed message found by the chain.
func TestThreadMessages(t *testing.T) {
	t.Parallel()
	s, clock := casestest.Store(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := casestest.InMediation(t, s, w)
	app, res := casestest.PartyPrincipal(c, 0), casestest.PartyPrincipal(c, 1)

	for _, bad := range []string{"", "   \n ", strings.Repeat("长", cases.MaxThreadMessage+1), "a\x00b", "\xff\xfe"} {
		if _, err := s.PostThreadMessage(ctx, app, c.ID, cases.ThreadJoint, bad); cases.ErrorCode(err) != cases.EINVALID {
			t.Errorf("message %q: %v, want invalid", bad[:min(len(bad), 10)], err)
		}
	}
	if _, err := cases.ParseThread("caucus-1"); cases.ErrorCode(err) != cases.EINVALID {
		t.Errorf("thread caucus-1: %v, want invalid", err)
	}

	post := func(p cases.Principal, th cases.Thread, body string) *cases.ThreadPost {
		t.Helper()
		out, err := s.PostThreadMessage(ctx, p, c.ID, th, body)
		if err != nil {
			t.Fatalf("post %q: %v", body, err)
		}
		return out
	}
	phones := func(side cases.Side) (n int) { // the parties and agents of side ("": both) with a phone
		for _, p := range c.Parties {
			if side != "" && p.Side != side {
				continue
			}
			if p.Phone != "" {
				n++
			}
			for _, a := range p.Agents {
				if a.Phone != "" {
					n++
				}
			}
		}
		return n
	}
	first := post(w.Mediator, cases.ThreadJoint, "双方请在本周内提交和解方案。")
	if len(first.Notices) != phones("") {
		t.Fatalf("the first joint message notified %d by SMS, want every party and agent with a phone (%d)", len(first.Notices), phones(""))
	}
	if again := post(w.Mediator, cases.ThreadJoint, "补充：请附上许可费计算依据。"); len(again.Notices) != 0 {
		t.Errorf("a second message within the hour notified %d by SMS, want none", len(again.Notices))
	}
	private := post(w.Mediator, cases.ThreadRespondent, "请您单独说明可接受的最低金额。")
	if len(private.Notices) != phones(cases.Respondent) || private.Notices[0].Name != c.Parties[1].Name {
		t.Errorf("the respondent's thread notified %+v, want the respondent's side alone", private.Notices)
	}
	clock.Advance(61 * time.Minute)
	if later := post(res, cases.ThreadJoint, "我方同意在十五日内提交。"); len(later.Notices) != phones("")-1 {
		t.Errorf("an hour later the respondent's message notified %+v, want everyone but its author", later.Notices)
	}

	list, err := s.CaseThreads(ctx, app, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range list {
		if sum.Thread == cases.ThreadJoint && (sum.Messages != 3 || sum.Unread != 3 || !sum.Writable) {
			t.Errorf("the applicant's joint thread: %+v, want 3 messages, 3 unread, writable", sum)
		}
	}
	page, err := s.ThreadMessages(ctx, app, c.ID, cases.ThreadJoint, 0, 2)
	if err != nil || len(page) != 2 {
		t.Fatalf("first page: %d, %v", len(page), err)
	}
	rest, err := s.ThreadMessages(ctx, app, c.ID, cases.ThreadJoint, page[1].ID, 10)
	if err != nil || len(rest) != 1 || rest[0].AuthorSide != cases.Respondent || rest[0].AuthorRole != "party" {
		t.Fatalf("second page: %+v, %v", rest, err)
	}
	if list, _ = s.CaseThreads(ctx, app, c.ID); list[0].Unread != 0 {
		t.Errorf("unread after reading both pages: %d", list[0].Unread)
	}

	// A message changed in the database, one removed, or the last one removed, is found (around the append-only
	// trigger, as a database administrator could).
	tamper := func(sql string, args ...any) { t.Helper(); tamperSQL(t, s, sql, args...) }
	if err := s.VerifyThreads(ctx, c.ID); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE case_messages SET body = 'x' WHERE id = $1`, rest[0].ID); err == nil {
		t.Error("an ordinary UPDATE of a message succeeded")
	}
	if _, err := s.Pool().Exec(ctx, `DELETE FROM case_messages WHERE id = $1`, rest[0].ID); err == nil {
		t.Error("an ordinary DELETE of a message succeeded")
	}
	tamper(`UPDATE case_messages SET body = '我方同意在三十日内提交。' WHERE id = $1`, rest[0].ID)
	if err := s.VerifyThreads(ctx, c.ID); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("verify after a message was changed: %v", err)
	}
	tamper(`UPDATE case_messages SET body = $2 WHERE id = $1`, rest[0].ID, "我方同意在十五日内提交。")
	if err := s.VerifyThreads(ctx, c.ID); err != nil {
		t.Fatalf("verify after the change was undone: %v", err)
	}
	tamper(`DELETE FROM case_messages WHERE id = $1`, rest[0].ID) // the joint thread's last message
	if err := s.VerifyThreads(ctx, c.ID); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("verify after the last message was removed: %v", err)
	}
	tamper(`DELETE FROM case_messages WHERE id = $1`, page[0].ID) // the joint thread's first message
	if err := s.VerifyThreads(ctx, c.ID); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("verify after a message was removed: %v", err)
	}

	// After mediation ends the threads are read-only (the state set directly: how a case ends is the workflow
	// tests' business).
	if _, err := s.Pool().Exec(ctx, `UPDATE cases SET state = $2 WHERE id = $1`, c.ID, string(cases.StateFailed)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PostThreadMessage(ctx, app, c.ID, cases.ThreadJoint, "还能写吗？"); cases.ErrorCode(err) != cases.ECONFLICT {
		t.Errorf("a message after mediation ended: %v, want conflict", err)
	}
}

// tamperSQL runs sql around the append-only triggers (session_replication_role = replica), as a database
// administrator could.
func tamperSQL(t *testing.T, s *cases.Store, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("tamper %q: %v", sql, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
