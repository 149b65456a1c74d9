package loadtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/loadtest"
	"github.com/parley-mediation/parley/signaling/sfumedia"
)

var key = []byte("loadtest-key-0123456789abcdef0123456789")

// TestMain doubles as the server process: with PARLEY_LOADTEST_SERVER=1 the test binary
// runs a Parley media server on loopback (so the load figures separate server CPU and
// memory from the clients'), prints its address and serves until stdin closes.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_LOADTEST_SERVER") == "1" {
		serve()
		return
	}
	os.Exit(m.Run())
}

func serve() {
	engine, err := sfu.NewEngine(sfu.LoopbackConfig(), nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cfg := signaling.DefaultConfig()
	cfg.TokenKey = key
	srv := signaling.NewServer(cfg, sfumedia.New(engine), signaling.NewMemRecorder(), nil)
	mux := http.NewServeMux()
	mux.Handle("/rtc", srv.Handler())
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(engine.Stats()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println("listening", ln.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
	_ = engine.Close()
}

// startServer runs the server child process; it returns its address and a probe.
func startServer(t *testing.T) (string, loadtest.ServerProbe) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PARLEY_LOADTEST_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		t.Fatalf("server: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	pid := cmd.Process.Pid
	probe := func(ctx context.Context) (loadtest.ServerSample, error) {
		var s loadtest.ServerSample
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/stats", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&s.Stats); err != nil {
			return s, err
		}
		s.CPU, s.RSSBytes, err = procUsage(pid)
		return s, err
	}
	return "ws://" + addr + "/rtc", probe
}

// procUsage reads CPU time and resident memory of a process from /proc.
func procUsage(pid int) (time.Duration, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	rssPages, _ := strconv.ParseUint(f[21], 10, 64)
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks, rssPages * uint64(os.Getpagesize()), nil
}

func seats(rooms int) func(room, seat int) (loadtest.Seat, error) {
	return func(room, seat int) (loadtest.Seat, error) {
		c := signaling.Claims{CaseID: "load-case", SessionID: fmt.Sprintf("load-%d", room),
			ParticipantID: fmt.Sprintf("r%d-p%d", room, seat), Name: "load", Role: signaling.RoleMediator,
			CanPublish: true, CanSubscribe: true, ExpiresAt: time.Now().Add(time.Hour)}
		tok, err := signaling.IssueToken(key, c)
		return loadtest.Seat{Token: tok, CaseID: c.CaseID, SessionID: c.SessionID}, err
	}
}

// TestLoadSmall runs a small load (2 rooms × 3) as part of the suite: it checks the
// machinery and that every subscriber gets every video track.
func TestLoadSmall(t *testing.T) {
	url, probe := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Config{URL: url, Rooms: 2, PerRoom: 3, Duration: 2 * time.Second,
		Join: seats(2), Loopback: true, Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.MissingTracks != 0 || rep.FirstFrames != 2*3*2 {
		t.Errorf("first frames on %d tracks, %d missing; want 12 and 0", rep.FirstFrames, rep.MissingTracks)
	}
	if rep.PacketsPerSec == 0 || rep.ServerForwardedPerSec == 0 {
		t.Errorf("no traffic measured: %+v", rep)
	}
}

// TestLoadFigures prints the closing-note figures (run with PARLEY_LOAD=1; about a
// minute): 1 publisher → 20 subscribers, and 10 rooms of 4.
func TestLoadFigures(t *testing.T) {
	if os.Getenv("PARLEY_LOAD") == "" {
		t.Skip("set PARLEY_LOAD=1 to run the load figures")
	}
	bitrate, _ := strconv.Atoi(os.Getenv("PARLEY_LOAD_BITRATE")) // 0: the real ~150 kbit/s clip
	runs := []struct {
		name                       string
		rooms, perRoom, publishers int
	}{
		{"1 publisher → 20 subscribers", 1, 21, 1},
		{"10 rooms × 4", 10, 4, 0},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			url, probe := startServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := loadtest.Run(ctx, loadtest.Config{URL: url, Rooms: r.rooms, PerRoom: r.perRoom,
				Publishers: r.publishers, Duration: 15 * time.Second, VideoBitrate: bitrate,
				Join: seats(r.rooms), Loopback: true, Probe: probe})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s\n%s", r.name, rep)
		})
	}
}
