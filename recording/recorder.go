package recording

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// TrackInfo is what the recorder is told of a published track.
type TrackInfo struct {
	ID          string // room-unique: participant ID "/" the client's track ID
	Participant string
	Kind        string // "audio" or "video"
	Codec       string // "opus", "VP8", "H264" (as sfu names them; case does not matter)
	ClockRate   uint32
}

// File is one finished per-track recording: what goes into the case's trail.
type File struct {
	SessionID   string `json:"session_id"`
	TrackID     string `json:"track_id"`
	Participant string `json:"participant_id"`
	Kind        string `json:"kind"`
	Codec       string `json:"codec"`
	Container   string `json:"container"` // "webm"
	// Caucus is the caucus the file is of ("" = the joint room): recorded only with every member's consent,
	// kept apart from the joint recording and never composed.
	Caucus string `json:"caucus_id,omitempty"`
	Blob
	// Start is the wall-clock time of the file's first frame; Offset is the same instant
	// measured from the start of the session's recording (to align the tracks).
	Start    time.Time     `json:"start"`
	Offset   time.Duration `json:"offset_ms"`
	Duration time.Duration `json:"duration_ms"`
	Frames   uint64        `json:"frames"`
	// Dropped counts packets the recorder could not take (its queue was full) and video
	// frames it threw away waiting for a keyframe (at the start, after a loss or a gap).
	Dropped uint64 `json:"dropped"`
}

// Sessions is what the recorder needs from the case system: whether a session is to be
// recorded, and the trail of what the recording did. Calls come from the recorder's own
// goroutines, never from the packet path.
type Sessions interface {
	// ShouldRecord reports whether the session is recorded (the organisation's setting or
	// the mediator's choice for this session).
	ShouldRecord(ctx context.Context, sessionID string) (bool, error)
	// RecordingStarted / RecordingRefused / RecordingStopped are events in the case trail.
	RecordingStarted(ctx context.Context, sessionID string, at time.Time) error
	RecordingRefused(ctx context.Context, sessionID string, at time.Time, reason string) error
	// unrecorded lists the tracks that were published but could not be recorded (a codec with no container here).
	RecordingStopped(ctx context.Context, sessionID string, at time.Time, files int, dropped uint64, unrecorded []string) error
	// RecordingFile stores a finished file's reference, size, SHA-256 and duration (in
	// the hash chain).
	RecordingFile(ctx context.Context, f File) error
}

// Config configures a Recorder.
type Config struct {
	Store Store
	// SpoolDir holds the files being written (each is moved into Store when its track ends).
	SpoolDir string
	// Floor is the free space (bytes) the store and the spool directory must have for a
	// recording to start.
	Floor int64
	// QueueLen is the number of packets queued per track between the packet path and the
	// writer; when full, packets are dropped and counted.
	QueueLen int
	Now      func() time.Time
	// Composer, when set, makes the composed playback file after each session's recording stops.
	Composer *Composer
}

// Stats are the recorder's counters.
type Stats struct {
	Sessions int    `json:"sessions"` // being recorded now
	Tracks   int    `json:"tracks"`   // being written now
	Queued   uint64 `json:"queued"`   // packets taken
	Dropped  uint64 `json:"dropped"`  // packets dropped (queue full)
	Files    uint64 `json:"files"`    // files stored
	Failures uint64 `json:"failures"` // files lost (spool or store error)
	// Composed counts composed playback files made; ComposeSeconds is the time ffmpeg took for them and
	// ComposedSeconds the length of session they cover.
	Composed        uint64  `json:"composed"`
	ComposeSeconds  float64 `json:"compose_seconds"`
	ComposedSeconds float64 `json:"composed_seconds"`
}

// Recorder records sessions. It owns a goroutine per session being recorded and one per
// track; Close waits for all of them.
type Recorder struct {
	cfg  Config
	log  *slog.Logger
	sess Sessions

	mu     sync.Mutex
	open   map[*Session]struct{}
	closed bool
	wg     sync.WaitGroup
	stop   context.Context // cancelled by Close: ends a composition under way
	cancel context.CancelFunc

	composed, composeNanos, composedNanos atomic.Uint64

	tracks                           atomic.Int64
	queued, dropped, files, failures atomic.Uint64
}

