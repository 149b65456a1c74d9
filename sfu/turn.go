package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/pion/turn/v5"
)

// turnServer is the embedded TURN relay (UDP and TCP listeners on one server).
type turnServer struct {
	srv  *turn.Server
	udp  net.PacketConn
	tcp  net.Listener
	host string
}

// startTURN listens on the configured TURN ports and starts a pion/turn server that
// accepts REST-style time-limited credentials signed with cfg.TURN.Secret.
func startTURN(cfg Config, filter ipFilter, plf pionLoggerFactory, log *slog.Logger) (*turnServer, error) {
	relayIP := cfg.TURN.RelayIP
	if relayIP == "" && len(cfg.NAT1To1IPs) > 0 {
		relayIP = cfg.NAT1To1IPs[0]
	}
	if relayIP == "" {
		relayIP = firstAddress(filter)
	}
	if relayIP == "" {
		return nil, fmt.Errorf("sfu: turn: no relay address: set TURN.RelayIP")
	}
	bind := "0.0.0.0"
	if filter.loopbackOnly() {
		bind = "127.0.0.1"
	}
	ts := &turnServer{host: cfg.TURN.Host}
	if ts.host == "" {
		ts.host = relayIP
	}
	gen := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(relayIP), Address: bind}
	}
	var scfg turn.ServerConfig
	scfg.Realm = cfg.TURN.Realm
	scfg.LoggerFactory = plf
	scfg.AuthHandler = turn.LongTermTURNRESTAuthHandler(string(cfg.TURN.Secret), plf.NewLogger("turn-auth"))
	if cfg.TURN.UDPPort >= 0 {
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(bind, strconv.Itoa(cfg.TURN.UDPPort)))
		if err != nil {
			return nil, fmt.Errorf("sfu: turn udp listen: %w", err)
		}
		ts.udp = pc
		scfg.PacketConnConfigs = append(scfg.PacketConnConfigs, turn.PacketConnConfig{PacketConn: pc, RelayAddressGenerator: gen()})
	}
	if cfg.TURN.TCPPort >= 0 {
		ln, err := net.Listen("tcp4", net.JoinHostPort(bind, strconv.Itoa(cfg.TURN.TCPPort)))
		if err != nil {
			ts.close()
			return nil, fmt.Errorf("sfu: turn tcp listen: %w", err)
		}
		ts.tcp = ln
		scfg.ListenerConfigs = append(scfg.ListenerConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen()})
	}
	srv, err := turn.NewServer(scfg)
	if err != nil {
		ts.close()
		return nil, fmt.Errorf("sfu: turn server: %w", err)
	}
	ts.srv = srv
	log.Info("turn server started", "udp", ts.udpAddr(), "tcp", ts.tcpAddr(), "relay_ip", relayIP)
	return ts, nil
}

func (t *turnServer) udpAddr() net.Addr {
	if t.udp == nil {
		return nil
	}
	return t.udp.LocalAddr()
}

func (t *turnServer) tcpAddr() net.Addr {
	if t.tcp == nil {
		return nil
	}
	return t.tcp.Addr()
}

func (t *turnServer) close() {
	if t.srv != nil {
		_ = t.srv.Close() // closes the listeners too
		return
	}
	if t.udp != nil {
		_ = t.udp.Close()
	}
	if t.tcp != nil {
		_ = t.tcp.Close()
	}
}

// firstAddress returns the first IPv4 address of an interface the filter accepts.
func firstAddress(f ipFilter) string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || !f.keepInterface(ifc.Name) {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil || !f.keepIP(n.IP) {
				continue
			}
			return n.IP.String()
		}
	}
	return ""
}
