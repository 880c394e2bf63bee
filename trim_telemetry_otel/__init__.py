"""trim-telemetry-otel: what each test really does, one NDJSON record per test.

The public API is small; the runners (``trim_telemetry_otel.pytest``, ``.unittest``, ``.django``)
are imported on their own so that this package never needs Django.

PYTEST_DONT_REWRITE: under ``opentelemetry-instrument`` the configurator imports this package
before pytest loads it as a plugin; it has no test assertions to rewrite, and the marker keeps
pytest from warning that it cannot.
"""

from __future__ import annotations

from .settings import import_the_sdk

import_the_sdk()  # before anything imports it: a bad OTEL_* value must not break the import

from .fold import fold_test  # noqa: E402
from .processor import FoldingSpanProcessor  # noqa: E402
from .roots import TestIdentity, TestOutcome  # noqa: E402
from .schema import SCHEMA_VERSION, TestRecord, record_json_schema  # noqa: E402
from .session import TelemetrySession  # noqa: E402

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
