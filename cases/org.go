package cases

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// NewOrganisation is the input for creating an organisation.
type NewOrganisation struct {
	Kind          OrgKind       `json:"kind"`
	MediationKind MediationKind `json:"mediation_kind,omitempty"`
	Name          string        `json:"name"`
	Region        string        `json:"region"`
	Address       string        `json:"address,omitempty"`
	Phone         string        `json:"phone,omitempty"`
}

// Valid reports problems with the input, by field.
func (n NewOrganisation) Valid() map[string]string {
	f := map[string]string{}
	switch n.Kind {
	case OrgCourt, OrgIPOffice, OrgPlatform:
		if n.MediationKind != "" {
			f["mediation_kind"] = "only a mediation organisation has a mediation kind"
		}
	case OrgMediation:
		if !slices.Contains([]MediationKind{MedPeople, MedAdministrative, MedIndustry, MedCommercial, MedLawyer, MedIPCentre}, n.MediationKind) {
			f["mediation_kind"] = "must be one of people, administrative, industry, commercial, lawyer, ip_centre"
		}
	default:
		f["kind"] = "must be one of court, ip_office, mediation_org, platform"
	}
	requireText(f, "name", n.Name, true, 200)
	requireText(f, "region", n.Region, n.Kind == OrgIPOffice, 100)
	requireText(f, "address", n.Address, false, 500)
	checkPhone(f, "phone", n.Phone, false)
	return f
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 -]{5,19}$`)
var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func checkPhone(f map[string]string, field, v string, required bool) {
	switch {
	case v == "" && required:
		f[field] = "is required"
	case v != "" && !phoneRE.MatchString(v):
		f[field] = "must be a phone number (digits, optional +, spaces or dashes)"
	}
}

func checkEmail(f map[string]string, field, v string, required bool) {
	switch {
	case v == "" && required:
		f[field] = "is required"
	case v != "" && (!emailRE.MatchString(v) || len(v) > 254):
		f[field] = "must be an e-mail address"
	}
}

// CreateOrganisation adds an organisation.
func (s *Store) CreateOrganisation(ctx context.Context, n NewOrganisation) (*Organisation, error) {
	if err := Invalid(n.Valid()); err != nil {
		return nil, err
	}
	o := &Organisation{Kind: n.Kind, MediationKind: n.MediationKind, Name: strings.TrimSpace(n.Name), Region: strings.TrimSpace(n.Region), Address: n.Address, Phone: n.Phone}
	err := s.pool.QueryRow(ctx, `INSERT INTO organisations (kind, mediation_kind, name, region, address, phone)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, number_code, created_at`,
		o.Kind, o.MediationKind, o.Name, o.Region, o.Address, o.Phone).Scan(&o.ID, &o.NumberCode, &o.CreatedAt)
	if err != nil {
		return nil, dbErr("create organisation", err)
	}
	return o, nil
}

const orgCols = `id, kind, mediation_kind, name, region, address, phone, number_code, created_at`

func scanOrg(row pgx.Row) (*Organisation, error) {
	var o Organisation
	err := row.Scan(&o.ID, &o.Kind, &o.MediationKind, &o.Name, &o.Region, &o.Address, &o.Phone, &o.NumberCode, &o.CreatedAt)
	return &o, err
}

// Organisation returns one organisation.
func (s *Store) Organisation(ctx context.Context, id string) (*Organisation, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "organisation not found")
	}
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgCols+` FROM organisations WHERE id = $1`, id))
	if err != nil {
		return nil, dbErr("organisation", err)
	}
	return o, nil
}

// Organisations lists organisations, optionally of one kind, by name.
func (s *Store) Organisations(ctx context.Context, kind OrgKind) ([]Organisation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+orgCols+` FROM organisations WHERE $1 = '' OR kind = $1 ORDER BY kind, name`, string(kind))
	if err != nil {
		return nil, dbErr("list organisations", err)
	}
	defer rows.Close()
	out := []Organisation{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, dbErr("list organisations", err)
		}
		out = append(out, *o)
	}
	return out, dbErr("list organisations", rows.Err())
}

// NewAccount is the input for creating a staff account.
type NewAccount struct {
	OrgID       string `json:"org_id,omitempty"`
	Role        Role   `json:"role"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
	Password    string `json:"password"`
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,39}$`)

// Valid reports problems with the input, by field.
func (n NewAccount) Valid() map[string]string {
	f := map[string]string{}
	if !slices.Contains(Roles, n.Role) {
		f["role"] = "must be one of admin, ip_officer, clerk, judge, org_admin, mediator"
	}
	if !usernameRE.MatchString(n.Username) {
		f["username"] = "must be 3–40 lower-case letters, digits, dots, dashes or underscores"
	}
	requireText(f, "display_name", n.DisplayName, true, 100)
	checkPhone(f, "phone", n.Phone, false)
	checkEmail(f, "email", n.Email, false)
	if msg := PasswordProblem(n.Username, n.Password, ""); msg != "" {
		f["password"] = msg
	}
	if n.OrgID != "" && !isUUID(n.OrgID) {
		f["org_id"] = "is not an organisation ID"
	}
	return f
}

// CreateAccount adds a staff account; the role must fit the organisation's kind.
func (s *Store) CreateAccount(ctx context.Context, n NewAccount) (*Account, error) {
	f := n.Valid()
	if want := orgKindFor[n.Role]; f["org_id"] == "" && f["role"] == "" {
		switch {
		case want == "" && n.OrgID != "" && n.Role == RoleAdmin:
			// A platform admin may belong to the platform organisation.
		case want != "" && n.OrgID == "" && n.Role != RoleMediator:
			f["org_id"] = fmt.Sprintf("a %s belongs to a %s", n.Role, want)
		case n.OrgID != "":
			o, err := s.Organisation(ctx, n.OrgID)
			if err != nil {
				f["org_id"] = "no such organisation"
			} else if want != "" && o.Kind != want {
				f["org_id"] = fmt.Sprintf("a %s belongs to a %s, not a %s", n.Role, want, o.Kind)
			} else if n.Role == RoleAdmin && o.Kind != OrgPlatform {
				f["org_id"] = "a platform admin belongs to the platform operator or to no organisation"
			}
		}
	}
	if err := Invalid(f); err != nil {
		return nil, err
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	a := &Account{OrgID: n.OrgID, Role: n.Role, Username: n.Username, DisplayName: strings.TrimSpace(n.DisplayName), Phone: n.Phone, Email: n.Email}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO accounts (org_id, role, username, display_name, phone, email, password_hash)
			VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
			a.OrgID, a.Role, a.Username, a.DisplayName, a.Phone, a.Email, hash).Scan(&a.ID, &a.CreatedAt); err != nil {
			return err
		}
		if a.Role == RoleMediator {
			_, err := tx.Exec(ctx, `INSERT INTO mediator_profiles (account_id) VALUES ($1)`, a.ID)
			return err
		}
		return nil
	})
	if err != nil {
		if ErrorCode(dbErr("", err)) == ECONFLICT {
			return nil, &Error{Code: ECONFLICT, Message: "the username is taken", Fields: map[string]string{"username": "is taken"}}
		}
		return nil, dbErr("create account", err)
	}
	return a, nil
}

const accountCols = `id, COALESCE(org_id::text, ''), role, username, display_name, phone, email, disabled, created_at`

func scanAccount(row pgx.Row) (*Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.OrgID, &a.Role, &a.Username, &a.DisplayName, &a.Phone, &a.Email, &a.Disabled, &a.CreatedAt)
	return &a, err
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id string) (*Account, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "account not found")
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if err != nil {
		return nil, dbErr("account", err)
	}
	return a, nil
}

// AccountByUsername returns one account by username.
func (s *Store) AccountByUsername(ctx context.Context, username string) (*Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE username = $1`, username))
	if err != nil {
		return nil, dbErr("account", err)
	}
	return a, nil
}

