package main

import (
	"net/http"

	"github.com/parley-mediation/parley/cases"
)

func handleOrganisations(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := cases.OrgKind(r.URL.Query().Get("kind"))
		switch kind {
		case "", cases.OrgCourt, cases.OrgIPOffice, cases.OrgMediation, cases.OrgPlatform:
		default:
			fail(w, r, a.log, cases.Invalid(map[string]string{"kind": "must be court, ip_office, mediation_org or platform"}))
			return
		}
		orgs, err := a.store.Organisations(r.Context(), kind)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orgs)
	})
}

func handleOrganisationCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).IsStaff(cases.RoleAdmin) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "only the platform admin creates organisations"))
			return
		}
		in, err := decode[cases.NewOrganisation](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		o, err := a.store.CreateOrganisation(r.Context(), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, o)
	})
}

// handleDirectory lists the mediation organisations for the public application page: anyone may apply
// directly to one (OMR Art. 8), so their names and contact details are public.
func handleDirectory(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := cases.OrgMediation
		if r.URL.Query().Get("kind") == string(cases.OrgCourt) {
			// The courts, for a direct application's parties choosing where to apply for judicial confirmation.
			kind = cases.OrgCourt
		}
		orgs, err := a.store.Organisations(r.Context(), kind)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orEmpty(orgs))
	})
}

func handleOrganisation(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := a.store.Organisation(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, o)
	})
}

func handleAccounts(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		org, role := r.URL.Query().Get("org_id"), cases.Role(r.URL.Query().Get("role"))
		switch {
		case p.IsStaff(cases.RoleAdmin):
		case p.IsStaff(cases.RoleOrgAdmin):
			if org != "" && org != p.OrgID {
				fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "an organisation admin lists its own organisation's accounts"))
				return
			}
			org = p.OrgID
		default:
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "accounts are listed by the platform admin and organisation admins"))
			return
		}
		list, err := a.store.Accounts(r.Context(), org, role)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, list)
	})
}

func handleAccountCreate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if !p.IsStaff(cases.RoleAdmin, cases.RoleOrgAdmin) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "accounts are created by the platform admin and organisation admins"))
			return
		}
		in, err := decode[cases.NewAccount](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if p.IsStaff(cases.RoleOrgAdmin) && (in.OrgID != p.OrgID || (in.Role != cases.RoleMediator && in.Role != cases.RoleOrgAdmin)) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "an organisation admin creates mediators and admins of its own organisation"))
			return
		}
		acc, err := a.store.CreateAccount(r.Context(), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.log.Info("account created", "by", p.ID, "account", acc.Username, "role", acc.Role)
		encode(w, http.StatusCreated, acc)
	})
}

func handleAccountDisable(a *app, disable bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		target, err := a.store.Account(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		switch {
		case target.ID == p.ID:
			fail(w, r, a.log, cases.Errorf(cases.EUNPROCESSABLE, "you cannot disable or enable your own account"))
			return
		case p.IsStaff(cases.RoleAdmin):
		case p.IsStaff(cases.RoleOrgAdmin) && target.OrgID == p.OrgID && target.Role == cases.RoleMediator:
		default:
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "accounts are disabled by the platform admin, or by an organisation admin for its mediators"))
			return
		}
		if err := a.store.SetAccountDisabled(r.Context(), target.ID, disable); err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.log.Info("account disabled", "by", p.ID, "account", target.Username, "disabled", disable)
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleMediators(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		list, err := a.store.Mediators(r.Context(), cases.MediatorFilter{CourtID: q.Get("court_id"), OrgID: q.Get("org_id"), Specialty: q.Get("specialty"), Query: q.Get("q")})
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, list)
	})
}

func handleMediator(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := a.store.Mediator(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, m)
	})
}

func handleProfileUpdate(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		m, err := a.store.Mediator(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if !(p.ID == m.AccountID || p.IsStaff(cases.RoleAdmin) || (p.IsStaff(cases.RoleOrgAdmin) && p.OrgID != "" && p.OrgID == m.OrgID)) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "a profile is edited by the mediator, their organisation's admin or the platform admin"))
			return
		}
		in, err := decode[cases.ProfileUpdate](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.store.UpdateProfile(r.Context(), m.AccountID, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

func handleRoster(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		f := cases.RosterFilter{CourtID: r.URL.Query().Get("court_id"), Status: cases.RosterStatus(r.URL.Query().Get("status"))}
		switch f.Status {
		case "", cases.RosterRecommended, cases.RosterConfirmed, cases.RosterRemoved:
		default:
			fail(w, r, a.log, cases.Invalid(map[string]string{"status": "must be recommended, confirmed or removed"}))
			return
		}
		switch {
		case p.IsStaff(cases.RoleIPOfficer):
			f.Region = p.OrgRegion
		case p.IsStaff(cases.RoleClerk, cases.RoleJudge):
			if f.CourtID != "" && f.CourtID != p.OrgID {
				fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "a court reads its own roster; search mediators for other courts'"))
				return
			}
			f.CourtID = p.OrgID
		}
		list, err := a.store.Roster(r.Context(), f)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, list)
	})
}

func handleRecommend(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if !p.IsStaff(cases.RoleIPOfficer, cases.RoleAdmin) {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "IP administration departments recommend mediators to courts"))
			return
		}
		in, err := decode[cases.Recommendation](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		e, err := a.store.Recommend(r.Context(), p, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, e)
	})
}

type noteRequest struct {
	Note string `json:"note"`
}

func handleRosterDecide(a *app, status cases.RosterStatus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := noteRequest{}
		if r.ContentLength != 0 {
			var err error
			if in, err = decode[noteRequest](r, a.cfg.MaxBodyBytes); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		e, err := a.store.DecideRoster(r.Context(), principal(r), r.PathValue("id"), status, in.Note)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, e)
	})
}
