package cases

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
