"""What the read barrier relies on: a command changes no account but its sender's, except as the
maker of one of its trades, as the owner of an order it triggered (``OrderTriggered``: that
order then trades as a taker, or rests, or expires, and its OCO's other leg ends), or as the
owner of a GTD order a Tick (sent by nobody) expires.

The matcher marks the makers of a batch's trades and the owners of the GTD orders it expired as
touched by that batch, and a private read waits for the batch that last touched its reader as
for the reader's own commands (``MatcherClient.read_barrier``). A command that changed any
other account would need marking too: this test fails first.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.commands import Command, ReleaseWithdrawal, SettleWithdrawal, Tick, Withdraw
from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import Event, OrderExpired, OrderTriggered, TradeExecuted
from tests.matching import streams
from tests.matching.builders import FEE_ACCOUNT, add_market


def _accounts(ev: Event) -> set[int]:
    if type(ev) is TradeExecuted:
        return {ev.maker_account, ev.taker_account}
    account = getattr(ev, "account", None)
    return set() if account is None else {account}


@settings(max_examples=60, deadline=None)
@given(commands=st.lists(st.one_of(streams.commands, streams.statuses), min_size=1, max_size=80))
def test_a_command_changes_another_account_only_as_the_maker_of_its_trades(
    commands: list[Command],
) -> None:
    engine = MatchingEngine(FEE_ACCOUNT)
    withdrawn_by: dict[str, int] = {}  # a withdrawal's settle or release comes from its owner
    prefix = [add_market(streams.LOW_MIN_SPEC), *streams.funding(), *streams.seed_book()]
    for cmd in prefix + commands:
        if isinstance(cmd, Withdraw):
            withdrawn_by.setdefault(cmd.transfer_id, cmd.account)
        if isinstance(cmd, SettleWithdrawal | ReleaseWithdrawal):
            sender = withdrawn_by.get(cmd.transfer_id)
        else:
            sender = getattr(cmd, "account", None)
        events = engine.apply(cmd)
        makers = {ev.maker_account for ev in events if type(ev) is TradeExecuted}
        expired = {
            ev.account
            for ev in events
            if type(ev) is OrderExpired and ev.reason is EndReason.GTD_EXPIRED
        }
        assert not expired or isinstance(cmd, Tick)
        makers |= {ev.account for ev in events if type(ev) is OrderTriggered}
        for ev in events:
            others = _accounts(ev) - {sender, FEE_ACCOUNT} - makers - expired
            assert not others, (cmd, ev)
