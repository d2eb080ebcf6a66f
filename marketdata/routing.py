"""WebSocket routes, mounted by exchange_site.asgi."""

from django.urls import URLPattern, path

from marketdata.consumers import MarketDataConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws", MarketDataConsumer.as_asgi()),
]
