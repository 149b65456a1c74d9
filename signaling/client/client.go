package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-mediation/parley/signaling"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Config configures a Client.
type Config struct {
	// URL is the signalling WebSocket, e.g. ws://127.0.0.1:8080/rtc.
	URL string
	// Token, CaseID and SessionID identify the join (from the case API).
	Token     string
	CaseID    string
	SessionID string
	// Decode lists the video codecs this client can decode (empty: VP8 and H264).
	Decode []string
	// Loopback restricts ICE to loopback addresses (tests, load tests on one host).
	Loopback bool
	// Relay forces media through the TURN servers of joined.ice_servers (tests of the
	// embedded TURN server).
	Relay bool
	// TCP restricts ICE to TCP candidates (tests of ICE-TCP).
	TCP bool
	// NoKeyframeRequests makes the client never send PLI/FIR for what it receives (a
	// viewer that relies on the SFU alone for its first keyframe).
	NoKeyframeRequests bool
	// Mode is join.data.mode: "video" (default), "voice" or "text".
	Mode string
	// RestartOnCodec follows a room video codec switch (video_codec) by restarting the
	// publisher transport (publisher_restart, then a fresh PeerConnection and offer)
	// instead of swapping the video transceiver on the existing one.
	RestartOnCodec bool
	// Header is sent with the WebSocket handshake (e.g. Origin).
	Header http.Header
	// Logger receives the client's log (nil: discard).
	Logger *slog.Logger
}

// PublishOptions chooses what a client publishes.
type PublishOptions struct {
	// Audio publishes an Opus track ("audio", source microphone).
	Audio bool
	// Video publishes a video track ("video", source camera) with the room's codec, or
	// Codec if set.
	Video bool
	Codec string
	// AudioLevel is the RFC 6464 level sent with each audio packet, in −dBov (0 loudest,
	// 127 silence). 0 means 127 (silent).
	AudioLevel uint8
	// VideoBitrate > 0 publishes synthetic frames of that bitrate (bits/s) with a valid
	// VP8 keyframe every second, instead of the embedded real clip (~150 kbit/s).
	VideoBitrate int
	// Simulcast publishes synthetic VP8 in three layers, rids q, h, f (declared as
	// 320×180, 640×360, 1280×720), with frames of 1/12, 3/12 and 8/12 of VideoBitrate
	// (default 600 kbit/s) so a subscriber can tell the layers apart by packet size.
	Simulcast bool
}

// simulcastLayers are the rids and declared heights of PublishOptions.Simulcast.
var simulcastLayers = []struct {
	rid           string
	width, height int
	share         int // twelfths of the bitrate
}{{"q", 320, 180, 1}, {"h", 640, 360, 3}, {"f", 1280, 720, 8}}

// RemoteStats counts what arrived on one subscribed track.
type RemoteStats struct {
	TrackID       string
	Participant   string
	Kind          string
	Codec         string
	Packets       uint64
	Bytes         uint64
	Frames        uint64 // video: marker bits; audio: packets
	Keyframes     uint64
	Lost          uint64 // sequence gaps
	FirstPacket   time.Time
	FirstKeyframe time.Time
	LastPacket    time.Time
	// KeyframeTimes are the arrival times of the last (at most 64) keyframes.
	KeyframeTimes []time.Time
	SSRC          uint32
}

// Client speaks the signalling protocol and carries media with Pion.
type Client struct {
	cfg Config
	log *slog.Logger

	ws     *websocket.Conn
	wmu    sync.Mutex
	nextID atomic.Uint64

	mu      sync.Mutex
	msgs    []signaling.Envelope
	notify  chan struct{}
	joined  *signaling.JoinedData
	waiting *signaling.WaitingData
	resume  string
	pub     *webrtc.PeerConnection
	sub     *webrtc.PeerConnection
	subCand []webrtc.ICECandidateInit
	pubCand []webrtc.ICECandidateInit
	remote  map[string]*RemoteStats
	local   []*localTrack
	pubOpts *PublishOptions
	levelID uint8

	subUpAt time.Time // when the subscriber transport last became connected

	connDone chan struct{}
	done     chan struct{}
	closeMu  sync.Once
	wg       sync.WaitGroup
	started  time.Time
}

