package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// runVerify checks the signatures of a PDF: parley verify [-root root.pem] FILE.pdf. Without -root it trusts the
// root of the CA in the configured database. The exit status is 0 only when every signature is valid.
func runVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rootFile := fs.String("root", "", "PEM file of the root certificate to trust (default: the CA of the database in PARLEY_DATABASE_URL)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: parley verify [-root root.pem] [-json] FILE.pdf") }
	if err := fs.Parse(args); err != nil {
		return exitError{2, ""}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{2, ""}
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return exitError{2, err.Error()}
	}
	roots := x509.NewCertPool()
	if *rootFile != "" {
		pemBytes, err := os.ReadFile(*rootFile)
		if err != nil {
			return exitError{2, err.Error()}
		}
		if !roots.AppendCertsFromPEM(pemBytes) {
			return exitError{2, *rootFile + " holds no PEM certificate"}
		}
	} else {
		b, _, err := open(ctx, "verify", nil, getenv, io.Discard, false)
		if err != nil {
			return exitError{2, "no -root given and the database is unreachable: " + err.Error()}
		}
		defer b.close()
		d, err := newDocSigner(ctx, b.cfg, b.store, b.store.Cal, b.log)
		if err != nil {
			return err
		}
		roots = d.Keys.Roots()
	}
	rep, err := signing.Verify(data, roots, time.Now())
	if err != nil {
		return exitError{2, fs.Arg(0) + ": " + err.Error()}
	}
	if *asJSON {
		encodeTo(stdout, rep)
	} else {
		fmt.Fprint(stdout, rep.Text())
	}
	if !rep.Valid {
		return exitError{1, ""}
	}
	return nil
}

