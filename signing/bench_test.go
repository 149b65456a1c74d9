package signing

import (
	"context"
	"testing"

	"github.com/parley-mediation/parley/signing/signingtest"
)

// BenchmarkDeviceSignature measures the server's share of one device signature: Prepare plus Finish on the
// unsigned agreement, without the device's signing and without a timestamp.
func BenchmarkDeviceSignature(b *testing.B) {
	p := getPKI(b)
	base := sharedAgreement(b)[0]
	dev, _ := signingtest.NewDevice()
	cert, err := p.ca.Issue(dev.Public(), Subject{Name: "张三", Role: RoleApplicant}, certFrom, certTo)
	if err != nil {
		b.Fatal(err)
	}
	img, err := DecodeSignatureImage(signingtest.SignaturePNG(1, 600, 240), DefaultImageLimits)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Field: "sig-applicant-1", Appearance: Appearance{Image: img, Name: "张三", Role: "申请人", Font: p.font},
		Cert: cert, Chain: p.ca.Chain(), Time: testNow, Validation: p.validation()}
	b.ReportAllocs()
	for b.Loop() {
		pend, err := Prepare(base, req)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sig, _ := dev.Sign(pend.ToBeSigned())
		b.StartTimer()
		if _, err := Finish(context.Background(), base, pend, sig, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealSignature measures a one-step server-key signature including Parley's local timestamp.
func BenchmarkSealSignature(b *testing.B) {
	p := getPKI(b)
	base := sharedAgreement(b)[3]
	tsa := p.tsaAt(testNow)
	req := Request{Field: "sig-organisation", Appearance: Appearance{Name: p.org.Cert.Subject.CommonName, Role: "调解专用章", Seal: true, Font: p.font},
		Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow, Validation: p.validation()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(context.Background(), base, req, p.org.Key, tsa); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies the agreement with four signatures.
func BenchmarkVerify(b *testing.B) {
	p := getPKI(b)
	final := sharedAgreement(b)[4]
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Verify(final, p.roots, testNow)
		if err != nil || !rep.Valid {
			b.Fatalf("valid %v, err %v", rep != nil && rep.Valid, err)
		}
	}
}

// BenchmarkGenerateAgreement renders the two-page agreement with its signature fields.
func BenchmarkGenerateAgreement(b *testing.B) {
	g := &Generator{Font: getPKI(b).font}
	a := sampleAgreement("zh")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Agreement(a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFileGrowth prints how much each signature adds to the agreement (go test -run FileGrowth -v).
func TestFileGrowth(t *testing.T) {
	t.Parallel()
	v := sharedAgreement(t)
	t.Logf("unsigned agreement: %d bytes", len(v[0]))
	p := getPKI(t)
	img, err := DecodeSignatureImage(signingtest.SignaturePNG(1, 600, 240), DefaultImageLimits)
	if err != nil {
		t.Fatal(err)
	}
	pend, err := Prepare(v[0], Request{Field: "sig-applicant-1", Appearance: Appearance{Image: img, Name: "张三", Role: "申请人", Font: p.font},
		Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow, Validation: p.validation()})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := pend.MarshalBinary()
	t.Logf("pending state of a device signature: %d bytes of JSON (to be signed: %d bytes)", len(stored), len(pend.ToBeSigned()))
	fields := []string{"applicant (device, drawn signature)", "respondent's agent (device)", "mediator (device)", "organisation (server key, vector seal)"}
	for i := 1; i < len(v); i++ {
		grow := len(v[i]) - len(v[i-1])
		t.Logf("signature %d, %s: +%d bytes (file %d bytes)", i, fields[i-1], grow, len(v[i]))
		if grow < 4<<10 || grow > 80<<10 {
			t.Errorf("signature %d adds %d bytes, outside the expected 4–80 KiB", i, grow)
		}
	}
}
