package signaling

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"
)

// RoomState keeps what a room must remember to be rebuilt on another node after its
// node is lost or drained: who is seated and admitted (with the identity check), their
// roles, resume tokens and caucus scopes, the open caucuses. The room writes it as it
// changes, from a goroutine of its own and never under the room lock; the value is
// opaque JSON (package cluster stores it in Redis).
type RoomState interface {
	Save(ctx context.Context, sessionID string, state []byte) error
	Load(ctx context.Context, sessionID string) ([]byte, error) // nil, nil: nothing saved
	Delete(ctx context.Context, sessionID string) error
}

// roomSnapshot is the saved form of a room.
type roomSnapshot struct {
	Version    int               `json:"v"`
	CaseID     string            `json:"case_id"`
	SessionID  string            `json:"session_id"`
	Node       string            `json:"node"`
	Seats      []seatSnapshot    `json:"seats"`
	Caucuses   []caucusSnapshot  `json:"caucuses"`
	NextCaucus int               `json:"next_caucus"`
	Scopes     map[string]string `json:"scopes,omitempty"`
	VideoCodec string            `json:"video_codec,omitempty"`
	SavedAt    time.Time         `json:"saved_at"`
}

type seatSnapshot struct {
	Claims    Claims         `json:"claims"`
	ExpiresAt time.Time      `json:"expires_at"`
	Check     *IdentityCheck `json:"identity_check,omitempty"`
	Resume    string         `json:"resume"`
	Decode    []string       `json:"decode,omitempty"`
	Since     time.Time      `json:"since"`
	Mode      string         `json:"mode,omitempty"` // Claims.Mode (not part of the token, so not in its JSON)
}

type caucusSnapshot struct {
	ID      string   `json:"id"`
	Members []string `json:"members"`
}

// persist asks the saver to write the room's state; it never blocks and may be called
// with or without the room lock.
func (r *room) persist() {
	if r.saveSignal == nil {
		return
	}
	select {
	case r.saveSignal <- struct{}{}:
	default: // a save is pending already; it will see this change
	}
}

// snapshotLocked captures the state worth saving: the admitted seats (people in the
// lobby simply join again), caucuses and scopes.
func (r *room) snapshotLocked() roomSnapshot {
	snap := roomSnapshot{Version: 1, CaseID: r.caseID, SessionID: r.sessionID, Node: r.s.cfg.NodeID,
		NextCaucus: r.nextCaucus, Scopes: map[string]string{}, VideoCodec: r.media.VideoCodec(), SavedAt: r.now()}
	for _, st := range r.sortedSeatsLocked() {
		if !st.admitted {
			continue
		}
		snap.Seats = append(snap.Seats, seatSnapshot{Claims: st.claims, ExpiresAt: st.claims.ExpiresAt, Check: st.check,
			Resume: st.resume, Decode: st.decode, Since: st.since, Mode: st.claims.Mode})
		if sc := r.media.Scope(st.claims.ParticipantID); sc != "" {
			snap.Scopes[st.claims.ParticipantID] = sc
		}
	}
	ids := make([]string, 0, len(r.caucuses))
	for id := range r.caucuses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		snap.Caucuses = append(snap.Caucuses, caucusSnapshot{ID: id, Members: slices.Clone(r.caucuses[id].members)})
	}
	return snap
}

// saveLoop writes the room's state after each change (coalescing bursts), retrying
// while the store fails. It exits when stopSaver is called.
func (r *room) saveLoop() {
	defer close(r.saverDone)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	failing := false
	for {
		select {
		case <-r.saveStop:
			return
		case <-r.saveSignal:
		case <-retry.C:
		}
		r.mu.Lock()
		if r.ended {
			r.mu.Unlock()
			continue
		}
		snap := r.snapshotLocked()
		r.mu.Unlock()
		if err := r.writeState(snap); err != nil {
			if !failing {
				r.log.Warn("saving the room state failed; retrying", "err", err)
			}
			failing = true
			retry.Reset(time.Second)
			continue
		}
		if failing {
			r.log.Info("room state saved again")
		}
		failing = false
	}
}

func (r *room) writeState(snap roomSnapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = r.s.cfg.RoomState.Save(ctx, r.sessionID, b)
	if err != nil {
		r.s.metrics.stateErrors.Add(1)
	}
	return err
}

// stopSaver ends the saver goroutine (after the save in progress). With final set it
// then writes final, the room's last state, so that the node taking it over sees it.
func (r *room) stopSaver(final *roomSnapshot) {
	if r.saveSignal == nil {
		return
	}
	r.saveOnce.Do(func() { close(r.saveStop) })
	<-r.saverDone
	if final != nil {
		if err := r.writeState(*final); err != nil {
			r.log.Warn("saving the room state for the next node failed", "err", err)
		}
	}
}

// rebuild restores a room saved by another node (or by this one before a restart):
// every admitted seat comes back without a connection, in its reconnect grace, with its
// admission, identity check, role, resume token and caucus scope. Nobody is told:
// each participant takes its seat back when it reconnects.
func (r *room) rebuild(b []byte) (int, error) {
	var snap roomSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return 0, err
	}
	if snap.CaseID != r.caseID || snap.SessionID != r.sessionID {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextCaucus = snap.NextCaucus
	for _, cs := range snap.Caucuses {
		r.caucuses[cs.ID] = &caucus{id: cs.ID, members: slices.Clone(cs.Members)}
	}
	if len(snap.Scopes) > 0 {
		r.media.SetScopes(snap.Scopes)
	}
	for _, ss := range snap.Seats {
		cl := ss.Claims
		cl.ExpiresAt = ss.ExpiresAt
		cl.Mode = ss.Mode
		st := &seat{claims: cl, admitted: true, check: ss.Check, resume: ss.Resume, decode: ss.Decode, since: ss.Since}
		if st.resume == "" {
			st.resume = r.s.newResume(r.sessionID, cl.ParticipantID)
		} else {
			r.s.keepResume(st.resume, r.sessionID, cl.ParticipantID)
		}
		r.seats[cl.ParticipantID] = st
		r.holdSeatLocked(st)
	}
	return len(snap.Seats), nil
}