type localTrack struct {
	id, source string
	video      *webrtc.TrackLocalStaticSample
	layers     []*webrtc.TrackLocalStaticRTP // simulcast: q, h, f
	// simulcast header extensions (Pion does not add rid/mid itself): set after negotiation
	extMu        sync.Mutex
	midID, ridID uint8
	mid          string
	audio        *webrtc.TrackLocalStaticRTP
	// wantKey is set when the SFU asks for a keyframe (PLI/FIR); the pump then sends
	// the clip's keyframe. Otherwise only the first frame is a keyframe, so a
	// subscriber that gets one promptly got it because of a keyframe request.
	wantKey atomic.Bool
	plis    atomic.Uint64
	sent    atomic.Uint64 // audio packets or video frames written
	// codec and sender of a single-layer video track; both change on a room codec switch
	// (video too), under vmu.
	vmu    sync.Mutex
	codec  string
	sender *webrtc.RTPSender
}

func (t *localTrack) current() (*webrtc.TrackLocalStaticSample, string) {
	t.vmu.Lock()
	defer t.vmu.Unlock()
	return t.video, t.codec
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("client: closed")

// Dial connects and sends join. It returns once the server answered with joined or
// waiting (in the lobby); an error message is returned as *signaling.Error.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, notify: make(chan struct{}), remote: map[string]*RemoteStats{},
		done: make(chan struct{}), started: time.Now()}
	if _, err := loadClip(); err != nil {
		return nil, err
	}
	join := signaling.JoinData{Version: signaling.ProtocolVersion, Token: cfg.Token,
		CaseID: cfg.CaseID, SessionID: cfg.SessionID, Decode: cfg.Decode, Mode: cfg.Mode}
	if _, err := c.connectFollowing(ctx, join); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connectFollowing is connect, following one wrong_node answer to the node it names.
func (c *Client) connectFollowing(ctx context.Context, join signaling.JoinData) (signaling.Envelope, error) {
	env, err := c.connect(ctx, join)
	var se *signaling.Error
	if errors.As(err, &se) && se.Code == signaling.CodeWrongNode && se.URL != "" && se.URL != c.URL() {
		c.dropConn()
		c.mu.Lock()
		c.cfg.URL = se.URL
		c.mu.Unlock()
		return c.connect(ctx, join)
	}
	return env, err
}

// URL is the signalling URL the client uses now (it changes when it follows wrong_node or moves).
func (c *Client) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.URL
}

// ConnDone is closed when the current signalling connection ends (network loss, the node going away, a
// reconnect message).
func (c *Client) ConnDone() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connDone == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return c.connDone
}

// dropConn closes the WebSocket only (after a refused join).
func (c *Client) dropConn() {
	c.mu.Lock()
	ws, connDone := c.ws, c.connDone
	c.ws = nil
	c.mu.Unlock()
	if ws != nil {
		_ = ws.Close()
	}
	if connDone != nil {
		<-connDone
	}
}

// ResumeAt takes the seat back at url (the URL the join API returns, or a reconnect message's): it drops what
// is left of the old connection and transports, then resumes with the resume token and republishes.
func (c *Client) ResumeAt(ctx context.Context, url string) (*signaling.JoinedData, error) {
	c.Cut()
	if url != "" {
		c.mu.Lock()
		c.cfg.URL = url
		c.mu.Unlock()
	}
	return c.Resume(ctx)
}

// connect dials a WebSocket, starts the reader and sends join; it waits for the reply.
func (c *Client) connect(ctx context.Context, join signaling.JoinData) (signaling.Envelope, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.DialContext(ctx, c.URL(), c.cfg.Header)
	if err != nil {
		return signaling.Envelope{}, fmt.Errorf("client: dial: %w", err)
	}
	c.mu.Lock()
	c.ws = ws
	c.connDone = make(chan struct{})
	connDone := c.connDone
	c.mu.Unlock()
	c.wg.Add(1)
	go c.readLoop(ws, connDone)
	return c.Request(ctx, signaling.TypeJoin, join)
}

// Request sends a message with a fresh id and waits for the reply that refers to it
// (joined, waiting, answer, ack or error). An error reply is returned as *signaling.Error.
func (c *Client) Request(ctx context.Context, typ string, data any) (signaling.Envelope, error) {
	id := strconv.FormatUint(c.nextID.Add(1), 10)
	mark := c.Mark()
	if err := c.send(typ, id, data); err != nil {
		return signaling.Envelope{}, err
	}
	env, err := c.WaitSince(ctx, mark, func(e signaling.Envelope) bool { return e.Ref == id })
	if err != nil {
		return env, fmt.Errorf("client: %s: %w", typ, err)
	}
	if env.Type == signaling.TypeError {
		var e signaling.Error
		_ = json.Unmarshal(env.Data, &e)
		return env, &e
	}
	return env, nil
}

