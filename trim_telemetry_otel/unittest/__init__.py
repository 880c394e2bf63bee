"""unittest integration: ``python -m trim_telemetry_otel.unittest`` and its runner."""

from __future__ import annotations

from .result import TelemetryTestResult, telemetry_result_class
from .runner import TelemetryTestRunner
from .suite import TelemetryTestSuite

__all__ = [
    "TelemetryTestResult",
    "TelemetryTestRunner",
    "TelemetryTestSuite",
    "telemetry_result_class",
]
