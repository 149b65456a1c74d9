//go:build race

package sfu

// raceEnabled: the race detector makes sync.Pool drop items at random, so pooled
// buffers (Pion's SRTP write buffers) are allocated again: allocation counts mean
// nothing under it.
const raceEnabled = true
