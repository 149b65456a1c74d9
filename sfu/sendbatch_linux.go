//go:build linux

package sfu

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelAddr is a peer's address in the form sendmmsg takes it, made once per route.
type kernelAddr struct {
	sa    syscall.RawSockaddrAny
	salen uint32
}

func (k *kernelAddr) set(peer netip.AddrPort, sock *rawUDPConn) bool {
	n, ok := putSockaddr(&k.sa, peer, sock.v4)
	k.salen = n
	return ok
}

// sendBatchMax is the most datagrams one sendmmsg call takes (the kernel's limit is
// UIO_MAXIOV, 1024).
const sendBatchMax = 256

// sendBatch collects the encrypted datagrams one forwarding loop writes for one source
// packet and sends them with as few sendmmsg calls as there are sockets (one, normally).
// It belongs to one read loop: never shared between goroutines.
type sendBatch struct {
	sock   *rawUDPConn
	n      int
	bufs   [][]byte
	routes []*directRoute // keeps each message's address alive until sent
	iov    []unix.Iovec
	msgs   []unix.Mmsghdr
	failed int // datagrams the kernel refused since the last flush

	// the call in flight (RawConn.Write's callback)
	off   int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func newSendBatch() *sendBatch {
	b := &sendBatch{}
	b.fn = b.sendmmsg
	return b
}

// slot is a buffer for the next datagram to r's peer (len directSlot); commit(n) adds it.
func (b *sendBatch) slot(r *directRoute) []byte {
	if b.n > 0 && (b.sock != r.sock || b.n == sendBatchMax) {
		b.send()
	}
	b.sock = r.sock
	if b.n == len(b.bufs) {
		b.bufs = append(b.bufs, make([]byte, directSlot))
		b.routes = append(b.routes, nil)
		b.iov = append(b.iov, unix.Iovec{})
		b.msgs = append(b.msgs, unix.Mmsghdr{})
	}
	b.routes[b.n] = r
	return b.bufs[b.n]
}

// commit adds the datagram of n bytes written into the last slot.
func (b *sendBatch) commit(n int) {
	i := b.n
	r := b.routes[i]
	b.iov[i].Base = &b.bufs[i][0]
	b.iov[i].SetLen(n)
	b.msgs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&r.addr.sa)),
		Namelen: r.addr.salen,
		Iov:     &b.iov[i],
		Iovlen:  1,
	}}
	b.n++
}

// flush sends what is collected and returns how many datagrams of the batch (since the
// last flush) did not go out.
func (b *sendBatch) flush() int {
	if b.n > 0 {
		b.send()
	}
	f := b.failed
	b.failed = 0
	return f
}

// send hands the collected datagrams to the kernel. A datagram the kernel refuses (the
// first of a call, reported as the call's error) is counted and skipped; a full socket
// buffer waits on the runtime's poller, as a single write does.
func (b *sendBatch) send() {
	b.off = 0
	for b.off < b.n {
		b.errno = 0
		if err := b.sock.rc.Write(b.fn); err != nil {
			b.failed += b.n - b.off // the socket is closed
			break
		}
		if b.errno != 0 {
			b.failed++
			b.off++
		}
	}
	for i := range b.n {
		b.routes[i] = nil
	}
	b.n, b.sock = 0, nil
}

func (b *sendBatch) sendmmsg(fd uintptr) bool {
	for b.off < b.n {
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[b.off])), uintptr(b.n-b.off), 0, 0, 0)
		switch e {
		case 0:
			b.off += int(n)
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait until writable
		}
		b.errno = e
		return true
	}
	return true
}
