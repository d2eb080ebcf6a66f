"""Hypothesis state machine: random commands from several accounts, all invariants every step.

Checked after every command: the engine's own ``validate()`` (book not crossed, level totals =
sum of their orders, id / account / client-id indexes match the book, locked = what open
orders and pending withdrawals hold, nothing negative, per-asset conservation against the
engine's counters) plus, independently of the engine's counters: per-asset conservation
against the deposits and settled withdrawals seen in the events, ``seq`` contiguity,
BalanceChanged cause uniqueness, balance events consistent with ``balance()``, fees never above
what they are charged on, and snapshot/restore giving the same state hash.

The commands include icebergs and GTD orders (valid and not) and Ticks at random times; a rule
also ticks exactly at the engine's next expiry, or one ns before it (nothing may expire then).
what they are charged on, and snapshot/restore giving the same state hash. The commands include
conditional orders (trailing stops too), OCO lists and their cancels; ``validate()`` then also
recomputes what untriggered orders and lists hold (the larger leg's need) and checks the trigger
index against the last price.
"""

from __future__ import annotations

import json

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from matching import snapshot
from matching.commands import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    Command,
    PlaceOrder,
    PlaceOrderList,
    Tick,
)
from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import BalanceChanged, Event, OrderExpired, TradeExecuted, TransferApplied
from tests.matching import streams
from tests.matching.builders import FEE_ACCOUNT, SYM, add_market


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = MatchingEngine(FEE_ACCOUNT)
        self.seq = 0
        self.causes: set[tuple[int, str, str, str]] = set()
        self.net: dict[str, int] = {}
        self.last: dict[tuple[int, str], tuple[int, int]] = {}
        self.history: list[Command] = []
        self.next_order_id = 1000
        self.apply(add_market(streams.LOW_MIN_SPEC))
        for cmd in streams.funding():
            self.apply(cmd)
        for cmd in streams.seed_book():
            self.apply(cmd)

    def apply(self, cmd: Command) -> list[Event]:
        self.history.append(cmd)
        events = self.engine.apply(cmd)
        for ev in events:
            assert len(ev) == len(type(ev)._fields), "event built with the wrong arity"
            assert ev.seq == self.seq + 1, "seq must grow by exactly one"
            self.seq = ev.seq
            assert ev.command_id == cmd.command_id and ev.ts == cmd.ts
            if isinstance(ev, BalanceChanged):
                key = (ev.account, ev.asset, ev.reason.value, ev.cause)
                assert key not in self.causes, f"duplicate ledger key {key}"
                self.causes.add(key)
                before = self.last.get((ev.account, ev.asset), (0, 0))
                assert ev.available == before[0] + ev.delta_available
                assert ev.locked == before[1] + ev.delta_locked
                self.last[(ev.account, ev.asset)] = (ev.available, ev.locked)
            elif isinstance(ev, TransferApplied):
                if ev.kind == "deposit":
                    self.net[ev.asset] = self.net.get(ev.asset, 0) + ev.amount
                elif ev.kind == "settle":
                    self.net[ev.asset] = self.net.get(ev.asset, 0) - ev.amount
            elif isinstance(ev, TradeExecuted):
                assert 0 <= ev.taker_fee and 0 <= ev.maker_fee
                assert ev.maker_account != ev.taker_account
        self.engine.validate()
        return events

    @rule(cmd=streams.commands, fresh_id=streams.st.integers(0, 9))
    def command(self, cmd: Command, fresh_id: int) -> None:
        if isinstance(cmd, PlaceOrder) and fresh_id:
            self.next_order_id += 1
            cmd = cmd._replace(order_id=self.next_order_id)
        elif isinstance(cmd, PlaceOrderList) and fresh_id:
            self.next_order_id += 2
            cmd = cmd._replace(
                list_id=self.next_order_id,
                limit_order_id=self.next_order_id - 1,
                stop_order_id=self.next_order_id,
            )
        self.apply(cmd)

    @precondition(lambda self: bool(self.engine.open_orders_by_id or self.engine.cond.by_id))
    @rule(data=streams.st.data())
    def cancel_or_amend_a_live_order(self, data: streams.st.DataObject) -> None:
        live = sorted({*self.engine.open_orders_by_id, *self.engine.cond.by_id})
        order = self.engine.order(data.draw(streams.st.sampled_from(live)))
        assert order is not None
        account = order.account if data.draw(streams.st.integers(0, 9)) else 5
        if data.draw(streams.st.booleans()):
            cmd: Command = CancelOrder("lc", 2, account, SYM, order.order_id, None)
        else:
            cmd = AmendOrder(
                "la",
                3,
                account,
                SYM,
                order.order_id,
                None,
                data.draw(streams.st.one_of(streams.st.none(), streams.PRICES)),
                data.draw(streams.st.one_of(streams.st.none(), streams.st.integers(1, 15))),
            )
        self.apply(cmd)

    @rule(
        window=streams.st.tuples(streams.statuses, streams.commands, streams.statuses),
        now=streams.st.integers(0, 19),
    )
    def sometimes_halt_around_a_command(self, window: tuple[Command, ...], now: int) -> None:
        if now == 0:
            for cmd in window:
                self.apply(cmd)

    @precondition(lambda self: len(self.history) > 9)
    @rule(data=streams.st.data())
    def repeat_a_command(self, data: streams.st.DataObject) -> None:
        self.apply(data.draw(streams.st.sampled_from(self.history)))

    @precondition(lambda self: self.engine.next_expiry_ns() is not None)
    @rule(early=streams.st.booleans())
    def tick_at_the_next_expiry(self, early: bool) -> None:
        due = self.engine.next_expiry_ns()
        assert due is not None
        gtd = {
            order_id: order.expire_time
            for order_id, order in self.engine.open_orders_by_id.items()
            if order.expire_time
        }
        gtd.update(  # untriggered GTD orders expire too
            (order_id, cond.expire_time)
            for order_id, cond in self.engine.cond.by_id.items()
            if cond.expire_time
        )
        events = self.apply(Tick("T", due - 1 if early else due))
        if early:
            assert events == []
            return
        expired = [ev for ev in events if isinstance(ev, OrderExpired)]
        assert expired and all(ev.reason is EndReason.GTD_EXPIRED for ev in expired)
        assert [ev.order_id for ev in expired] == sorted(
            (order_id for order_id, ms in gtd.items() if ms * streams.MS <= due),
            key=lambda order_id: (gtd[order_id], order_id),
        )

    @invariant()
    def balances_match_events_and_conservation(self) -> None:
        totals: dict[str, int] = {}
        for (account, asset), (available, locked) in self.last.items():
            assert self.engine.balance(account, asset) == (available, locked)
            assert available >= 0 and locked >= 0
            totals[asset] = totals.get(asset, 0) + available + locked
        for asset in set(totals) | set(self.net):
            assert totals.get(asset, 0) == self.net.get(asset, 0)

    @precondition(lambda self: bool(self.engine.cond.lists))
    @rule(data=streams.st.data())
    def cancel_a_live_list(self, data: streams.st.DataObject) -> None:
        order_list = self.engine.cond.lists[
            data.draw(streams.st.sampled_from(sorted(self.engine.cond.lists)))
        ]
        self.apply(CancelOrderList("zl", 4, order_list.account, SYM, order_list.list_id, None))

    @invariant()
    def snapshot_round_trip_keeps_state(self) -> None:
        if len(self.history) % 7:
            return
        data = json.loads(json.dumps(snapshot.dump(self.engine)))
        restored = snapshot.load(data)
        restored.validate()
        assert restored.state_hash() == self.engine.state_hash()


EngineMachine.TestCase.settings = settings(
    EngineMachine.TestCase.settings, max_examples=80, stateful_step_count=80, deadline=None
)
TestEngineStateMachine = EngineMachine.TestCase
