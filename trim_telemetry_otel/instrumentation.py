"""Stock OpenTelemetry instrumentors, installed once per process where their library exists."""

from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import TracerProvider

from .diagnostics import logger
from .mocking import follow_requests_mock, mark_mocked_response, mark_mocking_active


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
        {"request_hook": mark_mocking_active, "response_hook": mark_mocked_response},
    ),
    Library("urllib3", "opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
    Library("urllib", "opentelemetry.instrumentation.urllib", "URLLibInstrumentor"),
    Library("httpx", "opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
    # Ours: each request on the wire (redirect hops, retries), and time spent sleeping.
    Library("http.client", "trim_telemetry_otel.wire", "WireInstrumentor"),
    Library("time", "trim_telemetry_otel.sleeps", "SleepInstrumentor"),
    Library("django", "trim_telemetry_otel.housekeeping", "DjangoHousekeepingInstrumentor"),
)

_lock = threading.Lock()
_instrumented: list[str] = []


def instrument_libraries(provider: TracerProvider) -> tuple[str, ...]:
    """Install every available instrumentor once; return the names of the instrumented libraries.

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
            module = importlib.import_module(library.instrumentor_module)
        except ImportError:
            continue
        try:
            instrumentor = getattr(module, library.instrumentor_class)()
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=provider, **library.options)
            if instrumentor.is_instrumented_by_opentelemetry:
                names.append(library.module)
        except Exception as error:  # one broken instrumentor must not cost the others
            logger.warning(
                "trim-telemetry-otel: could not instrument %s: %r", library.module, error
            )
    return names
