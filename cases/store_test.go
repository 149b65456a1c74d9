package cases_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
)

// monday10 is Monday 16 November 2026, 10:00 in Beijing.
var monday10 = time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC)

func act(t *testing.T, s *cases.Store, p cases.Principal, c *cases.Case, a cases.Action, in cases.Params) *cases.Case {
	t.Helper()
	res, err := s.Act(context.Background(), p, c.ID, a, in)
	if err != nil {
		t.Fatalf("%s by %s: %v", a, p.Name, err)
	}
	return res.Case
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := cases.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

// referred creates a 委派 case and refers it to Mediator (presiding).
func referred(t *testing.T, s *cases.Store, w *casestest.World, src cases.Source) *cases.Case {
	t.Helper()
	c, err := s.CreateCase(context.Background(), w.Clerk, casestest.NewCase(src))
	if err != nil {
		t.Fatalf("create case: %v", err)
	}
	if c.CourtID != "" {
		c = casestest.WaiveChoice(t, s, c)
	}
	return act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}})
}

func TestLifecycleDelegatedToConfirmation(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceDelegated)
	if c.State != cases.StateReferred || c.AnswerDueAt == nil {
		t.Fatalf("after refer: state %s, answer due %v", c.State, c.AnswerDueAt)
	}
	// Mon 10:00 + 3 working days → end of Thursday.
	if want := s.Cal.EndOfDay(time.Date(2026, 11, 19, 12, 0, 0, 0, s.Cal.Loc)); !c.AnswerDueAt.Equal(want) {
		t.Errorf("answer due %s, want %s", c.AnswerDueAt, want)
	}
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	if c.State != cases.StateInMediation || c.TimeLimitDays != 30 {
		t.Fatalf("after accept: %s, %d days", c.State, c.TimeLimitDays)
	}
	applicant, respondent := casestest.PartyPrincipal(c, 0), casestest.PartyPrincipal(c, 1)
	for _, p := range []cases.Principal{applicant, respondent} {
		c = act(t, s, p, c, cases.ActConsentOnline, cases.Params{Consent: ptr(true)})
	}
	c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
	if c.State != cases.StateSigning {
		t.Fatalf("after agreement: %s", c.State)
	}
	casestest.SignedAgreement(t, s, c, true, nil)
	c, _ = s.Case(ctx, c.ID)
	if c.State != cases.StateSettled || c.ConfirmationDueAt == nil {
		t.Fatalf("after effective: %s, confirmation due %v", c.State, c.ConfirmationDueAt)
	}
	// One party's application is not yet a joint application.
	c = act(t, s, applicant, c, cases.ActApplyConfirmation, cases.Params{})
	if c.State != cases.StateSettled {
		t.Fatalf("after one application: %s, want still settled", c.State)
	}
	_, err := s.Act(ctx, applicant, c.ID, cases.ActApplyConfirmation, cases.Params{})
	wantCode(t, err, cases.ECONFLICT)
	c = act(t, s, respondent, c, cases.ActApplyConfirmation, cases.Params{})
	if c.State != cases.StateConfirmationPending {
		t.Fatalf("after joint application: %s", c.State)
	}
	_, err = s.ConfirmAgreement(ctx, w.OtherJudge, c.ID, cases.Params{}, casestest.CourtSigns)
	wantCode(t, err, cases.ENOTFOUND) // another court's judge cannot even see it
	_, err = s.Act(ctx, w.Judge, c.ID, cases.ActConfirm, cases.Params{})
	wantCode(t, err, cases.EUNPROCESSABLE) // never without the court's signature
	clock.Advance(24 * time.Hour)
	res, err := s.ConfirmAgreement(ctx, w.Judge, c.ID, cases.Params{Note: "符合法律规定"}, casestest.CourtSigns)
	if err != nil {
		t.Fatal(err)
	}
	c = res.Case
	if c.State != cases.StateConfirmed || !c.State.Final() {
		t.Fatalf("after confirm: %s", c.State)
	}
	rep, err := s.VerifyChain(ctx, c.ID)
	if err != nil || !rep.Valid || rep.Events < 9 {
		t.Fatalf("chain: %+v, %v", rep, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConfirmationRefusals(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	settle := func(src cases.Source, dt cases.DisputeType) *cases.Case {
		n := casestest.NewCase(src)
		n.DisputeType = dt
		c, err := s.CreateCase(ctx, w.Clerk, n)
		if err != nil {
			t.Fatal(err)
		}
		c = casestest.WaiveChoice(t, s, c)
		c = act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{MediatorIDs: []string{w.Mediator.ID}})
		c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
		c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundAgreement})
		casestest.SignedAgreement(t, s, c, true, nil)
		c, err = s.Case(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("ownership or validity disputes", func(t *testing.T) {
		c := settle(cases.SourceDelegated, cases.DisputeOwnershipValidity)
		_, err := s.Act(ctx, casestest.PartyPrincipal(c, 0), c.ID, cases.ActApplyConfirmation, cases.Params{})
		wantCode(t, err, cases.EUNPROCESSABLE)
	})
	t.Run("entrusted cases get a mediation statement instead", func(t *testing.T) {
		c := settle(cases.SourceEntrustedOrdinary, cases.DisputeTrademark)
		_, err := s.Act(ctx, casestest.PartyPrincipal(c, 0), c.ID, cases.ActApplyConfirmation, cases.Params{})
		wantCode(t, err, cases.EUNPROCESSABLE)
		c = act(t, s, w.Judge, c, cases.ActIssueStatement, cases.Params{})
		if c.State != cases.StateStatementIssued {
			t.Errorf("state %s, want statement_issued", c.State)
		}
	})
	t.Run("after 30 days", func(t *testing.T) {
		c := settle(cases.SourceDelegated, cases.DisputeCopyright)
		clock.Advance(32 * 24 * time.Hour)
		_, err := s.Act(ctx, casestest.PartyPrincipal(c, 0), c.ID, cases.ActApplyConfirmation, cases.Params{})
		wantCode(t, err, cases.EUNPROCESSABLE)
	})
}

func TestFailurePaths(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	for _, tt := range []struct {
		src  cases.Source
		next cases.Action
		want cases.State
		bad  cases.Action
	}{
		{cases.SourceDelegated, cases.ActFile, cases.StateFiled, cases.ActResumeTrial},
		{cases.SourceEntrustedSimplified, cases.ActResumeTrial, cases.StateTrialResumed, cases.ActFile},
	} {
		c := referred(t, s, w, tt.src)
		c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
		_, err := s.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: "bored"})
		wantCode(t, err, cases.EINVALID)
		_, err = s.Act(ctx, w.Mediator, c.ID, cases.ActEnd, cases.Params{Ground: cases.GroundTimeLimit, Report: &cases.FailureReport{Facts: "期限将至", Reasons: "尚未届满", Suggestions: "继续调解"}})
		wantCode(t, err, cases.EUNPROCESSABLE) // not yet passed
		c = act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundApart, Note: "双方对赔偿金额分歧较大", Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "双方对赔偿金额分歧较大", Suggestions: "建议法院尽快立案审理"}})
		if c.State != cases.StateFailed || c.EndGround != cases.GroundApart {
			t.Fatalf("%s: after end: %s %s", tt.src, c.State, c.EndGround)
		}
		_, err = s.Act(ctx, w.Clerk, c.ID, tt.bad, cases.Params{})
		wantCode(t, err, cases.EUNPROCESSABLE)
		c = act(t, s, w.Clerk, c, tt.next, cases.Params{})
		if c.State != tt.want {
			t.Errorf("%s: state %s, want %s", tt.src, c.State, tt.want)
		}
	}
	// A direct application without a court is pushed to one, then filed there.
	n := casestest.NewCase(cases.SourceDirect)
	n.OrganisationID = w.Org.ID
	c, err := s.CreateCase(ctx, w.OrgAdmin, n)
	if err != nil {
		t.Fatal(err)
	}
	c = act(t, s, w.OrgAdmin, c, cases.ActRefer, cases.Params{MediatorIDs: []string{w.OrgMediator.ID}})
	c = act(t, s, w.OrgMediator, c, cases.ActAccept, cases.Params{})
	c = act(t, s, w.OrgMediator, c, cases.ActEnd, cases.Params{Ground: cases.GroundRefusedMediation, Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "双方对赔偿金额分歧较大", Suggestions: "建议法院尽快立案审理"}})
	_, err = s.Act(ctx, w.Clerk, c.ID, cases.ActFile, cases.Params{})
	wantCode(t, err, cases.ENOTFOUND) // not the court's case yet
	c = act(t, s, w.OrgAdmin, c, cases.ActPushToCourt, cases.Params{CourtID: w.Court.ID})
	c = act(t, s, w.Clerk, c, cases.ActFile, cases.Params{})
	if c.State != cases.StateFiled || c.CourtName != w.Court.Name {
		t.Errorf("direct case: %s at %q", c.State, c.CourtName)
	}
}

