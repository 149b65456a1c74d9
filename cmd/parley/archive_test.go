package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
)

// TestArchiveTimestamps: every stored signature version ends in a document timestamp (B-LTA); the archive job
// schedules each document by its newest timestamp's expiry and renews it once when due, even with two nodes
// running the job at the same moment.
func TestArchiveTimestamps(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mediator := f.login(f.w.Mediator)
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/agreement", agreementRequest{
		Facts: "申请人系涉案发明专利的专利权人。", Issues: []string{"赔偿数额"}, Terms: []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币十万元。"}},
	}, &doc); st != 201 {
		t.Fatalf("draft agreement: %d", st)
	}
	id := doc.Document.ID
	d := f.app.docs
	kp, err := d.Keys.SealKey(ctx, f.w.Org.ID, f.w.Org.Name, signing.RoleOrganisation)
	if err != nil {
		t.Fatal(err)
	}
	// A server signature as docflow adds one (the seal's field, out of the signing order: this test is about what
	// follows a signature), then validation data and a document timestamp.
	if _, _, err := f.store.AppendVersion(ctx, id, func(locked *cases.Document, cur []byte) (*cases.NewVersion, error) {
		pdf, err := signing.Sign(ctx, cur, signing.Request{Field: "sig-organisation", Cert: kp.Cert, Chain: kp.Chain, Time: time.Now(), Reason: "调解组织确认",
			Appearance: signing.Appearance{Name: f.w.Org.Name, Role: "调解专用章", Seal: true, Font: d.Font, Lang: locked.Lang, Zone: d.Zone}}, kp.Key, d.Keys.TSA)
		if err != nil {
			return nil, err
		}
		if pdf, err = d.Keys.MakeLTA(ctx, pdf); err != nil {
			return nil, err
		}
		return &cases.NewVersion{PDF: pdf, Field: "sig-organisation", SignerKind: signing.RoleOrganisation, SignerName: f.w.Org.Name, SignerRole: signing.RoleOrganisation,
			CertSHA256: sha256Hex(kp.Cert.Raw), IdentityMethod: "server-held key", EventType: "document.sealed", Actor: cases.System}, nil
	}); err != nil {
		t.Fatal(err)
	}
	current := func() ([]byte, int) {
		pdf, v, err := f.store.DocumentPDF(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		return pdf, v
	}
	pdf, v1 := current()
	st, err := signing.Archive(pdf)
	if err != nil || st.Field != "ts-1" {
		t.Fatalf("after the seal: newest document timestamp %+v %v, want ts-1", st, err)
	}

	// Scheduled by the TSA certificate's expiry minus the margin; nothing due yet.
	margin := 90 * 24 * time.Hour
	if n, err := d.ArchivePass(ctx, margin); err != nil || n != 0 {
		t.Fatalf("first pass: renewed %d, %v", n, err)
	}
	var due time.Time
	if err := f.store.Pool().QueryRow(ctx, `SELECT archive_due FROM documents WHERE id = $1`, id).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if want := st.Expires().Add(-margin); !due.Equal(want) {
		t.Errorf("archive due %v, want %v", due, want)
	}

	// Make it due (as if years had passed) and run the job on two nodes at once: one renewal.
	if _, err := f.store.Pool().Exec(ctx, `UPDATE documents SET archive_due = $2 WHERE id = $1`, id, d.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	other, err := newDocSigner(ctx, f.app.cfg, f.store, f.store.Cal, slog.New(slog.DiscardHandler)) // a second node
	if err != nil {
		t.Fatal(err)
	}
	other.Now = d.Now
	var wg sync.WaitGroup
	counts := make([]int, 2)
	longMargin := 100 * 365 * 24 * time.Hour // everything looks due
	for i, node := range []*docflow.Service{d, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := node.ArchivePass(ctx, longMargin)
			if err != nil {
				t.Errorf("node %d: %v", i, err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	pdf, v2 := current()
	if counts[0]+counts[1] != 1 || v2 != v1+1 {
		t.Fatalf("renewals %v, versions %d → %d; want exactly one new version", counts, v1, v2)
	}
	if st, _ := signing.Archive(pdf); st.Field != "ts-2" {
		t.Errorf("after renewal the newest timestamp is %q, want ts-2", st.Field)
	}
	rep, err := signing.Verify(pdf, d.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid {
		t.Errorf("renewed document: %v %s", err, rep.Text())
	}
	// A renewed document is not renewed again at once, however short the margin says.
	if n, _ := d.ArchivePass(ctx, longMargin); n != 0 {
		t.Errorf("renewed again immediately: %d", n)
	}
	evs, _ := f.store.Events(ctx, f.c.ID)
	found := false
	for _, e := range evs {
		found = found || e.Type == "document.archive_timestamped"
	}
	if !found {
		t.Error("the renewal is not on the case's trail")
	}
}
