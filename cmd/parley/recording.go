package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/recording"
	"github.com/parley-mediation/parley/recording/sfutap"
	"github.com/parley-mediation/parley/signing"
)

// recorder is the recording part of the server (issue 14): the blob store and the recorder the SFU feeds.
type recorder struct {
	rec   *recording.Recorder
	blobs recording.Store
}

// newRecording builds the blob store (recording-store), the recorder, and plugs it into the rooms' media.
func newRecording(cfg *Config, store *cases.Store, pool *pgxpool.Pool, rms *rooms, logger *slog.Logger) (*recorder, error) {
	blobs, err := newBlobStore(cfg, pool)
	if err != nil {
		return nil, err
	}
	log := logger.With("component", "recording")
	var composer *recording.Composer
	if cfg.RecordingCompose {
		if composer = recording.NewComposer("", composeFont(cfg)); composer == nil {
			log.Warn("ffmpeg not found: recorded sessions get no composed playback file (install ffmpeg)")
		} else {
			composer.Label = func(sessionID, participantID string) string {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				name, _ := store.ParticipantName(ctx, sessionID, participantID)
				return name
			}
		}
	}
	rec, err := recording.New(recording.Config{Store: blobs, SpoolDir: filepath.Join(recordingDataDir(cfg), "recording-spool"),
		Floor: cfg.RecordingFreeFloor, QueueLen: cfg.RecordingQueue, Composer: composer}, &recSessions{store: store, log: log}, log)
	if err != nil {
		return nil, err
	}
	if rms != nil {
		rms.engine.SetTap(sfutap.For(rec))
	}
	return &recorder{rec: rec, blobs: blobs}, nil
}

// newBlobStore is the store of recording-store: PostgreSQL large objects, or <data-dir>/recordings.
func newBlobStore(cfg *Config, pool *pgxpool.Pool) (recording.Store, error) {
	if cfg.RecordingStore == "dir" {
		return recording.NewDirStore(filepath.Join(recordingDataDir(cfg), "recordings"))
	}
	return &recording.PGStore{Pool: pool, Quota: cfg.RecordingQuota}, nil
}

