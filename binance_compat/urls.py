"""Binance's spot REST paths, mounted at /api/v3/ by exchange_site/urls.py."""

from django.urls import path, re_path

from binance_compat import apis, market_apis

urlpatterns = [
    # public
    path("ping", market_apis.PingApi.as_view()),
    path("time", market_apis.TimeApi.as_view()),
    path("exchangeInfo", market_apis.ExchangeInfoApi.as_view()),
    path("depth", market_apis.DepthApi.as_view()),
    path("trades", market_apis.TradesApi.as_view()),
    path("historicalTrades", market_apis.HistoricalTradesApi.as_view()),
    path("aggTrades", market_apis.AggTradesApi.as_view()),
    path("klines", market_apis.KlinesApi.as_view()),
    path("uiKlines", market_apis.KlinesApi.as_view()),
    path("ticker/24hr", market_apis.Ticker24hrApi.as_view()),
    path("ticker/price", market_apis.TickerPriceApi.as_view()),
    path("ticker/bookTicker", market_apis.BookTickerApi.as_view()),
    path("avgPrice", market_apis.AvgPriceApi.as_view()),
    # signed
    path("order", apis.OrderApi.as_view()),
    path("order/test", apis.OrderTestApi.as_view()),
    path("order/cancelReplace", apis.CancelReplaceApi.as_view()),
    path("openOrders", apis.OpenOrdersApi.as_view()),
    path("allOrders", apis.AllOrdersApi.as_view()),
    path("myTrades", apis.MyTradesApi.as_view()),
    path("account", apis.AccountApi.as_view()),
    path("account/commission", apis.CommissionApi.as_view()),
    # the API key alone
    path("userDataStream", apis.UserDataStreamApi.as_view()),
    re_path(r"^.*$", market_apis.NotFoundApi.as_view()),
]
