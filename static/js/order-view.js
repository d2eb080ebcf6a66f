// How an order of any type is merged, labelled and grouped (docs/order-types.md): pure functions,
// no DOM, shared by the orders panel (orders.js) and run under Node by
// tests/browser/test_js_orders.py.
import { Dec } from "./decimal.js";
import { statusLabel, title } from "./format.js";

// Open: not yet in the engine (pending), waiting outside the book for its trigger (untriggered),
// or in the book.
export const OPEN = new Set(["pending", "untriggered", "new", "partially_filled"]);

// How far an order has come. An order only moves forward (pending, untriggered, in the book,
// ended; filled amounts only grow), so of two views of it the further one wins and a REST read a
// little older than a stream message never undoes it.
export function rank(order) {
  if (order.status === "pending") return 0;
  if (order.status === "untriggered") return 1;
  return OPEN.has(order.status) ? 2 : 3;
}

// The more advanced of two views of one order.
export function mergeOrder(old, incoming) {
  if (!old) return incoming;
  if (!incoming.status) return { ...old, price: incoming.price ?? old.price, quantity: incoming.quantity ?? old.quantity };
  if (rank(incoming) < rank(old)) return old;
  if (
    rank(incoming) === rank(old) &&
    old.filled_quantity &&
    incoming.filled_quantity &&
    Dec.of(incoming.filled_quantity).cmp(Dec.of(old.filled_quantity)) < 0
  ) {
    return old;
  }
  const merged = { ...old };
  for (const [key, value] of Object.entries(incoming)) if (value !== undefined) merged[key] = value;
  merged.created_at = old.created_at ?? incoming.created_at;
  merged.post_only = old.post_only ?? incoming.post_only;
  return merged;
}

// An `orders` stream message as an order. Fields the message leaves null (the publisher did not
// see the placement) or does not carry are left undefined, so they never erase what is known.
export function fromMessage(m) {
  const known = (value) => value ?? undefined;
  let status = m.status || undefined;
  // A "triggered" update: the order left its wait and is now executed as the order it becomes
  // (in the book unless a later update says it traded or ended).
  if (m.update === "triggered" && (!status || status === "untriggered")) status = "new";
  return {
    order_id: m.order_id,
    client_order_id: m.client_order_id,
    symbol: m.symbol,
    side: m.side,
    type: m.type,
    time_in_force: m.time_in_force,
    price: m.price,
    quantity: m.quantity,
    quote_quantity: m.quote_quantity,
    filled_quantity: m.filled_quantity,
    filled_quote: m.filled_quote,
    status,
    stop_price: known(m.stop_price),
    trailing_delta: known(m.trailing_delta),
    iceberg_quantity: known(m.iceberg_quantity),
    expire_time: known(m.expire_time),
    list_id: known(m.list_id),
    trigger_price: known(m.trigger_price),
    triggered: m.update === "triggered" ? true : undefined,
    created_at: m.update === "new" || m.update === "rejected" ? m.E : undefined,
    updated_at: m.E,
  };
}

const TYPES = {
  limit: "Limit",
  market: "Market",
  stop_limit: "Stop-limit",
  stop_market: "Stop-market",
  take_profit_limit: "Take-profit limit",
  take_profit_market: "Take-profit market",
};

export function typeLabel(type) {
  return TYPES[type] || title(String(type ?? "").replaceAll("_", " "));
}

export function isConditional(order) {
  return order.type in TYPES && order.type !== "limit" && order.type !== "market";
}

// The status an open order's row shows: a conditional order that has left its wait says so.
export function openStatusLabel(order) {
  if (order.status === "new" && (order.trigger_price != null || order.triggered)) return "Triggered";
  return statusLabel(order.status);
}

// A trailing delta in basis points as a percentage: 150 -> "1.5 %" (exact, no float).
export function trailingLabel(bps) {
  if (bps == null) return "";
  return `${new Dec(BigInt(bps), 2).trimmed()} %`;
}

export function listKey(order) {
  return order.list_id == null ? null : `${order.symbol}:${order.list_id}`;
}

// Orders in the given order (newest first), except that the legs of an order list come
// together, at the place of its first leg met, in leg order (the limit leg first: ids ascend).
export function groupLists(orders) {
  const legs = new Map();
  for (const o of orders) {
    const key = listKey(o);
    if (key === null) continue;
    if (!legs.has(key)) legs.set(key, []);
    legs.get(key).push(o);
  }
  const out = [];
  const done = new Set();
  for (const o of orders) {
    const key = listKey(o);
    if (key === null) {
      out.push(o);
    } else if (!done.has(key)) {
      done.add(key);
      out.push(...legs.get(key).sort((a, b) => a.order_id - b.order_id));
    }
  }
  return out;
}
