"""E-mails to users about their money and their account's security.

``notify`` is called inside a service's transaction; after it commits, a Celery task renders
``templates/emails/<kind>.txt`` (first line: the subject) and sends it through Django's e-mail
backend (the console in development, EMAIL_BACKEND otherwise). Nothing is sent for a change
that rolled back. A task run twice (acks late, a worker killed after sending) is deduplicated
by the notification's id for a day; the window between sending and remembering is the one
duplicate left.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import User

log = logging.getLogger(__name__)

KINDS = (
    "withdrawal_requested",
    "withdrawal_approved",
    "withdrawal_paid",
    "withdrawal_failed",
    "withdrawal_rejected",
    "two_factor_enabled",
    "two_factor_disabled",
    "recovery_codes_regenerated",
)
SENT_TTL_S = 24 * 3600


def notify(user_id: int, kind: str, **context: str) -> None:
    """Have ``user_id`` e-mailed about ``kind`` once the current transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification {kind!r}")
    notification_id = uuid.uuid4().hex

    def send() -> None:
        from accounts.tasks import send_notification

        send_notification.delay(notification_id, user_id, kind, context)

    transaction.on_commit(send, robust=True)  # a broker outage must not undo the change


def render(user: User, kind: str, context: dict[str, Any]) -> tuple[str, str]:
    text = render_to_string(
        f"emails/{kind}.txt",
        {"user": user, "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context},
    )
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def deliver(notification_id: str, user_id: int, kind: str, context: dict[str, Any]) -> bool:
    """Send one notification; False when there is nothing to do (sent already, no address)."""
    key = f"notification-sent:{notification_id}"
    if cache.get(key):
        return False
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email or user.is_system:
        return False
    subject, body = render(user, kind, context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    cache.set(key, 1, SENT_TTL_S)
    log.info("sent %s to user %s", kind, user_id)
    return True
