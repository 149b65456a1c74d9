package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
)

// The front end names the workflow's states, actions, grounds and the other values of the domain in both
// languages; web/ cannot import cases, so this test (which sees both) keeps them in step.

func readDictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../web/static/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWebNamesEveryDomainValue(t *testing.T) {
	t.Parallel()
	var want []string
	for _, s := range cases.States {
		want = append(want, "state."+string(s), "stateinfo."+string(s))
	}
	for _, tr := range cases.Transitions {
		want = append(want, "action."+string(tr.Action), "event.case."+string(tr.Action))
	}
	for _, g := range cases.EndGrounds {
		want = append(want, "ground."+string(g))
	}
	for _, d := range cases.DisputeTypes {
		want = append(want, "dispute."+string(d))
	}
	for _, s := range cases.Specialties {
		want = append(want, "specialty."+s)
	}
	for _, r := range cases.Roles {
		want = append(want, "role."+string(r))
	}
	for _, s := range []cases.Source{cases.SourceDelegated, cases.SourceEntrustedOrdinary, cases.SourceEntrustedSimplified, cases.SourceDirect} {
		want = append(want, "source."+string(s))
	}
	for _, s := range []cases.Side{cases.Applicant, cases.Respondent} {
		want = append(want, "side."+string(s))
	}
	for _, k := range []cases.PartyKind{cases.PartyPerson, cases.PartyCompany} {
		want = append(want, "partykind."+string(k))
	}
	for _, k := range []cases.MediationKind{cases.MedPeople, cases.MedAdministrative, cases.MedIndustry, cases.MedCommercial, cases.MedLawyer, cases.MedIPCentre} {
		want = append(want, "medkind."+string(k))
	}
	for _, s := range []cases.RosterStatus{cases.RosterRecommended, cases.RosterConfirmed, cases.RosterRemoved} {
		want = append(want, "rosterstatus."+string(s))
	}
	for _, s := range []string{cases.SessionScheduled, cases.SessionLive, cases.SessionEnded} {
		want = append(want, "sessionstatus."+s)
	}
	for _, s := range []string{cases.AssignAssigned, cases.AssignAccepted, cases.AssignDeclined, cases.AssignReplaced, cases.AssignWithdrawn} {
		want = append(want, "assign."+s)
	}
	for _, lang := range []string{"zh-CN", "en"} {
		d := readDictionary(t, lang)
		for _, k := range want {
			if d[k] == "" {
				t.Errorf("%s.json does not name %s", lang, k)
			}
		}
	}
}

var jsList = regexp.MustCompile(`export const (\w+) = \[([^\]]*)\];`)

// TestWebListsMatchTheDomain keeps the value lists the pages offer (js/parts/casebits.js) equal to the domain's.
func TestWebListsMatchTheDomain(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../web/static/js/parts/casebits.js")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, m := range jsList.FindAllStringSubmatch(string(src), -1) {
		var vals []string
		for _, v := range strings.Split(m[2], ",") {
			vals = append(vals, strings.Trim(strings.TrimSpace(v), `'`))
		}
		got[m[1]] = vals
	}
	str := func(xs ...any) []string {
		var out []string
		for _, x := range xs {
			switch v := x.(type) {
			case []cases.State:
				for _, s := range v {
					out = append(out, string(s))
				}
			case []cases.EndGround:
				for _, s := range v {
					out = append(out, string(s))
				}
			case []cases.DisputeType:
				for _, s := range v {
					out = append(out, string(s))
				}
			case []string:
				out = append(out, v...)
			}
		}
		return out
	}
	for name, want := range map[string][]string{
		"STATES":      str(cases.States),
		"GROUNDS":     str(cases.EndGrounds),
		"DISPUTES":    str(cases.DisputeTypes),
		"SPECIALTIES": str(cases.Specialties),
		"SOURCES":     {string(cases.SourceDelegated), string(cases.SourceEntrustedOrdinary), string(cases.SourceEntrustedSimplified)},
	} {
		if !slices.Equal(got[name], want) {
			t.Errorf("casebits.js %s = %v, want %v", name, got[name], want)
		}
	}
}
