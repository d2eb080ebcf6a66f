from django.conf import settings

from accounts.models import User
from accounts.selectors import fee_account_id


def test_fee_account_exists_when_the_database_is_migrated(db):
    # given a freshly migrated database, when we look up the fee account
    account = User.objects.get(pk=fee_account_id())
    # then it is the system user that can never log in
    assert account.username == settings.FEE_ACCOUNT_USERNAME == "fees"
    assert account.is_system
    assert not account.has_usable_password()
    assert not account.is_staff


def test_fee_account_cannot_log_in_when_any_password_is_tried(client, db):
    assert not client.login(username="fees", password="")
    assert not client.login(username="fees", password="!")
