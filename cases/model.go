package cases

import (
	"time"
)

// OrgKind is the kind of an organisation.
type OrgKind string

// Organisation kinds.
const (
	OrgCourt     OrgKind = "court"         // a people's court
	OrgIPOffice  OrgKind = "ip_office"     // an IP administration department
	OrgMediation OrgKind = "mediation_org" // a mediation organisation
	OrgPlatform  OrgKind = "platform"      // the platform operator
)

// MediationKind says what sort of mediation organisation an organisation is (DOMAIN.md "Who uses it").
type MediationKind string

// Mediation organisation kinds.
const (
	MedPeople         MediationKind = "people"         // 人民调解组织
	MedAdministrative MediationKind = "administrative" // 行政调解组织
	MedIndustry       MediationKind = "industry"       // 行业性、专业性调解组织
	MedCommercial     MediationKind = "commercial"     // 商事调解组织
	MedLawyer         MediationKind = "lawyer"         // 律师调解工作室
	MedIPCentre       MediationKind = "ip_centre"      // 知识产权保护中心
)

// Organisation is a court, an IP office, a mediation organisation or the platform operator.
type Organisation struct {
	ID            string        `json:"id"`
	Kind          OrgKind       `json:"kind"`
	MediationKind MediationKind `json:"mediation_kind,omitempty"`
	Name          string        `json:"name"`
	Region        string        `json:"region"`
	Address       string        `json:"address"`
	Phone         string        `json:"phone"`
	NumberCode    string        `json:"number_code"` // 1–4 digits naming it in Parley's case numbers, （2026）知调<code>字第000001号
	CreatedAt     time.Time     `json:"created_at"`
}

// Role is a staff account's role.
type Role string

// Staff roles.
const (
	RoleAdmin     Role = "admin"      // platform admin
	RoleIPOfficer Role = "ip_officer" // IP office officer
	RoleClerk     Role = "clerk"      // court clerk
	RoleJudge     Role = "judge"      // judge
	RoleOrgAdmin  Role = "org_admin"  // mediation organisation admin
	RoleMediator  Role = "mediator"   // mediator (特邀调解员)
)

// Roles lists every staff role.
var Roles = []Role{RoleAdmin, RoleIPOfficer, RoleClerk, RoleJudge, RoleOrgAdmin, RoleMediator}

// orgKindFor is the organisation kind a role must belong to; "" means none is required.
var orgKindFor = map[Role]OrgKind{
	RoleAdmin:     "",
	RoleIPOfficer: OrgIPOffice,
	RoleClerk:     OrgCourt,
	RoleJudge:     OrgCourt,
	RoleOrgAdmin:  OrgMediation,
	RoleMediator:  OrgMediation, // an individual mediator may have no organisation: checked separately
}

// Account is a staff member who logs in with a password.
type Account struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id,omitempty"`
	Role        Role      `json:"role"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Phone       string    `json:"phone,omitempty"`
	Email       string    `json:"email,omitempty"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// MediatorProfile is a mediator's public profile (OMR Art. 5).
type MediatorProfile struct {
	AccountID   string   `json:"account_id"`
	Name        string   `json:"name"`
	OrgID       string   `json:"org_id,omitempty"`
	OrgName     string   `json:"org_name,omitempty"`
	Specialties []string `json:"specialties"`
	Background  string   `json:"background"`
	CaseScope   string   `json:"case_scope"`
	Free        bool     `json:"free"`
	FeeNote     string   `json:"fee_note"`
	Region      string   `json:"region"`
}

// Specialties mediators may list.
var Specialties = []string{"patent", "trademark", "copyright", "trade_secret", "unfair_competition", "ip_contract", "plant_variety", "integrated_circuit", "geographical_indication"}

// RosterStatus is where a roster entry stands.
type RosterStatus string

// Roster statuses (notice §8–9; SIM Art. 5–10).
const (
	RosterRecommended RosterStatus = "recommended"
	RosterConfirmed   RosterStatus = "confirmed"
	RosterRemoved     RosterStatus = "removed"
)

// RosterEntry is a mediator or organisation on (or proposed for) a court's specially-invited roster.
type RosterEntry struct {
	ID             string       `json:"id"`
	CourtID        string       `json:"court_id"`
	CourtName      string       `json:"court_name"`
	MediatorID     string       `json:"mediator_id,omitempty"`
	OrganisationID string       `json:"organisation_id,omitempty"`
	Name           string       `json:"name"`
	RecommendedBy  string       `json:"recommended_by,omitempty"`
	Status         RosterStatus `json:"status"`
	IPRoster       bool         `json:"ip_roster"`
	Note           string       `json:"note"`
	RecommendedAt  time.Time    `json:"recommended_at"`
	DecidedAt      *time.Time   `json:"decided_at,omitempty"`
}

// Side is a party's side in a case.
type Side string

// Sides.
const (
	Applicant  Side = "applicant"
	Respondent Side = "respondent"
)

