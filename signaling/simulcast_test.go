package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// TestSimulcastFollowsRenderSize: a publisher sends three layers; a subscriber that
// renders the video small gets the low layer, and after it enlarges the view the
// high layer, switched on a keyframe without breaking the stream.
func TestSimulcastFollowsRenderSize(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := testCtx(t, 40*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	viewer := h.dial(ctx, h.claims("clerk", signaling.RoleClerk, ""))
	publish(ctx, t, med, client.PublishOptions{Video: true, Simulcast: true, VideoBitrate: 600_000})
	waitFor(t, 15*time.Second, "simulcast video at the viewer", func() bool {
		return viewer.Stats()["med/video"].Keyframes > 0
	}, func() {
		t.Logf("viewer %+v engine %+v", viewer.Stats(), h.engine.Stats())
		for _, m := range med.Messages() {
			if m.Type != "candidate" && m.Type != "ping" {
				t.Logf("med: %s %s", m.Type, m.Data)
			}
		}
	})
	if _, err := med.Wait(ctx, func(e signaling.Envelope) bool {
		return e.Type == signaling.TypeTrackPublished
	}); err != nil {
		t.Fatal(err)
	}

	// meanPacket measures the mean packet size over a window: q ≈ 440 B, f ≈ 1100 B.
	meanPacket := func() float64 {
		a := viewer.Stats()["med/video"]
		time.Sleep(700 * time.Millisecond)
		b := viewer.Stats()["med/video"]
		if b.Packets == a.Packets {
			return 0
		}
		return float64(b.Bytes-a.Bytes) / float64(b.Packets-a.Packets)
	}
	// settle renders at w×h and measures until the layer is the expected one (the
	// switch waits for a keyframe) or 8 s pass; it returns the last measurement.
	settle := func(w, hgt int, ok func(float64) bool) float64 {
		t.Helper()
		if err := viewer.Send(signaling.TypeRender, signaling.RenderData{TrackID: "med/video", Width: w, Height: hgt}); err != nil {
			t.Fatal(err)
		}
		var m float64
		for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); {
			if m = meanPacket(); ok(m) {
				break
			}
		}
		return m
	}
	isLow := func(m float64) bool { return m > 0 && m < 600 }
	isHigh := func(m float64) bool { return m > 800 }
	small := settle(320, 180, isLow)
	keysSmall := viewer.Stats()["med/video"].Keyframes
	large := settle(1280, 720, isHigh)
	st := viewer.Stats()["med/video"]
	t.Logf("mean packet: %.0f B rendering 320×180, %.0f B rendering 1280×720; %d sequence gaps", small, large, st.Lost)
	if !isLow(small) {
		t.Errorf("rendering 320×180: mean packet %.0f B, want the low layer (< 600 B)", small)
	}
	if !isHigh(large) {
		t.Errorf("rendering 1280×720: mean packet %.0f B, want the high layer (> 800 B)", large)
	}
	if st.Keyframes <= keysSmall {
		t.Errorf("no keyframe at the switch to the high layer (%d before, %d after)", keysSmall, st.Keyframes)
	}
	if st.Lost > 0 {
		t.Errorf("%d sequence gaps across layer switches, want a continuous stream", st.Lost)
	}
}
