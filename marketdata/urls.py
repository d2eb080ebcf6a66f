"""The market-data API under /api/v1/: depth, trades, klines, tickers (issue 5)."""

from django.urls import path

from marketdata import views
from marketdata.apis import DepthApi, KlinesApi, TickersApi, TradesApi

urlpatterns = [
    path("depth", DepthApi.as_view(), name="depth"),
    path("trades", TradesApi.as_view(), name="trades"),
    path("klines", KlinesApi.as_view(), name="klines"),
    path("tickers", TickersApi.as_view(), name="tickers"),
]

# The market pages (mounted at the site's root by exchange_site/urls.py).
page_urlpatterns = [
    path("", views.markets_page, name="home"),
    path("trade", views.trade_default, name="trade-default"),
    path("trade/<str:symbol>", views.trade_page, name="trade"),
]
