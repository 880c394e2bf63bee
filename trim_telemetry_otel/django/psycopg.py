"""Keep Django's psycopg 3 connections traced.

The psycopg instrumentor traces through the connection's ``cursor_factory``: its ``connect``
wrapper passes a traced subclass of the requested factory. Django 4.2 and 5.0 (and backends built
on them) instead set ``connection.cursor_factory = Cursor`` (Django's own client-side-binding
cursor) right after connecting, which drops the traced factory: none of their queries would be
recorded. On Django's ``connection_created`` signal, such a connection gets the instrumentor's
traced factory again, built around Django's class so that Django's cursor behaviour is kept, and
with the connection's attributes (database name, host, port) so that its spans are the same as
those of a connection the instrumentor opened itself.
"""

from __future__ import annotations

import sys
from typing import Any, cast

from django.db.backends.signals import connection_created

from ..diagnostics import InternalErrors
from ..session import TelemetrySession

_DISPATCH_UID = "trim_telemetry_otel.django.psycopg"
_errors = InternalErrors()


def trace_django_connections(session: TelemetrySession) -> None:
    """Re-trace every psycopg 3 connection Django opens from now on (once per process)."""
    if "psycopg" not in session.telemetry.instrumented:
        return
    provider = session.telemetry.provider

    def retrace(sender: Any, connection: Any, **kwargs: Any) -> None:
        try:
            retrace_connection(connection.connection, provider)
        except Exception as error:  # the connection still works, untraced
            _errors.record("tracing a psycopg connection", error)

    connection_created.connect(retrace, dispatch_uid=_DISPATCH_UID, weak=False)


def retrace_connection(raw: Any, tracer_provider: Any) -> bool:
    """Give ``raw`` (a psycopg 3 connection) a traced cursor factory if it lost it.

    Returns whether it had to. Server-side cursors Django opens with an explicit class
    (``ServerSideCursor(connection, name=…)``) stay untraced, as under the stock instrumentor.
    """
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:  # never imported (or made unimportable): Django uses psycopg2
        return False
    from opentelemetry.instrumentation import psycopg as instrumentation
    from opentelemetry.instrumentation.psycopg.version import __version__

    if not isinstance(raw, psycopg.Connection):
        return False  # psycopg2, or an async connection
    factory = raw.cursor_factory
    if factory.__module__ == instrumentation.__name__:
        return False  # the instrumentor's own traced factory
    db_api = instrumentation.DatabaseApiIntegration(
        instrumentation.__name__,
        instrumentation.PsycopgInstrumentor._DATABASE_SYSTEM,
        connection_attributes=instrumentation.PsycopgInstrumentor._CONNECTION_ATTRIBUTES,
        version=__version__,
        tracer_provider=tracer_provider,
        connect_module=cast(Any, psycopg),
    )
    db_api.get_connection_attributes(raw)
    # The instrumentor's factory builder, as its connect wrapper uses it: private, so the Django
    # tests with a backend that behaves like Django 4.2's fail if it changes.
    raw.cursor_factory = instrumentation._new_cursor_factory(db_api=db_api, base_factory=factory)
    return True
