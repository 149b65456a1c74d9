//go:build linux

package sfu

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/ice/v4"
)

func listenRaw(t *testing.T, network, addr string) *rawUDPConn {
	t.Helper()
	n, _, err := newMediaNet()
	if err != nil {
		t.Fatal(err)
	}
	la, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.ListenUDP(network, la)
	if err != nil {
		t.Skipf("no %s socket here: %v", network, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*rawUDPConn)
}

// TestRawUDPConn: the media socket's raw reads and writes carry datagrams both ways with the
// right peer addresses (IPv4 and IPv6), pion's mux takes the allocation-free path through
// them, a closed socket says net.ErrClosed, and neither direction allocates.
func TestRawUDPConn(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			a := listenRaw(t, tc.network, tc.addr)
			b := listenRaw(t, tc.network, tc.addr)
			var _ ice.AddrPortReaderWriter = a
			if a.v4 != (tc.network == "udp4") {
				t.Fatalf("family: v4=%v for %s", a.v4, tc.network)
			}
			aAddr := a.LocalAddr().(*net.UDPAddr).AddrPort()
			bAddr := b.LocalAddr().(*net.UDPAddr).AddrPort()
			buf := make([]byte, 1500)
			for i, msg := range []string{"one", "two datagrams", string(make([]byte, 1200))} {
				if n, err := a.WriteToAddrPort([]byte(msg), bAddr); err != nil || n != len(msg) {
					t.Fatalf("write %d: %d, %v", i, n, err)
				}
				_ = b.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, from, err := b.ReadFromAddrPort(buf)
				if err != nil || string(buf[:n]) != msg || from != aAddr {
					t.Fatalf("read %d: %q from %v, %v (want %q from %v)", i, buf[:n], from, err, msg, aAddr)
				}
			}
			// The standard socket on the other end agrees (the raw path is plain UDP).
			if _, err := b.UDPConn.WriteToUDPAddrPort([]byte("back"), aAddr); err != nil {
				t.Fatal(err)
			}
			_ = a.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, from, err := a.ReadFromAddrPort(buf); err != nil || string(buf[:n]) != "back" || from != bAddr {
				t.Fatalf("read back: %q from %v, %v", buf[:n], from, err)
			}
			// A deadline still ends a read that waits.
			_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			var ne net.Error
			if _, _, err := a.ReadFromAddrPort(buf); !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("read past the deadline: %v", err)
			}
			_ = a.SetReadDeadline(time.Time{})
			// Other family: net's own error, no panic.
			other := netip.MustParseAddrPort("[2001:db8::1]:9")
			if tc.network == "udp6" {
				other = netip.MustParseAddrPort("192.0.2.1:9")
			}
			if _, err := a.WriteToAddrPort([]byte("x"), other); err == nil && tc.network == "udp4" {
				t.Fatal("an IPv4 socket wrote to an IPv6 address")
			}
			msg := make([]byte, 1100)
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := a.WriteToAddrPort(msg, bAddr); err != nil {
					t.Fatal(err)
				}
				if _, _, err := b.ReadFromAddrPort(buf); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 && !raceEnabled { // sync.Pool drops items at random under the race detector
				t.Fatalf("%.1f allocations per datagram written and read, want 0", allocs)
			}
			_ = a.Close()
			if _, err := a.WriteToAddrPort([]byte("x"), bAddr); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("write on a closed socket: %v", err)
			}
			if _, _, err := a.ReadFromAddrPort(buf); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read on a closed socket: %v", err)
			}
		})
	}
}
