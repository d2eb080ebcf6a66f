// The Wallet page: balances kept live from the `balances` stream; deposits and withdrawals
// through POST /user/deposit and /user/withdraw (with the two-factor code when it is on),
// their histories from GET /user/deposits and /user/withdrawals, read again whenever a transfer
// moves a balance (and every few seconds while a withdrawal is on its way); a pending
// withdrawal's cancel; CSV statements through /user/statements.
import { api, describe, showMessage } from "./api.js";
import { Balances } from "./balances.js";
import { Dec } from "./decimal.js";
import { esc, grouped, localizeTimes, pageData, stamp, statusLabel } from "./format.js";

const d = pageData();
const decimals = new Map(d.assets.map((a) => [a.code, a.decimals]));
const names = new Map(d.assets.map((a) => [a.code, a.name]));
const policies = new Map(d.assets.map((a) => [a.code, a]));
const ADDRESS_FORMATS = {
  any: "Any address",
  evm: "0x followed by 40 hexadecimal digits",
  bitcoin: "A Bitcoin address: bc1…, 1… or 3…",
  solana: "A Solana address (base58)",
};
const $ = (id) => document.getElementById(id);

// --- balances -----------------------------------------------------------------------------------

const balances = new Balances(d.balances);

function fixed(value, places) {
  return Dec.of(value).fixed(places);
}

function renderBalances() {
  const body = $("balances").querySelector("tbody");
  const codes = [...new Set([...d.assets.map((a) => a.code), ...balances.all().map((b) => b.asset)])].sort();
  body.innerHTML = codes
    .map((code) => {
      const places = decimals.get(code) ?? 0;
      const b = balances.get(code) || { available: "0", locked: "0" };
      const total = Dec.of(b.available).add(Dec.of(b.locked));
      return (
        `<tr data-asset="${esc(code)}"><th scope="row" class="left"><span class="coin small" aria-hidden="true">${esc(code[0])}</span>` +
        `<strong>${esc(code)}</strong> <span class="muted wide-only">${esc(names.get(code) || "")}</span></th>` +
        `<td class="num" data-field="available">${grouped(fixed(b.available, places))}</td>` +
        `<td class="num" data-field="locked">${grouped(fixed(b.locked, places))}</td>` +
        `<td class="num mid-only" data-field="total">${grouped(total.fixed(places))}</td></tr>`
      );
    })
    .join("");
  showWithdrawable();
}

function showWithdrawable() {
  const asset = $("withdraw-asset").value;
  const b = balances.get(asset);
  $("withdraw-available").textContent = `Available: ${b ? grouped(b.available) : "0"} ${asset}`;
  showQuote();
}

// The fee, what the withdrawal holds, and the asset's limits, as the trader types. Advice only:
// the API checks everything again.
function showQuote() {
  const asset = $("withdraw-asset").value;
  const p = policies.get(asset);
  if (!p) return;
  $("withdraw-address-hint").textContent = ADDRESS_FORMATS[p.address_format] || "";
  $("withdraw-fee").textContent = `${grouped(p.withdrawal_fee)} ${asset}`;
  const amount = Dec.parse($("withdraw-amount").value);
  $("withdraw-total").textContent =
    amount && amount.units > 0n ? `${grouped(amount.add(Dec.of(p.withdrawal_fee)).trimmed())} ${asset}` : "–";
  const parts = [`min ${grouped(p.withdrawal_min)}`];
  if (p.withdrawal_daily_limit !== null) {
    const left = Dec.of(p.withdrawal_daily_limit).sub(Dec.of(p.withdrawal_used_24h));
    parts.push(`${grouped(left.units > 0n ? left.trimmed() : "0")} of ${grouped(p.withdrawal_daily_limit)} left for 24 h`);
  }
  const auto = Dec.of(p.withdrawal_auto_approve_max);
  parts.push(auto.units > 0n ? `up to ${grouped(p.withdrawal_auto_approve_max)} approved at once` : "approved by an operator");
  $("withdraw-limits").textContent = parts.join(" · ");
}

// --- histories ----------------------------------------------------------------------------------

function depositRow(x) {
  return (
    `<tr data-id="${x.deposit_id}"><td class="left num muted"><time datetime="${x.created_at}">${stamp(x.created_at)}</time></td>` +
    `<td class="left">${esc(x.asset)}</td><td class="num">${grouped(x.amount)}</td>` +
    `<td class="left"><span class="status status-${esc(x.status)}">${statusLabel(x.status)}</span></td></tr>`
  );
}

function withdrawalRow(x) {
  const reason = x.reason ? ` <span class="muted small">${esc(x.reason)}</span>` : "";
  const cancel =
    x.status === "pending"
      ? `<button type="button" class="btn btn-small btn-danger" data-cancel="${x.withdrawal_id}">Cancel</button>`
      : "";
  return (
    `<tr data-id="${x.withdrawal_id}"><td class="left num muted"><time datetime="${x.created_at}">${stamp(x.created_at)}</time></td>` +
    `<td class="left">${esc(x.asset)}</td><td class="num">${grouped(x.amount)}</td><td class="num mid-only">${grouped(x.fee)}</td>` +
    `<td class="left wide-only"><code class="addr" title="${esc(x.address)}">${esc(x.address)}</code></td>` +
    `<td class="left"><span class="status status-${esc(x.status)}">${statusLabel(x.status)}</span>${reason}</td>` +
    `<td class="num">${cancel}</td></tr>`
  );
}

function renderRows(tableId, rows, row, empty, cols) {
  $(tableId).querySelector("tbody").innerHTML = rows.length
    ? rows.map(row).join("")
    : `<tr class="empty"><td colspan="${cols}" class="muted">${empty}</td></tr>`;
}