// Send sends a message without waiting.
func (c *Client) Send(typ string, data any) error { return c.send(typ, "", data) }

func (c *Client) send(typ, id string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("client: encode %s: %w", typ, err)
	}
	if data == nil {
		raw = nil
	}
	b, _ := json.Marshal(signaling.Envelope{Type: typ, ID: id, Data: raw})
	return c.SendRaw(b)
}

// SendRaw writes bytes as one text message (tests use it for garbage).
func (c *Client) SendRaw(b []byte) error {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	if ws == nil {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}

func (c *Client) readLoop(ws *websocket.Conn, connDone chan struct{}) {
	defer c.wg.Done()
	defer close(connDone)
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var env signaling.Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			continue
		}
		c.handle(env)
		c.mu.Lock()
		c.msgs = append(c.msgs, env)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *Client) handle(env signaling.Envelope) {
	switch env.Type {
	case signaling.TypePing:
		_ = c.send(signaling.TypePong, "", json.RawMessage(env.Data))
	case signaling.TypeWaiting:
		var d signaling.WaitingData
		if json.Unmarshal(env.Data, &d) == nil {
			c.mu.Lock()
			c.waiting = &d
			c.mu.Unlock()
		}
	case signaling.TypeJoined:
		var d signaling.JoinedData
		if json.Unmarshal(env.Data, &d) == nil {
			c.mu.Lock()
			c.joined = &d
			c.resume = d.Resume
			c.mu.Unlock()
		}
	case signaling.TypeOffer:
		var d signaling.SDPData
		if json.Unmarshal(env.Data, &d) == nil {
			if err := c.answerSubscriber(d.SDP); err != nil {
				c.log.Warn("subscriber answer", "err", err)
			}
		}
	case signaling.TypeCandidate:
		var d signaling.CandidateData
		if json.Unmarshal(env.Data, &d) == nil {
			c.addCandidate(d)
		}
	case signaling.TypeVideoCodec:
		var d signaling.CodecData
		if json.Unmarshal(env.Data, &d) == nil {
			c.wg.Add(1)
			go func() { // not on the read loop: the renegotiation waits for its answer
				defer c.wg.Done()
				switchCodec := c.switchCodec
				if c.cfg.RestartOnCodec {
					switchCodec = c.restartPublisher
				}
				if err := switchCodec(d.Codec); err != nil {
					c.log.Warn("video codec switch", "codec", d.Codec, "err", err)
				}
			}()
		}
	}
}

// Mark returns a position in the message history for WaitSince.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// Messages returns the messages received so far.
func (c *Client) Messages() []signaling.Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]signaling.Envelope(nil), c.msgs...)
}

// Wait waits for a message (received at any time) matching pred.
func (c *Client) Wait(ctx context.Context, pred func(signaling.Envelope) bool) (signaling.Envelope, error) {
	return c.WaitSince(ctx, 0, pred)
}

// WaitType waits for a message of type typ received after mark.
func (c *Client) WaitType(ctx context.Context, mark int, typ string) (signaling.Envelope, error) {
	return c.WaitSince(ctx, mark, func(e signaling.Envelope) bool { return e.Type == typ })
}

// WaitSince waits for a message received after mark that matches pred.
func (c *Client) WaitSince(ctx context.Context, mark int, pred func(signaling.Envelope) bool) (signaling.Envelope, error) {
	for {
		c.mu.Lock()
		for i := mark; i < len(c.msgs); i++ {
			if pred(c.msgs[i]) {
				e := c.msgs[i]
				c.mu.Unlock()
				return e, nil
			}
		}
		mark = len(c.msgs)
		ch := c.notify
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return signaling.Envelope{}, ctx.Err()
		case <-c.done:
			return signaling.Envelope{}, ErrClosed
		}
	}
}

// Joined returns the last joined message (nil while waiting in the lobby).
func (c *Client) Joined() *signaling.JoinedData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined
}

// WaitJoined waits until the client is in the session (admitted).
func (c *Client) WaitJoined(ctx context.Context) (*signaling.JoinedData, error) {
	if _, err := c.Wait(ctx, func(e signaling.Envelope) bool { return e.Type == signaling.TypeJoined }); err != nil {
		return nil, err
	}
	return c.Joined(), nil
}

