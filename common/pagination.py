"""Cursor pagination for history endpoints: stable under inserts, newest first."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from common.errors import ValidationFailed


class NewestFirst(CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500
    ordering: Any = "-created_at"

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:  # DRF says 404; a bad cursor is a bad request
            raise ValidationFailed("Invalid cursor.", code="invalid_cursor") from None
        # The position is compared with the first ordering field, a time: anything that is
        # not one (a forged cursor) would fail in the query (a 500), so it is refused here.
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(str(cursor.position))
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise ValidationFailed("Invalid cursor.", code="invalid_cursor")
        return cursor
