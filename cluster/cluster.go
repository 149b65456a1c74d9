// Package cluster lets several Parley nodes share the video rooms through Redis (the
// coordination store; PostgreSQL keeps everything durable).
//
//   - Placement: a node hosts a session's room while it holds the session's lease, a
//     Redis key set with SET NX and an expiry (LeaseTTL), renewed by the node's heartbeat
//     and deleted when the room closes. A node that dies stops renewing, so its leases
//     expire within LeaseTTL and the next join or resume places the room elsewhere.
//   - Registry: every node writes its address and load (rooms, participants, tracks,
//     CPU) under a key that expires unless the heartbeat renews it; Nodes lists the live
//     ones. Locate (for the join API) returns the host of a session or, for a new room,
//     reserves it for the node the Selector picks (least loaded by default).
//   - Room state: what a room must remember to be rebuilt on another node, saved as it
//     changes (RoomState).
//
// Every Redis call has a short timeout (Config.OpTimeout), so a frozen or absent Redis
// costs a request at most that long; the node keeps serving the rooms it holds, refuses
// new placements (Ready is false) and re-asserts its leases when Redis is back.
//
// The package knows nothing of signalling or HTTP; its methods match the small
// interfaces package signaling declares (Placement, NodeDirectory, Mover, RoomState).
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Load is what a node reports about itself.
type Load struct {
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants"`
	Tracks       int     `json:"tracks"`
	CPU          float64 `json:"cpu"` // fraction of the machine's CPUs used by the process, 0…1
}

// Node is one live node as the registry knows it.
type Node struct {
	ID       string    `json:"id"`
	URL      string    `json:"url"`      // signalling WebSocket URL
	MediaIP  string    `json:"media_ip"` // address its media ports are reached at
	Load     Load      `json:"load"`
	Draining bool      `json:"draining"`
	Updated  time.Time `json:"updated"`
}

// Selector picks the node for a new room among the live, non-draining nodes (never
// empty). It returns an index into nodes.
type Selector func(nodes []Node) int

// LeastLoaded is the default selector: the node with the fewest participants, then
// the lowest CPU, then the fewest rooms (like LiveKit's load-based choice, with the
// count that best predicts media work first). Nodes above 90 % CPU are avoided while
// another node is below.
func LeastLoaded(nodes []Node) int {
	best := 0
	for i := 1; i < len(nodes); i++ {
		if lessLoaded(nodes[i], nodes[best]) {
			best = i
		}
	}
	return best
}

func lessLoaded(a, b Node) bool {
	ah, bh := a.Load.CPU > 0.9, b.Load.CPU > 0.9
	if ah != bh {
		return !ah
	}
	if a.Load.Participants != b.Load.Participants {
		return a.Load.Participants < b.Load.Participants
	}
	if a.Load.CPU != b.Load.CPU {
		return a.Load.CPU < b.Load.CPU
	}
	if a.Load.Rooms != b.Load.Rooms {
		return a.Load.Rooms < b.Load.Rooms
	}
	return a.ID < b.ID
}

// LowestCPU picks the node with the lowest CPU use (LiveKit's "sysload").
func LowestCPU(nodes []Node) int {
	best := 0
	for i := 1; i < len(nodes); i++ {
		if nodes[i].Load.CPU < nodes[best].Load.CPU || nodes[i].Load.CPU == nodes[best].Load.CPU && nodes[i].ID < nodes[best].ID {
			best = i
		}
	}
	return best
}

// FewestRooms picks the node hosting the fewest rooms.
func FewestRooms(nodes []Node) int {
	best := 0
	for i := 1; i < len(nodes); i++ {
		if nodes[i].Load.Rooms < nodes[best].Load.Rooms || nodes[i].Load.Rooms == nodes[best].Load.Rooms && nodes[i].ID < nodes[best].ID {
			best = i
		}
	}
	return best
}

// SelectorByName returns a named selector: "least_loaded" (default), "cpu", "rooms".
func SelectorByName(name string) (Selector, error) {
	switch name {
	case "", "least_loaded":
		return LeastLoaded, nil
	case "cpu":
		return LowestCPU, nil
	case "rooms":
		return FewestRooms, nil
	}
	return nil, fmt.Errorf("cluster: unknown selector %q (least_loaded, cpu, rooms)", name)
}

