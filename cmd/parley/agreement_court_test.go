package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
)

// TestAgreementCourtDetails: over the API the agreement states the cause of action, the court with its kind
// of referral, an individual's sex and date of birth and each agent's scope of authority; bad details are
// refused field by field.
func TestAgreementCourtDetails(t *testing.T) {
	f := newFixture(t)
	mediator := f.login(f.w.Mediator)
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/actions/end", cases.Params{Ground: cases.GroundAgreement}, nil); st != 200 {
		t.Fatalf("end: %d", st)
	}
	var person, withAgent *cases.Party
	for i := range f.c.Parties {
		p := &f.c.Parties[i]
		if p.Kind == cases.PartyPerson && person == nil {
			person = p
		}
		if len(p.Agents) > 0 && withAgent == nil {
			withAgent = p
		}
	}
	if person == nil || withAgent == nil {
		t.Fatalf("the fixture case needs an individual party and a party with an agent: %+v", f.c.Parties)
	}
	req := agreementRequest{Facts: "事实。", Terms: []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币十万元。"}}, Cause: "侵害实用新型专利权纠纷",
		PartyDetails: []partyDetail{{PartyID: withAgent.ID, AgentAuthority: "special"}}}
	if person.ID == withAgent.ID {
		req.PartyDetails[0].Sex, req.PartyDetails[0].BirthDate = "female", "1985-02-03"
	} else {
		req.PartyDetails = append(req.PartyDetails, partyDetail{PartyID: person.ID, Sex: "female", BirthDate: "1985-02-03"})
	}
	bad := req
	bad.PartyDetails = []partyDetail{{PartyID: person.ID, Sex: "x", BirthDate: "1985-13-40", AgentAuthority: "all"}}
	var e apiError
	st, raw := mediator.raw("POST", "/api/v1/cases/"+f.c.ID+"/agreement", bad)
	if err := json.Unmarshal(raw, &e); err != nil || st != 400 || len(e.Error.Fields) != 3 {
		t.Errorf("bad party details: %d %s", st, raw)
	}
	var doc documentResponse
	if st := mediator.do("POST", "/api/v1/cases/"+f.c.ID+"/agreement", req, &doc); st != 201 {
		t.Fatalf("draft: %d", st)
	}
	pdf := f.download(mediator, doc.Document.ID)
	path := filepath.Join(t.TempDir(), "a.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil {
		t.Skipf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), "")
	referral := map[bool]string{true: "委托调解法院：", false: "委派调解法院："}[f.c.Source.Entrusted()]
	for _, want := range []string{"案由：侵害实用新型专利权纠纷", referral + f.c.CourtName, "性别：女", "出生日期：1985年2月3日", "代理权限：特别授权"} {
		if !strings.Contains(text, want) {
			t.Errorf("agreement lacks %q:\n%s", want, text)
		}
	}
}
