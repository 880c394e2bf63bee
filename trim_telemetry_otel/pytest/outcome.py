"""A pytest item's reports (setup, call, teardown) turned into one outcome.

- an error in setup or teardown is ``error``; a failing test body is ``failed`` even when its
  teardown then errors too (the first failure is the one reported);
- ``xfail`` that failed as expected is ``skipped`` with detail ``xfailed`` (as junitxml does);
  an unexpected pass is ``passed`` with detail ``xpassed``, or ``failed`` with that detail when the
  mark is strict;
- a run interrupted inside a test (Ctrl-C, ``pytest.exit``) leaves ``error`` with detail
  ``interrupted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from ..roots import TestOutcome

_XPASS_STRICT = "[XPASS(strict)]"
_PASSED = TestOutcome("passed")  # frozen: one for every test that passed


@dataclass(frozen=True)
class PhaseReport:
    report: pytest.TestReport
    exception_type: str | None


def outcome_of(phases: Sequence[PhaseReport]) -> TestOutcome:
    by_phase = {phase.report.when: phase for phase in phases}
    setup, call, teardown = (by_phase.get(when) for when in ("setup", "call", "teardown"))

    if setup is not None and setup.report.failed:
        return _failure("error", setup)
    if setup is not None and setup.report.skipped:
        return TestOutcome("skipped", skip_reason=_skip_reason(setup.report))
    if call is None:
        return TestOutcome("error", detail="interrupted", failure_message="the test did not finish")

    result = _call_outcome(call)
    if teardown is not None and teardown.report.failed and result.status in ("passed", "skipped"):
        return _failure("error", teardown, detail=result.detail)
    return result


def _call_outcome(call: PhaseReport) -> TestOutcome:
    report = call.report
    was_xfail = hasattr(report, "wasxfail")
    if report.passed:
        return TestOutcome("passed", detail="xpassed") if was_xfail else _PASSED
    if report.skipped:
        if was_xfail:
            return TestOutcome("skipped", detail="xfailed", skip_reason=report.wasxfail or None)
        return TestOutcome("skipped", skip_reason=_skip_reason(report))
    if isinstance(report.longrepr, str) and report.longrepr.startswith(_XPASS_STRICT):
        return TestOutcome(
            "failed", detail="xpassed", failure_phase="call", failure_message=report.longrepr
        )
    return _failure("failed", call)


def _failure(status: str, phase: PhaseReport, detail: str | None = None) -> TestOutcome:
    assert status in ("failed", "error")
    return TestOutcome(
        "failed" if status == "failed" else "error",
        detail=detail,
        failure_phase=phase.report.when,
        failure_type=phase.exception_type,
        failure_message=_failure_message(phase.report),
    )


def _failure_message(report: pytest.TestReport) -> str | None:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if message:
        return str(message)
    text = report.longreprtext.strip()
    return text.splitlines()[-1] if text else None


def _skip_reason(report: pytest.TestReport) -> str | None:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
    return reason.removeprefix("Skipped: ") or None


def fixture_failure(error: BaseException) -> TestOutcome:
    """The outcome of a shared fixture whose set-up raised ``error``."""
    if isinstance(error, pytest.skip.Exception):
        return TestOutcome("skipped", skip_reason=str(error) or None)
    return TestOutcome.raised(error, "setup")
