"""The order tables' first paint for every order type (docs/order-types.md): the rows the pages
render on the server (templates/partials/_open_order_row.html, _history_row.html) from the API's
order shape, the same cells static/js/orders.js draws afterwards."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from marketdata.templatetags.exchange_ui import (
    open_status_label,
    trailing_percent,
    type_label,
)

PLACES = {"SOL_USDC": {"price": 2, "qty": 2}}


def an_order(**fields: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_id": 11,
        "symbol": "SOL_USDC",
        "side": "buy",
        "type": "limit",
        "time_in_force": "GTC",
        "price": "20",
        "quantity": "1",
        "quote_quantity": None,
        "post_only": False,
        "filled_quantity": "0",
        "status": "new",
        "expire_reason": None,
        "created_at": 1_700_000_000_000,
        "stop_price": None,
        "trailing_delta": None,
        "iceberg_quantity": None,
        "expire_time": None,
        "list_id": None,
        "trigger_price": None,
    }
    order.update(fields)
    return order


def open_row(order: dict[str, Any]) -> str:
    return render_to_string(
        "partials/_open_order_row.html", {"o": order, "scope": "SOL_USDC", "places": PLACES}
    )


def test_an_untriggered_stop_limit_shows_its_stop_price_and_waits_for_its_trigger():
    html = open_row(
        an_order(type="stop_limit", price="22.5", stop_price="22", status="untriggered")
    )
    assert 'data-status="untriggered"' in html
    assert "Stop-limit" in html
    assert "22.50" in html and "22.00" in html  # limit and stop price at the tick's places
    assert "Waiting for trigger" in html
    assert 'data-cancel="11"' in html and "data-cancel-list" not in html


def test_a_triggered_stop_limit_says_so():
    html = open_row(an_order(type="stop_limit", stop_price="22", trigger_price="22"))
    assert "Triggered" in html


def test_an_oco_leg_is_marked_with_its_list_and_cancels_the_list():
    html = open_row(an_order(side="sell", price="25", list_id=4))
    assert 'data-list-id="4"' in html and 'class="list-leg"' in html
    assert ">OCO</span>" in html
    assert 'data-cancel-list="4"' in html and "Cancel OCO" in html
    assert 'data-cancel="11"' not in html


def test_a_plain_limit_order_row_has_no_stop_price_and_no_list():
    html = open_row(an_order())
    assert "Limit" in html and "\N{EN DASH}" in html  # the stop column is empty
    assert "data-list-id" not in html and "OCO" not in html


def test_the_history_says_which_leg_its_oco_cancelled():
    html = render_to_string(
        "partials/_history_row.html",
        {
            "o": an_order(
                type="stop_market",
                price=None,
                stop_price="18",
                status="cancelled",
                expire_reason="order_list",
                list_id=4,
            ),
            "scope": None,
            "places": PLACES,
        },
    )
    assert "Stop-market" in html and "Market" in html and "18.00" in html
    assert "Cancelled" in html and "by its OCO" in html
    assert "SOL/USDC" in html  # the Orders page's market column


def test_a_row_without_the_new_fields_still_renders():
    """An order as the API wrote it before order types (no stop_price, list_id, ... keys)."""
    old = {k: v for k, v in an_order().items() if k not in {"stop_price", "list_id"}}
    assert "Limit" in open_row(old)


def test_labels_of_types_statuses_and_trailing_deltas():
    assert type_label("take_profit_limit") == "Take-profit limit"
    assert type_label("limit") == "Limit"
    assert open_status_label(an_order(status="untriggered")) == "Waiting for trigger"
    assert open_status_label(an_order(status="partially_filled")) == "Partially filled"
    assert trailing_percent(150) == "1.5 %"
    assert trailing_percent(None) == ""
