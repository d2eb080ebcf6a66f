"""The private ``orders`` stream's messages: one per change of one of a user's orders or order
lists, built by ``marketdata.frames.PublisherState`` (this is its order half, a mixin: no I/O).

An order's message is the order representation of ``trading.orders`` (``order_update_json``),
its numbers written at the market's precision. ``update`` says what happened: ``new``
(accepted; status ``untriggered`` for a conditional order), ``triggered`` (a conditional
order's trigger: status ``new`` and ``trigger_price``), ``trade``, ``filled``, ``cancelled``,
``expired``, ``rejected``, ``amended`` (with ``kept_priority``). An order list's message is
``trading.order_lists.list_update_json``: ``accepted``, ``rejected`` and ``done``.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from marketdata.market_state import MarketState
from matching.events import (
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderListAccepted,
    OrderListDone,
    OrderListRejected,
    OrderRejected,
    OrderTriggered,
)
from trading.models import CONDITIONAL_TYPES, ListStatus
from trading.order_lists import list_update_json
from trading.orders import order_update_json, placed_json

NS_PER_MS = 1_000_000
Frame = tuple[str, str]  # (pub/sub channel, JSON text of {"stream", "data"})


def dumps(stream: str, data: dict[str, Any]) -> str:
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":"))


class OrderInfo(NamedTuple):
    """What order messages repeat on every update; order events after acceptance omit it."""

    client_order_id: str | None
    side: str
    type: str
    time_in_force: str
    price: int | None
    quantity: int | None
    quote_quantity: int | None
    post_only: bool = False
    stp_mode: str | None = None
    created_at: int | None = None  # ms
    stop_price: int | None = None  # ticks (a trailing stop's once it fired)
    trailing_delta: int | None = None
    iceberg_quantity: int | None = None  # lots
    expire_time: int | None = None  # ms
    list_id: int | None = None
    trigger_price: int | None = None  # ticks, once triggered


class ListInfo(NamedTuple):
    """What an order list's messages repeat (OrderListDone carries neither)."""

    client_list_id: str | None
    order_ids: list[int]


ORDER_EVENTS = (
    OrderAccepted,
    OrderRejected,
    OrderAmended,
    OrderTriggered,
    OrderFilled,
    OrderCancelled,
    OrderExpired,
    OrderListAccepted,
    OrderListRejected,
    OrderListDone,
)
# the events that refer to an order accepted earlier (the publisher may not have seen it)
LATER_ORDER_EVENTS = (OrderFilled, OrderCancelled, OrderExpired, OrderAmended, OrderTriggered)
_END_STATUS = {OrderFilled: "filled", OrderCancelled: "cancelled", OrderExpired: "expired"}


def info_of(ev: OrderAccepted | OrderRejected) -> OrderInfo:
    return OrderInfo(
        ev.client_order_id,
        str(ev.side),
        str(ev.type),
        str(ev.time_in_force),
        ev.price,
        ev.quantity,
        ev.quote_quantity,
        ev.post_only,
        None if ev.stp_mode is None else str(ev.stp_mode),
        ev.ts // NS_PER_MS,
        ev.stop_price,
        ev.trailing_delta,
        ev.iceberg_quantity,
        ev.expire_time,
        ev.list_id,
    )


