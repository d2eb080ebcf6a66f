"""WSGI entry point (gunicorn): the cheapest way to serve plain HTTP (see stack-notes)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
# gunicorn's threads are long-lived, so each keeps its database connection instead of opening
# one per request (settings default to 0 for the ASGI server, where that would leak).
os.environ.setdefault("DB_CONN_MAX_AGE", "60")
os.environ.setdefault("DB_CONN_HEALTH_CHECKS", "0")

application = get_wsgi_application()
