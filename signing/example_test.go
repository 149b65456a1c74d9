package signing_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/parley-mediation/parley/signing"
	"github.com/parley-mediation/parley/signing/signingtest"
)

// Example shows the calls cmd/parley makes: generate an agreement, certify a device key, sign in two steps with
// the pending state stored in between, seal with a server key, and verify.
func Example() {
	font, err := signing.FindFont()
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	ca, _ := signing.NewCA(signing.CAConfig{Operator: "示例运营方", NotBefore: now.Add(-time.Hour)})
	tsa, _ := signing.NewLocalTSA(ca, "Parley TSA", now.Add(-time.Hour), now.AddDate(5, 0, 0))
	tsa.Now = func() time.Time { return now.Add(time.Minute) } // a fixed clock for the example; time.Now by default
	crl, _ := ca.CRL(1, nil, now, now.AddDate(0, 0, 7))
	validation := signing.ValidationData{Certs: tsa.Certificates(), CRLs: [][]byte{crl}}

	doc, err := (&signing.Generator{Font: font}).Agreement(&signing.Agreement{
		Meta:      signing.Meta{DocumentID: "DOC-1", CaseNumber: "(2025)京0108民诉前调1号", VerifyBaseURL: "https://parley.example.cn", Created: now},
		Mediators: []string{"王五"}, Organisation: "某某调解中心",
		Parties: []signing.Party{
			{Role: signing.RoleApplicant, Kind: signing.Person, Name: "张三"},
			{Role: signing.RoleRespondent, Kind: signing.Company, Name: "某某公司", Agent: &signing.Agent{Name: "李四"}},
		},
		Terms: []string{"被申请人支付人民币一万元。"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range doc.Fields {
		fmt.Println(f.Name, f.Signer)
	}

	// Device signing: the browser sends its public key (SPKI) after the identity check.
	device, _ := signingtest.NewDevice()
	pub, _ := signing.ParseDeviceKey(device.SPKI())
	cert, _ := ca.Issue(pub, signing.Subject{Name: "张三", Role: signing.RoleApplicant, CaseNumber: "(2025)京0108民诉前调1号"}, now, now.AddDate(1, 0, 0))
	img, _ := signing.DecodeSignatureImage(signingtest.SignaturePNG(1, 600, 240), signing.DefaultImageLimits)
	pending, err := signing.Prepare(doc.PDF, signing.Request{
		Field: "sig-applicant-1", Cert: cert, Chain: ca.Chain(), Time: now, Validation: validation,
		Appearance: signing.Appearance{Image: img, Name: "张三", Role: "申请人", Font: font},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := pending.MarshalBinary() // kept in PostgreSQL until the device answers
	var loaded signing.Pending
	_ = loaded.UnmarshalBinary(stored)
	rawSig, _ := device.Sign(loaded.ToBeSigned()) // in the browser: crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, tbs)
	v1, err := signing.Finish(context.Background(), doc.PDF, &loaded, rawSig, tsa)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Server-held key: the organisation's seal.
	seal, _ := signing.NewKeyPair(ca, signing.Subject{Name: "某某调解中心", Role: signing.RoleOrganisation}, now, now.AddDate(1, 0, 0))
	v2, err := signing.Sign(context.Background(), v1, signing.Request{
		Field: "sig-organisation", Cert: seal.Cert, Chain: seal.Chain, Time: now.Add(time.Minute), Validation: validation,
		Appearance: signing.Appearance{Name: "某某调解中心", Role: "调解专用章", Seal: true, Font: font},
	}, seal.Key, tsa)
	if err != nil {
		fmt.Println(err)
		return
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	rep, _ := signing.Verify(v2, roots, now.Add(time.Hour))
	fmt.Println("valid:", rep.Valid)
	for _, s := range rep.Signatures {
		fmt.Println(s.Field, s.SignerName, s.Role, s.Valid, s.TotalDocument)
	}
	// Output:
	// sig-applicant-1 张三
	// sig-respondent-1 李四
	// sig-mediator-1 王五
	// sig-organisation 某某调解中心
	// valid: true
	// sig-applicant-1 张三 applicant true false
	// sig-organisation 某某调解中心 organisation true true
}
