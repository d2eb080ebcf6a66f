"""The operators' commands: reconcile now, tell the dev payout backend what to do."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.payouts import DevPayoutBackend
from tests.api import Api
from tests.factories import make_user


@pytest.mark.django_db(transaction=True)
def test_reconcile_prints_the_run_when_every_source_agrees(pipeline):
    Api.for_user(make_user("alice")).fund(USDC="10")
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert ": ok" in out.getvalue()


def test_payout_dev_sets_and_clears_an_address_outcome(db, api_env):
    backend = DevPayoutBackend()
    call_command("payout_dev", "0xabc", "fail", stdout=StringIO())
    assert backend._outcome("0xabc") == "fail"
    call_command("payout_dev", "0xabc", "--clear", stdout=StringIO())
    assert backend._outcome("0xabc") == "succeed"
    with pytest.raises(CommandError):
        call_command("payout_dev", "0xabc", stdout=StringIO())
