//go:build linux

package sfu

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// The media socket's reads and writes are non-blocking system calls made without telling
// the Go scheduler (syscall.RawSyscall6 inside syscall.RawConn's Read and Write): the
// socket is non-blocking, so a call never waits in the kernel — when it would (EAGAIN) the
// goroutine parks on the runtime's poller exactly as net.UDPConn does. What this saves is
// the scheduler's system-call bookkeeping: every sendto and recvfrom through net.UDPConn
// enters and leaves a "syscall" state, and entering it while the runtime's monitor thread
// (sysmon) sleeps wakes that thread, which then polls every 20 µs for a while. A fan-out
// writes one packet to every subscriber, so on a lightly loaded server (a room of twenty)
// that monitor was the largest single cost per forwarded datagram (issue 15's profile:
// 38 % of the server's CPU in runtime.sysmon and its context switches).

// rawNet is the pion network whose UDP sockets are rawUDPConns; everything else is the
// standard library's. It records the sockets it opened (the direct send path writes to
// them).
type rawNet struct {
	*stdnet.Net
	reg *socketRegistry
}

func newMediaNet() (transport.Net, *socketRegistry, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, nil, err
	}
	reg := &socketRegistry{byAddr: map[netip.AddrPort]*rawUDPConn{}}
	return rawNet{n, reg}, reg, nil
}

func (n rawNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	r, err := newRawUDPConn(c)
	if err != nil {
		return nil, err
	}
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
		r.local = la.AddrPort()
		r.reg = n.reg
		n.reg.add(r)
	}
	return r, nil
}

// socketRegistry is the media sockets of an engine by local address.
type socketRegistry struct {
	mu     sync.Mutex
	byAddr map[netip.AddrPort]*rawUDPConn
}

func (s *socketRegistry) add(r *rawUDPConn) {
	s.mu.Lock()
	s.byAddr[unmapAddrPort(r.local)] = r
	s.mu.Unlock()
}

func (s *socketRegistry) remove(r *rawUDPConn) {
	s.mu.Lock()
	if s.byAddr[unmapAddrPort(r.local)] == r {
		delete(s.byAddr, unmapAddrPort(r.local))
	}
	s.mu.Unlock()
}

// find is the socket a candidate of local address a was gathered on: the one bound to a,
// else (a public address announced for a host one, NAT 1:1) the only socket on a's port
// of a's family; nil when there is none or more than one.
func (s *socketRegistry) find(a netip.AddrPort) *rawUDPConn {
	a = unmapAddrPort(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byAddr[a]; r != nil {
		return r
	}
	var only *rawUDPConn
	for la, r := range s.byAddr {
		if la.Port() != a.Port() || la.Addr().Is4() != a.Addr().Is4() {
			continue
		}
		if la.Addr().IsUnspecified() {
			return r // a wildcard socket sends from every address of its family
		}
		if only != nil {
			return nil
		}
		only = r
	}
	return only
}

func unmapAddrPort(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// rawUDPConn is a UDP socket whose netip.AddrPort reads and writes (the ones pion's UDP mux
// uses, ice.AddrPortReaderWriter) are raw non-blocking system calls. Every other method is
// net.UDPConn's, which also owns the descriptor: Close through it, and RawConn's Read and
// Write hold the descriptor against a concurrent Close.
type rawUDPConn struct {
	*net.UDPConn
	rc    syscall.RawConn
	v4    bool // an AF_INET socket (else AF_INET6)
	ops   sync.Pool
	local netip.AddrPort
	reg   *socketRegistry
}

// Close closes the socket and forgets it.
func (r *rawUDPConn) Close() error {
	if r.reg != nil {
		r.reg.remove(r)
	}
	return r.UDPConn.Close()
}

func newRawUDPConn(c *net.UDPConn) (*rawUDPConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	la, _ := c.LocalAddr().(*net.UDPAddr)
	r := &rawUDPConn{UDPConn: c, rc: rc}
	if la != nil {
		r.v4 = la.IP.To4() != nil && !la.IP.IsUnspecified()
	}
	if la != nil && la.IP.IsUnspecified() {
		// A wildcard socket's family is what it was opened as; ask the kernel.
		var domain int
		var derr error
		_ = rc.Control(func(fd uintptr) { domain, derr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN) })
		r.v4 = derr == nil && domain == syscall.AF_INET
	}
	r.ops.New = func() any {
		o := &rawOp{}
		o.sendFn, o.recvFn = o.send, o.recv
		return o
	}
	return r, nil
}

// rawOp is one read or write in flight: its buffer, the peer's address in kernel form, the
// result, and the method values RawConn calls (made once per rawOp, so no call allocates).
type rawOp struct {
	buf    []byte
	sa     syscall.RawSockaddrAny
	salen  uint32
	n      int
	errno  syscall.Errno
	sendFn func(fd uintptr) bool
	recvFn func(fd uintptr) bool
}

func (o *rawOp) send(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(o.buf))), uintptr(len(o.buf)),
			0, uintptr(unsafe.Pointer(&o.sa)), uintptr(o.salen))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait until writable
		}
		o.n, o.errno = int(n), e
		return true
	}
}

