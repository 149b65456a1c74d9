// Package signaling is Parley's WebSocket signalling: the versioned JSON protocol of
// docs/signaling.md, join tokens, and the session rooms (lobby, moderation, caucus,
// chat, reconnect) that drive package sfu. It knows nothing of SQL or of the case API:
// the case system issues tokens with IssueToken and implements Recorder.
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
// is never held across network I/O. The SFU reports events on a channel that the room's
// own goroutine delivers, so the media plane never waits for signalling. The SFU's
// offers and candidates go through a per-connection mediaSignal that holds them until
// the description they belong to has been sent (joined before offers; an answer or
// offer before its candidates), so clients never receive a candidate they cannot apply.
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
// # Placement
//
// Before hosting a session the server claims it through Placement; LocalPlacement is the
// in-process version. A node that is not the host answers wrong_node with the host's
// name, so a later multi-node version (Redis) can redirect clients.
package signaling
