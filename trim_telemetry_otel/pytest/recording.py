"""The pytest side of a run with telemetry on: each test's whole protocol in a root span.

:mod:`.plugin` decides whether telemetry is on and only then imports this module, which brings in
OpenTelemetry and the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from ..messages import read_messages_mode, set_messages_mode
from ..provider import get_telemetry
from ..roots import RunningTest, TestIdentity, TestOutcome
from ..session import TelemetrySession, start_or_warn
from ..settings import DEFAULT_DIR, EnvSettings
from .identity import fixture_identity, item_identity
from .outcome import PhaseReport, fixture_failure, outcome_of

_RUN_ID_KEY = "trim_telemetry_run_id"
_DIR_KEY = "trim_telemetry_dir"
_TALLY_KEY = "trim_telemetry_tally"  # a worker's problems, sent to its controller
_PASSED = TestOutcome("passed")


def start_recording(config: pytest.Config, env: EnvSettings, otlp_endpoint: str | None) -> None:
    """Start the pipeline and register the plugin that records (or the xdist controller's)."""
    try:
        set_messages_mode(config.getoption("telemetry_messages") or read_messages_mode(os.environ))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None

    # The pipeline, forwarding included, before the session starts.
    get_telemetry(otlp_endpoint, config.getoption("telemetry_otlp_spans"))
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _RUN_ID_KEY in workerinput:
        # An xdist worker: write into the run file its controller created.
        directory, run_id = Path(workerinput[_DIR_KEY]), workerinput[_RUN_ID_KEY]
        session = start_or_warn(directory, run_id, join=True)
    else:
        # A run file that cannot be created costs the records, never the run (a warning says so).
        session = start_or_warn(_directory(config, env), env.run_id)
        if session is not None and config.pluginmanager.has_plugin("dsession"):
            # The xdist controller runs no test: it only hands the run to its workers.
            config.pluginmanager.register(XdistController(session), "trim-telemetry-controller")
            return
    if session is not None:
        config.pluginmanager.register(TelemetryPlugin(config, session), "trim-telemetry")


def _directory(config: pytest.Config, env: EnvSettings) -> Path:
    option = config.getoption("telemetry_dir")
    if option:
        return Path(option)
    if env.directory is not None:
        return env.directory
    ini = config.getini("telemetry_dir")
    if ini:
        return config.rootpath / str(ini)
    return config.rootpath / DEFAULT_DIR


class TelemetryPlugin:
    """Wraps each test's whole protocol (setup, call, teardown) in a root span."""

    def __init__(self, config: pytest.Config, session: TelemetrySession) -> None:
        self.config = config
        self.session = session
        # The terminal summary says it, once (a worker's through its controller's summary).
        session.report_forwarding_at_the_end()
        self._report: list[str] = []
        self._phases: list[PhaseReport] = []
        self._teardowns: dict[int, RunningTest | None] = {}
        # A shared fixture's names, by fixture and phase: pytest-django's class fixture is set up
        # and torn down around every test.
        self._fixture_identities: dict[tuple[int, str], tuple[object, TestIdentity]] = {}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        self._phases = []
        test = self.session.start_test(item_identity(item))
        try:
            return (yield)
        finally:
            self.session.finish_test(test, outcome_of(self._phases))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        exception_type = call.excinfo.typename if call.excinfo is not None else None
        self._phases.append(PhaseReport(report, exception_type))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        # A session/module/class fixture is set up inside whichever test first needs it and torn
        # down inside the last one: neither is that test's work (think pytest-django's migrations),
        # so it gets a set-up record of its own.
        if fixturedef.scope == "function":
            return (yield)
        setup = self.session.start_setup(self._fixture_identity(fixturedef, "setup"))
        try:
            result = yield
        except BaseException as error:
            self.session.finish_test(setup, fixture_failure(error))
            raise
        self.session.finish_test(setup, _PASSED)
        fixturedef.addfinalizer(lambda: self._start_teardown(fixturedef))
        return result

    def _start_teardown(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        # Finalizers run last-in first-out: this runs before the fixture's own teardown, and
        # pytest_fixture_post_finalizer after it.
        identity = self._fixture_identity(fixturedef, "teardown")
        self._teardowns[id(fixturedef)] = self.session.start_setup(identity)

    def _fixture_identity(self, fixturedef: pytest.FixtureDef[Any], phase: str) -> TestIdentity:
        known = self._fixture_identities.get((id(fixturedef), phase))
        if known is not None and known[0] is fixturedef:
            return known[1]
        identity = fixture_identity(fixturedef, phase, self.config.rootpath)
        # The fixture is kept with its names, so that its id cannot name another one later.
        self._fixture_identities[(id(fixturedef), phase)] = (fixturedef, identity)
        return identity

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        teardown = self._teardowns.pop(id(fixturedef), None)
        if teardown is not None:
            self.session.finish_test(teardown, _PASSED)

    def pytest_sessionfinish(self) -> None:
        # Every test and fixture has ended: send the spans still queued, within a time budget.
        self._report = self.session.report_lines()
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_TALLY_KEY] = self.session.tally().to_dict()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not hasattr(self.config, "workerinput"):
            terminalreporter.write_sep("-", "telemetry")
            for line in self._report or self.session.report_lines():
                terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.session.close()


class XdistController:
    """Gives every xdist worker the run id and directory so that all write one run file."""

    def __init__(self, session: TelemetrySession) -> None:
        self.session = session

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_RUN_ID_KEY] = self.session.run_id
        node.workerinput[_DIR_KEY] = str(self.session.path.parent)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        tally = getattr(node, "workeroutput", {}).get(_TALLY_KEY)
        if tally is not None:
            self.session.add_worker_tally(tally)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("-", "telemetry")
        for line in self.session.report_lines():
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.session.close()
