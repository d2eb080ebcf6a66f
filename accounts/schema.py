"""OpenAPI description of the signed API-key scheme (loaded by AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeySignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-KEY",
            "description": (
                "Also send X-TIMESTAMP (unix ms) and X-SIGNATURE = hex HMAC-SHA256(secret, "
                "timestamp + METHOD + path-with-query + body). See docs/api.md."
            ),
        }


class PasswordScheme(OpenApiAuthenticationExtension):
    """HTTP Basic on the key-management endpoints (``POST /api/v1/api-keys`` mints a key from
    Swagger UI with the username and password)."""

    target_class = "accounts.authentication.PasswordAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Username and password; only for creating, listing and revoking keys.",
        }
