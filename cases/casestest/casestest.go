// Package casestest gives tests a real PostgreSQL schema of their own, migrated, and a populated world of
// organisations and accounts to act in.
package casestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-mediation/parley/cases"
)

// DefaultURL is the database tests use unless PARLEY_TEST_DATABASE_URL says otherwise.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func init() {
	// Tests create many accounts; the full-strength argon2 parameters only slow them down.
	cases.PasswordParams.MemoryKiB, cases.PasswordParams.Time = 1024, 1
}

// Schema creates an empty schema of its own for t, dropped when t ends, and returns a connection string whose
// search_path points at it.
func Schema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PARLEY_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("casestest: connect to %s: %v (is PostgreSQL running? make test starts it)", redact(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("casestest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("casestest: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Logf("casestest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("casestest: parse %s: %v", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Pool returns a pool on a fresh migrated schema.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := Schema(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("casestest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := cases.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("casestest: migrate: %v", err)
	}
	return pool
}

// Clock is a settable clock for stores under test.
type Clock struct{ T time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.T = c.T.Add(d) }

// Store returns a store on a fresh schema with a settable clock starting at start (Asia/Shanghai calendar).
func Store(t testing.TB, start time.Time) (*cases.Store, *Clock) {
	t.Helper()
	clock := &Clock{T: start}
	s := cases.NewStore(Pool(t), cases.DefaultCalendar(), nil)
	s.Now = clock.Now
	return s, clock
}

// World is a populated set of organisations and accounts, each with its principal.
type World struct {
	Court, OtherCourt, IPOffice, Org, OtherOrg                  *cases.Organisation
	Admin, Officer, Clerk, Judge, OtherClerk, OrgAdmin          cases.Principal
	Mediator, Mediator2, OrgMediator, OtherMediator, OtherJudge cases.Principal
	Password                                                    string
}

// Populate creates two courts, an IP office, two mediation organisations and accounts of every role; the
// mediation organisation and Mediator are confirmed on Court's roster.
func Populate(t testing.TB, s *cases.Store) *World {
	t.Helper()
	ctx := context.Background()
	w := &World{Password: "correct horse battery"}
	mustOrg := func(n cases.NewOrganisation) *cases.Organisation {
		o, err := s.CreateOrganisation(ctx, n)
		if err != nil {
			t.Fatalf("casestest: create %s: %v", n.Name, err)
		}
		return o
	}
	w.Court = mustOrg(cases.NewOrganisation{Kind: cases.OrgCourt, Name: "北京知识产权法院", Region: "北京市"})
	w.OtherCourt = mustOrg(cases.NewOrganisation{Kind: cases.OrgCourt, Name: "上海知识产权法院", Region: "上海市"})
	w.IPOffice = mustOrg(cases.NewOrganisation{Kind: cases.OrgIPOffice, Name: "北京市知识产权局", Region: "北京市"})
	w.Org = mustOrg(cases.NewOrganisation{Kind: cases.OrgMediation, MediationKind: cases.MedIPCentre, Name: "中国（北京）知识产权保护中心", Region: "北京市"})
	w.OtherOrg = mustOrg(cases.NewOrganisation{Kind: cases.OrgMediation, MediationKind: cases.MedCommercial, Name: "上海商事调解中心", Region: "上海市"})
	n := 0
	mustAccount := func(org *cases.Organisation, role cases.Role, name string) cases.Principal {
		n++
		orgID := ""
		if org != nil {
			orgID = org.ID
		}
		a, err := s.CreateAccount(ctx, cases.NewAccount{OrgID: orgID, Role: role, Username: fmt.Sprintf("%s%d", role, n), DisplayName: name, Password: w.Password, Phone: "13800000000"})
		if err != nil {
			t.Fatalf("casestest: create account %s: %v", name, err)
		}
		p, err := s.AccountPrincipal(ctx, a.ID)
		if err != nil {
			t.Fatalf("casestest: principal %s: %v", name, err)
		}
		return p
	}
	w.Admin = mustAccount(nil, cases.RoleAdmin, "平台管理员")
	w.Officer = mustAccount(w.IPOffice, cases.RoleIPOfficer, "王处长")
	w.Clerk = mustAccount(w.Court, cases.RoleClerk, "李书记员")
	w.Judge = mustAccount(w.Court, cases.RoleJudge, "赵法官")
	w.OtherClerk = mustAccount(w.OtherCourt, cases.RoleClerk, "孙书记员")
	w.OtherJudge = mustAccount(w.OtherCourt, cases.RoleJudge, "钱法官")
	w.OrgAdmin = mustAccount(w.Org, cases.RoleOrgAdmin, "周主任")
	w.Mediator = mustAccount(w.Org, cases.RoleMediator, "陈调解员")
	w.Mediator2 = mustAccount(w.Org, cases.RoleMediator, "刘调解员")
	w.OrgMediator = mustAccount(w.Org, cases.RoleMediator, "吴调解员")
	w.OtherMediator = mustAccount(w.OtherOrg, cases.RoleMediator, "郑调解员")
	for _, r := range []cases.Recommendation{{CourtID: w.Court.ID, OrganisationID: w.Org.ID, IPRoster: true}} {
		e, err := s.Recommend(ctx, w.Officer, r)
		if err != nil {
			t.Fatalf("casestest: recommend: %v", err)
		}
		if _, err := s.DecideRoster(ctx, w.Clerk, e.ID, cases.RosterConfirmed, ""); err != nil {
			t.Fatalf("casestest: confirm roster: %v", err)
		}
	}
	return w
}

// NewCase returns a valid referral of source src with one applicant and one respondent (with an agent).
func NewCase(src cases.Source) cases.NewCase {
	n := cases.NewCase{
		Title: "某科技公司诉某电子公司侵害发明专利权纠纷", DisputeType: cases.DisputePatent, Summary: "申请人主张被申请人生产销售的产品落入其专利权保护范围。",
		ClaimAmountFen: 50000000, Source: src,
		Parties: []cases.NewParty{
			{Side: cases.Applicant, Kind: cases.PartyCompany, Name: "北京某某科技有限公司", LegalRep: "张三", Phone: "13900000001", ServiceAddress: "legal@example.cn"},
			{Side: cases.Respondent, Kind: cases.PartyPerson, Name: "李四", IDNumber: "110101199001011234", Phone: "13900000002",
				Agents: []cases.NewAgent{{Name: "王律师", Lawyer: true, LawFirm: "某某律师事务所", LicenceNo: "11101201910000000", Phone: "13900000003"}}},
		},
	}
	if src.Entrusted() {
		n.CourtCaseNumber = "(2026)京73民初100号"
	}
	return n
}

// PartyPrincipal returns the principal of a case's party at index i.
func PartyPrincipal(c *cases.Case, i int) cases.Principal {
	p := c.Parties[i]
	return cases.Principal{Kind: cases.KindParty, ID: p.ID, Name: p.Name, CaseID: c.ID, PartyID: p.ID, Side: p.Side}
}

// WaiveChoice has every party of a court case waive the 2-working-day joint choice of a mediator (each its own
// act), so that the court may refer at once (OMR Art. 10).
func WaiveChoice(t testing.TB, s *cases.Store, c *cases.Case) *cases.Case {
	t.Helper()
	for i := range c.Parties {
		res, err := s.Act(context.Background(), PartyPrincipal(c, i), c.ID, cases.ActWaiveChoice, cases.Params{})
		if err != nil {
			t.Fatalf("casestest: waive choice: %v", err)
		}
		c = res.Case
	}
	return c
}

// InMediation registers a 委派 referral, refers it to w.Mediator through w.Org, has the mediator accept it, and
// records each party's consent to online mediation as given in writing: a case ready for sessions.
func InMediation(t testing.TB, s *cases.Store, w *World) *cases.Case {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateCase(ctx, w.Clerk, NewCase(cases.SourceDelegated))
	if err != nil {
		t.Fatalf("casestest: create case: %v", err)
	}
	c = WaiveChoice(t, s, c)
	yes := true
	steps := []struct {
		p  cases.Principal
		a  cases.Action
		in cases.Params
	}{
		{w.Clerk, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}}},
		{w.Mediator, cases.ActAccept, cases.Params{}},
	}
	for _, p := range c.Parties {
		steps = append(steps, struct {
			p  cases.Principal
			a  cases.Action
			in cases.Params
		}{w.Clerk, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: p.ID, Note: "书面同意"}})
	}
	for _, st := range steps {
		res, err := s.Act(ctx, st.p, c.ID, st.a, st.in)
		if err != nil {
			t.Fatalf("casestest: %s: %v", st.a, err)
		}
		c = res.Case
	}
	return c
}

