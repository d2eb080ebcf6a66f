"""Reconciliation: per asset, four independent records of the venue's money must agree.

1. **engine**: every matcher's balances, summed over accounts (the fee account included), asked
   for with a ``ReportTotals`` command; and its own count of what entered and left.
2. **balances**: the database's ``Balance`` rows (the persister's projection).
3. **ledger**: the sum of every ``LedgerEntry``'s movements.
4. **transfers**: credited deposits minus the amounts of settled withdrawals (a withdrawal's fee
   stays in the venue, on the fee account, so it is not subtracted).

Available and locked are compared separately between the first three. A consistent cut without
stopping anything: trades never change an asset's totals, only transfers do. So the job asks the
engines (their sequence numbers S1), waits until the persisters have written up to S1, reads the
three database sources in one transaction, and asks the engines again (S2). If no transfer
happened between S1 and S2 (the engines' deposited/withdrawn counters are unchanged), the
database read, somewhere between the two, must equal the engines' totals exactly; otherwise it
tries again, and after a few tries records ``skipped``. Moves between shards in flight count on
two shards for a moment (docs/reliability.md): while one is, transfers are not compared.

Every run is recorded (``ReconciliationRun``); a difference is ``mismatch``: logged as an error
with the figures, shown on the admin's index page and in ``/api/v1/health``
(``checks.reconciliation``, and ``alerts``). All agreeing, it logs nothing above DEBUG.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Context, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import shard_funds
from accounts.models import (
    MONEY_PLACES,
    Asset,
    Balance,
    Deposit,
    DepositStatus,
    LedgerEntry,
    ReconciliationRun,
    ReconciliationStatus,
    Withdrawal,
    WithdrawalStatus,
)
from common.amounts import plain
from common.clock import datetime_to_ms
from common.sums import sums_by
from matching.commands import ReportTotals
from matching.events import TotalsReported
from pipeline.barrier import await_persisted
from pipeline.client import matcher, new_command_id, now_ns, shard_map

log = logging.getLogger(__name__)

ATTEMPTS = 5
PERSIST_WAIT_S = 10.0
SOURCES = ("engine", "balances", "ledger", "transfers")


class SourceUnavailable(Exception):
    """A source could not be read (a matcher did not answer, a persister stayed behind)."""


@dataclass(frozen=True)
class EngineReading:
    seqs: dict[str, int]  # shard -> seq of its TotalsReported
    # asset -> [available, locked, deposited, withdrawn] in atoms, summed over shards
    totals: dict[str, list[int]]

    def counters(self) -> dict[str, tuple[int, int]]:
        return {asset: (row[2], row[3]) for asset, row in self.totals.items()}


def read_engines() -> EngineReading:
    client = matcher()
    seqs: dict[str, int] = {}
    totals: dict[str, list[int]] = {}
    for shard in shard_map().shards:
        sent = client.send(shard, ReportTotals(new_command_id(), now_ns()))
        report = next((ev for ev in sent.events or () if type(ev) is TotalsReported), None)
        if report is None:
            raise SourceUnavailable(f"the matcher of shard {shard} did not answer")
        seqs[shard] = report.seq
        for asset, *values in report.totals:
            row = totals.setdefault(asset, [0, 0, 0, 0])
            for i, value in enumerate(values):
                row[i] += value
    return EngineReading(seqs, totals)


def read_database() -> dict[str, dict[str, Decimal]]:
    """asset code -> the database's figures, all from one snapshot."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for every query below (READ COMMITTED takes one per statement);
            # inside a caller's transaction, that one's isolation holds.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # exact on SQLite too (common.sums: its SQL SUM adds floats)
        balances = sums_by(Balance.objects.all(), "asset_id", "available", "locked")
        ledger = sums_by(LedgerEntry.objects.all(), "asset_id", "delta_available", "delta_locked")
        deposits = sums_by(
            Deposit.objects.filter(status=DepositStatus.CREDITED), "asset_id", "amount"
        )
        settled = Withdrawal.objects.filter(
            status=WithdrawalStatus.COMPLETED, settled_at__isnull=False
        )
        withdrawn = sums_by(settled, "asset_id", "amount", "fee")
        assets = {a.pk: a.code for a in Asset.objects.all()}
    zero = (Decimal(0), Decimal(0))
    out: dict[str, dict[str, Decimal]] = {}
    for pk, code in assets.items():
        b, lg = balances.get(pk, zero), ledger.get(pk, zero)
        out[code] = {
            "balances_available": b[0],
            "balances_locked": b[1],
            "ledger_available": lg[0],
            "ledger_locked": lg[1],
            "deposits": deposits.get(pk, zero)[0],
            "withdrawals": withdrawn.get(pk, zero)[0],
            "withdrawal_fees": withdrawn.get(pk, zero)[1],
        }
    return out


PLACES = MONEY_PLACES  # every figure is compared in units of 10**-18, as integers: exact
_WIDE = Context(prec=100)


def units(value: Decimal) -> int:
    """An amount from the database (at most 18 places) as an integer count of 10**-18."""
    sign, digits, exponent = value.as_tuple()
    number = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    shift = int(exponent) + PLACES
    return number * 10**shift if shift >= 0 else number // 10**-shift


