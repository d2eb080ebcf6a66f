"""The demo data set: assets, markets, an admin and funded traders. Local use only.

Idempotent: every row is keyed (asset code, symbol, username, deterministic transfer id), so
running it again leaves the same rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts import services as accounts
from accounts.models import DepositStatus
from trading import services as trading


@dataclass(frozen=True)
class DemoMarket:
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_notional: str

    @property
    def symbol(self) -> str:
        return f"{self.base}_{self.quote}"


ASSETS = {  # code: (name, decimals)
    "USDC": ("USD Coin", 6),
    "SOL": ("Solana", 9),
    "BTC": ("Bitcoin", 8),
    "ETH": ("Ether", 18),
}
# Withdrawal policy of the demo assets: address format, minimum, fee, approved at once up to,
# and the most per user in 24 hours (operators change them in the admin).
WITHDRAWAL_POLICY = {
    "USDC": ("evm", "10", "1", "1000", "50000"),
    "SOL": ("solana", "0.1", "0.01", "10", "500"),
    "BTC": ("bitcoin", "0.001", "0.0001", "0.5", "5"),
    "ETH": ("evm", "0.01", "0.001", "5", "100"),
}


def withdrawal_policy(code: str) -> dict[str, object]:
    address_format, minimum, fee, auto_max, daily = WITHDRAWAL_POLICY[code]
    return {
        "address_format": address_format,
        "withdrawal_min": Decimal(minimum),
        "withdrawal_fee": Decimal(fee),
        "withdrawal_auto_approve_max": Decimal(auto_max),
        "withdrawal_daily_limit": Decimal(daily),
    }


MARKETS = (
    DemoMarket("SOL", "USDC", tick_size="0.01", lot_size="0.01", min_notional="1"),
    DemoMarket("BTC", "USDC", tick_size="0.1", lot_size="0.00001", min_notional="5"),
    DemoMarket("ETH", "USDC", tick_size="0.01", lot_size="0.0001", min_notional="5"),
)
MAKER_FEE_RATE = Decimal("0.001")  # 0.10 %
TAKER_FEE_RATE = Decimal("0.002")  # 0.20 %

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - local demo only; refused with DEBUG off
TRADERS = ("alice", "bob", "charlie")
TRADER_FUNDS = {"USDC": "100000", "SOL": "1000", "BTC": "5", "ETH": "50"}


def trader_password(username: str) -> str:
    return f"demo-password-{username}"


def credentials() -> list[tuple[str, str]]:
    return [(ADMIN_USERNAME, ADMIN_PASSWORD)] + [(u, trader_password(u)) for u in TRADERS]


def deposit_transfer_id(username: str, asset: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"seed:{username}:{asset}")


@transaction.atomic
def seed() -> None:
    assets = {
        code: accounts.asset_upsert(code, name=name, decimals=decimals, **withdrawal_policy(code))
        for code, (name, decimals) in ASSETS.items()
    }
    for spec in MARKETS:
        trading.market_upsert(
            spec.symbol,
            base=assets[spec.base],
            quote=assets[spec.quote],
            tick_size=Decimal(spec.tick_size),
            lot_size=Decimal(spec.lot_size),
            min_notional=Decimal(spec.min_notional),
            maker_fee_rate=MAKER_FEE_RATE,
            taker_fee_rate=TAKER_FEE_RATE,
        )
    accounts.user_ensure(ADMIN_USERNAME, password=ADMIN_PASSWORD, superuser=True)
    for username in TRADERS:
        user = accounts.user_ensure(
            username, password=trader_password(username), email=f"{username}@example.com"
        )
        for code, amount in TRADER_FUNDS.items():
            # Confirmed at once unless operators confirm deposits (DEPOSIT_SOURCE=operator), and,
            # after the commit, sent to the matcher (queued in the command log until the
            # matcher runs), which credits it once whatever the number of seeds.
            deposit = accounts.deposit_create(
                user,
                assets[code],
                Decimal(amount),
                transfer_id=deposit_transfer_id(username, code),
            )
            if settings.DEPOSIT_SOURCE != "operator" and deposit.status == DepositStatus.PENDING:
                accounts.deposit_confirm(deposit)