func TestDeclineReassignAndReplacement(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceDelegated)
	_, err := s.Act(ctx, w.Mediator, c.ID, cases.ActDecline, cases.Params{})
	wantCode(t, err, cases.EINVALID) // a reason is required
	c = act(t, s, w.Mediator, c, cases.ActDecline, cases.Params{Reason: "与被申请人存在业务往来"})
	if c.State != cases.StateReturned {
		t.Fatalf("after decline: %s", c.State)
	}
	_, err = s.Act(ctx, w.Mediator, c.ID, cases.ActAccept, cases.Params{})
	wantCode(t, err, cases.ECONFLICT)
	// A mediator who is not on the court's roster cannot be referred.
	_, err = s.Act(ctx, w.Clerk, c.ID, cases.ActRefer, cases.Params{MediatorIDs: []string{w.OtherMediator.ID}})
	wantCode(t, err, cases.EINVALID)
	c = act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{MediatorIDs: []string{w.Mediator2.ID, w.OrgMediator.ID}, PresidingID: w.Mediator2.ID})
	c = act(t, s, w.Mediator2, c, cases.ActAccept, cases.Params{})
	if c.State != cases.StateInMediation {
		t.Fatalf("presiding accepted: %s", c.State)
	}
	// Conflict disclosure: the respondent asks for another mediator; the clerk replaces.
	c = act(t, s, w.Mediator2, c, cases.ActDisclose, cases.Params{Text: "本人曾代理申请人的关联公司"})
	c = act(t, s, casestest.PartyPrincipal(c, 0), c, cases.ActAnswerDisclosure, cases.Params{Answer: "continue"})
	c = act(t, s, casestest.PartyPrincipal(c, 1), c, cases.ActAnswerDisclosure, cases.Params{Answer: "replace"})
	if c.Pending == nil || c.Pending.Disclosure == nil {
		t.Fatalf("disclosure settled although a party asked for replacement")
	}
	c = act(t, s, w.Clerk, c, cases.ActReplaceMediator, cases.Params{MediatorIDs: []string{w.Mediator.ID}, Reason: "被申请人申请回避"})
	if c.State != cases.StateReferred || c.DueAt != nil || c.ActiveMediator(w.Mediator2.ID) || !c.ActiveMediator(w.Mediator.ID) {
		t.Fatalf("after replacement: %s due %v mediators %+v", c.State, c.DueAt, c.Mediators)
	}
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	if c.State != cases.StateInMediation || c.DueAt == nil {
		t.Fatalf("new mediator accepted: %s", c.State)
	}
}

