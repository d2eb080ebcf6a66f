// The order form: buy or sell, limit or market, price, amount or total, 25-100 % of the
// available balance, post-only and IOC, the estimated total, and POST /api/v1/order.
//
// Checks against the market's tick, lot and minimum notional run as the trader types and say
// what is wrong next to the field; they advise, the API decides: an order is sent as entered,
// and whatever the API refuses is shown in its own words next to the form.
import { api, describe, showMessage } from "./api.js";
import { Dec } from "./decimal.js";
import { grouped, title } from "./format.js";

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
    const $ = (id) => form.querySelector(`#${id}`);
    this.el = {
      price: $("order-price"),
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
      hints: { price: $("hint-price"), quantity: $("hint-quantity"), total: $("hint-total") },
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

  // A price picked in the book: a limit order at that price.
  pickPrice(price) {
    this.form.querySelector("#type-limit").checked = true;
    this.el.price.value = price;
    this.onChange();
    this.recompute("price");
    this.el.quantity.focus();
  }

  onChange(event) {
    const market = this.type === "market";
    const buy = this.side === "buy";
    const { price, total, postOnly, ioc, submit } = this.el;
    price.disabled = market;
    price.placeholder = market ? "Market price" : "0.00";
    if (market) price.value = "";
    postOnly.disabled = ioc.disabled = market;
    if (market) postOnly.checked = ioc.checked = false;
    if (event?.target === postOnly && postOnly.checked) ioc.checked = false;
    if (event?.target === ioc && ioc.checked) postOnly.checked = false;
    total.disabled = market && !buy; // a market sell is sized in the base asset
    if (total.disabled) {
      total.value = "";
      this.lastEdited = "quantity";
    }
    submit.className = `btn btn-block ${buy ? "btn-buy" : "btn-sell"}`;
    submit.textContent = `${buy ? "Buy" : "Sell"} ${this.m.base}`;
    this.showAvailable();
    this.validate();
  }

  onInput(event) {
    const name = event.target.name;
    if (name === "quantity" || name === "total") this.lastEdited = name;
    if (name === "price" || name === "quantity" || name === "total") this.recompute(name);
    showMessage(this.el.error, "");
    showMessage(this.el.ok, "");
  }

  // Keep amount and total consistent: total = price x amount, or amount = total / price
  // rounded down to the lot.
  recompute(changed) {
    const price = Dec.parse(this.el.price.value);
    const qty = Dec.parse(this.el.quantity.value);
    const total = Dec.parse(this.el.total.value);
    if (this.type === "limit" && price && !price.isZero()) {
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
    const price = Dec.parse(this.el.price.value);
    if (!price || price.isZero()) {
      this.hint("price", "Enter a price first.");
      this.el.price.focus();
      return;
    }
    this.el.quantity.value = this.floorLots(share.divFloor(price, this.lot.places + 2));
    this.lastEdited = "quantity";
    this.recompute("quantity");
  }

  // --- checks (advice; the API decides) -----------------------------------------------------

  hint(field, text) {
    const el = this.el.hints[field];
    el.textContent = text || "";
    el.classList.toggle("error", Boolean(text));
    this.el[field].setAttribute("aria-invalid", text ? "true" : "false");
  }

  validate() {
    const limit = this.type === "limit";
    const price = Dec.parse(this.el.price.value);
    const qty = Dec.parse(this.el.quantity.value);
    const total = Dec.parse(this.el.total.value);
    const has = (el) => el.value.trim() !== "";
    let priceHint = "";
    if (limit && has(this.el.price)) {
      if (!price) priceHint = "Enter a number such as 20.15.";
      else if (price.isZero() || price.isNegative()) priceHint = "The price must be above zero.";
      else if (!price.isMultipleOf(this.tick)) priceHint = `The price must be a multiple of the tick size, ${this.m.tick_size}.`;
    }
    let qtyHint = "";
    if (has(this.el.quantity)) {
      if (!qty) qtyHint = "Enter a number such as 1.5.";
      else if (qty.isZero() || qty.isNegative()) qtyHint = "The amount must be above zero.";
      else if (!qty.isMultipleOf(this.lot)) qtyHint = `The amount must be a multiple of the lot size, ${this.m.lot_size}.`;
    }
    let totalHint = "";
    const value = limit ? (price && qty ? price.mul(qty) : null) : this.type === "market" && this.lastEdited === "total" ? total : null;
    if (has(this.el.total) && !total) totalHint = "Enter a number such as 100.";
    else if (value && !value.isZero() && value.cmp(this.minNotional) < 0) {
      totalHint = `The order value must be at least ${this.m.min_notional} ${this.m.quote}.`;
    } else if (value) {
      const needed = this.side === "buy" ? value : qty;
      const available = this.available(this.side === "buy" ? this.m.quote : this.m.base);
      if (needed && available && needed.cmp(available) > 0) totalHint = "More than your available balance.";
    }
    this.hint("price", priceHint);
    this.hint("quantity", qtyHint);
    this.hint("total", totalHint);
    this.estimate(price, qty, total);
  }

  estimate(price, qty, total) {
    const q = this.m.quote;
    let text = "–";
    if (this.type === "limit" && price && qty) text = `${grouped(price.mul(qty).trimmed())} ${q}`;
    else if (this.type === "market" && this.lastEdited === "total" && total) text = `${grouped(total.trimmed())} ${q}`;
    else if (this.type === "market" && qty) {
      const best = this.side === "buy" ? this.book.bestAsk() : this.book.bestBid();
      text = best ? `≈ ${grouped(best.mul(qty).trimmed())} ${q}` : "No price in the book";
    }
    this.el.estimate.textContent = text;
  }

  // --- sending ----------------------------------------------------------------------------------

  body() {
    const body = { symbol: this.m.symbol, side: this.side, type: this.type };
    const value = (el) => el.value.trim();
    if (this.type === "limit") {
      if (!value(this.el.price)) return "Enter a price.";
      body.price = value(this.el.price);
      if (this.el.ioc.checked) body.time_in_force = "IOC";
      if (this.el.postOnly.checked) body.post_only = true;
    }
    if (this.type === "market" && this.side === "buy" && this.lastEdited === "total" && value(this.el.total)) {
      body.quote_quantity = value(this.el.total);
    } else {
      if (!value(this.el.quantity)) return "Enter an amount.";
      body.quantity = value(this.el.quantity);
    }
    return body;
  }

  async submit() {
    showMessage(this.el.error, "");
    showMessage(this.el.ok, "");
    const body = this.body();
    if (typeof body === "string") {
      showMessage(this.el.error, body);
      return;
    }
    const label = this.el.submit.textContent;
    this.el.submit.disabled = true;
    this.el.submit.textContent = "Placing…";
    try {
      const { status, data } = await api("POST", "/api/v1/order", { body });
      showMessage(this.el.ok, this.summary(data, status));
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

  summary(order, status) {
    const what = `${title(order.side)} ${order.type}`;
    const size = order.quantity
      ? `${Dec.of(order.quantity).fixed(this.lot.places)} ${this.m.base}`
      : `${order.quote_quantity} ${this.m.quote}`;
    const at = order.price ? ` at ${Dec.of(order.price).fixed(this.tick.places)}` : "";
    if (status === 202) return `${what} order accepted (${size}${at}): waiting for the matcher.`;
    const state = { new: "placed", partially_filled: "partly filled", filled: "filled", expired: "expired", cancelled: "cancelled" }[order.status] || order.status;
    return `${what} order ${state}: ${size}${at}.`;
  }
}
