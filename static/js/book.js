// The order book panel: a local copy of the book kept from GET /depth plus the depth.<SYMBOL>
// diffs, by the U/u rule of docs/api.md: drop diffs with u <= the snapshot's last_update_id,
// the first one applied must have U <= last_update_id + 1 <= u, and every later one must start
// right after the previous (U = previous u + 1). Anything else is a gap: take a new snapshot.
// Prices and sizes are exact (BigInt units at the market's tick and lot places); grouping
// floors bid prices and ceils ask prices to a multiple of the tick.
import { api } from "./api.js";
import { Dec } from "./decimal.js";
import { streams } from "./ws.js";

export class OrderBook {
  constructor({ symbol, tickSize, lotSize, rows, asksEl, bidsEl, spreadEl, onPick }) {
    this.symbol = symbol;
    this.tick = Dec.of(tickSize);
    this.pricePlaces = this.tick.places;
    this.qtyPlaces = Dec.of(lotSize).places;
    this.tickUnits = this.tick.rescale(this.pricePlaces).units;
    this.group = this.tickUnits;
    this.rows = rows;
    this.asksEl = asksEl;
    this.bidsEl = bidsEl;
    this.spreadEl = spreadEl;
    this.bids = new Map(); // price units -> quantity units
    this.asks = new Map();
    this.lastId = 0;
    this.expectFirst = true;
    this.syncing = true;
    this.buffer = [];
    this.generation = 0;
    this.drawQueued = false;
    for (const el of [asksEl, bidsEl]) {
      el.addEventListener("click", (event) => {
        const row = event.target.closest(".row[data-price]");
        if (row) onPick(row.dataset.price);
      });
    }
  }

  // Start from the server-rendered first snapshot; the live sync replaces it at once.
  seed(snapshot) {
    this.load(snapshot);
  }

  follow() {
    streams.subscribe(
      [`depth.${this.symbol}`],
      (diff) => this.onDiff(diff),
      () => this.resync(),
    );
  }

  setGroup(size) {
    this.group = Dec.of(size).rescale(this.pricePlaces).units;
    this.draw();
  }

  // --- sync -----------------------------------------------------------------------------------

  async resync() {
    const generation = ++this.generation;
    this.syncing = true;
    this.buffer = [];
    for (let attempt = 0; ; attempt++) {
      try {
        const { data } = await api("GET", "/api/v1/depth", { params: { symbol: this.symbol, limit: 1000 } });
        if (generation !== this.generation) return;
        this.load(data);
        break;
      } catch {
        if (generation !== this.generation) return;
        await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** attempt)));
      }
    }
    const buffered = this.buffer;
    this.buffer = [];
    this.syncing = false;
    for (const diff of buffered) {
      if (!this.apply(diff)) return;
    }
    this.draw();
  }

  load(snapshot) {
    this.bids = this.levels(snapshot.bids);
    this.asks = this.levels(snapshot.asks);
    this.lastId = snapshot.last_update_id;
    this.expectFirst = true;
    this.draw();
  }

  onDiff(diff) {
    if (diff.s !== undefined && diff.s !== this.symbol) return;
    if (this.syncing) {
      this.buffer.push(diff);
      return;
    }
    if (this.apply(diff)) this.draw();
  }

  // Apply one diff if it continues the book; false (and a new snapshot) on a gap.
  apply(diff) {
    if (diff.u <= this.lastId) return true; // already in the snapshot, or a repeat
    const next = this.lastId + 1;
    const continues = this.expectFirst ? diff.U <= next && next <= diff.u : diff.U === next;
    if (!continues) {
      this.resync();
      return false;
    }
    this.expectFirst = false;
    this.update(this.bids, diff.b);
    this.update(this.asks, diff.a);
    this.lastId = diff.u;
    return true;
  }

  levels(pairs) {
    const side = new Map();
    this.update(side, pairs);
    return side;
  }

  update(side, pairs) {
    for (const [price, qty] of pairs || []) {
      const p = Dec.of(price).rescale(this.pricePlaces).units;
      const q = Dec.of(qty).rescale(this.qtyPlaces).units;
      if (q === 0n) side.delete(p);
      else side.set(p, q);
    }
  }

  // --- view -----------------------------------------------------------------------------------

  // The best `rows` levels of a side after grouping: [[price units, qty units], ...].
  top(side, isBid) {
    const g = this.group;
    const grouped = new Map();
    for (const [p, q] of side) {
      let key = p;
      if (g !== this.tickUnits) {
        key = (p / g) * g;
        if (!isBid && key !== p) key += g;
      }
      grouped.set(key, (grouped.get(key) || 0n) + q);
    }
    const keys = [...grouped.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (isBid) keys.reverse();
    return keys.slice(0, this.rows).map((k) => [k, grouped.get(k)]);
  }

  draw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.render();
    });
  }

  render() {
    const asks = this.top(this.asks, false);
    const bids = this.top(this.bids, true);
    const totals = (levels) => {
      let running = 0n;
      return levels.map(([p, q]) => [p, q, (running += q)]);
    };
    const askRows = totals(asks);
    const bidRows = totals(bids);
    const deepest = [askRows.at(-1)?.[2] || 0n, bidRows.at(-1)?.[2] || 0n].reduce((a, b) => (a > b ? a : b), 0n) || 1n;
    const pct = (units) => Number((units * 100n) / deepest);
    const html = (levels) => {
      const out = levels.map(([p, q, total]) => {
        const price = new Dec(p, this.pricePlaces).toString();
        const size = new Dec(q, this.qtyPlaces).toString();
        return (
          `<div class="row" data-price="${price}" data-size="${size}">` +
          `<span class="bar bar-total" style="width:${pct(total)}%"></span>` +
          `<span class="bar bar-size" style="width:${pct(q)}%"></span>` +
          `<button type="button" class="num price" data-price="${price}" tabindex="-1">${price}</button>` +
          `<span class="num">${size}</span>` +
          `<span class="num muted">${new Dec(total, this.qtyPlaces).toString()}</span></div>`
        );
      });
      while (out.length < this.rows) out.push('<div class="row empty"></div>');
      return out;
    };
    this.asksEl.innerHTML = html(askRows).reverse().join("");
    this.bidsEl.innerHTML = html(bidRows).join("");
    this.asksEl.parentElement.dataset.lastUpdateId = String(this.lastId);
    if (this.spreadEl) {
      const ask = this.bestAsk();
      const bid = this.bestBid();
      this.spreadEl.textContent = ask && bid ? ask.sub(bid).toString() : "–";
    }
  }

  bestAsk() {
    return this.best(this.asks, false);
  }

  bestBid() {
    return this.best(this.bids, true);
  }

  best(side, isBid) {
    let best = null;
    for (const p of side.keys()) if (best === null || (isBid ? p > best : p < best)) best = p;
    return best === null ? null : new Dec(best, this.pricePlaces);
  }
}
