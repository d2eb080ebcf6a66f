import pytest
from django.urls import reverse

from common.errors import Unavailable, ValidationFailed
from trading.models import Market, MarketStatus
from trading.services import market_set_status


@pytest.mark.django_db(transaction=True)
def test_market_is_halted_by_the_matcher_when_the_status_is_set(pipeline, markets):
    market_set_status(markets["SOL_USDC"], MarketStatus.HALTED)
    assert Market.objects.get(symbol="SOL_USDC").status == "halted"
    assert pipeline.matchers["s0"].engine.market("SOL_USDC").status == "halted"


def test_market_status_is_refused_when_unknown(sol_usdc):
    with pytest.raises(ValidationFailed):
        market_set_status(sol_usdc, "closed")


def test_market_status_change_is_unavailable_when_no_matcher_answers(sol_usdc, settings, api_env):
    from pipeline.client import _local

    settings.ORDER_REPLY_TIMEOUT = 0.05
    _local.__dict__.pop("client", None)
    try:
        with pytest.raises(Unavailable) as refused:
            market_set_status(sol_usdc, MarketStatus.HALTED)
    finally:
        _local.__dict__.pop("client", None)
    assert refused.value.status == 503
    assert Market.objects.get(pk=sol_usdc.pk).status == "trading"


@pytest.mark.django_db(transaction=True)
def test_market_is_halted_then_resumed_when_an_operator_uses_the_admin_actions(
    admin_client, pipeline, markets
):
    # given two trading markets
    url = reverse("admin:trading_market_changelist")
    selected = [markets["SOL_USDC"].pk, markets["BTC_USDC"].pk]
    # when the operator halts them
    response = admin_client.post(url, {"action": "halt", "_selected_action": selected})
    # then both are halted and the third is untouched
    assert response.status_code == 302
    statuses = dict(Market.objects.values_list("symbol", "status"))
    assert statuses == {"SOL_USDC": "halted", "BTC_USDC": "halted", "ETH_USDC": "trading"}
    # when resumed, they trade again
    admin_client.post(url, {"action": "resume", "_selected_action": selected})
    assert set(Market.objects.values_list("status", flat=True)) == {"trading"}


@pytest.mark.django_db(transaction=True)
def test_market_status_change_is_unavailable_when_applied_but_the_persister_is_behind(
    pipeline, markets, settings
):
    settings.READ_YOUR_WRITES_TIMEOUT = 0.2
    with pipeline.persisters_stopped():
        with pytest.raises(Unavailable) as refused:
            market_set_status(markets["SOL_USDC"], MarketStatus.HALTED)
        # the matcher halted it; the record shows it once the persister is back
        assert pipeline.matchers["s0"].engine.market("SOL_USDC").status == "halted"
        assert Market.objects.get(symbol="SOL_USDC").status == "trading"
    assert refused.value.code == "writes_not_persisted"
