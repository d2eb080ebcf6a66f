from decimal import Decimal

from django import template

from common.amounts import plain

register = template.Library()


@register.filter(name="plain")
def plain_filter(value: Decimal | None) -> str:
    return "" if value is None else plain(value)


@register.filter
def percent(value: Decimal | None) -> str:
    return "" if value is None else f"{plain(value * 100)} %"
