"""Cursor pagination for history endpoints: stable under inserts, newest first."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from exchange_site.errors import ValidationFailed


class NewestFirst(CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500
    ordering: Any = "-created_at"

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF says 404; a bad cursor is a bad request
            raise ValidationFailed("Invalid cursor.", code="invalid_cursor") from None
