package docflow_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
)

// pendingConfirmation brings a flow's case to confirmation_pending: the agreement signed by every party, the
// mediator and the seal, and the parties' joint application.
func pendingConfirmation(t *testing.T, f *flow) {
	t.Helper()
	d := f.agreement()
	for i := range f.c.Parties {
		d = f.mustSign(f.party(i), d.ID, d.Signers[i].Field)
	}
	f.mustSign(f.w.Mediator, d.ID, "sig-mediator-1")
	if _, err := f.svc.Seal(context.Background(), f.w.OrgAdmin, d.ID); err != nil {
		t.Fatal(err)
	}
	for i := range f.c.Parties {
		f.act(f.party(i), cases.ActApplyConfirmation, cases.Params{})
	}
}

// TestCourtRulings (issue 12 §3): once the court decides on judicial confirmation, the ruling (民事裁定书) is made
// from the case and signed by the court: confirming the agreement, or rejecting the application with the judge's
// reason. Before the decision there is none; the other court's staff cannot read it; each issue is in the trail.
func TestCourtRulings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, f *flow, pdf []byte, want ...string) {
		t.Helper()
		rep, err := signing.Verify(pdf, f.svc.Keys.Roots(), f.clock.Now())
		if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RoleCourt {
			t.Fatalf("ruling verification: %v %+v", err, rep)
		}
		if txt := pdfText(t, pdf); txt != "" {
			for _, w := range append(want, "民事裁定书", f.c.Number, f.c.Parties[0].Name) {
				if !strings.Contains(txt, w) {
					t.Errorf("the ruling lacks %q", w)
				}
			}
		}
	}
	t.Run("confirmed", func(t *testing.T) {
		t.Parallel()
		f := newFlow(t)
		pendingConfirmation(t, f)
		if _, err := f.svc.Ruling(ctx, f.w.Judge, f.c.ID); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Fatalf("a ruling before the decision: %v, want not found", err)
		}
		if _, err := f.svc.Confirm(ctx, f.w.Judge, f.c.ID, cases.Params{Note: "经审查符合确认条件"}); err != nil {
			t.Fatal(err)
		}
		pdf, err := f.svc.Ruling(ctx, f.party(1), f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, f, pdf, "调解协议有效", "强制执行")
		// Made once: a second reader gets the same bytes.
		if again, err := f.svc.Ruling(ctx, f.w.Judge, f.c.ID); err != nil || docflow.SHA256Hex(again) != docflow.SHA256Hex(pdf) {
			t.Errorf("the second download: %v, SHA-256 %s, want %s", err, docflow.SHA256Hex(again), docflow.SHA256Hex(pdf))
		}
		if _, err := f.svc.Ruling(ctx, f.w.OtherJudge, f.c.ID); cases.ErrorCode(err) != cases.ENOTFOUND {
			t.Errorf("another court's judge reads the ruling: %v, want not found", err)
		}
		// The court's bundle carries it.
		man, err := f.svc.Bundle(ctx, f.w.Clerk, f.c.ID, io.Discard)
		if err != nil {
			t.Fatalf("bundle: %v", err)
		}
		if !slices.ContainsFunc(man.Files, func(b docflow.BundleFile) bool { return b.Path == "documents/ruling.pdf" && b.Kind == "ruling" }) {
			t.Errorf("the bundle's files %+v lack documents/ruling.pdf", man.Files)
		}
		evs, _ := f.store.Events(ctx, f.c.ID)
		issued := 0
		for _, ev := range evs {
			if ev.Type == "case.ruling_issued" && ev.Data["confirmed"] == true {
				issued++
				if ev.Data["sha256"] != docflow.SHA256Hex(pdf) {
					t.Errorf("the trail's ruling SHA-256 %v, want %s", ev.Data["sha256"], docflow.SHA256Hex(pdf))
				}
			}
		}
		if issued != 1 { // made once: the party's download, the judge's and the bundle's are the same ruling
			t.Errorf("%d rulings in the trail, want 1", issued)
		}
		checks, err := f.store.CheckCourtDocuments(ctx, f.c.ID)
		if err != nil || len(checks) != 1 || !checks[0].Matches {
			t.Errorf("court documents against the trail: %+v %v", checks, err)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		t.Parallel()
		f := newFlow(t)
		pendingConfirmation(t, f)
		const reason = "调解协议约定的赔偿数额明显超出侵权损失，可能损害案外人合法权益。"
		f.act(f.w.Judge, cases.ActRejectConfirmation, cases.Params{Reason: reason})
		pdf, err := f.svc.Ruling(ctx, f.w.Clerk, f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, f, pdf, "驳回", "赔偿数额明显超出侵权损失")
	})
}

// TestCourtDocumentOnce: a ruling is made once per decision even when two nodes ask at once (both get the one
// stored, one issue in the trail); a decision whose node died before making its ruling gets it from the job
// sweeper, which then has nothing left to do.
func TestCourtDocumentOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFlow(t)
	pendingConfirmation(t, f)
	// The decision is taken and the node dies: no ruling was made.
	f.act(f.w.Judge, cases.ActRejectConfirmation, cases.Params{Reason: "协议约定的许可期限超出专利权的剩余保护期限。"})
	if docs, err := f.store.CourtDocuments(ctx, f.c.ID); err != nil || len(docs) != 0 {
		t.Fatalf("court documents before anyone made one: %+v %v", docs, err)
	}
	n, err := f.svc.RunJobs(ctx)
	if err != nil || n != 1 {
		t.Fatalf("the sweeper: %d %v, want 1 ruling made", n, err)
	}
	if n, _ := f.svc.RunJobs(ctx); n != 0 {
		t.Errorf("the second sweep made %d, want 0", n)
	}
	docs, err := f.store.CourtDocuments(ctx, f.c.ID)
	if err != nil || len(docs) != 1 || docs[0].Kind != cases.CourtRuling {
		t.Fatalf("after the sweep: %+v %v", docs, err)
	}
	// Two readers at once, on a case whose decision is new (a second node of the same cluster): one ruling.
	g := newFlow(t)
	pendingConfirmation(t, g)
	g.act(g.w.Judge, cases.ActRejectConfirmation, cases.Params{Reason: "协议约定的赔偿数额明显超出侵权损失。"})
	c := g.reload()
	ids := make(chan string, 2)
	for range 2 {
		go func() {
			d, _, err := g.svc.IssueCourtDocument(ctx, c, cases.CourtRuling)
			if err != nil {
				t.Error(err)
				ids <- ""
				return
			}
			ids <- d.ID + " " + d.SHA256
		}()
	}
	if a, b := <-ids, <-ids; a != b || a == "" {
		t.Errorf("two callers got %q and %q, want the same ruling", a, b)
	}
	evs, _ := g.store.Events(ctx, g.c.ID)
	issued := 0
	for _, ev := range evs {
		if ev.Type == "case.ruling_issued" {
			issued++
		}
	}
	if issued != 1 {
		t.Errorf("%d rulings issued in the trail, want 1", issued)
	}
}
