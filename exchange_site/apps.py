from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import got_request_exception


class ExchangeSiteConfig(AppConfig):
    name = "exchange_site"

    def ready(self) -> None:
        from common.errors import log_request_exception

        got_request_exception.connect(log_request_exception, dispatch_uid="api-500-request-id")
