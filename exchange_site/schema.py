"""The OpenAPI schema tells every status an operation can answer, with the error shape.

Views declare their successes and the refusals particular to them (404 ``order_not_found``,
409 ...); this hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds those every
operation of a kind can answer, so none is forgotten, and gives every 4xx/5xx the one error body
of common/errors.py:

* every operation: 400 (a bad parameter, a NUL character), 405 (another method on its path),
  429 (throttled; not ``/health``) and 503 (Redis or the database unreachable);
* with credentials (a ``security`` entry that is not empty): 401 and 403 (a key without the
  permission, a session write without its CSRF token);
* with a request body: 413 (over DATA_UPLOAD_MAX_MEMORY_SIZE) and 415 (not JSON).

Checked by the fuzzer (tests/integration/test_fuzz_api.py: every answer's status must be listed
here and its body must match).
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable lower_snake code."},
                "message": {"type": "string"},
                "details": {"nullable": True, "description": "Structured, or null."},
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "Invalid request: error.code says what (docs/api.md, Errors).",
    "401": "Not authenticated, or a bad signature (error.code).",
    "403": "missing_permission (the key lacks it), or permission_denied (session, CSRF).",
    "404": "Not found (error.code).",
    "405": "method_not_allowed.",
    "409": "Conflict (error.code).",
    "413": "payload_too_large.",
    "415": "unsupported_media_type: send Content-Type: application/json.",
    "429": "throttled: see the Retry-After header and error.details.retry_after.",
    "503": "unavailable (Redis or the database unreachable), or writes_not_persisted "
    "(error.code; Retry-After).",
}

_REF = {"$ref": "#/components/schemas/Error"}


def _error_response(status: str, described: dict[str, Any] | None) -> dict[str, Any]:
    description = (described or {}).get("description") or _DESCRIPTIONS.get(status, "Error.")
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = {"400", "405", "503"}
            if not path.endswith("/health"):
                statuses.add("429")
            else:
                statuses.discard("400")
            if any(entry for entry in operation.get("security", [])):
                statuses |= {"401", "403"}
            if "requestBody" in operation:
                statuses |= {"413", "415"}
            for status in sorted(statuses | {s for s in responses if s[0] in "45"}):
                current = responses.get(status)
                if current is not None and "content" in current:
                    continue  # a view gave its own body (the health report's 503)
                responses[status] = _error_response(status, current)
    return result
