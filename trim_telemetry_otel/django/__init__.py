"""Django integration: :class:`TelemetryTestRunner` (``python -m trim_telemetry_otel.django``).

Importing it imports Django; ``import trim_telemetry_otel`` never does.
"""

from __future__ import annotations

from .runner import TelemetryTestRunner

__all__ = ["TelemetryTestRunner"]
