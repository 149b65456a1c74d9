package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/loadtest"
)

// runLoadtest drives a running Parley server with rooms of Pion clients and prints what it forwarded: packets and
// bytes per second, server CPU per forwarded packet, loss, join → first frame p50/p99 and memory per
// participant. It prepares its sessions in the server's database (a load-test court, organisation, mediator and
// one case per room) and mints join tokens with the server's key, so it must run where the database is
// reachable; the media goes to the server's signalling URL. Every loop is bounded by -duration and stops by
// itself; the sessions are ended afterwards.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "base URL of the running server; several, comma-separated, spread the rooms over the nodes of a cluster (reported per node)")
	rooms := fs.Int("rooms", 10, "number of rooms (1–200)")
	per := fs.Int("participants", 4, "participants per room (1–50)")
	publishers := fs.Int("publishers", 0, "publishing participants per room (0 = all)")
	duration := fs.Duration("duration", 20*time.Second, "measurement window (at most 10m)")
	bitrate := fs.Int("bitrate", 0, "synthetic VP8 bitrate in bits/s (0 = the embedded ~150 kbit/s clip)")
	audio := fs.Bool("audio", true, "publish Opus audio")
	video := fs.Bool("video", true, "publish video")
	loopback := fs.Bool("loopback", true, "gather ICE candidates on loopback only (server on this host, started with PARLEY_ICE_FILTER=127.0.0.0/8)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: parley loadtest [-server URL] [-rooms N] [-participants M] [-publishers P] [-duration D] [-bitrate B]")
		fs.PrintDefaults()
	}
	// The database settings come from the environment (PARLEY_DATABASE_URL …), as for the server.
	if err := fs.Parse(args); err != nil {
		return exitError{2, ""}
	}
	switch {
	case *rooms < 1 || *rooms > 200:
		return exitError{2, "rooms must be 1–200"}
	case *per < 1 || *per > 50:
		return exitError{2, "participants must be 1–50"}
	case *duration <= 0 || *duration > 10*time.Minute:
		return exitError{2, "duration must be positive and at most 10m"}
	case *bitrate < 0 || *bitrate > 10_000_000:
		return exitError{2, "bitrate must be 0–10000000"}
	}
	b, _, err := open(ctx, "loadtest", nil, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer b.close()
	lt, err := prepareLoad(ctx, b.store, *rooms)
	if err != nil {
		return fmt.Errorf("loadtest: prepare: %w", err)
	}
	defer lt.cleanup(context.WithoutCancel(ctx))
	key, err := b.store.Secret(ctx, "signaling:token-key", 32)
	if err != nil {
		return err
	}
	servers := splitList(*server)
	if len(servers) == 0 {
		return exitError{2, "server: give at least one URL"}
	}
	if len(servers) > *rooms {
		return exitError{2, "more servers than rooms"}
	}
	// Room i goes to server i mod n; each server's rooms run as one load run, all at once, reported per node.
	type result struct {
		rep fmt.Stringer
		err error
	}
	results := make([]result, len(servers))
	done := make(chan int, len(servers))
	for si, srv := range servers {
		var mine []loadCase
		for i, c := range lt.cases {
			if i%len(servers) == si {
				mine = append(mine, c)
			}
		}
		go func() {
			rep, err := lt.runOn(ctx, b, key, srv, mine, loadOptions{per: *per, publishers: *publishers, duration: *duration, bitrate: *bitrate,
				audio: *audio, video: *video, loopback: *loopback}, stdout)
			results[si] = result{rep, err}
			done <- si
		}()
	}
	for range servers {
		<-done
	}
	for si, srv := range servers {
		if len(servers) > 1 {
			fmt.Fprintf(stdout, "\n== node %s ==\n", srv)
		}
		if results[si].err != nil {
			return fmt.Errorf("loadtest %s: %w", srv, results[si].err)
		}
		fmt.Fprint(stdout, results[si].rep.String())
	}
	return nil
}

