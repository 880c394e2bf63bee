"""How the package tells the user that something of ours went wrong, without touching the test."""

from __future__ import annotations

import logging

logger = logging.getLogger("trim_telemetry_otel")


class TelemetryWarning(UserWarning):
    """Raised as a warning for configuration problems found before any test runs."""


class InternalErrors:
    """Counts failures inside span callbacks, logging the first of each kind once.

    Span callbacks run on the test's own thread: raising (or warning, which ``-W error`` turns into
    an exception) there would change the test's outcome, so failures are logged and counted instead.
    """

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[str] = set()

    def record(self, where: str, error: BaseException) -> None:
        self.count += 1
        key = f"{where}:{type(error).__name__}"
        if key not in self._seen:
            self._seen.add(key)
            logger.warning("trim-telemetry-otel: %s failed: %r", where, error, exc_info=error)
