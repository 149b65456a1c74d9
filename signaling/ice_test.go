package signaling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// TestTURNAndICETCP: a client that may only use the embedded TURN server (relay
// candidates, credentials from joined) and a client that may only use TCP (the
// ICE-TCP port) both exchange media with a plain UDP client. Everything on loopback.
func TestTURNAndICETCP(t *testing.T) {
	t.Parallel()
	cfg := sfu.LoopbackConfig()
	cfg.ICETCPPort = 0
	cfg.TURN.Enabled = true
	cfg.TURN.Secret = "turn-test-secret"
	cfg.TURN.RelayIP = "127.0.0.1"
	h := newHarnessWith(t, cfg, nil)
	ctx := testCtx(t, 40*time.Second)

	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	servers := med.Joined().ICEServers
	var turnURLs []string
	for _, s := range servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") {
				turnURLs = append(turnURLs, u)
				if !strings.HasSuffix(s.Username, ":med") || s.Credential == "" {
					t.Errorf("TURN entry %q has username %q, want \"<expiry>:med\" and a credential", u, s.Username)
				}
			}
		}
	}
	if len(turnURLs) != 2 {
		t.Fatalf("ice_servers TURN URLs %v, want UDP and TCP", turnURLs)
	}

	relay := h.dialWith(ctx, h.claims("relay", signaling.RoleClerk, ""), client.Config{Relay: true})
	tcp := h.dialWith(ctx, h.claims("tcp", signaling.RoleClerk, ""), client.Config{TCP: true})
	publish(ctx, t, med, client.PublishOptions{Audio: true, Video: true})
	publish(ctx, t, relay, client.PublishOptions{Audio: true})
	publish(ctx, t, tcp, client.PublishOptions{Audio: true})
	waitFor(t, 20*time.Second, "media over TURN and over ICE-TCP", func() bool {
		return packets(relay, "med/audio") > 20 && relay.Stats()["med/video"].Keyframes > 0 &&
			packets(tcp, "med/audio") > 20 && tcp.Stats()["med/video"].Keyframes > 0 &&
			packets(med, "relay/audio") > 20 && packets(med, "tcp/audio") > 20
	})
}