type loadOptions struct {
	per, publishers, bitrate int
	duration                 time.Duration
	audio, video, loopback   bool
}

// runOn runs the load of the given rooms against one server.
func (lt *loadRun) runOn(ctx context.Context, b *base, key []byte, server string, rooms []loadCase, o loadOptions, stdout io.Writer) (fmt.Stringer, error) {
	per, duration := &o.per, &o.duration
	base := strings.TrimRight(server, "/")
	wsURL := strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1) + "/rtc"
	run := lt.id
	join := func(room, seat int) (loadtest.Seat, error) {
		c := rooms[room]
		cl := signaling.Claims{CaseID: c.caseID, SessionID: c.sessionID, ParticipantID: fmt.Sprintf("load-%s-%s-s%d", run, c.sessionID[:8], seat),
			Name: fmt.Sprintf("负载 %d-%d", room, seat), CanPublish: true, CanSubscribe: true, ExpiresAt: time.Now().Add(*duration + 10*time.Minute)}
		switch seat {
		case 0:
			cl.Role, cl.CanModerate = signaling.RoleMediator, true
		case 1:
			cl.Role = signaling.RoleJudge
		default:
			cl.Role = signaling.RoleClerk
		}
		tok, err := signaling.IssueToken(key, cl)
		return loadtest.Seat{Token: tok, CaseID: c.caseID, SessionID: c.sessionID}, err
	}
	probe := func(ctx context.Context) (loadtest.ServerSample, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/rtc/stats", nil)
		req.Header.Set("Authorization", "Bearer "+lt.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return loadtest.ServerSample{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return loadtest.ServerSample{}, fmt.Errorf("GET /api/v1/rtc/stats: %s", resp.Status)
		}
		var st serverStats
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return loadtest.ServerSample{}, err
		}
		return loadtest.ServerSample{Stats: st.Media, CPU: time.Duration(st.CPUSeconds * float64(time.Second)), RSSBytes: uint64(st.RSSBytes)}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, *duration+time.Duration(len(rooms)**per)*time.Second+2*time.Minute)
	defer cancel()
	fmt.Fprintf(stdout, "load: %d room(s) × %d participant(s), %s, against %s\n", len(rooms), *per, *duration, wsURL)
	rep, err := loadtest.Run(rctx, loadtest.Config{URL: wsURL, Rooms: len(rooms), PerRoom: *per, Publishers: o.publishers, Audio: o.audio, Video: o.video,
		VideoBitrate: o.bitrate, Duration: *duration, Join: join, Loopback: o.loopback, Probe: probe, Logger: b.log})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

type loadCase struct{ caseID, sessionID string }

type loadRun struct {
	store    *cases.Store
	id       string
	token    string
	tokenID  string
	admin    cases.Principal
	mediator cases.Principal
	cases    []loadCase
}

