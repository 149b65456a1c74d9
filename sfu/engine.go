package sfu

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ErrClosed is returned by operations on a closed Engine or Room.
var ErrClosed = errors.New("sfu: closed")

// Engine owns the media sockets (one UDP port, the ICE-TCP listener, the TURN server)
// and the rooms. It knows nothing of HTTP, SQL or cases: rooms are named by an opaque
// session ID.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	filter ipFilter
	plf    pionLoggerFactory

	udpMux ice.UDPMux
	// sockets are the UDP mux's sockets (nil: no direct send path, direct.go).
	sockets *socketRegistry
	tcpMux  ice.TCPMux
	tcpLn   net.Listener
	turn    *turnServer

	se webrtc.SettingEngine

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	tapFor func(sessionID string) Tap

	forwarded atomic.Uint64
	bytes     atomic.Uint64
	dropped   atomic.Uint64
	direct    atomic.Uint64 // of forwarded: sent on the direct path
	routes    atomic.Int64  // subscriber transports with a direct route now
	filtered  atomic.Uint64
	received  atomic.Uint64
	// expectedUp counts the packets publishers' sequence numbers say were sent (highest
	// minus first, per read loop); minus received, that is the upstream loss.
	expectedUp atomic.Uint64

	kfRequests  atomic.Uint64
	kfWaits     atomic.Uint64
	kfWaitNanos atomic.Uint64
	kfWaiting   atomic.Int64

	nacks       atomic.Uint64
	retransmits atomic.Uint64
	reports     atomic.Uint64

	// Subscriber feedback (participant.go), for metrics: PLI/FIR subscribers sent and
	// the loss their receiver reports state.
	subKeyframeReqs, lossSum, lossReports atomic.Uint64
}

// Stats are engine-wide counters, for the load benchmark and metrics.
type Stats struct {
	// PacketsReceived counts RTP packets read from publishers.
	PacketsReceived uint64 `json:"packets_received"`
	// PacketsForwarded and BytesForwarded count RTP packets written to subscribers.
	PacketsForwarded uint64 `json:"packets_forwarded"`
	BytesForwarded   uint64 `json:"bytes_forwarded"`
	// PacketsDropped counts packets that should have reached a subscriber but did not
	// (write error, transport not ready).
	PacketsDropped uint64 `json:"packets_dropped"`
	// PacketsFiltered counts packets deliberately not forwarded: caucus gating, another
	// simulcast layer selected, waiting for a keyframe.
	PacketsFiltered uint64 `json:"packets_filtered"`
	// PacketsLostUpstream counts sequence gaps in what publishers sent: packets lost on
	// the way to the server, including those the server's socket dropped when it could
	// not read fast enough (CPU saturation shows here, not as silence).
	PacketsLostUpstream uint64 `json:"packets_lost_upstream"`
	// PacketsDirect counts the forwarded packets sent on the direct path (encrypted by the
	// down track, batched into sendmmsg); DirectRoutes is the subscriber transports
	// that have a direct route now. The rest went through Pion's SRTP session.
	PacketsDirect uint64 `json:"packets_direct"`
	DirectRoutes  int64  `json:"direct_routes"`
	// KeyframeRequests counts PLIs sent to publishers.
	KeyframeRequests uint64 `json:"keyframe_requests"`
	// KeyframeWaits counts video down tracks that waited for a keyframe before
	// forwarding (new viewer, resume, caucus opened, lost keyframe) and got one;
	// KeyframeWaitSeconds is their total wait, from when the subscriber's transport could
	// receive; KeyframesWaiting is how many wait now.
	KeyframeWaits       uint64  `json:"keyframe_waits"`
	KeyframeWaitSeconds float64 `json:"keyframe_wait_seconds"`
	KeyframesWaiting    int64   `json:"keyframes_waiting"`
	// NacksReceived counts sequence numbers subscribers asked for again;
	// PacketsRetransmitted those answered from the track's packet cache.
	NacksReceived        uint64 `json:"nacks_received"`
	PacketsRetransmitted uint64 `json:"packets_retransmitted"`
	// SenderReports counts RTCP sender reports sent to subscribers.
	SenderReports uint64 `json:"sender_reports"`
	// SubscriberKeyframeRequests counts the PLI/FIR subscribers sent; LossFractionSum
	// and LossReports sum the fraction lost (x/256) of subscribers' receiver reports, so
	// their ratio is the mean loss.
	SubscriberKeyframeRequests uint64 `json:"subscriber_keyframe_requests"`
	LossFractionSum            uint64 `json:"loss_fraction_sum"`
	LossReports                uint64 `json:"loss_reports"`
	Rooms                      int    `json:"rooms"`
	Participants               int    `json:"participants"`
	Tracks                     int    `json:"tracks"`
}

