"""The pages' number filters: decimal strings in, decimal strings out (never a float)."""

import pytest
from django.test import RequestFactory

from marketdata.templatetags import exchange_ui as ui


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234567.890", "1,234,567.890"),
        ("-1234.5", "-1,234.5"),
        ("999", "999"),
        ("0.000001", "0.000001"),
        (None, "\N{EN DASH}"),
    ],
)
def test_grouped_inserts_thousands_separators_only(value, expected):
    assert ui.grouped(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.500000", "12.5"), ("3.000", "3"), ("10", "10"), (None, None)],
)
def test_trimmed_drops_trailing_fractional_zeros(value, expected):
    assert ui.trimmed(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.50", "+1.50 %"), ("-0.25", "-0.25 %"), ("0.00", "0.00 %"), (None, "\N{EN DASH}")],
)
def test_signed_percent_shows_the_direction(value, expected):
    assert ui.signed_percent(value) == expected


def test_rate_percent_and_shown_are_exact():
    assert ui.rate_percent("0.001") == "0.10 %"
    assert ui.rate_percent("0.00125") == "0.125 %"
    places = {"BTC_USDC": {"price": 1, "qty": 5}}
    assert ui.shown("64000", "BTC_USDC", "price", places) == "64000.0"
    assert ui.shown("0.001", "BTC_USDC", "qty", places) == "0.00100"
    assert ui.shown("7", "XYZ_USDC", "qty", places) == "7"


def test_ws_url_brackets_an_ipv6_host(settings):
    request = RequestFactory().get("/", HTTP_HOST="[::1]:8000", SERVER_PORT="8000")
    settings.ALLOWED_HOSTS = ["[::1]"]
    assert ui.ws_url_for(request) == "ws://[::1]:8001/ws"
