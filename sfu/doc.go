// Package sfu is Parley's media plane: a selective forwarding unit on Pion WebRTC.
// It knows nothing of HTTP, SQL or cases; rooms are named by an opaque session ID and
// participants by an opaque ID, and the signalling layer drives it through Room,
// Participant and the Signal interface.
//
// # Transports
//
// Every participant has two PeerConnections, as in LiveKit and ion-sfu: a publisher
// transport on which the client offers and the SFU answers, and a subscriber transport
// on which the SFU offers and the client answers. Each side therefore only ever offers
// on its own transport, so renegotiation cannot glare however many participants publish
// at once. Subscriber renegotiation is serialised per participant: one offer in flight;
// changes made meanwhile set a pending flag and are coalesced into the next offer, sent
// when the answer arrives (or after a 10 s timeout). ICE candidates trickle both ways.
//
// All media uses one UDP port (ice.MultiUDPMux over the addresses accepted by
// Config.ICEFilter), with passive ICE-TCP on a second port as fallback, NAT 1:1 address
// rewriting for servers behind an elastic IP, and an embedded pion/turn server (UDP and
// TCP) whose REST-style credentials (username "expiry:participant", password
// base64(HMAC-SHA1(secret, username))) come from Engine.ICEServers.
//
// On Linux the media socket reads and writes with raw non-blocking system calls
// (rawudp_linux.go): a datagram that cannot go at once parks the goroutine on the
// runtime's poller as net.UDPConn would, but no call enters the scheduler's syscall
// state, which woke the runtime's monitor thread on every burst and cost a lightly
// loaded fan-out more than the sends themselves.
//
// # Forwarding
//
// A published Track owns its received layers (one per simulcast rid, or one) and a
// copy-on-write list of DownTracks, one per subscriber. The read loop of each layer
// parses a packet once and hands it to every DownTrack. The per-packet path is: one
// atomic load of the subscriber list; per subscriber, one atomic load of its forwarding
// permission (the caucus gate), a short lock on its rewriting state, a header rewrite
// into a reused rtp.Header, and the write, which goes straight into SRTP: the
// subscriber transport has no interceptor (no per-packet bandwidth-estimator history,
// pacer, transport-wide sequence numbers, NACK copy or report lock). It allocates
// nothing (BenchmarkForward for the loop, BenchmarkForwardPion and
// TestForwardPathAllocationFree through Pion's SRTP write to real peers).
//
// A DownTrack rewrites SSRC, payload type, sequence number and timestamp. A video
// DownTrack forwards nothing until it can start with a keyframe: at its start, and
// whenever the source of its stream changes — simulcast layer switch, caucus gate
// reopening, the publisher reconnecting with new transports, a keyframe it could not
// deliver. Nothing is written before the subscriber transport is connected (Pion's
// writer drops packets silently until SRTP runs, so a keyframe written then would be
// lost and the viewer would wait for the next natural one). Keyframes are requested
// (PLI) when the wait can end: when the subscriber transport connects, when the track is
// bound on a connected transport, on caucus reopening and on a publisher's new
// receiver; while a DownTrack still waits, each delta frame it drops asks again, the
// pause between requests starting at KeyframeMinInterval/5 and doubling per
// unanswered request up to 4×KeyframeMinInterval (throttled per published layer;
// several viewers arriving together share one request). Stats counts the requests, the
// waits and their total time. It rebases
// its offsets so the subscriber sees one continuous stream: the next sequence number,
// and a timestamp advanced by the wall-clock gap. Padding-only probe packets are dropped
// without leaving sequence gaps. VP8 picture IDs are not rewritten; switches happen on
// keyframes, where decoders resynchronise anyway.
//
// Loss recovery: the publisher transport generates NACKs towards the publisher (Pion's
// generator), receiver reports and transport-wide feedback (for the browser's send-side
// estimator). A subscriber's NACKs are answered from one 512-packet cache per received
// video layer (packetCache), shared by all its subscribers: each DownTrack maps its
// outgoing sequence numbers back through its last offset changes, resends on the media
// SSRC, at most once per packet per rtxMinInterval. Keyframe requests (PLI/FIR) from a
// subscriber are forwarded to the publisher, throttled. Sender reports (for the
// subscriber's RTT and lip sync) are built once a second from the DownTracks' counters.
// Every packet not forwarded is counted: filtered (deliberately: caucus, other layer,
// keyframe wait, not yet connected), dropped (a write failed) or lost upstream (a gap in
// the publisher's sequence numbers: lost on the way, or never read because the server
// could not keep up).
//
// # Simulcast
//
// Layers are ordered by the height the publisher declares for each rid (TrackMeta), or
// else by the usual rid names (q/h/f, l/m/h, 0/1/2). Once a second, each subscriber's
// bandwidth estimate — a loss-based estimate from its receiver reports, capped by a
// recent REMB (the receiver's delay-based estimate; the subscriber transport does not
// offer transport-wide feedback, so browsers send REMB) — is shared equally among the video tracks it may receive,
// and each DownTrack targets the highest layer whose measured bitrate fits its share
// and which is no larger than needed for the size the client renders it at
// (Participant.SetRenderSize; 0 = hidden = lowest layer). The switch happens on the
// target layer's next keyframe, requested at once.
//
// # Caucus
//
// Each participant has a scope: "" for the joint room, or a caucus ID. Media flows from
// publisher P to subscriber S only if scope(P) == scope(S). Room.SetScopes recomputes
// the permission of every (track, subscriber) pair once and stores it in the DownTrack's
// atomic flag; the packet path only reads that flag. So while a caucus is open no packet
// of a member's track reaches a non-member and members receive no non-member, and the
// mediator moves between caucus and joint room by changing its own scope. Subscriptions
// are not renegotiated on caucus changes: gated tracks simply carry no packets, and
// reopening the gate waits for a keyframe.
//
// # Recording tap
//
// Engine.SetTap gives each new room a Tap (cmd/parley plugs in the recorder through recording/sfutap; this
// package knows nothing of it). Each published track opens a TrackTap; the packet path hands it the packets of
// one layer (the highest being received, re-chosen after each once-a-second measurement) only while the
// publisher is in the joint room — the flag is recomputed with the caucus gates in SetScopes — and not muted.
// WriteRTP must copy and never block: the recorder queues and drops, and does its writing elsewhere.
//
// # Video codec
//
// The room settles on one video codec. Every current browser decodes both VP8 and
// H.264, and VP8 is the safer default (software encoders everywhere; some Android
// devices lack an H.264 encoder), so a room uses VP8 unless some participant declares
// that it decodes only H.264 (an old iOS WebView, a hardware-only client); then it uses
// H.264, which iOS always has in hardware. Precisely: the first of [VP8, H264] (limited
// by Config.Codecs) that every participant decodes; if none is common, the one most
// participants decode, and the others receive no video. Publisher answers are limited to
// the room codec; when it changes, EventVideoCodec asks publishers to renegotiate, and a
// track that comes back in the new codec — on a new transceiver, or on the same one (the
// read loop notices the payload type change) — is republished under the same ID.
// Subscriber offers list every codec, because Pion fixes a connection's codec set at its
// first negotiation.
//
// # Reconnect
//
// A participant coming back after a network change gets new transports rather than an
// ICE restart: Room.Join with a seated ID closes the old PeerConnections and builds new
// ones. This works from any state (including ICE failed, or a server-side transport the
// client has already thrown away) at the cost of one DTLS handshake. Published Tracks,
// their DownTracks to other subscribers, and the participant's caucus scope live in the
// Room, not in the transports, so when the publisher's tracks come back (same track
// IDs) the others' DownTracks resync on the next keyframe and nobody else renegotiates
// or notices anything but a short freeze.
//
// # Lock order
//
// Acquire in this order, never the reverse:
//
//	Participant.pubMu → Room.mu → Track.mu → DownTrack.mu
//	Engine.mu (alone: Room.Close releases Room.mu before it forgets the room)
//	Participant.mu (alone: held for negotiation state, never while taking Room.mu)
//
// No SFU lock is held while calling the onEvent function or a Signal method, and those
// must not call back into the SFU synchronously (package signaling queues them), so the
// signalling layer's locks, taken before the SFU's (see package signaling), never meet
// an SFU lock from the other side. The packet path takes only DownTrack.mu.
//
// # Events
//
// The function given to Engine.Room receives track published/unpublished/muted, the
// active speaker per subscriber (RFC 6464 audio levels, smoothed, with hysteresis, only
// among tracks the subscriber may hear), connection quality per participant (loss from
// sequence gaps upstream and receiver reports downstream, RTT from RR LSR/DLSR), video
// codec changes and transport state changes. It must not block.
package sfu
