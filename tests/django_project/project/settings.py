"""Settings of the test project: the database comes from the environment.

TRIM_DJANGO_DB: sqlite (default) | postgresql | legacy_postgresql | mysql
TRIM_DJANGO_DRIVER=psycopg2: hide psycopg 3, which Django prefers when it can import it
TRIM_DJANGO_DB_NAME: database name on PostgreSQL and MariaDB (default trim_runner; Django's test
  database is test_<name>)
TRIM_DJANGO_START_METHOD=spawn: run --parallel workers as fresh interpreters (as on macOS)
TRIM_DJANGO_TEST_RUNNER: the TEST_RUNNER setting
"""

import multiprocessing
import os
import sys

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = ["shop"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "project.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEST_RUNNER = os.environ.get("TRIM_DJANGO_TEST_RUNNER", "django.test.runner.DiscoverRunner")
NAME = os.environ.get("TRIM_DJANGO_DB_NAME", "trim_runner")

if os.environ.get("TRIM_DJANGO_DRIVER") == "psycopg2":
    sys.modules["psycopg"] = None  # type: ignore[assignment]

if os.environ.get("TRIM_DJANGO_START_METHOD"):
    multiprocessing.set_start_method(os.environ["TRIM_DJANGO_START_METHOD"], force=True)


def _postgresql(engine: str) -> dict[str, object]:
    dsn = os.environ.get(
        "TRIM_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test"
    )
    params = dict(part.split("=", 1) for part in dsn.split())
    return {
        "ENGINE": engine,
        "NAME": NAME,
        "HOST": params.get("host", "127.0.0.1"),
        "PORT": params.get("port", "5432"),
        "USER": params.get("user", "postgres"),
        "PASSWORD": params.get("password", ""),
    }


_backend = os.environ.get("TRIM_DJANGO_DB", "sqlite")
if _backend == "postgresql":
    _default = _postgresql("django.db.backends.postgresql")
elif _backend == "legacy_postgresql":
    _default = _postgresql("legacy_postgresql")
elif _backend == "mysql":
    _default = {
        "ENGINE": "django.db.backends.mysql",
        "NAME": NAME,
        "HOST": os.environ.get("TRIM_TEST_MARIADB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("TRIM_TEST_MARIADB_PORT", "3306"),
        "USER": os.environ.get("TRIM_TEST_MARIADB_USER", "root"),
        "PASSWORD": os.environ.get("TRIM_TEST_MARIADB_PASSWORD", ""),
    }
else:
    # Never opened: Django's test database for SQLite lives in memory.
    _default = {"ENGINE": "django.db.backends.sqlite3", "NAME": "real-database.sqlite3"}

DATABASES = {
    "default": _default,
    "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": "real-other.sqlite3"},
}
