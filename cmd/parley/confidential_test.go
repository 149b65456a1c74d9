package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// TestCaucusReaderMatrix walks every reader (each staff role, each side, inside and outside each caucus) × every
// place caucus content could appear — the session API, the case, its trail, its session list, the live list, the
// mediator's record, the session record PDF — and asserts who reads what (OMR Art. 18: what is said in a caucus
// stays with that caucus's members unless its parties agree to share it). The two caucuses carry the same room ID
// ("caucus-1", as a room opened again numbers afresh), so a rule keyed on the ID alone leaks one side's caucus to
// the other.
func TestCaucusReaderMatrix(t *testing.T) {
	e := newTestEnv(t)
	w, s, ctx := e.w, e.store, context.Background()
	c, err := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	c = casestest.WaiveChoice(t, s, c)
	yes := true
	steps := []struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{
		{w.Clerk, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID, w.Mediator2.ID}, PresidingID: w.Mediator.ID}},
		{w.Mediator2, cases.ActAccept, cases.Params{}},
		{w.Mediator, cases.ActAccept, cases.Params{}},
	}
	for _, p := range c.Parties {
		steps = append(steps, struct {
			p  cases.Principal
			a  cases.Action
			in cases.Params
		}{w.Clerk, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: p.ID, Note: "书面同意"}})
	}
	for _, st := range steps {
		res, err := s.Act(ctx, st.p, c.ID, st.a, st.in)
		if err != nil {
			t.Fatalf("%s: %v", st.a, err)
		}
		c = res.Case
	}
	app, resp := c.Parties[0], c.Parties[1]
	agent := resp.Agents[0]

	// Every reader, as a client of the API. The parties enter through their invitations (which also leaves
	// party.entered events carrying masked phones on the trail).
	readers := []struct {
		name string
		cl   *client
	}{
		{"platform admin", e.login(w.Admin)},
		{"org admin", e.login(w.OrgAdmin)},
		{"clerk", e.login(w.Clerk)},
		{"judge", e.login(w.Judge)},
		{"other court's clerk", e.login(w.OtherClerk)},
		{"mediator (opened both caucuses)", e.login(w.Mediator)},
		{"co-mediator (moved into the applicant's caucus)", e.login(w.Mediator2)},
		{"other mediator of the organisation", e.login(w.OrgMediator)},
		{"applicant (in caucus A)", e.enter(c.ID, app.ID, "")},
		{"respondent (in caucus B)", e.enter(c.ID, resp.ID, "")},
		{"respondent's agent (in caucus B)", e.enter(c.ID, resp.ID, agent.ID)},
	}

	ss, err := s.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock.Now()
	next := func() time.Time { at = at.Add(time.Second); return at }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []cases.Attendance{
		{ParticipantID: w.Mediator.ID, Name: w.Mediator.Name, Role: "mediator"},
		{ParticipantID: w.Mediator2.ID, Name: w.Mediator2.Name, Role: "mediator"},
		{ParticipantID: app.ID, Name: app.Name, Role: "party", Side: "applicant"},
		{ParticipantID: resp.ID, Name: resp.Name, Role: "party", Side: "respondent"},
		{ParticipantID: agent.ID, Name: agent.Name, Role: "agent", Side: "respondent"},
		{ParticipantID: w.Judge.ID, Name: w.Judge.Name, Role: "judge"},
	} {
		a.JoinedAt = next()
		must(s.RecordJoin(ctx, ss.ID, a))
	}
	must(s.RecordIdentityCheck(ctx, ss.ID, cases.IdentityCheck{ParticipantID: resp.ID, Name: resp.Name, Method: "id_card_on_camera", Result: "passed",
		Note: "证件号 IDNOTE-440301199202023456", CheckedBy: w.Mediator.ID, CheckedByName: w.Mediator.Name, At: next()}))
	must(s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: w.Mediator.ID, SenderName: w.Mediator.Name, Scope: "joint", Body: "JOINT-大家好", At: next()}))
	// Caucus A: the applicant, opened by the mediator; the co-mediator moves in.
	must(s.RecordCaucusOpened(ctx, ss.ID, cases.Caucus{CaucusID: "caucus-1", Members: []string{app.ID}, OpenedBy: w.Mediator.ID, OpenedAt: next()}))
	must(s.RecordCaucusEntered(ctx, ss.ID, "caucus-1", w.Mediator2.ID, "mediator", next()))
	must(s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: app.ID, SenderName: app.Name, Scope: "caucus-1", Body: "ASECRET-我方底线是三十万", At: next()}))
	must(s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: w.Mediator.ID, SenderName: w.Mediator.Name, Scope: "caucus-1", Body: "AMEDIATOR-对方可能接受二十万", At: next()}))
	must(s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: app.ID, SenderName: app.Name, Scope: "caucus-1", Body: "ASHARED-我方愿意先停止销售", At: next()}))
	must(s.RecordCaucusClosed(ctx, ss.ID, "caucus-1", next()))
	// The room empties and opens again: its first caucus is "caucus-1" once more, now the respondent's.
	must(s.RecordCaucusOpened(ctx, ss.ID, cases.Caucus{CaucusID: "caucus-1", Members: []string{resp.ID, agent.ID}, OpenedBy: w.Mediator.ID, OpenedAt: next()}))
	must(s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: agent.ID, SenderName: agent.Name, Scope: "caucus-1", Body: "BSECRET-产品其实卖了五千台", At: next()}))
	// A stale caucus whose room died without closing it must not swallow later caucus content either.
	must(s.RecordCaucusOpened(ctx, ss.ID, cases.Caucus{CaucusID: "caucus-2", Members: []string{resp.ID}, OpenedBy: w.Mediator.ID, OpenedAt: next()}))
	must(s.RecordCaucusClosed(ctx, ss.ID, "caucus-1", next()))

	d, err := s.SessionDetail(ctx, w.Mediator, ss.ID)
	must(err)
	refs := map[string]int64{}
	var shareID int64
	for _, k := range d.Caucuses {
		if k.CaucusID == "caucus-1" && refs["A"] == 0 {
			refs["A"] = k.Ref
		} else if k.CaucusID == "caucus-1" {
			refs["B"] = k.Ref
		}
	}
	for _, m := range d.Messages {
		if strings.HasPrefix(m.Body, "ASHARED") {
			shareID = m.ID
		}
	}
	if refs["A"] == 0 || refs["B"] == 0 || shareID == 0 {
		t.Fatalf("caucuses %+v, messages %+v", d.Caucuses, d.Messages)
	}
	mediator := readers[5].cl
	var notes cases.CaucusNotes
	if st := mediator.do("PUT", "/api/v1/sessions/"+ss.ID+"/caucuses/"+itoa64(refs["A"])+"/notes", caucusNotesRequest{Body: "ANOTES-申请人可接受分期"}, &notes); st != 200 || notes.Version != 1 {
		t.Fatalf("caucus notes: %d %+v", st, notes)
	}
	// Only a mediator who was in the caucus writes its notes; staff cannot consent for a party; the other side
	// cannot share what it never heard; the applicant's own consent moves its message.
	if st := readers[7].cl.do("PUT", "/api/v1/sessions/"+ss.ID+"/caucuses/"+itoa64(refs["A"])+"/notes", caucusNotesRequest{Body: "x", Version: 1}, nil); st != 404 {
		t.Errorf("another mediator wrote caucus notes: %d, want 404", st)
	}
	if st := mediator.do("POST", "/api/v1/sessions/"+ss.ID+"/messages/"+itoa64(shareID)+"/share", nil, nil); st != 403 {
		t.Errorf("the mediator consented for the party: %d, want 403", st)
	}
	if st := readers[9].cl.do("POST", "/api/v1/sessions/"+ss.ID+"/messages/"+itoa64(shareID)+"/share", nil, nil); st != 404 {
		t.Errorf("the respondent shared the applicant's caucus message: %d, want 404", st)
	}
	var shared cases.ChatMessage
	if st := readers[8].cl.do("POST", "/api/v1/sessions/"+ss.ID+"/messages/"+itoa64(shareID)+"/share", nil, &shared); st != 200 || !shared.Shared {
		t.Fatalf("the applicant's consent: %d %+v", st, shared)
	}
	if st := readers[8].cl.do("POST", "/api/v1/sessions/"+ss.ID+"/messages/"+itoa64(shareID)+"/share", nil, nil); st != 409 {
		t.Errorf("a second consent: %d, want 409", st)
	}

	// The session record: the mediator's text and its PDF.
	if st := mediator.do("PUT", "/api/v1/sessions/"+ss.ID+"/record", cases.SessionRecord{Facts: "双方陈述了各自意见。"}, nil); st != 200 {
		t.Fatalf("save record: %d", st)
	}
	recordPDF := ""
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/sessions/"+ss.ID+"/record-document", recordDocRequest{}, &doc); st != 201 {
		t.Fatalf("record document: %d", st)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		st, pdf := mediator.raw("GET", "/api/v1/documents/"+doc.Document.ID+"/pdf", nil)
		if st != 200 {
			t.Fatalf("record pdf: %d", st)
		}
		dir := t.TempDir()
		must(os.WriteFile(filepath.Join(dir, "r.pdf"), pdf, 0o600))
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", filepath.Join(dir, "r.pdf"), "-").Output()
		must(err)
		recordPDF = string(out)
		if !strings.Contains(recordPDF, "双方陈述了各自意见") {
			t.Errorf("the record PDF's text was not extracted: %q", recordPDF)
		}
	}

	aPhone, rPhone := maskedPhone(app.Phone), maskedPhone(resp.Phone)
	secrets := []string{"ASECRET", "AMEDIATOR", "ANOTES", "BSECRET", "ASHARED", "IDNOTE", aPhone, rPhone}
	// who reads what, where: reader index → place → secrets visible there.
	type sees map[string][]string
	caseStaffNote := []string{"IDNOTE"}
	want := []sees{
		/* platform admin */ {"session": {"ASHARED"}, "events": {"ASHARED", aPhone, rPhone}},
		/* org admin */ {"session": append([]string{"ASHARED"}, caseStaffNote...), "events": {"ASHARED", aPhone, rPhone}},
		/* clerk */ {"session": append([]string{"ASHARED"}, caseStaffNote...), "events": {"ASHARED", aPhone, rPhone}},
		/* judge */ {"session": append([]string{"ASHARED"}, caseStaffNote...), "events": {"ASHARED", aPhone, rPhone}},
		/* other court's clerk */ {},
		/* mediator */ {"session": {"ASECRET", "AMEDIATOR", "ANOTES", "BSECRET", "ASHARED", "IDNOTE"}, "events": {"ASHARED", aPhone, rPhone}},
		/* co-mediator */ {"session": {"ASECRET", "AMEDIATOR", "ANOTES", "ASHARED", "IDNOTE"}, "events": {"ASHARED", aPhone, rPhone}},
		/* other mediator */ {"session": {"ASHARED"}, "events": {"ASHARED", aPhone, rPhone}},
		/* applicant */ {"session": {"ASECRET", "AMEDIATOR", "ANOTES", "ASHARED"}, "events": {"ASHARED", aPhone}},
		/* respondent */ {"session": {"BSECRET", "ASHARED", "IDNOTE"}, "events": {"ASHARED", rPhone}},
		/* respondent's agent */ {"session": {"BSECRET", "ASHARED", "IDNOTE"}, "events": {"ASHARED", rPhone}},
	}
	places := []struct {
		name string
		path string
	}{
		{"session", "/api/v1/sessions/" + ss.ID},
		{"events", "/api/v1/cases/" + c.ID + "/events"},
		{"case", "/api/v1/cases/" + c.ID},
		{"sessions", "/api/v1/cases/" + c.ID + "/sessions"},
		{"live", "/api/v1/sessions/live"},
		{"record", "/api/v1/sessions/" + ss.ID + "/record"},
		{"documents", "/api/v1/cases/" + c.ID + "/documents"},
	}
	for i, rd := range readers {
		for _, pl := range places {
			_, body := rd.cl.raw("GET", pl.path, nil)
			text := string(body)
			for _, sec := range secrets {
				expect := false
				for _, v := range want[i][pl.name] {
					expect = expect || v == sec
				}
				if got := strings.Contains(text, sec); got != expect {
					t.Errorf("%s reading %s: sees %q = %v, want %v", rd.name, pl.name, sec, got, expect)
				}
			}
		}
	}
	for _, sec := range secrets[:6] {
		if recordPDF != "" && strings.Contains(recordPDF, sec) {
			t.Errorf("the session record PDF carries caucus or identity content %q", sec)
		}
	}
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// maskedPhone masks a phone as the trail does (first three and last four digits).
func maskedPhone(p string) string {
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}