class OrderFrames:
    """The order half of ``PublisherState`` (which sets these attributes)."""

    markets: dict[str, MarketState]
    orders: dict[int, OrderInfo]
    lists: dict[int, ListInfo]

    def _channel(self, user: int, stream: str) -> str | None:
        raise NotImplementedError

    def _order(
        self,
        update: str,
        ts: int,
        order_id: int,
        symbol: str,
        status: str | None,
        lots: int | None,
        quote: int | None,
        info: OrderInfo | None,
        *,
        side: str | None = None,
        reason: str | None = None,
        fill: dict[str, Any] | None = None,
        kept_priority: bool | None = None,
    ) -> dict[str, Any]:
        """The message of one change of an order; what it was placed with is null where the
        placement was not seen (``info`` None), its amounts where the market is unknown."""
        state = self.markets.get(symbol)
        fmt = state.fmt if state is not None else None
        known = info if fmt is not None else None

        def ticks(value: int | None) -> str | None:
            return None if value is None or fmt is None else fmt.ticks(value)

        def lots_of(value: int | None) -> str | None:
            return None if value is None or fmt is None else fmt.lots(value)

        placed = placed_json(
            order_id=order_id,
            client_order_id=info.client_order_id if info else None,
            symbol=symbol,
            side=info.side if info else side,
            type=info.type if info else None,
            time_in_force=info.time_in_force if info else None,
            price=ticks(known.price) if known else None,
            quantity=lots_of(known.quantity) if known else None,
            quote_quantity=(
                None
                if known is None or known.quote_quantity is None or fmt is None
                else fmt.quote_atoms(known.quote_quantity)
            ),
            post_only=info.post_only if info else None,
            stp_mode=info.stp_mode if info else None,
            stop_price=ticks(known.stop_price) if known else None,
            trailing_delta=info.trailing_delta if info else None,
            iceberg_quantity=lots_of(known.iceberg_quantity) if known else None,
            expire_time=info.expire_time if info else None,
            list_id=info.list_id if info else None,
        )
        return order_update_json(
            placed,
            update=update,
            time=ts // NS_PER_MS,
            created_at=info.created_at if info else None,
            status=status,
            reason=reason,
            filled_quantity=lots_of(lots),
            filled_quote=None if quote is None or fmt is None else fmt.quote_atoms(quote),
            fill=fill,
            trigger_price=ticks(known.trigger_price) if known else None,
            kept_priority=kept_priority,
        )

    def _on_order(self, ev: Event) -> list[Frame]:
        # The order-info map is kept for every account; frames only for those listened to.
        if isinstance(ev, OrderListAccepted | OrderListRejected | OrderListDone):
            return self._on_list(ev)
        if type(ev) is OrderAccepted:
            accepted = self.orders.setdefault(ev.order_id, info_of(ev))
            if (channel := self._channel(ev.account, "orders")) is None:
                return []
            status = "untriggered" if ev.type in CONDITIONAL_TYPES else "new"
            data = self._order("new", ev.ts, ev.order_id, ev.symbol, status, 0, 0, accepted)
            return [(channel, dumps("orders", data))]
        if type(ev) is OrderRejected:
            if ev.side is None:
                return []  # a refused cancel or amend changes no order
            if (channel := self._channel(ev.account, "orders")) is None:
                return []
            data = self._order(
                "rejected", ev.ts, ev.order_id, ev.symbol, "rejected", 0, 0, info_of(ev),
                reason=str(ev.reason),
            )  # fmt: skip
            return [(channel, dumps("orders", data))]
        if type(ev) is OrderTriggered:
            return self._on_triggered(ev)
        if type(ev) is OrderAmended:
            return self._on_amended(ev)
        if not isinstance(ev, OrderFilled | OrderCancelled | OrderExpired):
            return []
        end = ev
        status = _END_STATUS[type(end)]
        info = self.orders.pop(end.order_id, None)
        if (channel := self._channel(end.account, "orders")) is None:
            return []
        reason = None if isinstance(end, OrderFilled) else str(end.reason)
        data = self._order(
            status, end.ts, end.order_id, end.symbol, status, end.filled_quantity,
            end.filled_quote, info, reason=reason,
        )  # fmt: skip
        return [(channel, dumps("orders", data))]

    def _on_triggered(self, ev: OrderTriggered) -> list[Frame]:
        old = self.orders.get(ev.order_id)
        info = None
        if old is not None:
            info = self.orders[ev.order_id] = old._replace(
                stop_price=ev.stop_price, trigger_price=ev.trigger_price
            )
        if (channel := self._channel(ev.account, "orders")) is None:
            return []
        data = self._order("triggered", ev.ts, ev.order_id, ev.symbol, "new", 0, 0, info)
        if info is None:  # its placement was not seen: the trigger's own prices all the same
            data["stop_price"] = self._order_price(ev.symbol, ev.stop_price)
            data["trigger_price"] = self._order_price(ev.symbol, ev.trigger_price)
        # Nothing filled yet when it fires (its trades follow as trade updates).
        return [(channel, dumps("orders", data))]

    def _on_amended(self, ev: OrderAmended) -> list[Frame]:
        old = self.orders.get(ev.order_id)
        if old is not None:
            self.orders[ev.order_id] = old._replace(price=ev.price, quantity=ev.quantity)
        if (channel := self._channel(ev.account, "orders")) is None:
            return []
        amended = self.orders.get(ev.order_id)
        # The engine does not repeat fills on an amend: leave them unknown rather than 0.
        data = self._order(
            "amended", ev.ts, ev.order_id, ev.symbol, None, None, None, amended,
            kept_priority=ev.kept_priority,
        )  # fmt: skip
        if amended is None:
            data["price"] = self._order_price(ev.symbol, ev.price)
            data["quantity"] = self._order_qty(ev.symbol, ev.quantity)
        return [(channel, dumps("orders", data))]

    def _on_list(self, ev: OrderListAccepted | OrderListRejected | OrderListDone) -> list[Frame]:
        if isinstance(ev, OrderListDone):
            info = self.lists.pop(ev.list_id, None)
            update, status, reason = "done", ListStatus.ALL_DONE.value, None
        else:
            info = ListInfo(ev.client_list_id, [ev.limit_order_id, ev.stop_order_id])
            if isinstance(ev, OrderListAccepted):
                self.lists[ev.list_id] = info
                update, status, reason = "accepted", ListStatus.EXECUTING.value, None
            else:
                update, status, reason = "rejected", ListStatus.REJECTED.value, str(ev.reason)
        if (channel := self._channel(ev.account, "orders")) is None:
            return []
        data = list_update_json(
            update=update,
            time=ev.ts // NS_PER_MS,
            list_id=ev.list_id,
            client_list_id=info.client_list_id if info else None,
            symbol=ev.symbol,
            status=status,
            reason=reason,
            order_ids=info.order_ids if info else [],
        )
        return [(channel, dumps("orders", data))]

    def _order_price(self, symbol: str, ticks: int) -> str | None:
        state = self.markets.get(symbol)
        return state.fmt.ticks(ticks) if state else None

    def _order_qty(self, symbol: str, lots: int) -> str | None:
        state = self.markets.get(symbol)
        return state.fmt.lots(lots) if state else None