// PartyKind says whether a party is a natural person or a company.
type PartyKind string

// Party kinds.
const (
	PartyPerson  PartyKind = "person"
	PartyCompany PartyKind = "company"
)

// Party is an applicant or respondent of a case.
type Party struct {
	ID             string     `json:"id"`
	CaseID         string     `json:"case_id"`
	Side           Side       `json:"side"`
	Kind           PartyKind  `json:"kind"`
	Name           string     `json:"name"`
	IDNumber       string     `json:"id_number,omitempty"`
	LegalRep       string     `json:"legal_rep,omitempty"`
	Phone          string     `json:"phone,omitempty"`
	ServiceAddress string     `json:"service_address,omitempty"`
	Address        string     `json:"address,omitempty"`
	ConsentOnline  bool       `json:"consent_online"`
	ConsentAt      *time.Time `json:"consent_at,omitempty"`
	Agents         []Agent    `json:"agents"`
}

// Agent is a party's agent or lawyer.
type Agent struct {
	ID             string `json:"id"`
	PartyID        string `json:"party_id"`
	Name           string `json:"name"`
	Lawyer         bool   `json:"lawyer"`
	LawFirm        string `json:"law_firm,omitempty"`
	LicenceNo      string `json:"licence_no,omitempty"`
	Phone          string `json:"phone,omitempty"`
	ServiceAddress string `json:"service_address,omitempty"`
}

// Source is how a case reached mediation; it decides the time limit and what follows success or failure.
type Source string

// Case sources.
const (
	SourceDelegated           Source = "delegated"            // 委派: referred by a court before filing
	SourceEntrustedOrdinary   Source = "entrusted_ordinary"   // 委托: after filing, ordinary procedure
	SourceEntrustedSimplified Source = "entrusted_simplified" // 委托: after filing, simplified procedure
	SourceDirect              Source = "direct"               // a party applied directly to an organisation
)

// Entrusted reports whether the case was referred after filing (委托).
func (s Source) Entrusted() bool {
	return s == SourceEntrustedOrdinary || s == SourceEntrustedSimplified
}

// TimeLimitDays is the mediation time limit in days for the source (OMR Art. 24; SIM Art. 27).
func (s Source) TimeLimitDays() int {
	switch s {
	case SourceEntrustedOrdinary:
		return 15
	case SourceEntrustedSimplified:
		return 7
	default:
		return 30
	}
}

// DisputeType is the kind of IP dispute.
type DisputeType string

// Dispute types.
const (
	DisputePatent            DisputeType = "patent"
	DisputeTrademark         DisputeType = "trademark"
	DisputeCopyright         DisputeType = "copyright"
	DisputeTradeSecret       DisputeType = "trade_secret"
	DisputeUnfairCompetition DisputeType = "unfair_competition"
	DisputeIPContract        DisputeType = "ip_contract"
	DisputeOwnershipValidity DisputeType = "ownership_validity" // 权属/效力纠纷: not accepted for judicial confirmation
	DisputeOther             DisputeType = "other"
)

// DisputeTypes lists every dispute type.
var DisputeTypes = []DisputeType{DisputePatent, DisputeTrademark, DisputeCopyright, DisputeTradeSecret, DisputeUnfairCompetition, DisputeIPContract, DisputeOwnershipValidity, DisputeOther}

// MediatorAssignment is a mediator assigned to a case.
type MediatorAssignment struct {
	AccountID     string     `json:"account_id"`
	Name          string     `json:"name"`
	Presiding     bool       `json:"presiding"`
	Status        string     `json:"status"` // assigned, accepted, declined, replaced, withdrawn
	AssignedAt    time.Time  `json:"assigned_at"`
	AnsweredAt    *time.Time `json:"answered_at,omitempty"`
	DeclineReason string     `json:"decline_reason,omitempty"`
}

// Mediator assignment statuses.
const (
	AssignAssigned  = "assigned"
	AssignAccepted  = "accepted"
	AssignDeclined  = "declined"
	AssignReplaced  = "replaced"
	AssignWithdrawn = "withdrawn"
)

