package sfumedia

import (
	"errors"
	"fmt"
	"testing"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
)

// The adapter passes names through unchanged: both sides must spell them alike.
func TestNamesAgree(t *testing.T) {
	pairs := [][2]string{
		{string(sfu.EventTrackPublished), string(signaling.MediaTrackPublished)},
		{string(sfu.EventTrackUnpublished), string(signaling.MediaTrackUnpublished)},
		{string(sfu.EventTrackMuted), string(signaling.MediaTrackMuted)},
		{string(sfu.EventActiveSpeaker), string(signaling.MediaActiveSpeaker)},
		{string(sfu.EventConnectionQuality), string(signaling.MediaQuality)},
		{string(sfu.EventVideoCodec), string(signaling.MediaVideoCodec)},
		{string(sfu.EventVideoPaused), string(signaling.MediaVideoPaused)},
		{string(sfu.EventTransportState), string(signaling.MediaTransportState)},
		{sfu.TransportPublisher, signaling.TransportPublisher},
		{sfu.TransportSubscriber, signaling.TransportSubscriber},
		{sfu.CodecVP8, signaling.CodecVP8},
		{sfu.CodecH264, signaling.CodecH264},
		{sfu.ScopeLobby, signaling.MediaScopeLobby},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("sfu %q, signaling %q", p[0], p[1])
		}
	}
}

func TestErrorsMap(t *testing.T) {
	for _, c := range []struct{ in, want error }{
		{sfu.ErrNotAllowed, signaling.ErrMediaNotAllowed},
		{sfu.ErrUnknownTrack, signaling.ErrMediaUnknownTrack},
		{sfu.ErrBadDescription, signaling.ErrMediaBadDescription},
		{sfu.ErrBadCandidate, signaling.ErrMediaBadCandidate},
	} {
		got := mapErr(fmt.Errorf("wrapped: %w", c.in))
		if !errors.Is(got, c.want) || !errors.Is(got, c.in) {
			t.Errorf("mapErr(%v) = %v, want it to wrap %v", c.in, got, c.want)
		}
	}
	if e := event(sfu.Event{Kind: sfu.EventVideoPaused, To: "a", Paused: true, Track: &sfu.TrackInfo{ID: "b/v"}}); !e.Paused || e.Track == nil || e.Track.ID != "b/v" || e.To != "a" {
		t.Errorf("video_paused event: %+v", e)
	}
}
