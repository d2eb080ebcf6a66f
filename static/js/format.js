// How numbers and times are shown: the same rules as the server's template filters
// (marketdata/templatetags/exchange_ui.py), on decimal strings, never floats.
import { trimZeros } from "./decimal.js";

export { trimZeros };

// "1234567.890" -> "1,234,567.890"; null -> "–".
export function grouped(value) {
  if (value == null || value === "") return "–";
  const neg = value.startsWith("-");
  const text = neg ? value.slice(1) : value;
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? "" : text.slice(dot);
  return (neg ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + frac;
}

// "up", "down" or "" for a signed decimal string.
export function direction(value) {
  if (!value) return "";
  if (value.startsWith("-")) return "down";
  return /[1-9]/.test(value) ? "up" : "";
}

export function signedPercent(value) {
  if (value == null) return "–";
  return `${direction(value) === "up" ? "+" : ""}${value} %`;
}

export function pair(symbol) {
  return symbol.replace("_", "/");
}

const two = (n) => String(n).padStart(2, "0");

// Unix ms -> "HH:MM:SS", local time.
export function clock(ms) {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// Unix ms -> "MM-DD HH:MM:SS", local time.
export function stamp(ms) {
  const d = new Date(ms);
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock(ms)}`;
}

export function title(word) {
  return word ? word[0].toUpperCase() + word.slice(1) : "";
}

// A conditional order waits outside the book until the last trade price reaches its stop price.
const STATUS = { partially_filled: "Partially filled", untriggered: "Waiting for trigger" };
export function statusLabel(status) {
  return STATUS[status] || title(status.replaceAll("_", " "));
}

// Escape text for innerHTML templates.
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Show local times in server-rendered <time datetime="unix ms"> elements.
export function localizeTimes(root = document) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const ms = Number(el.getAttribute("datetime"));
    if (!Number.isFinite(ms)) continue;
    el.textContent = el.textContent.length > 8 ? stamp(ms) : clock(ms);
  }
}

// Briefly colour an element after its value changed.
export function flash(el, up) {
  el.classList.remove("flash-up", "flash-down");
  void el.offsetWidth; // restart the animation
  el.classList.add(up ? "flash-up" : "flash-down");
}

export function pageData() {
  const el = document.getElementById("page-data");
  return el ? JSON.parse(el.textContent) : null;
}