// Config configures a Cluster.
type Config struct {
	Node    string // this node's ID (unique in the cluster)
	URL     string // this node's signalling URL
	MediaIP string
	// Prefix starts every key (default "parley:"); tests use one of their own.
	Prefix string
	// LeaseTTL is how long a lease lives without renewal (default 6 s); Heartbeat is
	// how often leases and the registry entry are renewed (default LeaseTTL/3).
	LeaseTTL  time.Duration
	Heartbeat time.Duration
	// StateTTL bounds how long a room's saved state outlives its last change (24 h).
	StateTTL time.Duration
	// OpTimeout bounds every Redis call (default 500 ms).
	OpTimeout time.Duration
	// Selector picks the node for a new room (default LeastLoaded).
	Selector Selector
	// Load reports this node's load for the registry (nil: zero).
	Load func() Load
	// OnLost is called (from the heartbeat goroutine) for a session whose lease
	// another node holds now: this node must give the room up.
	OnLost func(sessionID string)
	// OnReconnect is called when Redis answers again after failing (or first answers):
	// the node should write its rooms' state again, since Redis may have lost it.
	OnReconnect func()
}

// Cluster is one node's view of the cluster. Start begins its heartbeat; Close ends it.
type Cluster struct {
	rdb redis.UniversalClient
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	held     map[string]bool // sessions whose lease this node holds
	draining atomic.Bool
	ready    atomic.Bool
	errors   atomic.Uint64
	moves    atomic.Uint64

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a Cluster on rdb. Call Start to register the node.
func New(rdb redis.UniversalClient, cfg Config, logger *slog.Logger) *Cluster {
	if cfg.Prefix == "" {
		cfg.Prefix = "parley:"
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 6 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.LeaseTTL / 3
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 24 * time.Hour
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 500 * time.Millisecond
	}
	if cfg.Selector == nil {
		cfg.Selector = LeastLoaded
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cluster{rdb: rdb, cfg: cfg, log: logger.With("component", "cluster"), held: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

func (c *Cluster) leaseKey(session string) string { return c.cfg.Prefix + "lease:" + session }
func (c *Cluster) nodeKey(node string) string     { return c.cfg.Prefix + "node:" + node }
func (c *Cluster) stateKey(session string) string { return c.cfg.Prefix + "room:" + session }
func (c *Cluster) nodesKey() string               { return c.cfg.Prefix + "nodes" }

func (c *Cluster) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.OpTimeout)
}

func (c *Cluster) fail(err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		c.errors.Add(1)
	}
	return err
}

// Errors counts failed Redis calls since start (for metrics).
func (c *Cluster) Errors() uint64 { return c.errors.Load() }

// Moves counts sessions this node handed to another (Move) since start.
func (c *Cluster) Moves() uint64 { return c.moves.Load() }

// Ready reports whether the last heartbeat reached Redis: only then does the node take
// new rooms.
func (c *Cluster) Ready() bool { return c.ready.Load() }

// Held returns how many leases the node holds.
func (c *Cluster) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.held)
}

// Start registers the node and runs the heartbeat until Close. A Redis that does not
// answer is not an error: the node starts not ready and keeps trying.
func (c *Cluster) Start(ctx context.Context) {
	c.beat(ctx)
	go func() {
		defer close(c.done)
		tk := time.NewTicker(c.cfg.Heartbeat)
		defer tk.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tk.C:
				c.beat(context.Background())
			}
		}
	}()
}

// StopHeartbeat stops renewing leases and the registry entry without releasing anything, as a crash would
// (tests of failover use it).
func (c *Cluster) StopHeartbeat() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// Close stops the heartbeat and takes the node out of the registry. Leases still held
// are released.
func (c *Cluster) Close(ctx context.Context) {
	c.once.Do(func() { close(c.stop) })
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	c.mu.Lock()
	held := make([]string, 0, len(c.held))
	for s := range c.held {
		held = append(held, s)
	}
	c.mu.Unlock()
	for _, s := range held {
		_ = c.Release(ctx, s, c.cfg.Node)
	}
	octx, cancel := c.op(ctx)
	defer cancel()
	pipe := c.rdb.TxPipeline()
	pipe.Del(octx, c.nodeKey(c.cfg.Node))
	pipe.SRem(octx, c.nodesKey(), c.cfg.Node)
	_, _ = pipe.Exec(octx)
}