func TestJointChoiceRefers(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	a, r := casestest.PartyPrincipal(c, 0), casestest.PartyPrincipal(c, 1)
	_, err = s.Act(ctx, a, c.ID, cases.ActChooseMediator, cases.Params{MediatorID: w.OtherMediator.ID})
	wantCode(t, err, cases.EUNPROCESSABLE) // not on the roster
	c = act(t, s, a, c, cases.ActChooseMediator, cases.Params{MediatorID: w.Mediator.ID})
	c = act(t, s, r, c, cases.ActChooseMediator, cases.Params{MediatorID: w.Mediator2.ID})
	if c.State != cases.StateRegistered {
		t.Fatalf("different choices referred the case")
	}
	c = act(t, s, r, c, cases.ActChooseMediator, cases.Params{MediatorID: w.Mediator.ID})
	if c.State != cases.StateReferred || !c.ActiveMediator(w.Mediator.ID) {
		t.Fatalf("joint choice: %s %+v", c.State, c.Mediators)
	}
	// The window is 2 working days: a new case registered now can't be chosen for on Thursday.
	c2, _ := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
	clock.Advance(3 * 24 * time.Hour)
	_, err = s.Act(ctx, casestest.PartyPrincipal(c2, 0), c2.ID, cases.ActChooseMediator, cases.Params{MediatorID: w.Mediator.ID})
	wantCode(t, err, cases.EUNPROCESSABLE)
}

