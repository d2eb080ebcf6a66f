"""Content negotiation that skips the Accept header when there is nothing to choose.

DRF's default negotiation parses the Accept header on every request to pick among a view's
renderers. The API views have one renderer (JSON), so the answer is always the same, and the
parsing was about 5 % of an order request's CPU (py-spy, docs/performance.md). Views with
several renderers (the OpenAPI schema: YAML or JSON) negotiate as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class SingleRendererFirst(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str] | Any:
        choices = list(renderers)
        if len(choices) == 1 and not format_suffix and "format" not in request.query_params:
            return choices[0], choices[0].media_type
        return super().select_renderer(request, choices, format_suffix)
