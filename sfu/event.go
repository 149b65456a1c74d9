package sfu

import "time"

// EventKind names a room event.
type EventKind string

// Room events delivered to the function given to Engine.Room.
const (
	// EventTrackPublished: Track is set; To is empty (everyone).
	EventTrackPublished EventKind = "track_published"
	// EventTrackUnpublished: Track is set.
	EventTrackUnpublished EventKind = "track_unpublished"
	// EventTrackMuted: Track is set with its Muted state.
	EventTrackMuted EventKind = "track_muted"
	// EventActiveSpeaker: To is the subscriber told, Participant the loudest speaker it
	// can hear ("" when nobody speaks), Level the smoothed level in dBov (-127…0).
	EventActiveSpeaker EventKind = "active_speaker"
	// EventConnectionQuality: Participant, Quality, Loss, RTT.
	EventConnectionQuality EventKind = "connection_quality"
	// EventVideoCodec: Codec is the room's new video codec; publishers must renegotiate.
	EventVideoCodec EventKind = "video_codec"
	// EventVideoPaused: To is the subscriber whose estimate cannot carry even the lowest
	// layer of Track (Paused true: its video from that publisher stops, audio goes on),
	// or can again (Paused false: video resumes from a keyframe).
	EventVideoPaused EventKind = "video_paused"
	// EventTransportState: Participant's Transport ("publisher"/"subscriber") changed to State.
	EventTransportState EventKind = "transport_state"
)

// Quality levels of EventConnectionQuality.
const (
	QualityExcellent = "excellent"
	QualityGood      = "good"
	QualityPoor      = "poor"
	QualityLost      = "lost"
)

// Event is something the signalling layer forwards to clients.
type Event struct {
	Kind        EventKind
	To          string
	Participant string
	Track       *TrackInfo
	Level       float64
	Quality     string
	Loss        float64
	RTT         time.Duration
	Codec       string
	Transport   string
	State       string
	Paused      bool
}
