"""What unittest reported about one test (or one class/module fixture), turned into one outcome.

unittest reports through ``TestResult.add*`` calls; a test may get several (a failing subtest and
an error in ``tearDown``; Django reports an error of its per-test transaction tear-down after the
test's success). The mapping, in order of precedence:

- ``addFailure`` / ``addError`` on the test itself (``setUp``, the test method, ``tearDown``,
  cleanups): ``failed`` / ``error``, as unittest counts them (F / E), from the first one; detail
  ``subtests_failed`` when subtests failed too;
- failing subtests only: ``failed`` (``error`` if any subtest raised something other than an
  assertion), detail ``subtests_failed``, type and message of the first, the message prefixed
  with the subtest's parameters;
- ``addExpectedFailure``: ``skipped``, detail ``xfailed`` (as for pytest);
- ``addUnexpectedSuccess``: ``failed``, detail ``xpassed`` (unittest does not count it as a
  success: ``wasSuccessful()`` is false);
- ``addSuccess``: ``passed`` (a subtest that skipped does not change that);
- ``addSkip``: ``skipped`` with its reason;
- nothing at all (interrupted mid-test): ``error``, detail ``interrupted``.
"""

from __future__ import annotations

import unittest
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from ..roots import TestOutcome, exception_message

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
FailureStatus = Literal["failed", "error"]

# The first of these found in a failure's traceback tells in which part of the test it happened:
# unittest's own dispatch methods first, then the hooks they call (and Django's per-test ones).
_SETUP = frozenset({"_callSetUp", "setUp", "asyncSetUp", "_pre_setup"})
_CALL = frozenset({"_callTestMethod"})
_TEARDOWN = frozenset(
    {"_callTearDown", "tearDown", "asyncTearDown", "doCleanups", "_callCleanup", "_post_teardown"}
)


@dataclass(frozen=True)
class Failure:
    status: FailureStatus
    type: str
    message: str
    phase: str


def failure_of(status: FailureStatus, err: ExcInfo, method: str | None = None) -> Failure:
    """Describe one reported exception; ``method`` is the test method's name, if known."""
    exc_type, exc_value, tb = err
    return Failure(
        status, exc_type.__name__, exception_message(exc_type, exc_value), _phase(tb, method)
    )


def _phase(tb: TracebackType | None, method: str | None) -> str:
    while tb is not None:
        name = tb.tb_frame.f_code.co_name
        if name in _SETUP:
            return "setup"
        if name in _TEARDOWN:
            return "teardown"
        if name in _CALL or name == method:
            return "call"
        tb = tb.tb_next
    return "call"


_PASSED = TestOutcome("passed")  # frozen: one for every test that passed


@dataclass
class Reports:
    """Everything unittest reported about one test, in the order it came."""

    failures: list[Failure] = field(default_factory=list)
    subtest_failures: list[Failure] = field(default_factory=list)
    success: bool = False
    skipped: bool = False
    skip_reason: str | None = None
    expected_failure: bool = False
    unexpected_success: bool = False

    def add_subtest_failure(
        self, status: FailureStatus, err: ExcInfo, subtest: unittest.TestCase, test_id: str
    ) -> None:
        failure = failure_of(status, err)
        # A subtest's id is its test's id followed by its parameters: "(i=2)", "[message]".
        parameters = subtest.id().removeprefix(test_id).strip()
        message = f"{parameters} {failure.message}" if parameters else failure.message
        self.subtest_failures.append(Failure(status, failure.type, message, "call"))

    def test_outcome(self) -> TestOutcome:
        subtests = "subtests_failed" if self.subtest_failures else None
        if self.failures:
            return _failed(self.failures[0], detail=subtests)
        if self.subtest_failures:
            first = self.subtest_failures[0]
            errored = any(f.status == "error" for f in self.subtest_failures)
            return _failed(first, status="error" if errored else "failed", detail=subtests)
        if self.expected_failure:
            return TestOutcome("skipped", detail="xfailed")
        if self.unexpected_success:
            return TestOutcome(
                "failed",
                detail="xpassed",
                failure_phase="call",
                failure_message="unexpected success: the test is marked @expectedFailure",
            )
        if self.success:
            return _PASSED
        if self.skipped:
            return TestOutcome("skipped", skip_reason=self.skip_reason)
        return TestOutcome("error", detail="interrupted", failure_message="the test did not finish")

    def fixture_outcome(self, phase: str) -> TestOutcome:
        """A class or module fixture: unittest reports its exceptions as errors."""
        if self.failures:
            return _failed(self.failures[0], status="error", phase=phase)
        if self.skipped:
            return TestOutcome("skipped", skip_reason=self.skip_reason)
        return _PASSED


def _failed(
    failure: Failure,
    *,
    status: FailureStatus | None = None,
    detail: str | None = None,
    phase: str | None = None,
) -> TestOutcome:
    return TestOutcome(
        status or failure.status,
        detail=detail,
        failure_phase=phase or failure.phase,
        failure_type=failure.type,
        failure_message=failure.message,
    )
