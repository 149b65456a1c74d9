package signaling

import (
	"context"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// evictions remembers, per participant, join tokens that no longer admit it: those expiring before a cutoff
// (that is, issued before the participant's seat was revoked).
type evictions struct {
	mu     sync.Mutex
	before map[string]time.Time
}

// refused reports whether claims come from a token issued before the participant was evicted.
func (s *Server) refused(c Claims) bool {
	e := &s.evicted
	e.mu.Lock()
	defer e.mu.Unlock()
	cut, ok := e.before[c.ParticipantID]
	return ok && c.ExpiresAt.Before(cut)
}

// Evict puts a participant out of every room of a case on this node (its seat is revoked: a party's contact was
// corrected by staff), closing its connection, and refuses its join tokens that expire before tokensBefore (the
// ones issued until now) and its resume tokens. It returns how many seats it ended.
func (s *Server) Evict(ctx context.Context, caseID, participantID string, tokensBefore time.Time) int {
	e := &s.evicted
	e.mu.Lock()
	if e.before == nil {
		e.before = map[string]time.Time{}
	}
	if tokensBefore.After(e.before[participantID]) {
		e.before[participantID] = tokensBefore
	}
	e.mu.Unlock()
	n := 0
	for _, r := range s.roomsOfCase(caseID) {
		r.mu.Lock()
		target := r.seats[participantID]
		if target != nil && target.conn != nil {
			target.conn.send(encode(TypeRemoved, "", EndingData{Reason: "seat_revoked"}))
			target.conn.closeAfterFlush(websocket.CloseNormalClosure, "seat revoked")
		}
		r.mu.Unlock()
		if target != nil {
			r.leave(ctx, target, "seat_revoked")
			n++
		}
	}
	return n
}
