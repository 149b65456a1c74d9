package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signaling"
	rtcclient "github.com/parley-mediation/parley/signaling/client"
)

// getWith sends a GET as c with extra headers and returns the status, body and headers.
func (c *client) getWith(path string, hdr map[string]string) (int, []byte, http.Header) {
	c.env.t.Helper()
	req, _ := http.NewRequest("GET", c.env.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestRecordingThroughTheCaseAPI: the organisation records its sessions; a session held with Pion clients
// leaves one WebM per track in PostgreSQL large objects, with start, file and stop events in the hash chain;
// the recordings play with range requests for the mediator and the court's judge only, each viewing is in the
// trail, the files verify against the chain, and a file changed in the store is detected.
func TestRecordingThroughTheCaseAPI(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := f.store.SetOrgRecordingSettings(ctx, f.w.OrgAdmin, f.w.Org.ID, cases.RecordingSettings{RecordSessions: true}); err != nil {
		t.Fatal(err)
	}
	mediatorHTTP := f.login(f.w.Mediator)
	partyHTTP := f.enter(f.c.ID, f.c.Parties[0].ID, "")
	var pre recordingsResponse
	if st := partyHTTP.do("GET", "/api/v1/sessions/"+f.session.ID+"/recordings", nil, &pre); st != 200 || !pre.Recorded || pre.MayView {
		t.Fatalf("party's pre-join notice: %d %+v, want recorded, may not view", st, pre)
	}

	med, _ := f.dialRoom(ctx, mediatorHTTP, f.session.ID)
	party, pj := f.dialRoom(ctx, partyHTTP, f.session.ID)
	if _, err := med.Request(ctx, signaling.TypeAdmit, signaling.AdmitData{ParticipantID: pj.ParticipantID,
		IdentityCheck: signaling.IdentityCheck{Method: "id_card_on_camera", Result: signaling.CheckPassed}}); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if _, err := party.WaitJoined(ctx); err != nil {
		t.Fatalf("party not admitted: %v", err)
	}
	for _, cl := range []*rtcclient.Client{med, party} {
		if err := cl.Publish(ctx, rtcclient.PublishOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	waitUntil(t, 30*time.Second, "media both ways", func() bool {
		return med.Stats()[pj.ParticipantID+"/video"].Keyframes > 0 && party.Stats()[f.w.Mediator.ID+"/audio"].Packets > 25
	})
	time.Sleep(3 * time.Second)
	if _, err := med.Request(ctx, signaling.TypeEndSession, nil); err != nil {
		t.Fatalf("end session: %v", err)
	}
	var list recordingsResponse
	waitUntil(t, 30*time.Second, "the recording to stop with four files", func() bool {
		evs, _ := f.store.Events(ctx, f.c.ID)
		stopped := false
		for _, e := range evs {
			stopped = stopped || e.Type == "recording.stopped"
		}
		return stopped && mediatorHTTP.do("GET", "/api/v1/sessions/"+f.session.ID+"/recordings", nil, &list) == 200 && len(list.Recordings) == 4
	})
	if !list.Recorded || !list.MayView {
		t.Errorf("mediator's list: %+v", list)
	}
	types := map[string]int{}
	evs, _ := f.store.Events(ctx, f.c.ID)
	for _, e := range evs {
		types[e.Type]++
	}
	if types["recording.started"] != 1 || types["recording.file"] != 4 || types["recording.stopped"] != 1 {
		t.Errorf("trail: %v, want one start, four files, one stop", types)
	}

	var video cases.Recording
	for _, r := range list.Recordings {
		if r.Kind == "video" && r.ParticipantID == pj.ParticipantID {
			video = r
		}
		if r.DurationMS < 2000 {
			t.Errorf("%s: %d ms recorded, want the ~3 s of the session", r.TrackID, r.DurationMS)
		}
	}
	if video.ID == "" {
		t.Fatalf("no video recording of the party in %+v", list.Recordings)
	}
	media := "/api/v1/recordings/" + video.ID + "/media"
	st, whole, hdr := mediatorHTTP.getWith(media, nil)
	sum := sha256.Sum256(whole)
	if st != 200 || hex.EncodeToString(sum[:]) != video.SHA256 || int64(len(whole)) != video.Size || hdr.Get("Content-Type") != "video/webm" {
		t.Fatalf("whole file: %d, %d bytes, %s; want 200, %d bytes, the trail's SHA-256", st, len(whole), hdr.Get("Content-Type"), video.Size)
	}
	st, part, hdr := mediatorHTTP.getWith(media, map[string]string{"Range": "bytes=100-199"})
	if st != http.StatusPartialContent || !bytes.Equal(part, whole[100:200]) || hdr.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(whole)) {
		t.Errorf("range: %d %q, want 206 and bytes 100–199", st, hdr.Get("Content-Range"))
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		p := filepath.Join(t.TempDir(), "v.webm")
		os.WriteFile(p, whole, 0o600)
		if out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", p).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "vp8,320,180") {
			t.Errorf("ffprobe: %s %v, want vp8 320×180", out, err)
		}
	}
	judgeHTTP := f.login(f.w.Judge)
	if st, _, _ := judgeHTTP.getWith(media, map[string]string{"Range": "bytes=0-"}); st != http.StatusPartialContent {
		t.Errorf("judge: %d, want 206", st)
	}
	for name, c := range map[string]*client{"party": partyHTTP, "clerk": f.login(f.w.Clerk), "org admin": f.login(f.w.OrgAdmin)} {
		if st, _, _ := c.getWith(media, map[string]string{"Range": "bytes=0-"}); st != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, st)
		}
	}
	evs, _ = f.store.Events(ctx, f.c.ID)
	views := 0
	for _, e := range evs {
		if e.Type == "recording.viewed" {
			views++
		}
	}
	if views != 2 { // the mediator's whole file and the judge's bytes=0-; not the seek, not the refused
		t.Errorf("%d viewings in the trail, want 2", views)
	}

	// The session record lists the recordings with their hashes.
	var doc documentResponse
	if st := mediatorHTTP.do("POST", "/api/v1/sessions/"+f.session.ID+"/record-document", recordDocRequest{}, &doc); st != 201 {
		t.Fatalf("record document: %d", st)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		st, pdf := mediatorHTTP.raw("GET", "/api/v1/documents/"+doc.Document.ID+"/pdf", nil)
		p := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(p, pdf, 0o600)
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", p, "-").Output()
		text := strings.Join(strings.Fields(string(out)), "")
		if st != 200 || err != nil || !strings.Contains(text, "录音录像") || !strings.Contains(text, video.SHA256[:32]) {
			t.Errorf("the session record does not list the recordings (%d, %v):\n%s", st, err, text)
		}
	}

	if rep, err := f.store.VerifyChain(ctx, f.c.ID); err != nil || !rep.Valid {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	var out bytes.Buffer
	if checked, bad, err := verifyRecordings(ctx, f.store, f.app.recs.blobs, f.c.ID, &out); err != nil || checked != 4 || bad != 0 {
		t.Fatalf("verify: %d checked, %d bad, %v: %s", checked, bad, err, out.String())
	}
	// Change one byte of the stored file: detected.
	var ref string
	if err := f.store.Pool().QueryRow(ctx, `SELECT blob_ref FROM session_recordings WHERE id = $1`, video.ID).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	oid, _ := strconv.ParseUint(strings.TrimPrefix(ref, "pg:"), 10, 32)
	if _, err := f.store.Pool().Exec(ctx, `SELECT lo_put($1, $2, '\xffff')`, uint32(oid), video.Size-100); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, bad, err := verifyRecordings(ctx, f.store, f.app.recs.blobs, f.c.ID, &out); err != nil || bad != 1 || !strings.Contains(out.String(), video.ID) {
		t.Errorf("tampered file: %d bad, %v: %s; want it named", bad, err, out.String())
	}
}

// TestRecordingRetention: past the retention period a recording's bytes are deleted from the store; its row, its
// hash in the chain and a deletion event stay, the chain still verifies, and verification skips the gone bytes.
func TestRecordingRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	oldID, newID := f.newRecording(), f.newRecording()
	if _, err := f.store.Pool().Exec(ctx, `UPDATE session_recordings SET created_at = now() - interval '40 days' WHERE id = $1`, oldID); err != nil {
		t.Fatal(err)
	}
	var ref string
	if err := f.store.Pool().QueryRow(ctx, `SELECT blob_ref FROM session_recordings WHERE id = $1`, oldID).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runRetention(rctx, f.store, f.app.recs.blobs, 30*24*time.Hour, time.Hour, f.app.log)
	}()
	waitUntil(t, 20*time.Second, "the old recording to be deleted", func() bool {
		hs, _ := f.store.RecordingHashes(ctx, f.c.ID)
		for _, h := range hs {
			if h.ID == oldID {
				return h.Deleted
			}
		}
		return false
	})
	cancel()
	<-done
	if _, err := f.app.recs.blobs.Open(ctx, ref); err == nil {
		t.Errorf("the old recording's bytes are still in the store")
	}
	mediator := f.login(f.w.Mediator)
	if st, _, _ := mediator.getWith("/api/v1/recordings/"+oldID+"/media", nil); st != http.StatusNotFound {
		t.Errorf("deleted recording: %d, want 404", st)
	}
	if st, _, _ := mediator.getWith("/api/v1/recordings/"+newID+"/media", nil); st != http.StatusOK {
		t.Errorf("recent recording: %d, want 200", st)
	}
	if rep, err := f.store.VerifyChain(ctx, f.c.ID); err != nil || !rep.Valid {
		t.Errorf("chain: %+v %v", rep, err)
	}
	var out bytes.Buffer
	if checked, bad, err := verifyRecordings(ctx, f.store, f.app.recs.blobs, f.c.ID, &out); err != nil || checked != 1 || bad != 0 {
		t.Errorf("verify: %d checked, %d bad, %v: %s; want the recent one checked", checked, bad, err, out.String())
	}
}

