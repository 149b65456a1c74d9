package loadtest

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestThreadCPUResolution: the floor's rounds are a few milliseconds long, so the clock
// that times them must resolve microseconds. A tick-sampled clock (getrusage) reads 0
// for most 200 µs spins and a whole tick for a few.
func TestThreadCPUResolution(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	good := 0
	const spins = 20
	for i := 0; i < spins; i++ {
		c0, w0 := threadCPU(), time.Now()
		for time.Since(w0) < 200*time.Microsecond {
		}
		if d := threadCPU() - c0; d >= 50*time.Microsecond && d <= 10*time.Millisecond {
			good++
		}
	}
	if good < spins*3/4 {
		t.Fatalf("threadCPU resolved %d of %d 200 µs spins: it is not a fine-grained thread clock", good, spins)
	}
}

// TestMeasureFloor: every figure is measured (none 0), SRTP with AES-CM-HMAC on a
// kilobyte costs more than sendto alone (HMAC-SHA1 over it is about a microsecond
// everywhere), and the load mix weighs the sizes by their shares.
func TestMeasureFloor(t *testing.T) {
	f, err := MeasureFloor([]int{118, 1054}, []float64{0.25, 0.75}, 12000, FloorCPUs{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sizes) != 2 {
		t.Fatalf("sizes: %+v", f.Sizes)
	}
	for _, s := range f.Sizes {
		if s.UDP <= 0 || s.GCM <= 0 || s.CMHMAC <= 0 {
			t.Fatalf("unmeasured figure: %+v", s)
		}
	}
	if big := f.Sizes[1]; big.CMHMAC <= big.UDP {
		t.Fatalf("1054 B: sendto + AES-CM-HMAC %v not above sendto %v", big.CMHMAC, big.UDP)
	}
	u, g, c := f.PerDatagram()
	a, b := f.Sizes[0], f.Sizes[1]
	want := func(x, y time.Duration) time.Duration { return time.Duration(0.25*float64(x) + 0.75*float64(y)) }
	for _, p := range [][2]time.Duration{{u, want(a.UDP, b.UDP)}, {g, want(a.GCM, b.GCM)}, {c, want(a.CMHMAC, b.CMHMAC)}} {
		if d := p[0] - p[1]; d < -time.Nanosecond || d > time.Nanosecond {
			t.Fatalf("load mix %v, want %v", p[0], p[1])
		}
	}
	t.Logf("\n%s", f)
}

// TestFloorPlaced: with CPUs given, the floor is measured both ways (sent from one core
// to a reader on another, and on one core), and the sending thread gets its CPUs back —
// a thread left pinned to the server's core would put the load generator's work there.
func TestFloorPlaced(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, inside, after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	if err := onCPUs([]int{1}, func() error { return unix.SchedGetaffinity(0, &inside) }); err != nil {
		t.Fatal(err)
	}
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if inside.Count() != 1 || !inside.IsSet(1) {
		t.Fatalf("inside onCPUs([1]): %d CPUs, CPU 1 %v", inside.Count(), inside.IsSet(1))
	}
	if after != before {
		t.Fatal("onCPUs did not give the thread its CPUs back")
	}
	f, err := MeasureFloor([]int{300}, []float64{1}, 6000, FloorCPUs{Send: []int{1}, Recv: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sizes) != 1 || len(f.SameCore) != 1 || f.SameCore[0].GCM <= 0 || f.Sizes[0].GCM <= 0 {
		t.Fatalf("placed floor: %+v", f)
	}
	if s := f.String(); !strings.Contains(s, "sent from CPU 1") || !strings.Contains(s, "one core (CPU 0)") {
		t.Fatalf("floor table does not say where it was measured:\n%s", s)
	}
	t.Logf("\n%s", f)
}