// NewEngine opens the media sockets and starts the embedded TURN server if enabled.
func NewEngine(cfg Config, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	filter, _ := parseFilter(cfg.ICEFilter)
	e := &Engine{
		cfg:    cfg,
		log:    logger.With("component", "sfu"),
		filter: filter,
		rooms:  map[string]*Room{},
	}
	e.plf = pionLoggerFactory{log: e.log}

	mediaNet, sockets, err := newMediaNet()
	if err != nil {
		return nil, fmt.Errorf("sfu: network: %w", err)
	}
	muxOpts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithNet(mediaNet),
		ice.UDPMuxFromPortWithInterfaceFilter(filter.keepInterface),
		ice.UDPMuxFromPortWithIPFilter(filter.keepIP),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		ice.UDPMuxFromPortWithLogger(e.plf.NewLogger("udpmux")),
		ice.UDPMuxFromPortWithReadBufferSize(4 << 20),
		ice.UDPMuxFromPortWithWriteBufferSize(4 << 20),
	}
	if filter.loopback() {
		muxOpts = append(muxOpts, ice.UDPMuxFromPortWithLoopback())
	}
	udpMux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, muxOpts...)
	if err != nil {
		return nil, fmt.Errorf("sfu: udp mux on port %d: %w", cfg.UDPPort, err)
	}
	e.udpMux = udpMux
	if !cfg.NoDirectSend {
		e.sockets = sockets
	}

	se := webrtc.SettingEngine{LoggerFactory: e.plf}
	se.SetICEUDPMux(udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.ICETCPPort >= 0 {
		host := ""
		if filter.loopbackOnly() {
			host = "127.0.0.1"
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.ICETCPPort)))
		if err != nil {
			_ = udpMux.Close()
			return nil, fmt.Errorf("sfu: ice-tcp listen on port %d: %w", cfg.ICETCPPort, err)
		}
		e.tcpLn = ln
		e.tcpMux = webrtc.NewICETCPMux(e.plf.NewLogger("tcpmux"), ln, 32)
		se.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetInterfaceFilter(filter.keepInterface)
	se.SetIPFilter(filter.keepIP)
	se.SetIncludeLoopbackCandidate(filter.loopback())
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	e.se = se

	if cfg.TURN.Enabled {
		ts, err := startTURN(cfg, filter, e.plf, e.log)
		if err != nil {
			e.closeSockets()
			return nil, err
		}
		e.turn = ts
	}
	e.log.Info("media engine started", "udp", udpMux.GetListenAddresses(), "ice_tcp", e.tcpAddr(),
		"turn", cfg.TURN.Enabled)
	return e, nil
}

func (e *Engine) tcpAddr() string {
	if e.tcpLn == nil {
		return "off"
	}
	return e.tcpLn.Addr().String()
}

// UDPAddrs returns the addresses of the media UDP sockets.
func (e *Engine) UDPAddrs() []net.Addr { return e.udpMux.GetListenAddresses() }

// TURNAddrs returns the TURN UDP and TCP listen addresses (nil when TURN is off).
func (e *Engine) TURNAddrs() (udp, tcp net.Addr) {
	if e.turn == nil {
		return nil, nil
	}
	return e.turn.udpAddr(), e.turn.tcpAddr()
}

