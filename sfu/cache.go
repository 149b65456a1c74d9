package sfu

import (
	"sync"
	"sync/atomic"
)

// packetCache keeps the last cacheSlots packets of one received video layer, keyed by
// the publisher's sequence number, so that every subscriber's NACK is answered from one
// copy (Pion's NACK responder kept a copy per subscriber, made on every forwarded
// packet). The layer's read loop is the only writer; NACK handlers read.
//
// Its memory (cacheSlots × cacheSlotSize) is allocated at the first packet, and never
// again: storing a packet is a copy under an uncontended lock.
type packetCache struct {
	mu    sync.Mutex
	buf   []byte // cacheSlots × cacheSlotSize
	slots []cacheSlot
	epoch atomic.Uint32 // bumped when the layer's sequence numbers restart (new receiver)
}

type cacheSlot struct {
	seq    uint16
	valid  bool
	marker bool
	n      uint16 // payload length
	ts     uint32
	epoch  uint32
}

const (
	cacheSlots    = 512 // ~2 s of a 2.5 Mbit/s layer, ~10 s at 500 kbit/s
	cacheSlotSize = 1500
)

// put stores a packet's payload (too large ones are not cached).
func (c *packetCache) put(seq uint16, ts uint32, marker bool, payload []byte) {
	if len(payload) > cacheSlotSize {
		return
	}
	c.mu.Lock()
	if c.buf == nil {
		c.buf = make([]byte, cacheSlots*cacheSlotSize)
		c.slots = make([]cacheSlot, cacheSlots)
	}
	i := int(seq) % cacheSlots
	copy(c.buf[i*cacheSlotSize:], payload)
	c.slots[i] = cacheSlot{seq: seq, valid: true, marker: marker, n: uint16(len(payload)), ts: ts, epoch: c.epoch.Load()}
	c.mu.Unlock()
}

// get copies the payload of packet seq of epoch into dst; ok is false when it is gone.
func (c *packetCache) get(epoch uint32, seq uint16, dst []byte) (n int, ts uint32, marker, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		return 0, 0, false, false
	}
	i := int(seq) % cacheSlots
	s := c.slots[i]
	if !s.valid || s.seq != seq || s.epoch != epoch {
		return 0, 0, false, false
	}
	n = copy(dst, c.buf[i*cacheSlotSize:i*cacheSlotSize+int(s.n)])
	return n, s.ts, s.marker, true
}

// reset starts a new epoch: packets stored before can no longer be found.
func (c *packetCache) reset() uint32 { return c.epoch.Add(1) }
