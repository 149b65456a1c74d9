package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// The HTTP side of contact corrections, invitation links and identity checks (issue 8 §1; rules in
// cases/contacts.go and cases/identity.go).

type correctionResponse struct {
	Correction *cases.ContactCorrection `json:"correction"`
	SentTo     []string                 `json:"sent_to,omitempty"` // masked addresses notified
	Revoked    *cases.RevokedSeat       `json:"revoked,omitempty"`
}

type codeRequest struct {
	Code string `json:"code"`
}

func (v codeRequest) Valid() map[string]string {
	if c := strings.TrimSpace(v.Code); len(c) != 6 || strings.Trim(c, "0123456789") != "" {
		return map[string]string{"code": "is the 6-digit code we sent"}
	}
	return nil
}

type rejectRequest struct {
	Note string `json:"note,omitempty"`
}

// correctionReply delivers a correction's notices and answers with it.
func (a *app) correctionReply(w http.ResponseWriter, r *http.Request, status int, res *cases.CorrectionResult) {
	out := correctionResponse{Correction: res.Correction}
	if res.Correction.Status == cases.CorrectionApplied && res.Correction.Kind == cases.CorrectionStaff {
		out.Revoked = &res.Revoked
		// Live room seats go too: whoever holds the party's seat in a room is put out.
		if a.rooms != nil {
			a.rooms.evict(r.Context(), res.Correction.CaseID, res.Correction.PartyID)
		}
	}
	c, err := a.store.Case(r.Context(), res.Correction.CaseID)
	if err != nil {
		fail(w, r, a.log, err)
		return
	}
	// The old contact is told how to object: the phone of the court (referred cases) or organisation (direct).
	orgPhone := ""
	orgID := c.CourtID
	if c.Source == cases.SourceDirect || orgID == "" {
		orgID = c.OrganisationID
	}
	if orgID != "" {
		if o, err := a.store.Organisation(r.Context(), orgID); err == nil {
			orgPhone = o.Phone
		}
	}
	for _, n := range res.Notices {
		if n.To == "" {
			continue
		}
		subject, body := contactNotice(c, orgPhone, res.Correction, n)
		out.SentTo = append(out.SentTo, a.notifyAddress(r.Context(), c, res.Correction.PartyID, n.To, n.Name, subject, body))
	}
	encode(w, status, out)
}

// notifyAddress sends a notice to one address (the old or new contact of a correction, which need not be the
// party's current one) and records the electronic service on the trail; it returns the masked address.
func (a *app) notifyAddress(ctx context.Context, c *cases.Case, partyID, to, name, subject, body string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	result := channelResult(a.notify.Channel(to))
	if err := a.notify.Notify(ctx, Message{To: to, Name: name, Subject: subject, Body: body}); err != nil {
		a.log.Error("contact notice failed", "case", c.ID, "err", err)
		result = "failed: " + err.Error()
	}
	if _, err := a.store.RecordEvent(ctx, c.ID, cases.System, "service.sent", cases.VisStaff, map[string]any{
		"party_id": partyID, "name": name, "to": maskContact(to), "channel": a.notify.Channel(to), "subject": subject, "result": result,
	}); err != nil {
		a.log.Error("record contact notice", "case", c.ID, "err", err)
	}
	return maskContact(to)
}

func handleCorrectionRequest(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.ContactChange](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		res, err := a.store.RequestContactCorrection(r.Context(), principal(r), r.PathValue("id"), r.PathValue("party"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.correctionReply(w, r, http.StatusAccepted, res)
	})
}

func handleOwnContactChange(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if p.CaseID != r.PathValue("id") {
			fail(w, r, a.log, cases.Errorf(cases.EFORBIDDEN, "a party changes its own contact from its own session"))
			return
		}
		if !a.limiter.allow(r.Context(), "contact:"+p.ID) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests: wait a minute"))
			return
		}
		in, err := decode[cases.ContactChange](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		res, err := a.store.RequestOwnContactChange(r.Context(), p, in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.correctionReply(w, r, http.StatusAccepted, res)
	})
}

func handleCorrections(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := a.store.ContactCorrections(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orEmpty(out))
	})
}

func handleCorrectionConfirm(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.limiter.allow(r.Context(), "confirm:"+a.clientIP(r)) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many requests from your address: wait a minute"))
			return
		}
		in, err := decode[codeRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		res, err := a.store.ConfirmContactCorrection(r.Context(), principal(r), r.PathValue("id"), r.PathValue("correction"), in.Code)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.correctionReply(w, r, http.StatusOK, res)
	})
}

func handleCorrectionApprove(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := a.store.ApproveContactCorrection(r.Context(), principal(r), r.PathValue("id"), r.PathValue("correction"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.correctionReply(w, r, http.StatusOK, res)
	})
}