// Accounts lists accounts, optionally of one organisation and/or role.
func (s *Store) Accounts(ctx context.Context, orgID string, role Role) ([]Account, error) {
	if orgID != "" && !isUUID(orgID) {
		return []Account{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE ($1 = '' OR org_id::text = $1) AND ($2 = '' OR role = $2) ORDER BY role, display_name`, orgID, string(role))
	if err != nil {
		return nil, dbErr("list accounts", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, dbErr("list accounts", err)
		}
		out = append(out, *a)
	}
	return out, dbErr("list accounts", rows.Err())
}

// SetAccountDisabled disables or re-enables an account; disabling ends its sessions and revokes its tokens.
func (s *Store) SetAccountDisabled(ctx context.Context, id string, disabled bool) error {
	if !isUUID(id) {
		return Errorf(ENOTFOUND, "account not found")
	}
	return dbErr("disable account", s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET disabled = $2 WHERE id = $1`, id, disabled)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if disabled {
			if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE kind = 'account' AND subject_id = $1`, id); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL`, id)
			return err
		}
		return nil
	}))
}

// AccountPrincipal returns the principal of a staff account, with its organisation's kind and region.
func (s *Store) AccountPrincipal(ctx context.Context, id string) (Principal, error) {
	if !isUUID(id) {
		return Principal{}, Errorf(EUNAUTHORIZED, "unknown account")
	}
	var p Principal
	var disabled bool
	err := s.pool.QueryRow(ctx, `SELECT a.id, a.display_name, a.role, COALESCE(a.org_id::text, ''), COALESCE(o.kind, ''), COALESCE(o.region, ''), a.disabled
		FROM accounts a LEFT JOIN organisations o ON o.id = a.org_id WHERE a.id = $1`, id).
		Scan(&p.ID, &p.Name, &p.Role, &p.OrgID, &p.OrgKind, &p.OrgRegion, &disabled)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Principal{}, Errorf(EUNAUTHORIZED, "unknown account")
		}
		return Principal{}, dbErr("principal", err)
	}
	if disabled {
		return Principal{}, Errorf(EUNAUTHORIZED, "the account is disabled")
	}
	p.Kind = KindAccount
	return p, nil
}

