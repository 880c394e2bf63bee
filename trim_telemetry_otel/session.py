"""One telemetry run as every entry point sees it: the run files, their writers and the tests."""

from __future__ import annotations

import os
from pathlib import Path

from . import attributes as attr
from .diagnostics import InternalErrors
from .ndjson import NdjsonWriter
from .provider import Telemetry, get_telemetry
from .roots import RunningTest, TestIdentity, TestOutcome
from .runs import create_run_file, join_run_file, setup_file_path


class TelemetrySession:
    """Connects a run's files to the process-wide pipeline for the length of one run.

    Test records go to ``<dir>/<run_id>.ndjson``; records of shared set-up work (session fixtures,
    ``setUpClass``, test databases) to ``<dir>/setup/<run_id>.ndjson``, created only if there is
    any. Every method a runner calls around a test swallows our own failures: telemetry must never
    change a test's outcome or the run's exit code.
    """

    def __init__(self, run_id: str, path: Path, telemetry: Telemetry) -> None:
        self.run_id = run_id
        self.path = path
        self.setup_path = setup_file_path(path.parent, run_id)
        self.telemetry = telemetry
        self.errors = InternalErrors()
        self._writer = NdjsonWriter(path)
        self._setup_writer = NdjsonWriter(self.setup_path, lazy=True)
        self._closed = False
        self._current: RunningTest | None = None
        telemetry.processor.attach(self._writer, self._setup_writer)

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
        self._current = self._start(identity, attr.KIND_TEST)
        return self._current

    def start_setup(self, identity: TestIdentity) -> RunningTest | None:
        """Shared set-up or tear-down work: recorded in the setup file, charged to no test.

        Its time is taken out of the ``test_duration_ms`` of a test it ran inside.
        """
        return self._start(identity, attr.KIND_SETUP)

    def _start(self, identity: TestIdentity, kind: str) -> RunningTest | None:
        try:
            return RunningTest(
                self.telemetry.tracer,
                identity,
                self.run_id,
                kind,
                self.telemetry.root_attributes,
            )
        except Exception as error:
            self.errors.record("starting a test span", error)
            return None

    def finish_test(self, test: RunningTest | None, outcome: TestOutcome) -> None:
        if test is None:
            return
        try:
            test.finish(outcome)
            current = self._current
            if test is current:
                self._current = None
            elif test.kind == attr.KIND_SETUP and current is not None:
                current.shared_setup_ns += test.duration_ns()
        except Exception as error:
            self.errors.record("ending a test span", error)

    def records_in_file(self) -> int:
        """Lines in the run file: what every process of the run wrote, not just this one."""
        count = 0
        with open(self.path, "rb") as file:
            while chunk := file.read(1 << 20):
                count += chunk.count(b"\n")
        return count

    def summary(self) -> str:
        text = f"{self.records_in_file()} test records written to {_shown(self.path)}"
        if self.setup_path.exists():
            text += f"; shared set-up work in {_shown(self.setup_path)}"
        errors = self.errors.count + self.telemetry.processor.errors.count
        if errors:
            text += f" ({errors} telemetry errors, see the log)"
        return text

    def report_lines(self) -> list[str]:
        """What a runner prints at the end of a run: the records line, then forwarding's.

        Sends the spans still queued for the collector first, within a time budget. A runner that
        prints these lines also says any forwarding failure here, once, instead of in the log.
        """
        lines = [self.summary()]
        forwarding = self.telemetry.forwarding
        if forwarding is not None:
            forwarding.flush()
            lines.append(forwarding.summary())
        return lines

    def report_forwarding_at_the_end(self) -> None:
        """Leave a forwarding failure to :meth:`report_lines` rather than the log."""
        if self.telemetry.forwarding is not None:
            self.telemetry.forwarding.log_failure = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.telemetry.processor.detach()
            self._writer.close()
            self._setup_writer.close()


def _shown(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    return absolute if relative.startswith(os.pardir) else relative
