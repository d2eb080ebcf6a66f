"""The fee account: a system user that receives every fee, so conservation can be checked."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_fee_account(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.update_or_create(
        username=settings.FEE_ACCOUNT_USERNAME,
        defaults={
            "is_system": True,
            "is_active": True,  # it holds balances; is_system and the unusable password bar logins
            "password": make_password(None),  # unusable
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_fee_account, migrations.RunPython.noop)]
