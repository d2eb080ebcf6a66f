// The candlestick chart with volume: TradingView's lightweight-charts (npm, served from
// static/vendor/), candles from GET /klines, kept live from kline.<interval>.<SYMBOL>. The
// legend shows the hovered candle, else the current one, as exact decimal strings.
import { api } from "./api.js";
import { Dec, trimZeros } from "./decimal.js";
import { streams } from "./ws.js";

const UP = "#20c583";
const DOWN = "#f2495c";
const LIMIT = 300;

// lightweight-charts draws times as UTC; shift them so the axis reads local time.
const local = (ms) => (ms - new Date(ms).getTimezoneOffset() * 60000) / 1000;

export class CandleChart {
  constructor({ el, legendEl, noteEl, symbol, tickSize, interval, klines }) {
    this.el = el;
    this.legendEl = legendEl;
    this.noteEl = noteEl;
    this.symbol = symbol;
    this.tick = Dec.of(tickSize);
    this.interval = interval;
    this.candles = new Map(); // open time ms -> kline in the REST shape
    this.entry = null;
    this.buffer = null;
    this.generation = 0;
    this.hovered = null;
    for (const k of klines || []) this.candles.set(k.open_time, k);
  }

  async start() {
    try {
      const lib = await import("lightweight-charts");
      this.build(lib);
    } catch (err) {
      console.error(err);
      this.note("Chart unavailable: its library is not installed (./scripts/run installs it with npm).");
    }
    this.drawAll();
    this.follow();
  }

  build(lib) {
    const { createChart, CandlestickSeries, HistogramSeries, ColorType, CrosshairMode } = lib;
    this.chart = createChart(this.el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: "#12161d" },
        textColor: "#8792a4",
        fontFamily: getComputedStyle(document.body).fontFamily,
        fontSize: 11,
      },
      grid: { vertLines: { color: "#1a212b" }, horzLines: { color: "#1a212b" } },
      rightPriceScale: { borderColor: "#222a36" },
      timeScale: { borderColor: "#222a36", timeVisible: true, secondsVisible: false, rightOffset: 4 },
      crosshair: { mode: CrosshairMode.Normal },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceFormat: { type: "price", precision: this.tick.places, minMove: this.tick.toNumber() },
    });
    this.series.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.26 } });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" },
      priceScaleId: "",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.chart.subscribeCrosshairMove((param) => {
      const time = param?.time;
      this.hovered = time === undefined ? null : [...this.candles.values()].find((k) => local(k.open_time) === time) || null;
      this.legend();
    });
  }

  setInterval(interval) {
    if (interval === this.interval) return;
    this.interval = interval;
    this.candles.clear();
    this.drawAll();
    this.follow();
  }

  follow() {
    if (this.entry) streams.unsubscribe(this.entry);
    const interval = this.interval;
    this.entry = streams.subscribe(
      [`kline.${interval}.${this.symbol}`],
      (data) => {
        if (data.k.i !== this.interval) return;
        if (this.buffer) this.buffer.push(data.k);
        else this.put(data.k);
      },
      () => this.reload(interval),
    );
  }

  // Subscribed: read the candles, then apply what the stream sent meanwhile.
  async reload(interval) {
    const generation = ++this.generation;
    this.buffer = [];
    try {
      const { data } = await api("GET", "/api/v1/klines", {
        params: { symbol: this.symbol, interval, limit: LIMIT },
      });
      if (generation !== this.generation || interval !== this.interval) return;
      this.candles.clear();
      for (const k of data) this.candles.set(k.open_time, k);
      this.drawAll();
    } catch {
      // keep what is shown; the stream still updates it
    } finally {
      if (generation === this.generation) {
        const buffered = this.buffer || [];
        this.buffer = null;
        buffered.forEach((k) => this.put(k));
      }
    }
  }

  // One candle from the stream ({t, o, h, l, c, v, ...}).
  put(k) {
    const kline = {
      open_time: k.t,
      close_time: k.T,
      open: k.o,
      high: k.h,
      low: k.l,
      close: k.c,
      volume: k.v,
      quote_volume: k.q,
      trades: k.n,
    };
    const newest = Math.max(0, ...this.candles.keys());
    this.candles.set(k.t, kline);
    if (k.t < newest) {
      this.drawAll(); // an older candle changed: redraw everything
      return;
    }
    if (this.series) {
      this.series.update(this.bar(kline));
      this.volume.update(this.bar_volume(kline));
    }
    this.note("");
    this.legend();
  }

  bar(k) {
    return { time: local(k.open_time), open: +k.open, high: +k.high, low: +k.low, close: +k.close };
  }

  bar_volume(k) {
    const up = Dec.of(k.close).cmp(Dec.of(k.open)) >= 0;
    return { time: local(k.open_time), value: +k.volume, color: up ? "rgba(32,197,131,.45)" : "rgba(242,73,92,.45)" };
  }

  drawAll() {
    const sorted = [...this.candles.values()].sort((a, b) => a.open_time - b.open_time);
    if (this.series) {
      this.series.setData(sorted.map((k) => this.bar(k)));
      this.volume.setData(sorted.map((k) => this.bar_volume(k)));
    }
    this.note(sorted.length ? "" : "No trades yet in this interval.");
    this.legend();
  }

  current() {
    const newest = Math.max(-1, ...this.candles.keys());
    return this.candles.get(newest) || null;
  }

  legend() {
    const k = this.hovered || this.current();
    const set = (key, value) => {
      const el = this.legendEl.querySelector(`[data-k="${key}"]`);
      if (el) el.textContent = value;
    };
    set("o", k ? k.open : "–");
    set("h", k ? k.high : "–");
    set("l", k ? k.low : "–");
    set("c", k ? k.close : "–");
    set("v", k ? trimZeros(k.volume) : "–");
    if (k) {
      const up = Dec.of(k.close).cmp(Dec.of(k.open)) >= 0;
      this.legendEl.querySelector('[data-k="c"]').className = up ? "up" : "down";
    }
    this.legendEl.dataset.openTime = k ? String(k.open_time) : "";
  }

  note(text) {
    if (this.noteEl) this.noteEl.textContent = text;
  }
}