func TestDeadlineExtensionAndAppraisal(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceEntrustedSimplified)
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	due := *c.DueAt
	// Mon 16 Nov + 7 days = Mon 23 Nov, a working day: due at its end.
	if want := time.Date(2026, 11, 24, 0, 0, 0, 0, s.Cal.Loc); !due.Equal(want) {
		t.Fatalf("due %s, want %s", due, want)
	}
	// Appraisal pauses the clock: two days in appraisal move the deadline two days.
	c = act(t, s, w.Mediator, c, cases.ActPause, cases.Params{Reason: "委托技术鉴定"})
	clock.Advance(48 * time.Hour)
	c = act(t, s, w.Mediator, c, cases.ActResume, cases.Params{})
	if want := due.Add(48 * time.Hour); !c.DueAt.Equal(want) || c.PausedSeconds != 48*3600 {
		t.Fatalf("after appraisal: due %s (want %s), paused %ds", c.DueAt, want, c.PausedSeconds)
	}
	due = *c.DueAt
	// An extension needs every party's consent.
	c = act(t, s, w.Mediator, c, cases.ActRequestExtension, cases.Params{Days: 10, Reason: "双方正在协商赔偿方案"})
	_, err := s.Act(ctx, w.Mediator, c.ID, cases.ActRequestExtension, cases.Params{Days: 5, Reason: "again"})
	wantCode(t, err, cases.ECONFLICT)
	c = act(t, s, casestest.PartyPrincipal(c, 0), c, cases.ActConsentExtension, cases.Params{})
	if !c.DueAt.Equal(due) {
		t.Fatalf("one consent moved the deadline to %s", c.DueAt)
	}
	// Staff cannot record a party's consent to an extension, however they say it was given (OMR Art. 24).
	for _, staff := range []cases.Principal{w.Mediator, w.Clerk, w.OrgAdmin} {
		_, err = s.Act(ctx, staff, c.ID, cases.ActConsentExtension, cases.Params{PartyID: c.Parties[1].ID, Note: "第二次调解会议中口头同意，已录音"})
		wantCode(t, err, cases.EFORBIDDEN)
	}
	c = act(t, s, casestest.PartyPrincipal(c, 1), c, cases.ActConsentExtension, cases.Params{})
	if want := due.AddDate(0, 0, 10); !c.DueAt.Equal(want) || c.ExtendedDays != 10 || c.Pending != nil {
		t.Fatalf("after both consents: due %s (want %s), extended %d, pending %+v", c.DueAt, want, c.ExtendedDays, c.Pending)
	}
}

func TestSweepEndsOverdueCasesOnce(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	var overdue []*cases.Case
	for i := 0; i < 6; i++ {
		c := referred(t, s, w, cases.SourceEntrustedSimplified)
		overdue = append(overdue, act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{}))
	}
	paused := act(t, s, w.Mediator, referred(t, s, w, cases.SourceEntrustedSimplified), cases.ActAccept, cases.Params{})
	paused = act(t, s, w.Mediator, paused, cases.ActPause, cases.Params{Reason: "评估"})
	unanswered := referred(t, s, w, cases.SourceDelegated)
	fresh := referred(t, s, w, cases.SourceDelegated) // referred later, below
	_ = fresh
	clock.Advance(9 * 24 * time.Hour) // past the 7-day limit and the 3-working-day answer window
	// Several server processes sweep at once: each case is handled exactly once.
	stores := make([]*cases.Store, 4)
	for i := range stores {
		stores[i] = cases.NewStore(s.Pool(), s.Cal, nil)
		stores[i].Now = clock.Now
	}
	var wg sync.WaitGroup
	results := make([]cases.SweepResult, len(stores))
	errs := make([]error, len(stores))
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = st.Sweep(ctx)
		}()
	}
	wg.Wait()
	ended, returned := 0, 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("sweeper %d: %v", i, errs[i])
		}
		ended += results[i].Ended
		returned += results[i].Returned
	}
	if ended != len(overdue) {
		t.Errorf("sweepers ended %d cases in all, want %d", ended, len(overdue))
	}
	if returned != 2 {
		t.Errorf("sweepers returned %d unanswered referrals, want 2", returned)
	}
	for _, c := range overdue {
		got, _ := s.Case(ctx, c.ID)
		if got.State != cases.StateFailed || got.EndGround != cases.GroundTimeLimit {
			t.Errorf("overdue case is %s/%s", got.State, got.EndGround)
		}
		evs, _ := s.Events(ctx, c.ID)
		n := 0
		for _, e := range evs {
			if e.Type == "case.ended" && e.ActorKind == "system" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("case has %d system end events, want 1", n)
		}
	}
	if got, _ := s.Case(ctx, paused.ID); got.State != cases.StateAppraisal {
		t.Errorf("a case in appraisal was swept: %s", got.State)
	}
	if got, _ := s.Case(ctx, unanswered.ID); got.State != cases.StateReturned {
		t.Errorf("unanswered referral is %s, want returned", got.State)
	}
	// A second sweep finds nothing left.
	if res, err := s.Sweep(ctx); err != nil || res.Ended+res.Returned != 0 {
		t.Errorf("second sweep: %+v, %v", res, err)
	}
}

