// Exact decimals for the browser: a BigInt count of 10^-scale units. Prices, sizes and balances
// arrive as decimal strings and are compared, summed, multiplied and checked against the
// market's grid without ever becoming a float (floats are used only to size bars and draw
// the chart). Parsing is strict, like the API: digits with an optional fraction, nothing else.

const PLAIN = /^(-?)(\d+)(?:\.(\d+))?$/;

export class Dec {
  constructor(units, scale) {
    this.units = units; // BigInt
    this.scale = scale; // number of decimal places
  }

  static parse(text) {
    if (typeof text !== "string") return null;
    const m = PLAIN.exec(text.trim());
    if (!m) return null;
    const frac = m[3] || "";
    const units = BigInt(m[2] + frac);
    return new Dec(m[1] ? -units : units, frac.length);
  }

  static of(text) {
    const d = Dec.parse(text);
    if (d === null) throw new Error(`not a decimal: ${text}`);
    return d;
  }

  static zero(scale = 0) {
    return new Dec(0n, scale);
  }

  rescale(scale) {
    if (scale < this.scale) throw new Error("rescale would drop digits");
    return new Dec(this.units * 10n ** BigInt(scale - this.scale), scale);
  }

  static align(a, b) {
    const s = Math.max(a.scale, b.scale);
    return [a.rescale(s), b.rescale(s), s];
  }

  add(o) {
    const [a, b, s] = Dec.align(this, o);
    return new Dec(a.units + b.units, s);
  }

  sub(o) {
    const [a, b, s] = Dec.align(this, o);
    return new Dec(a.units - b.units, s);
  }

  mul(o) {
    return new Dec(this.units * o.units, this.scale + o.scale);
  }

  cmp(o) {
    const [a, b] = Dec.align(this, o);
    return a.units < b.units ? -1 : a.units > b.units ? 1 : 0;
  }

  isZero() {
    return this.units === 0n;
  }

  isNegative() {
    return this.units < 0n;
  }

  // floor(this / o) written with `places` decimals (o > 0).
  divFloor(o, places) {
    const [a, b] = Dec.align(this, o);
    const num = a.units * 10n ** BigInt(places);
    let q = num / b.units;
    if (num % b.units !== 0n && num < 0n !== b.units < 0n) q -= 1n;
    return new Dec(q, places);
  }

  // The multiple of `unit` at or below this one, written at the unit's places.
  floorTo(unit) {
    const [a, u] = Dec.align(this, unit);
    let q = a.units / u.units;
    if (a.units % u.units !== 0n && a.units < 0n) q -= 1n;
    return new Dec(q * unit.units, unit.scale);
  }

  // The multiple of `unit` at or above this one.
  ceilTo(unit) {
    const [a, u] = Dec.align(this, unit);
    let q = a.units / u.units;
    if (a.units % u.units !== 0n && a.units > 0n) q += 1n;
    return new Dec(q * unit.units, unit.scale);
  }

  isMultipleOf(unit) {
    const [a, u] = Dec.align(this, unit);
    return a.units % u.units === 0n;
  }

  // Written with exactly `places` decimals; refuses to drop non-zero digits.
  fixed(places) {
    if (places >= this.scale) return this.rescale(places).toString();
    const cut = 10n ** BigInt(this.scale - places);
    if (this.units % cut !== 0n) throw new Error("fixed() would round");
    return new Dec(this.units / cut, places).toString();
  }

  toString() {
    const neg = this.units < 0n;
    let digits = (neg ? -this.units : this.units).toString();
    if (this.scale > 0) {
      digits = digits.padStart(this.scale + 1, "0");
      digits = `${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
    }
    return (neg ? "-" : "") + digits;
  }

  // Without trailing fractional zeros: "12.500" -> "12.5".
  trimmed() {
    return trimZeros(this.toString());
  }

  // For drawing only (bar widths, chart coordinates), never for money.
  toNumber() {
    return Number(this.toString());
  }

  // The number of significant decimal places: "0.010" -> 2.
  get places() {
    return Dec.parse(this.trimmed()).scale;
  }
}

export function trimZeros(text) {
  if (text == null || !text.includes(".")) return text;
  return text.replace(/0+$/, "").replace(/\.$/, "");
}
