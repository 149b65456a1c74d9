//go:build !linux

package sfu

import (
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// newMediaNet is the standard library's network where raw system calls are not wired
// (rawudp_linux.go says why they are on Linux).
func newMediaNet() (transport.Net, error) { return stdnet.NewNet() }