func (o *rawOp) recv(fd uintptr) bool {
	for {
		o.salen = uint32(unsafe.Sizeof(o.sa))
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(o.buf))), uintptr(len(o.buf)),
			0, uintptr(unsafe.Pointer(&o.sa)), uintptr(unsafe.Pointer(&o.salen)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait until readable
		}
		o.n, o.errno = int(n), e
		return true
	}
}

// WriteToAddrPort sends b to addr in one datagram.
func (r *rawUDPConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if len(b) == 0 || !addr.IsValid() {
		return r.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	o := r.ops.Get().(*rawOp)
	defer r.ops.Put(o)
	if !o.setPeer(addr, r.v4) {
		return r.UDPConn.WriteToUDPAddrPort(b, addr) // the address family the socket cannot reach: net's error
	}
	o.buf = b
	err := r.rc.Write(o.sendFn)
	o.buf = nil
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: r.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	if o.errno != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: r.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: os.NewSyscallError("sendto", o.errno)}
	}
	return o.n, nil
}

// ReadFromAddrPort reads one datagram into b.
func (r *rawUDPConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return r.UDPConn.ReadFromUDPAddrPort(b)
	}
	o := r.ops.Get().(*rawOp)
	defer r.ops.Put(o)
	o.buf = b
	err := r.rc.Read(o.recvFn)
	o.buf = nil
	if err != nil {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: r.LocalAddr(), Err: err}
	}
	if o.errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: r.LocalAddr(), Err: os.NewSyscallError("recvfrom", o.errno)}
	}
	return o.n, o.peer(), nil
}

// setPeer writes addr into o.sa for a socket of family v4 (true) or v6.
func (o *rawOp) setPeer(addr netip.AddrPort, v4 bool) bool {
	n, ok := putSockaddr(&o.sa, addr, v4)
	o.salen = n
	return ok
}

// putSockaddr writes addr into sa for a socket of family v4 (true) or v6 and returns its
// length.
func putSockaddr(rsa *syscall.RawSockaddrAny, addr netip.AddrPort, v4 bool) (uint32, bool) {
	ip, port := addr.Addr(), addr.Port()
	if v4 {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, false
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*sa = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return syscall.SizeofSockaddrInet4, true
	}
	if ip.Zone() != "" {
		return 0, false // a scope id needs the interface index: net resolves it
	}
	sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
	*sa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ip.As16()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	return syscall.SizeofSockaddrInet6, true
}

// peer is the sender's address of the datagram o read.
func (o *rawOp) peer() netip.AddrPort {
	switch o.sa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&o.sa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&o.sa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 { // a link-local sender: its zone is the interface (rare; this allocates)
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				ip = ip.WithZone(ifi.Name)
			} else {
				ip = ip.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
			}
		}
		return netip.AddrPortFrom(ip, uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}