// SetDraining marks the node as draining: it is no longer chosen for new rooms and
// claims no session it does not hold.
func (c *Cluster) SetDraining(on bool) {
	c.draining.Store(on)
	c.beat(context.Background())
}

// renewScript renews this node's lease, or takes it back if it vanished (Redis
// restarted), and returns the holder.
var renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1] end
return v`)

// releaseScript deletes the lease if node holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// moveScript hands the lease from ARGV[1] (or nobody) to ARGV[2].
var moveScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return ARGV[2] end
return v`)

// beat renews the registry entry and every held lease.
func (c *Cluster) beat(ctx context.Context) {
	var load Load
	if c.cfg.Load != nil {
		load = c.cfg.Load()
	}
	n := Node{ID: c.cfg.Node, URL: c.cfg.URL, MediaIP: c.cfg.MediaIP, Load: load, Draining: c.draining.Load(), Updated: time.Now()}
	b, _ := json.Marshal(n)
	octx, cancel := c.op(ctx)
	pipe := c.rdb.TxPipeline()
	pipe.Set(octx, c.nodeKey(c.cfg.Node), b, 3*c.cfg.Heartbeat+c.cfg.OpTimeout)
	pipe.SAdd(octx, c.nodesKey(), c.cfg.Node)
	_, err := pipe.Exec(octx)
	cancel()
	if c.fail(err) != nil {
		if c.ready.Swap(false) {
			c.log.Warn("redis unreachable: not taking new rooms; hosted rooms continue", "err", err)
		}
		return
	}
	if !c.ready.Swap(true) {
		c.log.Info("registered in the cluster", "url", c.cfg.URL)
		if c.cfg.OnReconnect != nil {
			c.cfg.OnReconnect() // Redis may have restarted empty: write the rooms' state again
		}
	}
	c.mu.Lock()
	held := make([]string, 0, len(c.held))
	for s := range c.held {
		held = append(held, s)
	}
	c.mu.Unlock()
	if len(held) == 0 {
		return
	}
	octx, cancel = c.op(ctx)
	defer cancel()
	pipe = c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(held))
	for i, s := range held {
		// Eval, not EvalSha: a Redis that restarted has forgotten its scripts, and pipelines do not retry.
		cmds[i] = renewScript.Eval(octx, pipe, []string{c.leaseKey(s)}, c.cfg.Node, c.cfg.LeaseTTL.Milliseconds())
	}
	if _, err := pipe.Exec(octx); c.fail(err) != nil && !errors.Is(err, redis.Nil) {
		c.log.Warn("lease renewal failed", "err", err)
		return
	}
	for i, s := range held {
		holder, err := cmds[i].Text()
		if err != nil || holder == c.cfg.Node {
			continue
		}
		c.mu.Lock()
		delete(c.held, s)
		c.mu.Unlock()
		c.log.Warn("lease lost to another node; giving the room up", "session_id", s, "holder", holder)
		if c.cfg.OnLost != nil {
			c.cfg.OnLost(s)
		}
	}
}

// Claim makes node the host of sessionID unless another node holds its lease; it
// returns the host. A draining node claims nothing new. (signaling.Placement)
func (c *Cluster) Claim(ctx context.Context, sessionID, node string) (string, error) {
	octx, cancel := c.op(ctx)
	defer cancel()
	if c.draining.Load() && node == c.cfg.Node {
		host, err := c.rdb.Get(octx, c.leaseKey(sessionID)).Result()
		if err == nil && host == node {
			c.hold(sessionID)
			return host, nil
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", c.fail(err)
		}
		return "", errors.New("cluster: draining")
	}
	// Take a free lease, or confirm (and renew) our own, in one step.
	host, err := renewScript.Run(octx, c.rdb, []string{c.leaseKey(sessionID)}, node, c.cfg.LeaseTTL.Milliseconds()).Text()
	if c.fail(err) != nil {
		return "", fmt.Errorf("cluster: claim %s: %w", sessionID, err)
	}
	if host != node && node == c.cfg.Node {
		// A lease held by a node that is no longer in the registry (killed) is about to
		// expire; take it over now.
		if _, live, err := c.live(ctx, host); err == nil && !live {
			octx, cancel := c.op(ctx)
			got, err := moveScript.Run(octx, c.rdb, []string{c.leaseKey(sessionID)}, host, node, c.cfg.LeaseTTL.Milliseconds()).Text()
			cancel()
			if c.fail(err) == nil {
				if got == node {
					c.log.Info("took over a session of a lost node", "session_id", sessionID, "from", host)
				}
				host = got
			}
		}
	}
	if host == node && node == c.cfg.Node {
		c.hold(sessionID)
	}
	return host, nil
}

