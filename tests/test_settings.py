"""Settings come from the environment; production refuses unsafe defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT = (
    "import json, django; from django.conf import settings as s; django.setup();"
    "print(json.dumps({k: getattr(s, k, None) for k in ["
    "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
    "'SECURE_SSL_REDIRECT', 'ALLOWED_HOSTS', 'REDIS_URL', 'CELERY_BROKER_URL']}))"
)


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    base["DJANGO_SETTINGS_MODULE"] = "exchange_site.settings"
    return subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_refuse_to_start_when_debug_is_off_and_the_secret_is_default():
    for secret in ({}, {"SECRET_KEY": ""}, {"SECRET_KEY": "django-insecure-abc"}):
        result = run_settings(DEBUG="0", **secret)
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr


def test_settings_turn_on_secure_cookies_and_hsts_when_debug_is_off():
    result = run_settings(DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="ex.example")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["ALLOWED_HOSTS"] == ["ex.example"]


def test_settings_use_redis_url_for_celery_when_given():
    result = run_settings(REDIS_URL="redis://10.0.0.9:6390/2")
    values = json.loads(result.stdout)
    assert values["REDIS_URL"] == values["CELERY_BROKER_URL"] == "redis://10.0.0.9:6390/2"
    assert values["DEBUG"] is True


def test_settings_refuse_to_start_when_debug_is_not_a_boolean():
    result = run_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "not a boolean" in result.stderr


def test_the_web_server_pools_database_connections_when_on_postgresql():
    code = (
        "import json, exchange_site.wsgi; from django.conf import settings as s;"
        "d = s.DATABASES['default']; print(json.dumps([d['CONN_MAX_AGE'], d['OPTIONS']]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "exchange_site.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/any",
            "WEB_THREADS": "12",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    max_age, options = json.loads(result.stdout)
    assert max_age == 0  # Django refuses persistent connections beside a pool
    assert options["pool"]["max_size"] == 12
