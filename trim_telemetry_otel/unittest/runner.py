"""``TelemetryTestRunner``: unittest's TextTestRunner, writing one NDJSON record per test."""

from __future__ import annotations

import os
import sys
import unittest
from pathlib import Path
from typing import Any, cast

from ..session import TelemetrySession, start_or_warn
from ..settings import DEFAULT_DIR, EnvSettings, SettingsError
from .result import telemetry_result_class
from .suite import adopt


class TelemetryTestRunner(unittest.TextTestRunner):
    """A ``TextTestRunner`` whose results record every test; its output stays the same.

    Use it as ``unittest.main(testRunner=TelemetryTestRunner)``. Each run writes a new run file in
    ``telemetry_dir`` (else ``$TRIM_TELEMETRY_DIR``, else ``./.telemetry``) and adds one line
    naming it after unittest's summary. ``TRIM_TELEMETRY=0`` turns telemetry off.
    """

    def __init__(
        self, *args: Any, telemetry_dir: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.telemetry_dir = Path(telemetry_dir) if telemetry_dir is not None else None

    def run(self, test: unittest.TestSuite | unittest.TestCase) -> unittest.TextTestResult:
        try:
            session = start_session(self.telemetry_dir)
        except SettingsError as error:  # before any test, as a usage error: no traceback
            sys.stderr.write(f"error: {error}\n")
            raise SystemExit(2) from None
        if session is None:
            return super().run(test)
        plain = self.resultclass
        base = cast("type[unittest.TestResult]", plain)
        self.resultclass = telemetry_result_class(base, session)  # type: ignore[assignment]
        session.report_forwarding_at_the_end()
        try:
            result = super().run(adopt(test))
            for line in session.report_lines():
                self.stream.writeln(f"Telemetry: {line}")
            return result
        finally:
            self.resultclass = plain
            session.close()


def start_session(directory: Path | None) -> TelemetrySession | None:
    """A new run as the environment configures it; ``None`` when ``TRIM_TELEMETRY`` is off.

    Raises :class:`~trim_telemetry_otel.settings.SettingsError` for a bad environment value. A run
    file that cannot be created gives a warning on stderr and ``None``: the tests run plain.
    """
    env = EnvSettings.read()
    if env.enabled is False:
        return None
    return start_or_warn(directory or env.directory or Path(DEFAULT_DIR), env.run_id)