// New returns a Recorder.
func New(cfg Config, sessions Sessions, logger *slog.Logger) (*Recorder, error) {
	if cfg.Store == nil || sessions == nil {
		return nil, errors.New("recording: a store and the sessions are required")
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir()
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("recording: spool: %w", err)
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 2048
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stop, cancel := context.WithCancel(context.Background())
	return &Recorder{cfg: cfg, log: logger, sess: sessions, open: map[*Session]struct{}{}, stop: stop, cancel: cancel}, nil
}

// Stats returns the counters.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	n := len(r.open)
	r.mu.Unlock()
	return Stats{Sessions: n, Tracks: int(r.tracks.Load()), Queued: r.queued.Load(), Dropped: r.dropped.Load(),
		Files: r.files.Load(), Failures: r.failures.Load(), Composed: r.composed.Load(),
		ComposeSeconds: float64(r.composeNanos.Load()) / 1e9, ComposedSeconds: float64(r.composedNanos.Load()) / 1e9}
}

// Session states.
const (
	statePending int32 = iota // deciding whether to record
	stateActive
	stateOff // not recorded (setting, refusal) or closed
)

// Session is the recording of one session's joint room on this node. Its methods never
// block: they are called by the media plane.
type Session struct {
	r     *Recorder
	id    string
	log   *slog.Logger
	state atomic.Int32
	start time.Time

	mu     sync.Mutex
	closed bool
	tracks sync.WaitGroup
	files  int
	drops  uint64
	skip   []string // tracks not recorded (codec)
	stored []File   // files stored, for the composed file
	open   []*Track // tracks opened while the session was being decided
	quit   chan struct{}
}

// Open starts the recording of a session's room: in the background it asks whether the
// session is recorded and checks the free space; tracks opened meanwhile start writing
// once it is decided. It returns nil once the Recorder is closed.
func (r *Recorder) Open(sessionID string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	s := &Session{r: r, id: sessionID, log: r.log.With("session_id", sessionID), quit: make(chan struct{})}
	r.open[s] = struct{}{}
	r.wg.Add(1)
	go s.run()
	return s
}

// Close stops every recording and waits, up to ctx, until their files are stored.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	open := make([]*Session, 0, len(r.open))
	for s := range r.open {
		open = append(open, s)
	}
	r.mu.Unlock()
	for _, s := range open {
		s.Close()
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("recording: close: %w", ctx.Err())
	}
}

// Recording reports whether the session is being recorded now.
func (s *Session) Recording() bool { return s != nil && s.state.Load() == stateActive }

// Close ends the session's recording: every track's file is finished and stored in the
// background.
func (s *Session) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
}

func (s *Session) run() {
	defer s.r.wg.Done()
	defer func() {
		s.r.mu.Lock()
		delete(s.r.open, s)
		s.r.mu.Unlock()
	}()
	ctx := context.Background()
	on, err := s.r.sess.ShouldRecord(ctx, s.id)
	if err != nil {
		s.log.Warn("recording: cannot tell whether the session is recorded; not recording", "err", err)
	}
	if !on || err != nil {
		s.off()
		return
	}
	if reason := s.r.refusal(ctx); reason != "" {
		s.log.Warn("recording refused", "reason", reason)
		if err := s.r.sess.RecordingRefused(ctx, s.id, s.r.cfg.Now(), reason); err != nil {
			s.log.Error("recording: trail", "err", err)
		}
		s.off()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.off()
		return
	}
	s.start = s.r.cfg.Now()
	s.state.Store(stateActive)
	s.open = nil
	s.mu.Unlock()
	if err := s.r.sess.RecordingStarted(ctx, s.id, s.start); err != nil {
		s.log.Error("recording: trail", "err", err)
	}
	s.log.Info("recording started")
	<-s.quit
	s.state.Store(stateOff)
	s.tracks.Wait() // every file stored (or lost, and logged)
	s.mu.Lock()
	files, drops, skip := s.files, s.drops, s.skip
	s.mu.Unlock()
	if err := s.r.sess.RecordingStopped(ctx, s.id, s.r.cfg.Now(), files, drops, skip); err != nil {
		s.log.Error("recording: trail", "err", err)
	}
	s.log.Info("recording stopped", "files", files, "dropped", drops)
	s.compose()
}

