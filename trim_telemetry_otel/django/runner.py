"""``TelemetryTestRunner``: Django's ``DiscoverRunner``, writing one NDJSON record per test."""

from __future__ import annotations

import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.test.runner import DiscoverRunner, ParallelTestSuite

from ..roots import TestIdentity, TestOutcome
from ..session import TelemetrySession, start_or_warn
from ..settings import DEFAULT_DIR, DIR_ENV, EnvSettings, SettingsError
from ..unittest.result import telemetry_result_class
from ..unittest.suite import TelemetryTestSuite
from . import parallel, psycopg

FRAMEWORK = "django"


class TelemetryTestRunner(DiscoverRunner):  # type: ignore[misc]
    """``DiscoverRunner`` with telemetry; everything else is Django's.

    Use it as ``manage.py test --testrunner=trim_telemetry_otel.django.TelemetryTestRunner``, as
    ``TEST_RUNNER`` in settings, or through ``python -m trim_telemetry_otel.django``. Records go to
    ``--telemetry-dir`` (else ``TRIM_TELEMETRY_DIR``, else ``./.telemetry``); ``TRIM_TELEMETRY=0``
    turns telemetry off. The test databases, the system checks and class fixtures
    (``setUpClass``, ``setUpTestData``) get set-up records of their own.
    """

    test_suite = TelemetryTestSuite
    parallel_test_suite = parallel.TelemetryParallelTestSuite

    def __init__(self, *args: Any, telemetry_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            env = EnvSettings.read()
        except SettingsError as error:
            raise CommandError(str(error)) from None
        self.telemetry_dir = Path(telemetry_dir or env.directory or DEFAULT_DIR)
        self.telemetry: TelemetrySession | None = None
        self._telemetry_on = env.enabled is not False
        self._run_id = env.run_id
        self._records_written_here = True

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--telemetry-dir",
            metavar="DIR",
            help="Directory for the telemetry run file, one NDJSON record per test "
            f"(default: ${DIR_ENV}, else ./{DEFAULT_DIR}).",
        )

    def setup_test_environment(self, **kwargs: Any) -> None:
        # The first step of run_tests: instrument before setup_databases opens any connection.
        if self._telemetry_on and self.telemetry is None:
            # A run file that cannot be created costs the records (one warning), not the run.
            self.telemetry = start_or_warn(self.telemetry_dir, self._run_id)
            self._telemetry_on = self.telemetry is not None
            if self.telemetry is not None:
                self.telemetry.report_forwarding_at_the_end()
                psycopg.trace_django_connections(self.telemetry)
                parallel.share_with_workers(self.telemetry)
        super().setup_test_environment(**kwargs)

    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        suite = super().build_suite(*args, **kwargs)
        if isinstance(suite, ParallelTestSuite) and self.telemetry is not None:
            suite.process_setup_args = parallel.worker_setup_args(self.telemetry)
        return suite

    def setup_databases(self, **kwargs: Any) -> Any:
        with self._recording("setup_databases"):
            return super().setup_databases(**kwargs)

    def run_checks(self, databases: Any) -> None:
        with self._recording("run_checks"):
            super().run_checks(databases)

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        # In a parallel run each worker writes the records of its tests; the parent only replays
        # the workers' results for display, which must not make a second record.
        self._records_written_here = not isinstance(suite, ParallelTestSuite)
        return super().run_suite(suite, **kwargs)

    def get_resultclass(self) -> Any:
        resultclass = super().get_resultclass()
        if self.telemetry is None or not self._records_written_here:
            return resultclass
        base = resultclass or unittest.TextTestResult
        return telemetry_result_class(base, self.telemetry, FRAMEWORK)

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        with self._recording("teardown_databases", phase="teardown"):
            super().teardown_databases(old_config, **kwargs)

    def teardown_test_environment(self, **kwargs: Any) -> None:
        super().teardown_test_environment(**kwargs)
        if self.telemetry is not None:
            for line in self.telemetry.report_lines():
                self.log(f"Telemetry: {line}")
            self.telemetry.close()
            parallel.share_with_workers(None)

    @contextmanager
    def _recording(self, step: str, phase: str = "setup") -> Iterator[None]:
        """Run one of the runner's own steps inside a set-up record."""
        session = self.telemetry
        if session is None:
            yield
            return
        cls = type(self)
        identity = TestIdentity(
            id=f"{cls.__module__}.{cls.__qualname__}.{step}",
            name=step,
            class_name=cls.__qualname__,
            module=cls.__module__,
            file=None,
            framework=FRAMEWORK,
            function=step,
        )
        running = session.start_setup(identity)
        try:
            yield
        except BaseException as error:
            session.finish_test(running, TestOutcome.raised(error, phase))
            raise
        session.finish_test(running, TestOutcome("passed"))