func TestConcurrentAcceptExactlyOneWins(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		// Referred to the organisation with no mediator assigned: any of its mediators may take it.
		c, err := s.CreateCase(ctx, w.Clerk, casestest.NewCase(cases.SourceDelegated))
		if err != nil {
			t.Fatal(err)
		}
		c = casestest.WaiveChoice(t, s, c)
		c = act(t, s, w.Clerk, c, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID})
		mediators := []cases.Principal{w.Mediator, w.Mediator2, w.OrgMediator}
		errs := make([]error, len(mediators))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, m := range mediators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.Act(ctx, m, c.ID, cases.ActAccept, cases.Params{})
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch cases.ErrorCode(err) {
			case "":
				wins++
			case cases.ECONFLICT:
			default:
				t.Errorf("round %d: loser got %v, want a conflict", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d mediators accepted, want exactly 1 (%v)", round, wins, errs)
		}
		got, _ := s.Case(ctx, c.ID)
		accepted := 0
		for _, m := range got.Mediators {
			if m.Status == cases.AssignAccepted {
				accepted++
			}
		}
		if accepted != 1 || got.State != cases.StateInMediation {
			t.Fatalf("round %d: %d accepted assignments, state %s", round, accepted, got.State)
		}
		if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
			t.Fatalf("round %d: chain %+v %v", round, rep, err)
		}
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	build := func() *cases.Case {
		c := referred(t, s, w, cases.SourceDelegated)
		c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
		c = act(t, s, w.Mediator, c, cases.ActPause, cases.Params{Reason: "鉴定"})
		return act(t, s, w.Mediator, c, cases.ActResume, cases.Params{})
	}
	// Direct SQL around the append-only trigger, as a database administrator could.
	tamper := func(sql string, args ...any) { t.Helper(); tamperSQL(t, s, sql, args...) }
	t.Run("the trigger refuses ordinary edits", func(t *testing.T) {
		c := build()
		if _, err := s.Pool().Exec(ctx, `UPDATE case_events SET actor_name = 'x' WHERE case_id = $1`, c.ID); err == nil {
			t.Error("UPDATE of case_events succeeded")
		}
		if _, err := s.Pool().Exec(ctx, `DELETE FROM case_events WHERE case_id = $1`, c.ID); err == nil {
			t.Error("DELETE of case_events succeeded")
		}
	})
	tests := []struct {
		name  string
		sql   string
		seq   int64
		wants string
	}{
		// Events 1–3 are the registration and the two parties' waivers of the joint choice.
		{"edited data", `UPDATE case_events SET data = jsonb_set(data, '{reason}', '"别的理由"') WHERE case_id = $1 AND seq = 6`, 6, "changed"},
		{"edited actor", `UPDATE case_events SET actor_name = '伪造' WHERE case_id = $1 AND seq = 4`, 4, "changed"},
		{"edited time", `UPDATE case_events SET at = at - interval '1 day' WHERE case_id = $1 AND seq = 5`, 5, "changed"},
		{"deleted in the middle", `DELETE FROM case_events WHERE case_id = $1 AND seq = 4`, 4, "missing"},
		{"deleted at the end", `DELETE FROM case_events WHERE case_id = $1 AND seq = 7`, 7, "records"},
		{"rewritten hash", `UPDATE case_events SET hash = sha256(hash) WHERE case_id = $1 AND seq = 5`, 5, "changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := build()
			if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid || rep.Events != 7 {
				t.Fatalf("before tampering: %+v %v", rep, err)
			}
			tamper(tt.sql, c.ID)
			rep, err := s.VerifyChain(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid || rep.BadSeq != tt.seq || !strings.Contains(rep.Problem, tt.wants) {
				t.Errorf("after tampering: %+v, want invalid at %d mentioning %q", rep, tt.seq, tt.wants)
			}
		})
	}
}

