package signaling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ProtocolVersion is the signalling protocol version this package speaks.
const ProtocolVersion = 1

// Envelope is every message on the wire, both directions:
// {"type": "...", "id": "...", "ref": "...", "data": {...}}.
// Clients may set id on a request; the server echoes it as ref in the reply (answer,
// ack, error) to that request.
type Envelope struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Ref  string          `json:"ref,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Client → server message types.
const (
	TypeJoin            = "join"
	TypeOffer           = "offer"  // also server → client (subscriber offer)
	TypeAnswer          = "answer" // also server → client (publisher answer)
	TypeCandidate       = "candidate"
	TypeUnpublish       = "unpublish"
	TypeMute            = "mute"
	TypeRender          = "render"
	TypeChat            = "chat" // also server → client
	TypeAdmit           = "admit"
	TypeRemove          = "remove"
	TypeMuteParticipant = "mute_participant"
	TypeCaucusOpen      = "caucus_open"
	TypeCaucusClose     = "caucus_close"
	TypeCaucusMove      = "caucus_move"
	// TypeCaucusRecordConsent: someone in a caucus consents to its separate recording (issue 14).
	TypeCaucusRecordConsent = "caucus_record_consent"
	TypeEndSession          = "end_session"
	TypeLeave               = "leave"
	// TypePublisherRestart discards the publisher transport so that the client can
	// offer again on a fresh PeerConnection (a room codec switch, section 6.14).
	TypePublisherRestart = "publisher_restart"
	TypePing             = "ping" // both directions
	TypePong             = "pong" // both directions
)

// Server → client message types.
const (
	TypeWaiting           = "waiting"
	TypeJoined            = "joined"
	TypeAck               = "ack"
	TypeError             = "error"
	TypeParticipantJoined = "participant_joined"
	TypeParticipantLeft   = "participant_left"
	TypeLobby             = "lobby"
	TypeTrackPublished    = "track_published"
	TypeTrackUnpublished  = "track_unpublished"
	TypeTrackMuted        = "track_muted"
	TypeActiveSpeaker     = "active_speaker"
	TypeQuality           = "connection_quality"
	TypeCaucusState       = "caucus_state"
	TypeJudgePresent      = "judge_present"
	TypeVideoCodec        = "video_codec"
	TypeModerated         = "moderated"
	TypeRemoved           = "removed"
	TypeSessionEnding     = "session_ending"
	TypeVideoPaused       = "video_paused"
	TypeReconnect         = "reconnect"    // this node is handing the room over: reconnect (to data.url)
	TypeCaseChanged       = "case_changed" // the case's documents or state changed: look again (data.what)
)

// Error codes carried by error messages.
const (
	CodeBadMessage    = "bad_message"  // not JSON, missing fields, wrong types
	CodeUnknownType   = "unknown_type" // type not in the protocol
	CodeTooLarge      = "too_large"    // message above the size limit
	CodeRateLimited   = "rate_limited" // too many messages
	CodeVersion       = "unsupported_version"
	CodeNotJoined     = "not_joined"     // a request before join
	CodeAlreadyJoined = "already_joined" // a second join
	CodeNotAdmitted   = "not_admitted"   // media or chat while in the lobby
	CodeBadToken      = "bad_token"      // malformed or forged
	CodeTokenExpired  = "token_expired"
	CodeWrongSession  = "wrong_session"  // token for another case/session
	CodeSessionClosed = "session_closed" // session ended or unknown
	CodeForbidden     = "forbidden"      // lacks the permission (e.g. a party moderating)
	CodeNotFound      = "not_found"      // unknown participant, track or caucus
	CodeBadState      = "bad_state"      // out of order (answer without offer, …)
	CodeIdentityCheck = "identity_check" // admission without a passed identity check, or with an unknown method
	CodeRecordFailed  = "record_failed"  // the case record could not be written
	CodeWrongNode     = "wrong_node"     // the session is hosted by another node (data.url says where)
	CodeUnavailable   = "unavailable"    // a store the server needs is down for now; try again
	CodeInternal      = "internal"
)

// Error is the data of an error message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Node is the node hosting the session (wrong_node only).
	Node string `json:"node,omitempty"`
	// URL is that node's signalling WebSocket URL (wrong_node only, when known).
	URL string `json:"url,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// JoinData is the data of join: a join token, or a resume token from an earlier
