package recording

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp/codecs"
)

// cuesReserve is the room kept at the front of each file for the seek index (Cues), so
// that a browser seeks without reading the whole file. 64 KiB holds a cue per keyframe
// cluster for several hours; a longer file's index is thinned to fit.
const cuesReserve = 64 << 10

// maxFrame bounds one video frame (a publisher that never sets the marker bit cannot make the writer grow
// without end); 4 MiB is far above any VP8 frame a camera sends.
const maxFrame = 4 << 20

// aheadSlack and maxSlew: a frame time more than aheadSlack ms after its packet's arrival is pulled back by at
// most maxSlew ms per packet (audio packets are 20 ms apart: times still increase).
const aheadSlack, maxSlew = 20, 2

// maxLag is how far (ms) a stream's RTP clock may fall behind its arrival times before
// its frames are re-anchored on arrival time.
const maxLag = 500

// trackWriter turns one track's RTP packets into WebM frames in a spool file. It runs on
// the track's goroutine only.
//
// Timing: each frame's time is the wall-clock time at which the first packet of the
// current RTP stream (SSRC) arrived, plus the RTP timestamp advance since then. A new SSRC
// (the publisher reconnected, or the recorded simulcast layer changed) starts a new
// epoch, so the tracks of one session stay aligned whatever the publishers' clocks. A gap
// (caucus, mute, loss) leaves a gap in time, not a splice: what is absent is visibly
// absent.
type trackWriter struct {
	info  TrackInfo
	video bool // VP8 or H.264
	h264  bool
	hp    codecs.H264Packet // H.264 depacketizer (FU-A state), AVC output
	sps   []byte            // the first SPS and PPS seen: the avcC of a Matroska H.264 track
	pps   []byte
	// skipping drops the rest of an H.264 access unit (timestamp skipTS) that lost a packet.
	skipTS   uint32
	skipping bool
	spool    string
	log      *slog.Logger
	session  string    // the session's ID (names the spool file)
	start    time.Time // the session's recording start
	date     time.Time // DateUTC of the file: the wall-clock time of its first frame

	bw   webm.BlockWriteCloser
	path string

	have    bool
	ssrc    uint32
	baseMS  int64
	lastRTP uint32
	extRTP  int64
	lastSeq uint16
	needKF  bool

	frame   []byte
	frameTS uint32
	frameOK bool // the current frame started with its first partition and has no gap

	firstMS, lastMS int64
	frames          uint64
	dropped         uint64
	err             error
}

func (w *trackWriter) started() bool { return w.bw != nil }

func (w *trackWriter) waitingKeyframe() bool { return w.bw == nil || w.needKF }

func (w *trackWriter) packet(p packet, start time.Time) {
	if w.err != nil {
		return
	}
	w.start = start
	payload := (*p.buf)[:p.n]
	nowMS := (p.now - start.UnixNano()) / 1e6
	if !w.have || p.ssrc != w.ssrc {
		w.have, w.ssrc = true, p.ssrc
		w.baseMS = max(nowMS, w.lastMS+1)
		if w.bw == nil {
			w.baseMS = max(nowMS, 0)
		}
		w.lastRTP, w.extRTP, w.lastSeq = p.ts, 0, p.seq-1
		w.needKF = w.video
		w.hp = codecs.H264Packet{IsAVC: true}
		w.frame, w.frameOK = w.frame[:0], false
	}
	if d := int16(p.seq - w.lastSeq); d <= 0 {
		return // duplicate or late (a retransmission after we moved on)
	} else if d > 1 && w.video {
		w.hp = codecs.H264Packet{IsAVC: true}
		w.skipTS, w.skipping = p.ts, true // the rest of this access unit is incomplete
		w.frameOK = false                 // the frame being collected lost a packet
		w.needKF = true                   // (a gap is not counted as dropped: it is a caucus, a mute or upstream loss)
	}
	w.lastSeq = p.seq
	w.extRTP += int64(int32(p.ts - w.lastRTP))
	w.lastRTP = p.ts
	ms := w.baseMS + w.extRTP*1000/int64(w.info.ClockRate)
	if nowMS-ms > maxLag {
		// The sender's clock fell behind real time (it stalled, or skipped ticks): re-anchor
		// on arrival time, so that the file keeps to the session's clock.
		w.baseMS += nowMS - ms
		ms = nowMS
	}
	if ahead := ms - nowMS - aheadSlack; ahead > 0 {
		// Ahead of arrival: the stream's first packet, its anchor, came late (a busy server). Slew back a
		// little per packet, so that times keep increasing and converge on the arrival times.
		d := min(ahead, maxSlew)
		w.baseMS -= d
		ms -= d
	}
	if !w.video {
		w.write(ms, true, payload)
		return
	}
	if w.h264 {
		w.h264Packet(p, payload, ms)
		return
	}
	var vp codecs.VP8Packet
	data, err := vp.Unmarshal(payload)
	if err != nil || len(data) == 0 {
		return
	}
	if vp.S == 1 && vp.PID == 0 {
		w.frame, w.frameTS, w.frameOK = append(w.frame[:0], data...), p.ts, true
	} else if w.frameOK && p.ts == w.frameTS && len(w.frame)+len(data) <= maxFrame {
		w.frame = append(w.frame, data...)
	} else {
		w.frameOK = false
	}
	if !p.marker || !w.frameOK {
		return
	}
	w.frameOK = false
	kf := len(w.frame) > 0 && w.frame[0]&0x01 == 0
	if w.needKF && !kf {
		w.dropped++
		return
	}
	w.needKF = false
	w.write(ms, kf, w.frame)
}

