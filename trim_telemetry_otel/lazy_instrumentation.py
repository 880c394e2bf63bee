"""Instrumentors installed when their library is first imported, not all at start-up.

Importing an instrumentor imports its library: installing every available one at start-up made
each run import psycopg, psycopg2, PyMySQL, MySQLdb and httpx whether the suite uses them or not
(about 200 ms). A library not imported yet gets a post-import hook instead, which installs its
instrumentor right after the library's own module has run, before the importer gets it back: so
before any connection can be opened, and before ``from sqlite3 import connect`` can copy the
unwrapped function.

A library imported already (by a plugin, by conftest), and every library in a process that
``opentelemetry-instrument`` started (it installs every instrumentor eagerly), is instrumented
right away, exactly as before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

from wrapt import register_post_import_hook  # a dependency of opentelemetry-instrumentation

from .diagnostics import logger

# The libraries whose instrumentation can wait for their import: drivers, HTTP clients and
# Django's database layer, which nothing can use before importing them. The rest (threading,
# time, http.client) is installed at once.
_DEFERRABLE = {"sqlite3", "psycopg2", "psycopg", "pymysql", "MySQLdb", "requests", "urllib3"}
_DEFERRABLE |= {"urllib", "httpx", "django"}
# The module whose import must install a library's instrumentation, where it is not the library's
# own name: the urllib instrumentor patches ``urllib.request``, and ``import urllib`` alone (which
# ``urllib.parse`` users do) would make it import ``urllib.request`` for nothing; Django's
# housekeeping patches the base database wrapper, which ``python -m trim_telemetry_otel.django``
# imports only after telemetry has started.
_TRIGGERS = {"urllib": "urllib.request", "django": "django.db.backends.base.base"}
# opentelemetry-instrument installs every instrumentor before the program starts: then ours are
# installed at once too, to find them (and leave them, or replace sqlite3's) exactly as before.
_AUTO_INSTRUMENTATION = "opentelemetry.instrumentation.auto_instrumentation"


def defer_until_imported(library: str, install: Callable[[], object]) -> bool:
    """Arrange for ``install`` to run right after ``library``'s first import; False: run it now.

    If ``install`` raises when it runs on import, the failure is logged and the import goes on.
    """
    trigger = _TRIGGERS.get(library, library)
    if library not in _DEFERRABLE or trigger in sys.modules or _AUTO_INSTRUMENTATION in sys.modules:
        return False

    def installed_on_import(module: ModuleType) -> None:
        try:
            install()
        except Exception as error:  # never into the code that imported the library
            logger.warning("trim-telemetry-otel: could not instrument %s: %r", library, error)

    register_post_import_hook(installed_on_import, trigger)
    return True
