"""psycopg 3 server-side (named) cursors, which the stock psycopg instrumentor does not trace.

The stock instrumentor swaps the connection's client ``cursor_factory`` only:
``conn.cursor(name=…)`` builds a ``server_cursor_factory`` cursor, and Django's
``QuerySet.iterator()`` on PostgreSQL builds its own ``ServerCursor`` subclass directly. psycopg2
traces both, since its named cursors come from the traced ``cursor_factory``. So
``ServerCursor.execute`` (the ``DECLARE``; fetching runs no statement of the test's) is traced on
the class itself, with the instrumentor's cursor tracer and the same connection attributes, for
every connection however it was opened.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, cast

from opentelemetry.trace import TracerProvider

_SCOPE = __name__
_tracers: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_provider: list[TracerProvider | None] = []  # set while traced
_originals: dict[type, Callable[..., Any]] = {}


def trace_server_cursors(tracer_provider: TracerProvider | None) -> None:
    import psycopg

    if _originals:
        return
    _provider.append(tracer_provider)
    sync = psycopg.ServerCursor.execute
    asynchronous = psycopg.AsyncServerCursor.execute

    @functools.wraps(sync)
    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer(self)
        if tracer is None:
            return sync(self, *args, **kwargs)
        return tracer.traced_execution(self, functools.partial(sync, self), *args, **kwargs)

    @functools.wraps(asynchronous)
    async def execute_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer(self)
        if tracer is None:
            return await asynchronous(self, *args, **kwargs)
        method = functools.partial(asynchronous, self)
        return await tracer.traced_execution_async(self, method, *args, **kwargs)

    _originals[psycopg.ServerCursor] = sync
    _originals[psycopg.AsyncServerCursor] = asynchronous
    psycopg.ServerCursor.execute = execute  # type: ignore[method-assign]
    psycopg.AsyncServerCursor.execute = execute_async  # type: ignore[method-assign]


def untrace_server_cursors() -> None:
    for cls, original in _originals.items():
        cls.execute = original  # type: ignore[attr-defined]
    _originals.clear()
    _provider.clear()
    _tracers.clear()


def _tracer(cursor: Any) -> Any | None:
    """The cursor tracer of the cursor's connection, made on its first server-side cursor."""
    if not _provider:
        return None
    try:
        return _connection_tracer(cursor.connection)
    except Exception:  # noqa: BLE001 - the query runs untraced rather than fail
        return None


def _connection_tracer(connection: Any) -> Any:
    tracer = _tracers.get(connection)
    if tracer is None:
        import psycopg
        from opentelemetry.instrumentation import psycopg as instrumentation

        from . import __version__

        integration = instrumentation.DatabaseApiIntegration(
            _SCOPE,
            instrumentation.PsycopgInstrumentor._DATABASE_SYSTEM,
            connection_attributes=instrumentation.PsycopgInstrumentor._CONNECTION_ATTRIBUTES,
            version=__version__,
            tracer_provider=_provider[0],
            connect_module=cast(Any, psycopg),
        )
        integration.get_connection_attributes(connection)
        tracer = instrumentation.CursorTracer(integration)  # renders psycopg.sql Composables
        _tracers[connection] = tracer
    return tracer
