"""A TestSuite that records class and module fixtures (setUpClass, setUpModule, their tear-downs).

Work done in ``setUpClass`` (Django's ``setUpTestData``) or ``setUpModule`` is shared by many
tests: it gets a set-up record of its own instead of being lost or charged to whichever test runs
next, and a fixture that fails is recorded with status ``error`` instead of vanishing into an
``_ErrorHolder``.

unittest offers no public hook around fixtures: ``TestSuite.run`` calls the four private methods
overridden here, and they read ``result._previousTestClass``. They have been stable since
Python 2.7; ``tests/test_unittest_runner.py`` fails if a Python release renames them.
"""

from __future__ import annotations

import unittest
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any


def _recording(result: unittest.TestResult, owner: type | str, fixture: str) -> Any:
    record = getattr(result, "recording_fixture", None)
    if record is None:  # telemetry is not wired into this result
        return nullcontext()
    recording: AbstractContextManager[None] = record(owner, fixture)
    return recording


def _previous_class(result: unittest.TestResult) -> type | None:
    previous: type | None = getattr(result, "_previousTestClass", None)
    return previous


class TelemetryTestSuite(unittest.TestSuite):
    """A TestSuite whose class and module fixtures run inside set-up records."""

    def _handleClassSetUp(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        current = test.__class__
        if current is _previous_class(result):
            super()._handleClassSetUp(test, result)  # type: ignore[misc]
            return
        with _recording(result, current, "setUpClass"):
            super()._handleClassSetUp(test, result)  # type: ignore[misc]

    def _tearDownPreviousClass(
        self, test: unittest.TestCase | None, result: unittest.TestResult
    ) -> None:
        # The first call after each test (and the last of the run): the stopped test's record
        # is complete now, so it is written before anything else happens.
        flush = getattr(result, "flush_telemetry", None)
        if flush is not None:
            flush()
        previous = _previous_class(result)
        if previous is None or previous is type(test):
            super()._tearDownPreviousClass(test, result)  # type: ignore[misc]
            return
        with _recording(result, previous, "tearDownClass"):
            super()._tearDownPreviousClass(test, result)  # type: ignore[misc]

    def _handleModuleFixture(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        module = test.__class__.__module__
        previous = _previous_class(result)
        if previous is not None and previous.__module__ == module:
            super()._handleModuleFixture(test, result)  # type: ignore[misc]
            return
        # The previous module's tearDownModule runs first, inside: it gets a record of its own.
        with _recording(result, module, "setUpModule"):
            super()._handleModuleFixture(test, result)  # type: ignore[misc]

    def _handleModuleTearDown(self, result: unittest.TestResult) -> None:
        previous = _previous_class(result)
        if previous is None:
            super()._handleModuleTearDown(result)  # type: ignore[misc]
            return
        with _recording(result, previous.__module__, "tearDownModule"):
            super()._handleModuleTearDown(result)  # type: ignore[misc]


def adopt(test: unittest.TestSuite | unittest.TestCase) -> unittest.TestSuite | unittest.TestCase:
    """The same tests in :class:`TelemetryTestSuite` instead of plain ``unittest.TestSuite``.

    Loaders build plain suites; a suite of another class is left as it is (it has its own
    reasons), and so are the tests in it.

    The tests move: the plain suite lets go of each one (``_removeTestAtIndex``, as it would once
    the test has run), so that a finished test is freed as under plain unittest instead of being
    kept alive by the original suite, which ``unittest.main`` holds until the end of the run. A
    suite with ``_cleanup = False`` (a caller that wants its tests kept) keeps them.
    """
    if type(test) not in (unittest.TestSuite, TelemetryTestSuite):
        return test
    assert isinstance(test, unittest.TestSuite)
    adopted = TelemetryTestSuite(_adopt_all(test))
    adopted._cleanup = test._cleanup  # type: ignore[attr-defined]
    if test._cleanup:  # type: ignore[attr-defined]
        for index in range(len(adopted._tests)):
            test._removeTestAtIndex(index)  # type: ignore[attr-defined]
    return adopted


def _adopt_all(tests: Iterable[unittest.TestSuite | unittest.TestCase]) -> list[Any]:
    return [adopt(test) for test in tests]
