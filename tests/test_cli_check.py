"""``trim-telemetry check``: the CI gate's exit codes, baseline modes and budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.telemetry_runs import query, record, write_run
from trim_telemetry_otel.cli import main


def run_with(
    tmp_path: Path,
    queries: int,
    *,
    name: str = "run",
    hosts: tuple[str, ...] = (),
    duplicates: bool = False,
) -> Path:
    sql = (
        [query("SELECT ? FROM t", queries)]
        if duplicates
        else [query(f"SELECT {n} FROM t") for n in range(queries)]
    )
    requests = [
        {
            "method": "GET",
            "url": f"http://{host}/x",
            "status_code": 200,
            "count": 1,
            "total_duration_ms": 1.0,
        }
        for host in hosts
    ]
    records = [
        record("t.py::test_list", db_queries=sql, net_requests=requests),
        record("t.py::test_other", db_queries=[query("SELECT 1")]),
        record("t.py::test_broken", "failed", db_queries=[query("SELECT 2", 3)]),
    ]
    return write_run(tmp_path / f"{name}.ndjson", records)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def test_once_writes_a_missing_baseline_then_fails_on_a_gain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "perf" / "baseline.json"

    code, out = check(
        capsys, str(run_with(tmp_path, 3)), "--baseline", str(baseline), "--mode", "once"
    )
    assert code == 0
    assert f"check: {baseline}: 2 entries written (once)" in out
    # One test per line, sorted by id, so that review diffs read well; failed tests are left out.
    assert baseline.read_text() == (
        '{"format": 1, "tests": {\n'
        '"t.py::test_list": {"queries": 3, "duplicates": 0, "hosts": []},\n'
        '"t.py::test_other": {"queries": 1, "duplicates": 0, "hosts": []}\n'
        "}}\n"
    )
    assert json.loads(baseline.read_text())["tests"]["t.py::test_list"]["queries"] == 3

    code, out = check(
        capsys, str(run_with(tmp_path, 3)), "--baseline", str(baseline), "--mode", "once"
    )
    assert (code, out.splitlines()[-1]) == (
        0,
        f"check: passed (3 tests in {tmp_path / 'run.ndjson'})",
    )

    code, out = check(
        capsys,
        str(run_with(tmp_path, 5, duplicates=True, hosts=("api.test",))),
        "--baseline",
        str(baseline),
        "--mode",
        "once",
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"check: FAILED, 3 offences in {tmp_path / 'run.ndjson'}"
    assert lines[1].split() == ["test", "what", "baseline", "now"]
    assert lines[2].split() == ["t.py::test_list", "more", "queries", "3", "5", "(+2)"]
    assert lines[3].split() == ["t.py::test_list", "more", "repeated", "queries", "0", "4", "(+4)"]
    assert lines[4].split() == ["t.py::test_list", "new", "network", "hosts", "-", "api.test"]
    assert 'queries": 3' in baseline.read_text()  # once never rewrites a mismatch


def test_fewer_queries_pass_and_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    check(capsys, str(run_with(tmp_path, 4)), "--baseline", str(baseline), "--mode", "once")

    code, out = check(
        capsys, str(run_with(tmp_path, 2)), "--baseline", str(baseline), "--mode", "once"
    )

    assert code == 0
    assert (
        "check: 1 tests now do less than the baseline says: --update-baseline locks that in" in out
    )


def test_mode_none_never_writes_and_fails_on_tests_missing_from_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    run = str(run_with(tmp_path, 3))

    assert main(["check", run, "--baseline", str(baseline), "--mode", "none"]) == 2
    assert "no such baseline (mode none never writes one" in capsys.readouterr().err
    assert not baseline.exists()

    baseline.write_text(
        '{"format": 1, "tests": {"t.py::test_list": {"queries": 3, "duplicates": 0, "hosts": []}}}'
    )
    code, out = check(capsys, run, "--baseline", str(baseline), "--mode", "none")
    assert code == 1
    assert out.splitlines()[2].split()[:5] == ["t.py::test_other", "not", "in", "the", "baseline"]


def test_ci_makes_none_the_default_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    assert main(["check", str(run_with(tmp_path, 3)), "--baseline", str(tmp_path / "b.json")]) == 2
    monkeypatch.setenv("CI", "")
    assert main(["check", str(run_with(tmp_path, 3)), "--baseline", str(tmp_path / "b.json")]) == 0


def test_mode_all_writes_the_gain_for_review_and_still_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    check(capsys, str(run_with(tmp_path, 3)), "--baseline", str(baseline), "--mode", "once")

    code, _ = check(
        capsys, str(run_with(tmp_path, 6)), "--baseline", str(baseline), "--mode", "all"
    )

    assert code == 1
    assert json.loads(baseline.read_text())["tests"]["t.py::test_list"]["queries"] == 6


def test_update_baseline_overwrites_keeps_other_tests_and_prunes_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        '{"format": 1, "tests": {"gone.py::test_old": '
        '{"queries": 1, "duplicates": 0, "hosts": []}}}'
    )
    run = str(run_with(tmp_path, 9))

    assert check(capsys, run, "--baseline", str(baseline), "--update-baseline")[0] == 0
    assert sorted(json.loads(baseline.read_text())["tests"]) == [
        "gone.py::test_old",
        "t.py::test_list",
        "t.py::test_other",
    ]
    assert check(capsys, run, "--baseline", str(baseline), "--update-baseline", "--prune")[0] == 0
    assert sorted(json.loads(baseline.read_text())["tests"]) == [
        "t.py::test_list",
        "t.py::test_other",
    ]


def test_absolute_budgets_fail_without_a_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(run_with(tmp_path, 4, duplicates=True, hosts=("api.test:443",)))

    assert check(capsys, run, "--max-queries", "4")[0] == 0
    code, out = check(capsys, run, "--max-queries", "3", "--max-duplicates", "2", "--no-network")
    assert code == 1
    rows = [line.split() for line in out.splitlines()[2:]]
    assert rows == [
        ["t.py::test_list", "queries", "over", "budget", "3", "4"],
        ["t.py::test_list", "repeats", "over", "budget", "2", "3"],
        ["t.py::test_list", "real", "network", "calls", "none", "api.test"],
    ]
    # A failed test still counts against budgets: its queries and calls happened.
    code, out = check(capsys, run, "--max-duplicates", "1")
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()[2:]] == [
        "t.py::test_list",
        "t.py::test_broken",
    ]


def test_check_without_baseline_or_budget_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(run_with(tmp_path, 1))]) == 2
    assert "check needs --baseline FILE or a budget" in capsys.readouterr().err


def test_a_broken_baseline_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"format": 1, "tests": {\n"t.py::test_list": {"queries": 3,,}\n}}\n')

    assert main(["check", str(run_with(tmp_path, 1)), "--baseline", str(baseline)]) == 2
    assert f"error: {baseline}:2: the baseline is not valid JSON" in capsys.readouterr().err
