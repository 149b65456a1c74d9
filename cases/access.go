package cases

import "slices"

// PrincipalKind says what sort of caller a Principal is.
type PrincipalKind string

// Principal kinds.
const (
	KindAccount PrincipalKind = "account" // a staff member (password login or API token)
	KindParty   PrincipalKind = "party"   // a party that entered through its invitation
	KindAgent   PrincipalKind = "agent"   // a party's agent or lawyer that entered through its invitation
	KindSystem  PrincipalKind = "system"  // Parley itself (background jobs, signing)
)

// Principal is who is acting: a staff account, a party or agent bound to one case, or the system.
type Principal struct {
	Kind      PrincipalKind `json:"kind"`
	ID        string        `json:"id,omitempty"`
	Name      string        `json:"name"`
	Role      Role          `json:"role,omitempty"`
	OrgID     string        `json:"org_id,omitempty"`
	OrgKind   OrgKind       `json:"org_kind,omitempty"`
	OrgRegion string        `json:"org_region,omitempty"`
	CaseID    string        `json:"case_id,omitempty"`  // parties and agents only
	PartyID   string        `json:"party_id,omitempty"` // parties and agents only: the party they act for
	Side      Side          `json:"side,omitempty"`     // parties and agents only
}

// System is the principal for Parley's own actions.
var System = Principal{Kind: KindSystem, Name: "Parley"}

