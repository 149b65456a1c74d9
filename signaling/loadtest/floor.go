package loadtest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"golang.org/x/sys/unix"

	"github.com/parley-mediation/parley/signaling/client"
)

// Floor is what sending one datagram costs on this machine at the least: the CPU time
// of a UDP sendto over loopback (which includes the kernel's delivery to the receiving
// socket, as for the server's datagrams), alone and after SRTP protection with each
// profile the server negotiates. A server's CPU per datagram divided by it says how
// much it spends beyond what any SFU must.
type Floor struct {
	Sizes []FloorSize
}

// FloorSize is the floor for one datagram size (RTP header and payload, before SRTP).
type FloorSize struct {
	Size int
	// Share is the fraction of the load's datagrams of about this size.
	Share float64
	// CPU time per datagram: sendto alone, AES-128-GCM + sendto, AES-128-CM-HMAC-SHA1-80 +
	// sendto.
	UDP, GCM, CMHMAC time.Duration
}

// PerDatagram is the floor weighted by the load's mix of sizes: sendto + SRTP with the
// more expensive of the two profiles' mix (the server uses what browsers choose: GCM
// for Chrome and Firefox, CM-HMAC for older clients).
func (f Floor) PerDatagram() (udp, srtpGCM, srtpCM time.Duration) {
	var u, g, c, w float64
	for _, s := range f.Sizes {
		u += s.Share * float64(s.UDP)
		g += s.Share * float64(s.GCM)
		c += s.Share * float64(s.CMHMAC)
		w += s.Share
	}
	if w == 0 {
		return 0, 0, 0
	}
	return time.Duration(u / w), time.Duration(g / w), time.Duration(c / w)
}

// String prints the floor table.
func (f Floor) String() string {
	var b strings.Builder
	for _, s := range f.Sizes {
		fmt.Fprintf(&b, "floor %5d B (%3.0f%% of datagrams): sendto %s, +SRTP AES-GCM %s, +SRTP AES-CM-HMAC %s\n",
			s.Size, 100*s.Share, s.UDP, s.GCM, s.CMHMAC)
	}
	u, g, c := f.PerDatagram()
	fmt.Fprintf(&b, "floor per datagram (load mix): sendto %s, +SRTP AES-GCM %s, +SRTP AES-CM-HMAC %s\n", u, g, c)
	return b.String()
}

// MeasureFloor times count datagrams of each size (share: their fraction in the load)
// sent over loopback to a socket that reads them, on one locked OS thread, by that
// thread's CPU time. It sends only to 127.0.0.1.
func MeasureFloor(sizes []int, shares []float64, count int) (Floor, error) {
	if count <= 0 {
		count = 20000
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return Floor{}, fmt.Errorf("loadtest: floor: %w", err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(4 << 20)
	go func() { // the receiving side, as the clients read the server's datagrams
		buf := make([]byte, 2048)
		for {
			if _, _, err := rx.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return Floor{}, fmt.Errorf("loadtest: floor: %w", err)
	}
	defer tx.Close()
	_ = tx.SetWriteBuffer(4 << 20)

	gcm, err := floorContext(srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		return Floor{}, err
	}
	cm, err := floorContext(srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return Floor{}, err
	}
	var f Floor
	for i, size := range sizes {
		fs := FloorSize{Size: size}
		if i < len(shares) {
			fs.Share = shares[i]
		}
		plain := make([]byte, size)
		hdr := rtp.Header{Version: 2, PayloadType: 96, SSRC: 0x1234}
		out := make([]byte, size+64)
		run := func(ctx *srtp.Context, n int) (time.Duration, error) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			for j := 0; j < n; j++ {
				hdr.SequenceNumber++
				b := plain
				if ctx != nil {
					_, _ = hdr.MarshalTo(plain)
					var err error
					if b, err = ctx.EncryptRTP(out[:0], plain, &hdr); err != nil {
						return 0, err
					}
				}
				if _, err := tx.Write(b); err != nil {
					return 0, err
				}
			}
			return (threadCPU() - c0) / time.Duration(n), nil
		}
		// Interleaved rounds, the least of each kept: on a shared machine the least is
		// the cost, the rest is other people's work.
		const rounds = 6
		for r := 0; r <= rounds; r++ {
			for k, ctx := range []*srtp.Context{nil, gcm, cm} {
				d, err := run(ctx, count/rounds)
				if err != nil {
					return f, fmt.Errorf("loadtest: floor: %w", err)
				}
				if r == 0 {
					continue // warm-up
				}
				if p := []*time.Duration{&fs.UDP, &fs.GCM, &fs.CMHMAC}[k]; *p == 0 || d < *p {
					*p = d
				}
			}
		}
		f.Sizes = append(f.Sizes, fs)
	}
	return f, nil
}

func floorContext(p srtp.ProtectionProfile) (*srtp.Context, error) {
	kl, err := p.KeyLen()
	if err != nil {
		return nil, err
	}
	sl, err := p.SaltLen()
	if err != nil {
		return nil, err
	}
	key, salt := make([]byte, kl), make([]byte, sl)
	for i := range key {
		key[i] = byte(i * 7)
	}
	c, err := srtp.CreateContext(key, salt, p)
	if err != nil {
		return nil, fmt.Errorf("loadtest: floor: srtp %v: %w", p, err)
	}
	return c, nil
}

// threadCPU is the calling OS thread's user + system CPU time.
func threadCPU() time.Duration {
	// CLOCK_THREAD_CPUTIME_ID is the scheduler's exact run time of the thread. getrusage's
	// per-thread figure is not: its split into user and system time comes from timer
	// ticks, and a round of the floor is only a few ticks long, so the least of several
	// rounds came out far below the truth (sendto + SRTP at 38 ns, below sendto alone).
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// LoadMix returns the datagram sizes (RTP header and payload) a publisher of cfg sends
// and the fraction of datagrams of each: Opus packets at 50/s and VP8 frames at 15/s cut
// into packets of at most 1200 bytes.
func LoadMix(cfg Config) (sizes []int, shares []float64) {
	opus, clipFrame := client.ClipSizes()
	audio, video := cfg.Audio, cfg.Video
	if !audio && !video {
		audio, video = true, true
	}
	var rates []float64
	if audio {
		sizes = append(sizes, 12+8+opus) // header, audio-level extension, payload
		rates = append(rates, 50)
	}
	if video {
		frame := clipFrame
		if cfg.VideoBitrate > 0 {
			frame = cfg.VideoBitrate / 8 / 15
		}
		per := max((frame+1199)/1200, 1)
		sizes = append(sizes, 12+1+frame/per) // header, VP8 descriptor, payload
		rates = append(rates, float64(15*per))
	}
	total := 0.0
	for _, r := range rates {
		total += r
	}
	for _, r := range rates {
		shares = append(shares, r/total)
	}
	return sizes, shares
}
