// The Trade page: ticker bar, chart, order book, recent trades, order form and the trader's
// orders, all started from the data the server rendered, then kept live (docs/web-ui.md).
import { Balances } from "./balances.js";
import { OrderBook } from "./book.js";
import { CandleChart } from "./chart.js";
import { Dec } from "./decimal.js";
import { direction, grouped, localizeTimes, pageData, signedPercent, trimZeros } from "./format.js";
import { OrderForm } from "./orderform.js";
import { OrdersPanel } from "./orders.js";
import { RecentTrades } from "./trades.js";
import { streams } from "./ws.js";

const d = pageData();
const m = d.market;
const $ = (id) => document.getElementById(id);

// --- ticker bar -------------------------------------------------------------------------------

function showTicker(t) {
  const set = (id, text) => {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const dir = direction(t.price_change_percent);
  set("tk-change", signedPercent(t.price_change_percent));
  $("tk-change").className = `num chg ${dir}`;
  set("tk-high", grouped(t.high));
  set("tk-low", grouped(t.low));
  set("tk-volume", grouped(trimZeros(t.volume)));
  set("tk-quote-volume", grouped(trimZeros(t.quote_volume)));
  if (t.last_price) showLast(t.last_price, dir);
}

function showLast(price, dir) {
  const text = grouped(price);
  for (const id of ["tk-last", "book-last"]) {
    const el = $(id);
    el.textContent = text;
    el.className = `${el.className.replace(/\b(up|down)\b/g, "").trim()} ${dir}`.trim();
  }
  document.title = `${text} ${m.base}/${m.quote} · Exchange`;
}

streams.subscribe([`ticker.${d.symbol}`], showTicker);

// --- book, chart, trades ------------------------------------------------------------------------

let form = null;
const book = new OrderBook({
  symbol: d.symbol,
  tickSize: m.tick_size,
  lotSize: m.lot_size,
  rows: d.book_rows,
  asksEl: $("book-asks"),
  bidsEl: $("book-bids"),
  spreadEl: $("book-spread"),
  onPick: (price) => form?.pickPrice(price),
});
book.seed(d.depth);
book.follow();
$("book-group").addEventListener("change", (event) => book.setGroup(event.target.value));

const chart = new CandleChart({
  el: $("chart"),
  legendEl: $("chart-legend"),
  noteEl: $("chart-note"),
  symbol: d.symbol,
  tickSize: m.tick_size,
  interval: d.interval,
  klines: d.klines,
});
const savedInterval = window.localStorage?.getItem("chart-interval");
for (const button of document.querySelectorAll("[data-interval]")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll("[data-interval]")) b.setAttribute("aria-pressed", String(b === button));
    window.localStorage?.setItem("chart-interval", button.dataset.interval);
    chart.setInterval(button.dataset.interval);
  });
}
if (savedInterval && savedInterval !== d.interval && d.intervals.includes(savedInterval)) {
  for (const b of document.querySelectorAll("[data-interval]")) b.setAttribute("aria-pressed", String(b.dataset.interval === savedInterval));
  chart.interval = savedInterval;
  chart.candles.clear();
}
chart.start();

new RecentTrades({
  el: $("trades"),
  symbol: d.symbol,
  trades: d.trades,
  onTrade: (trade, previous) => {
    form?.setLastPrice(trade.price);
    if (!previous) return;
    const cmp = Dec.of(trade.price).cmp(Dec.of(previous.price));
    showLast(trade.price, cmp > 0 ? "up" : cmp < 0 ? "down" : "");
  },
}).follow();

// --- the trader's side ----------------------------------------------------------------------------

if (d.user !== undefined && document.body.dataset.authenticated === "1") {
  const balances = new Balances(d.user ? d.user.balances : null);
  balances.follow();
  const formEl = $("order-form");
  if (formEl) {
    form = new OrderForm({ form: formEl, market: { ...m, symbol: d.symbol }, balances, book });
    form.setLastPrice(d.trades[0]?.price ?? d.ticker?.last_price);
  }
  const panel = new OrdersPanel({ root: $("orders"), symbol: d.symbol, initial: d.user, markets: [{ ...m, symbol: d.symbol }] });
  panel.follow();
  // What the form was answered is shown at once; the private stream then moves it on.
  formEl?.addEventListener("order-placed", (event) => panel.placed(event.detail));
}

localizeTimes();
