from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


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


def user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    """A deactivated user's keys must stop working in every process at once."""
    from accounts import key_cache

    if not instance.is_active:
        key_cache.mark_user_off(instance.pk)


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401 - registers the OpenAPI auth extension
        from accounts.models import User

        post_migrate.connect(ensure_fee_account, sender=self)
        post_save.connect(user_saved, sender=User, dispatch_uid="accounts.user_saved")