// TestRecordingBadInput: the recording endpoints answer bad input with a stable error code and change nothing.
func TestRecordingBadInput(t *testing.T) {
	f := newFixture(t)
	mediator := f.login(f.w.Mediator)
	scheduled := f.newSession(false)
	id := f.newRecording()
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"record not a boolean", "PUT", "/api/v1/sessions/" + scheduled + "/recording", map[string]any{"record": "yes"}, 400, "invalid"},
		{"unknown field", "PUT", "/api/v1/sessions/" + scheduled + "/recording", map[string]any{"record": true, "when": "now"}, 400, "invalid"},
		{"live session", "PUT", "/api/v1/sessions/" + f.session.ID + "/recording", cases.SessionRecordingChoice{Record: true}, 409, "conflict"},
		{"unknown session", "PUT", "/api/v1/sessions/not-a-session/recording", cases.SessionRecordingChoice{}, 404, "not_found"},
		{"settings of a court", "PUT", "/api/v1/organisations/" + f.w.Court.ID + "/recording-settings", cases.RecordingSettings{}, 403, "forbidden"},
		{"settings not a boolean", "PUT", "/api/v1/organisations/" + f.w.Org.ID + "/recording-settings", map[string]any{"record_sessions": 1}, 400, "invalid"},
		{"unknown recording", "GET", "/api/v1/recordings/0b9e1c8e-8f2c-4a53-9d0e-1a2b3c4d5e6f/media", nil, 404, "not_found"},
		{"malformed recording ID", "GET", "/api/v1/recordings/..%2f..%2fetc/media", nil, 404, ""},
		{"recordings of an unknown session", "GET", "/api/v1/sessions/12345/recordings", nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, raw := mediator.raw(tc.method, tc.path, tc.body)
			var e apiError
			_ = json.Unmarshal(raw, &e)
			if st != tc.status || (tc.code != "" && e.Error.Code != tc.code) {
				t.Errorf("got %d %s, want %d %s", st, raw, tc.status, tc.code)
			}
		})
	}
	if st, _, _ := mediator.getWith("/api/v1/recordings/"+id+"/media", map[string]string{"Range": "bytes=999999-"}); st != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d, want 416", st)
	}
	if st, _, _ := f.anonymous().getWith("/api/v1/recordings/"+id+"/media", nil); st != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", st)
	}
}
