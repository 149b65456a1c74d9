package main

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/cases/casestest"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
)

// TestMaterialBundleForTheCourt: once mediation failed, the mediator pushes the case file to the court; the
// court's webhook receives case.bundle_pushed with the bundle's address, and the court's API token downloads a
// zip whose manifest lists every file with its SHA-256, signed by the platform; it holds the shared and
// court-only materials, never a mediators-only one.
func TestMaterialBundleForTheCourt(t *testing.T) {
	e := newTestEnv(t)
	c := casestest.InMediation(t, e.store, e.w)
	f := &fixture{testEnv: e, c: c}
	party, med, agent := f.clientFor("party"), f.clientFor("mediator"), f.clientFor("agent")
	court := e.token(e.w.Clerk)
	shared := med.mustUpload(c.ID, "比对表.pdf", "shared", testPDF(300<<10))
	forCourt := party.mustUpload(c.ID, "评估报告.pdf", "court", testPDF(1000))
	secret := party.mustUpload(c.ID, "底线.pdf", "mediators", testPDF(1000))
	bundle := "/api/v1/cases/" + c.ID + "/bundle"
	if st, _ := court.raw("GET", bundle, nil); st != 403 {
		t.Errorf("bundle before the end: %d, want 403", st)
	}
	if st, raw := med.raw("POST", bundle+"/push", nil); st != 403 {
		t.Errorf("push before the end: %d %s, want 403", st, raw)
	}
	admin := e.login(e.w.Admin)
	rc := newReceiver(t)
	register(t, admin, rc.srv.URL, e.w.Court.ID, "case.bundle_pushed")
	startSenders(t, e, 1, cases.RetryPolicy{Base: time.Second, Max: time.Second, MaxAttempts: 3}, 5*time.Second)
	if st, raw := med.raw("POST", "/api/v1/cases/"+c.ID+"/actions/end", cases.Params{Ground: cases.GroundApart, Report: &cases.FailureReport{Facts: "双方协商三次", Reasons: "赔偿数额差距过大", Suggestions: "建议立案审理"}}); st != 200 {
		t.Fatalf("end: %d %s", st, raw)
	}
	if st, raw := med.raw("POST", bundle+"/push", nil); st != 200 {
		t.Fatalf("push: %d %s", st, raw)
	}
	waitFor(t, 30*time.Second, "the push webhook", func() bool { return len(rc.all()) == 1 })
	var p webhookPayload
	if err := json.Unmarshal(rc.all()[0].body, &p); err != nil || p.Type != "case.bundle_pushed" || p.Event.Data["bundle_url"] != e.app.cfg.BaseURL+bundle {
		t.Fatalf("webhook %s (%v)", rc.all()[0].body, err)
	}
	for name, cl := range map[string]*client{"the other side": agent, "a party": party} {
		if st, _ := cl.raw("GET", bundle, nil); st != 403 && st != 404 {
			t.Errorf("%s downloaded the bundle: %d", name, st)
		}
	}
	st, raw := court.raw("GET", bundle, nil)
	if st != 200 {
		t.Fatalf("bundle: %d %s", st, truncate(raw))
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rd, _ := zf.Open()
		b, _ := io.ReadAll(rd)
		rd.Close()
		files[zf.Name] = b
	}
	var m docflow.BundleManifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.CaseID != c.ID || m.State != "failed" || m.Events == 0 || m.ChainHead == "" {
		t.Errorf("manifest %+v", m)
	}
	ids := map[string]bool{}
	for _, bf := range m.Files {
		sum := sha256.Sum256(files[bf.Path])
		if hex.EncodeToString(sum[:]) != bf.SHA256 || int64(len(files[bf.Path])) != bf.Size {
			t.Errorf("%s: the manifest's hash or size does not match the file", bf.Path)
		}
		ids[bf.ID] = true
	}
	if !ids[shared.ID] || !ids[forCourt.ID] || ids[secret.ID] {
		t.Errorf("materials in the bundle: shared %v, court-only %v, mediators-only %v; want true, true, false", ids[shared.ID], ids[forCourt.ID], ids[secret.ID])
	}
	if files["events.json"] == nil || !strings.Contains(string(files["events.json"]), "case.ended") {
		t.Errorf("no trail in the bundle")
	}
	// The mediator's failure report is in it, signed by the organisation's seal key.
	rep, err := signing.Verify(files["documents/failure-report.pdf"], e.app.docs.Keys.Roots(), time.Now())
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Role != signing.RoleOrganisation {
		t.Errorf("failure report in the bundle: %v %+v", err, rep)
	}
	if r, body := med.get("/api/v1/cases/" + c.ID + "/failure-report"); r.StatusCode != 200 || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Errorf("the mediator's failure report: %d", r.StatusCode)
	}
	if r, _ := party.get("/api/v1/cases/" + c.ID + "/failure-report"); r.StatusCode != 403 {
		t.Errorf("a party read the failure report: %d, want 403", r.StatusCode)
	}
	// The manifest's signature verifies with the platform certificate in the bundle.
	blk, _ := pem.Decode(files["platform.pem"])
	if blk == nil {
		t.Fatal("no certificate in platform.pem")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(files["manifest.json"])
	ok := false
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, digest[:], files["manifest.sig"])
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], files["manifest.sig"]) == nil
	}
	if !ok {
		t.Errorf("manifest.sig does not verify with %s", cert.Subject)
	}
}
