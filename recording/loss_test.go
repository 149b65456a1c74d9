package recording

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// TestLossWaitsForKeyframe: real VP8 (the clients' test clip: one keyframe, then 29 interframes) is packetized
// and a packet is lost in the middle: the writer drops what follows until the next keyframe, so the file ffmpeg
// decodes has no broken frame, and the time of the gap is kept.
func TestLossWaitsForKeyframe(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/lib.sh ensure_test_tools installs it)")
	}
	t.Parallel()
	b, err := os.ReadFile("../signaling/client/media/video.ivf")
	if err != nil {
		t.Fatal(err)
	}
	ivf, _, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		f, _, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	w := &trackWriter{info: TrackInfo{ID: "p/v", Participant: "p", Kind: "video", Codec: "VP8", ClockRate: 90000}, video: true,
		spool: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	start := time.Unix(1700000000, 0)
	var pay codecs.VP8Payloader
	seq, sent, lost := uint16(1000), 0, false
	// Three loops of the clip (keyframe at the start of each), 15 fps; one packet of frame 10 of the first loop is lost.
	for loop := 0; loop < 3; loop++ {
		for i, f := range frames {
			n := loop*len(frames) + i
			pkts := pay.Payload(300, f)
			for j, pl := range pkts {
				seq++
				if loop == 0 && i == 10 && j == 0 && len(pkts) > 1 && !lost {
					lost = true
					continue
				}
				buf := bufPool.Get().(*[]byte)
				c := copy(*buf, pl)
				w.packet(packet{buf: buf, n: c, seq: seq, ts: uint32(n * 6000), ssrc: 7, marker: j == len(pkts)-1,
					now: start.Add(time.Duration(n) * time.Second / 15).UnixNano()}, start)
				bufPool.Put(buf)
				sent++
			}
		}
	}
	if !lost {
		t.Fatal("frame 10 fits one packet: nothing was lost")
	}
	f, path, err := w.finish()
	if err != nil || f == nil {
		t.Fatalf("finish: %v", err)
	}
	defer os.Remove(path)
	// Loop 0: frames 0–9 (10 is broken, 11–29 follow it) + loops 1 and 2 whole.
	if want := uint64(10 + 2*len(frames)); f.Frames != want {
		t.Errorf("%d frames written, want %d (the broken one and those after it dropped until the keyframe)", f.Frames, want)
	}
	if f.Dropped != uint64(len(frames)-11) { // the incomplete frame is discarded as such; the 19 after it count
		t.Errorf("dropped %d, want %d", f.Dropped, len(frames)-11)
	}
	if want := time.Duration(3*len(frames)-1) * time.Second / 15; f.Duration < want-100*time.Millisecond || f.Duration > want+100*time.Millisecond {
		t.Errorf("duration %s, want %s: the gap keeps its time", f.Duration, want)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("ffmpeg: %v %s", err, out)
	}
}
