"""Django integration: :class:`TelemetryTestRunner` (``python -m trim_telemetry_otel.django``).

Importing it imports Django; ``import trim_telemetry_otel`` never does. The runner is imported on
first use so that ``python -m trim_telemetry_otel.django`` can say which extra is missing when
Django is not installed instead of failing in this import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import TelemetryTestRunner

__all__ = ["TelemetryTestRunner"]

MISSING_DJANGO = (
    "trim_telemetry_otel.django needs Django, which is not installed in {python}: "
    "pip install 'trim-telemetry-otel[django]'"
)


def __getattr__(name: str) -> Any:
    if name != "TelemetryTestRunner":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import sys

    try:
        from .runner import TelemetryTestRunner
    except ModuleNotFoundError as error:
        if error.name != "django" and not (error.name or "").startswith("django."):
            raise
        raise ModuleNotFoundError(
            MISSING_DJANGO.format(python=sys.executable), name="django"
        ) from error
    globals()["TelemetryTestRunner"] = TelemetryTestRunner
    return TelemetryTestRunner
