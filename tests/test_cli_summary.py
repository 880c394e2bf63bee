"""``trim-telemetry summary`` on hand-made runs whose every figure is known."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.telemetry_runs import as_schema_1_0, known_run, known_setup, record, write_run
from trim_telemetry_otel.cli import main

USER_SQL = 'SELECT "user"."id" FROM "user" WHERE "user"."id" = %s'


def summary_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["summary", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_figure_of_summary_json_is_the_known_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_run(tmp_path / "run_20261121_100000.ndjson", known_run(), setup=known_setup())

    summary = summary_json(capsys, str(tmp_path))  # a directory: its newest run

    assert summary["source"] == str(path)
    assert summary["run_ids"] == ["run_20261121_100000"]
    assert summary["totals"] == {
        "tests": 8,
        "passed": 3,
        "failed": 1,
        "error": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
        "db_query_count": 12,
        "db_duplicate_count": 4,
        "db_error_count": 0,
        "db_housekeeping_count": 0,
        "db_total_duration_ms": 4.75,
        "net_request_count": 3,
        "net_error_count": 1,
        "net_mocked_count": 1,
        "net_total_duration_ms": 9.0,
        "sleep_count": 0,
        "sleep_total_ms": 0.0,
        "test_time_ms": 220.0,
        "wall_time_ms": 7050.0,
    }
    assert summary["query_types"] == {
        "select": 7,
        "insert": 1,
        "update": 0,
        "delete": 0,
        "transaction": 4,
        "other": 0,
    }
    assert summary["failures"] == [
        {
            "id": "tests/b.py::test_fails",
            "outcome": "failed",
            "status_detail": None,
            "failure_phase": "call",
            "failure_type": "AssertionError",
            "failure_message": "assert 1 == 2",
            "file": "tests/b.py",
            "line": None,
        },
        {
            "id": "tests/b.py::test_errors",
            "outcome": "error",
            "status_detail": None,
            "failure_phase": "setup",
            "failure_type": "RuntimeError",
            "failure_message": "fixture broke",
            "file": "tests/b.py",
            "line": None,
        },
    ]
    assert [(s["id"].split("::")[-1], s["test_duration_ms"]) for s in summary["slowest"]] == [
        ("test_n_plus_one", 120.0),
        ("test_network", 50.0),
        ("test_fails", 30.0),
        ("test_fast", 10.0),
        ("test_errors", 5.0),
        ("test_xpass", 3.0),
        ("test_xfail", 2.0),
        ("test_skipped", 0.0),
    ]
    assert summary["most_queries"] == [
        {
            "id": "tests/a.py::TestApi::test_n_plus_one",
            "db_query_count": 9,
            "db_duplicate_count": 4,
        },
        {"id": "tests/a.py::test_fast", "db_query_count": 2, "db_duplicate_count": 0},
        {"id": "tests/b.py::test_fails", "db_query_count": 1, "db_duplicate_count": 0},
    ]
    # SAVEPOINT ran three times too, but transaction control is no N+1 suspect.
    assert summary["n_plus_one"] == [
        {
            "id": "tests/a.py::TestApi::test_n_plus_one",
            "sql": USER_SQL,
            "summary": None,
            "count": 5,
            "total_duration_ms": 2.5,
        },
    ]
    assert summary["query_groups"] == [
        {"sql": USER_SQL, "count": 5, "tests": 1, "total_duration_ms": 2.5},
        {"sql": "INSERT INTO t VALUES (?)", "count": 1, "tests": 1, "total_duration_ms": 1.0},
        {"sql": "SELECT ? FROM t", "count": 1, "tests": 1, "total_duration_ms": 0.5},
        {"sql": "SAVEPOINT ?", "count": 3, "tests": 1, "total_duration_ms": 0.375},
        {"sql": "SELECT * FROM u", "count": 1, "tests": 1, "total_duration_ms": 0.25},
        {"sql": "BEGIN", "count": 1, "tests": 1, "total_duration_ms": 0.125},
    ]
    assert summary["network"] == [
        {
            "id": "tests/c.py::test_network",
            "net_request_count": 3,
            "net_error_count": 1,
            "hosts": ["127.0.0.1"],
            "urls": ["http://127.0.0.1:8000/a?token=REDACTED", "http://127.0.0.1:9/down"],
        },
    ]
    assert summary["setup"] == {
        "records": 1,
        "db_query_count": 4,
        "net_request_count": 0,
        "duration_ms": 100.0,
        "failed": [],
        "largest": [
            {
                "id": "tests/conftest.py::django_db_setup[session setup]",
                "db_query_count": 4,
                "test_duration_ms": 100.0,
            }
        ],
    }
    assert summary["problems"] == []


def test_schema_1_0_lines_give_the_same_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = write_run(tmp_path / "new" / "run.ndjson", known_run())
    old = write_run(
        tmp_path / "old" / "run.ndjson", [as_schema_1_0(r) for r in known_run()], validate=False
    )

    new_summary, old_summary = summary_json(capsys, str(current)), summary_json(capsys, str(old))

    assert old_summary["problems"] == []
    for key in ("totals", "query_types", "failures", "n_plus_one", "query_groups", "network"):
        assert old_summary[key] == new_summary[key], key


def test_the_text_summary_names_failures_time_suspects_network_and_setup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_run(tmp_path / "run.ndjson", known_run(), setup=known_setup())

    assert main(["summary", str(path)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[:6] == [
        f"{path} (run_20261121_100000)",
        "  8 tests: 3 passed, 1 failed, 1 error, 1 skipped, 1 xfailed, 1 xpassed",
        "  time: 7.05 s wall clock (first start to last end), 0.22 s summed over tests",
        "  database: 12 queries, 4 repeated, 4.8 ms",
        "  query types: 7 select, 1 insert, 4 transaction",
        "  network: 3 real calls in 1 tests (1 without a response), 1 mocked URLs",
    ]
    assert "failed and errored tests (2):" in out
    assert "  FAILED  tests/b.py::test_fails  [call]" in out
    assert "          AssertionError assert 1 == 2" in out
    assert "       5x  tests/a.py::TestApi::test_n_plus_one" in out
    assert "set-up work: 1 records, 4 queries, 0.10 s" in out


def test_filters_pick_tests_by_keyword_outcome_and_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_run(tmp_path / "run.ndjson", known_run()))

    assert summary_json(capsys, path, "-k", "TESTAPI")["totals"]["tests"] == 1
    assert summary_json(capsys, path, "-k", "not b.py")["totals"]["tests"] == 3
    only = summary_json(capsys, path, "--status", "xfailed", "--status", "error")
    assert [only["totals"][o] for o in ("xfailed", "error", "tests")] == [1, 1, 2]
    assert summary_json(capsys, path, "--module", "tests.c")["totals"]["tests"] == 1
    assert summary_json(capsys, path, "--module", "tests/a.py")["totals"]["tests"] == 2


def test_schema_1_1_fields_are_used_when_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = record(
        "t.py::test_new",
        schema_version="1.1.0",
        line=12,
        db_select_count=2,
        db_insert_count=0,
        db_update_count=1,
        db_delete_count=0,
        db_transaction_count=0,
        db_other_count=0,
        db_housekeeping_count=1,
        sleep_count=2,
        sleep_total_ms=40.5,
        vcs_revision="abc",
        db_queries=[
            {
                "sql": "SELECT 1",
                "count": 1,
                "total_duration_ms": 0.1,
                "db_system": "x",
                "db_name": None,
                "operation": "SELECT",
                "summary": "SELECT",
                "housekeeping": True,
            }
        ],
    )
    write_run(tmp_path / "run.ndjson", [newer], validate=False)

    summary = summary_json(capsys, str(tmp_path / "run.ndjson"))

    assert summary["query_types"] == {
        "select": 2,
        "insert": 0,
        "update": 1,
        "delete": 0,
        "transaction": 0,
        "other": 0,
    }
    assert summary["totals"]["db_housekeeping_count"] == 1
    assert (summary["totals"]["sleep_count"], summary["totals"]["sleep_total_ms"]) == (2, 40.5)
    assert summary["query_groups"] == []  # housekeeping is not the test's work


def test_stdin_is_read_with_a_dash_and_ctrl_c_still_prints_the_summary(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "trim_telemetry_otel", "summary", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    for item in known_run()[:3]:
        process.stdin.write((json.dumps(item) + "\n").encode())
    process.stdin.flush()
    wait_until_blocked_on_a_pipe(process.pid)  # like `tail -f`: the input stays open
    process.send_signal(signal.SIGINT)  # and the user presses Ctrl-C
    out, err = process.communicate(timeout=20)

    assert process.returncode == 0, err
    assert "  3 tests: 2 passed, 1 failed" in out.decode()
    assert b"Traceback" not in err


def wait_until_blocked_on_a_pipe(pid: int, timeout: float = 60.0) -> None:
    """Until the process has read what it was sent and waits for more (not still importing)."""
    deadline = time.monotonic() + timeout
    wchan = Path(f"/proc/{pid}/wchan")
    while time.monotonic() < deadline:
        if "pipe" in wchan.read_text():
            time.sleep(0.2)
            if "pipe" in wchan.read_text():
                return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never waited on its stdin pipe")


def test_the_old_report_command_is_an_alias_of_summary(tmp_path: Path) -> None:
    path = write_run(tmp_path / "run.ndjson", known_run())
    env = {**os.environ, "TRIM_TELEMETRY_DIR": str(tmp_path)}
    for command in (
        [sys.executable, "-m", "trim_telemetry_otel.report"],
        [str(Path(sys.executable).parent / "trim-telemetry-report")],
        [str(Path(sys.executable).parent / "trim-telemetry"), "summary"],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{path} (run_20261121_100000)\n  8 tests: 3 passed")
