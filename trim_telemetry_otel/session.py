"""One telemetry run as every entry point sees it: the run files, their writers and the tests."""

from __future__ import annotations

import os
from pathlib import Path

from . import attributes as attr
from .diagnostics import InternalErrors, Tally, warn_now
from .forwarding import Forwarding
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

    Paths are made absolute when the run starts, so a test that changes the working directory
    changes nothing here. Raises ``OSError`` when the run file cannot be opened.
    """

    def __init__(self, run_id: str, path: Path, telemetry: Telemetry) -> None:
        path = Path(os.path.abspath(path))
        self.run_id = run_id
        self.path = path
        self.setup_path = setup_file_path(path.parent, run_id)
        self.telemetry = telemetry
        self.errors = InternalErrors()
        self.from_workers = Tally()  # what pytest-xdist workers reported to this controller
        self.workers = 0
        self._writer = NdjsonWriter(path)
        if not self._writer.usable:
            raise OSError(self._writer.problem)
        self._setup_writer = NdjsonWriter(self.setup_path, lazy=True, base=path.parent)
        self._closed = False
        self._current: RunningTest | None = None
        # Shared set-up running right now, outermost first: one that starts inside another (a
        # class fixture pulling a session fixture through getfixturevalue) is part of its time.
        self._open_setups: list[RunningTest] = []
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
        self._open_setups.clear()
        return self._current

    def start_setup(self, identity: TestIdentity) -> RunningTest | None:
        """Shared set-up or tear-down work: recorded in the setup file, charged to no test.

        Its time is taken out of the ``test_duration_ms`` of a test it ran inside, once: set-up
        nested in other set-up is already part of the outer one's time.
        """
        setup = self._start(identity, attr.KIND_SETUP)
        if setup is not None:
            self._open_setups.append(setup)
        return setup

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
            elif test.kind == attr.KIND_SETUP:
                open_setups = self._open_setups
                outermost = bool(open_setups) and open_setups[0] is test
                if test in open_setups:
                    open_setups.remove(test)
                    if current is not None and outermost:
                        current.shared_setup_ns += test.duration_ns()
                elif current is not None:  # started before this test: all of it ran inside
                    current.shared_setup_ns += test.duration_ns()
        except Exception as error:
            self.errors.record("ending a test span", error)

    def records_in_file(self) -> int:
        """Lines in the run file: what every process of the run wrote, not just this one."""
        try:
            return self._writer.lines()
        except OSError:
            return 0

    def add_worker_tally(self, data: dict[str, object]) -> None:
        """What a pytest-xdist worker reported (:meth:`Tally.to_dict`), merged into ours."""
        self.from_workers.merge(Tally.from_dict(data))
        self.workers += 1

    def tally(self) -> Tally:
        """What went wrong in this process (pytest-xdist: plus what the workers reported)."""
        tally = Tally()
        for writer in (self._writer, self._setup_writer):
            tally.records_lost += writer.lost
            if writer.problem is not None:
                tally.write_problems.append(writer.problem)
        try:
            if self._writer.gone():
                tally.write_problems.append(
                    f"the run file {self.path} was deleted or replaced during the run: "
                    "the records written to it are lost"
                )
        except OSError:
            pass
        tally.add_errors(self.errors)
        tally.add_errors(self.telemetry.processor.errors)
        forwarding = self.telemetry.forwarding
        if forwarding is not None:
            tally.spans_sent = forwarding.spans_sent
            tally.spans_not_sent = forwarding.spans_not_sent
            if forwarding.failure is not None:
                tally.forwarding_failures.append(forwarding.failure)
        tally.merge(self.from_workers)
        return tally

    def summary(self, tally: Tally | None = None) -> str:
        """The records line and, below it, one line per problem met during the run."""
        tally = tally or self.tally()
        text = f"{self.records_in_file()} test records written to {_shown(self.path)}"
        if self.setup_path.is_file():
            text += f"; shared set-up work in {_shown(self.setup_path)}"
        return "\n".join([text, *tally.problem_lines()])

    def report_lines(self) -> list[str]:
        """What a runner prints at the end of a run: the records lines, then forwarding's.

        Sends the spans still queued for the collector first, within a time budget. A runner that
        prints these lines also says any forwarding failure here, once, instead of in the log.
        """
        forwarding = self.telemetry.forwarding
        if forwarding is not None:
            forwarding.flush()
        tally = self.tally()
        lines = self.summary(tally).splitlines()
        if forwarding is not None:
            lines.append(
                _forwarding_line(forwarding, tally) if self.workers else forwarding.summary()
            )
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


def _forwarding_line(forwarding: Forwarding, tally: Tally) -> str:
    """Forwarding's summary line from the counts of every process of the run (xdist)."""
    where = f"{forwarding.target.shown} ({forwarding.target.protocol})"
    if tally.forwarding_failures:
        return (
            f"WARNING: spans not forwarded to {where}: {tally.forwarding_failures[0]} "
            f"({tally.spans_not_sent} spans not sent; the NDJSON records are complete)"
        )
    if tally.spans_not_sent:
        total = tally.spans_not_sent + tally.spans_sent
        return (
            f"WARNING: {tally.spans_not_sent} of {total} spans not forwarded to {where}: the "
            "export queue was full; raise OTEL_BSP_MAX_QUEUE_SIZE (the NDJSON records are complete)"
        )
    return f"{tally.spans_sent} spans forwarded to {where}"


def start_or_warn(
    directory: Path, run_id: str | None = None, *, join: bool = False
) -> TelemetrySession | None:
    """Start (or, with ``join``, join) a run; when its file cannot be opened, say so and go on.

    An output problem never stops the tests: they run exactly as they would without telemetry,
    with one warning on stderr naming the file and the reason.
    """
    try:
        if join:
            assert run_id is not None
            return TelemetrySession.join(directory, run_id)
        return TelemetrySession.start(directory, run_id)
    except OSError as error:
        if error.strerror:
            where = error.filename if error.filename is not None else directory
            reason = f"cannot create the run file in {directory}: {where}: {error.strerror}"
        else:  # the writer's own message, which names the file
            reason = str(error)
        warn_now(f"no telemetry records for this run: {reason}")
        return None


def _shown(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    return absolute if relative.startswith(os.pardir) else relative