// settingEngine is the ICE setup of the client's transports.
func (c *Client) api(withAudioLevel bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	if withAudioLevel {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(lf)); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if c.cfg.TCP {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	if c.cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

func (c *Client) iceConfig() webrtc.Configuration {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := webrtc.Configuration{}
	if c.joined != nil && (!c.cfg.Loopback || c.cfg.Relay) {
		cfg.ICEServers = c.joined.ICEServers
	}
	if c.cfg.Relay {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	return cfg
}

func (c *Client) answerSubscriber(offer string) error {
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub == nil {
		api, err := c.api(false)
		if err != nil {
			return err
		}
		sub, err = api.NewPeerConnection(c.iceConfig())
		if err != nil {
			return err
		}
		sub.OnICECandidate(func(ci *webrtc.ICECandidate) {
			if ci != nil {
				_ = c.Send(signaling.TypeCandidate, signaling.CandidateData{Transport: signaling.TransportSubscriber, Candidate: ci.ToJSON()})
			}
		})
		sub.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) { c.onTrack(sub, tr, r) })
		sub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				c.mu.Lock()
				c.subUpAt = time.Now()
				c.mu.Unlock()
			}
		})
		c.mu.Lock()
		c.sub = sub
		c.mu.Unlock()
	}
	if err := sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return err
	}
	c.mu.Lock()
	pending := c.subCand
	c.subCand = nil
	c.mu.Unlock()
	for _, ci := range pending {
		_ = sub.AddICECandidate(ci)
	}
	answer, err := sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := sub.SetLocalDescription(answer); err != nil {
		return err
	}
	return c.Send(signaling.TypeAnswer, signaling.SDPData{SDP: answer.SDP})
}

func (c *Client) addCandidate(d signaling.CandidateData) {
	c.mu.Lock()
	var pc *webrtc.PeerConnection
	if d.Transport == signaling.TransportSubscriber {
		pc = c.sub
		if pc == nil || pc.RemoteDescription() == nil {
			c.subCand = append(c.subCand, d.Candidate)
			c.mu.Unlock()
			return
		}
	} else {
		pc = c.pub
		if pc == nil || pc.RemoteDescription() == nil {
			c.pubCand = append(c.pubCand, d.Candidate)
			c.mu.Unlock()
			return
		}
	}
	c.mu.Unlock()
	_ = pc.AddICECandidate(d.Candidate)
}

// onTrack counts what arrives on a remote track. Like a browser's decoder, it asks for a
// keyframe (PLI, at most every 500 ms) while it has video but no keyframe yet — the first
// packets can be lost while the transport comes up.
func (c *Client) onTrack(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	kind := "audio"
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = "video"
	}
	st := &RemoteStats{TrackID: remote.ID(), Participant: remote.StreamID(), Kind: kind, Codec: remote.Codec().MimeType,
		SSRC: uint32(remote.SSRC())}
	c.mu.Lock()
	if old := c.remote[st.TrackID]; old != nil {
		st = old // resubscribed after a reconnect: keep counting
		st.Codec, st.SSRC = remote.Codec().MimeType, uint32(remote.SSRC())
	} else {
		c.remote[st.TrackID] = st
	}
	c.mu.Unlock()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var last uint16
	seen := false
	var lastPLI time.Time
	keyHere := false // a keyframe arrived on this subscription (a resubscription starts without one, like a browser's decoder)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		key := kind == "video" && IsKeyframeStart(st.Codec, pkt.Payload)
		c.mu.Lock()
		st.Packets++
		st.Bytes += uint64(n)
		if kind == "audio" || pkt.Marker {
			st.Frames++
		}
		if key {
			st.Keyframes++
			if st.FirstKeyframe.IsZero() {
				st.FirstKeyframe = now
			}
			if len(st.KeyframeTimes) == 64 {
				st.KeyframeTimes = append(st.KeyframeTimes[:0], st.KeyframeTimes[1:]...)
			}
			st.KeyframeTimes = append(st.KeyframeTimes, now)
		}
		if st.FirstPacket.IsZero() {
			st.FirstPacket = now
		}
		st.LastPacket = now
		if seen {
			if d := pkt.SequenceNumber - last; d > 1 && d < 1000 {
				st.Lost += uint64(d - 1)
			}
		}
		if !seen || pkt.SequenceNumber-last < 0x8000 {
			last, seen = pkt.SequenceNumber, true
		}
		if key {
			keyHere = true
		}
		noKey := kind == "video" && !keyHere
		c.mu.Unlock()
		if noKey && !c.cfg.NoKeyframeRequests && now.Sub(lastPLI) > 500*time.Millisecond {
			lastPLI = now
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}})
		}
	}
}

