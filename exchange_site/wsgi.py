"""WSGI entry point (gunicorn): the cheapest way to serve plain HTTP (see stack-notes)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

application = get_wsgi_application()
