"""Site-wide plumbing pages (not the trader's pages: those live with their apps)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_safe
@cache_control(max_age=86_400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page links to."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


def admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin logs in through the site's log-in page, which asks for the second factor:
    operators move money, so their accounts get no weaker door."""
    if request.user.is_authenticated:
        # Logged in, yet sent here: not staff. Sending them to log in again would loop.
        raise PermissionDenied("This account is not an operator's.")
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
