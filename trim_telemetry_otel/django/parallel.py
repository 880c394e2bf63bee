"""``--parallel``: every worker records its own tests into the parent's run file.

Django runs each ``TestCase`` class of a parallel run in a pool worker with a ``RemoteTestRunner``
and replays the worker's results in the parent for display. So the records are made in the
workers, with the same result logic as everywhere else, and the parent makes none.

- fork (Linux): a worker inherits the parent's pipeline and session; its writes go through the
  inherited ``O_APPEND`` file descriptor, and each record is written the moment its test is over,
  so a worker that ends with ``os._exit`` (no atexit) loses nothing.
- spawn (macOS, Windows) and forkserver: a worker is a fresh interpreter. Django calls
  ``ParallelTestSuite.process_setup(*process_setup_args)`` in it before ``django.setup()``; ours
  joins the parent's run (same directory, same run id), which builds the pipeline before the
  worker opens any connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test.runner import ParallelTestSuite, RemoteTestRunner

from ..session import TelemetrySession, start_or_warn
from ..unittest.result import TelemetryTestResult, telemetry_result_class
from . import psycopg

FRAMEWORK = "django"

_session: TelemetrySession | None = None  # the session this process's test workers write into


def share_with_workers(session: TelemetrySession | None) -> None:
    """Make ``session`` the one pool workers of this process write into (fork inherits it)."""
    global _session
    _session = session


def worker_setup_args(session: TelemetrySession) -> tuple[str, str]:
    """What a spawned worker needs to join ``session``'s run (must pickle: plain strings)."""
    return str(session.path.parent), session.run_id


def join_run(directory: str, run_id: str) -> None:
    """``process_setup`` of a spawned worker: join the parent's run before Django sets up."""
    session = start_or_warn(Path(directory), run_id, join=True)
    if session is None:  # warned: this worker's tests run without records
        return
    psycopg.trace_django_connections(session)
    share_with_workers(session)


class TelemetryRemoteTestRunner(RemoteTestRunner):  # type: ignore[misc]
    """Django's worker-side runner, its results recording each test."""

    resultclass: Any  # Django's RemoteTestResult unless a caller passes another

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _session is not None:
            self.resultclass = telemetry_result_class(self.resultclass, _session, FRAMEWORK)

    def run(self, test: Any) -> Any:
        result = super().run(test)
        if isinstance(result, TelemetryTestResult):
            result.flush_telemetry()  # the subsuite's last test: nothing else comes after it
        return result


class TelemetryParallelTestSuite(ParallelTestSuite):  # type: ignore[misc]
    runner_class = TelemetryRemoteTestRunner
    # Django calls it as process_setup(*process_setup_args), and only under spawn.
    process_setup = join_run
