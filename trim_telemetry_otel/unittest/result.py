"""The TestResult side of the unittest runners: each test in a root span, its reports, its record.

One implementation for every runner built on unittest (``python -m trim_telemetry_otel.unittest``,
Django's runner, Django's parallel workers): :func:`telemetry_result_class` puts
:class:`TelemetryTestResult` in front of whatever result class the runner uses
(``TextTestResult``, Django's ``DebugSQLTextTestResult`` or ``RemoteTestResult``…), so the
runner's own output and accounting stay exactly as they were.
"""

from __future__ import annotations

import contextvars
import time
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, ClassVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace

from ..roots import RunningTest, TestIdentity
from ..session import TelemetrySession
from .identity import (
    class_fixture_identity,
    module_fixture_identity,
    reported_fixture_identity,
    test_identity,
)
from .outcome import FailureStatus, Reports, failure_of

if TYPE_CHECKING:
    from _typeshed import OptExcInfo


class _Case:
    """A test (or class/module fixture) being recorded: its root span and what was reported."""

    def __init__(
        self, test: object, running: RunningTest | None, fixture_phase: str | None = None
    ) -> None:
        self.test = test
        self.running = running
        self.fixture_phase = fixture_phase  # "setup" / "teardown" for fixtures, else None
        self.reports = Reports()
        self.end_time: int | None = None
        self._detach_async = _attach_in_async_test_context(test, running)

    def owns(self, test: object) -> bool:
        """``test`` is this test or one of its subtests."""
        return test is self.test or getattr(test, "test_case", None) is self.test

    def stop(self) -> None:
        """The test is over: later work is not its own, but a late report may still come."""
        if self.end_time is None:
            self.end_time = time.time_ns()
            if self.running is not None:
                self.running.detach()
            if self._detach_async is not None:
                self._detach_async()


def _attach_in_async_test_context(
    test: object, running: RunningTest | None
) -> Callable[[], None] | None:
    """Make the test's span current where an ``IsolatedAsyncioTestCase`` really runs.

    Such a test runs setUp, the test and tearDown in a copy of the context taken when the test
    was built (unittest's private ``_asyncioTestContext``, Python 3.11 and later), where the span
    made current at ``startTest`` is not: without this, none of its queries would be recorded.
    """
    if running is None:
        return None
    test_context = getattr(test, "_asyncioTestContext", None)
    if not isinstance(test_context, contextvars.Context):
        return _attach_in_async_runner_task(test, running)
    try:
        token = test_context.run(otel_context.attach, trace.set_span_in_context(running.span))
    except RuntimeError:  # the context is in use already: leave it as it is
        return None
    return lambda: test_context.run(otel_context.detach, token)


def _attach_in_async_runner_task(test: object, running: RunningTest) -> Callable[[], None] | None:
    """Python 3.10's ``IsolatedAsyncioTestCase``: the same, in the task that awaits the test.

    There, every coroutine of the test (asyncSetUp, the test, asyncTearDown, async cleanups) is
    awaited by one task of the test's own event loop, created before ``startTest`` and so in a
    context without the span. A task's context is not reachable from outside, so the span is
    attached (and later detached) by a coroutine that task awaits like the test's own
    (unittest's private ``_callAsync``). Anything unexpected leaves the test as it is.
    """
    if getattr(test, "_asyncioCallsQueue", None) is None:  # not an asyncio test, or not on 3.10
        return None
    call_async = getattr(test, "_callAsync", None)
    if not callable(call_async):
        return None
    span_context = trace.set_span_in_context(running.span)

    async def attach() -> object:
        return otel_context.attach(span_context)

    try:
        token = call_async(attach)
    except Exception:  # the loop is not usable: its queries stay unrecorded, as before
        return None

    def detach() -> None:
        async def detach_in_task() -> None:
            otel_context.detach(token)

        with suppress(Exception):  # the loop is gone: the context goes with it
            call_async(detach_in_task)

    return detach