// Stats returns a copy of the per-track counters, keyed by track ID.
func (c *Client) Stats() map[string]RemoteStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]RemoteStats, len(c.remote))
	for k, v := range c.remote {
		s := *v
		s.KeyframeTimes = append([]time.Time(nil), v.KeyframeTimes...)
		out[k] = s
	}
	return out
}

// SubscriberConnected returns when the subscriber transport last became connected (zero
// if it never did).
func (c *Client) SubscriberConnected() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subUpAt
}

// SendREMB tells the SFU, on the subscriber transport, that this client can receive at
// most bitrate bits/s (RFC draft REMB, as browsers send it): a bandwidth limit without
// a constrained network.
func (c *Client) SendREMB(bitrate uint64) error {
	c.mu.Lock()
	sub := c.sub
	var ssrcs []uint32
	for _, st := range c.remote {
		if st.SSRC != 0 {
			ssrcs = append(ssrcs, st.SSRC)
		}
	}
	c.mu.Unlock()
	if sub == nil || len(ssrcs) == 0 {
		return errors.New("client: nothing received to send REMB for")
	}
	return sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: float32(bitrate), SSRCs: ssrcs}})
}

// SendLossReport sends the server a receiver report with fraction lost (of 256) for every
// stream received, as a receiver behind a lossy link would (the transport's own reports
// go on too).
func (c *Client) SendLossReport(fraction uint8) error {
	c.mu.Lock()
	sub := c.sub
	var reports []rtcp.ReceptionReport
	for _, st := range c.remote {
		if st.SSRC != 0 {
			reports = append(reports, rtcp.ReceptionReport{SSRC: st.SSRC, FractionLost: fraction})
		}
	}
	c.mu.Unlock()
	if sub == nil || len(reports) == 0 {
		return errors.New("client: nothing received to report on")
	}
	return sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: reports}})
}

// Started is when the client was created (for join → first frame latency).
func (c *Client) Started() time.Time { return c.started }

// Publish creates the publisher transport and starts sending media: after joined, or
// while waiting in the lobby with a preview (to the moderators only).
func (c *Client) Publish(ctx context.Context, opts PublishOptions) error {
	c.mu.Lock()
	joined, waiting := c.joined, c.waiting
	c.mu.Unlock()
	codec := ""
	switch {
	case joined != nil:
		codec = joined.VideoCodec
	case waiting != nil && waiting.Preview:
		codec = waiting.VideoCodec
	default:
		return errors.New("client: publish before joined")
	}
	if opts.Codec == "" {
		opts.Codec = codec
	}
	var tracks []*localTrack
	if opts.Audio {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "parley")
		if err != nil {
			return err
		}
		tracks = append(tracks, &localTrack{id: "audio", source: "microphone", audio: t})
	}
	if opts.Video {
		mime := webrtc.MimeTypeVP8
		if opts.Codec == signaling.CodecH264 {
			mime = webrtc.MimeTypeH264
		}
		if opts.Simulcast {
			mime = webrtc.MimeTypeVP8
			if opts.VideoBitrate == 0 {
				opts.VideoBitrate = 600_000
			}
			lt := &localTrack{id: "video", source: "camera"}
			for _, l := range simulcastLayers {
				t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000},
					"video", "parley", webrtc.WithRTPStreamID(l.rid))
				if err != nil {
					return err
				}
				lt.layers = append(lt.layers, t)
			}
			tracks = append(tracks, lt)
		} else {
			t, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, "video", "parley")
			if err != nil {
				return err
			}
			tracks = append(tracks, &localTrack{id: "video", source: "camera", video: t, codec: opts.Codec})
		}
	}
	c.mu.Lock()
	c.local = tracks
	c.pubOpts = &opts
	c.mu.Unlock()
	if err := c.negotiatePublisher(ctx); err != nil {
		return err
	}
	for _, t := range tracks {
		c.wg.Add(1)
		go c.pump(t, opts)
	}
	return nil
}

