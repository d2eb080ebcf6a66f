"""The account pages' forms: sign-up, log-in (with the API's failed-login limit) and API keys.

Forms only parse and show errors; the writes are the services the API uses
(``accounts.services``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.http import HttpRequest

from accounts.authentication import login_blocked, record_login_failure
from accounts.models import ApiKey


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        max_length=128,
        strip=False,
        help_text="At least 8 characters, not only digits, not a common password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Password (again)",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class LoginForm(AuthenticationForm):
    """Django's log-in form, counting failures like the API's HTTP Basic log-in: past the
    limits (per username and per address) every attempt is refused until the window ends."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed log-ins. Try again in a few minutes.",
        "system": "This account cannot log in.",
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if username and login_blocked(username, self.request):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                record_login_failure(username, self.request)
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if getattr(user, "is_system", False):
            raise forms.ValidationError(self.error_messages["system"], code="system")


class ApiKeyForm(forms.Form):
    label = forms.CharField(max_length=64, required=False)
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in ApiKey.PERMISSIONS],
        initial=["read", "trade"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one permission."},
    )
