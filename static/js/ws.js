// One WebSocket per page to the exchange's /ws, the same streams bots use (docs/api.md,
// section 8). The server tells the page where it is (<meta name="ws-url">); a logged-in page's
// session cookie makes the private `orders` and `balances` streams its user's.
//
// A component calls subscribe(names, onMessage, onLive): onMessage gets each message's data;
// onLive runs every time those streams are confirmed on a connection (the first time and after
// every reconnect), which is when the component takes its REST snapshot: subscribe first, then
// read, so nothing published in between is lost (the depth stream's U/u rule, or a re-read of
// private state). The connection reconnects with capped, jittered exponential backoff, and an
// application-level PING finds connections that died silently.

const BACKOFF_MS = 500;
const BACKOFF_MAX_MS = 15000;
const HEARTBEAT_MS = 20000;
const HEARTBEAT_TIMEOUT_MS = 10000;
const PRIVATE = new Set(["orders", "balances"]);

class Streams {
  constructor(url) {
    this.url = url;
    this.subs = new Map(); // stream name -> Set of {onMessage, onLive}
    this.live = new Set(); // names confirmed on the current connection
    this.requested = new Set(); // names asked for on the current connection
    this.replies = new Map(); // request id -> {resolve, reject}
    this.nextId = 1;
    this.attempt = 0;
    this.state = "connecting";
    this.ws = null;
    this.flushQueued = false;
    this.heartbeat = null;
    this.connect();
  }

  // --- public ---------------------------------------------------------------------------------

  subscribe(names, onMessage, onLive = null) {
    const entry = { onMessage, onLive, names };
    for (const name of names) {
      if (!this.subs.has(name)) this.subs.set(name, new Set());
      this.subs.get(name).add(entry);
    }
    if (names.every((n) => this.live.has(n))) {
      if (onLive) queueMicrotask(() => onLive());
    } else {
      this.queueFlush();
    }
    return entry;
  }

  unsubscribe(entry) {
    const gone = [];
    for (const name of entry.names) {
      const set = this.subs.get(name);
      if (!set) continue;
      set.delete(entry);
      if (set.size === 0) {
        this.subs.delete(name);
        gone.push(name);
      }
    }
    if (gone.length && this.isOpen()) {
      for (const name of gone) {
        this.live.delete(name);
        this.requested.delete(name);
      }
      this.request("UNSUBSCRIBE", gone).catch(() => {});
    }
  }

  // --- connection -----------------------------------------------------------------------------

  isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    window.dispatchEvent(new CustomEvent("ws-state", { detail: state }));
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.startHeartbeat();
      this.queueFlush();
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = () => this.lost(ws);
    ws.onerror = () => {}; // a close event follows
  }

  // The connection is gone (closed by the server, the network, or a missed heartbeat).
  lost(ws) {
    if (ws !== this.ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close();
    } catch {
      // already closed
    }
    this.ws = null;
    this.live.clear();
    this.requested.clear();
    clearInterval(this.heartbeat);
    for (const { reject } of this.replies.values()) reject(new Error("connection lost"));
    this.replies.clear();
    this.retry();
  }

  retry() {
    this.setState("reconnecting");
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), base * (0.75 + Math.random() * 0.5));
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    const ws = this.ws;
    this.heartbeat = setInterval(() => {
      const timer = setTimeout(() => this.lost(ws), HEARTBEAT_TIMEOUT_MS);
      this.request("PING", undefined)
        .then(() => clearTimeout(timer))
        .catch(() => clearTimeout(timer));
    }, HEARTBEAT_MS);
  }

  // --- frames ---------------------------------------------------------------------------------

  request(method, params) {
    const id = this.nextId++;
    const frame = params === undefined ? { method, id } : { method, params, id };
    return new Promise((resolve, reject) => {
      if (!this.isOpen()) {
        reject(new Error("not connected"));
        return;
      }
      this.replies.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(frame));
    });
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m.stream !== undefined) {
        for (const entry of this.subs.get(m.stream) || []) {
          try {
            entry.onMessage(m.data, m.stream);
          } catch (err) {
            console.error(err);
          }
        }
      } else if (m.id !== undefined && this.replies.has(m.id)) {
        const { resolve, reject } = this.replies.get(m.id);
        this.replies.delete(m.id);
        if (m.error) reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else resolve(m.result);
      }
    }
  }

  queueFlush() {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  // Subscribe to every wanted stream not yet asked for on this connection: public streams in
  // one frame, private ones in another (a frame is all or nothing).
  flush() {
    if (!this.isOpen()) return;
    const wanted = [...this.subs.keys()].filter((n) => !this.requested.has(n));
    if (!wanted.length) {
      if (this.subs.size === 0 || [...this.subs.keys()].every((n) => this.live.has(n))) this.setState("live");
      return;
    }
    const groups = [wanted.filter((n) => !PRIVATE.has(n)), wanted.filter((n) => PRIVATE.has(n))];
    const ws = this.ws;
    for (const names of groups) {
      if (!names.length) continue;
      for (const n of names) this.requested.add(n);
      this.request("SUBSCRIBE", names).then(
        () => {
          if (ws !== this.ws) return;
          for (const n of names) this.live.add(n);
          this.setState("live");
          this.notifyLive(names);
        },
        (err) => {
          if (ws !== this.ws) return;
          console.warn(`SUBSCRIBE ${names.join(", ")} refused: ${err.message}`);
          if (err.code === "too_many_requests") {
            for (const n of names) this.requested.delete(n);
            setTimeout(() => this.queueFlush(), 1000);
          }
        },
      );
    }
  }

  notifyLive(names) {
    const done = new Set();
    for (const name of names) {
      for (const entry of this.subs.get(name) || []) {
        if (done.has(entry) || !entry.onLive) continue;
        if (entry.names.every((n) => this.live.has(n))) {
          done.add(entry);
          try {
            entry.onLive();
          } catch (err) {
            console.error(err);
          }
        }
      }
    }
  }
}

function wsUrl() {
  return document.querySelector('meta[name="ws-url"]')?.content || `ws://${window.location.hostname}:${Number(window.location.port || 80) + 1}/ws`;
}

export const streams = new Streams(wsUrl());
window.exchangeStreams = streams; // for the browser console
