from __future__ import annotations

from rest_framework import serializers

from exchange_site.serializers import DecimalString


class MarketOutputSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    base = serializers.CharField(source="base.code")
    quote = serializers.CharField(source="quote.code")
    base_decimals = serializers.IntegerField(source="base.decimals")
    quote_decimals = serializers.IntegerField(source="quote.decimals")
    tick_size = DecimalString()
    lot_size = DecimalString()
    min_notional = DecimalString()
    maker_fee_rate = DecimalString()
    taker_fee_rate = DecimalString()
    status = serializers.CharField()
