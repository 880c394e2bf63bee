"""Django's own connection upkeep, kept apart from the queries a test makes.

Django's query log (``connection.queries``, ``CaptureQueriesContext``, ``assertNumQueries``) sees
the statements run through its cursor wrapper. Its backends also run statements of their own,
mostly on the raw driver cursor, which the driver's instrumentor traces all the same:

- ``is_usable()`` — PostgreSQL ``SELECT 1`` (health checks: ``CONN_HEALTH_CHECKS``, and after a
  database error when the request signals close old connections);
- ``init_connection_state()`` when a connection opens — PostgreSQL ``SELECT set_config('TimeZone',
  …)`` and ``SET ROLE``, MySQL/MariaDB ``SET SQL_AUTO_IS_NULL = 0`` / ``SET SESSION TRANSACTION
  ISOLATION LEVEL …`` and the server-version check;
- ``get_new_connection()`` — SQLite's ``PRAGMA foreign_keys = ON`` and friends;
- ``ensure_timezone()`` — ``override_settings(TIME_ZONE=…)`` resets the session time zone.

Telling them apart by their text would misfile an application's own ``SELECT 1`` (a health-check
view); telling them apart by where they come from does not. So these backend methods run inside
an INTERNAL span marked ``trim.db.housekeeping``, and the fold files the DB spans under it as
housekeeping. The backend classes are patched the first time a connection of that class opens
(``connect`` is the base class's), so custom backends built on Django's are covered too.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from . import attributes as attr

_METHODS = ("get_new_connection", "init_connection_state", "is_usable", "ensure_timezone")
_MARK = "_trim_housekeeping"
_tracer: trace.Tracer | None = None


class DjangoHousekeepingInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def instrument(self, **kwargs: Any) -> Any:
        if "django" not in sys.modules:
            # Not a Django run: importing Django's database layer would only cost time. (The
            # instrumentation waits for that layer's import: see lazy_instrumentation.)
            return None
        return super().instrument(**kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        global _tracer
        from django.db.backends.base.base import BaseDatabaseWrapper

        _tracer = trace.get_tracer(__name__, tracer_provider=kwargs.get("tracer_provider"))
        BaseDatabaseWrapper.connect = _connect(BaseDatabaseWrapper.connect)

    def _uninstrument(self, **kwargs: Any) -> None:
        from django.db.backends.base.base import BaseDatabaseWrapper

        connect = BaseDatabaseWrapper.connect
        BaseDatabaseWrapper.connect = getattr(connect, "__wrapped__", connect)


def _connect(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def connect(self: Any) -> Any:
        cls = type(self)
        if not cls.__dict__.get(_MARK):
            # On failure the connection opens all the same, its upkeep unmarked.
            with contextlib.suppress(Exception):
                _mark_backend(cls)
        return original(self)

    return connect


def _mark_backend(cls: type) -> None:
    for name in _METHODS:
        method = getattr(cls, name, None)
        if method is not None and not getattr(method, _MARK, False):
            setattr(cls, name, _housekeeping(method, name))
    setattr(cls, _MARK, True)


def _housekeeping(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(*args: Any, **kwargs: Any) -> Any:
        tracer = _tracer
        if tracer is None or not trace.get_current_span().is_recording():
            return original(*args, **kwargs)
        with tracer.start_as_current_span(
            f"django.db.{name}", attributes={attr.DB_HOUSEKEEPING: True}
        ):
            return original(*args, **kwargs)

    setattr(method, _MARK, True)
    return method
