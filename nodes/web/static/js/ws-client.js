// The one WebSocket client both pages use to talk to the VJ server's `browser` node (WIRE.md 3).
//
// What it guarantees (CONNECTIVITY.md, "Admin Panel (Browser to VJ Server)"):
// - reconnects after a drop with a delay of base × multiplier^(n-1), capped, for at most
//   `maxAttempts` attempts; after that it stops in state "failed" until `reconnectNow()`;
// - sends {"type":"ping"} every `pingMs` and drops the socket when no pong has arrived for
//   `pongTimeoutMs`, then reconnects on the same schedule;
// - answers the server's {"type":"ping"} at once (the old preview did not, and was cut off
//   every 30-45 s: WIRE.md 11.4);
// - while not connected, queues outgoing messages (at most `queueMax`, oldest evicted first)
//   and sends them in order right after the next successful open.
//
// It knows nothing about the UI: pages listen with `on(type, fn)` and `on('status', fn)`.

const now = () => performance.now();

// How much history the debug view keeps (enough for several full reconnect schedules).
const HISTORY = 200;

export class McavClient {
  /**
   * @param {string} url  ws:// URL of the browser node
   * @param {object} options  see config.js REQUIRED
   * @param {{hello?: () => object[]}} hooks  `hello` returns messages to send first on every open
   *        (e.g. the operator login), before the queued ones
   */
  constructor(url, options, hooks = {}) {
    this.url = url;
    this.options = { ...options };
    this.hooks = hooks;
    this.state = 'idle'; // idle | connecting | open | waiting | failed | stopped
    this.ws = null;
    this.queue = [];
    this.listeners = new Map();
    this.timers = { retry: null, ping: null, watchdog: null, connect: null, flush: null };
    this.failures = 0; // reconnect attempts since the last good connection
    this.nextAttemptAt = null;
    this.gotMessageSinceOpen = false;
    this.stats = {
      connects: 0, evicted: 0, sent: 0, received: 0, badMessages: 0,
      pingsSent: 0, pongsReceived: 0, serverPings: 0, pongTimeouts: 0, connectTimeouts: 0,
    };
    this.attempts = []; // {n, delay, scheduledAt, startedAt}
    this.closes = []; // {at, code, reason, wasOpen}
    this.opens = []; // timestamps of successful opens
    this.lastPongAt = null;
  }

  // ---------------------------------------------------------------- public API

  /** Subscribe to a message type ('*' = every message, 'status' = connection changes). */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  start() {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this._open();
  }

  /** The "Reconnect" button: a fresh schedule, starting now. */
  reconnectNow() {
    this._clearTimers();
    this._dropSocket(1000, 'manual reconnect');
    this.failures = 0;
    this._open();
  }

  stop() {
    this._clearTimers();
    this._dropSocket(1000, 'page closed');
    this._setState('stopped');
  }

  /**
   * Send a message now, or queue it while disconnected.
   * @returns {'sent'|'queued'}
   */
  send(message) {
    // While a paced flush is still going, new messages queue behind it to keep the order.
    if (this.state === 'open' && this.ws && this.ws.readyState === WebSocket.OPEN && !this.queue.length) {
      this._write(message);
      return 'sent';
    }
    this.queue.push(message);
    // FIFO eviction: the newest command is what the operator wants most.
    while (this.queue.length > this.options.queueMax) {
      this.queue.shift();
      this.stats.evicted += 1;
    }
    this._emit('status', this.status());
    return 'queued';
  }

  status() {
    return {
      state: this.state,
      attempt: this.failures,
      maxAttempts: this.options.maxAttempts,
      nextAttemptAt: this.nextAttemptAt,
      queueLength: this.queue.length,
      evicted: this.stats.evicted,
    };
  }

  /**
   * A read-only view for tests and for people debugging a show from the console
   * (`window.mcavClient`). Getters return copies, so nothing outside can change the client.
   */
  debugView() {
    const c = this;
    return Object.freeze({
      get state() { return c.state; },
      get url() { return c.url; },
      get options() { return { ...c.options }; },
      get queueLength() { return c.queue.length; },
      get queued() { return c.queue.map((m) => ({ ...m })); },
      get failures() { return c.failures; },
      get nextAttemptAt() { return c.nextAttemptAt; },
      get attempts() { return c.attempts.map((a) => ({ ...a })); },
      get closes() { return c.closes.map((a) => ({ ...a })); },
      get opens() { return [...c.opens]; },
      get lastPongAt() { return c.lastPongAt; },
      get stats() { return { ...c.stats }; },
      now,
    });
  }

  // ---------------------------------------------------------------- internals

