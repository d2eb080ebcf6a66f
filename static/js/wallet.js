// The Wallet page: balances kept live from the `balances` stream; deposits and withdrawals
// through POST /user/deposit and /user/withdraw, their histories from GET /user/deposits and
// /user/withdrawals, read again whenever a transfer moves a balance.
import { api, describe, showMessage } from "./api.js";
import { Balances } from "./balances.js";
import { Dec } from "./decimal.js";
import { esc, grouped, localizeTimes, pageData, stamp, statusLabel } from "./format.js";

const d = pageData();
const decimals = new Map(d.assets.map((a) => [a.code, a.decimals]));
const names = new Map(d.assets.map((a) => [a.code, a.name]));
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
  return (
    `<tr data-id="${x.withdrawal_id}"><td class="left num muted"><time datetime="${x.created_at}">${stamp(x.created_at)}</time></td>` +
    `<td class="left">${esc(x.asset)}</td><td class="num">${grouped(x.amount)}</td>` +
    `<td class="left wide-only"><code class="addr">${esc(x.address)}</code></td>` +
    `<td class="left"><span class="status status-${esc(x.status)}">${statusLabel(x.status)}</span>${reason}</td></tr>`
  );
}

function renderRows(tableId, rows, row, empty, cols) {
  $(tableId).querySelector("tbody").innerHTML = rows.length
    ? rows.map(row).join("")
    : `<tr class="empty"><td colspan="${cols}" class="muted">${empty}</td></tr>`;
}

let reading = null;
async function readHistories() {
  if (reading) return reading;
  reading = (async () => {
    try {
      const [deposits, withdrawals] = await Promise.all([
        api("GET", "/api/v1/user/deposits", { params: { limit: 20 } }),
        api("GET", "/api/v1/user/withdrawals", { params: { limit: 20 } }),
      ]);
      renderRows("deposits", deposits.data.results, depositRow, "No deposits yet.", 4);
      renderRows("withdrawals", withdrawals.data.results, withdrawalRow, "No withdrawals yet.", 5);
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
  form.addEventListener("input", () => {
    showMessage(error, "");
    showMessage(ok, "");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(error, "");
    showMessage(ok, "");
    const body = Object.fromEntries(fields.map((f) => [f, form.elements[f].value.trim()]));
    const missing = fields.find((f) => !body[f]);
    if (missing) {
      showMessage(error, `Enter the ${missing}.`);
      form.elements[missing].focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const { data } = await api("POST", path, { body });
      showMessage(ok, okText(data));
      form.elements.amount.value = "";
      readHistories();
    } catch (err) {
      showMessage(error, describe(err));
      readHistories(); // a refused withdrawal is recorded as failed
    } finally {
      button.disabled = false;
    }
  });
}

wire("deposit-form", "/api/v1/user/deposit", ["asset", "amount"], (x) =>
  x.status === "confirmed"
    ? `Deposit of ${x.amount} ${x.asset} confirmed: it is credited within a second.`
    : `Deposit of ${x.amount} ${x.asset} recorded (${x.status}): an operator confirms it.`,
);
wire("withdraw-form", "/api/v1/user/withdraw", ["asset", "amount", "address"], (x) =>
  `Withdrawal of ${x.amount} ${x.asset} requested (${x.status}): the amount is held until it is paid out.`,
);
$("withdraw-asset").addEventListener("change", showWithdrawable);

renderBalances();
localizeTimes();
