// Package client is a Go client of Parley's signalling protocol using Pion: it joins with
// a token, publishes real VP8, H.264 and Opus (an embedded two-second clip, looped) or
// synthetic VP8 of a chosen bitrate, subscribes to everything the SFU offers, and counts
// packets, frames and keyframes per remote track, with first-packet and first-keyframe
// times for join → first frame latency. The published video carries a keyframe only at
// the start and when the SFU asks (PLI/FIR), which makes keyframe requests observable.
// Tests and the load test use it.
package client