// compose makes the composed playback file of the session, when a Composer is configured, and puts it into the
// store and the trail like the per-track files.
func (s *Session) compose() {
	c := s.r.cfg.Composer
	s.mu.Lock()
	stored := append([]File(nil), s.stored...)
	s.mu.Unlock()
	if c == nil || len(stored) == 0 {
		return
	}
	var length time.Duration
	for _, f := range stored {
		length = max(length, f.Offset+f.Duration)
	}
	began := time.Now()
	path, err := c.compose(s.r.stop, s.r.cfg.Store, s.id, stored, s.r.cfg.SpoolDir)
	if err != nil {
		s.log.Error("recording: compose", "err", err)
		return
	}
	defer os.Remove(path)
	took := time.Since(began)
	rd, err := os.Open(path)
	if err != nil {
		s.log.Error("recording: compose", "err", err)
		return
	}
	defer rd.Close()
	blob, err := s.r.cfg.Store.Put(s.r.stop, rd)
	if err != nil {
		s.log.Error("recording: store composed file", "err", err)
		return
	}
	s.r.composed.Add(1)
	s.r.composeNanos.Add(uint64(took))
	s.r.composedNanos.Add(uint64(length))
	f := File{SessionID: s.id, TrackID: "composed", Kind: "composed", Codec: "vp8+opus", Container: "webm", Blob: blob,
		Start: s.start, Duration: length}
	if err := s.r.sess.RecordingFile(context.Background(), f); err != nil {
		s.log.Error("recording: trail", "err", err)
	}
	s.log.Info("composed playback file", "took", took.Round(time.Millisecond), "session", length.Round(time.Second),
		"per_minute", (time.Duration(float64(took) / max(length.Minutes(), 1.0/60))).Round(time.Millisecond))
}

// off marks the session as not recorded and ends the goroutines of the tracks opened while it was being decided
// (new ones are not opened), then waits for the room to close.
func (s *Session) off() {
	s.mu.Lock()
	s.state.Store(stateOff)
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, t := range open {
		t.Close()
	}
	<-s.quit
	s.tracks.Wait()
}

// refusal says why a recording may not start ("" = it may).
func (r *Recorder) refusal(ctx context.Context) string {
	if err := CheckFloor(ctx, r.cfg.Store, r.cfg.Floor); err != nil {
		return err.Error()
	}
	if r.cfg.Floor > 0 {
		if free, err := dirFree(r.cfg.SpoolDir); err == nil && free < r.cfg.Floor {
			return fmt.Sprintf("%v: spool directory has %d MiB free, floor %d MiB", ErrLowSpace, free>>20, r.cfg.Floor>>20)
		}
	}
	return ""
}

// OpenTrack starts recording a published track; requestKeyframe asks its publisher for a
// keyframe (a video file starts on one, and resumes on one after a loss or a gap). It
// returns nil for a track that is not recorded: the session is not (or no longer)
// recorded, or the codec is none of Opus, VP8 and H.264.
func (s *Session) OpenTrack(info TrackInfo, requestKeyframe func()) *Track {
	return s.openTrack(info, "", requestKeyframe)
}

// OpenCaucusTrack starts recording a track into the separate recording of a caucus whose members all consented
// (while its publisher is in that caucus); like OpenTrack otherwise. A caucus is recorded only in a session that
// is recorded.
func (s *Session) OpenCaucusTrack(info TrackInfo, caucusID string, requestKeyframe func()) *Track {
	if caucusID == "" {
		return nil
	}
	return s.openTrack(info, caucusID, requestKeyframe)
}

func (s *Session) openTrack(info TrackInfo, caucus string, requestKeyframe func()) *Track {
	if s == nil || s.state.Load() == stateOff {
		return nil
	}
	codec := strings.ToLower(info.Codec)
	if codec != "opus" && codec != "vp8" && codec != "h264" {
		s.log.Warn("recording: codec not recorded", "track_id", info.ID, "codec", info.Codec)
		s.mu.Lock()
		s.skip = append(s.skip, info.ID+" ("+info.Codec+")")
		s.mu.Unlock()
		return nil
	}
	if info.ClockRate == 0 {
		info.ClockRate = 90000
		if codec == "opus" {
			info.ClockRate = 48000
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.state.Load() == stateOff {
		return nil
	}
	if requestKeyframe == nil {
		requestKeyframe = func() {}
	}
	t := &Track{s: s, info: info, caucus: caucus, video: codec != "opus", h264: codec == "h264", kf: requestKeyframe, q: make(chan packet, s.r.cfg.QueueLen), quit: make(chan struct{})}
	if s.state.Load() == statePending {
		s.open = append(s.open, t)
	}
	s.tracks.Add(1)
	s.r.tracks.Add(1)
	go t.run()
	return t
}

// packet is a copy of one RTP packet taken on the packet path.
type packet struct {
	buf    *[]byte // from bufPool; payload is (*buf)[:n]
	n      int
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool
	now    int64
}

// kfAsk is how often a video track waiting for a keyframe asks for one again.
const kfAsk = 500 * time.Millisecond

// drainEvery is how often a track's writer empties its queue: at 1,000 packets/s (a 1 Mbit/s video) a queue of
// QueueLen 2048 holds two seconds, so only a writer stalled that long (a slow disk) drops.
const drainEvery = 20 * time.Millisecond

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1500); return &b }}

