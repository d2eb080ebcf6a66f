"""Build rows for tests. Assets and markets reuse the demo spec so tests see realistic values."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Model
from django.utils import timezone

from accounts import services as account_services
from accounts.models import (
    ApiKey,
    Asset,
    AuditAction,
    AuditLogEntry,
    Balance,
    Deposit,
    LedgerEntry,
    LedgerReason,
    ReconciliationRun,
    ReconciliationStatus,
    User,
    Withdrawal,
)
from marketdata.models import Kline, KlineInterval
from trading import demo
from trading import services as trading_services
from trading.models import (
    EventCheckpoint,
    Market,
    Order,
    OrderIdBlock,
    OrderList,
    OrderType,
    Side,
    Trade,
)

_ids = itertools.count(1_000_000)


def next_id() -> int:
    return next(_ids)


def make_user(username: str, **extra: Any) -> User:
    return User.objects.create_user(username=username, password=f"pw-{username}-123!", **extra)


def make_asset(code: str) -> Asset:
    """A demo asset, with the demo's withdrawal policy (trading/demo.py)."""
    name, decimals = demo.ASSETS[code]
    return account_services.asset_upsert(
        code, name=name, decimals=decimals, **demo.withdrawal_policy(code)
    )


def make_market(symbol: str = "SOL_USDC", **overrides: Any) -> Market:
    spec = next(m for m in demo.MARKETS if m.symbol == symbol)
    fields: dict[str, Any] = {
        "base": make_asset(spec.base),
        "quote": make_asset(spec.quote),
        "tick_size": Decimal(spec.tick_size),
        "lot_size": Decimal(spec.lot_size),
        "min_notional": Decimal(spec.min_notional),
        "maker_fee_rate": demo.MAKER_FEE_RATE,
        "taker_fee_rate": demo.TAKER_FEE_RATE,
    }
    fields.update(overrides)
    return trading_services.market_upsert(symbol, **fields)


def make_balance(user: User, asset: Asset, available: str = "0", locked: str = "0") -> Balance:
    return Balance.objects.create(
        user=user, asset=asset, available=Decimal(available), locked=Decimal(locked)
    )


def make_ledger_entry(
    user: User, asset: Asset, cause: str = "deposit:1", **extra: Any
) -> LedgerEntry:
    fields: dict[str, Any] = {
        "reason": LedgerReason.DEPOSIT,
        "delta_available": Decimal("10"),
        "delta_locked": Decimal("0"),
        "available_after": Decimal("10"),
        "locked_after": Decimal("0"),
        "event_seq": next_id(),
    }
    fields.update(extra)
    return LedgerEntry.objects.create(user=user, asset=asset, cause=cause, **fields)


def make_order(user: User, market: Market, **extra: Any) -> Order:
    fields: dict[str, Any] = {
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "price": Decimal("20.00"),
        "quantity": Decimal("1.00"),
    }
    fields.update(extra)
    return Order.objects.create(id=next_id(), user=user, market=market, **fields)


def make_trade(maker: Order, taker: Order, **extra: Any) -> Trade:
    market = maker.market
    fields: dict[str, Any] = {
        "trade_id": next_id(),
        "price": maker.price,
        "quantity": Decimal("1.00"),
        "quote_quantity": maker.price,
        "taker_side": taker.side,
        "maker_fee": Decimal("0.001"),
        "maker_fee_asset": market.base,
        "taker_fee": Decimal("0.04"),
        "taker_fee_asset": market.quote,
        "executed_at": timezone.now(),
    }
    fields.update(extra)
    return Trade.objects.create(
        market=market,
        maker_order=maker,
        taker_order=taker,
        maker_user=maker.user,
        taker_user=taker.user,
        **fields,
    )


def make_deposit(user: User, asset: Asset, amount: str = "100") -> Deposit:
    return account_services.deposit_create(user, asset, Decimal(amount))


def make_withdrawal(
    user: User, asset: Asset, amount: str = "10", *, held: bool = True
) -> Withdrawal:
    """A pending withdrawal row (no engine behind it); ``held``: as if its hold took effect."""
    return Withdrawal.objects.create(
        user=user,
        asset=asset,
        amount=Decimal(amount),
        address="demo-address-1",
        held_at=timezone.now() if held else None,
    )


def make_api_key(user: User, *permissions: str) -> tuple[ApiKey, str]:
    return account_services.api_key_create(user, "test key", permissions or ("read", "trade"))


def make_kline(market: Market, interval: str = KlineInterval.M1, **extra: Any) -> Kline:
    open_time = extra.pop("open_time", timezone.now().replace(second=0, microsecond=0))
    fields: dict[str, Any] = {
        "close_time": open_time + timedelta(minutes=1) - timedelta(milliseconds=1),
        "open": Decimal("20"),
        "high": Decimal("21"),
        "low": Decimal("19"),
        "close": Decimal("20.5"),
        "volume": Decimal("3"),
        "quote_volume": Decimal("61"),
        "trade_count": 3,
    }
    fields.update(extra)
    return Kline.objects.create(market=market, interval=interval, open_time=open_time, **fields)


def make_one_of_each(owner: User, other: User) -> dict[type[Model], Model]:
    """One row of every model the admin shows, for page-load tests."""
    market = make_market("SOL_USDC")
    maker = make_order(owner, market, side=Side.SELL)
    taker = make_order(other, market, side=Side.BUY)
    deposit = make_deposit(owner, market.quote)
    return {
        User: owner,
        Group: Group.objects.get(name="operators"),  # made by post_migrate (accounts/apps.py)
        AuditLogEntry: AuditLogEntry.objects.create(
            actor=other,
            action=AuditAction.DEPOSIT_CONFIRM,
            target_type="deposit",
            target_id=deposit.pk,
            reason="seen on chain",
        ),
        ReconciliationRun: ReconciliationRun.objects.create(
            status=ReconciliationStatus.MISMATCH,
            message="USDC: balances differs from the engine by 1",
            details={"USDC": {"differences": {"balances": "1"}}},
        ),
        Asset: market.base,
        Balance: make_balance(owner, market.quote, available="5"),
        LedgerEntry: make_ledger_entry(owner, market.quote),
        Deposit: deposit,
        Withdrawal: make_withdrawal(owner, market.quote),
        ApiKey: make_api_key(owner)[0],
        Market: market,
        Order: maker,
        Trade: make_trade(maker, taker),
        OrderList: OrderList.objects.create(
            id=next_id(), user=owner, market=market, status="executing", client_list_id="l-1"
        ),
        Kline: make_kline(market),
        EventCheckpoint: EventCheckpoint.objects.create(stream="s-test", last_seq=7),
        OrderIdBlock: OrderIdBlock.objects.create(),
    }