// joined message to take back one's seat after a network change.
type JoinData struct {
	Version   int      `json:"version"`
	Token     string   `json:"token,omitempty"`
	Resume    string   `json:"resume,omitempty"`
	CaseID    string   `json:"case_id,omitempty"`
	SessionID string   `json:"session_id,omitempty"`
	Decode    []string `json:"decode,omitempty"`
	// Mode is how the participant takes part: "video" (default), "voice" (no camera)
	// or "text" (chat only); it is shown to the others and kept in the case record.
	Mode string `json:"mode,omitempty"`
}

// SDPData is the data of offer and answer.
type SDPData struct {
	SDP string `json:"sdp"`
	// Tracks describes the tracks of a publisher offer (optional).
	Tracks []TrackMeta `json:"tracks,omitempty"`
}

// CandidateData is the data of candidate: the transport it belongs to ("publisher" or
// "subscriber") and the candidate as RTCIceCandidateInit.
type CandidateData struct {
	Transport string                  `json:"transport"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

// TrackRef names a track (unpublish).
type TrackRef struct {
	TrackID string `json:"track_id"`
}

// MuteData is the data of mute (one's own track).
type MuteData struct {
	TrackID string `json:"track_id"`
	Muted   bool   `json:"muted"`
}

// RenderData is the size at which the client shows a remote video track (0×0: hidden).
type RenderData struct {
	TrackID string `json:"track_id"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
}

// ChatData is the data of chat in both directions.
type ChatData struct {
	Text string `json:"text"`
	// Server → client only:
	From  string `json:"from,omitempty"`
	Name  string `json:"name,omitempty"`
	Role  Role   `json:"role,omitempty"`
	Scope string `json:"scope,omitempty"`
	At    int64  `json:"at,omitempty"`
}

// AdmitData is the data of admit.
type AdmitData struct {
	ParticipantID string        `json:"participant_id"`
	IdentityCheck IdentityCheck `json:"identity_check"`
}

// RemoveData is the data of remove (also refuses someone waiting in the lobby).
type RemoveData struct {
	ParticipantID string `json:"participant_id"`
	Reason        string `json:"reason,omitempty"`
}

// MuteParticipantData is the data of mute_participant.
type MuteParticipantData struct {
	ParticipantID string `json:"participant_id"`
	// Kind is "audio", "video" or "" for both.
	Kind  string `json:"kind,omitempty"`
	Muted bool   `json:"muted"`
}

// CaucusOpenData is the data of caucus_open: the participants who go into the caucus
// with the moderator who opens it.
type CaucusOpenData struct {
	Members []string `json:"members"`
}

// CaucusRef names a caucus (caucus_close; caucus_move with "" for the joint room).
type CaucusRef struct {
	CaucusID string `json:"caucus_id"`
}

// PingData is the data of ping and pong.
type PingData struct {
	TS int64 `json:"ts"`
}

// Request is a decoded, validated client message.
type Request struct {
	Type string
	ID   string
	Data any // *JoinData, *SDPData, … according to Type; nil for leave/end_session
}

// IdentityMethods are the identity-check methods an admission may name ("other" needs
// a note saying how).
var IdentityMethods = []string{"id_card_on_camera", "face_match", "sms_code", "known_to_mediator", "court_verified", "other"}

// check reports what makes an identity check unrecordable: an unknown method, or
// "other" without a note saying how identity was checked. (Checked after the
// permission, so only moderators learn the rules.)
func (c IdentityCheck) check() *Error {
	if !slices.Contains(IdentityMethods, c.Method) {
		return errorf(CodeIdentityCheck, "identity_check.method must be one of %s", strings.Join(IdentityMethods, ", "))
	}
	if c.Method == "other" && strings.TrimSpace(c.Note) == "" {
		return errorf(CodeIdentityCheck, "identity_check.note is required with method other: say how identity was checked")
	}
	return nil
}

