from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading.selectors import market_list


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "trading/home.html", {"markets": market_list()})
