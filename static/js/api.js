// The REST API as the pages use it: the same endpoints as bots (docs/api.md), authenticated by
// the session cookie, with the CSRF token on writes. Errors become ApiError with the API's
// stable code and its message in words; nothing fails silently.

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One request; resolves to {status, data}. A read answered 503 writes_not_persisted (the
// exchange is still recording your latest writes) is retried after its Retry-After.
export async function api(method, path, { params = null, body = null, retries = 3 } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (body !== null) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let resp;
  try {
    resp = await fetch(url, {
      method,
      headers,
      body: body === null ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network_error", "Could not reach the exchange. Check your connection and try again.");
  }
  let data = null;
  if (resp.status !== 204) {
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
  }
  if (resp.ok) return { status: resp.status, data };
  const error = data?.error || {};
  const code = error.code || `http_${resp.status}`;
  if (method === "GET" && resp.status === 503 && code === "writes_not_persisted" && retries > 0) {
    const wait = Number(resp.headers.get("Retry-After") || "1");
    await sleep(Math.min(wait, 5) * 1000);
    return api(method, path, { params, body, retries: retries - 1 });
  }
  throw new ApiError(resp.status, code, error.message || fallbackMessage(resp.status), error.details ?? null);
}

function fallbackMessage(status) {
  if (status === 401 || status === 403) return "Your session has ended. Log in again.";
  if (status === 429) return "Too many requests. Wait a moment and try again.";
  if (status >= 500) return "The exchange could not answer. Try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

// The error in words, for a message next to a form: the API's message, plus the field errors
// it lists for an invalid request.
export function describe(err) {
  if (!(err instanceof ApiError)) return "Something went wrong. Try again.";
  let text = err.message;
  const details = err.details;
  if (err.code === "throttled" && details?.retry_after) {
    text = `Too many requests. Try again in ${Math.ceil(details.retry_after)} s.`;
  } else if (details && typeof details === "object" && !Array.isArray(details)) {
    const parts = [];
    for (const [field, value] of Object.entries(details)) {
      if (Array.isArray(value)) parts.push(`${field === "non_field_errors" ? "" : `${field}: `}${value.join(" ")}`);
    }
    if (parts.length) text = `${text} ${parts.join("; ")}`;
  }
  return text;
}

export function showMessage(el, text) {
  if (!el) return;
  el.textContent = text || "";
  el.classList.toggle("shown", Boolean(text));
}
