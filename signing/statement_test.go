package signing

import (
	"testing"
	"time"
)

func TestChineseDate(t *testing.T) {
	for _, tc := range []struct {
		y, m, d int
		want    string
	}{
		{2026, 11, 16, "二〇二六年十一月十六日"},
		{2026, 1, 1, "二〇二六年一月一日"},
		{2030, 10, 10, "二〇三〇年十月十日"},
		{2027, 12, 20, "二〇二七年十二月二十日"},
		{2028, 2, 29, "二〇二八年二月二十九日"},
		{2029, 3, 31, "二〇二九年三月三十一日"},
	} {
		if got := chineseDate(time.Date(tc.y, time.Month(tc.m), tc.d, 0, 0, 0, 0, time.UTC)); got != tc.want {
			t.Errorf("%d-%d-%d: got %s, want %s", tc.y, tc.m, tc.d, got, tc.want)
		}
	}
}

// TestMediationStatementNeeds: a statement without the court's case number, the parties or the terms is refused.
func TestMediationStatementNeeds(t *testing.T) {
	font, err := FindFont()
	if err != nil {
		t.Skipf("no CJK font: %v", err)
	}
	g := &Generator{Font: font}
	ok := MediationStatement{Meta: Meta{DocumentID: "d", CaseNumber: "（2026）知调字第000001号"}, Court: "北京知识产权法院", CourtCaseNumber: "（2026）京73民初123号",
		Parties: []Party{{Role: RoleApplicant, Kind: Company, Name: "甲公司"}, {Role: RoleRespondent, Kind: Person, Name: "乙"}}, Terms: []string{"乙向甲支付十万元。"}, Judge: "赵法官"}
	if doc, err := g.MediationStatement(&ok); err != nil || len(doc.Fields) != 1 || doc.Fields[0].Name != "sig-court" {
		t.Fatalf("a complete statement: %v %+v", err, doc)
	}
	for name, change := range map[string]func(s *MediationStatement){
		"no case number": func(s *MediationStatement) { s.CourtCaseNumber = "" },
		"no parties":     func(s *MediationStatement) { s.Parties = nil },
		"no terms":       func(s *MediationStatement) { s.Terms = nil },
		"no court":       func(s *MediationStatement) { s.Court = "" },
	} {
		s := ok
		change(&s)
		if _, err := g.MediationStatement(&s); err == nil {
			t.Errorf("%s: made a statement", name)
		}
	}
}
