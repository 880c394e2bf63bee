"""One telemetry run as every entry point sees it: the run file, its writer and the tests in it."""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry import context
from opentelemetry.context import Context

from .diagnostics import InternalErrors
from .ndjson import NdjsonWriter
from .provider import Telemetry, get_telemetry
from .roots import RunningTest, TestIdentity, TestOutcome
from .runs import create_run_file, join_run_file


class TelemetrySession:
    """Connects a run file to the process-wide pipeline for the length of one run.

    Every method a runner calls around a test swallows our own failures: telemetry must never
    change a test's outcome or the run's exit code.
    """

    def __init__(self, run_id: str, path: Path, telemetry: Telemetry) -> None:
        self.run_id = run_id
        self.path = path
        self.telemetry = telemetry
        self.errors = InternalErrors()
        self._writer: NdjsonWriter | None = NdjsonWriter(path)
        telemetry.processor.attach(self._writer)

    @classmethod
    def start(cls, directory: Path, run_id: str | None = None) -> TelemetrySession:
        """Begin a new run file, or join ``run_id``'s when one is given."""
        telemetry = get_telemetry()  # instrument before any test opens a connection
        if run_id is not None:
            return cls(run_id, join_run_file(directory, run_id), telemetry)
        new_id, path = create_run_file(directory)
        return cls(new_id, path, telemetry)

    @classmethod
    def join(cls, directory: Path, run_id: str) -> TelemetrySession:
        """Write into a run another process started (a parallel worker)."""
        return cls(run_id, join_run_file(directory, run_id), get_telemetry())

    def start_test(self, identity: TestIdentity) -> RunningTest | None:
        try:
            return RunningTest(self.telemetry.tracer, identity, self.run_id)
        except Exception as error:
            self.errors.record("starting a test span", error)
            return None

    def finish_test(self, test: RunningTest | None, outcome: TestOutcome) -> None:
        if test is None:
            return
        try:
            test.finish(outcome)
        except Exception as error:
            self.errors.record("ending a test span", error)

    def leave_tests(self) -> object:
        """Step outside the current test until :meth:`return_to_test` (class/session set-up)."""
        return context.attach(Context())

    def return_to_test(self, token: object) -> None:
        context.detach(token)  # type: ignore[arg-type]

    def records_in_file(self) -> int:
        """Lines in the run file: what every process of the run wrote, not just this one."""
        count = 0
        with open(self.path, "rb") as file:
            while chunk := file.read(1 << 20):
                count += chunk.count(b"\n")
        return count

    def summary(self) -> str:
        try:
            shown = os.path.relpath(self.path)
        except ValueError:  # another drive on Windows
            shown = str(self.path)
        text = f"{self.records_in_file()} test records written to {shown}"
        errors = self.errors.count + self.telemetry.processor.errors.count
        if errors:
            text += f" ({errors} telemetry errors, see the log)"
        return text

    def close(self) -> None:
        if self._writer is not None:
            self.telemetry.processor.detach()
            self._writer.close()
            self._writer = None
