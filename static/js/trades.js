// Recent trades: GET /trades, then trade.<SYMBOL>; trade ids are sequential per market, so a
// skipped id means a message was lost and the list is read again.
import { api } from "./api.js";
import { clock } from "./format.js";
import { streams } from "./ws.js";

const KEEP = 40;

export class RecentTrades {
  constructor({ el, symbol, trades, onTrade }) {
    this.el = el;
    this.symbol = symbol;
    this.onTrade = onTrade;
    this.trades = (trades || []).slice(0, KEEP); // newest first, REST shape
    this.buffer = null;
    this.generation = 0;
    this.render(new Set());
  }

  follow() {
    streams.subscribe(
      [`trade.${this.symbol}`],
      (m) => this.onMessage(m),
      () => this.reload(),
    );
  }

  onMessage(m) {
    const trade = { id: m.t, price: m.p, quantity: m.q, time: m.T, is_buyer_maker: m.m };
    if (this.buffer) {
      this.buffer.push(trade);
      return;
    }
    const newest = this.trades[0]?.id ?? null;
    if (trade.id <= (newest ?? 0)) return; // a repeat
    if (newest !== null && trade.id !== newest + 1) {
      this.reload(); // a gap
      return;
    }
    this.add([trade]);
  }

  async reload() {
    const generation = ++this.generation;
    this.buffer = [];
    try {
      const { data } = await api("GET", "/api/v1/trades", { params: { symbol: this.symbol, limit: KEEP } });
      if (generation !== this.generation) return;
      const before = new Set(this.trades.map((t) => t.id));
      this.trades = data;
      const newestId = data[0]?.id ?? 0;
      const later = this.buffer.filter((t) => t.id > newestId);
      this.buffer = null;
      this.trades = [...later.reverse(), ...this.trades].slice(0, KEEP);
      this.render(new Set(this.trades.filter((t) => !before.has(t.id)).map((t) => t.id)));
      if (this.trades[0]) this.onTrade(this.trades[0], null);
    } catch {
      if (generation === this.generation) this.buffer = null;
    }
  }

  add(trades) {
    const previous = this.trades[0] || null;
    this.trades = [...trades.slice().reverse(), ...this.trades].slice(0, KEEP);
    this.render(new Set(trades.map((t) => t.id)));
    this.onTrade(this.trades[0], previous);
  }

  render(fresh) {
    if (!this.trades.length) {
      this.el.innerHTML = '<li class="empty muted">No trades yet.</li>';
      return;
    }
    this.el.innerHTML = this.trades
      .map(
        (t) =>
          `<li class="${t.is_buyer_maker ? "down" : "up"}${fresh.has(t.id) ? " fresh" : ""}" data-id="${t.id}">` +
          `<span class="num price">${t.price}</span><span class="num">${t.quantity}</span>` +
          `<span class="num muted"><time datetime="${t.time}">${clock(t.time)}</time></span></li>`,
      )
      .join("");
  }
}
