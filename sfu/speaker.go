package sfu

// Active-speaker detection from the audio-level header extension (RFC 6464).
//
// Each audio track accumulates the loudness (127 − level, so louder is larger) of its
// packets; every room tick the mean is folded into an exponential moving average. A
// subscriber's active speaker is the loudest track it may hear whose smoothed loudness is
// above speakerThreshold; a new speaker must win speakerHold consecutive ticks before
// the event fires, so a cough does not steal the spotlight. While the speaker stays, the
// event repeats when its smoothed level moved by speakerLevelStep dB from the level last
// reported, so the level a client shows is current.

const (
	speakerThreshold = 127 - 55 // louder than −55 dBov
	speakerAlpha     = 0.35     // weight of the newest tick in the moving average
	speakerHold      = 2        // ticks a challenger must lead
	speakerLevelStep = 3.0      // dB of level change that is reported again
)

// speakerState is the active-speaker state of one subscriber.
type speakerState struct {
	current   string
	challenge string
	ticks     int
	reported  float64 // loudness last reported for current
}

// speakerCandidate is one audible track at a tick.
type speakerCandidate struct {
	participant string
	loudness    float64
}

// smooth folds one tick's mean loudness into the moving average.
func smooth(prev float64, sum, count uint64) float64 {
	mean := 0.0
	if count > 0 {
		mean = float64(sum) / float64(count)
	}
	return prev*(1-speakerAlpha) + mean*speakerAlpha
}

// update picks the loudest candidate above the threshold and reports whether the
// subscriber's active speaker changed.
func (s *speakerState) update(cands []speakerCandidate) (string, float64, bool) {
	best, level := "", 0.0
	for _, c := range cands {
		if c.loudness >= speakerThreshold && c.loudness > level {
			best, level = c.participant, c.loudness
		}
	}
	if best == s.current {
		s.challenge, s.ticks = "", 0
		if best != "" && (level-s.reported >= speakerLevelStep || s.reported-level >= speakerLevelStep) {
			s.reported = level
			return best, level, true
		}
		return s.current, level, false
	}
	if best == s.challenge {
		s.ticks++
	} else {
		s.challenge, s.ticks = best, 1
	}
	if s.ticks < speakerHold {
		return s.current, level, false
	}
	s.current, s.challenge, s.ticks, s.reported = best, "", 0, level
	return best, level, true
}
