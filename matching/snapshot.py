"""Dump and load the whole engine state as plain data.

``dump(engine)`` returns only dict / list / str / int / bool / None (Decimals as strings, via
the codec's spec form), so it serializes to JSON or msgpack (balances above 2**64 atoms need
JSON). It is canonical: the same state always dumps to the same value, which is what
``MatchingEngine.state_hash`` hashes. Everything that can influence future events is in it:
markets with their counters and last trade price, every resting order in time priority, the
open-order creation order (CancelAll walks it), balances, transfers, the ids already used,
icebergs' slices and GTD orders' expire times (``order_options``), the GTD expiry index
(``expiries``, its open entries only: ended orders' entries are skipped by a Tick anyway, see
``matching.expiry``), and the conditional orders' state: untriggered orders with their trailing
extremes and holds, open order lists, list ids used, and markets with a pending capped cascade.
Snapshots written before those keys load as if they were empty.

``load(dump(e))`` behaves exactly like ``e``: replaying the commands after the snapshot gives
the same events and the same ``state_hash`` as running straight through.
"""

from __future__ import annotations

from typing import Any

from matching.arith import compile_market
from matching.balances import Transfer
from matching.book import Order
from matching.codec import decode_spec, encode_spec
from matching.engine import MatchingEngine
from matching.expiry import open_expiries
from matching.state import Market
from matching.types import OrderType, Side, StpMode, TimeInForce
from matching.untriggered import Conditional, OrderList, Triggers

VERSION = 1


def dump(engine: MatchingEngine) -> dict[str, Any]:
    markets = []
    for market in engine.markets_by_symbol.values():
        book = market.book
        markets.append(
            {
                "spec": encode_spec(market.spec),
                "trade_id": market.trade_id,
                "update_id": market.update_id,
                "last_price": market.last_price,
                "bids": [
                    [level.price, [order.order_id for order in level.orders()]]
                    for level in book.levels(True)
                ],
                "asks": [
                    [level.price, [order.order_id for order in level.orders()]]
                    for level in book.levels(False)
                ],
            }
        )
    balances = engine.balances_book
    return {
        "version": VERSION,
        "fee_account": engine.fee_account,
        "seq": engine.seq,
        "markets": markets,
        "orders": [
            [
                order.order_id,
                order.account,
                order.symbol,
                order.side.value,
                order.price,
                order.quantity,
                order.filled,
                order.filled_quote,
                order.client_order_id,
                order.stp_mode.value,
            ]
            for order in engine.open_orders_by_id.values()
        ],
        "balances": sorted(
            [account, asset, bal.available, bal.locked]
            for account, asset, bal in balances.items()
            if bal.available or bal.locked
        ),
        "transfers": sorted(
            [transfer_id, t.state, t.account, t.asset, t.amount, t.fee]
            for transfer_id, t in balances.transfers.items()
        ),
        "deposited": dict(sorted(balances.deposited.items())),
        "withdrawn": dict(sorted(balances.withdrawn.items())),
        "order_ids": sorted(engine.used_order_ids),
        "client_order_ids": sorted(
            [account, sorted(ids)] for account, ids in engine.used_client_ids.items() if ids
        ),
        **_dump_icebergs_and_gtd(engine),
        **_dump_conditional(engine),
    }


def _dump_icebergs_and_gtd(engine: MatchingEngine) -> dict[str, Any]:
    """Open orders' iceberg and GTD fields (``[order_id, display, visible, expire_time]``, by
    order id) and the expiry index's open entries."""
    return {
        "order_options": sorted(
            [order.order_id, order.display, order.visible, order.expire_time]
            for order in engine.open_orders_by_id.values()
            if order.display or order.expire_time
        ),
        "expiries": [list(entry) for entry in open_expiries(engine)],
    }


def _load_icebergs_and_gtd(engine: MatchingEngine, data: dict[str, Any]) -> None:
    """Before the orders are queued: their slices set what their levels show."""
    for order_id, display, visible, expire_time in data.get("order_options", ()):
        order = engine.open_orders_by_id[order_id]
        order.display = display
        order.visible = visible
        order.expire_time = expire_time
    engine.expiries = [
        (expire_time, order_id) for expire_time, order_id in data.get("expiries", ())
    ]