// composeFont is the font of the names and the clock in the composed file: PARLEY_FONT, else the first of the
// fonts documents use that is installed (it must have Chinese), else none (no text).
func composeFont(cfg *Config) string {
	for _, p := range append([]string{cfg.Font}, signing.DefaultFontPaths...) {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func recordingDataDir(cfg *Config) string {
	if cfg.DataDir != "" {
		return cfg.DataDir
	}
	return defaultDataDir()
}

// close waits for the files of the recordings still being finished (after the rooms closed), up to ctx.
func (r *recorder) close(ctx context.Context) {
	if r != nil {
		_ = r.rec.Close(ctx)
	}
}

// recSessions implements recording.Sessions on the case store: whether a session is recorded, and the trail.
type recSessions struct {
	store *cases.Store
	log   *slog.Logger
}

func (s *recSessions) ShouldRecord(ctx context.Context, sessionID string) (bool, error) {
	rec, _, err := s.store.SessionRecorded(ctx, sessionID)
	if cases.ErrorCode(err) == cases.ENOTFOUND {
		return false, nil // a room not of a case session (tests, load)
	}
	return rec, err
}

func (s *recSessions) RecordingStarted(ctx context.Context, sessionID string, at time.Time) error {
	return s.store.RecordSessionEvent(ctx, sessionID, "recording.started", map[string]any{"at": at.UTC().Format(time.RFC3339Nano)})
}

func (s *recSessions) RecordingRefused(ctx context.Context, sessionID string, at time.Time, reason string) error {
	return s.store.RecordSessionEvent(ctx, sessionID, "recording.refused", map[string]any{"reason": reason})
}

func (s *recSessions) RecordingStopped(ctx context.Context, sessionID string, at time.Time, files int, dropped uint64, unrecorded []string) error {
	data := map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "files": files, "dropped": dropped}
	if len(unrecorded) > 0 {
		data["unrecorded_tracks"] = unrecorded
	}
	return s.store.RecordSessionEvent(ctx, sessionID, "recording.stopped", data)
}

func (s *recSessions) RecordingFile(ctx context.Context, f recording.File) error {
	_, err := s.store.AddRecording(ctx, cases.Recording{SessionID: f.SessionID, TrackID: f.TrackID, ParticipantID: f.Participant,
		Kind: f.Kind, Codec: strings.ToLower(f.Codec), Container: f.Container, CaucusID: f.Caucus, BlobRef: f.Ref, Size: f.Size, SHA256: f.SHA256,
		StartedAt: f.Start, OffsetMS: f.Offset.Milliseconds(), DurationMS: f.Duration.Milliseconds(), Frames: int64(f.Frames), Dropped: int64(f.Dropped)})
	return err
}

// recordingsResponse is what a session's page and its pre-join notice read: whether the session is recorded and,
// for those who may watch, its recordings.
type recordingsResponse struct {
	Recorded   bool              `json:"recorded"`
	MayView    bool              `json:"may_view"`
	Recordings []cases.Recording `json:"recordings"`
}

func (a *app) recordingRoutes() []route {
	return []route{
		{"GET", "/api/v1/sessions/{id}/recordings", "Whether the session is recorded (every participant is told before joining) and, for its mediators, the court's judges and (if the organisation allows) its parties, the recorded files with their SHA-256", "recordings", anyone, nil, nil, recordingsResponse{}, 200, handleSessionRecordings(a)},
		{"PUT", "/api/v1/sessions/{id}/recording", "Record this session or not (the case's mediator, before the session starts; otherwise the organisation's setting decides)", "recordings", staff, nil, cases.SessionRecordingChoice{}, cases.Session{}, 200, handleSessionRecordingChoice(a)},
		{"GET", "/api/v1/organisations/{id}/recording-settings", "The organisation's recording settings", "recordings", staff, nil, nil, cases.RecordingSettings{}, 200, handleOrgRecordingSettings(a)},
		{"PUT", "/api/v1/organisations/{id}/recording-settings", "Change the organisation's recording settings (its admin)", "recordings", staff, nil, cases.RecordingSettings{}, cases.RecordingSettings{}, 200, handleOrgRecordingSettingsSet(a)},
		{"GET", "/api/v1/recordings/{id}/media", "The recorded file (WebM; fragmented MP4 for H.264 video) with range requests for seeking; access is checked on every request and each viewing is an event in the trail", "recordings", anyone, nil, nil, rawBody("video/webm"), 200, handleRecordingMedia(a)},
	}
}

func handleSessionRecordings(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		ss, err := a.store.Session(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if _, err := a.store.CaseFor(r.Context(), p, ss.CaseID); err != nil {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "session not found"))
			return
		}
		recorded, _, err := a.store.SessionRecorded(r.Context(), ss.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		out := recordingsResponse{Recorded: recorded, Recordings: []cases.Recording{}}
		list, err := a.store.SessionRecordings(r.Context(), p, ss.ID)
		switch {
		case err == nil:
			out.MayView, out.Recordings = true, list
		case cases.ErrorCode(err) != cases.EFORBIDDEN:
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

func handleSessionRecordingChoice(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.SessionRecordingChoice](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		ss, err := a.store.SetSessionRecording(r.Context(), principal(r), r.PathValue("id"), in.Record)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, ss)
	})
}

func handleOrgRecordingSettings(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := a.store.Organisation(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rs, err := a.store.OrgRecordingSettings(r.Context(), o.ID)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rs)
	})
}

func handleOrgRecordingSettingsSet(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[cases.RecordingSettings](r, a.cfg.MaxBodyBytes)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		rs, err := a.store.SetOrgRecordingSettings(r.Context(), principal(r), r.PathValue("id"), in)
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		encode(w, http.StatusOK, rs)
	})
}

// handleRecordingMedia serves a recorded file from the blob store. Who may watch is checked on every request
// (a seek is a new range request); a viewing starts with a request from the first byte (no Range, or
// "bytes=0-"), and that is the one recorded in the trail.
func handleRecordingMedia(a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		rec, err := a.store.RecordingFor(r.Context(), p, r.PathValue("id"))
		if err != nil {
			fail(w, r, a.log, err)
			return
		}
		if a.recs == nil {
			fail(w, r, a.log, cases.Errorf(cases.ENOTFOUND, "recordings are not served by this node"))
			return
		}
		blob, err := a.recs.blobs.Open(r.Context(), rec.BlobRef)
		if err != nil {
			if errors.Is(err, recording.ErrNotFound) || errors.Is(err, recording.ErrBadRef) {
				err = cases.Errorf(cases.ENOTFOUND, "the recorded file is missing from the store")
			}
			fail(w, r, a.log, err)
			return
		}
		defer blob.Close()
		if rg := r.Header.Get("Range"); r.Method == http.MethodGet && (rg == "" || strings.HasPrefix(rg, "bytes=0-")) {
			if err := a.store.RecordingViewed(r.Context(), p, rec); err != nil {
				fail(w, r, a.log, err) // a viewing that cannot be put into the trail is refused
				return
			}
		}
		ct, ext := "video/webm", "webm"
		switch {
		case rec.Container == "mp4": // H.264
			ct, ext = "video/mp4", "mp4"
		case rec.Container == "matroska": // H.264 recorded before it went into MP4
			ct, ext = "video/x-matroska", "mkv"
		case rec.Kind == "audio":
			ct = "audio/webm"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("X-Content-SHA256", rec.SHA256)
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=\"recording-%s.%s\"", rec.ID, ext))
		http.ServeContent(w, r, "", rec.StartedAt, blob)
	})
}