  _emit(type, payload) {
    for (const key of [type, '*']) {
      if (key === '*' && type === 'status') continue;
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(payload);
        } catch (err) {
          // A broken UI component must not take the connection down with it.
          console.warn(`mcav: listener for "${type}" failed:`, err);
        }
      }
    }
  }

  _setState(state) {
    this.state = state;
    if (state !== 'waiting') this.nextAttemptAt = null;
    this._emit('status', this.status());
  }

  _write(message) {
    this.ws.send(JSON.stringify(message));
    this.stats.sent += 1;
  }

  _open() {
    this._setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      // Only a malformed URL throws here; retrying cannot help, so show it and stop.
      this._setState('failed');
      this._emit('client_error', { message: `Cannot open ${this.url}: ${err.message}` });
      return;
    }
    this.ws = ws;
    this.gotMessageSinceOpen = false;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (ev) => this._onMessage(ws, ev);
    // 'error' is always followed by 'close'; the close handler does the work.
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason);
    this.timers.connect = setTimeout(() => {
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) {
        this.stats.connectTimeouts += 1;
        this._abandon(ws, 'connect timeout');
      }
    }, this.options.connectTimeoutMs);
  }

  _onOpen(ws) {
    if (ws !== this.ws) return;
    clearTimeout(this.timers.connect);
    this.stats.connects += 1;
    this.opens.push(now());
    if (this.opens.length > HISTORY) this.opens.shift();
    this._setState('open');
    this.lastPongAt = now();
    this._armWatchdog();
    this.timers.ping = setInterval(() => {
      if (this.ws === ws && ws.readyState === WebSocket.OPEN) {
        this._write({ type: 'ping' });
        this.stats.pingsSent += 1;
      }
    }, this.options.pingMs);
    const hello = this.hooks.hello ? this.hooks.hello() : [];
    for (const m of hello) this._write(m);
    this._flush(ws);
    this._emit('open', {});
  }

  /** Send the queue in order, at most `flushPerSecond` a second (a burst of that many first). */
  _flush(ws) {
    const rate = this.options.flushPerSecond;
    let budget = Number.isFinite(rate) ? Math.max(1, Math.floor(rate)) : Infinity;
    const step = () => {
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return; // the rest waits for the next open
      while (this.queue.length && budget > 0) {
        this._write(this.queue.shift());
        budget -= 1;
      }
      if (this.queue.length) {
        budget = 1;
        this.timers.flush = setTimeout(step, 1000 / rate);
      }
      this._emit('status', this.status());
    };
    step();
  }

  _onMessage(ws, ev) {
    if (ws !== this.ws) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      this.stats.badMessages += 1;
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
      this.stats.badMessages += 1;
      return;
    }
    this.stats.received += 1;
    if (!this.gotMessageSinceOpen) {
      // The backoff resets on the first real message, not on open: a server that accepts and
      // immediately closes must not make us retry at the base delay forever.
      this.gotMessageSinceOpen = true;
      this.failures = 0;
    }
    if (msg.type === 'ping') {
      this.stats.serverPings += 1;
      this._write({ type: 'pong' });
      this._sawLife();
    } else if (msg.type === 'pong') {
      this.stats.pongsReceived += 1;
      this._sawLife();
    }
    this._emit(msg.type, msg);
  }

  /** A pong (or the server's own ping) proves the link is alive: restart the pong timeout. */
  _sawLife() {
    this.lastPongAt = now();
    this._armWatchdog();
  }

  _armWatchdog() {
    clearTimeout(this.timers.watchdog);
    const ws = this.ws;
    this.timers.watchdog = setTimeout(() => {
      if (this.ws === ws && this.state === 'open') {
        this.stats.pongTimeouts += 1;
        this._abandon(ws, 'pong timeout');
      }
    }, this.options.pongTimeoutMs);
  }

  /** Give up on a socket that no longer answers: its close event may take minutes to come. */
  _abandon(ws, reason) {
    this._dropSocket(4000, reason);
    this._onClose(ws, 4000, reason, true);
  }

  _dropSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    } catch {
      /* already closing */
    }
  }

  _onClose(ws, code, reason, forced = false) {
    if (ws !== this.ws && !forced) return;
    const wasOpen = this.state === 'open';
    this.ws = null;
    this._clearTimers();
    this.closes.push({ at: now(), code, reason: reason || '', wasOpen });
    if (this.closes.length > HISTORY) this.closes.shift();
    this._emit('close', { code, reason, wasOpen });
    if (this.state === 'stopped') return;
    if (this.failures >= this.options.maxAttempts) {
      this._setState('failed');
      return;
    }
    const { reconnectBaseMs, reconnectMultiplier, reconnectMaxMs } = this.options;
    // Whole milliseconds: that is what setTimeout honours anyway.
    const delay = Math.round(Math.min(reconnectBaseMs * reconnectMultiplier ** this.failures, reconnectMaxMs));
    this.failures += 1;
    const attempt = { n: this.failures, delay, scheduledAt: now(), startedAt: null };
    this.attempts.push(attempt);
    if (this.attempts.length > HISTORY) this.attempts.shift();
    this.nextAttemptAt = attempt.scheduledAt + delay;
    this.state = 'waiting';
    this._emit('status', this.status());
    this.timers.retry = setTimeout(() => {
      attempt.startedAt = now();
      this._open();
    }, delay);
  }

  _clearTimers() {
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.watchdog);
    clearTimeout(this.timers.connect);
    clearTimeout(this.timers.flush);
  }
}
