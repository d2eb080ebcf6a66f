// The Markets page: every market's row kept live from its ticker stream; a row opens its
// trade page (the market's name is the row's link, for the keyboard).
import { streams } from "./ws.js";
import { api } from "./api.js";
import { Dec, trimZeros } from "./decimal.js";
import { direction, flash, grouped, signedPercent } from "./format.js";

const table = document.getElementById("markets");
const rows = new Map([...document.querySelectorAll(".market-row")].map((r) => [r.dataset.symbol, r]));

function show(ticker) {
  const row = rows.get(ticker.symbol);
  if (!row) return;
  const set = (field, text) => {
    const el = row.querySelector(`[data-field="${field}"]`);
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  };
  const cell = row.querySelector('[data-field="last_price"]');
  const before = Dec.parse((cell.textContent || "").replaceAll(",", ""));
  const now = ticker.last_price ? Dec.parse(ticker.last_price) : null;
  set("last_price", grouped(ticker.last_price));
  if (before && now && before.cmp(now) !== 0) flash(cell, now.cmp(before) > 0);
  const change = set("price_change_percent", signedPercent(ticker.price_change_percent));
  change.className = `chg ${direction(ticker.price_change_percent)}`;
  set("high", grouped(ticker.high));
  set("low", grouped(ticker.low));
  set("volume", grouped(trimZeros(ticker.volume)));
  set("quote_volume", grouped(trimZeros(ticker.quote_volume)));
}

if (table) {
  table.addEventListener("click", (event) => {
    const row = event.target.closest(".market-row");
    if (row && !event.target.closest("a, button")) window.location.href = row.dataset.href;
  });
  const names = [...rows.keys()].map((s) => `ticker.${s}`);
  streams.subscribe(
    names,
    (data) => show(data),
    // Subscribed (first time or after a reconnect): read every ticker, then follow the stream.
    async () => {
      try {
        const { data } = await api("GET", "/api/v1/tickers");
        data.forEach(show);
      } catch {
        // the stream keeps the rows current; the next reconnect reads them again
      }
    },
  );
}
