package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/loadtest"
)

// loadPresets are the scenarios of the performance comparison (README, performance).
var loadPresets = map[string]struct {
	rooms, per, publishers, bitrate int
	what                            string
}{
	"fanout-20":  {1, 21, 1, 500_000, "1 publisher → 20 subscribers, 500 kbit/s"},
	"rooms-10x4": {10, 4, 0, 300_000, "10 rooms × 4, all publishing, 300 kbit/s"},
	"fanout-250": {1, 251, 1, 500_000, "1 publisher → 250 subscribers, 500 kbit/s"},
	"fanout-300": {1, 301, 1, 500_000, "1 publisher → 300 subscribers, 500 kbit/s"},
}

// runLoadtest drives a running Parley server with rooms of Pion clients and prints what it forwarded: packets and
// bytes per second, server CPU per forwarded packet and per datagram (and as a multiple of the sendto + SRTP floor
// it measures first on this machine), loss at every stage, join → first frame p50/p99 and memory per participant.
// It prepares its sessions in the server's database (a load-test court, organisation, mediator and one case per
// room) and mints join tokens with the server's key, so it must run where the database is reachable; the media goes
// to the server's signalling URL. Every loop is bounded by -duration (and the search by its step count) and stops by
// itself; the sessions are ended afterwards.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "base URL of the running server; several, comma-separated, spread the rooms over the nodes of a cluster (room i on server i mod n, all at once, reported per node)")
	preset := fs.String("preset", "", "scenario: fanout-20, rooms-10x4, fanout-250 or fanout-300 (sets rooms, participants, publishers, bitrate; flags given as well win)")
	rooms := fs.Int("rooms", 10, "number of rooms (1–200)")
	per := fs.Int("participants", 4, "participants per room (1–1000)")
	publishers := fs.Int("publishers", 0, "publishing participants per room (0 = all)")
	duration := fs.Duration("duration", 20*time.Second, "measurement window (at most 10m; presets: 30s)")
	bitrate := fs.Int("bitrate", 0, "synthetic VP8 bitrate in bits/s (0 = the embedded ~150 kbit/s clip)")
	audio := fs.Bool("audio", true, "publish Opus audio")
	video := fs.Bool("video", true, "publish video")
	loopback := fs.Bool("loopback", true, "gather ICE candidates on loopback only (server on this host, started with PARLEY_ICE_FILTER=127.0.0.0/8)")
	floor := fs.Bool("floor", true, "measure the sendto + SRTP floor on this machine before the load and print the server's CPU per datagram as a multiple of it")
	serverPID := fs.Int("server-pid", 0, "process ID of the server when it runs on this host (0 = the one its stats endpoint reports, if that process is visible here)")
	pinServer := fs.String("pin-server", "", "CPU list (e.g. 1) to pin every thread of the server process to (same host only)")
	pinLoad := fs.String("pin-load", "", "CPU list (e.g. 0) to pin this load generator to")
	search := fs.Bool("search", false, "find the largest fan-out (1 publisher → N) the server carries with < 1% loss: runs of -duration (default 10s) with growing N, then bisection")
	searchMax := fs.Int("search-max", 1000, "largest N the search tries")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: parley loadtest [-preset NAME | -rooms N -participants M -publishers P -bitrate B] [-duration D] [-search] [-pin-server CPUS -pin-load CPUS] [-server URL]")
		fs.PrintDefaults()
	}
	// The database settings come from the environment (PARLEY_DATABASE_URL …), as for the server.
	if err := fs.Parse(args); err != nil {
		return exitError{2, ""}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *preset != "" {
		p, ok := loadPresets[*preset]
		if !ok {
			return exitError{2, "unknown preset " + *preset + " (fanout-20, rooms-10x4, fanout-250, fanout-300)"}
		}
		fmt.Fprintf(stdout, "preset %s: %s\n", *preset, p.what)
		for name, v := range map[string]*int{"rooms": rooms, "participants": per, "publishers": publishers, "bitrate": bitrate} {
			if !set[name] {
				*v = map[string]int{"rooms": p.rooms, "participants": p.per, "publishers": p.publishers, "bitrate": p.bitrate}[name]
			}
		}
		if !set["duration"] {
			*duration = 30 * time.Second
		}
	}
	if *search {
		*rooms, *publishers = 1, 1
		if !set["bitrate"] && *preset == "" {
			*bitrate = 500_000
		}
		if !set["duration"] {
			*duration = 10 * time.Second
		}
	}
	switch {
	case *rooms < 1 || *rooms > 200:
		return exitError{2, "rooms must be 1–200"}
	case *per < 1 || *per > 1000:
		return exitError{2, "participants must be 1–1000"}
	case *duration <= 0 || *duration > 10*time.Minute:
		return exitError{2, "duration must be positive and at most 10m"}
	case *bitrate < 0 || *bitrate > 10_000_000:
		return exitError{2, "bitrate must be 0–10000000"}
	case *searchMax < 2 || *searchMax > 1000:
		return exitError{2, "search-max must be 2–1000"}
	}
	servers := splitList(*server)
	switch {
	case len(servers) == 0:
		return exitError{2, "server: give at least one URL"}
	case len(servers) > *rooms:
		return exitError{2, "more servers than rooms"}
	case len(servers) > 1 && (*search || *pinServer != "" || *serverPID != 0):
		return exitError{2, "search, pin-server and server-pid need a single -server"}
	}
	serverCPUs, err := loadtest.ParseCPUs(*pinServer)
	if err != nil {
		return exitError{2, "pin-server: " + err.Error()}
	}
	loadCPUs, err := loadtest.ParseCPUs(*pinLoad)
	if err != nil {
		return exitError{2, "pin-load: " + err.Error()}
	}
	if err := loadtest.Pin(0, loadCPUs); err != nil {
		return err
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
	// The floor is measured once, before any load, and shared by the nodes' reports. With
	// both pinned, it is sent from the server's cores and read on the load generator's, as
	// the server's datagrams go (and on one core too, for comparison).
	var floorCPUs loadtest.FloorCPUs
	if len(serverCPUs) > 0 && len(loadCPUs) > 0 {
		floorCPUs = loadtest.FloorCPUs{Send: serverCPUs, Recv: loadCPUs}
	}
	var floorMu sync.Mutex
	var floorM *loadtest.Floor
	floorOnce := func(cfg loadtest.Config) (loadtest.Floor, error) {
		floorMu.Lock()
		defer floorMu.Unlock()
		if floorM == nil {
			sizes, shares := loadtest.LoadMix(cfg)
			f, err := loadtest.MeasureFloor(sizes, shares, 20000, floorCPUs)
			if err != nil {
				return loadtest.Floor{}, err
			}
			floorM = &f
			fmt.Fprint(stdout, f.String())
		}
		return *floorM, nil
	}
	// runNode runs the load of the rooms mine against one server, printing to stdout.
	runNode := func(server string, mine []loadCase, stdout io.Writer) error {
		base := strings.TrimRight(server, "/")
		wsURL := strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1) + "/rtc"
		iteration := 0 // participant IDs are fresh per run (the search reuses its room)
		join := func(room, seat int) (loadtest.Seat, error) {
			c := mine[room]
			cl := signaling.Claims{CaseID: c.caseID, SessionID: c.sessionID, ParticipantID: fmt.Sprintf("load-%s-%d-%s-s%d", lt.id, iteration, c.sessionID[:8], seat),
				Name: fmt.Sprintf("负载 %d-%d", room, seat), CanPublish: true, CanSubscribe: true, ExpiresAt: time.Now().Add(*duration + 30*time.Minute)}
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
		stats := func(ctx context.Context) (serverStats, error) {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/rtc/stats", nil)
			req.Header.Set("Authorization", "Bearer "+lt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return serverStats{}, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return serverStats{}, fmt.Errorf("GET /api/v1/rtc/stats: %s", resp.Status)
			}
			var st serverStats
			err = json.NewDecoder(resp.Body).Decode(&st)
			return st, err
		}
		first, err := stats(ctx)
		if err != nil {
			return fmt.Errorf("loadtest: server stats of %s: %w", base, err)
		}
		pid := *serverPID
		if pid == 0 && first.PID > 0 {
			if _, err := loadtest.ProcCPU(first.PID); err == nil {
				pid = first.PID // the server runs on this host (and in this PID namespace)
			}
		}
		cpuFrom := "its stats endpoint"
		if pid > 0 {
			cpuFrom = fmt.Sprintf("/proc/%d/stat", pid)
		}
		if len(serverCPUs) > 0 {
			if pid == 0 {
				return exitError{2, "pin-server needs the server on this host (give -server-pid)"}
			}
			if err := loadtest.Pin(pid, serverCPUs); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "server (pid %d) pinned to CPU %s\n", pid, *pinServer)
		}
		if len(loadCPUs) > 0 {
			fmt.Fprintf(stdout, "load generator pinned to CPU %s\n", *pinLoad)
		}
		probe := func(ctx context.Context) (loadtest.ServerSample, error) {
			st, err := stats(ctx)
			if err != nil {
				return loadtest.ServerSample{}, err
			}
			smp := loadtest.ServerSample{Stats: st.Media, CPU: time.Duration(st.CPUSeconds * float64(time.Second)), RSSBytes: uint64(st.RSSBytes)}
			if pid > 0 {
				if cpu, err := loadtest.ProcCPU(pid); err == nil {
					smp.CPU = cpu
				}
			}
			return smp, nil
		}
		cfg := loadtest.Config{URL: wsURL, Rooms: len(mine), PerRoom: *per, Publishers: *publishers, Audio: *audio, Video: *video,
			VideoBitrate: *bitrate, Duration: *duration, Join: join, Loopback: *loopback, Probe: probe, Logger: b.log}
		if *floor {
			f, err := floorOnce(cfg)
			if err != nil {
				return err
			}
			cfg.Floor = &f
		}
		fmt.Fprintf(stdout, "server CPU from %s; load average %s\n", cpuFrom, loadAverage())
		runOnce := func(rooms, per int) (loadtest.Report, error) {
			iteration++
			c := cfg
			c.Rooms, c.PerRoom = rooms, per
			rctx, cancel := context.WithTimeout(ctx, c.Duration+time.Duration(rooms*per)*time.Second+2*time.Minute)
			defer cancel()
			g0, _ := loadtest.ProcCPU(os.Getpid())
			t0 := time.Now()
			rep, err := loadtest.Run(rctx, c)
			if err != nil {
				return rep, err
			}
			g1, _ := loadtest.ProcCPU(os.Getpid())
			fmt.Fprint(stdout, rep.String())
			fmt.Fprintf(stdout, "load generator: %.0f%% of one core over the run; load average %s\n",
				100*(g1-g0).Seconds()/time.Since(t0).Seconds(), loadAverage())
			return rep, nil
		}
		if !*search {
			fmt.Fprintf(stdout, "load: %d room(s) × %d participant(s), %s, against %s\n", len(mine), *per, *duration, wsURL)
			_, err := runOnce(len(mine), *per)
			return err
		}
		// Search: 1 publisher → n subscribers; double n from 25 while clean, then bisect.
		fits := func(n int) (bool, error) {
			fmt.Fprintf(stdout, "search: 1 → %d, %s\n", n, *duration)
			rep, err := runOnce(1, n+1)
			if err != nil {
				return false, err
			}
			ok := rep.Clean(0.01) && rep.ServerCPUPercent < 100
			fmt.Fprintf(stdout, "search: 1 → %d: loss %.3f%%, delivered %.1f%%, server %.0f%% of a core: %v\n", n, 100*rep.Loss, 100*rep.Delivered, rep.ServerCPUPercent, map[bool]string{true: "fits", false: "does not fit"}[ok])
			return ok, nil
		}
		good, bad := 0, 0
		for n := min(25, *searchMax); n <= *searchMax; n = min(n*2, *searchMax) {
			ok, err := fits(n)
			if err != nil {
				return err
			}
			if !ok {
				bad = n
				break
			}
			good = n
			if n == *searchMax {
				break
			}
		}
		for steps := 0; bad > 0 && bad-good > max(5, good/20) && steps < 5; steps++ {
			mid := (good + bad) / 2
			ok, err := fits(mid)
			if err != nil {
				return err
			}
			if ok {
				good = mid
			} else {
				bad = mid
			}
		}
		if bad == 0 {
			fmt.Fprintf(stdout, "search result: every fan-out tried fits, up to 1 → %d (raise -search-max)\n", good)
			return nil
		}
		fmt.Fprintf(stdout, "search result: the largest fan-out carried with < 1%% loss is 1 → %d (1 → %d did not fit)\n", good, bad)
		return nil
	}
	if len(servers) == 1 {
		return runNode(servers[0], lt.cases, stdout)
	}
	if *floor {
		// Before the nodes start: measured on an idle generator.
		if _, err := floorOnce(loadtest.Config{Rooms: *rooms, PerRoom: *per, Publishers: *publishers, Audio: *audio, Video: *video, VideoBitrate: *bitrate}); err != nil {
			return err
		}
	}
	// Room i goes to server i mod n; the nodes run at once, each reported on its own.
	outs := make([]bytes.Buffer, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for si, srv := range servers {
		var mine []loadCase
		for i, c := range lt.cases {
			if i%len(servers) == si {
				mine = append(mine, c)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[si] = runNode(srv, mine, &outs[si])
		}()
	}
	wg.Wait()
	var first error
	for si, srv := range servers {
		fmt.Fprintf(stdout, "\n== node %s ==\n", srv)
		fmt.Fprint(stdout, outs[si].String())
		if errs[si] != nil {
			fmt.Fprintf(stdout, "error: %v\n", errs[si])
			if first == nil {
				first = fmt.Errorf("loadtest %s: %w", srv, errs[si])
			}
		}
	}
	return first
}

// loadAverage is the first line of /proc/loadavg (the machine may be shared: figures
// taken under load are noisy).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
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
			{clerk, cases.ActWaiveChoice, cases.Params{PartyID: c.Parties[0].ID, Note: "load test"}},
			{clerk, cases.ActWaiveChoice, cases.Params{PartyID: c.Parties[1].ID, Note: "load test"}},
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
		_, _ = lr.store.Act(ctx, lr.mediator, c.caseID, cases.ActEnd, cases.Params{Ground: cases.GroundOther, Note: "load test " + lr.id, Report: &cases.FailureReport{Facts: "load test " + lr.id, Reasons: "load test ended", Suggestions: "none: a load test"}})
	}
	_ = lr.store.RevokeAPIToken(ctx, lr.admin.ID, lr.tokenID)
}
