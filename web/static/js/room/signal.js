// The signalling WebSocket of docs/signaling.md: one JSON envelope per text frame, requests with an id whose
// reply carries it as ref, server pings answered, and silence noticed (the server pings every 10 s, so 25 s
// without a message means the connection is gone even when the socket has not said so).

export class SignalError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

const SILENCE_MS = 25000;

export class Signal {
  // onMessage(env) receives every message that is not the reply to a request; onClose(reason) is called once
  // when the connection ends for any reason but close().
  constructor(url, { onMessage, onClose }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.pending = new Map();
    this.seq = 0;
    this.ws = null;
    this.closed = false;
    this.lastHeard = 0;
    this.watchdog = 0;
  }

  // open connects; it resolves once the socket is open and rejects if it cannot be opened within 10 s.
  open() {
    return new Promise((resolve, reject) => {
      let settled = false;
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        reject(new SignalError('network', e.message));
        return;
      }
      this.ws = ws;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.close();
        reject(new SignalError('network', 'timeout'));
      }, 10000);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.lastHeard = Date.now();
        this.watchdog = setInterval(() => {
          if (Date.now() - this.lastHeard > SILENCE_MS) this.drop('silent');
        }, 5000);
        resolve();
      };
      ws.onerror = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new SignalError('network', 'websocket error'));
      };
      ws.onclose = (ev) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new SignalError('network', `closed ${ev.code}`));
          return;
        }
        this.finish(`closed ${ev.code}`);
      };
      ws.onmessage = (ev) => this.receive(ev.data);
    });
  }

  receive(text) {
    this.lastHeard = Date.now();
    let env;
    try {
      env = JSON.parse(text);
    } catch {
      console.warn('signal: not JSON', text);
      return;
    }
    if (!env || typeof env.type !== 'string') return;
    if (env.type === 'ping') {
      this.send('pong', env.data || {});
      return;
    }
    const p = env.ref ? this.pending.get(env.ref) : null;
    if (p) {
      this.pending.delete(env.ref);
      clearTimeout(p.timer);
      if (env.type === 'error') {
        const err = new SignalError(env.data?.code || 'internal', env.data?.message);
        err.data = env.data || {}; // wrong_node carries the host's url
        p.reject(err);
      }
      else p.resolve(env);
    }
    // Replies that carry state (joined, waiting, answer) also go to the listener, in order with the rest.
    if (!p || env.type === 'joined' || env.type === 'waiting' || env.type === 'error') this.onMessage(env);
  }

  // send writes one message; it reports whether the socket took it.
  send(type, data, id) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const env = { type };
    if (id) env.id = id;
    if (data !== undefined) env.data = data;
    this.ws.send(JSON.stringify(env));
    return true;
  }

  // request sends a message with an id and resolves with the reply envelope (rejects with SignalError).
  request(type, data, timeoutMs = 15000) {
    const id = String(++this.seq);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError('timeout', `${type}: no reply`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send(type, data, id)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new SignalError('network', 'not connected'));
      }
    });
  }

  // drop ends the connection as a network failure would (the listener hears onClose).
  drop(reason) {
    if (this.ws) {
      try {
        this.ws.close();
      } catch {
        // already closed
      }
    }
    this.finish(reason);
  }

  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SignalError('network', reason));
    }
    this.pending.clear();
    if (this.onClose) this.onClose(reason);
  }

  // close ends the connection on purpose: no onClose.
  close() {
    this.onClose = null;
    this.drop('closed');
  }
}