// h264Packet collects the NAL units of one access unit (one RTP timestamp, up to the marker bit) in AVC form,
// keeps the first SPS and PPS for the track's configuration, and writes complete access units, starting with an
// IDR picture.
func (w *trackWriter) h264Packet(p packet, payload []byte, ms int64) {
	if w.skipping && p.ts == w.skipTS {
		w.frameOK = false
		return
	}
	w.skipping = false
	if p.ts != w.frameTS || !w.frameOK {
		// A new access unit (an unfinished previous one is dropped: its marker was lost).
		w.frame, w.frameTS, w.frameOK = w.frame[:0], p.ts, true
	}
	data, err := w.hp.Unmarshal(payload)
	if err != nil {
		w.frameOK = false
		w.hp = codecs.H264Packet{IsAVC: true}
		return
	}
	if len(w.frame)+len(data) > maxFrame {
		w.frameOK = false
		return
	}
	w.frame = append(w.frame, data...)
	if !p.marker {
		return
	}
	w.frameOK = false
	kf := false
	for _, nal := range avcNALs(w.frame) {
		switch nal[0] & 0x1f {
		case nalIDR:
			kf = true
		case nalSPS:
			if w.sps == nil {
				w.sps = append([]byte(nil), nal...)
			}
		case nalPPS:
			if w.pps == nil {
				w.pps = append([]byte(nil), nal...)
			}
		}
	}
	if len(w.frame) == 0 || (w.needKF || w.bw == nil) && (!kf || w.sps == nil || w.pps == nil) {
		w.dropped++
		return
	}
	w.needKF = false
	w.write(ms, kf, w.frame)
}

// write appends one frame, creating the file at the first one (a video file starts
// with a keyframe, which gives its size).
func (w *trackWriter) write(ms int64, kf bool, frame []byte) {
	if w.bw == nil {
		w.date = w.start.Add(time.Duration(ms) * time.Millisecond).UTC()
		if err := w.create(frame); err != nil {
			w.err = err
			return
		}
		w.firstMS = ms
	}
	if w.frames > 0 && ms <= w.lastMS {
		ms = w.lastMS + 1 // times strictly increase (a muxer refuses equal ones), whatever the sender's clock did
	}
	// The writer hands the frame to its own goroutine: it gets a copy of its own.
	if _, err := w.bw.Write(kf, ms-w.firstMS, append([]byte(nil), frame...)); err != nil {
		w.err = fmt.Errorf("recording: write frame: %w", err)
		return
	}
	w.lastMS = ms
	w.frames++
}

