"""Settings, all read from the environment; defaults give the embedded (SQLite) mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from techexchange.core.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # First, so its templates (registration/*) win over the admin's of the same name.
    "techexchange.web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_tasks_db",
    "techexchange.core",
    "techexchange.regions",
    "techexchange.accounts",
    "techexchange.resources",
    "techexchange.market",
    "techexchange.contracts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "techexchange.web.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "techexchange.accounts.middleware.ApiTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "techexchange.web.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "techexchange.web.context_processors.platform",
            ],
        },
    },
]

# Database: SQLite (WAL, immediate transactions) unless DATABASE_URL names another.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
    _db["OPTIONS"] = {
        # WAL: 70-93 µs per single-row commit here instead of 3-21 ms (DEVELOPERS.md).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        # IMMEDIATE takes the write lock at BEGIN: writers serialise instead of failing.
        "transaction_mode": "IMMEDIATE",
    }
    _db["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", "") or None}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHER", default=False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Internationalisation: zh-Hans first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "techexchange" / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "media/"

EMAIL_BACKEND_PATH = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
MAILERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", default=True),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "techexchange <noreply@techexchange.local>")

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", default=False) else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Demo data is synthetic: the footer says so while this is on.
DEMO_MODE = env_bool("DEMO_MODE", default=True)

# Search indexes (derived data, rebuilt from the database): one directory per doc type.
SEARCH_INDEX_DIR = env_str("SEARCH_INDEX_DIR", str(BASE_DIR / "var" / "search"))

# Technology contracts: the registration number format (16 digits; year 4 + region 4 + point 2 +
# serial 6 is unverified, hence configurable), this registry's point, and the first day of the
# 2026 rules (unverified: empty keeps the 2021 rules in force).
CONTRACT_NUMBER_FORMAT = env_str(
    "CONTRACT_NUMBER_FORMAT", "{year:04d}{region:4.4}{point:02d}{serial:06d}"
)
CONTRACT_REGISTRATION_POINT = env_int("CONTRACT_REGISTRATION_POINT", 1)
CONTRACT_RULES_2026_FROM = env_str("CONTRACT_RULES_2026_FROM", "")

# Front-end packages installed from npm by `make assets` (offline, never a CDN): ECharts.
_ECHARTS_DIST = BASE_DIR / "node_modules" / "echarts" / "dist"
STATICFILES_DIRS = [("vendor/echarts", _ECHARTS_DIST)] if _ECHARTS_DIST.is_dir() else []

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

# Serve static files from the app folders too (no collectstatic needed in dev and tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = env_bool("WHITENOISE_AUTOREFRESH", default=DEBUG)