// runSignDemo writes a demo agreement signed by two parties (device keys), a mediator (device key) and an
// organisation seal (server key), its certificate of completion, a signed session record, and the root
// certificate, so that anyone can check Parley's output with their own tools. It needs no database.
func runSignDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "parley-sign-demo", "directory to write the files to")
	fontPath := fs.String("font", getenv("PARLEY_FONT"), "TrueType font (default: LXGW WenKai or AR PL SungtiL GB)")
	lang := fs.String("lang", "zh", "document language: zh or en")
	serve := fs.String("serve", "", "after writing, serve the demo CA's OCSP responder, CRL and root certificate on this address (e.g. 127.0.0.1:8080, matching -base-url) until interrupted, so tools can check revocation online")
	baseURL := fs.String("base-url", "http://localhost:8080", "base URL written into the certificates' CRL distribution point and authority information access")
	if err := fs.Parse(args); err != nil {
		return exitError{2, ""}
	}
	if *lang != "zh" && *lang != "en" {
		return exitError{2, "lang must be zh or en"}
	}
	var font *signing.Font
	var err error
	if *fontPath != "" {
		font, err = signing.LoadFont(*fontPath)
	} else {
		font, err = signing.FindFont()
	}
	if err != nil {
		return exitError{2, err.Error()}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	zone := time.FixedZone("CST", 8*3600)
	now := time.Now().In(zone).Truncate(time.Second)
	ca, err := signing.NewCA(signing.CAConfig{Operator: "Parley demo"})
	if err != nil {
		return err
	}
	ca.SetBaseURL(strings.TrimRight(*baseURL, "/"))
	tsa, err := signing.NewLocalTSA(ca, "Parley demo TSA", now.Add(-time.Hour), now.AddDate(5, 0, 0))
	if err != nil {
		return err
	}
	// Validation data is added after each signature (B-LT), then a document timestamp (B-LTA): see demoLTA.
	val := signing.ValidationData{}
	lta := func(pdf []byte) ([]byte, error) { return demoLTA(ctx, pdf, ca, tsa) }
	const caseNo = "（2026）知调字第000001号"
	meta := func() signing.Meta {
		return signing.Meta{DocumentID: cases.NewID(), CaseNumber: caseNo, Court: "北京知识产权法院", VerifyBaseURL: "http://localhost:8080", Lang: *lang, Created: now}
	}
	gen := &signing.Generator{Font: font}
	agMeta := meta()
	ag, err := gen.Agreement(&signing.Agreement{
		Meta: agMeta, Organisation: "中国（北京）知识产权保护中心调解室", Mediators: []string{"陈调和"},
		Cause: "侵害发明专利权纠纷", Referral: signing.ReferralDelegated,
		Parties: []signing.Party{
			{Role: signing.RoleApplicant, Kind: signing.Company, Name: "北京星云科技有限公司", Representative: "张星云", IDNumber: "91110108MA00000000", Address: "北京市海淀区中关村大街 1 号",
				Agent: &signing.Agent{Name: "王律师", Firm: "北京某某律师事务所", Authority: signing.AuthoritySpecial}},
			{Role: signing.RoleRespondent, Kind: signing.Person, Name: "李四", IDNumber: "110101199001011234", Sex: signing.SexMale,
				Birth: time.Date(1990, 1, 1, 0, 0, 0, 0, zone), Address: "北京市东城区某某胡同 2 号"},
		},
		Facts:  "申请人系“一种无线信号增强方法”发明专利的专利权人，主张被申请人销售的路由器落入该专利权利要求 1–5 的保护范围。",
		Issues: []string{"被诉产品是否落入专利权保护范围", "赔偿数额"},
		Terms:  []string{"被申请人自本协议生效之日起停止销售涉案产品。", "被申请人赔偿申请人经济损失及合理开支共计人民币十二万元。"},
		Schedule: []signing.Installment{{Amount: 6000000, Due: now.AddDate(0, 1, 0), Method: "银行转账", Payer: "李四", Payee: "北京星云科技有限公司"},
			{Amount: 6000000, Due: now.AddDate(0, 2, 0), Method: "银行转账", Payer: "李四", Payee: "北京星云科技有限公司"}},
	})
	if err != nil {
		return err
	}
	pdf := ag.PDF
	signers := []struct{ field, name, role, label string }{
		{"sig-applicant-1", "王律师", signing.RoleAgent, "申请人委托代理人"},
		{"sig-respondent-1", "李四", signing.RoleRespondent, "被申请人"},
		{"sig-mediator-1", "陈调和", signing.RoleMediator, "调解员"},
	}
	for i, s := range signers {
		if pdf, err = deviceSign(ctx, pdf, ca, tsa, val, font, zone, s.field, s.name, s.role, s.label, caseNo, i+1, time.Now().In(zone)); err != nil {
			return fmt.Errorf("sign %s: %w", s.field, err)
		}
		if pdf, err = lta(pdf); err != nil {
			return fmt.Errorf("validation data after %s: %w", s.field, err)
		}
	}
	at := time.Now().In(zone)
	seal, err := signing.NewKeyPair(ca, signing.Subject{Name: "中国（北京）知识产权保护中心调解室", Role: signing.RoleOrganisation}, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	if err != nil {
		return err
	}
	if pdf, err = signing.Sign(ctx, pdf, signing.Request{Field: "sig-organisation", Cert: seal.Cert, Chain: seal.Chain, Time: at, Validation: val, Reason: "调解组织确认",
		Appearance: signing.Appearance{Name: "中国（北京）知识产权保护中心调解室", Role: "调解专用章", Seal: true, Font: font, Lang: *lang, Zone: zone}}, seal.Key, tsa); err != nil {
		return err
	}
	if pdf, err = lta(pdf); err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	rep, err := signing.Verify(pdf, roots, time.Now())
	if err != nil {
		return err
	}
	platform, err := signing.NewKeyPair(ca, signing.Subject{Name: "Parley 在线调解平台", Role: signing.RolePlatform}, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	if err != nil {
		return err
	}
	cs := signing.CompletionSigners(rep)
	for i := range cs {
		cs[i].IdentityMethod = []string{"人脸识别比对", "身份证件视频核验", "工作人员账户登录", "服务器托管印章"}[min(i, 3)]
	}
	comp, err := gen.Completion(&signing.Completion{Meta: meta(), DocumentTitle: "调解协议书", SignedDocumentID: agMeta.DocumentID, DocumentSHA256: rep.SHA256,
		DocumentPages: ag.Pages, Completed: at, Signers: cs})
	if err != nil {
		return err
	}
	compPDF, err := signing.Sign(ctx, comp.PDF, signing.Request{Field: "sig-platform", Cert: platform.Cert, Chain: platform.Chain, Time: time.Now().In(zone), Validation: val,
		Reason: "签署完成证明", Appearance: signing.Appearance{Name: "Parley", Role: "平台", Font: font, Lang: *lang, Zone: zone}}, platform.Key, tsa)
	if err != nil {
		return err
	}
	if compPDF, err = lta(compPDF); err != nil {
		return err
	}
	rec, err := gen.SessionRecord(&signing.SessionRecord{Meta: meta(), Organisation: "中国（北京）知识产权保护中心调解室", Start: now.Add(-time.Hour), End: now.Add(-10 * time.Minute),
		Participants: []signing.Participant{{Name: "王律师", Role: signing.RoleAgent, RoleLabel: "申请人委托代理人", Attends: "视频"}, {Name: "李四", Role: signing.RoleRespondent, Attends: "视频"},
			{Name: "陈调和", Role: signing.RoleMediator, Attends: "视频"}, {Name: "赵明理", Role: signing.RoleJudge, Attends: "视频", NoSignature: true}},
		IdentityChecks: []signing.IdentityCheck{{Participant: "王律师", Method: "人脸识别比对", Result: "通过", By: "陈调和", At: now.Add(-time.Hour)},
			{Participant: "李四", Method: "身份证件视频核验", Result: "通过", By: "陈调和", At: now.Add(-time.Hour)}},
		Attendance: []signing.Attendance{{Participant: "王律师", Joined: now.Add(-time.Hour), Left: now.Add(-10 * time.Minute)}, {Participant: "李四", Joined: now.Add(-time.Hour), Left: now.Add(-10 * time.Minute)},
			{Participant: "陈调和", Joined: now.Add(-61 * time.Minute), Left: now.Add(-10 * time.Minute)}, {Participant: "赵明理", Joined: now.Add(-30 * time.Minute), Left: now.Add(-20 * time.Minute)}},
		Sections:       []signing.RecordSection{{Heading: "调解情况", Statements: []signing.Statement{{Speaker: "申请人委托代理人", Text: "要求赔偿十五万元。"}, {Speaker: "被申请人", Text: "愿意赔偿十万元，分两期支付。"}}}},
		ConfirmedFacts: []string{"被申请人曾销售涉案产品 200 件。"},
	})
	if err != nil {
		return err
	}
	recPDF := rec.PDF
	for i, f := range rec.Fields {
		role, label := f.Role, map[string]string{signing.RoleAgent: "申请人委托代理人", signing.RoleRespondent: "被申请人", signing.RoleMediator: "调解员"}[f.Role]
		if recPDF, err = deviceSign(ctx, recPDF, ca, tsa, val, font, zone, f.Name, f.Signer, role, label, caseNo, 10+i, time.Now().In(zone)); err != nil {
			return fmt.Errorf("sign record %s: %w", f.Name, err)
		}
		if recPDF, err = lta(recPDF); err != nil {
			return fmt.Errorf("validation data after record %s: %w", f.Name, err)
		}
	}
	// The court's judicial confirmation (司法确认): its stamp fills the field the agreement declared for it.
	court, err := signing.NewKeyPair(ca, signing.Subject{Name: "北京知识产权法院", Role: signing.RoleCourt}, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	if err != nil {
		return err
	}
	confirmed, err := signing.Sign(ctx, pdf, signing.Request{Field: signing.CourtField, Cert: court.Cert, Chain: court.Chain, Time: time.Now().In(zone), Validation: val, Reason: "司法确认",
		Appearance: signing.Appearance{Name: "北京知识产权法院", Role: "司法确认", Stamp: &signing.CourtStamp{Court: "北京知识产权法院", CaseNumber: caseNo, Date: time.Now().In(zone)},
			Font: font, Lang: *lang, Zone: zone}}, court.Key, tsa)
	if err != nil {
		return fmt.Errorf("court confirmation: %w", err)
	}
	if confirmed, err = lta(confirmed); err != nil {
		return err
	}
	files := map[string][]byte{"agreement.pdf": pdf, "agreement-confirmed.pdf": confirmed, "completion.pdf": compPDF, "session-record.pdf": recPDF, "root.pem": pemCert(ca.Cert), "agreement-unsigned.pdf": ag.PDF}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s: agreement.pdf (4 signatures), agreement-confirmed.pdf (and the court's), completion.pdf, session-record.pdf (%d signatures), root.pem\n", *out, len(rec.Fields))
	fmt.Fprintf(stdout, "check them with:\n  pdfsig %s\n  qpdf --check %s\n  parley verify -root %s %s\n",
		filepath.Join(*out, "agreement.pdf"), filepath.Join(*out, "agreement.pdf"), filepath.Join(*out, "root.pem"), filepath.Join(*out, "agreement.pdf"))
	if *serve != "" {
		return serveDemoCA(ctx, *serve, ca, stdout)
	}
	return nil
}

// demoLTA adds the validation data of every signature (OCSP responses and a CRL signed by the demo CA now, after
// the signature) and a document timestamp: PAdES B-LTA.
func demoLTA(ctx context.Context, pdf []byte, ca *signing.CA, tsa *signing.LocalTSA) ([]byte, error) {
	return signing.MakeLTA(ctx, pdf, &signing.CASource{CA: ca}, signing.ValidationOptions{Extra: tsa.Certificates()}, tsa)
}

// deviceSign signs as a party's phone would: a fresh device key certified by the CA, two-step signing.
func deviceSign(ctx context.Context, pdf []byte, ca *signing.CA, tsa signing.Timestamper, val signing.ValidationData, font *signing.Font, zone *time.Location,
	field, name, role, label, caseNo string, seed int, at time.Time) ([]byte, error) {
	dev, err := signingtest.NewDevice()
	if err != nil {
		return nil, err
	}
	pub, err := signing.ParseDeviceKey(dev.SPKI())
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(pub, signing.Subject{Name: name, Role: role, CaseNumber: caseNo}, at.Add(-time.Hour), at.AddDate(2, 0, 0))
	if err != nil {
		return nil, err
	}
	img, err := signing.DecodeSignatureImage(signingtest.SignaturePNG(seed, 600, 240), signing.DefaultImageLimits)
	if err != nil {
		return nil, err
	}
	p, err := signing.Prepare(pdf, signing.Request{Field: field, Cert: cert, Chain: ca.Chain(), Time: at, Validation: val, Reason: "同意本文件内容", Location: "Parley 在线调解平台",
		Appearance: signing.Appearance{Image: img, Name: name, Role: label, Font: font, Zone: zone}})
	if err != nil {
		return nil, err
	}
	sig, err := dev.Sign(p.ToBeSigned())
	if err != nil {
		return nil, err
	}
	return signing.Finish(ctx, pdf, p, sig, tsa)
}
