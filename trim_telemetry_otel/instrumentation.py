"""Stock OpenTelemetry instrumentors, installed once per process where their library exists."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import TracerProvider

from .diagnostics import logger
from .lazy_instrumentation import defer_until_imported
from .mocking import follow_requests_mock, mark_mocked_response


@dataclass(frozen=True)
class Library:
    module: str  # what must be importable for the instrumentor to be worth installing
    instrumentor_module: str
    instrumentor_class: str
    options: dict[str, Any] = field(default_factory=dict)


LIBRARIES = (
    # First, so that threads started by a test carry its context from the start.
    Library("threading", "opentelemetry.instrumentation.threading", "ThreadingInstrumentor"),
    Library("sqlite3", "opentelemetry.instrumentation.sqlite3", "SQLite3Instrumentor"),
    Library("psycopg2", "opentelemetry.instrumentation.psycopg2", "Psycopg2Instrumentor"),
    Library("psycopg", "opentelemetry.instrumentation.psycopg", "PsycopgInstrumentor"),
    Library("pymysql", "opentelemetry.instrumentation.pymysql", "PyMySQLInstrumentor"),
    Library("MySQLdb", "opentelemetry.instrumentation.mysqlclient", "MySQLClientInstrumentor"),
    Library(
        "requests",
        "opentelemetry.instrumentation.requests",
        "RequestsInstrumentor",
        {"response_hook": mark_mocked_response},
    ),
    Library("urllib3", "opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
    Library("urllib", "opentelemetry.instrumentation.urllib", "URLLibInstrumentor"),
    Library("httpx", "opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
)

_lock = threading.Lock()
_instrumented: list[str] = []


def instrument_libraries(provider: TracerProvider) -> tuple[str, ...]:
    """Install every available instrumentor once; return the names of the instrumented libraries
    (those not imported yet are instrumented on their first import, and named here already).

    Instrumentors are process-wide singletons: a second ``instrument()`` is ignored, and
    ``uninstrument()`` cannot reach connections opened earlier. So this runs once, before the first
    connection, and a library that someone else instrumented already (``opentelemetry-instrument``)
    is left as it is.
    """
    with _lock:
        if not _instrumented:
            _instrumented.extend(_install(provider))
            follow_requests_mock()
        return tuple(_instrumented)


def _install(provider: TracerProvider) -> list[str]:
    names = []
    for library in LIBRARIES:
        try:
            if importlib.util.find_spec(library.module) is None:
                continue
        except ImportError:
            continue
        install = functools.partial(_install_one, library, provider)
        # A library not imported yet is instrumented when it is: see lazy_instrumentation.
        if defer_until_imported(library.module, library.instrumentor_module, install) or install():
            names.append(library.module)
    return names


def _install_one(library: Library, provider: TracerProvider) -> bool:
    try:
        module = importlib.import_module(library.instrumentor_module)
    except ImportError:
        return False
    try:
        instrumentor = getattr(module, library.instrumentor_class)()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **library.options)
        return bool(instrumentor.is_instrumented_by_opentelemetry)
    except Exception as error:  # one broken instrumentor must not cost the others
        logger.warning("trim-telemetry-otel: could not instrument %s: %r", library.module, error)
        return False
