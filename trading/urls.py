"""The trading API under /api/v1/ (orders and fills arrive with issue 4)."""

from django.urls import path

from trading.apis import MarketListApi

urlpatterns = [
    path("markets", MarketListApi.as_view(), name="market-list"),
]
