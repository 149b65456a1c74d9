package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
	"github.com/parley-mediation/parley/signaling/sfumedia"
)

var testKey = []byte("parley-test-key-0123456789abcdef0123456789")

// harness is one server (SFU on loopback + signalling over httptest) for one test.
type harness struct {
	t      *testing.T
	engine *sfu.Engine
	srv    *signaling.Server
	rec    *signaling.MemRecorder
	http   *httptest.Server
	url    string
	caseID string
	sess   string
}

func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newHarness(t *testing.T, tweak func(*signaling.Config)) *harness {
	t.Helper()
	return newHarnessWith(t, sfu.LoopbackConfig(), tweak)
}

func newHarnessWith(t *testing.T, media sfu.Config, tweak func(*signaling.Config)) *harness {
	t.Helper()
	engine, err := sfu.NewEngine(media, testLogger())
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	cfg := signaling.DefaultConfig()
	cfg.TokenKey = testKey
	cfg.HeartbeatInterval = 2 * time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	rec := signaling.NewMemRecorder()
	srv := signaling.NewServer(cfg, sfumedia.New(engine), rec, testLogger())
	mux := http.NewServeMux()
	mux.Handle("/rtc", srv.Handler())
	hs := httptest.NewServer(mux)
	h := &harness{t: t, engine: engine, srv: srv, rec: rec, http: hs,
		url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/rtc", caseID: "case-1", sess: "sess-1"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
		_ = engine.Close()
	})
	return h
}

func (h *harness) claims(id string, role signaling.Role, side string) signaling.Claims {
	return signaling.Claims{
		CaseID: h.caseID, SessionID: h.sess, ParticipantID: id, Name: "Name " + id, Role: role, Side: side,
		CanPublish: role != signaling.RoleObserver, CanSubscribe: true,
		CanModerate: role == signaling.RoleMediator,
		ExpiresAt:   time.Now().Add(10 * time.Minute),
	}
}

func (h *harness) token(c signaling.Claims) string {
	h.t.Helper()
	tok, err := signaling.IssueToken(testKey, c)
	if err != nil {
		h.t.Fatalf("IssueToken: %v", err)
	}
	return tok
}

// dial joins with claims; it returns the client (which may be waiting in the lobby).
func (h *harness) dial(ctx context.Context, c signaling.Claims, decode ...string) *client.Client {
	h.t.Helper()
	return h.dialWith(ctx, c, client.Config{Decode: decode})
}

// dialWith joins with claims and extra client settings.
func (h *harness) dialWith(ctx context.Context, c signaling.Claims, cfg client.Config) *client.Client {
	h.t.Helper()
	cfg.URL, cfg.Token, cfg.CaseID, cfg.SessionID = h.url, h.token(c), c.CaseID, c.SessionID
	cfg.Loopback, cfg.Logger = true, testLogger()
	cl, err := client.Dial(ctx, cfg)
	if err != nil {
		h.t.Fatalf("dial %s: %v", c.ParticipantID, err)
	}
	h.t.Cleanup(cl.Close)
	return cl
}

// enter dials and, for lobby roles, has the moderator admit with a passed check.
func (h *harness) enter(ctx context.Context, mod *client.Client, c signaling.Claims, decode ...string) *client.Client {
	h.t.Helper()
	cl := h.dial(ctx, c, decode...)
	if cl.Joined() == nil {
		admit(ctx, h.t, mod, c.ParticipantID)
		if _, err := cl.WaitJoined(ctx); err != nil {
			h.t.Fatalf("%s not admitted: %v", c.ParticipantID, err)
		}
	}
	return cl
}

func admit(ctx context.Context, t *testing.T, mod *client.Client, id string) {
	t.Helper()
	_, err := mod.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: id,
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed, Note: "checked"}})
	if err != nil {
		t.Fatalf("admit %s: %v", id, err)
	}
}

func publish(ctx context.Context, t *testing.T, cl *client.Client, opts client.PublishOptions) {
	t.Helper()
	if err := cl.Publish(ctx, opts); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, diag ...func()) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range diag {
				f()
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// packets returns the packets cl received on trackID.
func packets(cl *client.Client, trackID string) uint64 { return cl.Stats()[trackID].Packets }

// errCode returns the signalling error code of err ("" if none).
func errCode(err error) string {
	var e *signaling.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func decodeData[T any](t *testing.T, env signaling.Envelope) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(env.Data, &v); err != nil {
		t.Fatalf("decode %s: %v", env.Type, err)
	}
	return v
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func errorsAs(err error, target **signaling.Error) bool { return errors.As(err, target) }