def _dump_conditional(engine: MatchingEngine) -> dict[str, Any]:
    """Untriggered orders (in acceptance order, with their trailing state and holds), open
    order lists, the list ids used, and the markets whose capped cascade is pending."""
    state = engine.cond
    return {
        "untriggered": [
            [
                cond.order_id,
                cond.account,
                cond.symbol,
                cond.side.value,
                cond.order_type.value,
                cond.time_in_force.value,
                cond.price,
                cond.quantity,
                cond.quote_quantity,
                cond.stop_price,
                cond.trailing_delta,
                cond.peak,
                cond.cap,
                cond.client_order_id,
                cond.stp_mode.value,
                cond.list_id,
                cond.accepted,
                cond.hold,
                cond.iceberg_quantity,
                cond.expire_time,
            ]
            for cond in state.by_id.values()
        ],
        "order_lists": [
            [
                order_list.list_id,
                order_list.account,
                order_list.symbol,
                order_list.client_list_id,
                order_list.limit_id,
                order_list.stop_id,
            ]
            for order_list in state.lists.values()
        ],
        "list_ids": sorted(state.used_list_ids),
        "client_list_ids": sorted(
            [account, sorted(ids)] for account, ids in state.used_client_list_ids.items() if ids
        ),
        "trigger_backlog": sorted([symbol, rise] for symbol, rise in state.backlog.items()),
    }


def _load_conditional(engine: MatchingEngine, data: dict[str, Any]) -> None:
    """Rebuild what :func:`_dump_conditional` wrote (absent from older snapshots: none)."""
    state = engine.cond
    for (
        order_id,
        account,
        symbol,
        side,
        order_type,
        time_in_force,
        price,
        quantity,
        quote_quantity,
        stop_price,
        trailing_delta,
        peak,
        cap,
        client_order_id,
        stp_mode,
        list_id,
        accepted,
        hold,
        *options,  # iceberg_quantity, expire_time (absent from older snapshots: none)
    ) in data.get("untriggered", []):
        cond = Conditional(
            order_id,
            account,
            symbol,
            Side(side),
            OrderType(order_type),
            TimeInForce(time_in_force),
            price,
            quantity,
            quote_quantity,
            stop_price,
            trailing_delta,
            peak,
            cap,
            client_order_id,
            StpMode(stp_mode),
            list_id,
            accepted,
            hold,
            *options,
        )
        state.remember(cond)
        market = engine.markets_by_symbol[symbol]
        if market.triggers is None:
            market.triggers = Triggers()
        market.triggers.add(cond)
        if trailing_delta is not None:
            market.triggers.add_trailing(cond)
    for list_id, account, symbol, client_list_id, limit_id, stop_id in data.get("order_lists", []):
        order_list = OrderList(list_id, account, symbol, client_list_id, limit_id, stop_id)
        state.remember_list(order_list)
        market = engine.markets_by_symbol[symbol]
        if market.triggers is None:
            market.triggers = Triggers()
        market.triggers.legs[limit_id] = order_list
        market.triggers.legs[stop_id] = order_list
    state.used_list_ids.update(data.get("list_ids", []))
    for account, ids in data.get("client_list_ids", []):
        state.used_client_list_ids.setdefault(account, set()).update(ids)
    for symbol, rise in data.get("trigger_backlog", []):
        state.backlog[symbol] = rise


def load(data: dict[str, Any]) -> MatchingEngine:
    """Rebuild an engine from :func:`dump` output."""
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
    engine = MatchingEngine(data["fee_account"])
    engine.seq = data["seq"]
    orders: dict[int, Order] = {}
    for (
        order_id,
        account,
        symbol,
        side,
        price,
        quantity,
        filled,
        filled_quote,
        client_order_id,
        stp_mode,
    ) in data["orders"]:
        order = Order(
            order_id,
            account,
            symbol,
            Side(side),
            price,
            quantity,
            filled,
            filled_quote,
            client_order_id,
            StpMode(stp_mode),
        )
        orders[order_id] = order
        engine.remember_order(order)
    _load_icebergs_and_gtd(engine, data)
    for market_data in data["markets"]:
        spec = decode_spec(market_data["spec"])
        market = Market(spec, compile_market(spec))
        market.trade_id = market_data["trade_id"]
        market.update_id = market_data["update_id"]
        market.last_price = market_data.get("last_price", 0)
        engine.markets_by_symbol[spec.symbol] = market
        for key, is_buy in (("bids", True), ("asks", False)):
            for _price, order_ids in market_data[key]:
                for order_id in order_ids:
                    market.book.append(orders[order_id], is_buy)
    balances = engine.balances_book
    for account, asset, available, locked in data["balances"]:
        bal = balances.get(account, asset)
        bal.available = available
        bal.locked = locked
    for transfer_id, state, account, asset, amount, *fee in data["transfers"]:
        # No fee: a snapshot written before withdrawals had one.
        balances.transfers[transfer_id] = Transfer(state, account, asset, amount, *fee)
    balances.deposited.update(data["deposited"])
    balances.withdrawn.update(data["withdrawn"])
    engine.used_order_ids.update(data["order_ids"])
    for account, ids in data["client_order_ids"]:
        engine.used_client_ids[account] = set(ids)
    _load_conditional(engine, data)
    return engine
