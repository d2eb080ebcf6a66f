// The orders panel (Trade page: one market; Orders page: every market): open orders with
// cancel and cancel-all, order history and fills, kept live from the private `orders` stream.
//
// After each (re)subscription the panel re-reads GET /orders, /user/orders and /user/trades;
// messages that arrive meanwhile are applied on top. An order only ever moves forward (pending,
// open, then a final status; filled amounts only grow), so a read that is a little older than
// a message never undoes it.
import { api, describe, showMessage } from "./api.js";
import { Dec } from "./decimal.js";
import { esc, pair, stamp, statusLabel, title } from "./format.js";
import { streams } from "./ws.js";

const OPEN = new Set(["pending", "new", "partially_filled"]);
const ROWS = 50;

function rank(order) {
  if (order.status === "pending") return 0;
  return OPEN.has(order.status) ? 1 : 2;
}

// The more advanced of two views of one order.
export function mergeOrder(old, incoming) {
  if (!old) return incoming;
  if (!incoming.status) return { ...old, price: incoming.price ?? old.price, quantity: incoming.quantity ?? old.quantity };
  if (rank(incoming) < rank(old)) return old;
  if (
    rank(incoming) === rank(old) &&
    old.filled_quantity &&
    incoming.filled_quantity &&
    Dec.of(incoming.filled_quantity).cmp(Dec.of(old.filled_quantity)) < 0
  ) {
    return old;
  }
  const merged = { ...old };
  for (const [key, value] of Object.entries(incoming)) if (value !== undefined) merged[key] = value;
  merged.created_at = old.created_at ?? incoming.created_at;
  merged.post_only = old.post_only ?? incoming.post_only;
  return merged;
}

function fromMessage(m) {
  return {
    order_id: m.order_id,
    client_order_id: m.client_order_id,
    symbol: m.symbol,
    side: m.side,
    type: m.type,
    time_in_force: m.time_in_force,
    price: m.price,
    quantity: m.quantity,
    quote_quantity: m.quote_quantity,
    filled_quantity: m.filled_quantity,
    filled_quote: m.filled_quote,
    status: m.status || undefined,
    created_at: m.update === "new" || m.update === "rejected" ? m.E : undefined,
    updated_at: m.E,
  };
}

export class OrdersPanel {
  constructor({ root, symbol, initial, markets }) {
    this.root = root;
    this.symbol = symbol; // null: every market
    this.places = new Map(
      (markets || []).map((m) => [m.symbol, { price: Dec.of(m.tick_size).places, qty: Dec.of(m.lot_size).places }]),
    );
    this.orders = new Map();
    this.fills = new Map();
    this.buffer = null;
    this.generation = 0;
    this.drawQueued = false;
    this.openEl = root.querySelector("#open-orders");
    this.historyEl = root.querySelector("#order-history");
    this.fillsEl = root.querySelector("#fills");
    this.countEl = root.querySelector("#open-count");
    this.cancelAllEl = root.querySelector("#cancel-all");
    this.errorEl = root.querySelector("#orders-error");
    this.tabs();
    if (!this.openEl) return; // anonymous: a log-in prompt
    if (initial) this.load(initial.open_orders, initial.history, initial.fills);
    root.addEventListener("click", (event) => {
      const button = event.target.closest("[data-cancel]");
      if (button) this.cancel(button.dataset.symbol, Number(button.dataset.cancel), button);
    });
    this.cancelAllEl?.addEventListener("click", () => this.cancelAll());
  }

  follow() {
    if (!this.openEl) return;
    streams.subscribe(["orders"], (m) => this.onMessage(m), () => this.reload());
  }

  // --- state ----------------------------------------------------------------------------------

  load(open, history, fills) {
    this.orders = new Map();
    for (const o of [...history, ...open]) this.orders.set(o.order_id, mergeOrder(this.orders.get(o.order_id), o));
    this.fills = new Map(fills.map((f) => [`${f.symbol}:${f.trade_id}`, f]));
    this.draw();
  }

