"""ASGI entry point: HTTP through Django, WebSockets (/ws) through Channels (marketdata.routing),
and Binance's stream paths (/ws/<stream>, /stream, /ws-api/v3: binance_compat.routing).

uvicorn serves this on WS_PORT; REST is served over WSGI (granian). The WebSocket stack: origin
check (browsers only; bots send no Origin), session cookie -> scope["user"], then the router.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

# Set Django up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from binance_compat.routing import websocket_urlpatterns as binance_urlpatterns  # noqa: E402
from marketdata.routing import websocket_urlpatterns  # noqa: E402
from marketdata.wsauth import BrowserOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(
            AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, *binance_urlpatterns]))
        ),
    }
)
