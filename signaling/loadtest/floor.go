package loadtest

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
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
//
// Where it is measured matters as much as what: a datagram sent from one core and read
// on another costs its sender a cross-core wake-up that one read on the sending core
// does not (about a quarter of a loopback sendto on a two-core VM). With FloorCPUs set,
// Sizes is measured as the server's datagrams go — sent from the server's cores, read on
// the load generator's — and SameCore as before, both threads on the load generator's.
type Floor struct {
	Sizes    []FloorSize
	At       FloorCPUs
	SameCore []FloorSize // with At.Send set: sender and reader both on At.Recv
}

// FloorCPUs places the floor's sending and reading threads (nil: wherever the process
// runs): Send the server's cores, Recv the load generator's.
type FloorCPUs struct {
	Send, Recv []int
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
	return perDatagram(f.Sizes)
}

// SameCorePerDatagram is PerDatagram of SameCore (zero when it was not measured).
func (f Floor) SameCorePerDatagram() (udp, srtpGCM, srtpCM time.Duration) {
	return perDatagram(f.SameCore)
}

func perDatagram(sizes []FloorSize) (udp, srtpGCM, srtpCM time.Duration) {
	var u, g, c, w float64
	for _, s := range sizes {
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
	if len(f.At.Send) > 0 {
		fmt.Fprintf(&b, "floor sent from CPU %s (the server's) to a reader on CPU %s (the load generator's), as the server's datagrams go:\n",
			cpuList(f.At.Send), cpuList(f.At.Recv))
	}
	for _, s := range f.Sizes {
		fmt.Fprintf(&b, "floor %5d B (%3.0f%% of datagrams): sendto %s, +SRTP AES-GCM %s, +SRTP AES-CM-HMAC %s\n",
			s.Size, 100*s.Share, s.UDP, s.GCM, s.CMHMAC)
	}
	u, g, c := f.PerDatagram()
	fmt.Fprintf(&b, "floor per datagram (load mix): sendto %s, +SRTP AES-GCM %s, +SRTP AES-CM-HMAC %s\n", u, g, c)
	if len(f.SameCore) > 0 {
		u, g, c := f.SameCorePerDatagram()
		fmt.Fprintf(&b, "floor with sender and reader on one core (CPU %s): sendto %s, +SRTP AES-GCM %s, +SRTP AES-CM-HMAC %s\n",
			cpuList(f.At.Recv), u, g, c)
	}
	return b.String()
}

func cpuList(cpus []int) string {
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}

// MeasureFloor times count datagrams of each size (share: their fraction in the load)
// sent over loopback to a socket that reads them, on one locked OS thread, by that
// thread's CPU time; at places the two threads (FloorCPUs). It sends only to 127.0.0.1.
func MeasureFloor(sizes []int, shares []float64, count int, at FloorCPUs) (Floor, error) {
	if count <= 0 {
		count = 20000
	}
	f := Floor{At: at}
	var err error
	if f.Sizes, err = measureFloor(sizes, shares, count, at.Send, at.Recv); err != nil {
		return Floor{}, err
	}
	if len(at.Send) > 0 {
		if f.SameCore, err = measureFloor(sizes, shares, count, at.Recv, at.Recv); err != nil {
			return Floor{}, err
		}
	}
	return f, nil
}

// onCPUs runs fn on the calling goroutine's OS thread restricted to cpus (none: as it
// is), and gives the thread its CPUs back after.
func onCPUs(cpus []int, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if len(cpus) > 0 {
		set, err := cpuSet(cpus)
		if err != nil {
			return err
		}
		var old unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			return fmt.Errorf("loadtest: floor: %w", err)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("loadtest: floor: pin to %v: %w", cpus, err)
		}
		defer func() { _ = unix.SchedSetaffinity(0, &old) }()
	}
	return fn()
}

func measureFloor(sizes []int, shares []float64, count int, send, recv []int) ([]FloorSize, error) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("loadtest: floor: %w", err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(4 << 20)
	go func() { // the receiving side, as the clients read the server's datagrams; ends with rx
		_ = onCPUs(recv, func() error {
			buf := make([]byte, 2048)
			for {
				if _, _, err := rx.ReadFromUDP(buf); err != nil {
					return nil
				}
			}
		})
	}()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return nil, fmt.Errorf("loadtest: floor: %w", err)
	}
	defer tx.Close()
	_ = tx.SetWriteBuffer(4 << 20)

	gcm, err := floorContext(srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		return nil, err
	}
	cm, err := floorContext(srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return nil, err
	}
	var res []FloorSize
	for i, size := range sizes {
		fs := FloorSize{Size: size}
		if i < len(shares) {
			fs.Share = shares[i]
		}
		plain := make([]byte, size)
		hdr := rtp.Header{Version: 2, PayloadType: 96, SSRC: 0x1234}
		out := make([]byte, size+64)
		run := func(ctx *srtp.Context, n int) (time.Duration, error) { // on the locked thread of onCPUs
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
		err := onCPUs(send, func() error {
			for r := 0; r <= rounds; r++ {
				for k, ctx := range []*srtp.Context{nil, gcm, cm} {
					d, err := run(ctx, count/rounds)
					if err != nil {
						return fmt.Errorf("loadtest: floor: %w", err)
					}
					if r == 0 {
						continue // warm-up
					}
					if p := []*time.Duration{&fs.UDP, &fs.GCM, &fs.CMHMAC}[k]; *p == 0 || d < *p {
						*p = d
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		res = append(res, fs)
	}
	return res, nil
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
