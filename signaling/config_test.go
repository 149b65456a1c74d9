package signaling_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// otherNode is a Placement under which another node hosts every session.
type otherNode struct{}

func (otherNode) Claim(context.Context, string, string) (string, error) { return "node-b", nil }
func (otherNode) Release(context.Context, string, string) error         { return nil }

func TestWrongNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *signaling.Config) { c.Placement = otherNode{}; c.NodeID = "node-a" })
	ctx := testCtx(t, 10*time.Second)
	c := h.claims("med", signaling.RoleMediator, "")
	_, err := client.Dial(ctx, client.Config{URL: h.url, Token: h.token(c), CaseID: c.CaseID, SessionID: c.SessionID, Loopback: true})
	var e *signaling.Error
	if !errorsAs(err, &e) || e.Code != signaling.CodeWrongNode || e.Node != "node-b" {
		t.Errorf("join on the wrong node: %v, want wrong_node naming node-b", err)
	}
}

func TestAllowedOrigins(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *signaling.Config) { c.AllowedOrigins = []string{"https://parley.example.cn"} })
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://parley.example.cn", true},
		{"https://evil.example.com", false},
		{"", true}, // native clients send no Origin
	}
	for _, tt := range tests {
		hdr := http.Header{}
		if tt.origin != "" {
			hdr.Set("Origin", tt.origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(h.url, hdr)
		if ws != nil {
			ws.Close()
		}
		if got := err == nil; got != tt.ok {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("origin %q: upgraded=%v (status %d), want %v", tt.origin, got, status, tt.ok)
		}
	}
}

// TestNAT1To1: with a public IP configured, the server's candidates announce it. The
// "public" address is another loopback address, so nothing leaves the host.
func TestNAT1To1(t *testing.T) {
	t.Parallel()
	cfg := sfu.LoopbackConfig()
	cfg.NAT1To1IPs = []string{"127.0.0.2"}
	h := newHarnessWith(t, cfg, nil)
	ctx := testCtx(t, 20*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	// ICE may not complete; the candidates are what is checked. The publish ends before the test does.
	pctx, pcancel := context.WithCancel(ctx)
	published := make(chan struct{})
	go func() {
		defer close(published)
		_ = med.Publish(pctx, client.PublishOptions{Audio: true})
	}()
	defer func() { pcancel(); <-published }()
	env, err := med.Wait(ctx, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeCandidate && strings.Contains(string(e.Data), `"publisher"`)
	})
	if err != nil {
		t.Fatalf("no publisher candidate: %v", err)
	}
	if !strings.Contains(string(env.Data), " 127.0.0.2 ") || strings.Contains(string(env.Data), "127.0.0.1") {
		t.Errorf("candidate %s, want the NAT 1:1 address instead of the host address", env.Data)
	}
}