// verifyRecordings checks every recorded file of a case against the hash and size its trail event holds (call
// it once the chain itself verified). It writes one line per problem and returns how many there were.
func verifyRecordings(ctx context.Context, store *cases.Store, blobs recording.Store, caseID string, out io.Writer) (checked, bad int, err error) {
	hs, err := store.RecordingHashes(ctx, caseID)
	if err != nil {
		return 0, 0, err
	}
	for _, h := range hs {
		if h.Deleted {
			continue // deleted after retention: its hash stays in the trail, there are no bytes to check
		}
		checked++
		n, sum, err := recording.HashBlob(ctx, blobs, h.BlobRef)
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(out, "recording %s (event %d): cannot read the stored file: %v\n", h.ID, h.EventSeq, err)
		case sum != h.SHA256 || n != h.Size:
			bad++
			fmt.Fprintf(out, "recording %s (event %d): the stored file does not match the trail (SHA-256 %s, %d bytes; the trail says %s, %d bytes)\n",
				h.ID, h.EventSeq, sum, n, h.SHA256, h.Size)
		}
	}
	return checked, bad, nil
}

// runRetention deletes the bytes of recordings older than retention (their rows, hashes and a deletion event stay),
// every interval, until ctx ends.
func runRetention(ctx context.Context, store *cases.Store, blobs recording.Store, retention, interval time.Duration, log *slog.Logger) {
	if retention <= 0 || blobs == nil {
		return
	}
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		expired, err := store.ExpiredRecordings(ctx, time.Now().Add(-retention), 100)
		if err != nil && ctx.Err() == nil {
			log.Warn("recording retention", "err", err)
		}
		for _, r := range expired {
			if err := blobs.Delete(ctx, r.BlobRef); err != nil {
				log.Warn("recording retention: delete", "recording_id", r.ID, "err", err)
				continue
			}
			if err := store.MarkRecordingDeleted(ctx, r.ID, "retention"); err != nil {
				log.Warn("recording retention: mark", "recording_id", r.ID, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// addRecording puts the recorder's counters on /metrics as parley_recording_<name>[_total].
func (m *metrics) addRecording(r *recorder) {
	if m == nil || r == nil {
		return
	}
	read := func(f func(recording.Stats) float64) func() float64 {
		return func() float64 { return f(r.rec.Stats()) }
	}
	gauge := func(name, help string, f func(recording.Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read(f)))
	}
	counter := func(name, help string, f func(recording.Stats) float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read(f)))
	}
	gauge("parley_recording_sessions", "Sessions being recorded on this node.", func(s recording.Stats) float64 { return float64(s.Sessions) })
	gauge("parley_recording_tracks", "Tracks being written on this node.", func(s recording.Stats) float64 { return float64(s.Tracks) })
	counter("parley_recording_packets_total", "Packets the recorder took from forwarding.", func(s recording.Stats) float64 { return float64(s.Queued) })
	counter("parley_recording_packets_dropped_total", "Packets the recorder dropped because a track's queue was full (it never blocks forwarding).", func(s recording.Stats) float64 { return float64(s.Dropped) })
	counter("parley_recording_files_total", "Per-track files stored.", func(s recording.Stats) float64 { return float64(s.Files) })
	counter("parley_recording_failures_total", "Files lost (spool or store error).", func(s recording.Stats) float64 { return float64(s.Failures) })
	counter("parley_recording_composed_total", "Composed playback files made.", func(s recording.Stats) float64 { return float64(s.Composed) })
	counter("parley_recording_compose_seconds_total", "Time ffmpeg took composing.", func(s recording.Stats) float64 { return s.ComposeSeconds })
}
