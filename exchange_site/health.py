"""GET /api/v1/health: liveness of the web process, Redis, the database, matchers and persisters.

200 {"status": "ok"} when everything answers and every persister is within
HEALTH_MAX_PERSISTER_LAG events of its matcher and none is halted on an event it cannot write
(``persister_halted`` names it: seq, events entry, reason, since); 503 {"status": "degraded"}
with the details otherwise. Every probe is bounded in time and caught: a health check never
answers 500. ``alerts`` lists what operators must look at without the site being down (a
reconciliation difference).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline.client import matcher
from pipeline.wire import Redis, connect


@cache
def _redis() -> Redis:
    return connect(settings.REDIS_URL, timeout_s=2)


def _failed(exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


def check_redis() -> dict[str, Any]:
    try:
        info: Any = _redis().info("server")
    except Exception as exc:  # reported, never raised
        return _failed(exc)
    return {"ok": True, "version": str(info["redis_version"])}


def check_database() -> dict[str, Any]:
    """The database the web process writes to, by vendor ("postgresql", "sqlite")."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return {**_failed(exc), "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def check_shards() -> dict[str, Any]:
    try:
        shards = matcher().status()
    except Exception as exc:
        return {"_all": _failed(exc)}
    limit = settings.HEALTH_MAX_PERSISTER_LAG
    return {
        name: {
            **state,
            "ok": bool(state["matcher_alive"])
            and int(state["persister_lag"]) < limit
            and not state.get("persister_halted"),
        }
        for name, state in shards.items()
    }


def check_reconciliation() -> dict[str, Any]:
    """The latest reconciliation (accounts/reconciliation.py). A difference is an alert for
    operators (``alerts``), not a liveness failure: a load balancer must not take web servers
    out for it, so it leaves the status as it is."""
    from accounts.reconciliation import alert  # the one check that reads an app's records

    try:
        return alert()
    except Exception as exc:
        return _failed(exc)


def report() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {"web": {"ok": True}, "redis": check_redis()}
    checks["database"] = check_database()
    if checks["database"]["vendor"] == "postgresql":
        checks["postgres"] = checks["database"]  # the name monitors knew before "database"
    # Without Redis the shard probe would only repeat its error (and might block).
    checks["shards"] = check_shards() if checks["redis"]["ok"] else {}
    healthy = (
        all(checks[name]["ok"] for name in ("web", "redis", "database"))
        and bool(checks["shards"])
        and all(shard["ok"] for shard in checks["shards"].values())
    )
    checks["reconciliation"] = check_reconciliation() if checks["database"]["ok"] else {}
    alerts = ["reconciliation"] if checks["reconciliation"].get("status") == "mismatch" else []
    return healthy, {"status": "ok" if healthy else "degraded", "checks": checks, "alerts": alerts}


HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded"]),
        "checks": serializers.DictField(required=False),
        "alerts": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Problems for operators that do not make the site unhealthy: "
            '"reconciliation" while the latest reconciliation found a difference.',
        ),
        "error": serializers.DictField(required=False),
    },
)


class HealthApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []  # load balancers poll it

    @extend_schema(
        operation_id="health",
        auth=[],
        responses={
            200: HEALTH,
            503: OpenApiResponse(HEALTH, description="degraded, with the failing checks"),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            healthy, body = report()
        except Exception as exc:  # never a 500 from the health check
            healthy, body = False, {"status": "degraded", "error": _failed(exc)}
        return Response(body, status=200 if healthy else 503)
