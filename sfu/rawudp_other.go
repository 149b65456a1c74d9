//go:build !linux

package sfu

import (
	"net/netip"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// newMediaNet is the standard library's network where raw system calls are not wired
// (rawudp_linux.go says why they are on Linux). There is no socket registry, so no
// direct route is ever made: every packet goes through Pion.
func newMediaNet() (transport.Net, *socketRegistry, error) {
	n, err := stdnet.NewNet()
	return n, nil, err
}

type rawUDPConn struct{}

type socketRegistry struct{}

func (*socketRegistry) find(netip.AddrPort) *rawUDPConn { return nil }

type kernelAddr struct{}

func (*kernelAddr) set(netip.AddrPort, *rawUDPConn) bool { return false }

type sendBatch struct{}

func newSendBatch() *sendBatch              { return nil }
func (*sendBatch) slot(*directRoute) []byte { return nil }
func (*sendBatch) commit(int)               {}
func (*sendBatch) flush() int               { return 0 }
