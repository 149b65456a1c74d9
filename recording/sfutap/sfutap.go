// Package sfutap plugs the recorder (package recording) into the media plane (package
// sfu): it is the one place that knows both, so that neither imports the other.
// cmd/parley and tests call engine.SetTap(sfutap.For(recorder)).
package sfutap

import (
	"github.com/parley-mediation/parley/recording"
	"github.com/parley-mediation/parley/sfu"
)

// For returns the function that gives each new sfu room the recorder's session.
func For(rec *recording.Recorder) func(sessionID string) sfu.Tap {
	return func(sessionID string) sfu.Tap {
		s := rec.Open(sessionID)
		if s == nil {
			return nil
		}
		return tap{s}
	}
}

type tap struct{ s *recording.Session }

func (t tap) OpenTrack(info sfu.TrackInfo, clockRate uint32, requestKeyframe func()) sfu.TrackTap {
	tr := t.s.OpenTrack(recording.TrackInfo{ID: info.ID, Participant: info.Participant, Kind: info.Kind,
		Codec: info.Codec, ClockRate: clockRate}, requestKeyframe)
	if tr == nil {
		return nil // not a typed nil inside the interface
	}
	return tr
}

func (t tap) Close() { t.s.Close() }

// OpenCaucusTrack records a track into the separate recording of a caucus whose members all consented.
func (t tap) OpenCaucusTrack(info sfu.TrackInfo, caucusID string, clockRate uint32, requestKeyframe func()) sfu.TrackTap {
	tr := t.s.OpenCaucusTrack(recording.TrackInfo{ID: info.ID, Participant: info.Participant, Kind: info.Kind,
		Codec: info.Codec, ClockRate: clockRate}, caucusID, requestKeyframe)
	if tr == nil {
		return nil
	}
	return tr
}
