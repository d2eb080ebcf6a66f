"""Native stream messages -> Binance events (binance_compat/translate.py), pure."""

from binance_compat import translate


def order(update: str, **extra: object) -> dict[str, object]:
    return {
        "e": "order", "E": 1700000000500, "update": update, "order_id": 7,
        "client_order_id": "c-1", "symbol": "SOL_USDC", "side": "buy", "type": "limit",
        "time_in_force": "GTC", "price": "150.00", "quantity": "2.00", "quote_quantity": None,
        "post_only": False, "stp_mode": "expire_taker", "created_at": 1700000000000,
        "status": update, "reason": None, "filled_quantity": "0.00", "filled_quote": "0.000000",
        "fill": None, **extra,
    }  # fmt: skip


def test_new_order_is_a_new_execution_report() -> None:
    report = translate.execution_report(order("new"))
    assert report is not None
    assert (report["e"], report["s"], report["c"], report["S"], report["o"]) == (
        "executionReport", "SOLUSDC", "c-1", "BUY", "LIMIT"
    )  # fmt: skip
    assert (report["x"], report["X"], report["i"], report["w"], report["O"]) == (
        "NEW", "NEW", 7, True, 1700000000000
    )  # fmt: skip
    assert report["V"] == "EXPIRE_TAKER"


def test_fill_is_a_trade_with_its_commission_and_the_last_quote() -> None:
    fill = {"trade_id": 3, "price": "150.00", "quantity": "0.50", "fee": "0.15",
            "fee_asset": "USDC", "liquidity": "maker"}  # fmt: skip
    report = translate.execution_report(
        order("trade", status="partially_filled", filled_quantity="0.50", fill=fill)
    )
    assert report is not None
    assert (report["x"], report["X"], report["l"], report["L"], report["t"]) == (
        "TRADE", "PARTIALLY_FILLED", "0.50", "150.00", 3
    )  # fmt: skip
    assert (report["n"], report["N"], report["m"], report["Y"]) == ("0.15", "USDC", True, "75")


def test_filled_update_after_the_last_trade_is_dropped_unless_by_quote() -> None:
    assert translate.execution_report(order("filled")) is None
    by_quote = order("filled", type="market", quantity=None, quote_quantity="10")
    report = translate.execution_report(by_quote)
    assert report is not None and (report["x"], report["X"], report["l"]) == (
        "TRADE",
        "FILLED",
        "0",
    )


def test_post_only_and_stp_expiry_use_binance_names() -> None:
    report = translate.execution_report(order("new", post_only=True))
    assert report is not None and report["o"] == "LIMIT_MAKER"
    expired = translate.execution_report(order("expired", reason="self_trade_prevention"))
    assert expired is not None and (expired["x"], expired["X"]) == (
        "TRADE_PREVENTION", "EXPIRED_IN_MATCH"
    )  # fmt: skip
    cancelled = translate.execution_report(order("cancelled", status="cancelled"))
    assert cancelled is not None and (cancelled["X"], cancelled["C"]) == ("CANCELED", "c-1")


def test_depth_keeps_the_update_ids_and_levels() -> None:
    native = {"e": "depth", "E": 5, "s": "SOL_USDC", "U": 3, "u": 4,
              "b": [["1.00", "2.00"]], "a": [["1.10", "0.00"]]}  # fmt: skip
    assert translate.depth(native) == {
        "e": "depthUpdate", "E": 5, "s": "SOLUSDC", "U": 3, "u": 4,
        "b": [["1.00", "2.00"]], "a": [["1.10", "0.00"]],
    }  # fmt: skip


def test_ticker_without_trades_writes_zeros() -> None:
    native = {"e": "ticker", "E": 9, "symbol": "SOL_USDC", "last_price": None,
              "open_price": None, "high": None, "low": None, "price_change": None,
              "price_change_percent": None, "volume": "0.00", "quote_volume": "0.000000",
              "trades": 0, "best_bid": "1.50", "best_ask": None, "open_time": 1,
              "close_time": 2}  # fmt: skip
    ticker = translate.ticker(native)
    assert (ticker["e"], ticker["s"], ticker["c"], ticker["b"], ticker["a"]) == (
        "24hrTicker", "SOLUSDC", "0.00", "1.50", "0.00"
    )  # fmt: skip


def test_balance_is_an_account_position() -> None:
    native = {"e": "balance", "E": 4, "asset": "USDC", "available": "1.000000",
              "locked": "2.000000", "reason": "hold"}  # fmt: skip
    assert translate.account_position(native) == {
        "e": "outboundAccountPosition", "E": 4, "u": 4,
        "B": [{"a": "USDC", "f": "1.000000", "l": "2.000000"}],
    }  # fmt: skip
