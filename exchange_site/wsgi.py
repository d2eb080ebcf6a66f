"""WSGI entry point of the REST server (granian, or gunicorn: ``exchange_site.web_server``)."""

import os

from django.conf import settings
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import reset_queries
from django.urls import get_resolver

from common.startup_heap import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
# The server's threads are long-lived, so each keeps its database connection instead of opening
# one per request (settings default to 0 for the ASGI server, where that would leak).
os.environ.setdefault("DB_CONN_MAX_AGE", "60")
os.environ.setdefault("DB_CONN_HEALTH_CHECKS", "0")
# On PostgreSQL a pool replaces them (settings.DB_POOL_SIZE): one connection per thread that
# can query at once.
os.environ.setdefault("DB_POOL_SIZE", os.environ.get("WEB_THREADS", "16"))

application = get_wsgi_application()

# Django clears its list of executed queries at the start of every request; the list is only
# filled with DEBUG on. The clearing walks every connection through asgiref's thread-critical
# locals: a few percent of an order request's CPU (py-spy, docs/performance.md).
if not settings.DEBUG:
    request_started.disconnect(reset_queries)

# Import every view now (Django does it on the first request), then take the whole startup
# heap out of the collector's full passes: a pause of ~100 ms per worker otherwise.
get_resolver().url_patterns  # noqa: B018
freeze_startup_heap()