func (e *Engine) closeSockets() {
	if e.turn != nil {
		e.turn.close()
	}
	if e.tcpMux != nil {
		_ = e.tcpMux.Close()
	}
	if e.tcpLn != nil {
		_ = e.tcpLn.Close()
	}
	_ = e.udpMux.Close()
}

// Close closes every room and the media sockets.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	rooms := make([]*Room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	for _, r := range rooms {
		r.Close()
	}
	e.closeSockets()
	return nil
}

// Room returns the room for sessionID, creating it if needed. onEvent receives the
// room's events (track published, active speaker, …); it is set when the room is
// created and must not block.
func (e *Engine) Room(sessionID string, onEvent func(Event)) (*Room, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if r, ok := e.rooms[sessionID]; ok && !r.isClosed() {
		return r, nil
	}
	r := newRoom(e, sessionID, onEvent)
	e.rooms[sessionID] = r
	return r, nil
}

func (e *Engine) forgetRoom(r *Room) {
	e.mu.Lock()
	if e.rooms[r.id] == r {
		delete(e.rooms, r.id)
	}
	e.mu.Unlock()
}

// Stats returns a snapshot of the engine counters.
func (e *Engine) Stats() Stats {
	s := Stats{
		PacketsReceived:  e.received.Load(),
		PacketsForwarded: e.forwarded.Load(),
		BytesForwarded:   e.bytes.Load(),
		PacketsDropped:   e.dropped.Load(),
		PacketsDirect:    e.direct.Load(),
		DirectRoutes:     e.routes.Load(),
		PacketsFiltered:  e.filtered.Load(),

		KeyframeRequests:     e.kfRequests.Load(),
		KeyframeWaits:        e.kfWaits.Load(),
		KeyframeWaitSeconds:  float64(e.kfWaitNanos.Load()) / 1e9,
		KeyframesWaiting:     e.kfWaiting.Load(),
		NacksReceived:        e.nacks.Load(),
		PacketsRetransmitted: e.retransmits.Load(),
		SenderReports:        e.reports.Load(),

		SubscriberKeyframeRequests: e.subKeyframeReqs.Load(),
		LossFractionSum:            e.lossSum.Load(),
		LossReports:                e.lossReports.Load(),
	}
	if exp := e.expectedUp.Load(); exp > s.PacketsReceived {
		s.PacketsLostUpstream = exp - s.PacketsReceived
	}
	e.mu.Lock()
	rooms := make([]*Room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	e.mu.Unlock()
	s.Rooms = len(rooms)
	for _, r := range rooms {
		p, t := r.counts()
		s.Participants += p
		s.Tracks += t
	}
	return s
}

// ICEServers returns the STUN and TURN entries a client should use, with TURN
// credentials valid for ttl (REST-style: username "expiry:participantID"). It returns
// nil when TURN is off.
func (e *Engine) ICEServers(participantID string, ttl time.Duration) []webrtc.ICEServer {
	if e.turn == nil {
		return nil
	}
	user := strconv.FormatInt(e.cfg.Now().Add(ttl).Unix(), 10) + ":" + participantID
	mac := hmac.New(sha1.New, []byte(e.cfg.TURN.Secret))
	mac.Write([]byte(user))
	pass := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	host := e.turn.host
	var out []webrtc.ICEServer
	if a := e.turn.udpAddr(); a != nil {
		port := strconv.Itoa(a.(*net.UDPAddr).Port)
		out = append(out,
			webrtc.ICEServer{URLs: []string{"stun:" + net.JoinHostPort(host, port)}},
			webrtc.ICEServer{
				URLs:       []string{"turn:" + net.JoinHostPort(host, port) + "?transport=udp"},
				Username:   user,
				Credential: pass,
			})
	}
	if a := e.turn.tcpAddr(); a != nil {
		port := strconv.Itoa(a.(*net.TCPAddr).Port)
		out = append(out, webrtc.ICEServer{
			URLs:       []string{"turn:" + net.JoinHostPort(host, port) + "?transport=tcp"},
			Username:   user,
			Credential: pass,
		})
	}
	return out
}

// Role of a PeerConnection seen from the SFU.
const (
	rolePublisher  = "publisher"
	roleSubscriber = "subscriber"
)

// newPeerConnection builds a PeerConnection with its own MediaEngine and interceptors
// (Pion's MediaEngine must not be shared between connections).
//
// The publisher side keeps Pion's receive-side interceptors: NACK generation, receiver
// reports and transport-wide congestion control feedback, so that a browser's send-side
// estimator works. They cost once per received packet.
//
// The subscriber side has no interceptor at all: a down track writes straight to SRTP.
// Everything Pion's sender interceptors did per forwarded packet is done here more
// cheaply, once per track or once per second: NACKs are answered from the track's shared
// packet cache (packetCache) instead of a copy per subscriber; sender reports are built
// from the down tracks' counters by the room loop; the bandwidth estimate comes from the
// RTCP the subscriber sends anyway (REMB and receiver-report loss), so transport-wide
// sequence numbers, their per-packet history and Pion's GCC with its pacer are gone.
func (e *Engine) newPeerConnection(role string) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := e.registerCodecs(me, role); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if role == rolePublisher {
		gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(e.plf))
		if err != nil {
			return nil, fmt.Errorf("sfu: nack: %w", err)
		}
		ir.Add(gen)
		rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(e.plf))
		if err != nil {
			return nil, fmt.Errorf("sfu: rtcp reports: %w", err)
		}
		ir.Add(rr)
		if err := webrtc.ConfigureTWCCSenderWithOptions(me, ir, twcc.WithLoggerFactory(e.plf)); err != nil {
			return nil, fmt.Errorf("sfu: twcc sender: %w", err)
		}
		if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
			return nil, fmt.Errorf("sfu: simulcast extensions: %w", err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(e.se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan})
	if err != nil {
		return nil, fmt.Errorf("sfu: new %s peer connection: %w", role, err)
	}
	return pc, nil
}

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBGoogREMB}, {Type: webrtc.TypeRTCPFBTransportCC},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"}, {Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
}