func TestInvitationAndOneTimeCode(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceDelegated)
	_, _, err := s.CreateInvitation(ctx, w.OtherClerk, c.ID, c.Parties[0].ID, "", time.Hour)
	wantCode(t, err, cases.ENOTFOUND)
	inv, tok, err := s.CreateInvitation(ctx, w.Clerk, c.ID, c.Parties[1].ID, c.Parties[1].Agents[0].ID, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tok) != "[redacted]" {
		t.Errorf("token prints as %q", fmt.Sprint(tok))
	}
	info, err := s.InvitationInfo(ctx, string(tok))
	if err != nil || info.Name != "王律师" || info.MaskedPhone != "139****0003" {
		t.Fatalf("info: %+v %v", info, err)
	}
	d, err := s.IssueInvitationCode(ctx, string(tok))
	if err != nil || d.Phone != "13900000003" || len(d.Code) != 6 {
		t.Fatalf("code: %+v %v", d, err)
	}
	_, err = s.IssueInvitationCode(ctx, string(tok))
	wantCode(t, err, cases.ERATELIMIT)
	_, err = s.VerifyInvitationCode(ctx, string(tok), "000000x")
	wantCode(t, err, cases.EUNPROCESSABLE)
	p, err := s.VerifyInvitationCode(ctx, string(tok), string(d.Code))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != cases.KindAgent || p.PartyID != c.Parties[1].ID || p.Side != cases.Respondent || p.CaseID != c.ID {
		t.Errorf("principal %+v", p)
	}
	// The code is spent.
	_, err = s.VerifyInvitationCode(ctx, string(tok), string(d.Code))
	wantCode(t, err, cases.EUNPROCESSABLE)
	// Five wrong codes spend a code.
	clock.Advance(2 * time.Minute)
	d, _ = s.IssueInvitationCode(ctx, string(tok))
	for i := 0; i < 5; i++ {
		_, _ = s.VerifyInvitationCode(ctx, string(tok), "999999")
	}
	_, err = s.VerifyInvitationCode(ctx, string(tok), string(d.Code))
	wantCode(t, err, cases.ERATELIMIT)
	// Expired invitations and unknown tokens are refused alike.
	clock.Advance(8 * 24 * time.Hour)
	_, err = s.InvitationInfo(ctx, string(tok))
	wantCode(t, err, cases.ENOTFOUND)
	_, err = s.InvitationInfo(ctx, "pi_nonsense")
	wantCode(t, err, cases.ENOTFOUND)
	_ = inv
}

