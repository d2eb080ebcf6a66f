"""The trading API under /api/v1/."""

from django.urls import path

from trading import apis, list_apis, views

urlpatterns = [
    path("markets", apis.MarketListApi.as_view(), name="market-list"),
    path("order", apis.OrderApi.as_view(), name="order"),
    path("orders", apis.OpenOrdersApi.as_view(), name="orders-open"),
    path("order-list/oco", list_apis.OcoApi.as_view(), name="order-list-oco"),
    path("order-list", list_apis.OrderListApi.as_view(), name="order-list"),
    path("user/order-lists", list_apis.OrderListHistoryApi.as_view(), name="user-order-lists"),
    path("user/orders", apis.OrderHistoryApi.as_view(), name="user-orders"),
    path("user/trades", apis.TradeHistoryApi.as_view(), name="user-trades"),
    path("user/statements", apis.StatementListCreateApi.as_view(), name="user-statements"),
    path("user/statements/<int:statement_id>", apis.StatementApi.as_view(), name="user-statement"),
    path(
        "user/statements/<int:statement_id>/csv",
        apis.StatementCsvApi.as_view(),
        name="user-statement-csv",
    ),
]

# The trader's orders page (mounted at the site's root by exchange_site/urls.py).
page_urlpatterns = [
    path("orders", views.orders_page, name="orders"),
]