// Case is a mediation case.
type Case struct {
	ID                string               `json:"id"`
	Number            string               `json:"number"`
	CourtCaseNumber   string               `json:"court_case_number,omitempty"`
	Title             string               `json:"title"`
	DisputeType       DisputeType          `json:"dispute_type"`
	Summary           string               `json:"summary"`
	ClaimAmountFen    int64                `json:"claim_amount_fen"`
	Source            Source               `json:"source"`
	CourtID           string               `json:"court_id,omitempty"`
	CourtName         string               `json:"court_name,omitempty"`
	OrganisationID    string               `json:"organisation_id,omitempty"`
	OrganisationName  string               `json:"organisation_name,omitempty"`
	State             State                `json:"state"`
	EndGround         EndGround            `json:"end_ground,omitempty"`
	Version           int                  `json:"version"`
	ChooseDueAt       *time.Time           `json:"choose_due_at,omitempty"`
	ReferredAt        *time.Time           `json:"referred_at,omitempty"`
	AnswerDueAt       *time.Time           `json:"answer_due_at,omitempty"`
	AcceptedAt        *time.Time           `json:"accepted_at,omitempty"`
	TimeLimitDays     int                  `json:"time_limit_days"`
	ExtendedDays      int                  `json:"extended_days"`
	DueAt             *time.Time           `json:"due_at,omitempty"`
	PausedAt          *time.Time           `json:"paused_at,omitempty"`
	PausedSeconds     int64                `json:"paused_seconds"`
	EndedAt           *time.Time           `json:"ended_at,omitempty"`
	EffectiveAt       *time.Time           `json:"effective_at,omitempty"`
	ConfirmationDueAt *time.Time           `json:"confirmation_due_at,omitempty"`
	DecidedAt         *time.Time           `json:"decided_at,omitempty"`
	CreatedBy         string               `json:"created_by,omitempty"`
	CreatedAt         time.Time            `json:"created_at"`
	UpdatedAt         time.Time            `json:"updated_at"`
	Mediators         []MediatorAssignment `json:"mediators"`
	Parties           []Party              `json:"parties"`
	Pending           *Pending             `json:"pending,omitempty"`
}

// Pending collects what a case is waiting for from its parties: joint mediator choices, a disclosure's answers,
// an extension's consents, judicial-confirmation applications.
type Pending struct {
	MediatorChoices  map[string]string    `json:"mediator_choices,omitempty"` // party ID → chosen mediator
	Disclosure       *Disclosure          `json:"disclosure,omitempty"`
	Extension        *Extension           `json:"extension,omitempty"`
	ConfirmationApps map[string]time.Time `json:"confirmation_applications,omitempty"` // party ID → applied at
	// ChoiceWaivers: party ID → when it waived the 2-working-day joint choice of a mediator (OMR Art. 10), so that
	// the court may refer at once.
	ChoiceWaivers map[string]time.Time `json:"choice_waivers,omitempty"`
	// CourtChoices: for a direct application without a court, party ID → the court it applies to for judicial
	// confirmation; CourtRequest is the joint application awaiting that court's acceptance.
	CourtChoices map[string]string `json:"court_choices,omitempty"`
	CourtRequest *CourtRequest     `json:"court_request,omitempty"`
}

// CourtRequest is a joint application for judicial confirmation of a direct application's agreement, sent to the
// court the parties chose; the court accepts (the case goes to it for review) or refuses it.
type CourtRequest struct {
	CourtID   string    `json:"court_id"`
	CourtName string    `json:"court_name"`
	At        time.Time `json:"at"`
}

// Disclosure is a mediator's conflict disclosure and the parties' answers (OMR Art. 13–14).
type Disclosure struct {
	MediatorID string            `json:"mediator_id"`
	Text       string            `json:"text"`
	At         time.Time         `json:"at"`
	Answers    map[string]string `json:"answers"` // party ID → "continue" | "replace"
}

// Extension is a requested extension of the time limit and the parties' consents (OMR Art. 24).
type Extension struct {
	Days        int                  `json:"days"`
	Reason      string               `json:"reason"`
	RequestedBy string               `json:"requested_by"`
	At          time.Time            `json:"at"`
	Consents    map[string]time.Time `json:"consents"` // party ID → consented at
}

// PresidingMediator returns the accepted or assigned presiding mediator, if any.
func (c *Case) PresidingMediator() *MediatorAssignment {
	for i := range c.Mediators {
		m := &c.Mediators[i]
		if m.Presiding && (m.Status == AssignAssigned || m.Status == AssignAccepted) {
			return m
		}
	}
	return nil
}

// ActiveMediator reports whether accountID is a current (assigned or accepted) mediator of the case.
func (c *Case) ActiveMediator(accountID string) bool {
	for _, m := range c.Mediators {
		if m.AccountID == accountID && (m.Status == AssignAssigned || m.Status == AssignAccepted) {
			return true
		}
	}
	return false
}

// Party returns the party with the given ID, or nil.
func (c *Case) Party(id string) *Party {
	for i := range c.Parties {
		if c.Parties[i].ID == id {
			return &c.Parties[i]
		}
	}
	return nil
}

// Event is one entry of a case's append-only, hash-chained audit trail.
type Event struct {
	CaseID     string         `json:"case_id"`
	Seq        int64          `json:"seq"`
	At         time.Time      `json:"at"`
	ActorKind  string         `json:"actor_kind"` // account, party, agent, system
	ActorID    string         `json:"actor_id,omitempty"`
	ActorName  string         `json:"actor_name"`
	Type       string         `json:"type"`
	Visibility string         `json:"visibility"` // all, staff, side:applicant, side:respondent
	Data       map[string]any `json:"data"`
	PrevHash   []byte         `json:"prev_hash"`
	Hash       []byte         `json:"hash"`
}
