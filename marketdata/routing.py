"""WebSocket routes, mounted by exchange_site.asgi. Issue 5 adds the /ws consumer here."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
