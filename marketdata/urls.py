"""The market-data API under /api/v1/ (depth, trades, klines, tickers: issue 5)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
