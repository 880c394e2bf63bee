"""Settings of the example shop.

Everything that differs between a laptop, CI and docker-compose comes from the environment:

- ``DATABASE_URL``: e.g. ``postgres://postgres@127.0.0.1:5432/trim_example``; without it the shop
  uses SQLite (``db.sqlite3`` here, an in-memory database for the tests), so it needs no server.
- ``SHIPPING_API_URL`` / ``SHIPPING_API_KEY``: the external shipping-quote service.
- ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() in ("1", "true", "yes", "on")
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "catalog",
    "orders",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

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
            ],
        },
    },
]


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
        }
    try:
        import dj_database_url
    except ImportError:
        raise ImproperlyConfigured(
            "DATABASE_URL is set but dj-database-url is not installed: "
            "pip install -r requirements.txt"
        ) from None
    return {"default": dict(dj_database_url.parse(url, conn_max_age=0))}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "shop.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# The external shipping-quote service (see orders/shipping.py). The default host is on the
# reserved .example TLD: nothing answers there, tests point it at a local server or mock it.
SHIPPING_API_URL = os.environ.get("SHIPPING_API_URL", "https://api.shipping.example/v1")
SHIPPING_API_KEY = os.environ.get("SHIPPING_API_KEY", "demo-key")
SHIPPING_API_TIMEOUT = float(os.environ.get("SHIPPING_API_TIMEOUT", "2"))