func handleCorrectionReject(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in rejectRequest
		if r.ContentLength != 0 {
			var err error
			if in, err = decode[rejectRequest](r, a.cfg.MaxBodyBytes); err != nil {
				fail(w, r, a.log, err)
				return
			}
		}
		res, err := a.store.RejectContactCorrection(r.Context(), principal(r), r.PathValue("id"), r.PathValue("correction"), in.Note)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		a.correctionReply(w, r, http.StatusOK, res)
	})
}

func handleInvitations(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := a.store.Invitations(r.Context(), principal(r), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, orEmpty(out))
	})
}

func handleInvitationRevoke(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.store.RevokeInvitation(r.Context(), principal(r), r.PathValue("id"), r.PathValue("invitation")); err != nil {
			fail(w, r, a.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleIdentityCheck(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.NewIdentityCheck](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out, err := a.store.RecordCaseIdentityCheck(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, out)
	})
}

type verifyIdentityRequest struct {
	Evidence string `json:"evidence,omitempty"` // base64: what the verification service's client collected
}

func (v verifyIdentityRequest) Valid() map[string]string {
	if _, err := base64.StdEncoding.DecodeString(v.Evidence); err != nil {
		return map[string]string{"evidence": "must be base64"}
	}
	return nil
}

func handleIdentityVerify(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if !a.limiter.allow(r.Context(), "verify-identity:"+p.ID) {
			fail(w, r, a.log, cases.Errorf(cases.ERATELIMIT, "too many verifications: wait a minute"))
			return
		}
		in, err := decode[verifyIdentityRequest](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ev, _ := base64.StdEncoding.DecodeString(in.Evidence)
		var v cases.IdentityVerifier
		if a.verifier != nil {
			v = a.verifier
		}
		out, err := a.store.VerifyIdentity(r.Context(), p, v, ev)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusCreated, out)
	})
}

// contactRoutes are this file's endpoints, appended to routes().
func (a *app) contactRoutes() []route {
	return []route{
		{"POST", "/api/v1/cases/{id}/parties/{party}/contact-corrections", "Ask to correct a party's phone or service address, with a reason (court clerk for referred cases, organisation admin for direct applications); it takes effect when confirmed from the old contact or by a second staff member", "cases", staff, nil, cases.ContactChange{}, correctionResponse{}, 202, handleCorrectionRequest(a)},
		{"POST", "/api/v1/cases/{id}/contact-changes", "A party changes its own phone or service address; a code goes to the new contact", "cases", anyone, nil, cases.ContactChange{}, correctionResponse{}, 202, handleOwnContactChange(a)},
		{"GET", "/api/v1/cases/{id}/contact-corrections", "The case's contact corrections (a party sees its own)", "cases", anyone, nil, nil, []cases.ContactCorrection{}, 200, handleCorrections(a)},
		{"POST", "/api/v1/cases/{id}/contact-corrections/{correction}/confirm", "Confirm a correction with the code sent to the old contact (staff) or to the new one (the party's own change)", "cases", anyone, nil, codeRequest{}, correctionResponse{}, 200, handleCorrectionConfirm(a)},
		{"POST", "/api/v1/cases/{id}/contact-corrections/{correction}/approve", "Approve a correction as the second staff member of the court or organisation (four eyes)", "cases", staff, nil, nil, correctionResponse{}, 200, handleCorrectionApprove(a)},
		{"POST", "/api/v1/cases/{id}/contact-corrections/{correction}/reject", "Turn down (second staff member) or withdraw (whoever asked) a pending correction", "cases", anyone, nil, rejectRequest{}, correctionResponse{}, 200, handleCorrectionReject(a)},
		{"GET", "/api/v1/cases/{id}/invitations", "The case's invitation links and whether each is still open", "cases", staff, nil, nil, []cases.InvitationStatus{}, 200, handleInvitations(a)},
		{"DELETE", "/api/v1/cases/{id}/invitations/{invitation}", "Revoke an invitation link", "cases", staff, nil, nil, nil, 204, handleInvitationRevoke(a)},
		{"POST", "/api/v1/cases/{id}/identity-checks", "Record an identity check of a party or agent made outside a session (mediator, court clerk, organisation admin)", "cases", staff, nil, cases.NewIdentityCheck{}, cases.CaseIdentityCheck{}, 201, handleIdentityCheck(a)},
		{"POST", "/api/v1/identity/verify", "A party or agent has its identity verified by the configured verification service (PARLEY_IDENTITY_VERIFIER_URL)", "auth", anyone, nil, verifyIdentityRequest{}, cases.CaseIdentityCheck{}, 201, handleIdentityVerify(a)},
	}
}

// evict puts a party out of the video rooms of its case on this node and refuses the join tokens issued to it
// until now (they live five minutes, handleJoin).
func (r *rooms) evict(ctx context.Context, caseID, participantID string) {
	r.sig.Evict(ctx, caseID, participantID, time.Now().Add(5*time.Minute+time.Second))
}