// Track records one published track. WriteRTP is called on the packet path and never
// blocks; everything else happens on the track's own goroutine.
type Track struct {
	s       *Session
	info    TrackInfo
	caucus  string // "" = the joint room
	video   bool
	h264    bool
	kf      func()
	q       chan packet
	quit    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
}

// WriteRTP copies a packet into the track's queue, or drops and counts it when the queue
// is full. It must not block (called while forwarding).
func (t *Track) WriteRTP(p *rtp.Packet, now int64) {
	if t.s.state.Load() != stateActive {
		return
	}
	if len(p.Payload) > 1500 {
		t.dropped.Add(1)
		return
	}
	b := bufPool.Get().(*[]byte)
	n := copy(*b, p.Payload)
	select {
	case t.q <- packet{buf: b, n: n, seq: p.SequenceNumber, ts: p.Timestamp, ssrc: p.SSRC, marker: p.Marker, now: now}:
		t.s.r.queued.Add(1)
	default:
		bufPool.Put(b)
		t.dropped.Add(1)
		t.s.r.dropped.Add(1)
	}
}

// Close ends the track's recording (unpublished, or the room closed); its file is
// finished and stored in the background.
func (t *Track) Close() {
	if t != nil {
		t.once.Do(func() { close(t.quit) })
	}
}

func (t *Track) run() {
	defer t.s.tracks.Done()
	defer t.s.r.tracks.Add(-1)
	w := &trackWriter{session: t.s.id, info: t.info, video: t.video, h264: t.h264, spool: t.s.r.cfg.SpoolDir, log: t.s.log.With("track_id", t.info.ID)}
	handle := func(p packet) {
		if t.s.state.Load() == stateActive || w.started() {
			w.packet(p, t.s.start)
		}
		bufPool.Put(p.buf)
	}
	// The writer wakes on a ticker and drains the queue, rather than waking for every packet: a send into a
	// buffered channel nobody waits on is the cheapest thing the packet path can do.
	tk := time.NewTicker(drainEvery)
	defer tk.Stop()
	drain := func() {
		for {
			select {
			case p := <-t.q:
				handle(p)
			default:
				return
			}
		}
	}
	lastAsk := time.Now()
loop:
	for {
		select {
		case <-tk.C:
			drain()
			if t.video && t.s.state.Load() == stateActive && w.waitingKeyframe() && time.Since(lastAsk) >= kfAsk {
				lastAsk = time.Now()
				t.kf()
			}
		case <-t.quit:
			break loop
		case <-t.s.quit:
			break loop
		}
	}
	drain()
	f, path, err := w.finish()
	if path != "" {
		defer os.Remove(path)
	}
	if err != nil {
		t.s.r.failures.Add(1)
		t.s.log.Error("recording: track file lost", "track_id", t.info.ID, "err", err)
		return
	}
	if f == nil {
		return // nothing was recorded
	}
	f.SessionID, f.Caucus = t.s.id, t.caucus
	f.Offset = time.Duration(w.firstMS) * time.Millisecond
	f.Start = t.s.start.Add(f.Offset)
	f.Dropped += t.dropped.Load()
	ctx := context.Background()
	rd, err := os.Open(path)
	if err != nil {
		t.s.r.failures.Add(1)
		t.s.log.Error("recording: track file lost", "track_id", t.info.ID, "err", err)
		return
	}
	defer rd.Close()
	blob, err := t.s.r.cfg.Store.Put(ctx, rd)
	if err != nil {
		t.s.r.failures.Add(1)
		t.s.log.Error("recording: store track file", "track_id", t.info.ID, "err", err)
		return
	}
	f.Blob = blob
	if err := t.s.r.sess.RecordingFile(ctx, *f); err != nil {
		t.s.log.Error("recording: trail", "track_id", t.info.ID, "err", err)
	}
	t.s.r.files.Add(1)
	t.s.mu.Lock()
	t.s.files++
	t.s.drops += f.Dropped
	if t.caucus == "" { // the composed file is of the joint room only
		t.s.stored = append(t.s.stored, *f)
	}
	t.s.mu.Unlock()
}