def text(count: int) -> str:
    return plain(Decimal(count).scaleb(-PLACES, context=_WIDE))


def compare(
    engine: EngineReading, db: dict[str, dict[str, Decimal]], *, transfers: bool = True
) -> tuple[dict[str, dict[str, object]], list[str]]:
    """Per asset, every source's figures as decimal strings and the differences found."""
    decimals = dict(Asset.objects.values_list("code", "decimals"))
    details: dict[str, dict[str, object]] = {}
    problems: list[str] = []
    zero = Decimal(0)
    for code in sorted(set(engine.totals) | set(db)):
        known = decimals.get(code)
        if known is None:
            problems.append(f"{code}: the engine holds an asset the database does not know")
            continue
        scale = 10 ** (PLACES - known)  # engine atoms -> units
        e_avail, e_locked, e_in, e_out = (v * scale for v in engine.totals.get(code, [0] * 4))
        row = db.get(code, {})
        figures = {
            "engine": (e_avail, e_locked),
            "balances": (
                units(row.get("balances_available", zero)),
                units(row.get("balances_locked", zero)),
            ),
            "ledger": (
                units(row.get("ledger_available", zero)),
                units(row.get("ledger_locked", zero)),
            ),
        }
        net = units(row.get("deposits", zero)) - units(row.get("withdrawals", zero))
        total = e_avail + e_locked
        differences: dict[str, str] = {}
        for source in ("balances", "ledger"):
            avail, locked = figures[source]
            if (avail, locked) != (e_avail, e_locked):
                differences[source] = (
                    f"available {text(avail - e_avail)}, locked {text(locked - e_locked)}"
                )
        if e_in - e_out != total:
            differences["engine_transfers"] = text(e_in - e_out - total)
        if transfers and net != total:
            differences["transfers"] = text(net - total)
        # Which source is the odd one out: the largest group of sources that agree on the
        # total, and the rest.
        totals = {"engine": total, "balances": sum(figures["balances"])}
        totals["ledger"] = sum(figures["ledger"])
        if transfers:
            totals["transfers"] = net
        groups: dict[int, list[str]] = {}
        for source, value in totals.items():
            groups.setdefault(value, []).append(source)
        agreeing = max(groups.values(), key=len)
        odd = sorted(s for s in totals if s not in agreeing) if len(agreeing) > 1 else []
        details[code] = {
            "odd_one_out": odd,
            **{
                f"{source}_{part}": text(value)
                for source, (avail, locked) in figures.items()
                for part, value in (("available", avail), ("locked", locked))
            },
            "transfers_net": text(net),
            "withdrawal_fees": text(units(row.get("withdrawal_fees", zero))),
            "differences": differences,
        }
        if differences:
            suspects = f" (odd one out: {', '.join(odd)})" if odd else ""
            found = ", ".join(f"{source} by {diff}" for source, diff in differences.items())
            problems.append(f"{code}: differs from the engine: {found}{suspects}")
    return details, problems


def run() -> ReconciliationRun:
    """One reconciliation, recorded."""
    started = timezone.now()
    try:
        status, details, message = _attempt()
    except SourceUnavailable as exc:
        status, details, message = ReconciliationStatus.ERROR, {}, str(exc)
        log.warning("reconciliation could not run: %s", exc)
    record = ReconciliationRun.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        status=status,
        details=details,
        message=message,
    )
    if status == ReconciliationStatus.MISMATCH:
        log.error("RECONCILIATION MISMATCH (run %s): %s", record.pk, message)
    else:
        log.debug("reconciliation %s: %s", record.pk, status)
    return record


def _attempt() -> tuple[str, dict[str, dict[str, object]], str]:
    for _ in range(ATTEMPTS):
        first = read_engines()
        if not await_persisted(first.seqs, PERSIST_WAIT_S):
            raise SourceUnavailable("a persister stayed behind its matcher")
        moves_in_flight = bool(shard_funds.moves_in_flight())
        db = read_database()
        second = read_engines()
        if first.counters() != second.counters():
            continue  # a transfer landed meanwhile: no consistent cut, try again
        details, problems = compare(first, db, transfers=not moves_in_flight)
        if problems:
            return ReconciliationStatus.MISMATCH, details, "; ".join(problems)
        note = "moves between shards in flight: transfers not compared" if moves_in_flight else ""
        return ReconciliationStatus.OK, details, note
    return ReconciliationStatus.SKIPPED, {}, f"transfers kept landing: {ATTEMPTS} tries"


def latest() -> ReconciliationRun | None:
    return ReconciliationRun.objects.exclude(status=ReconciliationStatus.SKIPPED).first()


def alert() -> dict[str, object]:
    """The state operators see (admin index, /api/v1/health): ``ok`` False while the latest
    run found a difference."""
    last = latest()
    if last is None:
        return {"ok": True, "status": "never_run"}
    body: dict[str, object] = {
        "ok": last.status != ReconciliationStatus.MISMATCH,
        "status": last.status,
        "run_id": last.pk,
        "at": datetime_to_ms(last.started_at),
    }
    if last.status != ReconciliationStatus.OK:
        body["message"] = last.message
    stale_after = 3 * settings.RECONCILE_EVERY_S
    body["stale"] = (timezone.now() - last.started_at).total_seconds() > stale_after
    return body
