// Package sfumedia adapts the SFU (package sfu) to the media interface the signalling
// layer declares (signaling.Media): it translates sfu's types into signalling's wire
// types and back. It is the only package that knows both; cmd/parley and tests wire
// signaling.NewServer(cfg, sfumedia.New(engine), …).
package sfumedia

import (
	"errors"
	"fmt"
	"time"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling"
	"github.com/pion/webrtc/v4"
)

// Media implements signaling.Media on an sfu.Engine.
type Media struct{ e *sfu.Engine }

// New returns the signalling view of engine.
func New(engine *sfu.Engine) *Media { return &Media{e: engine} }

// Room implements signaling.Media.
func (m *Media) Room(sessionID string, onEvent func(signaling.MediaEvent)) (signaling.MediaRoom, error) {
	r, err := m.e.Room(sessionID, func(ev sfu.Event) { onEvent(event(ev)) })
	if err != nil {
		return nil, err
	}
	return room{r}, nil
}

// ICEServers implements signaling.Media.
func (m *Media) ICEServers(participantID string, ttl time.Duration) []webrtc.ICEServer {
	return m.e.ICEServers(participantID, ttl)
}

func event(ev sfu.Event) signaling.MediaEvent {
	out := signaling.MediaEvent{Kind: signaling.MediaEventKind(ev.Kind), To: ev.To, Participant: ev.Participant,
		Level: ev.Level, Quality: ev.Quality, Loss: ev.Loss, RTT: ev.RTT, Codec: ev.Codec, Transport: ev.Transport, State: ev.State,
		Paused: ev.Paused}
	if ev.Track != nil {
		t := trackInfo(*ev.Track)
		out.Track = &t
	}
	return out
}

func trackInfo(t sfu.TrackInfo) signaling.TrackInfo {
	return signaling.TrackInfo{ID: t.ID, Participant: t.Participant, Kind: t.Kind, Source: t.Source, Codec: t.Codec,
		Simulcast: t.Simulcast, Muted: t.Muted}
}

// mapErr turns sfu's client-error sentinels into signalling's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sfu.ErrNotAllowed):
		return fmt.Errorf("%w: %w", signaling.ErrMediaNotAllowed, err)
	case errors.Is(err, sfu.ErrUnknownTrack):
		return fmt.Errorf("%w: %w", signaling.ErrMediaUnknownTrack, err)
	case errors.Is(err, sfu.ErrBadDescription):
		return fmt.Errorf("%w: %w", signaling.ErrMediaBadDescription, err)
	case errors.Is(err, sfu.ErrBadCandidate):
		return fmt.Errorf("%w: %w", signaling.ErrMediaBadCandidate, err)
	}
	return err
}

type room struct{ r *sfu.Room }

func (r room) Join(id string, o signaling.MediaOptions, sig signaling.MediaSignal) (signaling.MediaSeat, error) {
	p, err := r.r.Join(id, sfu.ParticipantOptions{CanPublish: o.CanPublish, CanSubscribe: o.CanSubscribe,
		CanModerate: o.CanModerate, Lobby: o.Lobby, Decode: o.Decode}, sig)
	if err != nil {
		return nil, mapErr(err)
	}
	return seat{p}, nil
}

func (r room) Remove(id string)                      { r.r.Remove(id) }
func (r room) SetScopes(scopes map[string]string)    { r.r.SetScopes(scopes) }
func (r room) RecordCaucus(caucusID string, on bool) { r.r.RecordCaucus(caucusID, on) }
func (r room) Scope(id string) string                { return r.r.Scope(id) }
func (r room) VideoCodec() string                    { return r.r.VideoCodec() }
func (r room) Close()                                { r.r.Close() }
func (r room) MuteParticipant(id, k string, m bool)  { r.r.MuteParticipant(id, k, m) }
func (r room) Unpublish(pid, tid string) error       { return mapErr(r.r.Unpublish(pid, tid)) }
func (r room) MuteTrack(tid string, m bool) error    { return mapErr(r.r.MuteTrack(tid, m)) }

func (r room) Tracks() []signaling.TrackInfo {
	ts := r.r.Tracks()
	out := make([]signaling.TrackInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, trackInfo(t))
	}
	return out
}

type seat struct{ p *sfu.Participant }

func (s seat) HandleOffer(sdp string, tracks []signaling.TrackMeta) (string, error) {
	var metas []sfu.TrackMeta
	for _, t := range tracks {
		m := sfu.TrackMeta{TrackID: t.TrackID, Source: t.Source}
		for _, l := range t.Layers {
			m.Layers = append(m.Layers, sfu.LayerMeta{RID: l.RID, Width: l.Width, Height: l.Height})
		}
		metas = append(metas, m)
	}
	a, err := s.p.HandleOffer(sdp, metas)
	return a, mapErr(err)
}

func (s seat) SetAnswer(sdp string) error { return mapErr(s.p.SetAnswer(sdp)) }
func (s seat) AddCandidate(tr string, c webrtc.ICECandidateInit) error {
	return mapErr(s.p.AddCandidate(tr, c))
}
func (s seat) SetRenderSize(id string, w, h int) error { return mapErr(s.p.SetRenderSize(id, w, h)) }
func (s seat) RestartPublisher() error                 { return mapErr(s.p.RestartPublisher()) }
