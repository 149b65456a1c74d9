package docflow

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// What a court expects an agreement to state (issue 9 §4) beyond what the case records: the cause of action
// (案由), an individual's sex and date of birth, and each agent's scope of authority. The court and the kind
// of referral (委派 / 委托) come from the case.

// PartyDetail adds to one party of the case.
type PartyDetail struct {
	PartyID        string `json:"party_id"`
	Sex            string `json:"sex,omitempty"`             // male or female (individuals)
	BirthDate      string `json:"birth_date,omitempty"`      // YYYY-MM-DD (individuals)
	AgentAuthority string `json:"agent_authority,omitempty"` // general (一般授权) or special (特别授权)
}

func (r AgreementRequest) validCourtDetails() map[string]string {
	f := map[string]string{}
	if utf8.RuneCountInString(r.Cause) > 100 {
		f["cause"] = "at most 100 characters"
	}
	seen := map[string]bool{}
	for i, p := range r.PartyDetails {
		at := fmt.Sprintf("party_details[%d]", i)
		if p.PartyID == "" || seen[p.PartyID] {
			f[at+".party_id"] = "names each party of the case at most once"
		}
		seen[p.PartyID] = true
		if p.Sex != "" && p.Sex != signing.SexMale && p.Sex != signing.SexFemale {
			f[at+".sex"] = "must be male or female"
		}
		if p.BirthDate != "" {
			if d, err := time.Parse("2006-01-02", p.BirthDate); err != nil || d.Year() < 1900 || d.After(time.Now()) {
				f[at+".birth_date"] = "must be a past date as YYYY-MM-DD"
			}
		}
		if p.AgentAuthority != "" && p.AgentAuthority != signing.AuthorityGeneral && p.AgentAuthority != signing.AuthoritySpecial {
			f[at+".agent_authority"] = "must be general or special"
		}
	}
	return f
}

// causeOf is the default cause of action for a dispute type (the second-level causes of the SPC's 民事案件案由规定).
func causeOf(t cases.DisputeType) string {
	return map[cases.DisputeType]string{
		cases.DisputePatent:            "专利权权属、侵权纠纷",
		cases.DisputeTrademark:         "商标权权属、侵权纠纷",
		cases.DisputeCopyright:         "著作权权属、侵权纠纷",
		cases.DisputeTradeSecret:       "侵害商业秘密纠纷",
		cases.DisputeUnfairCompetition: "不正当竞争纠纷",
		cases.DisputeIPContract:        "知识产权合同纠纷",
		cases.DisputeOwnershipValidity: "知识产权权属纠纷",
	}[t]
}

// applyCourtDetails fills in the cause of action, the referral kind and the party details.
func applyCourtDetails(ag *signing.Agreement, c *cases.Case, in AgreementRequest, zone *time.Location) error {
	ag.Cause = strings.TrimSpace(in.Cause)
	if ag.Cause == "" && ag.Lang != "en" {
		ag.Cause = causeOf(c.DisputeType)
	}
	if c.CourtName != "" {
		switch {
		case c.Source == cases.SourceDelegated:
			ag.Referral = signing.ReferralDelegated
		case c.Source.Entrusted():
			ag.Referral = signing.ReferralEntrusted
		}
	}
	for _, pd := range in.PartyDetails {
		i := -1
		for j, p := range c.Parties {
			if p.ID == pd.PartyID {
				i = j
			}
		}
		if i < 0 || i >= len(ag.Parties) {
			return cases.Invalid(map[string]string{"party_details": "party " + pd.PartyID + " is not a party of this case"})
		}
		sp := &ag.Parties[i]
		if sp.Kind == signing.Person {
			sp.Sex = pd.Sex
			if pd.BirthDate != "" {
				sp.Birth, _ = time.ParseInLocation("2006-01-02", pd.BirthDate, zone)
			}
		} else if pd.Sex != "" || pd.BirthDate != "" {
			return cases.Invalid(map[string]string{"party_details": "sex and date of birth are for individuals, not " + c.Parties[i].Name})
		}
		if pd.AgentAuthority != "" {
			if sp.Agent == nil {
				return cases.Invalid(map[string]string{"party_details": c.Parties[i].Name + " has no agent"})
			}
			sp.Agent.Authority = pd.AgentAuthority
		}
	}
	return nil
}
