"""trim-telemetry-otel: what each test really does, one NDJSON record per test.

The public API is small; the runners (``trim_telemetry_otel.pytest``, ``.unittest``, ``.django``)
are imported on their own so that this package never needs Django.

The names below are imported when first used (PEP 562), so that importing the package, which
every entry point does first, costs nothing it does not need: the ``trim-telemetry`` command
never imports the OpenTelemetry SDK, and the SDK alone takes a third of a second to import.

PYTEST_DONT_REWRITE: under ``opentelemetry-instrument`` the configurator imports this package
before pytest loads it as a plugin; it has no test assertions to rewrite, and the marker keeps
pytest from warning that it cannot.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .settings import guard_the_sdk_import

# Before any module of ours imports the SDK: a bad OTEL_* value must not break that import.
guard_the_sdk_import()

if TYPE_CHECKING:
    from .fold import fold_test
    from .processor import FoldingSpanProcessor
    from .roots import TestIdentity, TestOutcome
    from .schema import SCHEMA_VERSION, TestRecord, record_json_schema
    from .session import TelemetrySession

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "FoldingSpanProcessor",
    "TelemetrySession",
    "TestIdentity",
    "TestOutcome",
    "TestRecord",
    "__version__",
    "fold_test",
    "record_json_schema",
]

#: Each public name and the module that defines it.
_HOMES = {
    "SCHEMA_VERSION": "schema",
    "FoldingSpanProcessor": "processor",
    "TelemetrySession": "session",
    "TestIdentity": "roots",
    "TestOutcome": "roots",
    "TestRecord": "schema",
    "fold_test": "fold",
    "record_json_schema": "schema",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    guard_the_sdk_import()  # the environment may have changed since this package was imported
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # later uses find it without calling this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
