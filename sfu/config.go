package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Codec names accepted in Config.Codecs and in a participant's decode list.
const (
	CodecOpus = "opus"
	CodecVP8  = "VP8"
	CodecH264 = "H264"
)

// Config configures an Engine. Start from DefaultConfig: in Config a zero port means
// "ephemeral" (tests) and -1 means "off".
type Config struct {
	// UDPPort is the single UDP port that carries all media (ICE UDP mux). 0 picks an
	// ephemeral port per listening address (tests).
	UDPPort int
	// ICETCPPort is the ICE-TCP fallback port (passive TCP candidates). -1 turns ICE-TCP
	// off, 0 picks an ephemeral port.
	ICETCPPort int
	// NAT1To1IPs are public IPs announced instead of the host addresses when the server
	// sits behind a 1:1 NAT (cloud VMs with an elastic IP).
	NAT1To1IPs []string
	// ICEFilter limits the addresses used for ICE candidates: each entry is an interface
	// name ("eth0", "lo") or a CIDR ("10.0.0.0/8", "127.0.0.0/8"). Empty means every
	// non-loopback interface. Loopback is included only when an entry names it.
	ICEFilter []string
	// TURN configures the embedded TURN server.
	TURN TURNConfig
	// Codecs lists the codecs rooms may use: any of "opus", "VP8", "H264". Empty means all.
	Codecs []string
	// KeyframeMinInterval throttles keyframe requests (PLI) per published layer.
	KeyframeMinInterval time.Duration
	// MaxVideoBitrate caps the bandwidth estimate per subscriber (bits/s).
	MaxVideoBitrate int
	// NoDirectSend turns the direct send path off (direct.go): every forwarded packet
	// then goes through Pion's SRTP session and ICE connection, one sendto each.
	NoDirectSend bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TURNConfig configures the embedded TURN server (pion/turn) that relays media for
// clients whose networks block direct UDP.
type TURNConfig struct {
	// Enabled starts the TURN server.
	Enabled bool
	// UDPPort and TCPPort are the TURN listening ports (default 3478 both); 0 is
	// ephemeral, -1 off.
	UDPPort int
	TCPPort int
	// Realm is the TURN realm (default "parley").
	Realm string
	// Secret is the shared secret for time-limited REST-style credentials
	// (username "expiry:participant", password base64(HMAC-SHA1(secret, username))).
	Secret Secret
	// RelayIP is the address relays are allocated on and announced with. Empty means the
	// first NAT1To1IP, else the first address accepted by ICEFilter.
	RelayIP string
	// Host is the host name or IP put into the turn:/stun: URLs given to clients. Empty
	// means RelayIP.
	Host string
}

// Secret is a string that logs as redacted.
type Secret string

// LogValue redacts the secret in structured logs.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String redacts the secret in fmt output.
func (Secret) String() string { return "[redacted]" }

// DefaultConfig returns the production defaults: media on UDP 7882, ICE-TCP on 7881,
// TURN on 3478 (disabled until a secret is configured), every codec allowed.
func DefaultConfig() Config {
	return Config{
		UDPPort:             7882,
		ICETCPPort:          7881,
		TURN:                TURNConfig{UDPPort: 3478, TCPPort: 3478, Realm: "parley"},
		Codecs:              []string{CodecOpus, CodecVP8, CodecH264},
		KeyframeMinInterval: 500 * time.Millisecond,
		MaxVideoBitrate:     2_500_000,
	}
}

// LoopbackConfig returns a configuration for tests and single-host deployments: every
// port ephemeral, candidates on loopback only, ICE-TCP off, TURN off.
func LoopbackConfig() Config {
	c := DefaultConfig()
	c.UDPPort = 0
	c.ICETCPPort = -1
	c.ICEFilter = []string{"127.0.0.0/8"}
	c.TURN.UDPPort, c.TURN.TCPPort = 0, 0
	return c
}

func (c *Config) validate() error {
	var errs []error
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("nat 1:1 ip %q is not an IP", ip))
		}
	}
	if _, err := parseFilter(c.ICEFilter); err != nil {
		errs = append(errs, err)
	}
	for _, name := range c.Codecs {
		if canonicalCodec(name) == "" {
			errs = append(errs, fmt.Errorf("unknown codec %q", name))
		}
	}
	if c.TURN.Enabled && c.TURN.Secret == "" {
		errs = append(errs, errors.New("turn enabled without a secret"))
	}
	if c.TURN.RelayIP != "" && net.ParseIP(c.TURN.RelayIP) == nil {
		errs = append(errs, fmt.Errorf("turn relay ip %q is not an IP", c.TURN.RelayIP))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sfu: config: %w", err)
	}
	if c.KeyframeMinInterval <= 0 {
		c.KeyframeMinInterval = 500 * time.Millisecond
	}
	if c.MaxVideoBitrate <= 0 {
		c.MaxVideoBitrate = 2_500_000
	}
	if len(c.Codecs) == 0 {
		c.Codecs = []string{CodecOpus, CodecVP8, CodecH264}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func (c *Config) allows(codec string) bool {
	for _, name := range c.Codecs {
		if canonicalCodec(name) == codec {
			return true
		}
	}
	return false
}

// canonicalCodec maps a codec or MIME name to "opus", "VP8" or "H264" ("" if unknown).
func canonicalCodec(name string) string {
	name = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(name), "audio/"), "video/"))
	switch name {
	case "opus":
		return CodecOpus
	case "vp8":
		return CodecVP8
	case "h264":
		return CodecH264
	}
	return ""
}

// ipFilter is the parsed form of Config.ICEFilter.
type ipFilter struct {
	ifaces []string
	nets   []*net.IPNet
}

func parseFilter(entries []string) (ipFilter, error) {
	var f ipFilter
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			_, n, err := net.ParseCIDR(e)
			if err != nil {
				return f, fmt.Errorf("ice filter %q: %w", e, err)
			}
			f.nets = append(f.nets, n)
			continue
		}
		if ip := net.ParseIP(e); ip != nil {
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			f.nets = append(f.nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		f.ifaces = append(f.ifaces, e)
	}
	return f, nil
}

// keepInterface reports whether ICE may use the named interface.
func (f ipFilter) keepInterface(name string) bool {
	if len(f.ifaces) == 0 {
		return true
	}
	for _, n := range f.ifaces {
		if n == name {
			return true
		}
	}
	return false
}

// keepIP reports whether ICE may use ip.
func (f ipFilter) keepIP(ip net.IP) bool {
	if len(f.nets) == 0 {
		return !ip.IsLoopback() || f.loopback()
	}
	for _, n := range f.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// loopback reports whether the filter names a loopback interface or range.
func (f ipFilter) loopback() bool {
	for _, n := range f.ifaces {
		if n == "lo" || strings.HasPrefix(n, "lo") && len(n) <= 4 {
			return true
		}
	}
	for _, n := range f.nets {
		if n.IP.IsLoopback() {
			return true
		}
	}
	return false
}

// loopbackOnly reports whether every allowed address is a loopback address.
func (f ipFilter) loopbackOnly() bool {
	if len(f.nets) == 0 {
		return false
	}
	for _, n := range f.nets {
		if !n.IP.IsLoopback() {
			return false
		}
	}
	return true
}
