"""Settings, read from the environment with development defaults.

Every knob an operator may turn is an environment variable; the README lists them. With
DEBUG off the site refuses to start on the development secret key.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of a zero-config run: the SQLite database, the embedded Redis's data, Celery
# beat's schedule. Git-ignored; ``run_exchange --reset-local-data`` deletes it.
VAR_DIR = Path(os.environ.get("VAR_DIR", "").strip() or BASE_DIR / "var").resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or DEV_SECRET_KEY
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY is unset or the development default while DEBUG is off: "
        "set SECRET_KEY to a long random value."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exchange_site",  # only for its management command run_exchange
    "accounts",
    "trading",
    "marketdata",
    "pipeline",  # the matcher, the persister and their management commands
]

# Django's stock list; the Browser* ones are Django's own, skipped by signed API-key requests
# (exchange_site/middleware.py).
MIDDLEWARE = [
    # First: an unhandled exception under /api/ answers JSON, never an HTML page.
    "exchange_site.middleware.ApiServerErrors",
    "django.middleware.security.SecurityMiddleware",
    "exchange_site.middleware.RefuseNulCharacters",  # PostgreSQL text refuses them: a 400
    "exchange_site.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "exchange_site.middleware.BrowserCsrfViewMiddleware",
    "exchange_site.middleware.BrowserAuthenticationMiddleware",
    "exchange_site.middleware.LazyMessageMiddleware",  # Django's, built on first use
    "exchange_site.middleware.BrowserXFrameOptionsMiddleware",
]

ROOT_URLCONF = "exchange_site.urls"
WSGI_APPLICATION = "exchange_site.wsgi.application"
ASGI_APPLICATION = "exchange_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DEFAULT_SQLITE_PATH = VAR_DIR / "exchange.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if not DATABASE_URL:
    # SQLite cannot create its parent folder; var/ is git-ignored local state.
    VAR_DIR.mkdir(exist_ok=True)
    DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"

DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # 0 under ASGI: Django's per-request threads there would leak persistent connections.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A health check is a SELECT 1 round trip at the start of every request that reuses a
        # connection; the WSGI server turns it off (exchange_site/wsgi.py) and relies on Django
        # dropping a connection that failed during a request.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
DB_POOL_SIZE = env_int("DB_POOL_SIZE", 0)
if DB_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A process-wide pool of open connections (psycopg_pool), for the threaded web server: a
    # thread borrows one only for a request that queries, and no request pays for opening one
    # (~10 ms forking a backend, 40 ms measured under load). Django requires age 0 with it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "pool": {"min_size": min(4, DB_POOL_SIZE), "max_size": DB_POOL_SIZE, "timeout": 10},
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several local processes share the file: wait for locks instead of failing, take the write
    # lock at BEGIN (no deadlock on upgrade) and let readers run beside the writer (WAL).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis, Celery ----------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"

# No CHANNEL_LAYERS: nothing sends through a channel layer. Market data and private user
# streams fan out through Redis pub/sub and each ASGI process's hub (marketdata/hub.py), and
# notifications about funds are e-mails sent after commit (accounts/notifications.py); why:
# docs/architecture.md, "Market-data fan-out".

CELERY_BROKER_URL = REDIS_URL
# JSON only, never pickle: a message cannot run code in a worker (exchange_site/celery.py).
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent; a worker crash re-runs, never loses, one
# A task whose worker process died is queued again, not acknowledged (with acks late).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task taken by a worker that was SIGKILLed (no chance to give it back) is delivered again
# after this; longer than any task runs (the payout's time limit) or waits (countdowns).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 600)
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# The Procfile's "celery-payouts" worker takes these alone.
CELERY_TASK_ROUTES = {"accounts.tasks.pay_withdrawal": {"queue": "payouts"}}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Deposits confirmed but not yet credited: re-send their (idempotent) Deposit command, so a
    # command lost between the database commit and Redis still reaches the matcher.
    "resend-confirmed-deposits": {
        "task": "accounts.tasks.resend_confirmed_deposits",
        "schedule": 10.0,
    },
    # Moves of funds between matcher shards interrupted by a crash (several shards only).
    "resume-shard-moves": {"task": "accounts.tasks.resume_shard_moves", "schedule": 15.0},
    # Deposits whose confirmation task was lost (dev deposit source only).
    "sweep-deposits": {"task": "accounts.tasks.sweep_deposits", "schedule": 10.0},
    # Withdrawals: lost commands and tasks, auto-approval once held, payouts without an answer.
    "sweep-withdrawals": {
        "task": "accounts.tasks.sweep_withdrawals",
        "schedule": env_float("WITHDRAWAL_SWEEP_S", 10.0),
    },
    # Engine, balances, ledger and transfers must agree (accounts/reconciliation.py).
    "reconcile": {
        "task": "accounts.tasks.reconcile",
        "schedule": env_float("RECONCILE_EVERY_S", 60.0),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# Throttle counters only: cheap to lose. Django's RedisCache.clear() is FLUSHDB, so in
# production point CACHE_REDIS_URL at a Redis database of its own (never the one holding the
# command log); the default shares REDIS_URL for a zero-setup development run, and nothing
# here ever calls cache.clear().
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "").strip() or REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

# --- E-mail (notifications: accounts/notifications.py, sent by Celery) ------------------------

# Development prints e-mails to the Celery worker's console; production sets an SMTP server
# (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) or a backend.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "").strip() or str(VAR_DIR / "emails")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip() or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or "exchange@localhost"
SITE_NAME = os.environ.get("SITE_NAME", "").strip() or "Exchange"
SITE_URL = os.environ.get("SITE_URL", "").strip() or "http://127.0.0.1:8000"

# --- REST API ---------------------------------------------------------------------------------

# Bodies beyond this are refused with 413 (an order is a few hundred bytes).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    # A signed API-key request first; else the web UI's session (with CSRF).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Private by default, and an API key needs the permission the view names (read by default
    # for GET, trade otherwise). A public endpoint says so with permission_classes = [AllowAny].
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasKeyPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # One renderer, no Accept header to parse (common/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.SingleRendererFirst",
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    # Fixed-window counters in Redis, one round trip per check (accounts/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.AnonThrottle",
        "accounts.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "6000/min"),
        "signup": os.environ.get("THROTTLE_SIGNUP", "20/hour"),
        "orders": os.environ.get("THROTTLE_ORDERS", "3000/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange API",
    "DESCRIPTION": "REST API of the exchange. Money fields are decimal strings.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: /api/docs works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # every status an operation can answer, with the error body (exchange_site/schema.py)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "exchange_site.schema.add_error_responses",
    ],
}

# --- Exchange ---------------------------------------------------------------------------------

FEE_ACCOUNT_USERNAME = "fees"
# API secrets are derived, never stored: HMAC(API_KEY_SECRET_KEY, key_id:nonce). Rotating this
# key invalidates every API key.
API_KEY_SECRET_KEY = os.environ.get("API_KEY_SECRET_KEY", "").strip() or SECRET_KEY
API_SIGNATURE_WINDOW_MS = env_int("API_SIGNATURE_WINDOW_MS", 5000)
# How long a web process trusts an API key row it read; revocation is seen at once anyway
# (Redis markers, accounts/key_cache.py). 0 reads the database on every request.
API_KEY_CACHE_TTL_S = env_int("API_KEY_CACHE_TTL_S", 30)
# How long a process trusts a market's row it read (trading/specs.py). An operator's change to
# a market waits this out (twice, for a tick or lot size change, with the market halted).
MARKET_SPEC_CACHE_TTL_S = env_float("MARKET_SPEC_CACHE_TTL_S", 1.0)
# Failed HTTP Basic logins (POST /api/v1/api-keys): past these counts within the window, every
# attempt answers 429 until the window ends (accounts.authentication.PasswordAuthentication).
LOGIN_FAILURES_PER_USER = env_int("LOGIN_FAILURES_PER_USER", 10)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 100)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 900)
ORDER_REPLY_TIMEOUT = env_float("ORDER_REPLY_TIMEOUT", 2.0)  # seconds, then 202 "pending"
# Matcher shards: "s0=SOL_USDC,BTC_USDC;s1=ETH_USDC"; "*" takes every market not named elsewhere.
MATCHER_SHARDS = os.environ.get("MATCHER_SHARDS", "").strip() or "s0=*"
# How long a private read waits for the persister to reach the caller's own last write.
READ_YOUR_WRITES_TIMEOUT = env_float("READ_YOUR_WRITES_TIMEOUT", 2.0)
# Who confirms a requested deposit (accounts/deposit_sources.py): "dev" (a Celery task, about
# a second later), "instant" (in the request: stacks without a Celery worker), "operator" (the
# admin), or a class's dotted path. DEPOSITS_AUTO_CONFIRM, the older switch, still works:
# 1 is "instant", 0 is "operator".
_auto_confirm = os.environ.get("DEPOSITS_AUTO_CONFIRM", "").strip()
DEPOSIT_SOURCE = os.environ.get("DEPOSIT_SOURCE", "").strip() or (
    ("instant" if env_bool("DEPOSITS_AUTO_CONFIRM", False) else "operator")
    if _auto_confirm
    else ("dev" if DEBUG else "operator")
)
DEPOSIT_DEV_CONFIRM_DELAY_S = env_float("DEPOSIT_DEV_CONFIRM_DELAY_S", 1.0)
# What pays withdrawals out (accounts/payouts.py): "dev" (pretends, in development), "manual"
# (an operator pays and resolves each one in the admin), or a class's dotted path.
PAYOUT_BACKEND = os.environ.get("PAYOUT_BACKEND", "").strip() or ("dev" if DEBUG else "manual")
if not DEBUG and PAYOUT_BACKEND == "dev":
    raise ImproperlyConfigured("PAYOUT_BACKEND=dev pays nobody: refused with DEBUG off.")
PAYOUT_DEV_OUTCOME = os.environ.get("PAYOUT_DEV_OUTCOME", "").strip() or "succeed"
PAYOUT_DEV_DELAY_S = env_float("PAYOUT_DEV_DELAY_S", 1.0)
PAYOUT_DEV_SLOW_S = env_float("PAYOUT_DEV_SLOW_S", 10.0)
PAYOUT_DEV_HANG_S = env_float("PAYOUT_DEV_HANG_S", 3600.0)
# A payout without an answer for this long is "timed_out": an operator resolves it.
WITHDRAWAL_PAYOUT_TIMEOUT_S = env_int("WITHDRAWAL_PAYOUT_TIMEOUT_S", 60)
WITHDRAWAL_SWEEP_S = env_float("WITHDRAWAL_SWEEP_S", 10.0)
WITHDRAWAL_SWEEP_GRACE_S = env_float("WITHDRAWAL_SWEEP_GRACE_S", 30.0)
RECONCILE_EVERY_S = env_float("RECONCILE_EVERY_S", 60.0)
# Statements cover at most this many days each.
STATEMENT_MAX_DAYS = env_int("STATEMENT_MAX_DAYS", 366)
# Two-factor authentication (accounts/two_factor.py): the name apps show, and the wrong codes
# allowed per user within the window before every attempt answers 429.
TOTP_ISSUER = os.environ.get("TOTP_ISSUER", "").strip() or "Exchange"
TOTP_FAILURES_PER_USER = env_int("TOTP_FAILURES_PER_USER", 5)
TOTP_FAILURE_WINDOW_S = env_int("TOTP_FAILURE_WINDOW_S", 300)
# How long a log-in waits for its second step (the code) after the password.
TOTP_LOGIN_WINDOW_S = env_int("TOTP_LOGIN_WINDOW_S", 300)
# /api/v1/health reports "degraded" when a persister is this many events behind its matcher.
HEALTH_MAX_PERSISTER_LAG = env_int("HEALTH_MAX_PERSISTER_LAG", 10_000)

# --- Market data (issue 5: marketdata/, docs/api.md "Market data") ----------------------------

# Per WebSocket connection: streams subscribed at once, largest client frame, frames queued for
# a client before it is closed with 4008 "too slow", and client requests per second (burst x2).
MARKETDATA_WS_MAX_SUBSCRIPTIONS = env_int("MARKETDATA_WS_MAX_SUBSCRIPTIONS", 50)
MARKETDATA_WS_MAX_FRAME_BYTES = env_int("MARKETDATA_WS_MAX_FRAME_BYTES", 4096)
MARKETDATA_WS_SEND_QUEUE = env_int("MARKETDATA_WS_SEND_QUEUE", 2000)
MARKETDATA_WS_REQUESTS_PER_S = env_int("MARKETDATA_WS_REQUESTS_PER_S", 10)
# Write pre-framed messages straight to uvicorn's sockets (marketdata/hub.py); off = plain ASGI.
MARKETDATA_WS_DIRECT_WRITE = env_bool("MARKETDATA_WS_DIRECT_WRITE", True)

# --- Web UI (templates/, static/; docs/web-ui.md) ---------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Where pages open their WebSocket. WS_URL, if set, is used as is (behind a proxy that routes
# /ws on the site's own origin: "wss://ex.example/ws"); otherwise the page's own host name on
# WS_PORT, which defaults to the page's port + 1, as ./scripts/run serves it.
WS_URL = os.environ.get("WS_URL", "").strip()
WS_PORT = env_int("WS_PORT", 0)

# --- I18N, static, logging --------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own console handler for "django", which would print every line twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Every 4xx is a WARNING there: a client's mistake, not the operator's, so only at INFO.
        "django.request": {
            "handlers": ["console"],
            "level": LOG_LEVEL if LOG_LEVEL in ("DEBUG", "INFO") else "ERROR",
            "propagate": False,
        },
    },
}

# --- Production hardening (DEBUG off) ---------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        # Only behind a TLS-terminating proxy that sets this header itself.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
