// Every page's header: the live connection state, the market switcher's last prices (ticker
// streams), and dropdowns that close on Escape or a click elsewhere.
import { streams } from "./ws.js";
import { grouped, localizeTimes } from "./format.js";

const LABELS = { connecting: "Connecting", live: "Live", reconnecting: "Reconnecting", offline: "Offline" };

function showState(state) {
  const el = document.getElementById("conn-state");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".conn-label").textContent = LABELS[state] || state;
  el.title = state === "live" ? "Live data connected" : "Live data interrupted: reconnecting";
}

window.addEventListener("ws-state", (event) => showState(event.detail));
showState(streams.state);

const markets = JSON.parse(document.getElementById("header-markets")?.textContent || "[]");
const rows = new Map(
  [...document.querySelectorAll(".switcher-row")].map((row) => [row.dataset.symbol, row]),
);
const names = markets.slice(0, 20).map((m) => `ticker.${m.symbol}`);
if (names.length) {
  streams.subscribe(names, (data) => {
    const cell = rows.get(data.s || data.symbol)?.querySelector('[data-field="last"]');
    if (cell && data.last_price) cell.textContent = grouped(data.last_price);
  });
}

for (const details of document.querySelectorAll("details.dropdown")) {
  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && details.open) {
      details.open = false;
      details.querySelector("summary").focus();
    }
  });
}
document.addEventListener("click", (event) => {
  for (const details of document.querySelectorAll("details.dropdown[open]")) {
    if (!details.contains(event.target)) details.open = false;
  }
});

localizeTimes();
