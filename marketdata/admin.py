from django.contrib import admin

from accounts.admin import ProjectionAdmin
from marketdata.models import Kline


@admin.register(Kline)
class KlineAdmin(ProjectionAdmin):
    list_display = (
        "market",
        "interval",
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trade_count",
    )
    list_filter = ("market", "interval")
    list_select_related = ("market",)
    date_hierarchy = "open_time"
