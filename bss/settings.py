"""Settings of the BSS: every knob is an environment variable with a safe default.

`.env.example` lists them; README's configuration table explains them.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_bool(name: str, default: str) -> bool:
    """Booleans are "true" or "false"; anything else is a configuration mistake."""
    value = env.str(name, default=default).strip().lower()
    if value not in ("true", "false"):
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {value!r}")
    return value == "true"


DEBUG = env_bool("DEBUG", "false")
# Tests and the quickstart run without a .env; the fallback is marked insecure so that
# `check --deploy` refuses it and production has to set its own key.
SECRET_KEY = (
    env.str("SECRET_KEY", default="") or "django-insecure-development-key-not-for-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- behind TLS in production -------------------------------------------------------
HTTPS = env_bool("HTTPS", "false")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
FORMS_URLFIELD_ASSUME_HTTPS = True
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "auditlog",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "bss.core",
    "bss.setup",
    "catalogue",
    "accounts",
    "subscriptions",
    "billing",
    "orders",
    "offers",
    "payments",
    "support",
    "notifications",
]

MIDDLEWARE = [
    "bss.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bss.core.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # axes reads the outcome of authentication, so it goes last (stack notes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bss.urls"
WSGI_APPLICATION = "bss.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bss.core.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- data stores --------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- jobs ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run inline; an in-memory transport keeps Celery from looking for a broker.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True  # tasks are safe to run twice
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Publishing must fail fast when Redis is down: the outbox sweep delivers later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TIMEZONE = env.str("TIME_ZONE", default="UTC")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Billing runs: accounts per chunk task, the bulk path, when a silent run counts as dead.
BILLING_RUN_CHUNK_SIZE = env.int("BILLING_RUN_CHUNK_SIZE", default=1000)
BILLING_RUN_BULK = env.bool("BILLING_RUN_BULK", default=True)
BILLING_RUN_STALE_SECONDS = env.int("BILLING_RUN_STALE_SECONDS", default=900)
BILLING_RENDER_PDF_ON_ISSUE = env.bool("BILLING_RENDER_PDF_ON_ISSUE", default=True)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "bss.core.tasks.sweep_outbox", "schedule": 60.0},
    "worker-heartbeat": {"task": "bss.core.tasks.record_worker_heartbeat", "schedule": 30.0},
    "idempotency-purge": {"task": "bss.core.tasks.purge_idempotency_keys", "schedule": 86400.0},
    "billing-mark-overdue": {"task": "billing.tasks.mark_overdue_invoices", "schedule": 86400.0},
    "billing-render-missing-pdfs": {"task": "billing.tasks.render_missing_pdfs", "schedule": 900.0},
    "billing-retry-held-invoices": {
        "task": "billing.tasks.retry_held_invoices",
        "schedule": 3600.0,
    },
    "notifications-send-due": {"task": "notifications.tasks.send_due_messages", "schedule": 60.0},
    "payments-card-retries": {"task": "payments.tasks.send_due_charge_attempts", "schedule": 900.0},
    "payments-dunning": {"task": "payments.tasks.run_notification_plans", "schedule": 86400.0},
    "billing-daily-run": {
        "task": "billing.tasks.start_daily_billing_run",
        "schedule": crontab(
            hour=env.int("BILLING_RUN_HOUR", default=2),
            minute=env.int("BILLING_RUN_MINUTE", default=0),
        ),
    },
    "subscriptions-expire-trials": {
        "task": "subscriptions.lifecycle_tasks.expire_trials",
        "schedule": 3600.0,
    },
    "subscriptions-trial-notices": {
        "task": "subscriptions.lifecycle_tasks.send_trial_notices",
        "schedule": 3600.0,
    },
    "billing-credit-due-rebates": {
        "task": "billing.rebates.credit_due_rebates",
        "schedule": 86400.0,
    },
    "subscriptions-expire-assets": {
        "task": "subscriptions.asset_usage_tasks.expire_assets",
        "schedule": 86400.0,
    },
    "subscriptions-provisioning-sweep": {
        "task": "subscriptions.provisioning_tasks.sweep_pending_provisioning",
        "schedule": 600.0,
    },
    "subscriptions-poll-usage-sources": {
        "task": "subscriptions.asset_usage_tasks.poll_usage_sources",
        "schedule": env.float("USAGE_POLL_SECONDS", default=3600.0),
    },
}
# Pay-per-use usage endpoints the poll task reads (subscriptions.usage_sources), as JSON:
# [{"key": "backup", "connector": "http_json", "url": "https://...", "headers": {...}}]
USAGE_SOURCES = env.json("USAGE_SOURCES", default=[])
# Task modules that are not an app's tasks.py (which autodiscovery finds by itself).
CELERY_IMPORTS = ("billing.rebates", "subscriptions.asset_usage_tasks")

# --- authentication -----------------------------------------------------------------
AUTH_USER_MODEL = "setup.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "bss.setup.adapters.StaffAccountAdapter"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {"login_failed": False}  # axes counts failed logins
ACCOUNT_SESSION_REMEMBER = None
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="BSS")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"
AXES_ENABLED = env_bool("AXES_ENABLED", "true")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- email --------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", "false")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BSS <bss@localhost>")

# --- notifications (email preferences live in the database, see notifications/) -------
# Key material for the stored email secrets; empty: derived from SECRET_KEY.
NOTIFICATIONS_ENCRYPTION_KEY = env.str("NOTIFICATIONS_ENCRYPTION_KEY", default="")
NOTIFICATIONS_SMTP_TIMEOUT = env.int("NOTIFICATIONS_SMTP_TIMEOUT", default=20)
# Extra CA bundle trusted for the mail server's certificate (a private CA); empty: system CAs.
NOTIFICATIONS_SMTP_CA_FILE = env.str("NOTIFICATIONS_SMTP_CA_FILE", default="")
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=60)
NOTIFICATIONS_GOOGLE_AUTH_URL = env.str(
    "NOTIFICATIONS_GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth"
)
NOTIFICATIONS_GOOGLE_TOKEN_URL = env.str(
    "NOTIFICATIONS_GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token"
)
NOTIFICATIONS_MS_LOGIN_URL = env.str(
    "NOTIFICATIONS_MS_LOGIN_URL", default="https://login.microsoftonline.com"
)
NOTIFICATIONS_MS_GRAPH_URL = env.str(
    "NOTIFICATIONS_MS_GRAPH_URL", default="https://graph.microsoft.com"
)
STOREFRONT_URL = env.str("STOREFRONT_URL", default="").rstrip("/")

# --- internationalization -----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("el", _("Greek"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["bss.formats"]
FILTERS_EMPTY_CHOICE_LABEL = _("All")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- files --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = True
# Media are never served from a public URL: downloads go through permission-checked views.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/protected-media/"

# --- API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["bss.core.api.ModulePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "bss.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BSS API",
    "DESCRIPTION": "REST API of the Business Support System. Authenticate with "
    "`Authorization: Token <key>`. Every POST accepts an `Idempotency-Key` header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Swagger UI from the installed sidecar package: no CDN is reachable from every network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several components share these choice sets; each gets one name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "SubscriptionStatusEnum": "subscriptions.models.SubscriptionStatus",
        "CustomerRequestKindEnum": "subscriptions.models.CustomerRequestKind",
    },
}
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)

# --- logging ------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "bss.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "bss.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "axes": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# --- BSS ----------------------------------------------------------------------------
BSS_ORGANIZATION_NAME = env.str("BSS_ORGANIZATION_NAME", default="Cloudwave Services")
LIST_PAGE_SIZE = 25

# --- payments -----------------------------------------------------------------------
# The card gateway speaks Stripe's HTTP API at this address (tests point it at a fake
# gateway on loopback). Keys empty = card payments are off.
PAYMENTS_GATEWAY_URL = env.str("PAYMENTS_GATEWAY_URL", default="https://api.stripe.com")
PAYMENTS_GATEWAY_SECRET_KEY = env.str("PAYMENTS_GATEWAY_SECRET_KEY", default="")
PAYMENTS_GATEWAY_WEBHOOK_SECRET = env.str("PAYMENTS_GATEWAY_WEBHOOK_SECRET", default="")
PAYMENTS_GATEWAY_TIMEOUT = env.float("PAYMENTS_GATEWAY_TIMEOUT", default=20.0)
# Retry plan of a declined card charge: hours after each failure, one entry per retry.
PAYMENTS_CARD_RETRY_HOURS = env.list("PAYMENTS_CARD_RETRY_HOURS", cast=int, default=[24, 72, 168])
# A charge whose answer never came is sent again (same idempotency key) after this long.
PAYMENTS_CARD_RESEND_MINUTES = env.int("PAYMENTS_CARD_RESEND_MINUTES", default=10)