func (c *Cluster) hold(sessionID string) {
	c.mu.Lock()
	c.held[sessionID] = true
	c.mu.Unlock()
}

// Release gives up the lease if node holds it. (signaling.Placement)
func (c *Cluster) Release(ctx context.Context, sessionID, node string) error {
	if node == c.cfg.Node {
		c.mu.Lock()
		delete(c.held, sessionID)
		c.mu.Unlock()
	}
	octx, cancel := c.op(ctx)
	defer cancel()
	if err := c.fail(releaseScript.Run(octx, c.rdb, []string{c.leaseKey(sessionID)}, node).Err()); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cluster: release %s: %w", sessionID, err)
	}
	return nil
}

// Nodes lists the live nodes (their registry entries have not expired), by ID.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	octx, cancel := c.op(ctx)
	defer cancel()
	ids, err := c.rdb.SMembers(octx, c.nodesKey()).Result()
	if c.fail(err) != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sort.Strings(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.nodeKey(id)
	}
	vals, err := c.rdb.MGet(octx, keys...).Result()
	if c.fail(err) != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	var out []Node
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		var n Node
		if json.Unmarshal([]byte(s), &n) == nil {
			out = append(out, n)
		}
	}
	if len(gone) > 0 {
		_ = c.rdb.SRem(octx, c.nodesKey(), gone...).Err()
	}
	return out, nil
}

func (c *Cluster) node(ctx context.Context, id string) (Node, bool, error) {
	octx, cancel := c.op(ctx)
	defer cancel()
	s, err := c.rdb.Get(octx, c.nodeKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if c.fail(err) != nil {
		return Node{}, false, err
	}
	var n Node
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return Node{}, false, err
	}
	return n, true, nil
}

