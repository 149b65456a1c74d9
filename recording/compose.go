package recording

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Composer makes a session's composed playback file with ffmpeg: every video track in a grid with the
// participant's name, the session clock, and every audio track mixed, each placed at its offset, in WebM (VP8,
// Opus). It runs at the lowest CPU priority (nice 19) with one encoder thread, one job at a time per Composer (one
// per node). The per-track originals stay the evidence; the composed file is a convenience, also hashed into the
// trail.
type Composer struct {
	FFmpeg string // the ffmpeg binary; "" finds it in PATH
	Font   string // font file for names and clock; "" writes none
	// Label names a participant in the picture (nil: the participant ID).
	Label func(sessionID, participantID string) string
	sem   chan struct{}
}

// NewComposer returns a Composer, or nil when ffmpeg cannot be found.
func NewComposer(ffmpeg, font string) *Composer {
	if ffmpeg == "" {
		p, err := exec.LookPath("ffmpeg")
		if err != nil {
			return nil
		}
		ffmpeg = p
	}
	return &Composer{FFmpeg: ffmpeg, Font: font, sem: make(chan struct{}, 1)}
}

// composeInput is one per-track file given to ffmpeg.
type composeInput struct {
	path   string
	video  bool
	label  string
	offset time.Duration
	end    time.Duration // offset + duration
}

// cell is the size of one participant's picture in the grid.
const cellW, cellH = 480, 270

// args builds ffmpeg's command line for the inputs (at least one), writing out; dir holds the label files.
func (c *Composer) args(in []composeInput, dir, out string) ([]string, error) {
	var total time.Duration
	var videos, audios []int
	for i, x := range in {
		total = max(total, x.end)
		if x.video {
			videos = append(videos, i)
		} else {
			audios = append(audios, i)
		}
	}
	if total <= 0 {
		return nil, errors.New("recording: compose: nothing to compose")
	}
	cols := max(1, int(math.Ceil(math.Sqrt(float64(len(videos))))))
	rows := max(1, (len(videos)+cols-1)/cols)
	secs := fmt.Sprintf("%.3f", total.Seconds())
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}
	for _, x := range in {
		args = append(args, "-i", x.path)
	}
	var g []string
	g = append(g, fmt.Sprintf("color=c=black:s=%dx%d:r=15:d=%s[bg0]", cols*cellW, rows*cellH, secs))
	text := func(file, extra string) string {
		if c.Font == "" {
			return ""
		}
		return fmt.Sprintf(",drawtext=fontfile='%s':textfile='%s':fontsize=20:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=4%s",
			escapeFilter(c.Font), escapeFilter(file), extra)
	}
	for k, i := range videos {
		x := in[i]
		lf := filepath.Join(dir, fmt.Sprintf("label%d.txt", k))
		if err := os.WriteFile(lf, []byte(strings.ReplaceAll(x.label, "%", "%%")), 0o600); err != nil {
			return nil, err
		}
		g = append(g, fmt.Sprintf("[%d:v]setpts=PTS-STARTPTS+%.3f/TB,scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2%s[v%d]",
			i, x.offset.Seconds(), cellW, cellH, cellW, cellH, text(lf, ":x=8:y=h-th-10"), k))
		g = append(g, fmt.Sprintf("[bg%d][v%d]overlay=x=%d:y=%d:eof_action=pass[bg%d]", k, k, (k%cols)*cellW, (k/cols)*cellH, k+1))
	}
	clock := ""
	if c.Font != "" {
		clock = fmt.Sprintf(",drawtext=fontfile='%s':text='%%{pts\\:hms}':fontsize=22:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=4:x=w-tw-10:y=10", escapeFilter(c.Font))
	}
	g = append(g, fmt.Sprintf("[bg%d]format=yuv420p%s[vout]", len(videos), clock))
	maps := []string{"-map", "[vout]"}
	if len(audios) > 0 {
		var mix string
		for k, i := range audios {
			g = append(g, fmt.Sprintf("[%d:a]aresample=async=1:first_pts=0,adelay=%d:all=1[a%d]", i, in[i].offset.Milliseconds(), k))
			mix += fmt.Sprintf("[a%d]", k)
		}
		g = append(g, fmt.Sprintf("%samix=inputs=%d:normalize=0:duration=longest[aout]", mix, len(audios)))
		maps = append(maps, "-map", "[aout]")
	}
	args = append(args, "-filter_complex", strings.Join(g, ";"))
	args = append(args, maps...)
	args = append(args, "-t", secs, "-threads", "1", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
		"-c:a", "libopus", "-b:a", "64k", "-f", "webm", out)
	return args, nil
}

// escapeFilter quotes a value for a filtergraph option in single quotes.
func escapeFilter(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `'\''`, `:`, `\:`).Replace(s)
}

// compose fetches the files from the store, runs ffmpeg (waiting for the node's one job at a time) and returns
// the composed file's spool path.
func (c *Composer) compose(ctx context.Context, store Store, sessionID string, files []File, spool string) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()
	dir, err := os.MkdirTemp(spool, "compose-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	var in []composeInput
	for i, f := range files {
		p := filepath.Join(dir, fmt.Sprintf("in%d.webm", i))
		if err := fetch(ctx, store, f.Ref, p); err != nil {
			return "", err
		}
		label := f.Participant
		if c.Label != nil {
			if l := c.Label(sessionID, f.Participant); l != "" {
				label = l
			}
		}
		in = append(in, composeInput{path: p, video: f.Kind == "video", label: label, offset: f.Offset, end: f.Offset + f.Duration})
	}
	out, err := os.CreateTemp(spool, "composed-*.webm")
	if err != nil {
		return "", err
	}
	out.Close()
	args, err := c.args(in, dir, out.Name())
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	cmd := exec.CommandContext(ctx, c.FFmpeg, args...)
	if nice, err := exec.LookPath("nice"); err == nil {
		cmd = exec.CommandContext(ctx, nice, append([]string{"-n", "19", c.FFmpeg}, args...)...)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("recording: ffmpeg: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	return out.Name(), nil
}

func fetch(ctx context.Context, store Store, ref, path string) error {
	r, err := store.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("recording: fetch %s: %w", ref, err)
	}
	return f.Close()
}