func TestSessionsRequireConsentAndKeepCaucusPrivate(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceDelegated)
	c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
	_, err := s.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解", Start: true})
	wantCode(t, err, cases.EUNPROCESSABLE) // no consent yet
	a, r := casestest.PartyPrincipal(c, 0), casestest.PartyPrincipal(c, 1)
	c = act(t, s, a, c, cases.ActConsentOnline, cases.Params{Consent: ptr(true)})
	c = act(t, s, w.Clerk, c, cases.ActConsentOnline, cases.Params{Consent: ptr(true), PartyID: r.PartyID, Note: "电话确认同意在线调解"})
	_, err = s.CreateSession(ctx, a, c.ID, cases.NewSession{Start: true})
	wantCode(t, err, cases.EFORBIDDEN)
	ss, err := s.CreateSession(ctx, w.Mediator, c.ID, cases.NewSession{Title: "第一次调解", Start: true})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	for _, err := range []error{
		s.RecordJoin(ctx, ss.ID, cases.Attendance{ParticipantID: a.ID, Name: a.Name, Role: "party", Side: "applicant", JoinedAt: now}),
		s.RecordJoin(ctx, ss.ID, cases.Attendance{ParticipantID: r.ID, Name: r.Name, Role: "party", Side: "respondent", JoinedAt: now, Mode: "voice"}),
		s.RecordIdentityCheck(ctx, ss.ID, cases.IdentityCheck{ParticipantID: a.ID, Name: a.Name, Method: "id_card_on_camera", Result: "passed", CheckedBy: w.Mediator.ID, CheckedByName: w.Mediator.Name, At: now}),
		s.RecordCaucusOpened(ctx, ss.ID, cases.Caucus{CaucusID: "k1", Members: []string{w.Mediator.ID, a.ID}, OpenedBy: w.Mediator.ID, OpenedAt: now}),
		s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: a.ID, SenderName: a.Name, Scope: "k1", Body: "我方底线是三十万", At: now}),
		s.RecordMessage(ctx, ss.ID, cases.ChatMessage{SenderID: w.Mediator.ID, SenderName: w.Mediator.Name, Scope: "joint", Body: "大家好", At: now}),
		s.RecordCaucusClosed(ctx, ss.ID, "k1", now.Add(time.Minute)),
		s.RecordLeave(ctx, ss.ID, r.ID, now.Add(2*time.Minute), "left"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.RecordIdentityCheck(ctx, ss.ID, cases.IdentityCheck{ParticipantID: r.ID, Method: "guess", Result: "maybe"}), cases.EINVALID)
	wantCode(t, s.RecordJoin(ctx, ss.ID, cases.Attendance{ParticipantID: r.ID, Name: r.Name, Role: "party", JoinedAt: now, Mode: "telepathy"}), cases.EINVALID)
	forApplicant, err := s.SessionDetail(ctx, a, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	forRespondent, err := s.SessionDetail(ctx, r, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	forMediator, err := s.SessionDetail(ctx, w.Mediator, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(forApplicant.Messages) != 2 || len(forRespondent.Messages) != 1 || len(forMediator.Messages) != 2 {
		t.Errorf("messages seen: applicant %d (want 2), respondent %d (want 1), mediator %d (want 2)", len(forApplicant.Messages), len(forRespondent.Messages), len(forMediator.Messages))
	}
	if len(forRespondent.Caucuses) != 0 {
		t.Errorf("respondent sees the other side's caucus")
	}
	if len(forMediator.Attendance) != 2 || forMediator.Attendance[1].LeftAt == nil || len(forMediator.IdentityChecks) != 1 {
		t.Errorf("attendance %+v, checks %+v", forMediator.Attendance, forMediator.IdentityChecks)
	}
	modes := map[string]string{}
	for _, at := range forMediator.Attendance {
		modes[at.ParticipantID] = at.Mode
	}
	if modes[a.ID] != "video" || modes[r.ID] != "voice" {
		t.Errorf("attendance modes %v, want the applicant by video (the default) and the respondent by voice", modes)
	}
	// The record: versioned saves.
	rec, err := s.SaveRecord(ctx, w.Mediator, ss.ID, cases.SessionRecord{Facts: "双方确认专利有效", ConfirmedFacts: []string{"被申请人销售了涉案产品"}})
	if err != nil || rec.Version != 1 {
		t.Fatalf("save record: %+v %v", rec, err)
	}
	_, err = s.SaveRecord(ctx, w.Mediator, ss.ID, cases.SessionRecord{Facts: "stale", Version: 0})
	wantCode(t, err, cases.ECONFLICT)
	if _, err := s.EndSession(ctx, w.Mediator, ss.ID); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.SessionOpen(ctx, ss.ID); open {
		t.Error("ended session still open")
	}
	_, err = s.EndSession(ctx, w.Mediator, ss.ID)
	wantCode(t, err, cases.ECONFLICT)
}

func TestStatsByScope(t *testing.T) {
	s, clock := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	// Two successes and one failure mediated by Mediator; one open case.
	for i, g := range []cases.EndGround{cases.GroundAgreement, cases.GroundAgreement, cases.GroundApart} {
		c := referred(t, s, w, cases.SourceDelegated)
		c = act(t, s, w.Mediator, c, cases.ActAccept, cases.Params{})
		clock.Advance(time.Duration(i+1) * 24 * time.Hour)
		act(t, s, w.Mediator, c, cases.ActEnd, cases.Params{Ground: g, Report: &cases.FailureReport{Facts: "双方就赔偿数额进行了三轮协商", Reasons: "双方对赔偿金额分歧较大", Suggestions: "建议法院尽快立案审理"}})
	}
	referred(t, s, w, cases.SourceDelegated)
	st, err := s.Stats(ctx, w.Judge, cases.StatsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Cases != 4 || st.Total.Ended != 3 || st.Total.Succeeded != 2 {
		t.Errorf("court totals %+v", st.Total)
	}
	if d := st.Total.SuccessRate - 2.0/3; d > 1e-9 || d < -1e-9 {
		t.Errorf("success rate %v, want 2/3", st.Total.SuccessRate)
	}
	if d := st.Total.AvgDays - 2; d > 1e-6 || d < -1e-6 {
		t.Errorf("average days %v, want 2", st.Total.AvgDays)
	}
	if len(st.ByMediator) != 1 || st.ByMediator[0].Name != w.Mediator.Name || st.ByMediator[0].Cases != 3 {
		t.Errorf("by mediator %+v", st.ByMediator)
	}
	if st.ByState[cases.StateSigning] != 2 || st.ByState[cases.StateFailed] != 1 || st.ByState[cases.StateReferred] != 1 {
		t.Errorf("by state %+v", st.ByState)
	}
	other, err := s.Stats(ctx, w.OtherJudge, cases.StatsFilter{})
	if err != nil || other.Total.Cases != 0 {
		t.Errorf("another court sees %+v, %v", other.Total, err)
	}
	region, err := s.Stats(ctx, w.Officer, cases.StatsFilter{})
	if err != nil || region.Total.Cases != 4 {
		t.Errorf("IP office in the organisation's region sees %+v, %v", region.Total, err)
	}
	_, err = s.Stats(ctx, casestest.PartyPrincipal(mustCase(t, s, w), 0), cases.StatsFilter{})
	wantCode(t, err, cases.EFORBIDDEN)
}

func mustCase(t *testing.T, s *cases.Store, w *casestest.World) *cases.Case {
	c, err := s.CreateCase(context.Background(), w.Clerk, casestest.NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBadInputChangesNothing(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	bad := casestest.NewCase(cases.SourceEntrustedOrdinary)
	bad.CourtCaseNumber = ""
	bad.Parties[1].Phone = "call me"
	bad.Parties = bad.Parties[:2]
	_, err := s.CreateCase(ctx, w.Clerk, bad)
	wantCode(t, err, cases.EINVALID)
	if f := cases.ErrorFields(err); f["court_case_number"] == "" || f["parties[1].phone"] == "" {
		t.Errorf("fields %v", f)
	}
	list, total, err := s.Cases(ctx, w.Admin, cases.CaseFilter{})
	if err != nil || total != 0 || len(list) != 0 {
		t.Errorf("a refused case left %d rows (%v)", total, err)
	}
	_, err = s.CreateCase(ctx, w.OrgAdmin, casestest.NewCase(cases.SourceDelegated))
	wantCode(t, err, cases.EINVALID)
	_, err = s.CreateCase(ctx, w.Mediator, casestest.NewCase(cases.SourceDelegated))
	wantCode(t, err, cases.EFORBIDDEN)
	_, err = s.Act(ctx, w.Clerk, "not-a-uuid", cases.ActRefer, cases.Params{})
	wantCode(t, err, cases.ENOTFOUND)
}

func TestUpdatePartyIsRecordedForItsSideOnly(t *testing.T) {
	s, _ := casestest.Store(t, monday10)
	w := casestest.Populate(t, s)
	ctx := context.Background()
	c := referred(t, s, w, cases.SourceDelegated)
	phone := "13911112222"
	_, err := s.UpdateParty(ctx, casestest.PartyPrincipal(c, 0), c.ID, c.Parties[1].ID, cases.PartyPatch{Phone: &phone})
	wantCode(t, err, cases.EFORBIDDEN)
	bad := "call me"
	_, err = s.UpdateParty(ctx, w.Clerk, c.ID, c.Parties[1].ID, cases.PartyPatch{Phone: &bad})
	wantCode(t, err, cases.EINVALID)
	// The phone changes only through a confirmed correction (contacts.go), never by PATCH.
	_, err = s.UpdateParty(ctx, w.Clerk, c.ID, c.Parties[1].ID, cases.PartyPatch{Phone: &phone})
	wantCode(t, err, cases.EUNPROCESSABLE)
	addr := "北京市海淀区某路 2 号"
	got, err := s.UpdateParty(ctx, w.Clerk, c.ID, c.Parties[1].ID, cases.PartyPatch{Address: &addr})
	if err != nil || got.Parties[1].Address != addr || got.Parties[1].Phone == phone {
		t.Fatalf("update: %v %+v", err, got)
	}
	evs, _ := s.Events(ctx, c.ID)
	last := evs[len(evs)-1]
	if last.Type != "party.updated" || cases.EventVisible(casestest.PartyPrincipal(c, 0), last) || !cases.EventVisible(casestest.PartyPrincipal(c, 1), last) {
		t.Errorf("event %+v: the applicant must not see the respondent's change, the respondent must", last)
	}
	if rep, err := s.VerifyChain(ctx, c.ID); err != nil || !rep.Valid {
		t.Errorf("chain %+v %v", rep, err)
	}
}