// negotiatePublisher (re)creates the publisher transport with the local tracks.
func (c *Client) negotiatePublisher(ctx context.Context) error {
	api, err := c.api(true)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(c.iceConfig())
	if err != nil {
		return err
	}
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			_ = c.Send(signaling.TypeCandidate, signaling.CandidateData{Transport: signaling.TransportPublisher, Candidate: ci.ToJSON()})
		}
	})
	c.mu.Lock()
	old := c.pub
	c.pub = pc
	c.pubCand = nil
	local := c.local
	c.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	var metas []signaling.TrackMeta
	var audioSender *webrtc.RTPSender
	type simSender struct {
		s *webrtc.RTPSender
		t *localTrack
	}
	var simSenders []simSender
	for _, t := range local {
		video, _ := t.current()
		var tl webrtc.TrackLocal = video
		switch {
		case t.audio != nil:
			tl = t.audio
		case len(t.layers) > 0:
			tl = t.layers[0]
		}
		s, err := pc.AddTrack(tl)
		if err != nil {
			return fmt.Errorf("client: add track: %w", err)
		}
		meta := signaling.TrackMeta{TrackID: t.id, Source: t.source}
		for i, l := range t.layers {
			meta.Layers = append(meta.Layers, signaling.LayerMeta{RID: simulcastLayers[i].rid,
				Width: simulcastLayers[i].width, Height: simulcastLayers[i].height})
			if i > 0 {
				if err := s.AddEncoding(l); err != nil {
					return fmt.Errorf("client: simulcast encoding: %w", err)
				}
			}
		}
		if t.audio != nil {
			audioSender = s
		}
		if len(t.layers) > 0 {
			simSenders = append(simSenders, simSender{s, t})
		}
		if t.video != nil {
			t.vmu.Lock()
			t.sender = s
			t.vmu.Unlock()
		}
		go drainSender(s, t, "")
		for i := 1; i < len(t.layers); i++ {
			go drainSender(s, t, simulcastLayers[i].rid)
		}
		metas = append(metas, meta)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	env, err := c.Request(ctx, signaling.TypeOffer, signaling.SDPData{SDP: offer.SDP, Tracks: metas})
	if err != nil {
		return err
	}
	var ans signaling.SDPData
	if err := json.Unmarshal(env.Data, &ans); err != nil {
		return fmt.Errorf("client: answer: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		return fmt.Errorf("client: publisher answer: %w", err)
	}
	for _, ss := range simSenders {
		ss.t.extMu.Lock()
		for _, ext := range ss.s.GetParameters().HeaderExtensions {
			switch ext.URI {
			case sdp.SDESMidURI:
				ss.t.midID = uint8(ext.ID)
			case sdp.SDESRTPStreamIDURI:
				ss.t.ridID = uint8(ext.ID)
			}
		}
		for _, tr := range pc.GetTransceivers() {
			if tr.Sender() == ss.s {
				ss.t.mid = tr.Mid()
			}
		}
		ss.t.extMu.Unlock()
	}
	if audioSender != nil {
		for _, ext := range audioSender.GetParameters().HeaderExtensions {
			if ext.URI == sdp.AudioLevelURI {
				c.mu.Lock()
				c.levelID = uint8(ext.ID)
				c.mu.Unlock()
			}
		}
	}
	c.mu.Lock()
	pending := c.pubCand
	c.pubCand = nil
	c.mu.Unlock()
	for _, ci := range pending {
		_ = pc.AddICECandidate(ci)
	}
	return nil
}

// switchCodec republishes the camera track in the room's new video codec: a new
// transceiver on the same publisher transport (the old one is removed), renegotiated.
func (c *Client) switchCodec(codec string) error {
	c.mu.Lock()
	pc := c.pub
	var vt *localTrack
	for _, t := range c.local {
		if t.video != nil && len(t.layers) == 0 {
			vt = t
		}
	}
	c.mu.Unlock()
	if pc == nil || vt == nil {
		return nil
	}
	vt.vmu.Lock()
	if vt.codec == codec {
		vt.vmu.Unlock()
		return nil
	}
	old := vt.sender
	vt.vmu.Unlock()
	mime := webrtc.MimeTypeVP8
	if codec == signaling.CodecH264 {
		mime = webrtc.MimeTypeH264
	}
	nt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, "video", "parley")
	if err != nil {
		return err
	}
	if old != nil {
		if err := pc.RemoveTrack(old); err != nil {
			return fmt.Errorf("client: remove old video: %w", err)
		}
	}
	sender, err := pc.AddTrack(nt)
	if err != nil {
		return fmt.Errorf("client: add video in %s: %w", codec, err)
	}
	go drainSender(sender, vt, "")
	vt.vmu.Lock()
	vt.video, vt.codec, vt.sender = nt, codec, sender
	vt.vmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	env, err := c.Request(ctx, signaling.TypeOffer, signaling.SDPData{SDP: offer.SDP,
		Tracks: []signaling.TrackMeta{{TrackID: vt.id, Source: vt.source}}})
	if err != nil {
		return err
	}
	var ans signaling.SDPData
	if err := json.Unmarshal(env.Data, &ans); err != nil {
		return err
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP})
}

