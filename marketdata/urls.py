"""The market-data API under /api/v1/: depth, trades, klines, tickers (issue 5)."""

from django.urls import path

from marketdata.apis import DepthApi, KlinesApi, TickersApi, TradesApi

urlpatterns = [
    path("depth", DepthApi.as_view(), name="depth"),
    path("trades", TradesApi.as_view(), name="trades"),
    path("klines", KlinesApi.as_view(), name="klines"),
    path("tickers", TickersApi.as_view(), name="tickers"),
]
