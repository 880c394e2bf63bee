"""The instrumentors, installed once per process where their library exists.

One function per library. Each leaves the library as a test sees it without telemetry: the stock
HTTP instrumentors' header injection goes through :mod:`.propagation`, requests' unprepared-request
error is requests' own, and sqlite3 is traced by :mod:`.sqlite_tracing` (real connections) rather
than by the stock instrumentor (a proxy). ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (the standard
comma list of instrumentor entry-point names, ``*`` for all) switches any of them off.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from opentelemetry.trace import TracerProvider

from . import propagation, psycopg_tracing, sqlite_tracing
from .diagnostics import logger
from .lazy_instrumentation import defer_until_imported
from .mocking import follow_requests_mock, mark_mocked_response, mark_mocking_active
from .settings import SettingsError

DISABLED_ENV = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"


def _stock(instrumentor_module: str, instrumentor_class: str, **options: Any) -> Any | None:
    """Install one stock instrumentor with our provider; None if its package is missing.

    Returns the instrumentor when it is active afterwards, installed by us or by someone else
    before us (``opentelemetry-instrument``), which is then left as it is.
    """
    try:
        module = importlib.import_module(instrumentor_module)
    except ImportError:
        return None
    instrumentor = getattr(module, instrumentor_class)()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(**options)
    return instrumentor if instrumentor.is_instrumented_by_opentelemetry else None


def _plain(instrumentor_module: str, instrumentor_class: str) -> Callable[[TracerProvider], bool]:
    """An instrumentor that needs nothing but our provider: installed as it comes."""

    def install(provider: TracerProvider) -> bool:
        return _stock(instrumentor_module, instrumentor_class, tracer_provider=provider) is not None

    return install


_threading = _plain("opentelemetry.instrumentation.threading", "ThreadingInstrumentor")
_psycopg2 = _plain("opentelemetry.instrumentation.psycopg2", "Psycopg2Instrumentor")
_pymysql = _plain("opentelemetry.instrumentation.pymysql", "PyMySQLInstrumentor")
_mysqlclient = _plain("opentelemetry.instrumentation.mysqlclient", "MySQLClientInstrumentor")
# Ours: each request on the wire (redirect hops, retries), time spent sleeping, Django's upkeep.
_wire = _plain("trim_telemetry_otel.wire", "WireInstrumentor")
_sleeps = _plain("trim_telemetry_otel.sleeps", "SleepInstrumentor")
_housekeeping = _plain("trim_telemetry_otel.housekeeping", "DjangoHousekeepingInstrumentor")


def _sqlite3(provider: TracerProvider) -> bool:
    stock = _stock_if_active("opentelemetry.instrumentation.sqlite3", "SQLite3Instrumentor")
    if stock is not None:
        if not auto_instrumented():
            return False  # the suite's own choice, bound to its own provider: left as it is
        # opentelemetry-instrument's makes sqlite3.connect return a proxy. Ours replaces it, on
        # the same provider, with the same spans and more of them.
        stock.uninstrument()
    sqlite_tracing.trace_sqlite3(provider)
    return True


def _psycopg(provider: TracerProvider) -> bool:
    stock = _stock(
        "opentelemetry.instrumentation.psycopg", "PsycopgInstrumentor", tracer_provider=provider
    )
    if stock is None:
        return False
    psycopg_tracing.trace_server_cursors(provider)  # the stock one traces client cursors only
    return True


def _http_client(
    provider: TracerProvider,
    name: str,
    instrumentor_class: str,
    gate: Callable[[ModuleType], bool] = propagation.gate_injection,
    after: tuple[Callable[[], None], ...] = (),
    **options: Any,
) -> bool:
    """A stock HTTP client instrumentor whose header injection goes through :mod:`.propagation`,
    followed by the fixes that keep its library as a test sees it without telemetry."""
    module = f"opentelemetry.instrumentation.{name}"
    if _stock(module, instrumentor_class, tracer_provider=provider, **options) is None:
        return False
    gate(importlib.import_module(module))
    for fix in after:
        fix()
    return True


def _requests(provider: TracerProvider) -> bool:
    return _http_client(
        provider,
        "requests",
        "RequestsInstrumentor",
        after=(_let_requests_refuse_unprepared_requests, follow_requests_mock),
        request_hook=mark_mocking_active,
        response_hook=mark_mocked_response,
    )


def _urllib3(provider: TracerProvider) -> bool:
    return _http_client(
        provider, "urllib3", "URLLib3Instrumentor", after=(_let_urllib3_pools_keep_their_headers,)
    )


def _urllib(provider: TracerProvider) -> bool:
    return _http_client(provider, "urllib", "URLLibInstrumentor")


def _httpx(provider: TracerProvider) -> bool:
    return _http_client(provider, "httpx", "HTTPXClientInstrumentor", gate=propagation.gate_httpx)


@dataclass(frozen=True)
class Library:
    name: str  # the instrumentor's entry-point name, as OTEL_PYTHON_DISABLED_INSTRUMENTATIONS says
    module: str  # what must be importable for the instrumentation to be worth installing
    install: Callable[[TracerProvider], bool]


LIBRARIES = (
    # First, so that threads started by a test carry its context from the start.
    Library("threading", "threading", _threading),
    Library("sqlite3", "sqlite3", _sqlite3),
    Library("psycopg2", "psycopg2", _psycopg2),
    Library("psycopg", "psycopg", _psycopg),
    Library("pymysql", "pymysql", _pymysql),
    Library("mysqlclient", "MySQLdb", _mysqlclient),
    Library("requests", "requests", _requests),
    Library("urllib3", "urllib3", _urllib3),
    Library("urllib", "urllib", _urllib),
    Library("httpx", "httpx", _httpx),
    # Ours: each request on the wire (redirect hops, retries), time spent sleeping, and Django's
    # connection upkeep told apart from the test's queries.
    Library("trim-wire", "http.client", _wire),
    Library("trim-sleep", "time", _sleeps),
    Library("trim-django-housekeeping", "django", _housekeeping),
)

_lock = threading.Lock()
_instrumented: list[str] = []
_done = False


def instrument_libraries(provider: TracerProvider) -> tuple[str, ...]:
    """Install every available instrumentation once; return the modules it instruments.

    Instrumentors are process-wide singletons: a second ``instrument()`` is ignored, and
    ``uninstrument()`` cannot reach connections opened earlier. So this runs once, before the
    first connection, and a library that someone else instrumented already
    is left as it is (sqlite3 under ``opentelemetry-instrument`` excepted, see :func:`_sqlite3`).
    """
    global _done
    with _lock:
        if not _done:
            _done = True
            _instrumented.extend(_install(provider, os.environ))
        return tuple(_instrumented)


def auto_instrumented() -> bool:
    """Whether opentelemetry-instrument (or ``auto_instrumentation.initialize()``) ran here."""
    return "opentelemetry.instrumentation.auto_instrumentation" in sys.modules


def disabled_instrumentations(environ: Mapping[str, str]) -> set[str]:
    """The entry-point names in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS (``*``: every one)."""
    names = {name.strip() for name in environ.get(DISABLED_ENV, "").split(",")}
    names.discard("")
    return {library.name for library in LIBRARIES} if "*" in names else names


def _install(provider: TracerProvider, environ: Mapping[str, str]) -> list[str]:
    try:
        propagation.set_propagation(propagation.propagation_wanted(environ))
    except SettingsError as error:  # the runners check it first; a stray caller gets no headers
        logger.warning("trim-telemetry-otel: %s; no trace headers are sent", error)
    disabled = disabled_instrumentations(environ)
    modules = []
    for library in LIBRARIES:
        if library.name in disabled:
            continue
        try:
            if importlib.util.find_spec(library.module) is None:
                continue
        except ImportError:  # a parent package that cannot be imported, or sys.modules[x] = None
            continue
        try:
            # A driver not imported yet is instrumented when it is: see lazy_instrumentation.
            install = functools.partial(library.install, provider)
            if defer_until_imported(library.module, install) or install():
                modules.append(library.module)
        except Exception as error:  # one broken instrumentor must not cost the others
            logger.warning(
                "trim-telemetry-otel: could not instrument %s: %r", library.module, error
            )
    return modules


def _stock_if_active(instrumentor_module: str, instrumentor_class: str) -> Any | None:
    try:
        module = importlib.import_module(instrumentor_module)
    except ImportError:
        return None
    instrumentor = getattr(module, instrumentor_class)()
    return instrumentor if instrumentor.is_instrumented_by_opentelemetry else None


def _let_requests_refuse_unprepared_requests() -> None:
    """The stock ``instrumented_send`` reads ``request.method.strip()`` and rewrites the headers
    before requests checks its argument: ``Session.send(Request(...))`` raised AttributeError
    instead of requests' own ``ValueError: You can only send PreparedRequests.``. Anything but a
    ``PreparedRequest`` goes straight to requests' own ``send``."""
    import requests

    instrumented = requests.Session.send
    original = getattr(instrumented, "__wrapped__", None)
    if original is None or getattr(instrumented, "_trim_guarded", False):
        return

    @functools.wraps(instrumented)
    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        if not isinstance(request, requests.PreparedRequest):
            return original(self, request, **kwargs)
        return instrumented(self, request, **kwargs)

    send._trim_guarded = True  # type: ignore[attr-defined]
    send.__wrapped__ = original  # what uninstrument() puts back
    requests.Session.send = send  # type: ignore[method-assign]


def _let_urllib3_pools_keep_their_headers() -> None:
    """The stock ``instrumented_urlopen`` turns ``headers=None`` into ``{}`` (to inject into a
    copy), so an ``HTTPConnectionPool(headers=...)`` lost its default headers: urllib3 itself
    uses ``self.headers`` for None. Hand the instrumentor what urllib3 would have used."""
    from urllib3.connectionpool import HTTPConnectionPool

    instrumented = HTTPConnectionPool.urlopen
    original = getattr(instrumented, "__wrapped__", None)
    if original is None or getattr(instrumented, "_trim_guarded", False):
        return

    @functools.wraps(original)
    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        # urlopen(method, url, body=None, headers=None, ...)
        if len(args) > 3:
            if args[3] is None:
                args = (*args[:3], self.headers, *args[4:])
        elif kwargs.get("headers") is None:
            kwargs["headers"] = self.headers
        return instrumented(self, *args, **kwargs)

    urlopen._trim_guarded = True  # type: ignore[attr-defined]
    HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]
