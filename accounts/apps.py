from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_fee_account(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Keep the fee account (migration 0002) after a flush too: a flush empties the users table
    and then sends post_migrate (tests that commit are flushed this way), and the matcher cannot
    start without the account that receives every fee."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    User.objects.db_manager(using).get_or_create(
        username=settings.FEE_ACCOUNT_USERNAME,
        defaults={"is_system": True, "is_active": True, "password": make_password(None)},
    )


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401 - registers the OpenAPI auth extension

        post_migrate.connect(ensure_fee_account, sender=self)
