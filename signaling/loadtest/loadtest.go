// Package loadtest drives N rooms × M participants of Pion clients against a running
// Parley server and measures what they receive: packets and bytes per second, loss,
// and join → first-frame latency. It is the engine of `parley loadtest`; server-side
// figures (CPU per forwarded packet, memory per participant) come from a ServerProbe the
// caller provides (for example reading /proc of the server process and sfu.Stats).
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-mediation/parley/sfu"
	"github.com/parley-mediation/parley/signaling/client"
)

// Seat is what Config.Join returns for one participant: its join token and the case
// and session it is for.
type Seat struct {
	Token     string
	CaseID    string
	SessionID string
}

// Config describes a run.
type Config struct {
	// URL is the signalling WebSocket (ws://host:port/rtc).
	URL string
	// Rooms and PerRoom: the number of sessions and of participants in each.
	Rooms   int
	PerRoom int
	// Publishers is how many participants of each room publish (the first ones);
	// 0 means all. "1 publisher → 20 subscribers" is Rooms 1, PerRoom 21, Publishers 1.
	Publishers int
	// Audio and Video choose what publishers send; VideoBitrate > 0 sends synthetic VP8
	// at that bitrate (bits/s), 0 the embedded real clip (~150 kbit/s).
	Audio        bool
	Video        bool
	VideoBitrate int
	// Duration is the measurement window, after everyone joined.
	Duration time.Duration
	// JoinInterval staggers joins (default 50 ms).
	JoinInterval time.Duration
	// Join issues the token of participant seat of room (both from 0). It should give
	// roles that enter without the lobby (mediator, judge, clerk).
	Join func(room, seat int) (Seat, error)
	// Loopback restricts ICE to loopback (server on the same host).
	Loopback bool
	// Probe, if set, is read at the start and end of the window.
	Probe ServerProbe
	// Floor, if set, is the datagram floor measured before the run (MeasureFloor): the
	// report gives the server's CPU per datagram as a multiple of it.
	Floor *Floor

	// Logger receives progress (nil: discard).
	Logger *slog.Logger
}

// ServerProbe reads server-side counters.
type ServerProbe func(ctx context.Context) (ServerSample, error)

// ServerSample is the server's state at one moment.
type ServerSample struct {
	Stats    sfu.Stats
	CPU      time.Duration // user + system CPU time of the server process
	RSSBytes uint64        // resident memory of the server process
}

// Report is the outcome of a run.
type Report struct {
	Rooms, Participants, Publishers int
	Window                          time.Duration
	// Received by the clients during the window.
	PacketsPerSec float64
	BitsPerSec    float64
	// AudioPerSec and VideoPerSec split PacketsPerSec by kind.
	AudioPerSec, VideoPerSec float64
	// SentAudioPerSec and SentVideoFPS are what the publishers produced (all rooms): a
	// starved load generator shows here, not as loss.
	SentAudioPerSec, SentVideoFPS float64
	// Loss is sequence gaps / (received + gaps) over the window, all subscribed tracks.
	Loss float64
	// FirstFrameP50/P99: from a subscriber's join (or the publisher's start of
	// publishing, if later) to the first keyframe of each remote video track.
	FirstFrameP50, FirstFrameP99 time.Duration
	FirstFrames                  int
	MissingTracks                int // subscribed video tracks with no keyframe at the end
	// Server side (zero without a Probe).
	ServerForwardedPerSec float64
	ServerCPUPerPacket    time.Duration
	ServerCPUPercent      float64
	ServerRSSPerPart      float64 // bytes: (RSS at end − RSS before anyone joined) / participants
	ServerDropped         uint64
	// ServerDatagramsPerSec is what the server sent: forwarded and retransmitted RTP and
	// sender reports; ServerCPUPerDatagram its CPU time per datagram.
	ServerDatagramsPerSec float64
	ServerCPUPerDatagram  time.Duration
	// ServerReceivedPerSec counts RTP read from publishers; ServerLostUpstream the packets
	// publishers sent that the server never read (network, or its socket overflowing);
	// ServerFiltered those deliberately not forwarded (waiting for a keyframe, caucus).
	ServerReceivedPerSec float64
	ServerLostUpstream   uint64
	ServerFiltered       uint64
	// ServerDirect is the share of forwarded packets the server sent on its direct path
	// (own SRTP, batched sendmmsg) and ServerDirectRoutes its subscriber transports
	// with a direct route at the end.
	ServerDirect       float64
	ServerDirectRoutes int64
	// Floor and FloorMultiple: the measured floor (sendto + SRTP AES-GCM, load mix) and
	// ServerCPUPerDatagram divided by it.
	Floor         *Floor
	FloorMultiple float64
	// Delivered is what the clients received over what they should have: every packet
	// the server read, once per other participant of its room (everyone subscribes to
	// everyone). Below 1 it shows what sequence gaps cannot: whole streams missing or
	// late, a generator that could not keep up.
	Delivered float64
}

