"""The trading API under /api/v1/."""

from django.urls import path

from trading import apis

urlpatterns = [
    path("markets", apis.MarketListApi.as_view(), name="market-list"),
    path("order", apis.OrderApi.as_view(), name="order"),
    path("orders", apis.OpenOrdersApi.as_view(), name="orders-open"),
    path("user/orders", apis.OrderHistoryApi.as_view(), name="user-orders"),
    path("user/trades", apis.TradeHistoryApi.as_view(), name="user-trades"),
]
