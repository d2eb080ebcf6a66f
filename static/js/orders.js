// The orders panel (Trade page: one market; Orders page: every market): open orders with
// cancel and cancel-all, order history and fills, kept live from the private `orders` stream.
// Orders of every type (docs/order-types.md): a conditional order shows its stop price and
// waits "untriggered" until a `triggered` update; the legs of an OCO list are drawn together,
// and cancelling one leg cancels the list (DELETE /api/v1/order-list), as the engine would.
//
// After each (re)subscription the panel re-reads GET /orders, /user/orders and /user/trades;
// messages that arrive meanwhile are applied on top. An order only ever moves forward (pending,
// untriggered, open, then a final status; filled amounts only grow), so a read that is a little
// older than a message never undoes it (order-view.js, mergeOrder).
import { api, describe, showMessage } from "./api.js";
import { Dec } from "./decimal.js";
import { esc, pair, stamp, statusLabel, title } from "./format.js";
import { OPEN, fromMessage, groupLists, mergeOrder, openStatusLabel, trailingLabel, typeLabel } from "./order-view.js";
import { streams } from "./ws.js";

const ROWS = 50;

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
      const list = event.target.closest("[data-cancel-list]");
      if (list) this.cancelList(list.dataset.symbol, Number(list.dataset.cancelList), list);
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
    // The stream also says how order lists go (e: "order_list"); their legs' own messages
    // carry everything the tables show.
    if (m.e !== undefined && m.e !== "order") return;
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

  // What the order form was answered (an order, or an order list with its legs): shown at once,
  // the stream's messages then move it on.
  placed(reply) {
    const orders = Array.isArray(reply?.orders) ? reply.orders : reply?.order_id ? [reply] : [];
    for (const order of orders) {
      if (this.symbol && order.symbol && order.symbol !== this.symbol) continue;
      this.put(order);
    }
    this.draw();
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

  // An OCO leg is cancelled with its list: both legs end (reason order_list).
  async cancelList(symbol, listId, button) {
    button.disabled = true;
    showMessage(this.errorEl, "");
    try {
      const { status, data } = await api("DELETE", "/api/v1/order-list", { params: { symbol, list_id: listId } });
      if (status === 200 && Array.isArray(data?.orders)) for (const order of data.orders) this.put(order);
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
    const extra = this.symbol ? 0 : 1; // the market column
    const focused = document.activeElement?.dataset?.cancel;
    const focusedList = document.activeElement?.dataset?.cancelList;
    this.openEl.innerHTML = open.length
      ? groupLists(open).map((o) => this.openRow(o, market)).join("")
      : `<tr class="empty"><td colspan="${9 + extra}" class="muted">No open orders.</td></tr>`;
    this.historyEl.innerHTML = all.length
      ? groupLists(all.slice(0, ROWS)).map((o) => this.historyRow(o, market)).join("")
      : `<tr class="empty"><td colspan="${8 + extra}" class="muted">No orders yet.</td></tr>`;
    this.fillsEl.innerHTML = fills.length
      ? fills.map((f) => this.fillRow(f, market)).join("")
      : `<tr class="empty"><td colspan="${6 + extra}" class="muted">No fills yet.</td></tr>`;
    this.countEl.textContent = String(open.length);
    if (this.cancelAllEl) this.cancelAllEl.disabled = open.length === 0;
    if (focused) this.openEl.querySelector(`[data-cancel="${focused}"]`)?.focus();
    if (focusedList) this.openEl.querySelector(`[data-cancel-list="${focusedList}"]`)?.focus();
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

  // The row's opening tag: its order, status and list, for the page and for tests.
  rowStart(o) {
    const list = o.list_id != null ? ` data-list-id="${esc(o.list_id)}" class="list-leg"` : "";
    return `<tr data-order-id="${o.order_id}" data-status="${esc(o.status)}"${list}>`;
  }

  openRow(o, market) {
    const pending = o.status === "pending" ? " disabled" : "";
    const cancel =
      o.list_id != null
        ? `<button type="button" class="btn btn-small btn-ghost" data-cancel-list="${esc(o.list_id)}" data-symbol="${esc(o.symbol)}" aria-label="Cancel OCO list ${esc(o.list_id)} (both orders)"${pending}>Cancel OCO</button>`
        : `<button type="button" class="btn btn-small btn-ghost" data-cancel="${o.order_id}" data-symbol="${esc(o.symbol)}" aria-label="Cancel order ${o.order_id}"${pending}>Cancel</button>`;
    return (
      `${this.rowStart(o)}<td class="left num muted">${this.time(o.created_at)}</td>${this.marketCell(o, market)}` +
      `<td class="left side-${esc(o.side)}">${title(o.side)}</td>` +
      this.typeCells(o) +
      `<td class="left"><span class="status status-${esc(o.status)}">${esc(openStatusLabel(o))}</span></td>` +
      `<td class="num">${cancel}</td></tr>`
    );
  }

  // Type (with its options and list), price, stop price, amount and filled: the cells an open
  // order and a past one share (templates/partials/_order_type_cells.html draws the same).
  typeCells(o) {
    let type = esc(typeLabel(o.type));
    if (o.post_only) type += " · post";
    if (o.iceberg_quantity) type += ` · <span title="Shows ${esc(o.iceberg_quantity)} at a time">iceberg</span>`;
    if (o.time_in_force === "GTD" && o.expire_time) {
      type += ` · <span title="Good till"><time datetime="${esc(o.expire_time)}">GTD ${stamp(o.expire_time)}</time></span>`;
    }
    if (o.list_id != null) type += ` <span class="badge badge-list" title="OCO list ${esc(o.list_id)}: one cancels the other">OCO</span>`;
    const price = o.price ? this.shown(o.price, o.symbol, "price") : "Market";
    let stop = o.stop_price ? this.shown(o.stop_price, o.symbol, "price") : "–";
    if (o.trailing_delta != null) stop += ` <span class="muted">trail ${esc(trailingLabel(o.trailing_delta))}</span>`;
    const amount = o.quantity ? this.shown(o.quantity, o.symbol, "qty") : esc(o.quote_quantity);
    return (
      `<td class="left">${type}</td><td class="num">${price}</td><td class="num">${stop}</td>` +
      `<td class="num">${amount}</td><td class="num mid-only">${this.shown(o.filled_quantity, o.symbol, "qty")}</td>`
    );
  }

  historyRow(o, market) {
    const why = { order_list: " <span class=\"muted\">by its OCO</span>", gtd_expired: " <span class=\"muted\">GTD</span>" }[o.expire_reason] || "";
    const reason = o.expire_reason ? ` title="${esc(o.expire_reason)}"` : "";
    return (
      `${this.rowStart(o)}<td class="left num muted">${this.time(o.created_at)}</td>${this.marketCell(o, market)}` +
      `<td class="left side-${esc(o.side)}">${title(o.side)}</td>` +
      this.typeCells(o) +
      `<td class="left"><span class="status status-${esc(o.status)}"${reason}>${statusLabel(o.status)}</span>${why}</td></tr>`
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