// IsStaff reports whether p is a staff account with one of the given roles (any role when none is given).
func (p Principal) IsStaff(roles ...Role) bool {
	if p.Kind != KindAccount {
		return false
	}
	if len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// IsPartySide reports whether p is a party or agent.
func (p Principal) IsPartySide() bool { return p.Kind == KindParty || p.Kind == KindAgent }

// CanView reports whether p may see case c at all (DOMAIN.md; issue 2 "Authorisation").
func CanView(p Principal, c *Case) bool {
	switch p.Kind {
	case KindSystem:
		return true
	case KindParty, KindAgent:
		return p.CaseID == c.ID
	case KindAccount:
		switch p.Role {
		case RoleAdmin:
			return true
		case RoleClerk, RoleJudge:
			if c.CourtID == "" && c.Pending != nil && c.Pending.CourtRequest != nil {
				// A direct application's parties applied to this court for judicial confirmation.
				return p.OrgID != "" && c.Pending.CourtRequest.CourtID == p.OrgID
			}
			return c.CourtID != "" && c.CourtID == p.OrgID
		case RoleOrgAdmin:
			return c.OrganisationID != "" && c.OrganisationID == p.OrgID
		case RoleMediator:
			for _, m := range c.Mediators {
				if m.AccountID == p.ID {
					return true
				}
			}
			return p.OrgID != "" && c.OrganisationID == p.OrgID
		}
	}
	return false
}

// ViewFor returns the case as p may see it: parties and agents do not see the other side's private details
// (identity numbers, phones, addresses, agents' contacts) nor the other side's pending choices.
func ViewFor(p Principal, c *Case) *Case {
	if !p.IsPartySide() {
		return c
	}
	v := *c
	v.Parties = make([]Party, len(c.Parties))
	for i, party := range c.Parties {
		if party.Side != p.Side {
			party.IDNumber, party.Phone, party.ServiceAddress, party.Address = "", "", "", ""
			agents := make([]Agent, len(party.Agents))
			for j, a := range party.Agents {
				a.Phone, a.ServiceAddress, a.LicenceNo = "", "", ""
				agents[j] = a
			}
			party.Agents = agents
		}
		v.Parties[i] = party
	}
	if c.Pending != nil {
		pend := *c.Pending
		if pend.MediatorChoices != nil {
			own := map[string]string{}
			for pid, m := range pend.MediatorChoices {
				if q := c.Party(pid); q != nil && q.Side == p.Side {
					own[pid] = m
				}
			}
			pend.MediatorChoices = own
		}
		if pend.Disclosure != nil {
			d := *pend.Disclosure
			own := map[string]string{}
			for pid, a := range d.Answers {
				if q := c.Party(pid); q != nil && q.Side == p.Side {
					own[pid] = a
				}
			}
			d.Answers = own
			pend.Disclosure = &d
		}
		v.Pending = &pend
	}
	return &v
}

// EventVisible reports whether p may see an event of a case it can view.
func EventVisible(p Principal, e Event) bool {
	switch e.Visibility {
	case "", VisAll:
		return true
	case VisStaff:
		return !p.IsPartySide()
	case VisApplicant:
		return !p.IsPartySide() || p.Side == Applicant
	case VisRespondent:
		return !p.IsPartySide() || p.Side == Respondent
	}
	return false
}

// Event visibilities.
const (
	VisAll        = "all"
	VisStaff      = "staff"
	VisApplicant  = "side:applicant"
	VisRespondent = "side:respondent"
)

// VisSide is the visibility that limits an event to one side (and staff).
func VisSide(s Side) string { return "side:" + string(s) }

// Confidentiality (OMR Art. 18: what a party concedes in mediation cannot be used against it). These rules are the
// one place that says who reads what was said in a caucus, identity-check notes and contact details in the trail;
// the store, the API and the documents apply them.

// CaseStaff reports whether p works on case c: a clerk or judge of its court, an admin of its organisation, or
// one of its mediators (accepted or assigned). The platform admin and other staff who may merely look at the case
// are not its staff.
func CaseStaff(p Principal, c *Case) bool {
	for _, w := range Relations(p, c) {
		switch w {
		case WhoClerk, WhoJudge, WhoOrgAdmin, WhoMediator, WhoAssignedMediator:
			return true
		}
	}
	return false
}

// partyOfParticipant maps a room participant (a party's or an agent's ID) to the party it is or acts for.
func partyOfParticipant(c *Case, participantID string) string {
	for _, party := range c.Parties {
		if party.ID == participantID {
			return party.ID
		}
		for _, a := range party.Agents {
			if a.ID == participantID {
				return party.ID
			}
		}
	}
	return ""
}

// CaucusParties returns the parties that were in caucus k (a party is in when it or one of its agents was a
// member), in the case's order.
func CaucusParties(c *Case, k Caucus) []string {
	in := map[string]bool{}
	for _, m := range k.Members {
		if pid := partyOfParticipant(c, m); pid != "" {
			in[pid] = true
		}
	}
	var out []string
	for _, party := range c.Parties {
		if in[party.ID] {
			out = append(out, party.ID)
		}
	}
	return out
}

// MayReadCaucus reports whether p may read what was said in caucus k of case c — its chat, its notes, anything
// said in it: only its members, which are the parties that were in it (with their agents) and the mediators who
// were in it (the one who opened it, those who moved in, members who are mediators). Never the judges, clerks,
// the platform admin, the organisation admin, other mediators or the other side.
func MayReadCaucus(p Principal, c *Case, k Caucus) bool {
	switch {
	case p.IsPartySide():
		if p.CaseID != c.ID || p.PartyID == "" || c.Party(p.PartyID) == nil {
			return false
		}
		for _, m := range k.Members {
			if partyOfParticipant(c, m) == p.PartyID {
				return true
			}
		}
	case p.Kind == KindAccount && p.Role == RoleMediator && p.ID != "":
		if !CanView(p, c) {
			return false
		}
		return p.ID == k.OpenedBy || slices.Contains(k.Mediators, p.ID) || slices.Contains(k.Members, p.ID)
	}
	return false
}

// MayReadIdentityNote reports whether p may read the note of an identity check (it may hold an ID number): the
// case's staff and the participant checked (a party, or the party an agent acts for, and that party's agents
// when the party itself was checked) only.
func MayReadIdentityNote(p Principal, c *Case, participantID string) bool {
	if p.Kind == KindSystem || CaseStaff(p, c) {
		return true
	}
	if !p.IsPartySide() || p.CaseID != c.ID {
		return false
	}
	return p.ID == participantID || (p.PartyID != "" && p.PartyID == participantID)
}

// contactKeys are event data keys that carry contact details (even masked).
var contactKeys = []string{"phone", "masked_phone", "to", "address", "service_address", "email", "id_number", "contact", "old_contact", "new_contact"}

// EventFor returns event e as p may read it (ok false when p may not see it at all). For a party or agent, an
// event about the other side (or about no party in particular) never carries contact details, even masked, and
// an identity check's note is dropped unless it is their own.
func EventFor(p Principal, c *Case, e Event) (Event, bool) {
	if !EventVisible(p, e) {
		return e, false
	}
	if !p.IsPartySide() && (p.Kind == KindSystem || CaseStaff(p, c)) {
		return e, true
	}
	data := map[string]any{}
	for k, v := range e.Data {
		data[k] = v
	}
	own := false
	if pid, _ := data["party_id"].(string); pid != "" {
		if q := c.Party(pid); q != nil && p.IsPartySide() && q.Side == p.Side {
			own = true
		}
	}
	if p.IsPartySide() && !own {
		for _, k := range contactKeys {
			delete(data, k)
		}
		if e.Type == "party.entered" {
			// Older entries named the masked phone inside the method.
			data["method"] = "invitation link + one-time code"
		}
	}
	if e.Type == "session.identity_checked" {
		pid, _ := data["participant_id"].(string)
		if !MayReadIdentityNote(p, c, pid) {
			delete(data, "note")
		}
	}
	e.Data = data
	return e, true
}