// limits on fields of client messages. An SDP must also fit, with its envelope, in one
// message of at most Config.MaxMessageBytes (64 KiB by default), so maxSDPLen is that
// default: a larger SDP could never arrive.
const (
	maxIDLen   = 128
	maxSDPLen  = 64 << 10
	maxChatLen = 4000 // runes
	maxNoteLen = 1000
)

// DecodeRequest parses and validates one client message. It never panics; errors are
// *Error values with a code the client can act on.
func DecodeRequest(b []byte) (Request, *Error) {
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&env); err != nil {
		return Request{}, errorf(CodeBadMessage, "not a JSON message envelope: %v", err)
	}
	if dec.More() {
		return Request{}, errorf(CodeBadMessage, "trailing data after the message")
	}
	if env.Type == "" {
		return Request{}, errorf(CodeBadMessage, "type missing")
	}
	if len(env.ID) > maxIDLen {
		return Request{}, errorf(CodeBadMessage, "id longer than %d", maxIDLen)
	}
	req := Request{Type: env.Type, ID: env.ID}
	var target any
	switch env.Type {
	case TypeJoin:
		target = &JoinData{}
	case TypeOffer, TypeAnswer:
		target = &SDPData{}
	case TypeCandidate:
		target = &CandidateData{}
	case TypeUnpublish:
		target = &TrackRef{}
	case TypeMute:
		target = &MuteData{}
	case TypeRender:
		target = &RenderData{}
	case TypeChat:
		target = &ChatData{}
	case TypeAdmit:
		target = &AdmitData{}
	case TypeRemove:
		target = &RemoveData{}
	case TypeMuteParticipant:
		target = &MuteParticipantData{}
	case TypeCaucusOpen:
		target = &CaucusOpenData{}
	case TypeCaucusClose, TypeCaucusMove, TypeCaucusRecordConsent:
		target = &CaucusRef{}
	case TypePing, TypePong:
		target = &PingData{}
	case TypeEndSession, TypeLeave, TypePublisherRestart:
		return req, nil
	default:
		return req, errorf(CodeUnknownType, "unknown message type %q", truncate(env.Type, 40))
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		if env.Type == TypePing || env.Type == TypePong {
			req.Data = target
			return req, nil
		}
		return req, errorf(CodeBadMessage, "%s: data missing", env.Type)
	}
	if err := json.Unmarshal(env.Data, target); err != nil {
		return req, errorf(CodeBadMessage, "%s: %v", env.Type, err)
	}
	if e := validate(target); e != nil {
		e.Message = env.Type + ": " + e.Message
		return req, e
	}
	req.Data = target
	return req, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func checkID(name, v string) *Error {
	if v == "" || len(v) > 2*maxIDLen+1 {
		return errorf(CodeBadMessage, "%s must be 1–%d characters", name, 2*maxIDLen+1)
	}
	return nil
}

