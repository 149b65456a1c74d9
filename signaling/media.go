package signaling

import (
	"errors"
	"time"

	"github.com/pion/webrtc/v4"
)

// Media is the media plane as the signalling layer uses it: open a session's media
// room and hand out ICE servers. Package signaling/sfumedia implements it on sfu.Engine;
// signaling itself never imports the SFU, so the Go client (signaling/client) does not
// link it either.
type Media interface {
	// Room returns the media room of a session, creating it if needed. onEvent receives
	// the room's events; it is called from media goroutines and must not block.
	Room(sessionID string, onEvent func(MediaEvent)) (MediaRoom, error)
	// ICEServers returns the STUN/TURN entries (with credentials valid for ttl) a client
	// should use, or nil.
	ICEServers(participantID string, ttl time.Duration) []webrtc.ICEServer
}

// MediaRoom is one session's media: who is seated, who may see whom (scopes), and the
// published tracks.
type MediaRoom interface {
	// Join seats a participant, or reseats it with fresh transports when it is seated
	// already (reconnect): its tracks, scope and subscriptions are kept.
	Join(participantID string, opts MediaOptions, sig MediaSignal) (MediaSeat, error)
	// Remove takes a participant and its tracks out of the room.
	Remove(participantID string)
	// SetScopes sets the scopes of some participants ("" = joint room, else a caucus).
	SetScopes(scopes map[string]string)
	// Scope returns a participant's scope.
	Scope(participantID string) string
	// Tracks lists the published tracks.
	Tracks() []TrackInfo
	// VideoCodec is the room's current video codec.
	VideoCodec() string
	// Unpublish removes a participant's track (ErrMediaUnknownTrack if it has none).
	Unpublish(participantID, trackID string) error
	// MuteTrack sets a track's muted state.
	MuteTrack(trackID string, muted bool) error
	// MuteParticipant mutes a participant's tracks of a kind ("" = all).
	MuteParticipant(participantID, kind string, muted bool)
	// Close ends the media room.
	Close()
}

// MediaCaucusRecorder is implemented by a MediaRoom that can record a caucus apart from the joint room
// (signaling/sfumedia): on starts it once everyone in the caucus consented; off stops it.
type MediaCaucusRecorder interface {
	RecordCaucus(caucusID string, on bool)
}

// MediaSeat is one participant's transports.
type MediaSeat interface {
	HandleOffer(sdp string, tracks []TrackMeta) (answer string, err error)
	SetAnswer(sdp string) error
	AddCandidate(transport string, c webrtc.ICECandidateInit) error
	SetRenderSize(trackID string, width, height int) error
	// RestartPublisher discards the publisher transport (ICE and DTLS) and awaits a new
	// offer; the published tracks keep their IDs (publisher_restart).
	RestartPublisher() error
}

// MediaSignal carries the media plane's half of the negotiation to one client. Calls
// come from any goroutine and must not block.
type MediaSignal interface {
	Offer(sdp string)
	Candidate(transport string, c webrtc.ICECandidateInit)
}

// MediaOptions are a participant's media permissions and capabilities.
type MediaOptions struct {
	CanPublish   bool
	CanSubscribe bool
	// CanModerate lets the participant receive lobby media (MediaScopeLobby).
	CanModerate bool
	// Lobby seats the participant in MediaScopeLobby (unless it already has a scope):
	// the lobby preview, whose media reaches moderators only and which receives nothing.
	Lobby bool
	// Decode lists the video codecs the client decodes; empty means all.
	Decode []string
}

// Errors a Media implementation returns for the client's mistakes (wrapped or as is).
var (
	ErrMediaNotAllowed   = errors.New("media: not allowed")
	ErrMediaUnknownTrack = errors.New("media: unknown track")
	// ErrMediaBadDescription and ErrMediaBadCandidate: the client's SDP or ICE candidate
	// is unusable (answered with bad_message).
	ErrMediaBadDescription = errors.New("media: unusable session description")
	ErrMediaBadCandidate   = errors.New("media: unusable ICE candidate")
)

// MediaScopeLobby is the scope of someone waiting in the lobby with a preview: its
// camera and microphone reach participants with CanModerate only.
const MediaScopeLobby = "lobby"

// MediaEventKind names a media room event.
type MediaEventKind string

// Media room events.
const (
	MediaTrackPublished   MediaEventKind = "track_published"
	MediaTrackUnpublished MediaEventKind = "track_unpublished"
	MediaTrackMuted       MediaEventKind = "track_muted"
	MediaActiveSpeaker    MediaEventKind = "active_speaker"
	MediaQuality          MediaEventKind = "connection_quality"
	MediaVideoCodec       MediaEventKind = "video_codec"
	MediaTransportState   MediaEventKind = "transport_state"
	// MediaVideoPaused: To is the subscriber whose bandwidth cannot carry Track's video
	// (Paused true) or can again (Paused false).
	MediaVideoPaused MediaEventKind = "video_paused"
)

// droppable reports whether an event only refreshes a display (speaker, quality) and may
// be dropped when a room's queue is full; every other event changes client state and is
// always delivered.
func (k MediaEventKind) droppable() bool {
	return k == MediaActiveSpeaker || k == MediaQuality || k == MediaTransportState
}

// MediaEvent is something the media plane reports to the signalling layer.
type MediaEvent struct {
	Kind        MediaEventKind
	To          string // active_speaker: the subscriber told
	Participant string
	Track       *TrackInfo
	Level       float64
	Quality     string
	Loss        float64
	RTT         time.Duration
	Codec       string
	Transport   string
	State       string
	Paused      bool // video_paused
}

// Transports of a participant, as named in candidate messages.
const (
	TransportPublisher  = "publisher"
	TransportSubscriber = "subscriber"
)

// Video codecs as named in the protocol (joined.video_codec, video_codec, join.decode).
const (
	CodecVP8  = "VP8"
	CodecH264 = "H264"
)

// TrackInfo describes a published track on the wire.
type TrackInfo struct {
	// ID is room-unique: the publisher's participant ID, "/", and its own track ID.
	ID          string `json:"track_id"`
	Participant string `json:"participant_id"`
	// Kind is "audio" or "video".
	Kind string `json:"kind"`
	// Source is what the publisher declared: "camera", "microphone", "screen".
	Source    string `json:"source,omitempty"`
	Codec     string `json:"codec"`
	Simulcast bool   `json:"simulcast"`
	Muted     bool   `json:"muted"`
}

// TrackMeta is what a publisher declares about a track in its offer: the source and,
// for simulcast, the size of each layer.
type TrackMeta struct {
	TrackID string      `json:"track_id"`
	Source  string      `json:"source,omitempty"`
	Layers  []LayerMeta `json:"layers,omitempty"`
}

// LayerMeta describes one simulcast layer.
type LayerMeta struct {
	RID    string `json:"rid"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}