func (w *trackWriter) create(first []byte) error {
	if w.h264 {
		return w.createMP4()
	}
	entry := webm.TrackEntry{Name: w.info.ID, TrackNumber: 1, TrackUID: 1}
	header := webm.DefaultEBMLHeader
	ext := ".webm"
	switch {
	case w.video:
		width, height := vp8Size(first)
		entry.CodecID, entry.TrackType = "V_VP8", 1
		entry.Video = &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}
	default:
		entry.CodecID, entry.TrackType = "A_OPUS", 2
		entry.Audio = &webm.Audio{SamplingFrequency: 48000, Channels: 2}
		entry.CodecPrivate = opusHead()
	}
	// The spool name says whose it is: after a crash (kill -9, power) an unfinished file stays in the spool
	// directory, playable up to its last cluster, for an operator to recover.
	raw, err := os.CreateTemp(w.spool, "rec-"+safeName(w.session)+"-"+safeName(w.info.ID)+"-*"+ext)
	if err != nil {
		return fmt.Errorf("recording: spool: %w", err)
	}
	f := &spoolFile{f: raw, w: bufio.NewWriterSize(raw, 64<<10)}
	// A segment info of its own (the library's default is one shared value it writes the
	// duration into) and no block interceptor (its default sorter is shared too; one
	// track per file needs no sorting).
	info := &webm.Info{TimecodeScale: 1000000, MuxingApp: "parley", WritingApp: "parley", DateUTC: w.date}
	ws, err := webm.NewSimpleBlockWriter(f, []webm.TrackEntry{entry},
		mkvcore.WithEBMLHeader(header), mkvcore.WithSegmentInfo(info), mkvcore.WithBlockInterceptor(nil),
		mkvcore.WithSeekHead(true), mkvcore.WithCues(cuesReserve),
		mkvcore.WithOnErrorHandler(func(err error) { w.log.Warn("recording: webm", "err", err) }),
		mkvcore.WithOnFatalHandler(func(err error) { w.log.Error("recording: webm", "err", err) }))
	if err != nil {
		raw.Close()
		os.Remove(raw.Name())
		return fmt.Errorf("recording: webm: %w", err)
	}
	w.bw, w.path = ws[0], raw.Name()
	return nil
}

// createMP4 starts an H.264 track's file: WebM has no H.264, and browsers play H.264 in MP4, so a fragmented
// MP4 (mp4.go) whose configuration is the first SPS and PPS.
func (w *trackWriter) createMP4() error {
	width, height, ok := spsSize(w.sps)
	if !ok {
		width, height = 640, 480
	}
	raw, err := os.CreateTemp(w.spool, "rec-"+safeName(w.session)+"-"+safeName(w.info.ID)+"-*.mp4")
	if err != nil {
		return fmt.Errorf("recording: spool: %w", err)
	}
	mw, err := newMP4Writer(&spoolFile{f: raw, w: bufio.NewWriterSize(raw, 64<<10)}, width, height, avcC(w.sps, w.pps))
	if err != nil {
		raw.Close()
		os.Remove(raw.Name())
		return fmt.Errorf("recording: mp4: %w", err)
	}
	w.bw, w.path = mw, raw.Name()
	return nil
}

// finish closes the file and returns its description (without blob and session), and the
// spool path to remove; a nil File means nothing was recorded.
func (w *trackWriter) finish() (*File, string, error) {
	if w.bw == nil {
		return nil, "", w.err
	}
	cerr := w.bw.Close() // closes the file too
	if w.err == nil && cerr != nil {
		w.err = fmt.Errorf("recording: close webm: %w", cerr)
	}
	if w.err != nil {
		return nil, w.path, w.err
	}
	if w.frames == 0 {
		return nil, w.path, errors.New("recording: no frames")
	}
	container := "webm"
	if w.h264 {
		container = "mp4"
	}
	return &File{TrackID: w.info.ID, Participant: w.info.Participant, Kind: w.info.Kind, Codec: w.info.Codec,
		Container: container, Duration: time.Duration(w.lastMS-w.firstMS) * time.Millisecond, Frames: w.frames,
		Dropped: w.dropped}, w.path, nil
}

// vp8Size reads the frame size from a VP8 keyframe header (RFC 6386 §9.1).
func vp8Size(f []byte) (int, int) {
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 640, 480
	}
	w := int(f[6]) | int(f[7]&0x3f)<<8
	h := int(f[8]) | int(f[9]&0x3f)<<8
	return w, h
}

// opusHead is the OpusHead a Matroska Opus track carries as CodecPrivate (RFC 7845 §5.1):
// two channels, no pre-skip (a WebRTC stream carries none; the recording keeps its timing), 48 kHz.
func opusHead() []byte {
	return []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x00, 0x00, 0x80, 0xbb, 0, 0, 0, 0, 0}
}

// spoolFile buffers the writer's many small writes (one per frame) into few system calls; the writes at an
// offset that finish the file (the seek index, the duration) flush first.
type spoolFile struct {
	f *os.File
	w *bufio.Writer
}

func (s *spoolFile) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *spoolFile) WriteAt(p []byte, off int64) (int, error) {
	if err := s.w.Flush(); err != nil {
		return 0, err
	}
	return s.f.WriteAt(p, off)
}

func (s *spoolFile) Close() error {
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// safeName keeps the letters, digits, '-' and '_' of an ID for a file name (at most 64).
func safeName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 64; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	return string(b)
}
