"""pytest plugin: ``pytest --telemetry`` writes one NDJSON record per test.

Registered through the ``pytest11`` entry point; it only adds options until telemetry is switched
on (``--telemetry``, the ``telemetry`` ini option or ``TRIM_TELEMETRY=1``).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from ..roots import TestIdentity, TestOutcome, outside_any_test
from ..session import TelemetrySession
from ..settings import DEFAULT_DIR, EnvSettings, SettingsError
from .outcome import PhaseReport, outcome_of

_RUN_ID_KEY = "trim_telemetry_run_id"
_DIR_KEY = "trim_telemetry_dir"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("telemetry", "per-test telemetry (trim-telemetry-otel)")
    group.addoption(
        "--telemetry",
        action="store_true",
        default=None,
        help="write one NDJSON record per test (DB queries, HTTP calls, timings) to "
        f"{DEFAULT_DIR}/run_<id>.ndjson. Also: ini 'telemetry', env TRIM_TELEMETRY=1.",
    )
    group.addoption(
        "--telemetry-dir",
        metavar="DIR",
        default=None,
        help=f"directory for run files (default: <rootdir>/{DEFAULT_DIR}; "
        "also: ini 'telemetry_dir', env TRIM_TELEMETRY_DIR).",
    )
    parser.addini("telemetry", type="bool", default=False, help="switch per-test telemetry on")
    parser.addini("telemetry_dir", default="", help="directory for telemetry run files")


@pytest.hookimpl(trylast=True)  # after xdist decided whether this process is a controller
def pytest_configure(config: pytest.Config) -> None:
    try:
        env = EnvSettings.read()
    except SettingsError as error:
        raise pytest.UsageError(str(error)) from None
    enabled = config.getoption("telemetry")
    if enabled is None:
        enabled = env.enabled if env.enabled is not None else config.getini("telemetry")
    if not enabled or config.getoption("collectonly"):
        return

    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _RUN_ID_KEY in workerinput:
        # An xdist worker: write into the run file its controller created.
        session = TelemetrySession.join(Path(workerinput[_DIR_KEY]), workerinput[_RUN_ID_KEY])
    else:
        try:
            session = TelemetrySession.start(_directory(config, env), env.run_id)
        except OSError as error:
            raise pytest.UsageError(f"telemetry: cannot create the run file: {error}") from None
        if config.pluginmanager.has_plugin("dsession"):
            # The xdist controller runs no test: it only hands the run to its workers.
            config.pluginmanager.register(XdistController(session), "trim-telemetry-controller")
            return
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
        self._phases: list[PhaseReport] = []
        self._outside_tokens: dict[int, Any] = {}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        self._phases = []
        test = self.session.start_test(identify(item))
        try:
            return (yield)
        finally:
            self.session.finish_test(test, self._outcome())

    def _outcome(self) -> TestOutcome:
        return outcome_of(self._phases)

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
        # down inside the last one: neither is that test's work (think pytest-django's migrations).
        if fixturedef.scope == "function":
            return (yield)
        with outside_any_test():
            result = yield
        fixturedef.addfinalizer(lambda: self._leave_tests(fixturedef))
        return result

    def _leave_tests(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        # Finalizers run last-in first-out: this runs before the fixture's own teardown, and
        # pytest_fixture_post_finalizer after it.
        self._outside_tokens[id(fixturedef)] = self.session.leave_tests()

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        token = self._outside_tokens.pop(id(fixturedef), None)
        if token is not None:
            self.session.return_to_test(token)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not hasattr(self.config, "workerinput"):
            terminalreporter.write_sep("-", "telemetry")
            terminalreporter.write_line(self.session.summary())

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

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("-", "telemetry")
        terminalreporter.write_line(self.session.summary())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.session.close()


def identify(item: pytest.Item) -> TestIdentity:
    path, line, _ = item.location
    cls = getattr(item, "cls", None)
    module = getattr(item, "module", None)
    return TestIdentity(
        id=item.nodeid,
        name=item.name,
        class_name=cls.__qualname__ if cls is not None else None,
        module=module.__name__ if module is not None else None,
        file=path.replace("\\", "/"),
        framework="pytest",
        function=getattr(item, "originalname", item.name),
        line=line + 1 if line is not None else None,
    )
