package signaling

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// conn is one WebSocket: a reader (the Accept goroutine) and exactly one writer
// goroutine fed by a bounded queue. A client too slow to drain its queue is cut off
// rather than allowed to stall the room.
type conn struct {
	ws      *websocket.Conn
	log     *slog.Logger
	out     chan []byte
	done    chan struct{}
	flushed chan struct{}
	once    sync.Once
	limiter *rate.Limiter
	// closing is closed once a close frame has been queued, closeSent once it has
	// been written (or the writer gave up).
	closing     chan struct{}
	closeSent   chan struct{}
	closingOnce sync.Once
	// Read-loop state (only the reading goroutine touches these):
	refused     int       // messages answered with an error, for the join phase rule
	strikes     int       // rate_limited refusals in the current abuse window
	strikeStart time.Time // start of that window
}

// Abuse rule (docs/signaling.md §3): a connection that has more than
// abuseFactor×MessageBurst messages (300 by default) refused as rate_limited within
// abuseWindow is closed with 1008.
const (
	abuseWindow = 10 * time.Second
	abuseFactor = 5
)

const sendQueue = 512

func newConn(ws *websocket.Conn, cfg Config, log *slog.Logger) *conn {
	ws.SetReadLimit(int64(cfg.MaxMessageBytes) * 4) // hard cap: above it the socket closes (1009)
	return &conn{
		ws: ws, log: log,
		out:     make(chan []byte, sendQueue),
		done:    make(chan struct{}),
		flushed: make(chan struct{}),
		closing: make(chan struct{}), closeSent: make(chan struct{}),
		limiter: rate.NewLimiter(rate.Limit(cfg.MessageRate), cfg.MessageBurst),
	}
}

// send queues a message; it never blocks. It reports false if the connection is closed
// or its queue is full (then the connection is closed).
func (c *conn) send(b []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- b:
		return true
	default:
		c.log.Warn("send queue full; closing connection")
		c.close()
		return false
	}
}

// closeAfterFlush writes what is queued, then a close frame, then closes.
func (c *conn) closeAfterFlush(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	c.closingOnce.Do(func() { close(c.closing) })
	select {
	case c.out <- append([]byte{0}, msg...): // a leading 0 byte marks the close frame
	default:
		c.close()
	}
}

// waitCloseFrame waits (at most a second) for a queued close frame to be written, so
// that a connection the server ends on purpose ends with a close frame, not a reset.
func (c *conn) waitCloseFrame() {
	select {
	case <-c.closing:
	default:
		return
	}
	select {
	case <-c.closeSent:
	case <-c.flushed:
		return
	case <-time.After(time.Second):
		return
	}
	// Read (and discard) what the peer still sends until its close frame answers ours, at
	// most a second: closing a socket with unread data makes the kernel send a reset, and
	// the peer would lose the close frame and the replies before it. The caller's read loop
	// has ended, so this is the only reader.
	_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

// close closes the socket at once.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// writeLoop is the only writer of the socket. It sends a protocol-level ping every
// interval. It exits when the connection closes.
func (c *conn) writeLoop(interval time.Duration) {
	defer close(c.flushed)
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if len(b) > 0 && b[0] == 0 {
				_ = c.ws.WriteMessage(websocket.CloseMessage, b[1:])
				select {
				case <-c.closeSent:
				default:
					close(c.closeSent)
				}
				time.AfterFunc(time.Second, c.close) // let the peer answer the close
				continue
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-tk.C:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage,
				encode(TypePing, "", PingData{TS: time.Now().UnixMilli()})); err != nil {
				c.close()
				return
			}
		}
	}
}

// errFatal ends the read loop.
var errFatal = errors.New("signaling: connection closed")

// errRefused means read answered a message with an error; the connection goes on.
var errRefused = errors.New("signaling: message refused")

// read returns the next client message. Recoverable problems (too large, rate limited,
// undecodable, unknown type) are answered with an error message here and read returns
// errRefused; errFatal means the connection is finished. A text frame that is not
// UTF-8 (RFC 6455 §8.1) and persistent rate abuse end the connection with a close frame
// (1007 and 1008).
func (c *conn) read(cfg Config) (Request, error) {
	refuse := func(ref string, e *Error) (Request, error) {
		c.refused++
		c.send(encode(TypeError, ref, e))
		return Request{}, errRefused
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(3 * cfg.HeartbeatInterval))
	mt, r, err := c.ws.NextReader()
	if err != nil {
		return Request{}, errFatal
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(cfg.MaxMessageBytes)+1))
	if err != nil {
		return Request{}, errFatal
	}
	if !c.limiter.Allow() {
		now := time.Now()
		if now.Sub(c.strikeStart) > abuseWindow {
			c.strikeStart, c.strikes = now, 0
		}
		c.strikes++
		if c.strikes > abuseFactor*cfg.MessageBurst {
			c.log.Warn("rate limit exceeded persistently; closing", "refused", c.strikes, "window", abuseWindow)
			c.send(encode(TypeError, "", errorf(CodeRateLimited, "more than %d messages refused within %s: closing", abuseFactor*cfg.MessageBurst, abuseWindow)))
			c.closeAfterFlush(websocket.ClosePolicyViolation, "rate limit")
			return Request{}, errFatal
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return Request{}, errFatal
		}
		return refuse("", errorf(CodeRateLimited, "more than %.0f messages per second", cfg.MessageRate))
	}
	if len(data) > cfg.MaxMessageBytes {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return Request{}, errFatal // above the hard cap: gorilla closed the socket
		}
		return refuse("", errorf(CodeTooLarge, "message larger than %d bytes", cfg.MaxMessageBytes))
	}
	if mt != websocket.TextMessage {
		return refuse("", errorf(CodeBadMessage, "binary messages are not part of the protocol"))
	}
	if !utf8.Valid(data) {
		c.refused++
		c.send(encode(TypeError, "", errorf(CodeBadMessage, "a text frame must be UTF-8: closing")))
		c.closeAfterFlush(websocket.CloseInvalidFramePayloadData, "invalid UTF-8")
		return Request{}, errFatal
	}
	req, e := DecodeRequest(data)
	if e != nil {
		return refuse(req.ID, e)
	}
	return req, nil
}
