// The API keys page: keys are created through POST /api/v1/api-keys (the session may, an API key
// may not), so the secret is shown once, in this page only, and a reload never creates another
// key. Without JavaScript the form posts to the page itself. Secrets copy to the clipboard.
import { api, describe, showMessage } from "./api.js";
import { esc, stamp } from "./format.js";

const form = document.getElementById("api-key-form");
const slot = document.getElementById("new-key-slot");
const error = document.getElementById("api-key-error");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

function secretBox(key) {
  return (
    '<div class="secret-box" role="status" id="new-key">' +
    "<p><strong>Copy the secret now.</strong> It is shown only once: the exchange does not store it.</p>" +
    '<dl class="kv">' +
    `<div><dt>API key</dt><dd><code id="new-key-id">${esc(key.api_key)}</code></dd></div>` +
    `<div><dt>Secret</dt><dd><code id="new-key-secret">${esc(key.api_secret)}</code> ` +
    '<button type="button" class="btn btn-small" data-copy="new-key-secret">Copy</button></dd></div>' +
    `<div><dt>Permissions</dt><dd>${esc(key.permissions.join(", "))}</dd></div></dl></div>`
  );
}

function keyRow(key) {
  return (
    `<tr data-key="${esc(key.api_key)}"><td class="left">${esc(key.label || "—")}</td>` +
    `<td class="left"><code>${esc(key.api_key.slice(0, 12))}…</code></td>` +
    `<td class="left">${esc(key.permissions.join(", "))}</td>` +
    `<td class="left num muted"><time datetime="${key.created_at}">${stamp(key.created_at)}</time></td>` +
    '<td class="left num muted">never</td>' +
    `<td class="num"><form method="post" action="/account/api-keys/${encodeURIComponent(key.api_key)}/revoke">` +
    `<input type="hidden" name="csrfmiddlewaretoken" value="${esc(csrf)}">` +
    `<button type="submit" class="btn btn-small btn-danger" aria-label="Revoke key ${esc(key.label || key.api_key)}">Revoke</button></form></td></tr>`
  );
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage(error, "");
  const label = form.elements.label.value.trim();
  const permissions = [...form.querySelectorAll('input[name="permissions"]:checked')].map((i) => i.value);
  if (!permissions.length) {
    showMessage(error, "Choose at least one permission.");
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const { data } = await api("POST", "/api/v1/api-keys", { body: { label, permissions } });
    slot.innerHTML = secretBox(data);
    const body = document.querySelector("#api-keys tbody");
    body.querySelector("tr.empty")?.remove();
    body.insertAdjacentHTML("afterbegin", keyRow(data));
    form.elements.label.value = "";
  } catch (err) {
    showMessage(error, describe(err));
  } finally {
    button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const code = document.getElementById(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(code?.textContent || "");
    button.textContent = "Copied";
  } catch {
    window.getSelection()?.selectAllChildren(code);
    button.textContent = "Press Ctrl+C";
  }
});
