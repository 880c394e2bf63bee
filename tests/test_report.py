"""The report CLI on real run files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import run_files


def make_run(pytester: pytest.Pytester) -> Path:
    pytester.makepyfile(
        """
        import sqlite3, time, pytest

        def test_n_plus_one():
            cursor = sqlite3.connect(":memory:").cursor()
            for n in range(7):
                cursor.execute("SELECT ?", (n,))

        def test_slow():
            time.sleep(0.1)

        def test_fails():
            assert False

        @pytest.mark.skip
        def test_skipped():
            pass
        """
    )
    pytester.runpytest("--telemetry")
    [path] = run_files(pytester.path / ".telemetry")
    return path


def report(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "trim_telemetry_otel.report", *args)


def test_the_report_summarises_outcomes_time_and_repeated_queries(
    pytester: pytest.Pytester,
) -> None:
    path = make_run(pytester)

    result = report(pytester)  # the newest run under ./.telemetry

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            f"*{path.name}",
            "  4 tests (2 passed, 1 failed, 1 skipped) in * s",
            "  database: 7 queries, 6 repeated, * ms",
            "slowest tests (top 5):",
            "*ms  *::test_slow",
            "repeated queries, N+1 suspects:",
            "       7x  *::test_n_plus_one",
            "           SELECT ?",
        ]
    )


def test_a_broken_line_is_named_and_the_rest_still_reported(pytester: pytest.Pytester) -> None:
    path = make_run(pytester)
    with path.open("a") as file:
        file.write('{"truncated": \n')

    result = report(pytester, str(path))

    assert result.ret == 1
    result.stdout.fnmatch_lines(["  4 tests *"])
    result.stderr.fnmatch_lines([f"warning: skipped {path}:5: not valid JSON*"])


def test_a_missing_run_is_a_clear_error(pytester: pytest.Pytester) -> None:
    result = report(pytester, "nowhere")

    assert result.ret == 2
    result.stderr.fnmatch_lines(["error: nowhere does not exist"])

    (pytester.path / "empty").mkdir()
    result = report(pytester, "empty")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["error: no run_*.ndjson file in empty"])