class TelemetryTestResult(unittest.TestResult):
    """Records every test between ``startTest`` and ``stopTest`` as one root span.

    Use it through :func:`telemetry_result_class`, which binds a session. A test's record is
    written when the next report about anything else arrives (the next test's start, a class
    fixture, the end of the run), because Django reports errors of its per-test transaction
    tear-down after ``stopTest``: the record must carry them, and must not carry the work
    done meanwhile, so the span stops taking children at ``stopTest`` and ends at that time.
    """

    telemetry_session: ClassVar[TelemetrySession | None] = None
    telemetry_framework: ClassVar[str] = "unittest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running: _Case | None = None
        self._stopped: _Case | None = None
        self._fixtures: list[_Case] = []

    # What runners and suites call.

    def flush_telemetry(self) -> None:
        """Write the record of the test that stopped last, if it is still waiting."""
        case, self._stopped = self._stopped, None
        if case is not None:
            self._finish(case)

    @contextmanager
    def recording_fixture(self, owner: type | str, fixture: str) -> Iterator[None]:
        """Record a class fixture (``owner`` a class) or a module one (a module name)."""
        session = self.telemetry_session
        if session is None:
            yield
            return
        self.flush_telemetry()
        framework = self.telemetry_framework
        if isinstance(owner, type):
            case = self._begin(owner, lambda: class_fixture_identity(owner, fixture, framework))
        else:
            case = self._begin(owner, lambda: module_fixture_identity(owner, fixture, framework))
        case.fixture_phase = "setup" if fixture.startswith("setUp") else "teardown"
        self._fixtures.append(case)
        try:
            yield
        finally:
            self._fixtures.pop()
            case.stop()
            self._finish(case)

    # unittest's TestResult protocol.

    def startTest(self, test: unittest.TestCase) -> None:
        if self.telemetry_session is not None:
            self.flush_telemetry()
            self._running = self._begin_test(test)
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        case = self._running
        if case is not None and case.test is test:
            self._running = None
            case.stop()
            self._stopped = case

    def stopTestRun(self) -> None:
        super().stopTestRun()
        self.flush_telemetry()

    def addSuccess(self, test: unittest.TestCase) -> None:
        case = self._case_for(test)
        if case is not None:
            case.reports.success = True
        super().addSuccess(test)

    def addError(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        self._failure(test, "error", err)
        super().addError(test, err)

    def addFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        self._failure(test, "failed", err)
        super().addFailure(test, err)

    def addSubTest(
        self, test: unittest.TestCase, subtest: unittest.TestCase, err: OptExcInfo | None
    ) -> None:
        if err is not None and err[0] is not None:
            case = self._case_for(test)
            if case is not None:
                assertion = issubclass(err[0], test.failureException)
                status: FailureStatus = "failed" if assertion else "error"
                case.reports.add_subtest_failure(status, err, subtest, test.id())
        super().addSubTest(test, subtest, err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        case = self._case_for(test)
        if case is not None:
            case.reports.skipped = True
            case.reports.skip_reason = reason or None
        super().addSkip(test, reason)

    def addExpectedFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        case = self._case_for(test)
        if case is not None:
            case.reports.expected_failure = True
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        case = self._case_for(test)
        if case is not None:
            case.reports.unexpected_success = True
        super().addUnexpectedSuccess(test)

    # Internals.

    def _failure(self, test: unittest.TestCase, status: FailureStatus, err: OptExcInfo) -> None:
        case = self._case_for(test)
        if case is not None and err[0] is not None:
            method = getattr(case.test, "_testMethodName", None)
            case.reports.failures.append(failure_of(status, err, method))

    def _case_for(self, test: object) -> _Case | None:
        """The recording a report about ``test`` belongs to (None: telemetry is off)."""
        if self.telemetry_session is None:
            return None
        for case in (self._running, self._stopped):
            if case is not None and case.owns(test):
                return case
        if self._fixtures and not isinstance(test, unittest.TestCase):
            return self._fixtures[-1]  # unittest's _ErrorHolder for the fixture running now
        # A report outside any test we saw start: Django's per-test set-up failed before
        # startTest, or a class/module fixture failed under a suite that does not record them.
        self.flush_telemetry()
        framework = self.telemetry_framework
        if isinstance(test, unittest.TestCase):
            case = self._begin_test(test)
        else:
            description = str(test)
            case = self._begin(test, lambda: reported_fixture_identity(description, framework))
            case.fixture_phase = "setup" if description.startswith("setUp") else "teardown"
        case.stop()
        self._stopped = case
        return case

    def _begin_test(self, test: unittest.TestCase) -> _Case:
        return self._begin(test, lambda: test_identity(test, self.telemetry_framework), test=True)

    def _begin(
        self, owner: object, identify: Callable[[], TestIdentity], *, test: bool = False
    ) -> _Case:
        session = self.telemetry_session
        assert session is not None
        try:
            identity = identify()
        except Exception as error:  # never into the test
            session.errors.record("naming a test", error)
            return _Case(owner, None)
        running = session.start_test(identity) if test else session.start_setup(identity)
        return _Case(owner, running)

    def _finish(self, case: _Case) -> None:
        session = self.telemetry_session
        if session is None or case.running is None:
            return
        try:
            if case.fixture_phase is not None:
                outcome = case.reports.fixture_outcome(case.fixture_phase)
            else:
                outcome = case.reports.test_outcome()
            case.running.finish(outcome, end_time=case.end_time)
        except Exception as error:  # never into the test
            session.errors.record("ending a test span", error)


def telemetry_result_class(
    base: type[unittest.TestResult], session: TelemetrySession, framework: str = "unittest"
) -> type[TelemetryTestResult]:
    """``base`` with telemetry written into ``session``: a subclass named ``Telemetry<base>``."""
    bases = (base,) if issubclass(base, TelemetryTestResult) else (TelemetryTestResult, base)
    namespace = {
        "telemetry_session": session,
        "telemetry_framework": framework,
        "__module__": __name__,
        "__qualname__": f"Telemetry{base.__qualname__}",
    }
    return cast("type[TelemetryTestResult]", type(f"Telemetry{base.__name__}", bases, namespace))
