"""``MatchingEngine.validate``'s part for conditional orders and OCO lists: the per-market
indexes agree with the engine-wide ones, every key and trailing stop is what its order's fields
say, no order waits that the last price crossed (unless its market is in the backlog), the list
states are consistent, and the holds are recomputed from the orders' fields (an OCO's stop leg
holding only what it needs beyond its limit leg)."""

from __future__ import annotations

from typing import Any

from matching.arith import order_hold
from matching.errors import EngineInvariantError
from matching.state import EngineState
from matching.types import Side
from matching.untriggered import (
    NO_FALL,
    NO_RISE,
    conditional_need,
    rises_on,
    trailing_stop,
)


def validate_conditionals(engine: EngineState, expected_locked: dict[tuple[int, str], int]) -> None:
    """Check the invariants; add what untriggered orders hold to ``expected_locked``."""
    state = engine.cond
    if state.fired or state.triggering or engine.after_order is not None:
        raise EngineInvariantError("per-command trigger state left over")
    indexed = 0
    for symbol, market in engine.markets_by_symbol.items():
        triggers = market.triggers
        if triggers is None:
            continue
        if triggers.empty():
            raise EngineInvariantError(f"{symbol}: empty trigger index kept")
        if triggers.trade_high or triggers.trade_low or triggers.touched_legs:
            raise EngineInvariantError(f"{symbol}: trades left unchecked by the triggers")
        for stops, levels, sign in (
            (triggers.rise_stops, triggers.rise_levels, -1),
            (triggers.fall_stops, triggers.fall_levels, 1),
        ):
            if stops != sorted(set(stops)) or {sign * stop for stop in stops} != set(levels):
                raise EngineInvariantError(f"{symbol}: trigger index unsorted")
            for stop, level in levels.items():
                if not level or list(level) != sorted(level):
                    raise EngineInvariantError(f"{symbol}: trigger level {stop} out of order")
                for accepted, cond in level.items():
                    if cond.accepted != accepted or cond.indexed != stop:
                        raise EngineInvariantError(f"untriggered {cond.order_id}: wrong key")
                    if cond.rises != (sign == -1):
                        raise EngineInvariantError(f"untriggered {cond.order_id}: wrong direction")
        rise_stops = [-stop for stop in triggers.rise_stops]
        if triggers.rise_head != min(rise_stops, default=NO_RISE) or triggers.fall_head != max(
            triggers.fall_stops, default=NO_FALL
        ):
            raise EngineInvariantError(f"{symbol}: stale trigger index head")
        in_index = triggers.indexed()
        if len(in_index) != triggers.size or len({id(cond) for cond in in_index}) != len(in_index):
            raise EngineInvariantError(f"{symbol}: trigger index size wrong")
        if any(cond.accepted > triggers.newest for cond in in_index):
            raise EngineInvariantError(f"{symbol}: newest accepted seq stale")
        for cond in in_index:
            indexed += 1
            if state.by_id.get(cond.order_id) is not cond or cond.symbol != symbol:
                raise EngineInvariantError(f"untriggered {cond.order_id} not indexed")
            rises = rises_on(cond.order_type, cond.side is Side.BUY)
            stop = cond.stop_price
            keyed = cond.indexed
            if cond.rises != rises:
                raise EngineInvariantError(f"untriggered {cond.order_id}: wrong direction")
            if cond.trailing_delta is None:
                lags = keyed != stop
            elif rises:  # a trailing buy's stop only falls: it may be indexed above it
                lags = keyed < stop or stop < triggers.trail_rise_min
            else:
                lags = keyed > stop or stop > triggers.trail_fall_max
            if lags:
                raise EngineInvariantError(f"untriggered {cond.order_id}: key or bound wrong")
            if cond.trailing_delta is not None and stop != trailing_stop(
                cond.peak, cond.trailing_delta, cond.side is Side.BUY
            ):
                raise EngineInvariantError(f"trailing {cond.order_id}: stale stop price")
            if (cond.trailing_delta is None) != (cond.trail_group is None):
                raise EngineInvariantError(f"untriggered {cond.order_id}: trailing group")
            last = market.last_price
            crossed = last and (last >= stop if rises else last <= stop)
            if crossed and symbol not in state.backlog:
                raise EngineInvariantError(f"untriggered {cond.order_id} crossed by {last}")
        trailing = {
            cond.order_id: cond
            for cond in state.by_id.values()
            if cond.symbol == symbol and cond.trailing_delta is not None
        }
        grouped: dict[int, Any] = {}
        for extremes, groups, sign, is_buy in (
            (triggers.trail_sells, triggers.sell_groups, -1, False),
            (triggers.trail_buys, triggers.buy_groups, 1, True),
        ):
            if extremes != sorted(set(extremes)) or {sign * e for e in extremes} != set(groups):
                raise EngineInvariantError(f"{symbol}: trailing index unsorted")
            for peak, group in groups.items():
                if group.peak != peak or not group.members:
                    raise EngineInvariantError(f"{symbol}: trailing group {peak} wrong")
                for accepted, cond in group.members.items():
                    grouped[cond.order_id] = cond
                    if (
                        cond.accepted != accepted
                        or cond.trail_group is not group
                        or (cond.side is Side.BUY) != is_buy
                        or (cond.trailing_delta or 0) < group.min_delta
                    ):
                        raise EngineInvariantError(f"trailing {cond.order_id}: wrong group")
        if grouped != trailing:
            raise EngineInvariantError(f"{symbol}: trailing index differs")
        legs = {
            order_id: order_list
            for order_list in state.lists.values()
            if order_list.symbol == symbol
            for order_id in (order_list.limit_id, order_list.stop_id)
        }
        if triggers.legs != legs:
            raise EngineInvariantError(f"{symbol}: list legs differ")
    if indexed != len(state.by_id):
        raise EngineInvariantError("untriggered orders outside their market's index")
    if sum(len(by_account) for by_account in state.by_account.values()) != len(state.by_id):
        raise EngineInvariantError("untriggered account index holds stale entries")
    clients = 0
    for cond in state.by_id.values():
        if state.by_account.get(cond.account, {}).get(cond.order_id) is not cond:
            raise EngineInvariantError(f"untriggered {cond.order_id}: account index")
        if cond.order_id not in engine.used_order_ids:
            raise EngineInvariantError(f"untriggered {cond.order_id}: id not recorded")
        if cond.client_order_id is not None:
            clients += 1
            if state.by_client_id.get(cond.account, {}).get(
                cond.client_order_id
            ) is not cond or cond.client_order_id not in engine.used_client_ids.get(
                cond.account, set()
            ):
                raise EngineInvariantError(f"untriggered {cond.order_id}: client id index")
        market = engine.markets_by_symbol[cond.symbol]
        units = market.units
        is_buy = cond.side is Side.BUY
        need = conditional_need(units, cond)
        if cond.list_id is not None:
            order_list = state.lists.get(cond.list_id)
            limit_order = (
                None if order_list is None else engine.open_orders_by_id.get(order_list.limit_id)
            )
            if limit_order is None or limit_order.filled:
                raise EngineInvariantError(f"stop leg {cond.order_id} outlived its limit leg")
            limit_hold = order_hold(units, is_buy, limit_order.price, limit_order.quantity)
            need = max(0, need - limit_hold)
        if cond.hold != need:
            raise EngineInvariantError(f"untriggered {cond.order_id} holds {cond.hold} != {need}")
        held = (cond.account, units.quote if is_buy else units.base)
        expected_locked[held] = expected_locked.get(held, 0) + need
    if clients != sum(len(by_client) for by_client in state.by_client_id.values()):
        raise EngineInvariantError("untriggered client id index holds stale entries")
    for list_id, order_list in state.lists.items():
        if order_list.list_id != list_id or list_id not in state.used_list_ids:
            raise EngineInvariantError(f"list {list_id}: id index")
        stop_waits = order_list.stop_id in state.by_id
        limit_open = order_list.limit_id in engine.open_orders_by_id
        stop_open = order_list.stop_id in engine.open_orders_by_id
        if (
            not (stop_waits or limit_open or stop_open)
            or (stop_waits and not limit_open)
            or (limit_open and stop_open)
        ):
            raise EngineInvariantError(f"list {list_id}: legs in an impossible state")
        if (
            order_list.client_list_id is not None
            and state.lists_by_client_id.get(order_list.account, {}).get(order_list.client_list_id)
            is not order_list
        ):
            raise EngineInvariantError(f"list {list_id}: client list id index")
    if sum(len(by_client) for by_client in state.lists_by_client_id.values()) != sum(
        1 for order_list in state.lists.values() if order_list.client_list_id is not None
    ):
        raise EngineInvariantError("client list id index holds stale entries")