  onMessage(m) {
    if (this.symbol && m.symbol !== this.symbol) return;
    if (this.buffer) this.buffer.push(m);
    this.apply(m);
    this.draw();
  }

  apply(m) {
    this.put(fromMessage(m));
    if (m.fill) {
      const f = m.fill;
      this.fills.set(`${m.symbol}:${f.trade_id}`, {
        trade_id: f.trade_id,
        symbol: m.symbol,
        order_id: m.order_id,
        side: m.side,
        price: f.price,
        quantity: f.quantity,
        fee: f.fee,
        fee_asset: f.fee_asset,
        liquidity: f.liquidity,
        time: m.E,
      });
    }
  }

  put(order) {
    this.orders.set(order.order_id, mergeOrder(this.orders.get(order.order_id), order));
  }

  async reload() {
    const generation = ++this.generation;
    this.buffer = [];
    const params = { symbol: this.symbol };
    try {
      const [open, history, fills] = await Promise.all([
        api("GET", "/api/v1/orders", { params }),
        api("GET", "/api/v1/user/orders", { params: { ...params, limit: ROWS } }),
        api("GET", "/api/v1/user/trades", { params: { ...params, limit: ROWS } }),
      ]);
      if (generation !== this.generation) return;
      const during = this.buffer;
      this.buffer = null;
      this.load(open.data, history.data.results, fills.data.results);
      during.forEach((m) => this.apply(m));
      this.draw();
      showMessage(this.errorEl, "");
    } catch (err) {
      if (generation !== this.generation) return;
      this.buffer = null;
      showMessage(this.errorEl, `Could not load your orders: ${describe(err)}`);
    }
  }

  // --- actions --------------------------------------------------------------------------------

  async cancel(symbol, orderId, button) {
    button.disabled = true;
    showMessage(this.errorEl, "");
    try {
      const { status, data } = await api("DELETE", "/api/v1/order", { params: { symbol, order_id: orderId } });
      if (status === 200) this.put(data);
      this.draw();
    } catch (err) {
      button.disabled = false;
      showMessage(this.errorEl, describe(err));
    }
  }

  async cancelAll() {
    this.cancelAllEl.disabled = true;
    showMessage(this.errorEl, "");
    try {
      const { data } = await api("DELETE", "/api/v1/orders", { params: { symbol: this.symbol } });
      for (const order of data) this.put(order);
      this.draw();
    } catch (err) {
      showMessage(this.errorEl, describe(err));
      this.cancelAllEl.disabled = false;
    }
  }

  // --- view -----------------------------------------------------------------------------------

