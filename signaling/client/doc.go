// Package client is a Go client of Parley's signalling protocol using Pion: it joins with
// a token, publishes real VP8, H.264 and Opus (an embedded two-second clip, looped) or
// synthetic VP8 of a chosen bitrate, subscribes to everything the SFU offers, and counts
// packets, frames and keyframes per remote track, with first-packet and first-keyframe
// times for join → first frame latency. The published video carries a keyframe only at
// the start and when the SFU asks (PLI/FIR), which makes keyframe requests observable.
// Tests and the load test use it.
//
// It links package signaling (the wire types) and Pion, not the SFU. Dial and Resume follow a wrong_node
// answer to the node it names (several nodes); ResumeAt takes the seat back at another URL (the one the
// join API or a reconnect message gives after the room moved). On a fresh subscription it asks for a
// keyframe until one arrives, as a browser's decoder does.
package client
