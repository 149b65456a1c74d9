package sfu

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"bad nat ip", func(c *Config) { c.NAT1To1IPs = []string{"example.com"} }, "nat 1:1"},
		{"bad filter", func(c *Config) { c.ICEFilter = []string{"10.0.0.0/40"} }, "ice filter"},
		{"unknown codec", func(c *Config) { c.Codecs = []string{"AV1"} }, "unknown codec"},
		{"turn without secret", func(c *Config) { c.TURN.Enabled = true }, "secret"},
		{"bad relay ip", func(c *Config) { c.TURN.RelayIP = "nope" }, "relay ip"},
	}
	for _, tt := range tests {
		c := LoopbackConfig()
		tt.mutate(&c)
		_, err := NewEngine(c, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewEngine error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestEngineICEServers(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := LoopbackConfig()
	c.TURN.Enabled, c.TURN.Secret, c.TURN.RelayIP = true, "s3cret", "127.0.0.1"
	c.Now = func() time.Time { return now }
	e, err := NewEngine(c, nil)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	defer e.Close()
	servers := e.ICEServers("p-1", time.Hour)
	if len(servers) != 3 {
		t.Fatalf("ICEServers returned %d entries, want stun, turn/udp, turn/tcp: %+v", len(servers), servers)
	}
	wantUser := strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + ":p-1"
	mac := hmac.New(sha1.New, []byte("s3cret"))
	mac.Write([]byte(wantUser))
	wantPass := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range servers[1:] {
		if s.Username != wantUser || s.Credential != wantPass {
			t.Errorf("%v: credentials %q/%q, want %q/%q", s.URLs, s.Username, s.Credential, wantUser, wantPass)
		}
		if !strings.HasPrefix(s.URLs[0], "turn:127.0.0.1:") {
			t.Errorf("TURN URL %q, want the relay address", s.URLs[0])
		}
	}
	udp, tcp := e.TURNAddrs()
	if udp == nil || tcp == nil {
		t.Errorf("TURN listeners %v %v, want both", udp, tcp)
	}
	if got := e.Stats().Rooms; got != 0 {
		t.Errorf("rooms %d, want 0", got)
	}

	off, err := NewEngine(LoopbackConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if s := off.ICEServers("p", time.Hour); s != nil {
		t.Errorf("ICEServers without TURN: %+v, want nil", s)
	}
}
