package signaling_test

import (
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-mediation/parley/recording"
	"github.com/parley-mediation/parley/recording/sfutap"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// memSessions is a recording.Sessions that records every session and keeps the trail.
type memSessions struct {
	mu      sync.Mutex
	started time.Time
	stopped bool
	files   []recording.File
}

func (m *memSessions) ShouldRecord(context.Context, string) (bool, error) { return true, nil }
func (m *memSessions) RecordingStarted(_ context.Context, _ string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = at
	return nil
}
func (m *memSessions) RecordingRefused(context.Context, string, time.Time, string) error { return nil }
func (m *memSessions) RecordingStopped(context.Context, string, time.Time, int, uint64, []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	return nil
}
func (m *memSessions) RecordingFile(_ context.Context, f recording.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files = append(m.files, f)
	return nil
}

// probedPackets returns the presentation times (seconds from the file's start) of every
// packet ffprobe reads in the file, failing the test if ffmpeg cannot decode it.
func probedPackets(t *testing.T, path string) []float64 {
	t.Helper()
	// Frames are decoded as they are timed, in the file's own time base (-fps_mode passthrough -enc_time_base
	// -1): otherwise ffmpeg puts two frames a millisecond apart (the writer keeps times strictly increasing) on
	// one output tick and calls the null muxer's input non-monotonic, which says nothing about the file.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("ffmpeg decode %s: %v %s", filepath.Base(path), err, out)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err == nil {
			pts = append(pts, v)
		}
	}
	return pts
}

// TestRecordingJointRoom: two Pion clients publish the real clip (VP8 and an Opus tone);
// the recorder writes one WebM per track that ffmpeg decodes, whose duration is the
// session's within 1 s, in which the caucus interval of its members is absent, and whose
// stored bytes hash to what goes into the trail.
func TestRecordingJointRoom(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (scripts/lib.sh ensure_test_tools installs ffmpeg)")
	}
	t.Parallel()
	h := newHarness(t, nil)
	store, err := recording.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess := &memSessions{}
	font := "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"
	if _, err := os.Stat(font); err != nil {
		font = ""
	}
	composer := recording.NewComposer("", font)
	if composer == nil {
		t.Skip("ffmpeg not installed (scripts/lib.sh ensure_test_tools installs it)")
	}
	composer.Label = func(_, id string) string { return "参加人 " + id }
	rec, err := recording.New(recording.Config{Store: store, SpoolDir: t.TempDir(), Composer: composer}, sess, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close(context.Background()) })
	h.engine.SetTap(sfutap.For(rec))

	ctx := testCtx(t, 90*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	res := h.enter(ctx, med, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	all := map[string]*client.Client{"med": med, "app": app, "res": res}
	for _, cl := range all {
		publish(ctx, t, cl, client.PublishOptions{Audio: true, Video: true})
	}
	waitFor(t, 30*time.Second, "media from everyone at the mediator", func() bool {
		return packets(med, "app/audio") > 25 && packets(med, "res/audio") > 25 && packets(res, "med/audio") > 25
	})
	time.Sleep(2 * time.Second)

	env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{"app"}})
	if err != nil {
		t.Fatalf("caucus_open: %v", err)
	}
	caucusOpened := time.Now()
	caucusID := decodeData[signaling.CaucusRef](t, env).CaucusID
	time.Sleep(3 * time.Second)
	caucusClosed := time.Now()
	if _, err := med.Request(ctx, signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: caucusID}); err != nil {
		t.Fatalf("caucus_close: %v", err)
	}
	time.Sleep(3 * time.Second)
	ended := time.Now()
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end_session: %v", err)
	}
	endedBy := time.Now() // the room closed (and the files ended) between ended and endedBy
	waitFor(t, 30*time.Second, "the recording to stop", func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.stopped
	})
	waitFor(t, 90*time.Second, "the composed playback file", func() bool { return rec.Stats().Composed == 1 })

	sess.mu.Lock()
	files, started := sess.files, sess.started
	sess.mu.Unlock()
	byTrack := map[string]recording.File{}
	for _, f := range files {
		byTrack[f.TrackID] = f
	}
	for _, tr := range []string{"med/audio", "med/video", "app/audio", "app/video", "res/audio", "res/video"} {
		f, ok := byTrack[tr]
		if !ok {
			t.Errorf("no recording of %s (got %d files)", tr, len(files))
			continue
		}
		path := filepath.Join(t.TempDir(), strings.ReplaceAll(tr, "/", "-")+".webm")
		copyBlob(t, store, f.Ref, path)
		n, sum, err := recording.HashBlob(ctx, store, f.Ref)
		if err != nil || n != f.Size || sum != f.SHA256 {
			t.Errorf("%s: stored blob hashes to %d %s (%v), want %d %s", tr, n, sum, err, f.Size, f.SHA256)
		}
		pts := probedPackets(t, path)
		if len(pts) < 10 {
			t.Errorf("%s: ffprobe read %d packets, want many", tr, len(pts))
			continue
		}
		probed := time.Duration((pts[len(pts)-1] - pts[0]) * float64(time.Second))
		wall, wallMax := ended.Sub(f.Start), endedBy.Sub(f.Start)
		t.Logf("%s: %d packets, %d bytes, duration %s (ffprobe %s, wall %s), dropped %d", tr, len(pts), f.Size, f.Duration, probed, wall, f.Dropped)
		if d := probed - f.Duration; d < -time.Second || d > time.Second {
			t.Errorf("%s: ffprobe duration %s, trail says %s", tr, probed, f.Duration)
		}
		if probed < wall-time.Second || probed > wallMax+time.Second {
			t.Errorf("%s: duration %s, want the session's %s–%s within 1 s", tr, probed, wall, wallMax)
		}
		// The caucus members' media (the applicant's and the mediator's, who went in with
		// it) is absent from the joint recording while the caucus was open; the
		// respondent's goes on. A margin at each end for the packets in flight at the switch
		// and for the frame times, which follow the sender's clock within a few hundred ms
		// on a loaded machine.
		from := caucusOpened.Sub(f.Start).Seconds() + 0.6
		to := caucusClosed.Sub(f.Start).Seconds() - 0.6
		in := 0
		for _, p := range pts {
			if p > from && p < to {
				in++
			}
		}
		member := strings.HasPrefix(tr, "app/") || strings.HasPrefix(tr, "med/")
		if member && in > 0 {
			t.Errorf("%s: %d packets recorded during the caucus, want none", tr, in)
		}
		if !member && in == 0 {
			t.Errorf("%s: nothing recorded during the caucus, want the joint room's media", tr)
		}
		if member && pts[len(pts)-1] < to+1 {
			t.Errorf("%s: recording did not resume after the caucus (last packet at %.1f s)", tr, pts[len(pts)-1])
		}
	}
	// The composed file: one picture (a grid with names and the clock) and the mixed sound, as long as the session.
	if f, ok := byTrack["composed"]; !ok {
		t.Errorf("no composed file")
	} else {
		path := filepath.Join(t.TempDir(), "composed.webm")
		copyBlob(t, store, f.Ref, path)
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "csv=p=0", path).Output()
		if err != nil {
			t.Fatalf("ffprobe composed: %v", err)
		}
		fields := strings.Fields(string(out))
		if len(fields) != 3 || fields[0] != "vp8" || fields[1] != "opus" {
			t.Errorf("composed streams %q, want vp8, opus and a duration", out)
		} else if d, _ := strconv.ParseFloat(fields[2], 64); math.Abs(d-f.Duration.Seconds()) > 1 || d < ended.Sub(started).Seconds()-1.5 || d > endedBy.Sub(started).Seconds()+1 {
			t.Errorf("composed duration %.2f s, want %.2f s (the session's %.2f–%.2f s)", d, f.Duration.Seconds(), ended.Sub(started).Seconds(), endedBy.Sub(started).Seconds())
		}
		st := rec.Stats()
		t.Logf("composed %d bytes in %.2f s for %.1f s of session: %.1f s per minute of session", f.Size, st.ComposeSeconds, st.ComposedSeconds, 60*st.ComposeSeconds/st.ComposedSeconds)
	}
	if started.IsZero() {
		t.Errorf("no recording started event")
	}
	if st := rec.Stats(); st.Files+st.Composed != uint64(len(files)) || st.Failures != 0 {
		t.Errorf("recorder stats %+v, want %d files and no failures", st, len(files))
	}
}

