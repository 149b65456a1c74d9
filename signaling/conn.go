package signaling

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

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
	strikes int
}

const sendQueue = 512

func newConn(ws *websocket.Conn, cfg Config, log *slog.Logger) *conn {
	ws.SetReadLimit(int64(cfg.MaxMessageBytes) * 4) // hard cap: above it the socket closes (1009)
	return &conn{
		ws: ws, log: log,
		out:     make(chan []byte, sendQueue),
		done:    make(chan struct{}),
		flushed: make(chan struct{}),
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
	select {
	case c.out <- append([]byte{0}, msg...): // a leading 0 byte marks the close frame
	default:
		c.close()
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

// read returns the next client message. Recoverable problems (too large, rate limited,
// undecodable, unknown type) are answered with an error message here and read goes on;
// it returns an error only when the connection is finished.
func (c *conn) read(cfg Config) (Request, error) {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(3 * cfg.HeartbeatInterval))
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return Request{}, errFatal
		}
		data, err := io.ReadAll(io.LimitReader(r, int64(cfg.MaxMessageBytes)+1))
		if err != nil {
			return Request{}, errFatal
		}
		if len(data) > cfg.MaxMessageBytes {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return Request{}, errFatal // above the hard cap: gorilla closed the socket
			}
			c.send(encode(TypeError, "", errorf(CodeTooLarge, "message larger than %d bytes", cfg.MaxMessageBytes)))
			continue
		}
		if !c.limiter.Allow() {
			c.strikes++
			if c.strikes > 10*cfg.MessageBurst {
				c.log.Warn("rate limit exceeded persistently; closing")
				return Request{}, errFatal
			}
			c.send(encode(TypeError, "", errorf(CodeRateLimited, "more than %.0f messages per second", cfg.MessageRate)))
			continue
		}
		if mt != websocket.TextMessage {
			c.send(encode(TypeError, "", errorf(CodeBadMessage, "binary messages are not part of the protocol")))
			continue
		}
		req, e := DecodeRequest(data)
		if e != nil {
			c.send(encode(TypeError, req.ID, e))
			continue
		}
		return req, nil
	}
}
