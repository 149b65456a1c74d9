package signaling_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-mediation/parley/recording"
	"github.com/parley-mediation/parley/recording/sfutap"
	"github.com/parley-mediation/parley/signaling"
	"github.com/parley-mediation/parley/signaling/client"
)

// TestRecordingCaucusConsent (issue 14): nothing of a caucus is recorded until everyone in it consented in the
// room (caucus_record_consent); then its members' tracks go into files of that caucus, apart from the joint
// room's, which the other side cannot consent to and whose consents it is not told.
func TestRecordingCaucusConsent(t *testing.T) {
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

	ctx := testCtx(t, 90*time.Second)
	med := h.dial(ctx, h.claims("med", signaling.RoleMediator, ""))
	app := h.enter(ctx, med, h.claims("app", signaling.RoleParty, signaling.SideApplicant))
	res := h.enter(ctx, med, h.claims("res", signaling.RoleParty, signaling.SideRespondent))
	for _, cl := range []*client.Client{med, app, res} {
		publish(ctx, t, cl, client.PublishOptions{Audio: true, Video: true})
	}
	waitFor(t, 30*time.Second, "media from everyone at the mediator", func() bool {
		return packets(med, "app/audio") > 25 && packets(med, "res/audio") > 25 && packets(res, "med/audio") > 25
	})
	open := func() string {
		env, err := med.Request(ctx, signaling.TypeCaucusOpen, signaling.CaucusOpenData{Members: []string{"app"}})
		if err != nil {
			t.Fatalf("caucus_open: %v", err)
		}
		return decodeData[signaling.CaucusRef](t, env).CaucusID
	}
	consent := func(cl *client.Client, id string) error {
		_, err := cl.Request(ctx, signaling.TypeCaucusRecordConsent, signaling.CaucusRef{CaucusID: id})
		return err
	}
	// The first caucus: only the party consents, the mediator does not — nothing of it is recorded.
	first := open()
	if err := consent(app, first); err != nil {
		t.Fatalf("the member's consent: %v", err)
	}
	if err := consent(res, first); errCode(err) != signaling.CodeBadState {
		t.Errorf("the other side consents to a caucus it is not in: %v, want %s", err, signaling.CodeBadState)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := med.Request(ctx, signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: first}); err != nil {
		t.Fatalf("caucus_close: %v", err)
	}

	// The second: both consent; the member is told, the other side is not.
	second := open()
	resMark := res.Mark()
	if err := consent(app, second); err != nil {
		t.Fatal(err)
	}
	appMark := app.Mark()
	if err := consent(med, second); err != nil {
		t.Fatal(err)
	}
	env, err := app.WaitSince(ctx, appMark, func(e signaling.Envelope) bool {
		if e.Type != signaling.TypeCaucusState {
			return false
		}
		d := decodeData[signaling.CaucusStateData](t, e)
		return len(d.Caucuses) == 1 && d.Caucuses[0].Recording
	})
	if err != nil {
		t.Fatalf("the member is not told the caucus is recorded: %v", err)
	}
	if d := decodeData[signaling.CaucusStateData](t, env); !slices.Equal(d.Caucuses[0].RecordConsents, []string{"app", "med"}) {
		t.Errorf("consents told to the member: %v, want app and med", d.Caucuses[0].RecordConsents)
	}
	recordedFrom := time.Now()
	time.Sleep(3 * time.Second)
	recordedTo := time.Now()
	if _, err := med.Request(ctx, signaling.TypeCaucusClose, signaling.CaucusRef{CaucusID: second}); err != nil {
		t.Fatalf("caucus_close: %v", err)
	}
	for _, e := range res.Messages()[resMark:] {
		if e.Type != signaling.TypeCaucusState {
			continue
		}
		for _, k := range decodeData[signaling.CaucusStateData](t, e).Caucuses {
			if k.Recording || len(k.RecordConsents) > 0 {
				t.Errorf("the other side is told of the caucus's recording: %+v", k)
			}
		}
	}
	time.Sleep(time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end_session: %v", err)
	}
	waitFor(t, 30*time.Second, "the recording to stop", func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.stopped
	})
	sess.mu.Lock()
	files := slices.Clone(sess.files)
	sess.mu.Unlock()
	var caucus, joint []string
	for _, f := range files {
		switch f.Caucus {
		case "":
			joint = append(joint, f.TrackID)
		case second:
			caucus = append(caucus, f.TrackID)
			if f.Kind == "video" {
				p := filepath.Join(t.TempDir(), "c.webm")
				copyBlob(t, store, f.Ref, p)
				pts := probedPackets(t, p)
				if len(pts) < 10 {
					t.Errorf("%s: %d video packets in the caucus file", f.TrackID, len(pts))
				}
			}
			if want := recordedTo.Sub(recordedFrom); f.Duration < want-1500*time.Millisecond || f.Duration > want+1500*time.Millisecond {
				t.Errorf("%s: %s of the caucus recorded, want about %s", f.TrackID, f.Duration, want)
			}
		default:
			t.Errorf("a file of caucus %q, which not everyone consented to: %+v", f.Caucus, f)
		}
	}
	slices.Sort(caucus)
	if want := []string{"app/audio", "app/video", "med/audio", "med/video"}; !slices.Equal(caucus, want) {
		t.Errorf("files of the consented caucus: %v, want %v", caucus, want)
	}
	if len(joint) != 6 {
		t.Errorf("joint files: %v, want the six tracks", joint)
	}
	var consents []string
	for _, r := range h.rec.Records() {
		if r.Kind == "caucus_record_consent" {
			consents = append(consents, r.Scope+":"+r.By+":"+r.Text)
		}
	}
	if want := []string{first + ":app:", second + ":app:", second + ":med:recording"}; !slices.Equal(consents, want) {
		t.Errorf("consents in the record: %v, want %v", consents, want)
	}
}
