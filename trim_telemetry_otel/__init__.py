"""trim-telemetry-otel: what each test really does, one NDJSON record per test.

The public API is small; the runners (``trim_telemetry_otel.pytest``, ``.unittest``, ``.django``)
are imported on their own so that this package never needs Django.
"""

from __future__ import annotations

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
