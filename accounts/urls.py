"""The accounts API under /api/v1/ (users, API keys, balances, transfers: issue 4)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
