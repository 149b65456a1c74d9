package client

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// The media files are 2 s of real encoder output (ffmpeg testsrc at 320×180, 15 fps,
// keyframe every second, ~150 kbit/s; a 440 Hz tone in 20 ms Opus packets), looped by
// the publisher. They make the tests exercise real VP8/H.264/Opus payloads.
//
//go:embed media/video.ivf media/video.h264 media/audio.ogg
var mediaFS embed.FS

type clip struct {
	vp8  [][]byte // one VP8 frame each
	h264 [][]byte // one Annex-B access unit each (SPS/PPS included before IDRs)
	opus [][]byte // one 20 ms Opus packet each
	err  error
}

var (
	clipOnce sync.Once
	theClip  clip
)

func loadClip() (*clip, error) {
	clipOnce.Do(func() { theClip = readClip() })
	return &theClip, theClip.err
}

func readClip() clip {
	var c clip
	b, err := mediaFS.ReadFile("media/video.ivf")
	if err != nil {
		return clip{err: err}
	}
	ivf, _, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return clip{err: fmt.Errorf("client: ivf: %w", err)}
	}
	for {
		f, _, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return clip{err: fmt.Errorf("client: ivf frame: %w", err)}
		}
		c.vp8 = append(c.vp8, f)
	}

	b, err = mediaFS.ReadFile("media/video.h264")
	if err != nil {
		return clip{err: err}
	}
	hr, err := h264reader.NewReader(bytes.NewReader(b))
	if err != nil {
		return clip{err: fmt.Errorf("client: h264: %w", err)}
	}
	var au []byte
	for {
		nal, err := hr.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return clip{err: fmt.Errorf("client: h264 nal: %w", err)}
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		if t := nal.UnitType; t == h264reader.NalUnitTypeCodedSliceNonIdr || t == h264reader.NalUnitTypeCodedSliceIdr {
			c.h264 = append(c.h264, au)
			au = nil
		}
	}

	b, err = mediaFS.ReadFile("media/audio.ogg")
	if err != nil {
		return clip{err: err}
	}
	ogg, _, err := oggreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return clip{err: fmt.Errorf("client: ogg: %w", err)}
	}
	for {
		page, _, err := ogg.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return clip{err: fmt.Errorf("client: ogg page: %w", err)}
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		c.opus = append(c.opus, page)
	}
	if len(c.vp8) == 0 || len(c.h264) == 0 || len(c.opus) == 0 {
		return clip{err: errors.New("client: embedded media empty")}
	}
	return c
}

// ClipSizes returns the mean size of the embedded clip's Opus packets and VP8 frames, in
// bytes (the load test's floor measurement uses the sizes the load will send).
func ClipSizes() (opusPacket, vp8Frame int) {
	c, err := loadClip()
	if err != nil {
		return 0, 0
	}
	mean := func(fs [][]byte) int {
		n := 0
		for _, f := range fs {
			n += len(f)
		}
		return n / max(len(fs), 1)
	}
	return mean(c.opus), mean(c.vp8)
}
