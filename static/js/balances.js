// The logged-in user's balances: first from the page, then the private `balances` stream
// (absolute values after every movement). After each (re)subscription the page re-reads
// GET /user/balances; messages that arrive during that read are applied after it, and the read
// is repeated once things are quiet if any did (a read may be older than a message).
import { api } from "./api.js";
import { streams } from "./ws.js";

export class Balances {
  constructor(initial) {
    this.map = new Map();
    this.listeners = new Set();
    this.buffer = null;
    this.reading = 0;
    if (initial) this.replace(initial);
  }

  get(asset) {
    return this.map.get(asset) || null;
  }

  all() {
    return [...this.map.values()];
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  changed(reason) {
    for (const fn of this.listeners) fn(reason);
  }

  replace(list) {
    this.map = new Map(list.map((b) => [b.asset, { asset: b.asset, available: b.available, locked: b.locked }]));
  }

  follow() {
    streams.subscribe(["balances"], (m) => this.onMessage(m), () => this.read());
  }

  onMessage(m) {
    if (this.buffer) this.buffer.push(m);
    this.apply(m);
    this.changed(m.reason);
  }

  apply(m) {
    this.map.set(m.asset, { asset: m.asset, available: m.available, locked: m.locked });
  }

  async read(again = 1) {
    const token = ++this.reading;
    this.buffer = [];
    try {
      const { data } = await api("GET", "/api/v1/user/balances");
      if (token !== this.reading) return;
      const during = this.buffer;
      this.replace(data);
      during.forEach((m) => this.apply(m));
      this.buffer = null;
      this.changed("snapshot");
      if (during.length && again > 0) setTimeout(() => this.read(again - 1), 1000);
    } catch {
      if (token === this.reading) this.buffer = null;
    }
  }
}