// SignedAgreement stores an agreement document for c (in signing) with a field for each party, each accepted
// mediator and, when an organisation mediates, its seal, and signs the party fields through the store (opaque
// bytes stand in for the PDF: the store does not read them), which makes the agreement effective in the same
// transaction as the last party's signature. With complete, the mediators and the seal sign as well. terms types
// the agreement's terms (nil: one payment term). The cases package cannot sign real PDFs; docflow's tests do.
func SignedAgreement(t testing.TB, s *cases.Store, c *cases.Case, complete bool, terms []cases.Term) *cases.Document {
	t.Helper()
	ctx := context.Background()
	if terms == nil {
		terms = []cases.Term{{Kind: cases.TermPayment, Text: "被申请人赔偿申请人人民币十万元。"}}
	}
	var signers []cases.DocSigner
	for i, p := range c.Parties {
		signers = append(signers, cases.DocSigner{Field: fmt.Sprintf("sig-%s-%d", p.Side, i+1), Role: string(p.Side), SubjectKind: cases.SignerParty, SubjectID: p.ID, Name: p.Name})
	}
	var mediator cases.Principal
	for i, m := range c.Mediators {
		if m.Status == cases.AssignAccepted {
			signers = append(signers, cases.DocSigner{Field: fmt.Sprintf("sig-mediator-%d", i+1), Role: "mediator", SubjectKind: cases.SignerAccount, SubjectID: m.AccountID, Name: m.Name})
			mediator = cases.Principal{Kind: cases.KindAccount, ID: m.AccountID, Name: m.Name, Role: cases.RoleMediator}
		}
	}
	if c.OrganisationID != "" {
		signers = append(signers, cases.DocSigner{Field: "sig-organisation", Role: "organisation", SubjectKind: cases.SignerOrganisation, SubjectID: c.OrganisationID, Name: c.OrganisationName})
	}
	d, err := s.CreateDocument(ctx, mediator, cases.NewDocument{ID: cases.NewID(), CaseID: c.ID, Kind: cases.DocAgreement, Title: "调解协议书", Lang: "zh",
		Content: map[string]any{"terms": terms}, Signers: signers, PDF: []byte("%PDF-1.7 test agreement")})
	if err != nil {
		t.Fatalf("casestest: create agreement: %v", err)
	}
	for i, sg := range signers {
		if !complete && sg.SubjectKind != cases.SignerParty {
			continue
		}
		actor := cases.System
		if sg.SubjectKind == cases.SignerParty {
			actor = PartyPrincipal(c, i)
		} else if sg.SubjectKind == cases.SignerAccount {
			actor = mediator
		}
		d, _, err = s.AppendVersion(ctx, d.ID, func(_ *cases.Document, cur []byte) (*cases.NewVersion, error) {
			return &cases.NewVersion{PDF: append(cur, fmt.Sprintf("\n%% signed %s", sg.Field)...), Field: sg.Field, SignerKind: string(actor.Kind), SignerID: actor.ID,
				SignerName: sg.Name, SignerRole: sg.Role, EventType: "document.signed", Actor: actor}, nil
		})
		if err != nil {
			t.Fatalf("casestest: sign %s: %v", sg.Field, err)
		}
	}
	return d
}

// CourtSigns is a ConfirmAgreement signing step that appends opaque bytes for the court's signature.
func CourtSigns(c *cases.Case, d *cases.Document, cur []byte) (*cases.NewVersion, error) {
	return &cases.NewVersion{PDF: append(cur, "\n% court"...), Field: cases.CourtField, SignerKind: "court", SignerName: c.CourtName, SignerRole: "court",
		EventType: "document.court_signed", Actor: cases.System}, nil
}
