package cases

import "testing"

func TestCaseNumbers(t *testing.T) {
	for _, tc := range []struct {
		in        string
		preFiling bool
		ok        bool
	}{
		{"（2026）京73民初123号", false, true},
		{"(2026)京73民初100号", false, true},
		{"（2026）最高法知民终5号", false, true},
		{"（2025）沪0115民初98765号", false, true},
		{"(2025)京0108民诉前调1234号", true, true},
		{"（2026）京73民诉前调12号", true, true},
		{"（2026）京73民诉前调12号", false, false}, // a pre-filing number on an entrusted case
		{"（2026）京73民初123号", true, false},   // a filed number on a referral before filing
		{"2026京73民初123号", false, false},
		{"（2026）京73民初123", false, false},
		{"（26）京73民初123号", false, false},
		{"（2026）京73民初0号", false, false},
		{"（1899）京73民初1号", false, false},
		{"（2026）京73民初123号 ", false, true},
		{"case 123", false, false},
		{"", false, false},
	} {
		if got := checkCourtCaseNumber(tc.in, tc.preFiling) == ""; got != tc.ok {
			t.Errorf("checkCourtCaseNumber(%q, pre-filing %v) ok = %v, want %v (%s)", tc.in, tc.preFiling, got, tc.ok, checkCourtCaseNumber(tc.in, tc.preFiling))
		}
	}
	n, err := ParseCaseNumber("（2026）京73民初123号")
	if err != nil || n.Year != 2026 || n.Court != "京73" || n.Type != "民初" || n.Seq != 123 || n.PreFiling {
		t.Errorf("parse: %+v %v", n, err)
	}
}
