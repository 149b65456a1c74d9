package main

import (
	"net/http"

	"github.com/parley-mediation/parley/cases"
)

// route is one endpoint: how it is reached, who may call it, what it takes and gives (for the OpenAPI
// document, which is generated from this table), and its handler.
type route struct {
	Method  string
	Path    string
	Summary string
	Tag     string
	Access  access
	Query   []param
	Body    any // a value of the request body type, nil when there is none
	Resp    any // a value of the success body type, nil when there is none
	Status  int
	Handler http.Handler
}

// rawBody marks a request or answer that is not JSON: its value is the media type.
type rawBody string

// param documents a query parameter.
type param struct {
	Name, Type, Description string
}

// routes lists every endpoint of the JSON API. It is the one place to look for what Parley serves.
func (a *app) routes() []route {
	caseQuery := []param{
		{"state", "string", "only cases in this state"},
		{"q", "string", "case number, title or party name contains"},
		{"overdue", "boolean", "only cases past their time limit or answer window"},
		{"limit", "integer", "page size, 1–200 (default 50)"},
		{"offset", "integer", "rows to skip"},
	}
	rs := []route{
		// Health and description.
		{"GET", "/healthz", "The process is up", "system", public, nil, nil, health{}, 200, handleHealthz(a)},
		{"GET", "/readyz", "The database answers", "system", public, nil, nil, health{}, 200, handleReadyz(a)},
		{"GET", "/api/v1/workflow", "The case workflow: states, actions, who may take each and what it requires", "system", public, nil, nil, workflowDoc{}, 200, handleWorkflow(a)},

		// Authentication.
		{"POST", "/api/v1/auth/login", "Staff log in with a password; sets the session cookie", "auth", public, nil, loginRequest{}, loginResponse{}, 200, handleLogin(a)},
		{"POST", "/api/v1/auth/logout", "End the session", "auth", anyone, nil, nil, nil, 204, handleLogout(a)},
		{"GET", "/api/v1/auth/me", "Who is logged in, and the CSRF token for unsafe requests", "auth", anyone, nil, nil, meResponse{}, 200, handleMe(a)},
		{"POST", "/api/v1/auth/password", "Change one's own password (ends the account's other sessions; revoke_tokens says whether its API tokens go too; not with an API token)", "auth", staff, nil, passwordRequest{}, cases.PasswordChange{}, 200, handlePassword(a)},
		{"GET", "/api/v1/auth/tokens", "List one's API tokens", "auth", staff, nil, nil, []cases.APIToken{}, 200, handleTokens(a)},
		{"POST", "/api/v1/auth/tokens", "Create an API token for an integration (the secret is shown once; every token expires, at most api-token-max-days; not with an API token)", "auth", staff, nil, tokenRequest{}, tokenResponse{}, 201, handleTokenCreate(a)},
		{"GET", "/api/v1/auth/lockouts", "Login lock-outs (platform admin: all; organisation admin: its accounts')", "auth", staff, nil, nil, []cases.Lockout{}, 200, handleLockouts(a)},
		{"POST", "/api/v1/auth/lockouts/{id}/clear", "Lift a login lock-out before its time (platform admin)", "auth", staff, nil, nil, nil, 204, handleLockoutClear(a)},
		{"DELETE", "/api/v1/auth/tokens/{id}", "Revoke an API token", "auth", staff, nil, nil, nil, 204, handleTokenRevoke(a)},
		{"GET", "/api/v1/consent-links/{token}", "What a party's consent link (in a served notice) asks: the case and the extension", "auth", public, nil, nil, cases.ConsentLink{}, 200, handleConsentLinkInfo(a)},
		{"POST", "/api/v1/consent-links/{token}", "The party consents through its personal link (its own act; the link works once)", "auth", public, nil, nil, consentLinkResponse{}, 200, handleConsentLinkUse(a)},
		{"GET", "/api/v1/invitations/{token}", "What an invitation link is for (case, name, masked phone)", "auth", public, nil, nil, cases.InvitationView{}, 200, handleInvitationInfo(a)},
		{"POST", "/api/v1/invitations/{token}/code", "Send a one-time code to the invited party's phone", "auth", public, nil, nil, codeSent{}, 202, handleInvitationCode(a)},
		{"POST", "/api/v1/invitations/{token}/verify", "Enter the one-time code; sets the party's session cookie", "auth", public, nil, verifyRequest{}, meResponse{}, 200, handleInvitationVerify(a)},

		// Organisations, accounts, mediators and the roster.
		{"GET", "/api/v1/organisations", "List organisations", "roster", staff, []param{{"kind", "string", "court, ip_office, mediation_org or platform"}}, nil, []cases.Organisation{}, 200, handleOrganisations(a)},
		{"POST", "/api/v1/organisations", "Create an organisation (platform admin)", "roster", staff, nil, cases.NewOrganisation{}, cases.Organisation{}, 201, handleOrganisationCreate(a)},
		{"GET", "/api/v1/organisations/{id}", "One organisation", "roster", staff, nil, nil, cases.Organisation{}, 200, handleOrganisation(a)},
		{"GET", "/api/v1/directory/organisations", "Mediation organisations a party may apply to online (public: the application page lists them); ?kind=court lists the courts", "roster", public, []param{{"kind", "string", "court: the courts instead (where a direct application's parties apply for judicial confirmation)"}}, nil, []cases.Organisation{}, 200, handleDirectory(a)},
		{"GET", "/api/v1/accounts", "List staff accounts (admin: all; organisation admin: their organisation)", "roster", staff, []param{{"org_id", "string", "organisation"}, {"role", "string", "role"}}, nil, []cases.Account{}, 200, handleAccounts(a)},
		{"POST", "/api/v1/accounts", "Create a staff account (admin; an organisation admin creates its mediators)", "roster", staff, nil, cases.NewAccount{}, cases.Account{}, 201, handleAccountCreate(a)},
		{"POST", "/api/v1/accounts/{id}/disable", "Disable an account (ends its sessions, revokes its tokens)", "roster", staff, nil, nil, nil, 204, handleAccountDisable(a, true)},
		{"POST", "/api/v1/accounts/{id}/enable", "Enable an account again", "roster", staff, nil, nil, nil, 204, handleAccountDisable(a, false)},
		{"GET", "/api/v1/mediators", "Search mediators' public profiles", "roster", anyone, []param{{"court_id", "string", "on this court's confirmed roster"}, {"org_id", "string", "of this organisation"}, {"specialty", "string", "with this specialty"}, {"q", "string", "name or background contains"}}, nil, []cases.MediatorProfile{}, 200, handleMediators(a)},
		{"GET", "/api/v1/mediators/{id}", "A mediator's public profile", "roster", anyone, nil, nil, cases.MediatorProfile{}, 200, handleMediator(a)},
		{"PUT", "/api/v1/mediators/{id}/profile", "Edit a mediator's profile (the mediator, their organisation's admin, the platform admin)", "roster", staff, nil, cases.ProfileUpdate{}, cases.MediatorProfile{}, 200, handleProfileUpdate(a)},
		{"GET", "/api/v1/roster", "Roster entries (courts: their own; IP offices: their region)", "roster", staff, []param{{"court_id", "string", "court"}, {"status", "string", "recommended, confirmed or removed"}}, nil, []cases.RosterEntry{}, 200, handleRoster(a)},
		{"POST", "/api/v1/roster", "Recommend a mediator or organisation to a court's roster (IP office)", "roster", staff, nil, cases.Recommendation{}, cases.RosterEntry{}, 201, handleRecommend(a)},
		{"POST", "/api/v1/roster/{id}/confirm", "Confirm a recommendation into the court's roster (court clerk)", "roster", staff, nil, noteRequest{}, cases.RosterEntry{}, 200, handleRosterDecide(a, cases.RosterConfirmed)},
		{"POST", "/api/v1/roster/{id}/remove", "Remove an entry from the court's roster (court clerk)", "roster", staff, nil, noteRequest{}, cases.RosterEntry{}, 200, handleRosterDecide(a, cases.RosterRemoved)},

		// Cases.
		{"GET", "/api/v1/cases", "The cases the caller may see", "cases", anyone, caseQuery, nil, caseList{}, 200, handleCases(a)},
		{"POST", "/api/v1/cases", "Register a case (court clerk: referral; organisation admin: direct application)", "cases", staff, nil, cases.NewCase{}, caseResponse{}, 201, handleCaseCreate(a)},
		{"POST", "/api/v1/applications", "A party applies online, directly to a mediation organisation (OMR Art. 8)", "cases", public, nil, applicationRequest{}, applicationResponse{}, 202, handleApplication(a)},
		{"GET", "/api/v1/cases/{id}", "A case as the caller may see it, with the actions open to them", "cases", anyone, nil, nil, caseResponse{}, 200, handleCase(a)},
		{"PATCH", "/api/v1/cases/{id}", "Change a case's description", "cases", staff, nil, cases.CasePatch{}, caseResponse{}, 200, handleCaseUpdate(a)},
		{"POST", "/api/v1/cases/{id}/parties", "Add a party", "cases", staff, nil, cases.NewParty{}, caseResponse{}, 201, handlePartyAdd(a)},
		{"PATCH", "/api/v1/cases/{id}/parties/{party}", "Correct a party's details (name, identity number, phone, addresses)", "cases", staff, nil, cases.PartyPatch{}, caseResponse{}, 200, handlePartyUpdate(a)},
		{"POST", "/api/v1/cases/{id}/parties/{party}/agents", "Add an agent or lawyer to a party", "cases", anyone, nil, cases.NewAgent{}, caseResponse{}, 201, handleAgentAdd(a)},
		{"POST", "/api/v1/cases/{id}/actions/{action}", "Take a workflow action (see GET /api/v1/workflow)", "cases", anyone, nil, cases.Params{}, actionResponse{}, 200, handleAction(a)},
		{"GET", "/api/v1/cases/{id}/events", "The case's audit trail, as the caller may see it", "cases", anyone, nil, nil, []cases.Event{}, 200, handleEvents(a)},
		{"GET", "/api/v1/cases/{id}/audit", "Verify the case's hash-chained audit trail", "cases", staff, nil, nil, cases.ChainReport{}, 200, handleAudit(a)},
		{"GET", "/api/v1/cases/{id}/checklist", "What each party still has to do (consent, service address, identity check), for the case's staff", "cases", staff, nil, nil, cases.Checklist{}, 200, handleChecklist(a)},
		{"POST", "/api/v1/cases/{id}/invitations", "Invite a party or agent (a personal link, sent to them)", "cases", staff, nil, invitationRequest{}, invitationResponse{}, 201, handleInvitationCreate(a)},
		{"GET", "/api/v1/cases/{id}/sessions", "The case's mediation sessions", "sessions", anyone, nil, nil, []cases.Session{}, 200, handleSessions(a)},
		{"POST", "/api/v1/cases/{id}/sessions", "Schedule or start a session (accepted mediator; every party consented)", "sessions", staff, nil, cases.NewSession{}, cases.Session{}, 201, handleSessionCreate(a)},
		{"GET", "/api/v1/sessions/live", "Sessions under way in the caller's cases (a judge's “join now” list)", "sessions", staff, nil, nil, []cases.LiveSession{}, 200, handleLiveSessions(a)},
		{"GET", "/api/v1/sessions/{id}", "A session with its attendance, identity checks, caucuses and the chat the caller may read", "sessions", anyone, nil, nil, cases.SessionDetail{}, 200, handleSession(a)},
		{"POST", "/api/v1/sessions/{id}/start", "Start a scheduled session", "sessions", staff, nil, nil, cases.Session{}, 200, handleSessionStart(a)},
		{"POST", "/api/v1/sessions/{id}/end", "End a live session", "sessions", staff, nil, nil, cases.Session{}, 200, handleSessionEnd(a)},
		{"POST", "/api/v1/sessions/{id}/join", "A short-lived join token for the caller's seat in a live session, with the signalling URL and ICE servers (docs/signaling.md)", "sessions", anyone, nil, nil, joinResponse{}, 200, handleJoin(a)},
		{"GET", "/api/v1/rtc/stats", "Media and process counters of this node (platform admin; the load command reads them)", "sessions", staff, nil, nil, serverStats{}, 200, handleRTCStats(a)},
		{"POST", "/api/v1/sessions/{id}/messages/{message}/share", "A party that was in a caucus agrees to move one caucus message into the shared record (its own act; the message moves when every party in the caucus agreed)", "sessions", anyone, nil, nil, cases.ChatMessage{}, 200, handleMessageShare(a)},
		{"PUT", "/api/v1/sessions/{id}/caucuses/{caucus}/notes", "Save the mediator's notes of a caucus (a mediator who was in it; send the version you edited)", "sessions", staff, nil, caucusNotesRequest{}, cases.CaucusNotes{}, 200, handleCaucusNotes(a)},
		{"GET", "/api/v1/sessions/{id}/record", "The mediator's record of the session", "sessions", staff, nil, nil, cases.SessionRecord{}, 200, handleRecord(a)},
		{"PUT", "/api/v1/sessions/{id}/record", "Save the record (send the version you edited)", "sessions", staff, nil, cases.SessionRecord{}, cases.SessionRecord{}, 200, handleRecordSave(a)},

		// Documents and signatures.
		{"POST", "/api/v1/cases/{id}/agreement", "Draft the mediation agreement from the case and the agreed terms (mediator); replaces an earlier draft", "documents", staff, nil, agreementRequest{}, documentResponse{}, 201, handleAgreementCreate(a)},
		{"POST", "/api/v1/cases/{id}/offline-agreement", "Upload the scan (PDF, base64) of an agreement signed on paper with its typed terms (mediator); answers the confirmation sheet every party signs online", "documents", staff, nil, offlineRequest{}, documentResponse{}, 201, handleOfflineAgreement(a)},
		{"POST", "/api/v1/sessions/{id}/record-document", "Produce the session record (调解笔录) PDF from the session and the mediator's record (mediator)", "documents", staff, nil, recordDocRequest{}, documentResponse{}, 201, handleRecordDocument(a)},
		{"GET", "/api/v1/cases/{id}/documents", "The case's documents and who has signed them", "documents", anyone, nil, nil, []documentResponse{}, 200, handleDocuments(a)},
		{"GET", "/api/v1/documents/{id}", "A document, its versions and its signature fields", "documents", anyone, nil, nil, documentResponse{}, 200, handleDocument(a)},
		{"GET", "/api/v1/documents/{id}/pdf", "Download a version of the document (the current one unless ?version=)", "documents", anyone, []param{{"version", "integer", "version number"}, {"inline", "integer", "1: to be shown in place (Content-Disposition: inline) rather than saved, for in-app browsers such as WeChat's that save no downloads"}}, nil, rawBody("application/pdf"), 200, handleDocumentPDF(a)},
		{"GET", "/api/v1/documents/{id}/pages/{page}", "A page of the document as a PNG image, for reading on a phone", "documents", anyone, []param{{"version", "integer", "version number"}, {"width", "integer", "pixels, 200–2400 (default 900)"}}, nil, rawBody("image/png"), 200, handleDocumentPage(a)},
		{"POST", "/api/v1/documents/{id}/prepare", "Step 1 of signing on one's own device: send the drawn signature and the device key, get the bytes to sign", "documents", anyone, nil, prepareRequest{}, prepareResponse{}, 200, handlePrepare(a)},
		{"POST", "/api/v1/documents/{id}/finish", "Step 2: send the device's signature; Parley assembles the PAdES signature", "documents", anyone, nil, finishRequest{}, documentResponse{}, 200, handleFinish(a)},
		{"POST", "/api/v1/documents/{id}/seal", "Affix the mediation organisation's seal after the parties and mediator signed", "documents", staff, nil, nil, documentResponse{}, 200, handleSeal(a)},
		{"POST", "/api/v1/verify", "Verify the signatures of an uploaded PDF (the body is the file)", "documents", public, nil, rawBody("application/pdf"), verifyResponse{}, 200, handleVerify(a)},
		{"GET", "/api/v1/verify/{id}", "What Parley knows of a document whose QR code you scanned: its versions and their SHA-256", "documents", public, nil, nil, publicDocument{}, 200, handlePublicDocument(a)},
		{"GET", "/api/v1/ca/root.pem", "Parley's root certificate, to check signatures with other tools", "documents", public, nil, nil, rawBody("application/x-pem-file"), 200, handleRootCert(a)},
		{"GET", "/api/v1/ca/crl", "The current certificate revocation list of Parley's CA", "documents", public, nil, nil, rawBody("application/pkix-crl"), 200, handleCRL(a)},
		{"GET", "/api/v1/ca/root.cer", "Parley's root certificate in DER (the caIssuers address in every certificate)", "documents", public, nil, nil, rawBody("application/pkix-cert"), 200, handleRootDER(a)},
		{"POST", "/api/v1/ca/ocsp", "OCSP responder of Parley's CA (RFC 6960; the body is the DER request)", "documents", public, nil, rawBody("application/ocsp-request"), rawBody("application/ocsp-response"), 200, handleOCSP(a)},
		{"GET", "/api/v1/ca/ocsp/{request}", "OCSP responder of Parley's CA, GET form (the base64 DER request in the path)", "documents", public, nil, nil, rawBody("application/ocsp-response"), 200, handleOCSP(a)},
		{"POST", "/api/v1/tsa", "Parley's RFC 3161 timestamp authority", "documents", public, nil, rawBody("application/timestamp-query"), rawBody("application/timestamp-reply"), 200, handleTSA(a)},

		// The court's deadlines and the holiday calendar.
		{"GET", "/api/v1/court/deadlines", "The court's own deadlines (referral after the parties' choice window, decision on a confirmation application), overdue first (its clerks and judges)", "cases", staff, nil, nil, []cases.CourtDeadline{}, 200, handleCourtDeadlines(a)},
		{"GET", "/api/v1/holidays", "The working-day calendar: holidays and weekend working days, and the last year entered", "cases", staff, nil, nil, holidaysResponse{}, 200, handleHolidays(a)},
		{"PUT", "/api/v1/holidays/{day}", "Enter or change a day of the calendar (platform admin)", "cases", staff, nil, holidayRequest{}, cases.Holiday{}, 200, handleHolidaySet(a)},
		{"DELETE", "/api/v1/holidays/{day}", "Remove a day from the calendar (platform admin)", "cases", staff, nil, nil, nil, 204, handleHolidayDelete(a)},

		// Statistics.
		{"GET", "/api/v1/stats", "Statistics: cases by state, success rate, average duration, by organisation, mediator and month", "stats", staff, []param{{"from", "string", "RFC 3339 or YYYY-MM-DD: cases registered from"}, {"to", "string", "RFC 3339 or YYYY-MM-DD: cases registered before"}}, nil, cases.Stats{}, 200, handleStats(a)},
	}
	rs = append(rs, a.contactRoutes()...)
	rs = append(rs, a.materialRoutes()...)
	rs = append(rs, a.courtDocRoutes()...)
	rs = append(rs, a.webhookRoutes()...)
	rs = append(rs, a.serviceRoutes()...)
	rs = append(rs, a.evaluationRoutes()...)
	rs = append(rs, a.threadRoutes()...)
	rs = append(rs, a.recordingRoutes()...)
	rs = append(rs, a.extra...)
	rs = append(rs, route{"GET", "/api/v1/openapi.json", "This document", "system", public, nil, nil, nil, 200, handleOpenAPI(a)})
	return rs
}

// NewServer returns Parley's HTTP handler: the API routes, each behind its access check, and whatever else is
// mounted (the web front end at /).
func NewServer(a *app, mounts map[string]http.Handler) http.Handler {
	if a.docs != nil {
		a.docs.Issued = a.serveIssued // the court documents this node stores are served on the parties
	}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.Handle(rt.Method+" "+rt.Path, a.metrics.instrument(rt.Method+" "+rt.Path, a.authenticate(rt.Access, rt.Handler)))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "no such endpoint: %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path))
	}))
	if a.rooms != nil {
		// The signalling WebSocket authenticates with the join token in its first message; one address holds at
		// most ws-per-address of them at once.
		mux.Handle("GET /rtc", newWSLimiter(max(a.cfg.WSPerAddress, 1)).wrap(a, a.rooms.sig.Handler()))
	}
	for pattern, h := range mounts {
		mux.Handle(pattern, h)
	}
	var h http.Handler = mux
	if a.cfg.BodyReadTimeout > 0 && a.cfg.BodyMinRate > 0 {
		h = slowBodies(a.cfg.BodyReadTimeout, a.cfg.BodyMinRate, h)
	}
	return logRequests(a.log, checkQuery(a.log, h))
}
