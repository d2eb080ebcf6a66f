from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.selectors import market_list
from trading.serializers import MarketOutputSerializer


class MarketListApi(APIView):
    """Every market with its spec and status. Public."""

    permission_classes = [AllowAny]

    @extend_schema(responses=MarketOutputSerializer(many=True), operation_id="markets_list")
    def get(self, request: Request) -> Response:
        return Response(MarketOutputSerializer(market_list(), many=True).data)
