// Package signaling is Parley's WebSocket signalling: the versioned JSON protocol of
// docs/signaling.md, join tokens, and the session rooms (lobby, moderation, caucus,
// chat, reconnect) that drive the media plane. It knows nothing of SQL or of the case
// API: the case system issues tokens with IssueToken and implements Recorder. It does
// not import the SFU either: it declares the Media interface it needs (open a room;
// join, remove, scopes, tracks, close) and the wire types (TrackInfo, TrackMeta, …);
// signaling/sfumedia implements Media on sfu.Engine. So the Go client
// (signaling/client) links only this package and Pion, not the SFU.
//
// # Shape
//
// Server does not listen. Handler upgrades a request and calls Accept, which serves one
// connection: the calling goroutine reads, and exactly one writer goroutine per
// connection drains a bounded queue (a client too slow to drain it is cut off rather
// than allowed to stall a room). Every message is size-limited (above MaxMessageBytes:
// error too_large, the connection lives; above four times that: the socket closes) and
// rate-limited per connection (token bucket: error rate_limited). The server pings at
// protocol level every HeartbeatInterval; a connection silent for three intervals is
// dropped. Malformed, unknown and out-of-order messages are answered with an error
// message carrying a code and the request's id; nothing a client sends can stop a room.
//
// A room has one mutex for its state; sending is a non-blocking queue push, so the lock
// is never held across network I/O, and no Recorder, RoomState or Placement call is
// made while holding it. The media plane reports events into a queue that the room's
// own goroutine delivers, so the media plane never waits for signalling; events that
// change what a client shows (track published/unpublished/muted, video codec) are never
// dropped, while speaker and quality updates are dropped when the queue is long (the
// next one replaces them). The SFU's
// offers and candidates go through a per-connection mediaSignal that holds them until
// the description they belong to has been sent (joined before offers; an answer or
// offer before its candidates), so clients never receive a candidate they cannot apply.
//
// # Lock order
//
// Acquire in this order, never the reverse:
//
//	room.recMu → room.mu → Server.mu → (sfu.Room.mu, conn queue, mediaSignal.mu)
//
// room.recMu serialises one room's Recorder calls so the record keeps the order in
// which things happened (joined before left, a caucus opened before it closes); it may
// be held across the Recorder's I/O, so it is never taken while holding room.mu.
// room.mu guards seats and caucuses and is held only for memory work and non-blocking
// sends; calls into the media room under it (Join, SetScopes, Scope) take only the
// SFU's own locks, which never call back into signalling (SFU events are queued).
// Server.mu guards the room and resume maps and is never held across a Placement,
// RoomState or Recorder call: a room being claimed is marked "opening" so concurrent
// joins of the same session wait for it without holding the lock.
//
// # Sessions
//
// A join token (HMAC-SHA256, "v1.<claims>.<mac>", constant-time check, expiry) names one
// person in one role in one session of one case; the join message must name the same
// case and session, and the Recorder must say the session is still open. Parties,
// agents and observers wait in the lobby until a moderator admits them; the admission
// carries the identity check (method, result, note) and is refused if the Recorder
// cannot record it. Mediators, judges and clerks enter directly; a judge's arrival is
// announced to everyone (judge_present) and the SFU subscribes the judge to every
// current track with keyframes requested.
//
// A caucus is a set of participants whose media and chat stay among themselves and the
// moderators who move in (caucus_move); the SFU enforces the media side. Chat is
// delivered to, and recorded with, the sender's scope ("joint" or the caucus ID).
//
// # Reconnect
//
// joined carries a resume token. When a connection drops without leave, the seat is kept
// for ReconnectGrace (30 s): the others see nothing. A new connection that joins with the
// resume token (or the same person's join token) takes the seat back; the SFU builds new
// transports and keeps the published tracks, so media resumes on the next keyframe. After
// the grace the participant leaves with reason "disconnected".
//
// # Placement and several nodes
//
// Before hosting a session the server claims it through Placement; LocalPlacement is the
// in-process version, package cluster the Redis one (leases with a heartbeat). A node
// that is not the host answers wrong_node with the host's name and, when the placement
// is a NodeDirectory, its URL. With RoomState set, each room writes what it must
// remember (admitted seats with their identity checks, roles, resume tokens, caucus
// scopes, open caucuses) as it changes, from its own goroutine; the node that claims a
// session next rebuilds the room from it, with every seat in its reconnect grace, so
// participants who reconnect (with their resume token, which names the session, or a
// join token) take their seats back without the lobby and without the others seeing a
// leave. Drain hands rooms to other nodes and tells clients to reconnect; a room whose
// session ended elsewhere closes within SessionCheckInterval.
package signaling