// validate checks the fields of a decoded data struct.
func validate(v any) *Error {
	switch d := v.(type) {
	case *JoinData:
		if d.Token == "" && d.Resume == "" {
			return errorf(CodeBadMessage, "token or resume required")
		}
		if len(d.Token) > 4096 || len(d.Resume) > 256 || len(d.Decode) > 8 {
			return errorf(CodeBadMessage, "field too long")
		}
		switch d.Mode {
		case "":
			d.Mode = ModeVideo
		case ModeVideo, ModeVoice, ModeText:
		default:
			return errorf(CodeBadMessage, "mode must be video, voice or text")
		}
	case *SDPData:
		if d.SDP == "" || len(d.SDP) > maxSDPLen {
			return errorf(CodeBadMessage, "sdp must be 1–%d bytes", maxSDPLen)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(d.SDP); err != nil {
			return errorf(CodeBadMessage, "sdp does not parse: %v", err)
		}
		if len(d.Tracks) > 16 {
			return errorf(CodeBadMessage, "at most 16 tracks per offer")
		}
		for _, t := range d.Tracks {
			if e := checkID("tracks.track_id", t.TrackID); e != nil {
				return e
			}
			if strings.ContainsAny(t.TrackID, "/ ") || len(t.Layers) > 4 {
				return errorf(CodeBadMessage, "bad track %q", truncate(t.TrackID, 40))
			}
		}
	case *CandidateData:
		if d.Transport != TransportPublisher && d.Transport != TransportSubscriber {
			return errorf(CodeBadMessage, "transport must be publisher or subscriber")
		}
		if len(d.Candidate.Candidate) > 1024 {
			return errorf(CodeBadMessage, "candidate too long")
		}
		if c := d.Candidate.Candidate; c != "" { // "" is the end-of-candidates indication
			if _, err := ice.UnmarshalCandidate(c); err != nil {
				return errorf(CodeBadMessage, "candidate does not parse: %v", err)
			}
		}
	case *TrackRef:
		return checkID("track_id", d.TrackID)
	case *MuteData:
		return checkID("track_id", d.TrackID)
	case *RenderData:
		if e := checkID("track_id", d.TrackID); e != nil {
			return e
		}
		if d.Width < 0 || d.Height < 0 || d.Width > 16384 || d.Height > 16384 {
			return errorf(CodeBadMessage, "width and height must be 0–16384")
		}
	case *ChatData:
		n := utf8.RuneCountInString(d.Text)
		if strings.TrimSpace(d.Text) == "" || n > maxChatLen || !utf8.ValidString(d.Text) {
			return errorf(CodeBadMessage, "text must be 1–%d characters of UTF-8", maxChatLen)
		}
	case *AdmitData:
		if e := checkID("participant_id", d.ParticipantID); e != nil {
			return e
		}
		c := d.IdentityCheck
		if c.Method == "" || len(c.Method) > 64 {
			return errorf(CodeIdentityCheck, "identity_check.method required (1–64 characters)")
		}
		if c.Result != CheckPassed && c.Result != CheckFailed {
			return errorf(CodeIdentityCheck, "identity_check.result must be passed or failed")
		}
		if utf8.RuneCountInString(c.Note) > maxNoteLen {
			return errorf(CodeBadMessage, "identity_check.note longer than %d characters", maxNoteLen)
		}
	case *RemoveData:
		if len(d.Reason) > maxNoteLen {
			return errorf(CodeBadMessage, "reason too long")
		}
		return checkID("participant_id", d.ParticipantID)
	case *MuteParticipantData:
		if d.Kind != "" && d.Kind != "audio" && d.Kind != "video" {
			return errorf(CodeBadMessage, "kind must be audio, video or empty")
		}
		return checkID("participant_id", d.ParticipantID)
	case *CaucusOpenData:
		if len(d.Members) == 0 || len(d.Members) > 32 {
			return errorf(CodeBadMessage, "members must list 1–32 participants")
		}
		for _, m := range d.Members {
			if e := checkID("members", m); e != nil {
				return e
			}
		}
	case *CaucusRef:
		if len(d.CaucusID) > maxIDLen {
			return errorf(CodeBadMessage, "caucus_id too long")
		}
	}
	return nil
}

// encode builds a server message.
func encode(typ, ref string, data any) []byte {
	env := struct {
		Type string `json:"type"`
		Ref  string `json:"ref,omitempty"`
		Data any    `json:"data,omitempty"`
	}{typ, ref, data}
	b, err := json.Marshal(env)
	if err != nil {
		b, _ = json.Marshal(Envelope{Type: TypeError, Ref: ref, Data: json.RawMessage(`{"code":"internal","message":"encode"}`)})
	}
	return b
}

// ParticipantInfo describes a seated participant to the others.
type ParticipantInfo struct {
	ParticipantID string `json:"participant_id"`
	Name          string `json:"name"`
	Role          Role   `json:"role"`
	Side          string `json:"side,omitempty"`
	// Scope is "" in the joint room, else the caucus the participant is in.
	Scope string `json:"scope,omitempty"`
	// Mode is how the participant takes part: "video", "voice" or "text".
	Mode string `json:"mode,omitempty"`
}

// JoinedData is the data of joined.
type JoinedData struct {
	Version       int                `json:"version"`
	ParticipantID string             `json:"participant_id"`
	Role          Role               `json:"role"`
	Resume        string             `json:"resume"`
	Resumed       bool               `json:"resumed"`
	ICEServers    []webrtc.ICEServer `json:"ice_servers"`
	VideoCodec    string             `json:"video_codec"`
	Participants  []ParticipantInfo  `json:"participants"`
	Tracks        []TrackInfo        `json:"tracks"`
	Caucuses      []CaucusInfo       `json:"caucuses"`
	Scope         string             `json:"scope"`
	JudgePresent  bool               `json:"judge_present"`
	CanPublish    bool               `json:"can_publish"`
	CanSubscribe  bool               `json:"can_subscribe"`
	CanModerate   bool               `json:"can_moderate"`
}

// WaitingData is the data of waiting (you are in the lobby).
type WaitingData struct {
	Message string `json:"message"`
	// Preview is true when the participant may publish camera and microphone to the
	// moderators while waiting (identity check); then ICEServers and VideoCodec are set
	// and offer, candidate (publisher), mute, unpublish and publisher_restart are
	// accepted.
	Preview    bool               `json:"preview"`
	ICEServers []webrtc.ICEServer `json:"ice_servers,omitempty"`
	VideoCodec string             `json:"video_codec,omitempty"`
}

// LobbyData is the data of lobby (to moderators): who waits.
type LobbyData struct {
	Waiting []ParticipantInfo `json:"waiting"`
}

// LeftData is the data of participant_left.
type LeftData struct {
	ParticipantID string `json:"participant_id"`
	Reason        string `json:"reason"`
}

// CaucusInfo describes an open caucus.
type CaucusInfo struct {
	CaucusID string   `json:"caucus_id"`
	Members  []string `json:"members"`
	// Present lists who is in it now (members and moderators who moved in).
	Present []string `json:"present"`
	// RecordConsents lists who in it consented to its separate recording (caucus_record_consent), and
	// Recording is true while it is recorded (everyone in it consented). Told only to those in it.
	RecordConsents []string `json:"record_consents,omitempty"`
	Recording      bool     `json:"recording,omitempty"`
}

// CaucusStateData is the data of caucus_state, sent to everyone on any caucus change.
type CaucusStateData struct {
	Caucuses []CaucusInfo `json:"caucuses"`
	// Scope is the recipient's own scope: "" (joint room) or a caucus ID.
	Scope string `json:"scope"`
	// PrivateSession is true when a moderator is in a caucus the recipient is not in
	// ("the mediator is in a private session").
	PrivateSession bool `json:"private_session"`
}

// TrackData is the data of track_published, track_unpublished and track_muted.
type TrackData struct {
	Track TrackInfo `json:"track"`
}

// SpeakerData is the data of active_speaker.
type SpeakerData struct {
	ParticipantID string  `json:"participant_id"`
	Level         float64 `json:"level"`
}

// QualityData is the data of connection_quality.
type QualityData struct {
	ParticipantID string  `json:"participant_id"`
	Quality       string  `json:"quality"`
	Loss          float64 `json:"loss"`
	RTTMillis     int64   `json:"rtt_ms"`
}

// PausedData is the data of video_paused: your estimate cannot carry even the lowest
// layer of a video track (paused), or can again (resumed from a keyframe). Audio is not
// affected.
type PausedData struct {
	TrackID       string `json:"track_id"`
	ParticipantID string `json:"participant_id"`
	Paused        bool   `json:"paused"`
	Reason        string `json:"reason"` // "bandwidth"
}

// CodecData is the data of video_codec.
type CodecData struct {
	Codec string `json:"codec"`
}

// ModeratedData tells a participant a moderator acted on it.
type ModeratedData struct {
	Action string `json:"action"` // "mute", "unmute"
	Kind   string `json:"kind,omitempty"`
	By     string `json:"by"`
}

// ReconnectData is the data of reconnect: the node is draining (or otherwise giving
// the room up); the client keeps its seat by joining again with its resume token at URL,
// or, when URL is empty, at the URL the join API returns.
type ReconnectData struct {
	Reason string `json:"reason"`
	URL    string `json:"url,omitempty"`
}

// CaseChangedData is the data of case_changed: what changed ("documents" or "case"), never how.
type CaseChangedData struct {
	What string `json:"what"`
}

// EndingData is the data of session_ending and removed.
type EndingData struct {
	Reason string `json:"reason"`
	By     string `json:"by,omitempty"`
}
