package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-mediation/parley/cluster"
)

// redisClient connects to the test Redis (PARLEY_TEST_REDIS_URL); every test uses keys of its own prefix.
func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "parleytest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

func newNode(t *testing.T, rdb *redis.Client, prefix, id string, load cluster.Load) *cluster.Cluster {
	t.Helper()
	c := cluster.New(rdb, cluster.Config{Node: id, URL: "ws://" + id + "/rtc", Prefix: prefix, LeaseTTL: 900 * time.Millisecond,
		Load: func() cluster.Load { return load }}, nil)
	c.Start(context.Background())
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestLeaseClaimRenewRelease(t *testing.T) {
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	a := newNode(t, rdb, prefix, "a", cluster.Load{})
	b := newNode(t, rdb, prefix, "b", cluster.Load{})
	if h, err := a.Claim(ctx, "s1", "a"); err != nil || h != "a" {
		t.Fatalf("a claims s1: %q %v", h, err)
	}
	if h, err := b.Claim(ctx, "s1", "b"); err != nil || h != "a" {
		t.Fatalf("b claims s1 held by a: %q %v, want a", h, err)
	}
	time.Sleep(2 * time.Second) // > LeaseTTL: only the heartbeat keeps it
	if h, _ := b.Claim(ctx, "s1", "b"); h != "a" {
		t.Fatalf("after the lease time, the host is %q: the heartbeat did not renew it", h)
	}
	if u, err := b.NodeURL(ctx, "a"); err != nil || u != "ws://a/rtc" {
		t.Errorf("NodeURL(a) = %q %v", u, err)
	}
	_ = b.Release(ctx, "s1", "b") // not b's: nothing happens
	if h, _ := b.Claim(ctx, "s1", "b"); h != "a" {
		t.Fatalf("b released a's lease")
	}
	if err := a.Release(ctx, "s1", "a"); err != nil {
		t.Fatal(err)
	}
	if h, _ := b.Claim(ctx, "s1", "b"); h != "b" {
		t.Fatalf("after a released, b gets %q", h)
	}
}

// TestLostNodeLeasesMove: a node that stops (no heartbeat, no release: a crash) loses its leases within the
// lease time; a survivor's claim takes them at once when the node has left the registry.
func TestLostNodeLeasesMove(t *testing.T) {
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	dead := cluster.New(rdb, cluster.Config{Node: "dead", URL: "ws://dead/rtc", Prefix: prefix, LeaseTTL: 900 * time.Millisecond}, nil)
	dead.Start(ctx)
	live := newNode(t, rdb, prefix, "live", cluster.Load{})
	if h, _ := dead.Claim(ctx, "s1", "dead"); h != "dead" {
		t.Fatal("dead could not claim")
	}
	// Crash: the heartbeat stops without releasing anything (Close would release).
	crash(dead)
	start := time.Now()
	for {
		h, err := live.Claim(ctx, "s1", "live")
		if err != nil {
			t.Fatal(err)
		}
		if h == "live" {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the lost node's lease did not move within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("lease moved %s after the crash", time.Since(start).Round(time.Millisecond))
}

// crash stops a node's heartbeat as a kill would (the registry entry and leases expire on their own).
func crash(c *cluster.Cluster) { c.StopHeartbeat() }

func TestLocateLeastLoadedAndMove(t *testing.T) {
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	busy := newNode(t, rdb, prefix, "busy", cluster.Load{Participants: 40, Rooms: 8, CPU: 0.5})
	idle := newNode(t, rdb, prefix, "idle", cluster.Load{Participants: 3, Rooms: 1, CPU: 0.1})
	hot := newNode(t, rdb, prefix, "hot", cluster.Load{Participants: 0, Rooms: 0, CPU: 0.95})
	_ = hot
	n, err := busy.Locate(ctx, "new")
	if err != nil || n.ID != "idle" {
		t.Fatalf("a new room goes to %q (%v), want idle (fewest participants below 90 %% CPU)", n.ID, err)
	}
	if n2, _ := busy.Locate(ctx, "new"); n2.ID != "idle" {
		t.Errorf("the second Locate of the same session says %q: the reservation did not hold", n2.ID)
	}
	if h, _ := idle.Claim(ctx, "new", "idle"); h != "idle" {
		t.Errorf("the reserved node's claim: %q", h)
	}
	to, err := idle.Move(ctx, "new", "idle")
	if err != nil || to == "idle" || to == "" {
		t.Fatalf("move: %q %v", to, err)
	}
	if h, _ := busy.Claim(ctx, "new", "busy"); h != to {
		t.Errorf("after the move the host is %q, want %q", h, to)
	}
	idle.SetDraining(true)
	if n, _ := busy.Locate(ctx, "another"); n.ID == "idle" {
		t.Error("a draining node was chosen for a new room")
	}
	if h, err := idle.Claim(ctx, "third", "idle"); err == nil && h == "idle" {
		t.Error("a draining node claimed a new session")
	}
}

func TestSelectors(t *testing.T) {
	nodes := []cluster.Node{
		{ID: "busy", Load: cluster.Load{Participants: 40, Rooms: 2, CPU: 0.5}},
		{ID: "idle", Load: cluster.Load{Participants: 3, Rooms: 3, CPU: 0.1}},
		{ID: "hot", Load: cluster.Load{Participants: 0, Rooms: 1, CPU: 0.95}},
	}
	for _, c := range []struct {
		name string
		want string
	}{{"least_loaded", "idle"}, {"cpu", "idle"}, {"rooms", "hot"}} {
		sel, err := cluster.SelectorByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := nodes[sel(nodes)].ID; got != c.want {
			t.Errorf("%s picked %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := cluster.SelectorByName("magic"); err == nil {
		t.Error("unknown selector accepted")
	}
}

// TestRedisUnreachable: with Redis down every call fails within the operation timeout, and the node reports
// not ready; nothing hangs or panics.
func TestRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: 0})
	defer rdb.Close()
	c := cluster.New(rdb, cluster.Config{Node: "n", OpTimeout: 300 * time.Millisecond}, nil)
	c.Start(context.Background())
	defer c.Close(context.Background())
	if c.Ready() {
		t.Fatal("ready without Redis")
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, f := range []func() error{
		func() error { _, err := c.Claim(ctx, "s", "n"); return err },
		func() error { _, err := c.Locate(ctx, "s"); return err },
		func() error { return c.Save(ctx, "s", []byte("{}")) },
		func() error { _, err := c.Load(ctx, "s"); return err },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if err := f(); err == nil {
				t.Error("a call succeeded without Redis")
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("a call took %s without Redis", d)
			}
		}()
	}
	wg.Wait()
	if c.Errors() == 0 {
		t.Error("Redis errors not counted")
	}
}

// TestKilledNodeReplacedAtOnce: a node still in the registry whose signalling port refuses connections (the
// process is gone) loses its sessions at once, without waiting for its entry to expire; one behind an address
// that accepts connections keeps them until the expiry.
func TestKilledNodeReplacedAtOnce(t *testing.T) {
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	dead := cluster.New(rdb, cluster.Config{Node: "dead", URL: "ws://" + addr + "/rtc", Prefix: prefix, LeaseTTL: 6 * time.Second}, nil)
	dead.Start(ctx)
	live := newNode(t, rdb, prefix, "live", cluster.Load{})
	if h, _ := dead.Claim(ctx, "s1", "dead"); h != "dead" {
		t.Fatal("dead could not claim")
	}
	crash(dead)
	// Still listening (a proxy in front, or a frozen process): the lease stays.
	if h, _ := live.Claim(ctx, "s1", "live"); h != "dead" {
		t.Fatalf("a node whose address still accepts connections lost its lease at once (host %q)", h)
	}
	ln.Close() // the process is gone: connections are refused
	t0 := time.Now()
	if n, err := live.Locate(ctx, "s1"); err != nil || n.ID != "live" {
		t.Fatalf("Locate after the kill: %q %v, want live", n.ID, err)
	}
	if h, _ := live.Claim(ctx, "s1", "live"); h != "live" {
		t.Fatalf("claim after the kill: %q", h)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("take-over took %s", d)
	}
}
