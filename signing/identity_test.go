package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

// TestIdentityEvidenceInTheCertificate issues a party's certificate naming its identity evidence and reads it
// back; the identifier travels only as its salted hash.
func TestIdentityEvidenceInTheCertificate(t *testing.T) {
	ca, err := NewCA(CAConfig{Operator: "Parley 测试运营方", NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	at := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	idHash := IdentifierHash("id_card", "（2026）知调字第000001号", "11010119900101123x")
	ev := &IdentityEvidence{Method: "id_card_on_camera", CheckedBy: "陈调解员", At: at, Ref: "case-check-12", IDScheme: "id_card", IDHash: idHash}
	cert, err := ca.Issue(key.Public(), Subject{Name: "李四", Role: "respondent", CaseNumber: "（2026）知调字第000001号", Identity: ev}, at, at.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	got := SubjectOf(cert)
	if got.CaseNumber != "（2026）知调字第000001号" || got.Identity == nil {
		t.Fatalf("subject %+v", got)
	}
	if *got.Identity != *ev {
		t.Errorf("evidence read back %+v, want %+v", *got.Identity, *ev)
	}
	if strings.Contains(string(cert.RawSubject), "110101") {
		t.Error("the identity-card number is in the certificate in clear")
	}
	// The hash ignores spaces and case, and depends on the case (no linking across cases).
	if IdentifierHash("id_card", "（2026）知调字第000001号", "110101 19900101123X") != idHash {
		t.Error("normalisation")
	}
	if IdentifierHash("id_card", "（2026）知调字第000002号", "11010119900101123X") == idHash {
		t.Error("the hash is the same in two cases")
	}
	if !strings.HasPrefix(idHash, "IDC-SHA256-") || len(idHash) != len("IDC-SHA256-")+64 {
		t.Errorf("hash form %s", idHash)
	}
	// A certificate without evidence names none.
	plain, err := ca.Issue(key.Public(), Subject{Name: "陈调解员", Role: "mediator", CaseNumber: "x"}, at, at.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if IdentityOf(plain) != nil {
		t.Error("evidence read from a certificate without any")
	}
}
