package signaling

import (
	"context"
	"sync"
)

// Placement decides which server node hosts a session's room, so that a later version
// can spread rooms over several nodes (Redis). A node claims a session before hosting
// it and releases it when the room closes.
type Placement interface {
	// Claim makes node the host of sessionID if no node is, and returns the host.
	Claim(ctx context.Context, sessionID, node string) (host string, err error)
	// Release gives up the session if node hosts it.
	Release(ctx context.Context, sessionID, node string) error
}

// LocalPlacement is the single-process Placement: the first claimer hosts.
type LocalPlacement struct {
	mu    sync.Mutex
	hosts map[string]string
}

// NewLocalPlacement returns an empty LocalPlacement.
func NewLocalPlacement() *LocalPlacement { return &LocalPlacement{hosts: map[string]string{}} }

// Claim implements Placement.
func (p *LocalPlacement) Claim(_ context.Context, sessionID, node string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.hosts[sessionID]; ok {
		return h, nil
	}
	p.hosts[sessionID] = node
	return node, nil
}

// Release implements Placement.
func (p *LocalPlacement) Release(_ context.Context, sessionID, node string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hosts[sessionID] == node {
		delete(p.hosts, sessionID)
	}
	return nil
}

// NodeDirectory is implemented by placements that know each node's signalling URL, so
// that wrong_node and reconnect can tell clients where to go.
type NodeDirectory interface {
	NodeURL(ctx context.Context, node string) (string, error)
}

// Mover is implemented by placements that can hand a session to another node: Move
// picks the node that should host sessionID instead of from (the least loaded live
// node that is not draining), makes it the host, and returns it ("" if there is none).
type Mover interface {
	Move(ctx context.Context, sessionID, from string) (to string, err error)
}
