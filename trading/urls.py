"""The trading API under /api/v1/."""

from django.urls import path

from trading import apis, views

urlpatterns = [
    path("markets", apis.MarketListApi.as_view(), name="market-list"),
    path("order", apis.OrderApi.as_view(), name="order"),
    path("orders", apis.OpenOrdersApi.as_view(), name="orders-open"),
    path("user/orders", apis.OrderHistoryApi.as_view(), name="user-orders"),
    path("user/trades", apis.TradeHistoryApi.as_view(), name="user-trades"),
]

# The trader's orders page (mounted at the site's root by exchange_site/urls.py).
page_urlpatterns = [
    path("orders", views.orders_page, name="orders"),
]