// ProfileUpdate is the input for editing a mediator's public profile.
type ProfileUpdate struct {
	Specialties []string `json:"specialties"`
	Background  string   `json:"background"`
	CaseScope   string   `json:"case_scope"`
	Free        bool     `json:"free"`
	FeeNote     string   `json:"fee_note"`
}

// Valid reports problems with the input, by field.
func (u ProfileUpdate) Valid() map[string]string {
	f := map[string]string{}
	if len(u.Specialties) > len(Specialties) {
		f["specialties"] = "too many specialties"
	}
	for i, sp := range u.Specialties {
		if !slices.Contains(Specialties, sp) {
			f[fmt.Sprintf("specialties[%d]", i)] = "must be one of " + strings.Join(Specialties, ", ")
		}
	}
	requireText(f, "background", u.Background, false, 4000)
	requireText(f, "case_scope", u.CaseScope, false, 2000)
	requireText(f, "fee_note", u.FeeNote, !u.Free, 500)
	return f
}

// UpdateProfile replaces a mediator's public profile.
func (s *Store) UpdateProfile(ctx context.Context, accountID string, u ProfileUpdate) (*MediatorProfile, error) {
	if err := Invalid(u.Valid()); err != nil {
		return nil, err
	}
	if !isUUID(accountID) {
		return nil, Errorf(ENOTFOUND, "mediator not found")
	}
	specs := u.Specialties
	if specs == nil {
		specs = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE mediator_profiles SET specialties = $2, background = $3, case_scope = $4, free = $5, fee_note = $6
		WHERE account_id = $1`, accountID, specs, u.Background, u.CaseScope, u.Free, u.FeeNote)
	if err != nil {
		return nil, dbErr("update profile", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, Errorf(ENOTFOUND, "mediator not found")
	}
	return s.Mediator(ctx, accountID)
}

const mediatorSelect = `SELECT a.id, a.display_name, COALESCE(a.org_id::text, ''), COALESCE(o.name, ''), p.specialties, p.background, p.case_scope, p.free, p.fee_note, COALESCE(o.region, '')
	FROM accounts a JOIN mediator_profiles p ON p.account_id = a.id LEFT JOIN organisations o ON o.id = a.org_id`

func scanMediator(row pgx.Row) (*MediatorProfile, error) {
	var m MediatorProfile
	err := row.Scan(&m.AccountID, &m.Name, &m.OrgID, &m.OrgName, &m.Specialties, &m.Background, &m.CaseScope, &m.Free, &m.FeeNote, &m.Region)
	return &m, err
}

// Mediator returns a mediator's public profile.
func (s *Store) Mediator(ctx context.Context, id string) (*MediatorProfile, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "mediator not found")
	}
	m, err := scanMediator(s.pool.QueryRow(ctx, mediatorSelect+` WHERE a.id = $1 AND NOT a.disabled`, id))
	if err != nil {
		return nil, dbErr("mediator", err)
	}
	return m, nil
}

// MediatorFilter narrows a mediator search.
type MediatorFilter struct {
	CourtID   string // on this court's confirmed roster, directly or through their organisation
	OrgID     string
	Specialty string
	Query     string // name or background contains
}

// Mediators searches mediators' public profiles.
func (s *Store) Mediators(ctx context.Context, f MediatorFilter) ([]MediatorProfile, error) {
	if (f.CourtID != "" && !isUUID(f.CourtID)) || (f.OrgID != "" && !isUUID(f.OrgID)) {
		return []MediatorProfile{}, nil
	}
	rows, err := s.pool.Query(ctx, mediatorSelect+` WHERE NOT a.disabled
		AND ($1 = '' OR EXISTS (SELECT 1 FROM roster_entries r WHERE r.court_id::text = $1 AND r.status = 'confirmed'
			AND (r.mediator_id = a.id OR r.organisation_id = a.org_id)))
		AND ($2 = '' OR a.org_id::text = $2)
		AND ($3 = '' OR $3 = ANY(p.specialties))
		AND ($4 = '' OR a.display_name ILIKE '%' || $4 || '%' OR p.background ILIKE '%' || $4 || '%')
		ORDER BY a.display_name LIMIT 500`, f.CourtID, f.OrgID, f.Specialty, f.Query)
	if err != nil {
		return nil, dbErr("search mediators", err)
	}
	defer rows.Close()
	out := []MediatorProfile{}
	for rows.Next() {
		m, err := scanMediator(rows)
		if err != nil {
			return nil, dbErr("search mediators", err)
		}
		out = append(out, *m)
	}
	return out, dbErr("search mediators", rows.Err())
}

// Recommendation is an IP office's recommendation of a mediator or organisation to a court's roster.
type Recommendation struct {
	CourtID        string `json:"court_id"`
	MediatorID     string `json:"mediator_id,omitempty"`
	OrganisationID string `json:"organisation_id,omitempty"`
	IPRoster       bool   `json:"ip_roster"`
	Note           string `json:"note,omitempty"`
}

// Recommend adds a recommendation by the IP office officer p to a court's roster (notice §8–9). The mediator or
// organisation must be in the officer's region.
func (s *Store) Recommend(ctx context.Context, p Principal, r Recommendation) (*RosterEntry, error) {
	f := map[string]string{}
	if !isUUID(r.CourtID) {
		f["court_id"] = "is required"
	}
	if (r.MediatorID == "") == (r.OrganisationID == "") {
		f["mediator_id"] = "name exactly one of mediator_id and organisation_id"
	} else if (r.MediatorID != "" && !isUUID(r.MediatorID)) || (r.OrganisationID != "" && !isUUID(r.OrganisationID)) {
		f["mediator_id"] = "is not an ID"
	}
	requireText(f, "note", r.Note, false, 2000)
	if err := Invalid(f); err != nil {
		return nil, err
	}
	court, err := s.Organisation(ctx, r.CourtID)
	if err != nil || court.Kind != OrgCourt {
		return nil, Invalid(map[string]string{"court_id": "is not a court"})
	}
	var region string
	if r.MediatorID != "" {
		m, err := s.Mediator(ctx, r.MediatorID)
		if err != nil {
			return nil, Invalid(map[string]string{"mediator_id": "is not a mediator"})
		}
		region = m.Region
	} else {
		o, err := s.Organisation(ctx, r.OrganisationID)
		if err != nil || o.Kind != OrgMediation {
			return nil, Invalid(map[string]string{"organisation_id": "is not a mediation organisation"})
		}
		region = o.Region
	}
	if p.Role == RoleIPOfficer && region != p.OrgRegion {
		return nil, Errorf(EFORBIDDEN, "an IP office recommends mediators and organisations of its own region (%s)", p.OrgRegion)
	}
	var id string
	err = s.pool.QueryRow(ctx, `INSERT INTO roster_entries (court_id, mediator_id, organisation_id, recommended_by, status, ip_roster, note, recommended_at)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, 'recommended', $5, $6, $7) RETURNING id`,
		r.CourtID, r.MediatorID, r.OrganisationID, p.OrgID, r.IPRoster, r.Note, s.now()).Scan(&id)
	if err != nil {
		if ErrorCode(dbErr("", err)) == ECONFLICT {
			return nil, Errorf(ECONFLICT, "already on or proposed for this court's roster")
		}
		return nil, dbErr("recommend", err)
	}
	return s.RosterEntry(ctx, id)
}

// DecideRoster confirms or removes a roster entry; only a clerk of the entry's court may (SIM Art. 5–10).
func (s *Store) DecideRoster(ctx context.Context, p Principal, id string, status RosterStatus, note string) (*RosterEntry, error) {
	e, err := s.RosterEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.IsStaff(RoleClerk) || p.OrgID != e.CourtID {
		return nil, Errorf(EFORBIDDEN, "only the court's clerks decide its roster")
	}
	switch {
	case status == RosterConfirmed && e.Status != RosterRecommended:
		return nil, Errorf(ECONFLICT, "only a recommended entry can be confirmed (this one is %s)", e.Status)
	case status == RosterRemoved && e.Status == RosterRemoved:
		return nil, Errorf(ECONFLICT, "the entry is already removed")
	case status != RosterConfirmed && status != RosterRemoved:
		return nil, Invalid(map[string]string{"status": "must be confirmed or removed"})
	}
	f := map[string]string{}
	requireText(f, "note", note, false, 2000)
	if err := Invalid(f); err != nil {
		return nil, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE roster_entries SET status = $2, decided_at = $3, note = CASE WHEN $4 = '' THEN note ELSE $4 END
		WHERE id = $1 AND status = $5`, id, status, s.now(), note, e.Status)
	if err != nil {
		return nil, dbErr("decide roster", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, Errorf(ECONFLICT, "the entry changed meanwhile")
	}
	return s.RosterEntry(ctx, id)
}

