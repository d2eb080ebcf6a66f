// The order form: buy or sell; limit, market, stop-limit or OCO (docs/order-types.md); price,
// stop price, amount or total, 25-100 % of the available balance, post-only and IOC, the
// estimated total (an OCO: what it holds), and POST /api/v1/order or /api/v1/order-list/oco.
//
// Checks against the market's tick, lot and minimum notional, and of the stop price against the
// last price, run as the trader types and say what is wrong next to the field; they advise, the
// API decides: an order is sent as entered (never rounded), and whatever the API refuses is
// shown in its own words next to the form.
import { api, describe, showMessage } from "./api.js";
import { Dec } from "./decimal.js";
import { grouped, title } from "./format.js";
import { typeLabel } from "./order-view.js";

// A stop-market buy by quantity holds up to its stop price plus 10 % (STOP_MARKET_BUY_CAP_BPS in
// matching.arith): an OCO buy without a stop-limit price holds that much for its stop leg.
const STOP_MARKET_BUY_CAP = Dec.of("1.10");
const CONDITIONAL = new Set(["stop_limit", "oco"]);

export class OrderForm {
  constructor({ form, market, balances, book }) {
    this.form = form;
    this.m = market;
    this.balances = balances;
    this.book = book;
    this.tick = Dec.of(market.tick_size);
    this.lot = Dec.of(market.lot_size);
    this.minNotional = Dec.of(market.min_notional);
    this.quoteAtom = new Dec(1n, market.quote_decimals);
    this.lastEdited = "quantity";
    this.last = null; // the market's last trade price (setLastPrice)
    const $ = (id) => form.querySelector(`#${id}`);
    this.el = {
      price: $("order-price"),
      stop: $("order-stop"),
      stopLimit: $("order-stop-limit"),
      fieldPrice: $("field-price"),
      fieldStop: $("field-stop"),
      fieldStopLimit: $("field-stop-limit"),
      labelPrice: $("label-price"),
      help: $("type-help"),
      lastRow: $("last-row"),
      last: $("form-last"),
      estLabel: $("est-label"),
      quantity: $("order-quantity"),
      total: $("order-total"),
      postOnly: $("order-post-only"),
      ioc: $("order-ioc"),
      available: $("form-available"),
      availableAsset: $("form-available-asset"),
      estimate: $("est-total"),
      error: $("order-error"),
      ok: $("order-ok"),
      submit: $("order-submit"),
      hints: {
        price: $("hint-price"),
        stop: $("hint-stop"),
        stopLimit: $("hint-stop-limit"),
        quantity: $("hint-quantity"),
        total: $("hint-total"),
      },
    };
    form.addEventListener("change", (event) => this.onChange(event));
    form.addEventListener("input", (event) => this.onInput(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    for (const button of form.querySelectorAll("[data-pct]")) {
      button.addEventListener("click", () => this.fillPercent(BigInt(button.dataset.pct)));
    }
    balances.onChange(() => this.showAvailable());
    this.onChange();
  }

  get side() {
    return this.form.querySelector('input[name="side"]:checked').value;
  }

  get type() {
    return this.form.querySelector('input[name="type"]:checked').value;
  }

  // The market's last trade price: where a stop price must not already be.
  setLastPrice(price) {
    const last = Dec.parse(price ?? "");
    if (last && this.last && last.cmp(this.last) === 0) return;
    this.last = last;
    this.el.last.textContent = last ? grouped(price) : "–";
    this.validate();
  }

  // A price picked in the book: the limit price (of a limit order, unless a stop-limit or an OCO
  // is being entered).
  pickPrice(price) {
    if (this.type === "market") this.form.querySelector("#type-limit").checked = true;
    this.el.price.value = price;
    this.onChange();
    this.recompute("price");
    this.el.quantity.focus();
  }

  onChange(event) {
    const type = this.type;
    const market = type === "market";
    const conditional = CONDITIONAL.has(type);
    const oco = type === "oco";
    const buy = this.side === "buy";
    const { price, stop, stopLimit, total, postOnly, ioc, submit } = this.el;
    price.disabled = market;
    price.placeholder = market ? "Market price" : "0.00";
    if (market) price.value = "";
    // The stop price comes before the limit price of a stop-limit order (it is what happens
    // first) and after the limit leg's price in an OCO (Binance's order of the fields).
    const { fieldPrice, fieldStop } = this.el;
    if (type === "stop_limit" && fieldStop.nextElementSibling !== fieldPrice) fieldPrice.before(fieldStop);
    if (oco && fieldPrice.nextElementSibling !== fieldStop) fieldPrice.after(fieldStop);
    this.el.fieldStop.hidden = !conditional;
    stop.disabled = !conditional;
    this.el.fieldStopLimit.hidden = !oco;
    stopLimit.disabled = !oco;
    this.el.labelPrice.textContent = conditional ? "Limit price" : "Price";
    // Post-only is refused on conditional orders, and an OCO's limit leg must rest.
    postOnly.disabled = market || conditional;
    ioc.disabled = market || oco;
    if (postOnly.disabled) postOnly.checked = false;
    if (ioc.disabled) ioc.checked = false;
    if (event?.target === postOnly && postOnly.checked) ioc.checked = false;
    if (event?.target === ioc && ioc.checked) postOnly.checked = false;
    total.disabled = market && !buy; // a market sell is sized in the base asset
    if (total.disabled) {
      total.value = "";
      this.lastEdited = "quantity";
    }
    this.el.help.textContent = this.helpText();
    this.el.help.hidden = !conditional;
    this.el.lastRow.hidden = !conditional;
    this.el.estLabel.textContent = oco ? "Held (larger leg)" : "Est. total";
    submit.className = `btn btn-block ${buy ? "btn-buy" : "btn-sell"}`;
    submit.textContent = `${buy ? "Buy" : "Sell"} ${this.m.base}${oco ? " (OCO)" : ""}`;
    this.showAvailable();
    this.validate();
  }

  // What the chosen type does, for the side chosen.
  helpText() {
    const buy = this.side === "buy";
    if (this.type === "stop_limit") {
      return buy
        ? "Triggers when the last price reaches the stop price (rises to it or above): a limit buy at the limit price then goes to the book. Until then it waits outside the book, its funds held."
        : "Triggers when the last price reaches the stop price (falls to it or below): a limit sell at the limit price then goes to the book. Until then it waits outside the book, its funds held.";
    }
    if (this.type === "oco") {
      return buy
        ? "One cancels the other: a limit buy at the limit price (below the last price), and a stop leg that triggers when the last price rises to the stop price, then buys at the stop-limit price (at market if empty). When one fills or triggers, the other is cancelled; only the larger leg's funds are held."
        : "One cancels the other: a limit sell at the limit price (above the last price), and a stop leg that triggers when the last price falls to the stop price, then sells at the stop-limit price (at market if empty). When one fills or triggers, the other is cancelled; only the larger leg's funds are held.";
    }
    return "";
  }

  onInput(event) {
    const name = event.target.name;
    if (name === "quantity" || name === "total") this.lastEdited = name;
    if (name === "price" || name === "quantity" || name === "total") this.recompute(name);
    else if (name === "stop_price" || name === "stop_limit_price") this.validate();
    showMessage(this.el.error, "");
    showMessage(this.el.ok, "");
  }

  // Keep amount and total consistent: total = price x amount, or amount = total / price
  // rounded down to the lot.
  recompute(changed) {
    const price = Dec.parse(this.el.price.value);
    const qty = Dec.parse(this.el.quantity.value);
    const total = Dec.parse(this.el.total.value);
    if (this.type !== "market" && price && !price.isZero()) {
      if (this.lastEdited === "total" && changed !== "quantity") {
        this.el.quantity.value = total ? this.floorLots(total.divFloor(price, this.lot.places + 2)) : "";
      } else if (qty) {
        this.el.total.value = price.mul(qty).trimmed();
      } else if (changed === "quantity") {
        this.el.total.value = "";
      }
    }
    this.validate();
  }

  floorLots(amount) {
    const lots = amount.floorTo(this.lot);
    return lots.isZero() ? "" : lots.toString();
  }

  available(asset) {
    const b = this.balances.get(asset);
    return b ? Dec.of(b.available) : null;
  }

  showAvailable() {
    const asset = this.side === "buy" ? this.m.quote : this.m.base;
    const amount = this.available(asset);
    this.el.available.textContent = amount ? grouped(amount.toString()) : "0";
    this.el.availableAsset.textContent = asset;
  }

  fillPercent(pct) {
    const buy = this.side === "buy";
    const available = this.available(buy ? this.m.quote : this.m.base);
    if (!available) return;
    const share = new Dec((available.units * pct) / 100n, available.scale); // rounded down
    if (!buy) {
      this.el.quantity.value = this.floorLots(share);
      this.lastEdited = "quantity";
      this.recompute("quantity");
      return;
    }
    if (this.type === "market") {
      this.el.total.value = share.floorTo(this.quoteAtom).trimmed();
      this.el.quantity.value = "";
      this.lastEdited = "total";
      this.validate();
      return;
    }
    const price = this.type === "oco" ? this.ocoHoldPrice() : Dec.parse(this.el.price.value);
    if (!price || price.isZero() || price.isNegative()) {
      this.hint("price", "Enter a price first.");
      this.el.price.focus();
      return;
    }
    this.el.quantity.value = this.floorLots(share.divFloor(price, this.lot.places + 2));
    this.lastEdited = "quantity";
    this.recompute("quantity");
  }

  // The price an OCO buy holds per unit: the larger of its legs' (the stop leg's is its
  // stop-limit price, or a stop-market buy's protection price, stop + 10 % up to the tick).
  ocoHoldPrice() {
    const limit = Dec.parse(this.el.price.value);
    const stop = Dec.parse(this.el.stop.value);
    const stopLimit = Dec.parse(this.el.stopLimit.value);
    const leg = this.el.stopLimit.value.trim() ? stopLimit : stop && stop.mul(STOP_MARKET_BUY_CAP).ceilTo(this.tick);
    if (!limit || !leg) return null;
    return limit.cmp(leg) >= 0 ? limit : leg;
  }

  // --- checks (advice; the API decides) -----------------------------------------------------

  hint(field, text) {
    const el = this.el.hints[field];
    el.textContent = text || "";
    el.classList.toggle("error", Boolean(text));
    this.el[field].setAttribute("aria-invalid", text ? "true" : "false");
  }

  // A price field's own check: a number, above zero, on the tick grid (never rounded).
  priceHint(el, noun) {
    if (el.disabled || el.value.trim() === "") return "";
    const value = Dec.parse(el.value);
    if (!value) return "Enter a number such as 20.15.";
    if (value.isZero() || value.isNegative()) return `The ${noun} must be above zero.`;
    if (!value.isMultipleOf(this.tick)) return `The ${noun} must be a multiple of the tick size, ${this.m.tick_size}.`;
    return "";
  }

  validate() {
    const type = this.type;
    const buy = this.side === "buy";
    const price = Dec.parse(this.el.price.value);
    const stop = Dec.parse(this.el.stop.value);
    const stopLimit = Dec.parse(this.el.stopLimit.value);
    const qty = Dec.parse(this.el.quantity.value);
    const total = Dec.parse(this.el.total.value);
    const has = (el) => el.value.trim() !== "";
    let priceHint = this.priceHint(this.el.price, "price");
    let stopHint = this.priceHint(this.el.stop, "stop price");
    const stopLimitHint = this.priceHint(this.el.stopLimit, "stop-limit price");
    if (CONDITIONAL.has(type)) [priceHint, stopHint] = this.placementHints(priceHint, stopHint, price, stop);
    let qtyHint = "";
    if (has(this.el.quantity)) {
      if (!qty) qtyHint = "Enter a number such as 1.5.";
      else if (qty.isZero() || qty.isNegative()) qtyHint = "The amount must be above zero.";
      else if (!qty.isMultipleOf(this.lot)) qtyHint = `The amount must be a multiple of the lot size, ${this.m.lot_size}.`;
    }
    // The value of each order placed (an OCO: of each leg that has a price), and what it holds.
    let values = [];
    if (type === "market") values = this.lastEdited === "total" ? [total] : [];
    else if (qty) values = [price, type === "oco" && has(this.el.stopLimit) ? stopLimit : null].map((p) => p && p.mul(qty));
    values = values.filter((v) => v && !v.isZero());
    let totalHint = "";
    if (has(this.el.total) && !total) totalHint = "Enter a number such as 100.";
    else if (values.some((v) => v.cmp(this.minNotional) < 0)) {
      totalHint = `The order value must be at least ${this.m.min_notional} ${this.m.quote}${type === "oco" ? " on each leg" : ""}.`;
    } else if (values.length || (type === "oco" && qty)) {
      const needed = this.held(qty, values);
      const available = this.available(buy ? this.m.quote : this.m.base);
      if (needed && available && needed.cmp(available) > 0) totalHint = "More than your available balance.";
    }
    this.hint("price", priceHint);
    this.hint("stop", stopHint);
    this.hint("stopLimit", stopLimitHint);
    this.hint("quantity", qtyHint);
    this.hint("total", totalHint);
    this.estimate(price, qty, total);
  }

  // What the order holds: a sell its amount, a buy its value; an OCO the larger leg's.
  held(qty, values) {
    if (this.side === "sell") return qty;
    if (this.type !== "oco") return values[0] ?? null;
    const price = this.ocoHoldPrice();
    return price && qty ? price.mul(qty) : null;
  }

  // Where the prices of a stop-limit or an OCO stand against the last trade price: a stop the
  // last price has already reached would trigger at once, which the exchange refuses
  // (would_trigger_immediately); an OCO's limit leg is on the other side of the last price.
  placementHints(priceHint, stopHint, price, stop) {
    const buy = this.side === "buy";
    const last = this.last;
    const lastText = last ? grouped(last.toString()) : "";
    if (!stopHint && stop && last) {
      if (buy && stop.cmp(last) <= 0) stopHint = `At or below the last price, ${lastText}: it would trigger at once, which the exchange refuses. A buy stop is above the last price.`;
      if (!buy && stop.cmp(last) >= 0) stopHint = `At or above the last price, ${lastText}: it would trigger at once, which the exchange refuses. A sell stop is below the last price.`;
    }
    if (this.type === "oco" && !priceHint && price) {
      if (last && buy && price.cmp(last) >= 0) priceHint = `A buy OCO's limit price is below the last price, ${lastText}.`;
      else if (last && !buy && price.cmp(last) <= 0) priceHint = `A sell OCO's limit price is above the last price, ${lastText}.`;
      else if (stop && buy && price.cmp(stop) >= 0) priceHint = "A buy OCO's limit price is below its stop price.";
      else if (stop && !buy && price.cmp(stop) <= 0) priceHint = "A sell OCO's limit price is above its stop price.";
    }
    return [priceHint, stopHint];
  }

  estimate(price, qty, total) {
    const q = this.m.quote;
    const type = this.type;
    let text = "–";
    if (type === "oco" && qty) {
      const held = this.held(qty, []);
      if (held) text = `${grouped(held.trimmed())} ${this.side === "buy" ? q : this.m.base}`;
    } else if (type !== "market" && type !== "oco" && price && qty) text = `${grouped(price.mul(qty).trimmed())} ${q}`;
    else if (type === "market" && this.lastEdited === "total" && total) text = `${grouped(total.trimmed())} ${q}`;
    else if (type === "market" && qty) {
      const best = this.side === "buy" ? this.book.bestAsk() : this.book.bestBid();
      text = best ? `≈ ${grouped(best.mul(qty).trimmed())} ${q}` : "No price in the book";
    }
    this.el.estimate.textContent = text;
  }

  // --- sending ----------------------------------------------------------------------------------

  // The request for what was entered: {path, body}, or what is missing, in words.
  request() {
    const type = this.type;
    const value = (el) => el.value.trim();
    const base = { symbol: this.m.symbol, side: this.side };
    if (type === "oco") {
      if (!value(this.el.price)) return "Enter a limit price.";
      if (!value(this.el.stop)) return "Enter a stop price.";
      if (!value(this.el.quantity)) return "Enter an amount.";
      const body = { ...base, quantity: value(this.el.quantity), price: value(this.el.price), stop_price: value(this.el.stop) };
      if (value(this.el.stopLimit)) {
        body.stop_limit_price = value(this.el.stopLimit);
        body.stop_limit_time_in_force = "GTC";
      }
      return { path: "/api/v1/order-list/oco", body };
    }
    const body = { ...base, type };
    if (type === "stop_limit") {
      if (!value(this.el.stop)) return "Enter a stop price.";
      body.stop_price = value(this.el.stop);
    }
    if (type === "limit" || type === "stop_limit") {
      if (!value(this.el.price)) return type === "limit" ? "Enter a price." : "Enter a limit price.";
      body.price = value(this.el.price);
      if (this.el.ioc.checked) body.time_in_force = "IOC";
      else if (type === "stop_limit") body.time_in_force = "GTC";
      if (this.el.postOnly.checked) body.post_only = true;
    }
    if (type === "market" && this.side === "buy" && this.lastEdited === "total" && value(this.el.total)) {
      body.quote_quantity = value(this.el.total);
    } else {
      if (!value(this.el.quantity)) return "Enter an amount.";
      body.quantity = value(this.el.quantity);
    }
    return { path: "/api/v1/order", body };
  }

  async submit() {
    showMessage(this.el.error, "");
    showMessage(this.el.ok, "");
    const request = this.request();
    if (typeof request === "string") {
      showMessage(this.el.error, request);
      return;
    }
    const label = this.el.submit.textContent;
    this.el.submit.disabled = true;
    this.el.submit.textContent = "Placing…";
    try {
      const { status, data } = await api("POST", request.path, { body: request.body });
      if (data?.orders && data.status === "rejected") {
        const reason = data.orders.map((o) => o.reject_reason).find(Boolean);
        showMessage(this.el.error, `The OCO was refused${reason ? ` (${reason})` : ""}.`);
        return;
      }
      showMessage(this.el.ok, data?.orders ? this.listSummary(data, request.body, status) : this.summary(data, status));
      this.el.quantity.value = "";
      this.el.total.value = "";
      this.validate();
      this.form.dispatchEvent(new CustomEvent("order-placed", { detail: data, bubbles: true }));
    } catch (err) {
      showMessage(this.el.error, describe(err));
    } finally {
      this.el.submit.disabled = false;
      this.el.submit.textContent = label;
    }
  }

  price(value) {
    return Dec.of(value).fixed(this.tick.places);
  }

  summary(order, status) {
    const what = `${title(order.side)} ${typeLabel(order.type).toLowerCase()}`;
    const size = order.quantity
      ? `${Dec.of(order.quantity).fixed(this.lot.places)} ${this.m.base}`
      : `${order.quote_quantity} ${this.m.quote}`;
    const at = order.price ? ` at ${this.price(order.price)}` : "";
    const stop = order.stop_price ? `, stop ${this.price(order.stop_price)}` : "";
    if (status === 202) return `${what} order accepted (${size}${at}${stop}): waiting for the matcher.`;
    const state =
      { new: "placed", untriggered: "waiting for trigger", partially_filled: "partly filled", filled: "filled", expired: "expired", cancelled: "cancelled" }[order.status] ||
      order.status;
    return `${what} order ${state}: ${size}${at}${stop}.`;
  }

  // An OCO's reply: the list and its legs.
  listSummary(list, body, status) {
    const size = `${Dec.of(body.quantity).fixed(this.lot.places)} ${this.m.base}`;
    const stopLeg = body.stop_limit_price ? `stop ${this.price(body.stop_price)} then limit ${this.price(body.stop_limit_price)}` : `stop ${this.price(body.stop_price)} then market`;
    const legs = `${size}, limit ${this.price(body.price)}, ${stopLeg}`;
    if (status === 202) return `${title(body.side)} OCO accepted (${legs}): waiting for the matcher.`;
    const state = { executing: "placed", all_done: "done" }[list.status] || list.status;
    return `${title(body.side)} OCO ${state} (list ${list.list_id}): ${legs}.`;
  }
}
