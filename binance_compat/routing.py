"""Binance's WebSocket paths, mounted by exchange_site.asgi beside the native ``/ws``."""

from django.urls import URLPattern, path, re_path

from binance_compat.streams import StreamConsumer, WsApiConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws-api/v3", WsApiConsumer.as_asgi()),
    re_path(r"^ws/(?P<streams>.+)$", StreamConsumer.as_asgi()),
    path("stream", StreamConsumer.as_asgi()),
]
