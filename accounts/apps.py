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


OPERATORS_GROUP = "operators"
# What the "operators" group may do: run deposits and withdrawals (audited), read everything
# about money. Not: edit assets or markets, users, API keys, or anything a superuser may.
OPERATOR_PERMISSIONS = (
    ("accounts", "view_user"),
    ("accounts", "view_asset"),
    ("accounts", "view_balance"),
    ("accounts", "view_ledgerentry"),
    ("accounts", "view_deposit"),
    ("accounts", "add_deposit"),
    ("accounts", "confirm_deposit"),
    ("accounts", "view_withdrawal"),
    ("accounts", "approve_withdrawal"),
    ("accounts", "resolve_withdrawal"),
    ("accounts", "view_auditlogentry"),
    ("accounts", "view_reconciliationrun"),
    ("trading", "view_market"),
    ("trading", "view_order"),
    ("trading", "view_trade"),
)


def ensure_operators_group(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The "operators" group and its permissions, kept exactly so after every migrate (and
    flush). An operator is a staff user in this group, not a superuser."""
    # Permissions are made by the auth app's own post_migrate handler, which may run after
    # this one: make sure the ones named here exist.
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for label in {app for app, _ in OPERATOR_PERMISSIONS}:
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)
    wanted = Q()
    for app, codename in OPERATOR_PERMISSIONS:
        wanted |= Q(content_type__app_label=app, codename=codename)
    group, _ = Group.objects.db_manager(using).get_or_create(name=OPERATORS_GROUP)
    group.permissions.set(Permission.objects.db_manager(using).filter(wanted))


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
        post_migrate.connect(ensure_operators_group, sender=self)
        post_save.connect(user_saved, sender=User, dispatch_uid="accounts.user_saved")
