"""Dump and load the whole engine state as plain data.

``dump(engine)`` returns only dict / list / str / int / bool / None (Decimals as strings, via
the codec's spec form), so it serializes to JSON or msgpack (balances above 2**64 atoms need
JSON). It is canonical: the same state always dumps to the same value, which is what
``MatchingEngine.state_hash`` hashes. Everything that can influence future events is in it:
markets with their counters, every resting order in time priority, the open-order creation
order (CancelAll walks it), balances, transfers, and the ids already used.

``load(dump(e))`` behaves exactly like ``e``: replaying the commands after the snapshot gives
the same events and the same ``state_hash`` as running straight through.
"""

from __future__ import annotations

from typing import Any

from matching.arith import compile_market
from matching.balances import Transfer
from matching.book import Order
from matching.codec import decode_spec, encode_spec
from matching.engine import Market, MatchingEngine
from matching.types import Side, StpMode

VERSION = 1


def dump(engine: MatchingEngine) -> dict[str, Any]:
    markets = []
    for m in engine.markets_by_symbol.values():
        book = m.book
        markets.append(
            {
                "spec": encode_spec(m.spec),
                "trade_id": m.trade_id,
                "update_id": m.update_id,
                "bids": [[lv.price, [o.order_id for o in lv.orders()]] for lv in book.levels(True)],
                "asks": [
                    [lv.price, [o.order_id for o in lv.orders()]] for lv in book.levels(False)
                ],
            }
        )
    bb = engine.balances_book
    return {
        "version": VERSION,
        "fee_account": engine.fee_account,
        "seq": engine.seq,
        "markets": markets,
        "orders": [
            [
                o.order_id,
                o.account,
                o.symbol,
                o.side.value,
                o.price,
                o.quantity,
                o.filled,
                o.filled_quote,
                o.client_order_id,
                o.stp_mode.value,
            ]
            for o in engine.open_orders_by_id.values()
        ],
        "balances": sorted(
            [account, asset, bal.available, bal.locked]
            for account, asset, bal in bb.items()
            if bal.available or bal.locked
        ),
        "transfers": sorted(
            [tid, t.state, t.account, t.asset, t.amount, t.fee] for tid, t in bb.transfers.items()
        ),
        "deposited": dict(sorted(bb.deposited.items())),
        "withdrawn": dict(sorted(bb.withdrawn.items())),
        "order_ids": sorted(engine.used_order_ids),
        "client_order_ids": sorted(
            [account, sorted(ids)] for account, ids in engine.used_client_ids.items() if ids
        ),
    }


def load(data: dict[str, Any]) -> MatchingEngine:
    """Rebuild an engine from :func:`dump` output."""
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
    engine = MatchingEngine(data["fee_account"])
    engine.seq = data["seq"]
    orders: dict[int, Order] = {}
    for oid, account, symbol, side, price, qty, filled, fq, cid, stp in data["orders"]:
        o = Order(oid, account, symbol, Side(side), price, qty, filled, fq, cid, StpMode(stp))
        orders[oid] = o
        engine._remember(o)
    for md in data["markets"]:
        spec = decode_spec(md["spec"])
        m = Market(spec, compile_market(spec))
        m.trade_id = md["trade_id"]
        m.update_id = md["update_id"]
        engine.markets_by_symbol[spec.symbol] = m
        for key, is_buy in (("bids", True), ("asks", False)):
            for _price, ids in md[key]:
                for oid in ids:
                    m.book.append(orders[oid], is_buy)
    bb = engine.balances_book
    for account, asset, available, locked in data["balances"]:
        bal = bb.get(account, asset)
        bal.available = available
        bal.locked = locked
    for tid, state, account, asset, amount, *fee in data["transfers"]:
        # No fee: a snapshot written before withdrawals had one.
        bb.transfers[tid] = Transfer(state, account, asset, amount, *fee)
    bb.deposited.update(data["deposited"])
    bb.withdrawn.update(data["withdrawn"])
    engine.used_order_ids.update(data["order_ids"])
    for account, ids in data["client_order_ids"]:
        engine.used_client_ids[account] = set(ids)
    return engine