const rosterSelect = `SELECT r.id, r.court_id, c.name, COALESCE(r.mediator_id::text, ''), COALESCE(r.organisation_id::text, ''),
	COALESCE(a.display_name, o.name, ''), COALESCE(rb.name, ''), r.status, r.ip_roster, r.note, r.recommended_at, r.decided_at
	FROM roster_entries r JOIN organisations c ON c.id = r.court_id
	LEFT JOIN accounts a ON a.id = r.mediator_id LEFT JOIN organisations o ON o.id = r.organisation_id
	LEFT JOIN organisations rb ON rb.id = r.recommended_by`

func scanRoster(row pgx.Row) (*RosterEntry, error) {
	var e RosterEntry
	err := row.Scan(&e.ID, &e.CourtID, &e.CourtName, &e.MediatorID, &e.OrganisationID, &e.Name, &e.RecommendedBy, &e.Status, &e.IPRoster, &e.Note, &e.RecommendedAt, &e.DecidedAt)
	return &e, err
}

// RosterEntry returns one roster entry.
func (s *Store) RosterEntry(ctx context.Context, id string) (*RosterEntry, error) {
	if !isUUID(id) {
		return nil, Errorf(ENOTFOUND, "roster entry not found")
	}
	e, err := scanRoster(s.pool.QueryRow(ctx, rosterSelect+` WHERE r.id = $1`, id))
	if err != nil {
		return nil, dbErr("roster entry", err)
	}
	return e, nil
}

// RosterFilter narrows a roster listing.
type RosterFilter struct {
	CourtID string
	Status  RosterStatus
	Region  string // entries whose mediator or organisation is in this region
}

// Roster lists roster entries.
func (s *Store) Roster(ctx context.Context, f RosterFilter) ([]RosterEntry, error) {
	if f.CourtID != "" && !isUUID(f.CourtID) {
		return []RosterEntry{}, nil
	}
	rows, err := s.pool.Query(ctx, rosterSelect+`
		LEFT JOIN organisations mo ON mo.id = a.org_id
		WHERE ($1 = '' OR r.court_id::text = $1) AND ($2 = '' OR r.status = $2)
		AND ($3 = '' OR COALESCE(o.region, mo.region, '') = $3)
		ORDER BY c.name, r.recommended_at`, f.CourtID, string(f.Status), f.Region)
	if err != nil {
		return nil, dbErr("roster", err)
	}
	defer rows.Close()
	out := []RosterEntry{}
	for rows.Next() {
		e, err := scanRoster(rows)
		if err != nil {
			return nil, dbErr("roster", err)
		}
		out = append(out, *e)
	}
	return out, dbErr("roster", rows.Err())
}