// restartPublisher republishes in the room's new video codec on a fresh publisher
// transport: publisher_restart, then a new PeerConnection offering the same track IDs.
func (c *Client) restartPublisher(codec string) error {
	c.mu.Lock()
	pc := c.pub
	var vt *localTrack
	for _, t := range c.local {
		if t.video != nil && len(t.layers) == 0 {
			vt = t
		}
	}
	c.mu.Unlock()
	if pc == nil || vt == nil {
		return nil
	}
	vt.vmu.Lock()
	same := vt.codec == codec
	vt.vmu.Unlock()
	if same {
		return nil
	}
	mime := webrtc.MimeTypeVP8
	if codec == signaling.CodecH264 {
		mime = webrtc.MimeTypeH264
	}
	nt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, "video", "parley")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, signaling.TypePublisherRestart, nil); err != nil {
		return fmt.Errorf("client: publisher_restart: %w", err)
	}
	vt.vmu.Lock()
	vt.video, vt.codec = nt, codec
	vt.vmu.Unlock()
	return c.negotiatePublisher(ctx)
}

// drainSender reads the SFU's RTCP for a local track and notes keyframe requests.
func drainSender(s *webrtc.RTPSender, t *localTrack, rid string) {
	for {
		var pkts []rtcp.Packet
		var err error
		if rid == "" {
			pkts, _, err = s.ReadRTCP()
		} else {
			pkts, _, err = s.ReadSimulcastRTCP(rid)
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				t.plis.Add(1)
				t.wantKey.Store(true)
			}
		}
	}
}

// Sent returns how many audio packets and video frames the client has published.
func (c *Client) Sent() (audioPackets, videoFrames uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.local {
		if t.audio != nil {
			audioPackets += t.sent.Load()
		} else {
			videoFrames += t.sent.Load()
		}
	}
	return audioPackets, videoFrames
}

// KeyframeRequests returns how many PLI/FIR the SFU sent for the local video track.
func (c *Client) KeyframeRequests() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.local {
		if t.video != nil || len(t.layers) > 0 {
			return t.plis.Load()
		}
	}
	return 0
}

// pump writes a local track's media in real time until the client closes.
func (c *Client) pump(t *localTrack, opts PublishOptions) {
	defer c.wg.Done()
	cl, _ := loadClip()
	if t.audio != nil {
		c.pumpAudio(t, cl.opus, opts.AudioLevel)
		return
	}
	const fps = 15
	lastCodec := ""
	var frames [][]byte
	tk := time.NewTicker(time.Second / fps)
	defer tk.Stop()
	next := 0 // frame 0 of the clip is its only keyframe
	sim := make([]simPacketizer, len(t.layers))
	for {
		select {
		case <-c.done:
			return
		case <-tk.C:
		}
		if t.wantKey.Swap(false) {
			next = 0
		}
		video, codec := t.current()
		if codec != lastCodec { // new track after a room codec switch: start with a keyframe
			lastCodec, next = codec, 0
			frames = cl.vp8
			if codec == signaling.CodecH264 {
				frames = cl.h264
			}
		}
		switch {
		case len(t.layers) > 0:
			for i, l := range t.layers {
				size := opts.VideoBitrate / 8 / fps * simulcastLayers[i].share / 12
				sim[i].write(t, l, simulcastLayers[i].rid, syntheticVP8(next == 0, size))
			}
		case opts.VideoBitrate > 0 && codec != signaling.CodecH264:
			_ = video.WriteSample(media.Sample{Data: syntheticVP8(next == 0, opts.VideoBitrate/8/fps), Duration: time.Second / fps})
		default:
			_ = video.WriteSample(media.Sample{Data: frames[next%len(frames)], Duration: time.Second / fps})
		}
		t.sent.Add(1)
		next++
		if next >= len(frames) {
			next = 1 // loop over the interframes; keyframes only on request
		}
		if opts.VideoBitrate > 0 && codec != signaling.CodecH264 {
			next %= 2*fps + 1
			if next == 0 {
				next = 1
			}
		}
	}
}