// Clean reports whether nothing was lost anywhere: no gaps at the clients, no upstream
// loss at the server, no drops, every track with a first frame.
func (r Report) Clean(maxLoss float64) bool {
	return r.Loss <= maxLoss && r.MissingTracks == 0 && r.ServerDropped == 0 &&
		(r.ServerReceivedPerSec == 0 || r.Delivered >= 1-maxLoss) &&
		(r.ServerReceivedPerSec == 0 || float64(r.ServerLostUpstream) <= maxLoss*r.ServerReceivedPerSec*r.Window.Seconds())
}

// String formats the report for a terminal.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rooms %d, participants %d (%d publishing), window %s\n", r.Rooms, r.Participants, r.Publishers, r.Window)
	fmt.Fprintf(&b, "published: %.0f audio packets/s, %.1f video frames/s\n", r.SentAudioPerSec, r.SentVideoFPS)
	fmt.Fprintf(&b, "received by clients: %.0f packets/s (audio %.0f, video %.0f), %.2f Mbit/s, loss %.3f%%\n",
		r.PacketsPerSec, r.AudioPerSec, r.VideoPerSec, r.BitsPerSec/1e6, 100*r.Loss)
	fmt.Fprintf(&b, "join → first frame: p50 %s, p99 %s over %d tracks (%d without a frame)\n",
		r.FirstFrameP50.Round(time.Millisecond), r.FirstFrameP99.Round(time.Millisecond), r.FirstFrames, r.MissingTracks)
	if r.ServerForwardedPerSec > 0 {
		fmt.Fprintf(&b, "server: %.0f packets/s received, %.0f forwarded, %s CPU per forwarded packet (%.0f%% of one core), %.0f KiB RSS per participant\n",
			r.ServerReceivedPerSec, r.ServerForwardedPerSec, r.ServerCPUPerPacket, r.ServerCPUPercent, r.ServerRSSPerPart/1024)
		if r.Delivered > 0 {
			fmt.Fprintf(&b, "delivered: %.1f%% of what the server read, times the subscribers of its room\n", 100*r.Delivered)
		}
		fmt.Fprintf(&b, "server not forwarded: %d dropped (write failed), %d lost upstream (never read), %d filtered (keyframe wait, caucus, layer)\n",
			r.ServerDropped, r.ServerLostUpstream, r.ServerFiltered)
		fmt.Fprintf(&b, "server direct path: %.1f%% of forwarded packets, %d subscriber transports with a direct route\n",
			100*r.ServerDirect, r.ServerDirectRoutes)
		fmt.Fprintf(&b, "server: %.0f datagrams/s sent, %s CPU per datagram", r.ServerDatagramsPerSec, r.ServerCPUPerDatagram.Round(10*time.Nanosecond))
		if r.Floor != nil {
			_, g, _ := r.Floor.PerDatagram()
			fmt.Fprintf(&b, " = %.2f× the floor (%s sendto + SRTP AES-GCM)", r.FloorMultiple, g)
			if _, g1, _ := r.Floor.SameCorePerDatagram(); g1 > 0 {
				fmt.Fprintf(&b, "; %.2f× the one-core floor (%s)", float64(r.ServerCPUPerDatagram)/float64(g1), g1)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

type member struct {
	cl          *client.Client
	id          string
	joinedAt    time.Time
	publishedAt time.Time
	publish     bool
}

// Run performs a load test. It stops by itself after the window (or when ctx ends)
// and closes every client.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Rooms <= 0 || cfg.PerRoom <= 0 || cfg.Join == nil || cfg.URL == "" {
		return Report{}, errors.New("loadtest: URL, Rooms, PerRoom and Join are required")
	}
	if cfg.Publishers <= 0 || cfg.Publishers > cfg.PerRoom {
		cfg.Publishers = cfg.PerRoom
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.JoinInterval <= 0 {
		cfg.JoinInterval = 50 * time.Millisecond
	}
	if !cfg.Audio && !cfg.Video {
		cfg.Audio, cfg.Video = true, true
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep := Report{Rooms: cfg.Rooms, Participants: cfg.Rooms * cfg.PerRoom, Publishers: cfg.Rooms * cfg.Publishers}

	var base ServerSample
	if cfg.Probe != nil {
		s, err := cfg.Probe(ctx)
		if err != nil {
			return rep, fmt.Errorf("loadtest: probe: %w", err)
		}
		base = s
	}

	var mu sync.Mutex
	var members []*member
	defer func() {
		var wg sync.WaitGroup
		for _, m := range members {
			wg.Add(1)
			go func() { defer wg.Done(); m.cl.Close() }()
		}
		wg.Wait()
	}()
	join := func(room, seat int) error {
		s, err := cfg.Join(room, seat)
		if err != nil {
			return fmt.Errorf("loadtest: token for room %d seat %d: %w", room, seat, err)
		}
		start := time.Now()
		cl, err := client.Dial(ctx, client.Config{URL: cfg.URL, Token: s.Token, CaseID: s.CaseID, SessionID: s.SessionID,
			Loopback: cfg.Loopback, Logger: log})
		if err != nil {
			if errors.Is(err, websocket.ErrBadHandshake) {
				// Most likely the server's cap on WebSockets per client address (every load client comes from
				// the same address): say which setting lifts it.
				return fmt.Errorf("loadtest: join room %d seat %d: %w (the server refused the WebSocket: all load clients share one address, so start the server with PARLEY_WS_PER_ADDRESS at least the number of participants)", room, seat, err)
			}
			return fmt.Errorf("loadtest: join room %d seat %d: %w", room, seat, err)
		}
		m := &member{cl: cl, joinedAt: start, publish: seat < cfg.Publishers}
		mu.Lock()
		members = append(members, m)
		mu.Unlock()
		if _, err := cl.WaitJoined(ctx); err != nil {
			return fmt.Errorf("loadtest: room %d seat %d not admitted (use roles without the lobby): %w", room, seat, err)
		}
		if j := cl.Joined(); j != nil {
			m.id = j.ParticipantID
		}
		if m.publish {
			m.publishedAt = time.Now()
			if err := cl.Publish(ctx, client.PublishOptions{Audio: cfg.Audio, Video: cfg.Video, VideoBitrate: cfg.VideoBitrate}); err != nil {
				return fmt.Errorf("loadtest: publish room %d seat %d: %w", room, seat, err)
			}
		}
		return nil
	}
	// Publishers first, then subscribers, staggered.
	for _, publishers := range []bool{true, false} {
		for seat := 0; seat < cfg.PerRoom; seat++ {
			if (seat < cfg.Publishers) != publishers {
				continue
			}
			for room := 0; room < cfg.Rooms; room++ {
				if err := join(room, seat); err != nil {
					return rep, err
				}
				select {
				case <-ctx.Done():
					return rep, ctx.Err()
				case <-time.After(cfg.JoinInterval):
				}
			}
		}
	}
	log.Info("everyone joined", "participants", len(members))
	time.Sleep(2 * time.Second) // let the last subscriptions settle

	var audio0, video0, sentA, sentV uint64
	snap := func() (pk, by, lost uint64) {
		var sa, sv uint64
		for _, m := range members {
			a, v := m.cl.Sent()
			sa, sv = sa+a, sv+v
		}
		sentA, sentV = sa-sentA, sv-sentV
		var a, v uint64
		for _, m := range members {
			for _, s := range m.cl.Stats() {
				pk += s.Packets
				by += s.Bytes
				lost += s.Lost
				if s.Kind == "audio" {
					a += s.Packets
				} else {
					v += s.Packets
				}
			}
		}
		audio0, video0 = a-audio0, v-video0
		return
	}
	var start ServerSample
	if cfg.Probe != nil {
		s, err := cfg.Probe(ctx)
		if err != nil {
			return rep, fmt.Errorf("loadtest: probe: %w", err)
		}
		start = s
	}
	p0, b0, l0 := snap()
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(cfg.Duration):
	}
	p1, b1, l1 := snap()
	rep.Window = time.Since(t0)
	secs := rep.Window.Seconds()
	rep.PacketsPerSec = float64(p1-p0) / secs
	rep.AudioPerSec, rep.VideoPerSec = float64(audio0)/secs, float64(video0)/secs
	rep.SentAudioPerSec, rep.SentVideoFPS = float64(sentA)/secs, float64(sentV)/secs
	rep.BitsPerSec = float64(b1-b0) * 8 / secs
	if got, lost := p1-p0, l1-l0; got+lost > 0 {
		rep.Loss = float64(lost) / float64(got+lost)
	}
	if cfg.Probe != nil {
		end, err := cfg.Probe(ctx)
		if err != nil {
			return rep, fmt.Errorf("loadtest: probe: %w", err)
		}
		fwd := end.Stats.PacketsForwarded - start.Stats.PacketsForwarded
		rep.ServerForwardedPerSec = float64(fwd) / secs
		cpu := end.CPU - start.CPU
		if fwd > 0 {
			rep.ServerCPUPerPacket = cpu / time.Duration(fwd)
		}
		rep.ServerCPUPercent = 100 * cpu.Seconds() / secs
		if end.RSSBytes > base.RSSBytes {
			rep.ServerRSSPerPart = float64(end.RSSBytes-base.RSSBytes) / float64(rep.Participants)
		}
		rep.ServerDropped = end.Stats.PacketsDropped - start.Stats.PacketsDropped
		rep.ServerFiltered = end.Stats.PacketsFiltered - start.Stats.PacketsFiltered
		if fwd > 0 {
			rep.ServerDirect = float64(end.Stats.PacketsDirect-start.Stats.PacketsDirect) / float64(fwd)
		}
		rep.ServerDirectRoutes = end.Stats.DirectRoutes
		rep.ServerLostUpstream = end.Stats.PacketsLostUpstream - start.Stats.PacketsLostUpstream
		rep.ServerReceivedPerSec = float64(end.Stats.PacketsReceived-start.Stats.PacketsReceived) / secs
		dg := fwd + (end.Stats.PacketsRetransmitted - start.Stats.PacketsRetransmitted) + (end.Stats.SenderReports - start.Stats.SenderReports)
		rep.ServerDatagramsPerSec = float64(dg) / secs
		if dg > 0 {
			rep.ServerCPUPerDatagram = cpu / time.Duration(dg)
		}
		if cfg.PerRoom > 1 && rep.ServerReceivedPerSec > 0 {
			rep.Delivered = rep.PacketsPerSec / (rep.ServerReceivedPerSec * float64(cfg.PerRoom-1))
		}
		if cfg.Floor != nil {
			rep.Floor = cfg.Floor
			if _, g, _ := cfg.Floor.PerDatagram(); g > 0 {
				rep.FloorMultiple = float64(rep.ServerCPUPerDatagram) / float64(g)
			}
		}
	}

	published := map[string]time.Time{}
	for _, m := range members {
		published[m.id] = m.publishedAt
	}
	var lat []time.Duration
	for _, m := range members {
		for _, s := range m.cl.Stats() {
			if s.Kind != "video" {
				continue
			}
			if s.FirstKeyframe.IsZero() {
				rep.MissingTracks++
				continue
			}
			from := m.joinedAt // from joining, or from the publisher's publishing if later
			if p := published[s.Participant]; p.After(from) {
				from = p
			}
			lat = append(lat, s.FirstKeyframe.Sub(from))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.FirstFrames = len(lat)
	if len(lat) > 0 {
		rep.FirstFrameP50 = lat[len(lat)/2]
		rep.FirstFrameP99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return rep, nil
}