// prepareLoad makes (once) a load-test court, organisation and staff, and one live session per room.
func prepareLoad(ctx context.Context, s *cases.Store, rooms int) (*loadRun, error) {
	rb := make([]byte, 4)
	rand.Read(rb)
	lr := &loadRun{store: s, id: hex.EncodeToString(rb)}
	password := hex.EncodeToString(append(rb, rb...)) + "Load!"
	ensureOrg := func(kind cases.OrgKind, mk cases.MediationKind, name string) (*cases.Organisation, error) {
		orgs, err := s.Organisations(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			if o.Name == name {
				return &o, nil
			}
		}
		return s.CreateOrganisation(ctx, cases.NewOrganisation{Kind: kind, MediationKind: mk, Name: name, Region: "负载测试"})
	}
	court, err := ensureOrg(cases.OrgCourt, "", "Parley 负载测试法院")
	if err != nil {
		return nil, err
	}
	org, err := ensureOrg(cases.OrgMediation, cases.MedCommercial, "Parley 负载测试调解室")
	if err != nil {
		return nil, err
	}
	ensureAccount := func(org *cases.Organisation, role cases.Role, user string) (cases.Principal, error) {
		a, err := s.AccountByUsername(ctx, user)
		if err != nil {
			orgID := ""
			if org != nil {
				orgID = org.ID
			}
			if a, err = s.CreateAccount(ctx, cases.NewAccount{OrgID: orgID, Role: role, Username: user, DisplayName: user, Password: password}); err != nil {
				return cases.Principal{}, err
			}
		}
		return s.AccountPrincipal(ctx, a.ID)
	}
	if lr.admin, err = ensureAccount(nil, cases.RoleAdmin, "loadtest-admin"); err != nil {
		return nil, err
	}
	clerk, err := ensureAccount(court, cases.RoleClerk, "loadtest-clerk")
	if err != nil {
		return nil, err
	}
	if lr.mediator, err = ensureAccount(org, cases.RoleMediator, "loadtest-mediator"); err != nil {
		return nil, err
	}
	// The load court's roster holds the load organisation, so that cases can be referred to it.
	roster, err := s.Roster(ctx, cases.RosterFilter{CourtID: court.ID, Status: cases.RosterConfirmed})
	if err != nil {
		return nil, err
	}
	if len(roster) == 0 {
		e, err := s.Recommend(ctx, lr.admin, cases.Recommendation{CourtID: court.ID, OrganisationID: org.ID})
		if err != nil {
			return nil, err
		}
		if _, err := s.DecideRoster(ctx, clerk, e.ID, cases.RosterConfirmed, "load test"); err != nil {
			return nil, err
		}
	}
	t, secret, err := s.CreateAPIToken(ctx, lr.admin.ID, "loadtest "+lr.id, time.Hour)
	if err != nil {
		return nil, err
	}
	lr.token, lr.tokenID = string(secret), t.ID
	yes := true
	for i := 0; i < rooms; i++ {
		c, err := s.CreateCase(ctx, clerk, cases.NewCase{Title: fmt.Sprintf("负载测试 %s-%d", lr.id, i), DisputeType: cases.DisputeOther, Summary: "load test",
			Source: cases.SourceDelegated, CourtID: court.ID, Parties: []cases.NewParty{
				{Side: cases.Applicant, Kind: cases.PartyPerson, Name: "负载甲", Phone: "13000000001"},
				{Side: cases.Respondent, Kind: cases.PartyPerson, Name: "负载乙", Phone: "13000000002"}}})
		if err != nil {
			return nil, err
		}
		steps := []struct {
			p  cases.Principal
			a  cases.Action
			in cases.Params
		}{
			{clerk, cases.ActRefer, cases.Params{MediatorIDs: []string{lr.mediator.ID}, OrganisationID: org.ID}},
			{lr.mediator, cases.ActAccept, cases.Params{}},
			{clerk, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: c.Parties[0].ID, Note: "load test"}},
			{clerk, cases.ActConsentOnline, cases.Params{Consent: &yes, PartyID: c.Parties[1].ID, Note: "load test"}},
		}
		for _, st := range steps {
			if _, err := s.Act(ctx, st.p, c.ID, st.a, st.in); err != nil {
				return nil, fmt.Errorf("%s: %w", st.a, err)
			}
		}
		ss, err := s.CreateSession(ctx, lr.mediator, c.ID, cases.NewSession{Title: "load test", Start: true})
		if err != nil {
			return nil, err
		}
		lr.cases = append(lr.cases, loadCase{caseID: c.ID, sessionID: ss.ID})
	}
	return lr, nil
}

// cleanup ends the load sessions and cases and revokes the probe's token.
func (lr *loadRun) cleanup(ctx context.Context) {
	for _, c := range lr.cases {
		_, _ = lr.store.EndSession(ctx, lr.mediator, c.sessionID)
		_, _ = lr.store.Act(ctx, lr.mediator, c.caseID, cases.ActEnd, cases.Params{Ground: cases.GroundOther, Note: "load test " + lr.id})
	}
	_ = lr.store.RevokeAPIToken(ctx, lr.admin.ID, lr.tokenID)
}