// gone reports whether a node that the registry still lists has certainly stopped: its signalling address
// refuses connections (the machine is up, the process is not). A node killed a moment ago is thus replaced
// at once rather than after its registry entry expires. Behind a proxy the dial reaches the proxy, so only
// the expiry tells; a timeout or any other error says nothing either (it could be the network).
func (c *Cluster) gone(ctx context.Context, n Node) bool {
	u, err := url.Parse(n.URL)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Host
	if u.Port() == "" {
		switch u.Scheme {
		case "wss", "https":
			host = net.JoinHostPort(u.Hostname(), "443")
		default:
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", host)
	if err == nil {
		conn.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// live reports whether node id is in the registry and reachable.
func (c *Cluster) live(ctx context.Context, id string) (Node, bool, error) {
	n, ok, err := c.node(ctx, id)
	if err != nil || !ok {
		return n, ok, err
	}
	if id != c.cfg.Node && c.gone(ctx, n) {
		c.log.Info("node in the registry refuses connections: treating it as lost", "lost", id)
		return n, false, nil
	}
	return n, true, nil
}

// NodeURL returns a live node's signalling URL. (signaling.NodeDirectory)
func (c *Cluster) NodeURL(ctx context.Context, node string) (string, error) {
	if node == c.cfg.Node {
		return c.cfg.URL, nil
	}
	n, ok, err := c.node(ctx, node)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("cluster: node %s is not live", node)
	}
	return n.URL, nil
}

// pick chooses a live node that is not draining (and not except) with the selector.
func (c *Cluster) pick(ctx context.Context, except string) (Node, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	var cands []Node
	for _, n := range nodes {
		if !n.Draining && n.ID != except {
			cands = append(cands, n)
		}
	}
	for len(cands) > 0 {
		i := c.cfg.Selector(cands)
		if cands[i].ID == c.cfg.Node || !c.gone(ctx, cands[i]) {
			return cands[i], nil
		}
		cands = append(cands[:i], cands[i+1:]...)
	}
	return Node{}, ErrNoNode
}

// ErrNoNode means no live node can take a room.
var ErrNoNode = errors.New("cluster: no live node can take the room")

// Locate returns the node that hosts sessionID or, if none does (a new room, or its
// node was lost), reserves the session for the node the selector picks and returns it.
// The reservation is a lease the chosen node confirms when the first client arrives;
// if nobody comes it expires after LeaseTTL.
func (c *Cluster) Locate(ctx context.Context, sessionID string) (Node, error) {
	for attempt := 0; attempt < 3; attempt++ {
		octx, cancel := c.op(ctx)
		host, err := c.rdb.Get(octx, c.leaseKey(sessionID)).Result()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Node{}, fmt.Errorf("cluster: locate %s: %w", sessionID, c.fail(err))
		}
		if err == nil {
			if n, ok, err := c.live(ctx, host); err == nil && ok {
				return n, nil
			}
			// The holder is not live (killed): its lease is about to expire. Reserve
			// for a survivor now rather than make the client wait for the expiry.
			n, err := c.pick(ctx, host)
			if err != nil {
				return Node{}, err
			}
			octx, cancel := c.op(ctx)
			got, err := moveScript.Run(octx, c.rdb, []string{c.leaseKey(sessionID)}, host, n.ID, c.cfg.LeaseTTL.Milliseconds()).Text()
			cancel()
			if c.fail(err) != nil {
				return Node{}, fmt.Errorf("cluster: locate %s: %w", sessionID, err)
			}
			if got == n.ID {
				c.log.Info("session moved off a lost node", "session_id", sessionID, "from", host, "to", n.ID)
				return n, nil
			}
			continue
		}
		n, found := c.savedHost(ctx, sessionID)
		if !found {
			if n, err = c.pick(ctx, ""); err != nil {
				return Node{}, err
			}
		}
		octx, cancel = c.op(ctx)
		ok, err := c.rdb.SetNX(octx, c.leaseKey(sessionID), n.ID, c.cfg.LeaseTTL).Result()
		cancel()
		if c.fail(err) != nil {
			return Node{}, fmt.Errorf("cluster: locate %s: %w", sessionID, err)
		}
		if ok {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("cluster: locate %s: the lease keeps changing", sessionID)
}

// savedHost returns the node that last saved the session's room state, if it is live and not draining: a
// lease can vanish while its room lives on (Redis restarted), and the room should stay where it is.
func (c *Cluster) savedHost(ctx context.Context, sessionID string) (Node, bool) {
	b, err := c.Load(ctx, sessionID)
	if err != nil || b == nil {
		return Node{}, false
	}
	var st struct {
		Node string `json:"node"`
	}
	if json.Unmarshal(b, &st) != nil || st.Node == "" {
		return Node{}, false
	}
	n, ok, err := c.node(ctx, st.Node)
	if err != nil || !ok || n.Draining {
		return Node{}, false
	}
	return n, true
}

// Move hands sessionID from node from to the node the selector picks among the others,
// and returns it. (signaling.Mover)
func (c *Cluster) Move(ctx context.Context, sessionID, from string) (string, error) {
	n, err := c.pick(ctx, from)
	if err != nil {
		return "", err
	}
	octx, cancel := c.op(ctx)
	defer cancel()
	got, err := moveScript.Run(octx, c.rdb, []string{c.leaseKey(sessionID)}, from, n.ID, c.cfg.LeaseTTL.Milliseconds()).Text()
	if c.fail(err) != nil {
		return "", fmt.Errorf("cluster: move %s: %w", sessionID, err)
	}
	if from == c.cfg.Node {
		c.mu.Lock()
		delete(c.held, sessionID)
		c.mu.Unlock()
	}
	if got == n.ID {
		c.moves.Add(1)
	}
	return got, nil
}

// Save stores a room's state. (signaling.RoomState)
func (c *Cluster) Save(ctx context.Context, sessionID string, state []byte) error {
	octx, cancel := c.op(ctx)
	defer cancel()
	return c.fail(c.rdb.Set(octx, c.stateKey(sessionID), state, c.cfg.StateTTL).Err())
}

// Load returns a room's saved state, or nil. (signaling.RoomState)
func (c *Cluster) Load(ctx context.Context, sessionID string) ([]byte, error) {
	octx, cancel := c.op(ctx)
	defer cancel()
	b, err := c.rdb.Get(octx, c.stateKey(sessionID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, c.fail(err)
}

// Delete forgets a room's state (its session ended). (signaling.RoomState)
func (c *Cluster) Delete(ctx context.Context, sessionID string) error {
	octx, cancel := c.op(ctx)
	defer cancel()
	return c.fail(c.rdb.Del(octx, c.stateKey(sessionID)).Err())
}