  draw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.render();
    });
  }

  render() {
    const all = [...this.orders.values()].sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0) || b.order_id - a.order_id);
    const open = all.filter((o) => OPEN.has(o.status));
    const fills = [...this.fills.values()].sort((a, b) => b.time - a.time || b.trade_id - a.trade_id).slice(0, ROWS);
    // A page left open for days keeps what it shows, not every order it ever saw.
    if (this.orders.size > 4 * ROWS) {
      this.orders = new Map([...open, ...all.slice(0, ROWS)].map((o) => [o.order_id, o]));
    }
    if (this.fills.size > 4 * ROWS) this.fills = new Map(fills.map((f) => [`${f.symbol}:${f.trade_id}`, f]));
    const market = this.symbol ? "" : null;
    const cols = this.symbol ? 7 : 8; // open orders and history; fills have one column fewer
    const focused = document.activeElement?.dataset?.cancel;
    this.openEl.innerHTML = open.length
      ? open.map((o) => this.openRow(o, market)).join("")
      : `<tr class="empty"><td colspan="${cols}" class="muted">No open orders.</td></tr>`;
    this.historyEl.innerHTML = all.length
      ? all.slice(0, ROWS).map((o) => this.historyRow(o, market)).join("")
      : `<tr class="empty"><td colspan="${cols}" class="muted">No orders yet.</td></tr>`;
    this.fillsEl.innerHTML = fills.length
      ? fills.map((f) => this.fillRow(f, market)).join("")
      : `<tr class="empty"><td colspan="${cols - 1}" class="muted">No fills yet.</td></tr>`;
    this.countEl.textContent = String(open.length);
    if (this.cancelAllEl) this.cancelAllEl.disabled = open.length === 0;
    if (focused) this.openEl.querySelector(`[data-cancel="${focused}"]`)?.focus();
  }

  // A price or quantity at its market's places ("20" -> "20.00"), as the server writes it.
  shown(value, symbol, kind) {
    if (value == null) return "–";
    const places = this.places.get(symbol)?.[kind];
    const d = Dec.parse(value);
    if (places === undefined || d === null) return esc(value);
    try {
      return d.fixed(places);
    } catch {
      return esc(value);
    }
  }

  marketCell(o, market) {
    return market === null ? `<td class="left">${esc(pair(o.symbol))}</td>` : "";
  }

  time(ms) {
    return ms ? `<time datetime="${ms}">${stamp(ms)}</time>` : "";
  }

  openRow(o, market) {
    return (
      `<tr data-order-id="${o.order_id}"><td class="left num muted">${this.time(o.created_at)}</td>${this.marketCell(o, market)}` +
      `<td class="left side-${esc(o.side)}">${title(o.side)}</td><td class="left mid-only">${title(o.type)}${o.post_only ? " · post" : ""}</td>` +
      this.amounts(o) +
      `<td class="num"><button type="button" class="btn btn-small btn-ghost" data-cancel="${o.order_id}" data-symbol="${esc(o.symbol)}" aria-label="Cancel order ${o.order_id}"${o.status === "pending" ? " disabled" : ""}>Cancel</button></td></tr>`
    );
  }

  amounts(o) {
    const price = o.price ? this.shown(o.price, o.symbol, "price") : "Market";
    const amount = o.quantity ? this.shown(o.quantity, o.symbol, "qty") : esc(o.quote_quantity);
    return (
      `<td class="num">${price}</td><td class="num">${amount}</td>` +
      `<td class="num mid-only">${this.shown(o.filled_quantity, o.symbol, "qty")}</td>`
    );
  }

  historyRow(o, market) {
    return (
      `<tr data-order-id="${o.order_id}"><td class="left num muted">${this.time(o.created_at)}</td>${this.marketCell(o, market)}` +
      `<td class="left side-${esc(o.side)}">${title(o.side)}</td><td class="left mid-only">${title(o.type)}</td>` +
      this.amounts(o) +
      `<td class="left"><span class="status status-${esc(o.status)}">${statusLabel(o.status)}</span></td></tr>`
    );
  }

  fillRow(f, market) {
    return (
      `<tr data-trade-id="${esc(f.symbol)}:${f.trade_id}"><td class="left num muted">${this.time(f.time)}</td>${this.marketCell(f, market)}` +
      `<td class="left side-${esc(f.side)}">${title(f.side)}</td><td class="num">${this.shown(f.price, f.symbol, "price")}</td>` +
      `<td class="num">${this.shown(f.quantity, f.symbol, "qty")}</td><td class="num">${esc(f.fee)} <span class="muted">${esc(f.fee_asset)}</span></td>` +
      `<td class="left">${title(f.liquidity)}</td></tr>`
    );
  }

  tabs() {
    const tabs = [...this.root.querySelectorAll('[role="tab"]')];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        const pane = document.getElementById(t.getAttribute("aria-controls"));
        if (pane) pane.hidden = !on;
      }
    };
    for (const [i, tab] of tabs.entries()) {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = tabs[(i + step + tabs.length) % tabs.length];
        select(next);
        next.focus();
      });
    }
  }
}
