"""sqlite3 tracing that hands the test real ``sqlite3.Connection`` and ``sqlite3.Cursor`` objects.

The stock sqlite3 instrumentor wraps ``connect`` and returns a proxy: ``Connection.backup(target)``
refuses it (``backup() argument 'target' must be sqlite3.Connection``), ``factory=`` subclasses
lose their type, and the ``Connection.execute``/``executemany``/``executescript`` shortcuts and
``Cursor.executescript`` are not traced at all. Here ``connect`` passes a traced subclass of the
requested factory instead, whose ``cursor()`` passes a traced subclass of the requested cursor
factory: the objects are real, ``isinstance`` holds, and a subclass keeps its own behaviour.

The spans are the stock ones (built by ``opentelemetry-instrumentation-dbapi``'s tracer): span
name = first SQL word, ``db.system=sqlite``, ``db.statement``, errors recorded.

CPython differs on one point (checked on 3.10–3.13): up to 3.10, ``Connection.execute*`` call
``self.cursor()`` and then the cursor's method, so the traced cursor records them; from 3.11 they
call the C implementation directly, so the traced connection overrides them.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from sqlite3 import dbapi2
from typing import Any, cast

from opentelemetry.instrumentation.dbapi import CursorTracer, DatabaseApiIntegration
from opentelemetry.trace import TracerProvider

DATABASE_SYSTEM = "sqlite"
_SCOPE = __name__
# connect(database, timeout, detect_types, isolation_level, check_same_thread, factory, …)
_FACTORY_POSITION = 5
_SHORTCUTS_CALL_THE_CURSOR = sys.version_info < (3, 11)
_MODULES = (sqlite3, dbapi2)


@dataclass
class _State:
    tracer: CursorTracer[Any] | None = None
    original_connect: Callable[..., Any] | None = None


_state = _State()
_traced_classes: dict[type, type] = {}  # a factory class -> its traced subclass


def is_traced() -> bool:
    return _state.original_connect is not None


def trace_sqlite3(tracer_provider: TracerProvider | None) -> None:
    """Make ``sqlite3.connect`` (and ``sqlite3.dbapi2.connect``) open traced connections."""
    from . import __version__

    if is_traced():
        return
    integration = DatabaseApiIntegration(
        _SCOPE,
        DATABASE_SYSTEM,
        connection_attributes={},  # as the stock instrumentor: sqlite spans carry no db.name
        version=__version__,
        tracer_provider=tracer_provider,
        connect_module=cast(Any, dbapi2),
    )
    original = dbapi2.connect

    @functools.wraps(original)
    def connect(*args: Any, **kwargs: Any) -> Any:
        if _state.tracer is None:
            return original(*args, **kwargs)
        if len(args) > _FACTORY_POSITION:
            factory = args[_FACTORY_POSITION]
            traced = _traced_connection_class(factory)
            if traced is not None:
                args = (*args[:_FACTORY_POSITION], traced, *args[_FACTORY_POSITION + 1 :])
        else:
            traced = _traced_connection_class(kwargs.get("factory", sqlite3.Connection))
            if traced is not None:
                kwargs["factory"] = traced
        # The arguments go on as they came (positional stays positional), so sqlite3's own
        # checks and warnings are the same as without telemetry.
        return original(*args, **kwargs)

    _state.tracer = CursorTracer(integration)
    _state.original_connect = original
    for module in _MODULES:
        module.connect = connect  # type: ignore[attr-defined]


def untrace_sqlite3() -> None:
    """Give ``connect`` back; connections opened meanwhile stop recording too."""
    original = _state.original_connect
    if original is None:
        return
    for module in _MODULES:
        module.connect = original  # type: ignore[attr-defined]
    _state.tracer = None
    _state.original_connect = None


def _traced_connection_class(factory: Any) -> type | None:
    """The traced subclass of a connection factory, or None where none can be made."""
    if not (isinstance(factory, type) and issubclass(factory, sqlite3.Connection)):
        return None  # a factory function: its connection stays untraced
    if issubclass(factory, _TracedConnection):
        return factory
    return _subclass(factory, _TracedConnection)


def _traced_cursor_class(factory: Any) -> type | None:
    if not (isinstance(factory, type) and issubclass(factory, sqlite3.Cursor)):
        return None
    if issubclass(factory, _TracedCursor):
        return factory
    return _subclass(factory, _TracedCursor)


def _subclass(base: type, tracing: type) -> type | None:
    traced = _traced_classes.get(base)
    if traced is None:
        try:
            # Named like the base, so reprs and sqlite3's own error messages read the same.
            traced = type(
                base.__name__,
                (tracing, base),
                {
                    "__slots__": (),
                    "__module__": base.__module__,
                    "__qualname__": base.__qualname__,
                    **_class_attributes(base, tracing),
                },
            )
        except TypeError:  # a base that cannot be subclassed this way (__init_subclass__ rules)
            return None
        traced = _traced_classes.setdefault(base, traced)
    return traced


def _class_attributes(base: type, tracing: type) -> dict[str, Any]:
    if tracing is _TracedConnection:
        return {"_trim_own_cursor_method": _keeps_sqlite3_cursor_method(base)}
    return {}


class _TracedCursor:
    """Mixed in before the cursor factory the test asked for."""

    __slots__ = ()

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        tracer = _state.tracer
        method = super().execute  # type: ignore[misc]
        if tracer is None:
            return method(*args, **kwargs)
        return tracer.traced_execution(self, method, *args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        tracer = _state.tracer
        method = super().executemany  # type: ignore[misc]
        if tracer is None:
            return method(*args, **kwargs)
        return tracer.traced_execution(self, method, *args, **kwargs)

    def executescript(self, *args: Any, **kwargs: Any) -> Any:
        tracer = _state.tracer
        method = super().executescript  # type: ignore[misc]
        if tracer is None:
            return method(*args, **kwargs)
        return tracer.traced_execution(self, method, *args, **kwargs)


class _TracedConnection:
    """Mixed in before the connection factory the test asked for."""

    __slots__ = ()
    # Whether the factory keeps sqlite3's own cursor(): set on each traced subclass.
    _trim_own_cursor_method = True

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        cursor_method = super().cursor  # type: ignore[misc]
        if args or "factory" in kwargs:
            traced = _traced_cursor_class(args[0] if args else kwargs["factory"])
            if traced is not None:
                if args:
                    args = (traced, *args[1:])
                else:
                    kwargs["factory"] = traced
            return cursor_method(*args, **kwargs)
        if self._trim_own_cursor_method:
            return cursor_method(_default_cursor_class())
        # The test's own Connection subclass chooses its default cursor: let it, then trace the
        # cursor it made where its class allows (a Python subclass of sqlite3.Cursor does).
        cursor = cursor_method()
        traced = _traced_cursor_class(type(cursor))
        if traced is not None and type(cursor) is not traced:
            with contextlib.suppress(TypeError):  # a plain sqlite3.Cursor: stays untraced
                cursor.__class__ = traced
        return cursor

    if not _SHORTCUTS_CALL_THE_CURSOR:
        # What CPython 3.11+ does in C: a cursor of the default class (not self.cursor()), then
        # its method; here that cursor is the traced subclass of the default class.

        def execute(self, *args: Any, **kwargs: Any) -> Any:
            return _default_cursor(self).execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            return _default_cursor(self).executemany(*args, **kwargs)

        def executescript(self, *args: Any, **kwargs: Any) -> Any:
            return _default_cursor(self).executescript(*args, **kwargs)


def _keeps_sqlite3_cursor_method(factory: type) -> bool:
    for klass in factory.__mro__:
        if klass is sqlite3.Connection:
            return True
        if "cursor" in vars(klass):
            return False
    return True


@functools.cache
def _default_cursor_class() -> type:
    traced = _traced_cursor_class(sqlite3.Cursor)
    assert traced is not None  # sqlite3.Cursor can always be subclassed
    return traced


def _default_cursor(connection: Any) -> Any:
    return sqlite3.Connection.cursor(connection, _default_cursor_class())
