import pytest

from accounts.models import DepositStatus as D
from accounts.models import WithdrawalStatus as W
from accounts.transitions import (
    DEPOSIT_TRANSITIONS,
    WITHDRAWAL_TRANSITIONS,
    allowed,
    check_transition,
)
from common.errors import Conflict
from trading.models import OrderStatus as O
from trading.transitions import ORDER_TRANSITIONS

LEGAL = [
    (DEPOSIT_TRANSITIONS, D.PENDING, D.CONFIRMED),
    (DEPOSIT_TRANSITIONS, D.PENDING, D.REJECTED),
    (DEPOSIT_TRANSITIONS, D.CONFIRMED, D.CREDITED),
    (WITHDRAWAL_TRANSITIONS, W.PENDING, W.APPROVED),
    (WITHDRAWAL_TRANSITIONS, W.PENDING, W.REJECTED),
    (WITHDRAWAL_TRANSITIONS, W.PENDING, W.CANCELLED),
    (WITHDRAWAL_TRANSITIONS, W.APPROVED, W.PROCESSING),
    (WITHDRAWAL_TRANSITIONS, W.APPROVED, W.REJECTED),
    (WITHDRAWAL_TRANSITIONS, W.PROCESSING, W.COMPLETED),
    (WITHDRAWAL_TRANSITIONS, W.PROCESSING, W.FAILED),
    (WITHDRAWAL_TRANSITIONS, W.PROCESSING, W.TIMED_OUT),
    (WITHDRAWAL_TRANSITIONS, W.TIMED_OUT, W.COMPLETED),
    (WITHDRAWAL_TRANSITIONS, W.TIMED_OUT, W.FAILED),
    (WITHDRAWAL_TRANSITIONS, W.TIMED_OUT, W.APPROVED),
    (ORDER_TRANSITIONS, O.PENDING, O.REJECTED),
    (ORDER_TRANSITIONS, O.NEW, O.PARTIALLY_FILLED),
    (ORDER_TRANSITIONS, O.PARTIALLY_FILLED, O.FILLED),
]
ILLEGAL = [
    (DEPOSIT_TRANSITIONS, D.PENDING, D.CREDITED),  # never credited unconfirmed
    (DEPOSIT_TRANSITIONS, D.CREDITED, D.REJECTED),  # credited is final
    (DEPOSIT_TRANSITIONS, D.REJECTED, D.PENDING),
    (WITHDRAWAL_TRANSITIONS, W.PENDING, W.COMPLETED),  # never paid out unapproved
    (WITHDRAWAL_TRANSITIONS, W.APPROVED, W.CANCELLED),  # too late for the user to cancel
    (WITHDRAWAL_TRANSITIONS, W.APPROVED, W.COMPLETED),  # paid only through the backend
    (WITHDRAWAL_TRANSITIONS, W.PROCESSING, W.REJECTED),  # with the backend: resolve, not reject
    (WITHDRAWAL_TRANSITIONS, W.PROCESSING, W.CANCELLED),
    (WITHDRAWAL_TRANSITIONS, W.TIMED_OUT, W.CANCELLED),
    (WITHDRAWAL_TRANSITIONS, W.COMPLETED, W.FAILED),
    (WITHDRAWAL_TRANSITIONS, W.FAILED, W.APPROVED),
    (ORDER_TRANSITIONS, O.FILLED, O.CANCELLED),
    (ORDER_TRANSITIONS, O.PARTIALLY_FILLED, O.NEW),
    (ORDER_TRANSITIONS, O.CANCELLED, O.NEW),
]


@pytest.mark.parametrize(("table", "current", "new"), LEGAL)
def test_transition_is_allowed_when_listed(table, current, new):
    assert allowed(table, current, new)
    check_transition(table, current, new, what="thing")


@pytest.mark.parametrize(("table", "current", "new"), ILLEGAL)
def test_transition_raises_conflict_when_not_listed(table, current, new):
    with pytest.raises(Conflict) as refused:
        check_transition(table, current, new, what="thing")
    assert refused.value.code == "illegal_transition"
    assert refused.value.status == 409
    assert refused.value.details["from"] == current


@pytest.mark.parametrize(
    ("table", "statuses"),
    [(DEPOSIT_TRANSITIONS, D), (WITHDRAWAL_TRANSITIONS, W), (ORDER_TRANSITIONS, O)],
)
def test_transition_tables_name_only_real_statuses_when_read(table, statuses):
    values = set(statuses.values)
    for current, targets in table.items():
        assert current in values
        assert targets <= values
        assert current not in targets