func (c *Client) pumpAudio(tr *localTrack, packets [][]byte, level uint8) {
	t := tr.audio
	if level == 0 {
		level = 127
	}
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	seq, ts := uint16(binary.BigEndian.Uint16(rnd[:2])), uint32(0)
	for i := 0; ; i++ {
		select {
		case <-c.done:
			return
		case <-tk.C:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: packets[i%len(packets)]}
		c.mu.Lock()
		id := c.levelID
		c.mu.Unlock()
		if id != 0 {
			_ = p.Header.SetExtension(id, []byte{level & 0x7f})
		}
		_ = t.WriteRTP(p)
		tr.sent.Add(1)
		seq++
		ts += 960
	}
}

// simPacketizer packetizes one simulcast layer and adds the mid and rid header
// extensions the receiver needs to tell the layers apart.
type simPacketizer struct {
	seq uint16
	ts  uint32
	vp8 codecs.VP8Payloader
}

func (p *simPacketizer) write(t *localTrack, l *webrtc.TrackLocalStaticRTP, rid string, frame []byte) {
	t.extMu.Lock()
	midID, ridID, mid := t.midID, t.ridID, t.mid
	t.extMu.Unlock()
	payloads := p.vp8.Payload(1200, frame)
	for i, pl := range payloads {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts,
			Marker: i == len(payloads)-1}, Payload: pl}
		if midID != 0 && ridID != 0 {
			_ = pkt.Header.SetExtension(midID, []byte(mid))
			_ = pkt.Header.SetExtension(ridID, []byte(rid))
		}
		_ = l.WriteRTP(pkt)
		p.seq++
	}
	p.ts += 90000 / 15
}

// syntheticVP8 returns a VP8 frame of about size bytes whose header marks a keyframe
// or an interframe (enough for the SFU, which never decodes).
func syntheticVP8(key bool, size int) []byte {
	size = max(size, 16)
	f := make([]byte, size)
	if key {
		f[0] = 0x10 // P=0 keyframe, version 0, show_frame
		f[3], f[4], f[5] = 0x9d, 0x01, 0x2a
		f[6], f[7], f[8], f[9] = 0x40, 0x01, 0xb4, 0x00 // 320×180
	} else {
		f[0] = 0x11
	}
	return f
}

// Cut drops the connection and both transports without leaving, as a network change
// would. The seat is kept by the server for its reconnect grace.
func (c *Client) Cut() {
	c.mu.Lock()
	ws, pub, sub := c.ws, c.pub, c.sub
	c.ws, c.pub, c.sub = nil, nil, nil
	c.joined = nil
	connDone := c.connDone
	c.mu.Unlock()
	if ws != nil {
		_ = ws.UnderlyingConn().Close()
	}
	if pub != nil {
		_ = pub.Close()
	}
	if sub != nil {
		_ = sub.Close()
	}
	if connDone != nil {
		<-connDone
	}
}

// Resume reconnects with the resume token and republishes the same tracks.
func (c *Client) Resume(ctx context.Context) (*signaling.JoinedData, error) {
	c.mu.Lock()
	resume := c.resume
	hadTracks := len(c.local) > 0
	c.mu.Unlock()
	if resume == "" {
		return nil, errors.New("client: nothing to resume")
	}
	if _, err := c.connectFollowing(ctx, signaling.JoinData{Version: signaling.ProtocolVersion, Resume: resume, Decode: c.cfg.Decode, Mode: c.cfg.Mode}); err != nil {
		c.dropConn()
		return nil, err
	}
	j, err := c.WaitJoined(ctx)
	if err != nil {
		return nil, err
	}
	if hadTracks {
		if err := c.negotiatePublisher(ctx); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Close leaves the session and releases everything.
func (c *Client) Close() {
	c.closeMu.Do(func() {
		c.mu.Lock()
		ws := c.ws
		c.mu.Unlock()
		if ws != nil {
			_ = c.Send(signaling.TypeLeave, nil)
		}
		close(c.done)
		c.mu.Lock()
		ws, pub, sub := c.ws, c.pub, c.sub
		c.mu.Unlock()
		if ws != nil {
			_ = ws.Close()
		}
		if pub != nil {
			_ = pub.Close()
		}
		if sub != nil {
			_ = sub.Close()
		}
		c.wg.Wait()
	})
}
