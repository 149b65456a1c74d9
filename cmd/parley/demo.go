package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/parley-mediation/parley/cases"
)

// demoWorld is what the demo seeds; seedDemo returns it whether it created it now or found it from an earlier run.
type demoWorld struct {
	Court, IPOffice, Org         *cases.Organisation
	Admin, Officer, Clerk, Judge *cases.Account
	OrgAdmin, Mediator           *cases.Account
	Case                         *cases.Case
	Invitations                  map[string]string // party or agent name → invitation link
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	b, _, err := open(ctx, "demo", args, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer b.close()
	w, err := seedDemo(ctx, b.store, b.cfg)
	if err != nil {
		return err
	}
	printDemo(stdout, b.cfg, w)
	return nil
}

// seedDemo creates the demo organisations, accounts, roster and one referred case, once: a second run finds
// them (by the demo usernames) and only issues fresh invitation links.
func seedDemo(ctx context.Context, s *cases.Store, cfg *Config) (*demoWorld, error) {
	w := &demoWorld{Invitations: map[string]string{}}
	if acc, err := s.AccountByUsername(ctx, "demo-clerk"); err == nil {
		return w, reloadDemo(ctx, s, cfg, w, acc)
	}
	var err error
	org := func(n cases.NewOrganisation) *cases.Organisation {
		if err != nil {
			return nil
		}
		var o *cases.Organisation
		o, err = s.CreateOrganisation(ctx, n)
		return o
	}
	w.Court = org(cases.NewOrganisation{Kind: cases.OrgCourt, Name: "北京知识产权法院（演示）", Region: "北京市", Address: "北京市海淀区彩和坊路1号", Phone: "010-00000000"})
	w.IPOffice = org(cases.NewOrganisation{Kind: cases.OrgIPOffice, Name: "北京市知识产权局（演示）", Region: "北京市"})
	w.Org = org(cases.NewOrganisation{Kind: cases.OrgMediation, MediationKind: cases.MedIPCentre, Name: "中国（北京）知识产权保护中心调解室（演示）", Region: "北京市"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	acct := func(org *cases.Organisation, role cases.Role, user, name, phone string) *cases.Account {
		if err != nil {
			return nil
		}
		orgID := ""
		if org != nil {
			orgID = org.ID
		}
		var a *cases.Account
		a, err = s.CreateAccount(ctx, cases.NewAccount{OrgID: orgID, Role: role, Username: user, DisplayName: name, Phone: phone, Password: cfg.DemoPassword})
		return a
	}
	w.Admin = acct(nil, cases.RoleAdmin, "demo-admin", "平台管理员", "")
	w.Officer = acct(w.IPOffice, cases.RoleIPOfficer, "demo-ipoffice", "王知远", "13800000001")
	w.Clerk = acct(w.Court, cases.RoleClerk, "demo-clerk", "李书文", "13800000002")
	w.Judge = acct(w.Court, cases.RoleJudge, "demo-judge", "赵明理", "13800000003")
	w.OrgAdmin = acct(w.Org, cases.RoleOrgAdmin, "demo-orgadmin", "周和平", "13800000004")
	w.Mediator = acct(w.Org, cases.RoleMediator, "demo-mediator", "陈调和", "13800000005")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if _, err := s.UpdateProfile(ctx, w.Mediator.ID, cases.ProfileUpdate{Specialties: []string{"patent", "trademark", "trade_secret"},
		Background: "原专利代理师，从事知识产权调解工作八年，擅长通信与电子领域专利纠纷。", CaseScope: "专利、商标、商业秘密纠纷", Free: true}); err != nil {
		return nil, fmt.Errorf("demo: profile: %w", err)
	}
	officer, err := s.AccountPrincipal(ctx, w.Officer.ID)
	if err != nil {
		return nil, err
	}
	clerk, err := s.AccountPrincipal(ctx, w.Clerk.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range []cases.Recommendation{
		{CourtID: w.Court.ID, OrganisationID: w.Org.ID, IPRoster: true, Note: "知识产权保护中心，具备专利技术调查能力"},
		{CourtID: w.Court.ID, MediatorID: w.Mediator.ID, IPRoster: true},
	} {
		e, err := s.Recommend(ctx, officer, r)
		if err != nil {
			return nil, fmt.Errorf("demo: recommend: %w", err)
		}
		if _, err := s.DecideRoster(ctx, clerk, e.ID, cases.RosterConfirmed, ""); err != nil {
			return nil, fmt.Errorf("demo: confirm roster: %w", err)
		}
	}
	c, err := s.CreateCase(ctx, clerk, cases.NewCase{
		Title: "北京星云科技有限公司与深圳市光速电子有限公司侵害发明专利权纠纷", DisputeType: cases.DisputePatent,
		Summary:        "申请人系“一种无线信号增强方法”发明专利（ZL 2019 1 0000000.0）的专利权人，主张被申请人生产、销售的 GS-100 型路由器落入该专利权利要求 1–5 的保护范围，请求停止侵权并赔偿经济损失 80 万元。经征得双方同意，法院于立案前委派调解。",
		ClaimAmountFen: 80000000, Source: cases.SourceDelegated,
		Parties: []cases.NewParty{
			{Side: cases.Applicant, Kind: cases.PartyCompany, Name: "北京星云科技有限公司", LegalRep: "张星云", IDNumber: "91110108MA00000000", Phone: "13900000001", ServiceAddress: "legal@xingyun.example.cn", Address: "北京市海淀区中关村大街1号"},
			{Side: cases.Respondent, Kind: cases.PartyCompany, Name: "深圳市光速电子有限公司", LegalRep: "刘光速", IDNumber: "91440300MA00000000", Phone: "13900000002", Address: "深圳市南山区科技园",
				Agents: []cases.NewAgent{{Name: "孙律师", Lawyer: true, LawFirm: "广东某某律师事务所", LicenceNo: "14403201810000000", Phone: "13900000003"}}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: case: %w", err)
	}
	// The parties waived the joint choice of a mediator in writing when they filed (OMR Art. 10).
	for _, party := range c.Parties {
		if _, err := s.Act(ctx, clerk, c.ID, cases.ActWaiveChoice, cases.Params{PartyID: party.ID, Note: "当事人立案时书面声明放弃共同选择调解员"}); err != nil {
			return nil, fmt.Errorf("demo: waive choice: %w", err)
		}
	}
	res, err := s.Act(ctx, clerk, c.ID, cases.ActRefer, cases.Params{OrganisationID: w.Org.ID, MediatorIDs: []string{w.Mediator.ID}})
	if err != nil {
		return nil, fmt.Errorf("demo: refer: %w", err)
	}
	w.Case = res.Case
	return w, invite(ctx, s, cfg, w, clerk)
}

// reloadDemo finds an earlier demo and issues fresh invitation links.
func reloadDemo(ctx context.Context, s *cases.Store, cfg *Config, w *demoWorld, clerkAcc *cases.Account) error {
	var err error
	get := func(user string) *cases.Account {
		if err != nil {
			return nil
		}
		var a *cases.Account
		a, err = s.AccountByUsername(ctx, user)
		return a
	}
	w.Admin, w.Officer, w.Clerk, w.Judge = get("demo-admin"), get("demo-ipoffice"), clerkAcc, get("demo-judge")
	w.OrgAdmin, w.Mediator = get("demo-orgadmin"), get("demo-mediator")
	if err != nil {
		return fmt.Errorf("demo: an earlier demo is incomplete: %w", err)
	}
	clerk, err := s.AccountPrincipal(ctx, w.Clerk.ID)
	if err != nil {
		return err
	}
	list, _, err := s.Cases(ctx, clerk, cases.CaseFilter{Limit: 200})
	if err != nil {
		return err
	}
	for i := len(list) - 1; i >= 0; i-- { // the oldest: the demo case
		if list[i].Source == cases.SourceDelegated {
			if w.Case, err = s.Case(ctx, list[i].ID); err != nil {
				return err
			}
			break
		}
	}
	if w.Case == nil {
		return fmt.Errorf("demo: the demo case is gone; drop the database to seed again")
	}
	return invite(ctx, s, cfg, w, clerk)
}

func invite(ctx context.Context, s *cases.Store, cfg *Config, w *demoWorld, clerk cases.Principal) error {
	if w.Case.State.Final() {
		return nil
	}
	for _, p := range w.Case.Parties {
		_, tok, err := s.CreateInvitation(ctx, clerk, w.Case.ID, p.ID, "", cfg.InviteTTL)
		if err != nil {
			return fmt.Errorf("demo: invite %s: %w", p.Name, err)
		}
		w.Invitations[p.Name] = cfg.BaseURL + "/join/" + string(tok)
		for _, ag := range p.Agents {
			_, tok, err := s.CreateInvitation(ctx, clerk, w.Case.ID, p.ID, ag.ID, cfg.InviteTTL)
			if err != nil {
				return fmt.Errorf("demo: invite %s: %w", ag.Name, err)
			}
			w.Invitations[ag.Name+"（"+p.Name+"的代理人）"] = cfg.BaseURL + "/join/" + string(tok)
		}
	}
	return nil
}

func printDemo(out io.Writer, cfg *Config, w *demoWorld) {
	fmt.Fprintf(out, "Parley demo — open %s and log in as:\n\n", cfg.BaseURL)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tUSERNAME\tPASSWORD\tNAME\tORGANISATION")
	org := func(o *cases.Organisation) string {
		if o == nil {
			return ""
		}
		return o.Name
	}
	for _, r := range []struct {
		role string
		a    *cases.Account
		o    *cases.Organisation
	}{
		{"platform admin", w.Admin, nil}, {"IP office officer", w.Officer, w.IPOffice}, {"court clerk", w.Clerk, w.Court},
		{"judge", w.Judge, w.Court}, {"organisation admin", w.OrgAdmin, w.Org}, {"mediator", w.Mediator, w.Org},
	} {
		name := org(r.o)
		if name == "" && r.a.OrgID != "" {
			name = r.a.OrgID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.role, r.a.Username, cfg.DemoPassword, r.a.DisplayName, name)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nCase %s (%s): %s\n", w.Case.Number, w.Case.State, w.Case.Title)
	fmt.Fprintf(out, "\nParties enter through their personal invitation links; the one-time code is sent to their phone\n(with the default log notifier it appears in the server log):\n\n")
	names := make([]string, 0, len(w.Invitations))
	for name := range w.Invitations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(out, "  %s\n    %s\n", name, w.Invitations[name])
	}
}