let reading = null;
let followUp = null;
async function readHistories() {
  if (reading) return reading;
  reading = (async () => {
    try {
      const [deposits, withdrawals] = await Promise.all([
        api("GET", "/api/v1/user/deposits", { params: { limit: 20 } }),
        api("GET", "/api/v1/user/withdrawals", { params: { limit: 20 } }),
      ]);
      renderRows("deposits", deposits.data.results, depositRow, "No deposits yet.", 4);
      renderRows("withdrawals", withdrawals.data.results, withdrawalRow, "No withdrawals yet.", 7);
      // A withdrawal on its way changes status without moving a balance (approved, paid out):
      // look again while one is.
      const moving = withdrawals.data.results.some((w) => ["pending", "approved", "processing"].includes(w.status));
      clearTimeout(followUp);
      if (moving) followUp = setTimeout(readHistories, 3000);
    } catch {
      // shown as they were; the next balance change reads them again
    } finally {
      reading = null;
    }
  })();
  return reading;
}

balances.onChange((reason) => {
  renderBalances();
  if (reason === "deposit" || reason === "withdrawal" || reason === "release" || reason === "snapshot") readHistories();
});
balances.follow();

// --- forms --------------------------------------------------------------------------------------

function wire(formId, path, fields, okText) {
  const form = $(formId);
  const error = $(`${formId.split("-")[0]}-error`);
  const ok = $(`${formId.split("-")[0]}-ok`);
  const names = fields.filter((f) => form.elements[f]);
  form.addEventListener("input", () => {
    showMessage(error, "");
    showMessage(ok, "");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");
    showMessage(ok, "");
    const body = Object.fromEntries(names.map((f) => [f, form.elements[f].value.trim()]));
    const missing = names.find((f) => !body[f]);
    if (missing) {
      showMessage(error, missing === "totp" ? "Enter the code from your authenticator app." : `Enter the ${missing}.`);
      form.elements[missing].focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const { data } = await api("POST", path, { body });
      showMessage(ok, okText(data));
      form.elements.amount.value = "";
      if (form.elements.totp) form.elements.totp.value = "";
      showQuote();
      readHistories();
    } catch (err) {
      showMessage(error, describe(err));
      if (form.elements.totp) form.elements.totp.value = "";
      readHistories(); // a refused withdrawal is recorded as failed
    } finally {
      button.disabled = false;
    }
  });
}

wire("deposit-form", "/api/v1/user/deposit", ["asset", "amount"], (x) =>
  x.status === "confirmed"
    ? `Deposit of ${x.amount} ${x.asset} confirmed: it is credited within a second.`
    : `Deposit of ${x.amount} ${x.asset} recorded (${x.status}): ${d.deposit_hint}`,
);
wire("withdraw-form", "/api/v1/user/withdraw", ["asset", "amount", "address", "totp"], (x) =>
  x.status === "approved"
    ? `Withdrawal of ${x.amount} ${x.asset} approved: it is being paid out (fee ${x.fee} ${x.asset}).`
    : `Withdrawal of ${x.amount} ${x.asset} requested (${statusLabel(x.status)}): the amount and the fee (${x.fee} ${x.asset}) are held until it is paid out.`,
);
$("withdraw-asset").addEventListener("change", showWithdrawable);
$("withdraw-amount").addEventListener("input", showQuote);

// A pending withdrawal's Cancel button: the funds come back to available.
$("withdrawals").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-cancel]");
  if (!button) return;
  button.disabled = true;
  try {
    await api("POST", `/api/v1/user/withdrawals/${encodeURIComponent(button.dataset.cancel)}/cancel`);
    showMessage($("withdraw-ok"), "Withdrawal cancelled: the funds are available again.");
  } catch (err) {
    showMessage($("withdraw-error"), describe(err));
  } finally {
    readHistories();
  }
});

// --- statements ----------------------------------------------------------------------------------

const DAY_MS = 86_400_000;

function dateText(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function statementRow(x) {
  const period = `${dateText(x.start_time)} – ${dateText(x.end_time - DAY_MS)}`;
  const link = x.download ? `<a class="btn btn-small" href="${esc(x.download)}" download>Download CSV</a>` : "";
  return (
    `<tr data-id="${x.statement_id}"><td class="left num">${esc(period)}</td>` +
    `<td class="left"><span class="status status-${esc(x.status === "ready" ? "completed" : x.status)}">${statusLabel(x.status)}</span></td>` +
    `<td class="num">${x.status === "ready" ? grouped(String(x.rows)) : "–"}</td><td class="num">${link}</td></tr>`
  );
}

let polling = null;
async function readStatements() {
  try {
    const { data } = await api("GET", "/api/v1/user/statements");
    renderRows("statements", data, statementRow, "No statements yet.", 4);
    clearTimeout(polling);
    if (data.some((x) => x.status === "pending")) polling = setTimeout(readStatements, 1000);
  } catch {
    // shown as they were
  }
}

(function statements() {
  const form = $("statement-form");
  const today = new Date();
  form.elements.to.value = dateText(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  form.elements.from.value = dateText(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage($("statement-error"), "");
    const from = Date.parse(`${form.elements.from.value}T00:00:00Z`);
    const to = Date.parse(`${form.elements.to.value}T00:00:00Z`);
    if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
      showMessage($("statement-error"), "Choose a period: From, then To on or after it.");
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      // Whole UTC days: To is included.
      await api("POST", "/api/v1/user/statements", { body: { start_time: from, end_time: to + DAY_MS } });
      await readStatements();
    } catch (err) {
      showMessage($("statement-error"), describe(err));
    } finally {
      button.disabled = false;
    }
  });
  readStatements();
})();

renderBalances();
localizeTimes();