func copyBlob(t *testing.T, s recording.Store, ref, path string) {
	t.Helper()
	r, err := s.Open(context.Background(), ref)
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
}

// TestRecordingH264: in a room settled on H.264 (its participants decode nothing else), the video is recorded
// into Matroska (V_MPEG4/ISO/AVC with the stream's SPS and PPS), which ffmpeg decodes at the clip's size.
func TestRecordingH264(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (scripts/lib.sh ensure_test_tools installs ffmpeg)")
	}
	t.Parallel()
	h := newHarness(t, nil)
	store, err := recording.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess := &memSessions{}
	rec, err := recording.New(recording.Config{Store: store, SpoolDir: t.TempDir()}, sess, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close(context.Background()) })
	h.engine.SetTap(sfutap.For(rec))
	ctx := testCtx(t, 60*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""), signaling.CodecH264)
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant), signaling.CodecH264)
	publish(ctx, t, app, client.PublishOptions{Video: true})
	waitFor(t, 30*time.Second, "H.264 video at the mediator", func() bool {
		s := med.Stats()["app/video"]
		return strings.EqualFold(s.Codec, "video/H264") && s.Keyframes > 0 && s.Packets > 30
	})
	time.Sleep(2 * time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end_session: %v", err)
	}
	waitFor(t, 30*time.Second, "the recording to stop", func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.stopped
	})
	sess.mu.Lock()
	files := sess.files
	sess.mu.Unlock()
	if len(files) != 1 || files[0].Container != "mp4" {
		t.Fatalf("files %+v, want one MP4 file", files)
	}
	path := filepath.Join(t.TempDir(), "v.mp4")
	copyBlob(t, store, files[0].Ref, path)
	if pts := probedPackets(t, path); len(pts) < 10 {
		t.Errorf("ffprobe read %d packets, want many", len(pts))
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", path).Output()
	if err != nil || strings.TrimSpace(string(out)) != "h264,320,180" {
		t.Errorf("ffprobe: %q %v, want h264,320,180", out, err)
	}
	// The duration is in the header (browsers show it at once), the trail's within 0.2 s.
	out, err = exec.Command("ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", path).Output()
	if err != nil || !strings.Contains(string(out), "mp4") {
		t.Fatalf("ffprobe format: %q %v, want mp4", out, err)
	}
	out, err = exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if d, perr := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err != nil || perr != nil || math.Abs(d-files[0].Duration.Seconds()) > 0.2 {
		t.Errorf("ffprobe reads %q s (%v), the trail %s", out, err, files[0].Duration)
	}
	// Seeking into the middle lands on a keyframe near it (the fragment index).
	mid := files[0].Duration.Seconds() / 2
	if out, err := exec.Command("ffmpeg", "-v", "error", "-ss", strconv.FormatFloat(mid, 'f', 2, 64), "-i", path, "-frames:v", "1", "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("ffmpeg seek to %.2f s: %v %s", mid, err, out)
	}
}
