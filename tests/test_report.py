"""``trim-telemetry`` on a run file written by a real pytest run, and the old report alias."""

from __future__ import annotations

import json
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

        @pytest.mark.xfail
        def test_known_bug():
            assert False
        """
    )
    pytester.runpytest("--telemetry")
    [path] = run_files(pytester.path / ".telemetry")
    return path


def cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "trim_telemetry_otel", *args)


def test_a_real_run_is_summarised_with_failures_time_and_repeated_queries(
    pytester: pytest.Pytester,
) -> None:
    path = make_run(pytester)

    result = cli(pytester, "summary", "--json")  # the newest run under ./.telemetry

    assert result.ret == 0, result.stderr.str()
    assert result.stderr.str() == ""
    summary = json.loads(result.stdout.str())
    assert summary["source"].endswith(path.name)
    totals = summary["totals"]
    assert [totals[k] for k in ("tests", "passed", "failed", "skipped", "xfailed")] == [
        5,
        2,
        1,
        1,
        1,
    ]
    assert totals["db_query_count"] == 7
    assert totals["wall_time_ms"] >= totals["test_time_ms"] >= 100
    assert [f["id"].split("::")[-1] for f in summary["failures"]] == ["test_fails"]
    assert summary["failures"][0]["failure_type"] == "AssertionError"
    slowest = {s["id"].split("::")[-1]: s["test_duration_ms"] for s in summary["slowest"]}
    assert slowest["test_slow"] >= 100
    [suspect] = summary["n_plus_one"]
    assert (suspect["count"], suspect["sql"]) == (7, "SELECT ?")


def test_the_old_report_module_still_works_as_an_alias(pytester: pytest.Pytester) -> None:
    path = make_run(pytester)
    with path.open("a") as file:
        file.write('{"truncated": \n')

    result = pytester.run(sys.executable, "-m", "trim_telemetry_otel.report", str(path))

    assert result.ret == 0
    result.stdout.fnmatch_lines([f"{path}*", "  5 tests: 2 passed, 1 failed, 1 skipped, 1 xfailed"])
    result.stderr.fnmatch_lines([f"warning: {path}:6: not valid JSON*"])
    strict = pytester.run(sys.executable, "-m", "trim_telemetry_otel.report", "--strict", str(path))
    assert strict.ret == 2