// codecParams lists the codecs the SFU negotiates, by canonical name.
var codecParams = []struct {
	name   string
	kind   webrtc.RTPCodecType
	params webrtc.RTPCodecParameters
	rtxPT  webrtc.PayloadType
}{
	{CodecOpus, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}},
		PayloadType: 111}, 0},
	{CodecVP8, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback},
		PayloadType:        96}, 97},
	{CodecH264, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: videoFeedback},
		PayloadType: 102}, 103},
	{CodecH264, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
			RTCPFeedback: videoFeedback},
		PayloadType: 104}, 105},
}

// registerCodecs registers the allowed codecs. The subscriber side does not offer
// transport-wide congestion control feedback (it sends no transport-wide sequence
// numbers), so receivers fall back to REMB, which the estimate reads.
func (e *Engine) registerCodecs(me *webrtc.MediaEngine, role string) error {
	for _, c := range codecParams {
		if !e.cfg.allows(c.name) {
			continue
		}
		params := c.params
		if role == roleSubscriber {
			params.RTCPFeedback = slices.DeleteFunc(slices.Clone(params.RTCPFeedback), func(f webrtc.RTCPFeedback) bool {
				return f.Type == webrtc.TypeRTCPFBTransportCC
			})
		}
		if err := me.RegisterCodec(params, c.kind); err != nil {
			return fmt.Errorf("sfu: register %s: %w", c.name, err)
		}
		if c.rtxPT != 0 {
			rtx := webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000,
					SDPFmtpLine: "apt=" + strconv.Itoa(int(c.params.PayloadType))},
				PayloadType: c.rtxPT,
			}
			if err := me.RegisterCodec(rtx, c.kind); err != nil {
				return fmt.Errorf("sfu: register rtx for %s: %w", c.name, err)
			}
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("sfu: audio level extension: %w", err)
	}
	return nil
}
