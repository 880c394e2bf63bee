"""Bad input: named by file and line, the good lines still used, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.telemetry_runs import known_run, record, write_run
from trim_telemetry_otel.cli import main


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trim_telemetry_otel", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )


def good_and_bad(tmp_path: Path, bad: str) -> Path:
    """Two good records around a bad line (line 2)."""
    first, second = (json.dumps(r) for r in known_run()[:2])
    path = tmp_path / "run.ndjson"
    path.write_text(f"{first}\n{bad}\n{second}\n")
    return path


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "this is not json",
            "not valid JSON (Expecting value: line 1 column 1 (char 0)); line skipped",
        ),
        ("[1, 2]", "not a test record (a JSON list, not an object); line skipped"),
        ('{"status": "passed"}', "not a test record (no string 'id'); line skipped"),
        (
            json.dumps(record("t.py::test_future", schema_version="2.0.0")),
            "schema version '2.0.0', this reader knows 1.x; line skipped",
        ),
        (
            json.dumps(record("t.py::test_typed", db_query_count="7")),
            "'db_query_count' is str '7', expected an integer; line skipped",
        ),
        (
            json.dumps({**record("t.py::test_typed"), "db_queries": [{"sql": 3}]}),
            "a 'db_queries' entry without a string 'sql'; line skipped",
        ),
        (
            json.dumps(record("t.py::test_status", "maybe")),
            "'status' is 'maybe', not one of passed, failed, error, skipped; line skipped",
        ),
    ],
)
def test_a_bad_line_is_named_and_the_good_lines_are_still_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    path = good_and_bad(tmp_path, bad)

    assert main(["summary", str(path)]) == 0

    captured = capsys.readouterr()
    assert "  2 tests: 2 passed" in captured.out
    assert captured.err == f"warning: {path}:2: {message}\n"
    assert main(["summary", "--strict", str(path)]) == 2


def test_a_truncated_last_line_is_called_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_run(tmp_path / "run.ndjson", known_run()[:2])
    with path.open("a") as file:
        file.write(json.dumps(known_run()[2])[:50])  # the run was killed mid-line

    assert main(["summary", str(path)]) == 0

    captured = capsys.readouterr()
    assert "  2 tests: 2 passed" in captured.out
    assert captured.err == (
        f"warning: {path}:3: incomplete last line (the run was killed or is still writing)\n"
    )


def test_invalid_utf8_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.ndjson"
    path.write_bytes(json.dumps(known_run()[0]).encode() + b"\n\xff\xfe{}\n")

    assert main(["summary", str(path)]) == 0
    assert capsys.readouterr().err == f"warning: {path}:2: not valid UTF-8; line skipped\n"


def test_an_empty_file_says_so_and_fails_only_when_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.ndjson"
    path.write_text("")

    assert main(["summary", str(path)]) == 0
    captured = capsys.readouterr()
    assert "  0 tests: no tests" in captured.out
    assert captured.err == f"warning: {path}: no test records (the file is empty)\n"
    assert main(["summary", "--strict", str(path)]) == 2


def test_a_missing_path_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("summary", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path / 'nowhere'}: no such file or directory\n"

    result = run_cli("summary", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path}: no run file (*.ndjson) in this directory\n"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    many = [record(f"t.py::test_{n}", ms=float(n)) for n in range(3000)]
    path = write_run(tmp_path / "run.ndjson", many, validate=False)

    pipeline = subprocess.run(
        f"{sys.executable} -m trim_telemetry_otel summary --top 3000 {path} | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        executable="/bin/bash",
    )
    status = subprocess.run(
        f"set -o pipefail; {sys.executable} -m trim_telemetry_otel junit {path} | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        executable="/bin/bash",
    )

    assert pipeline.stdout.splitlines()[1] == "  3000 tests: 3000 passed"
    assert pipeline.stderr == ""
    assert status.returncode == 0, status.stderr
    assert status.stderr == ""


def test_every_command_survives_bad_lines(tmp_path: Path) -> None:
    path = good_and_bad(tmp_path, '{"id": "x", "status": "passed", "net_urls": "nope"}')
    baseline = tmp_path / "baseline.json"
    for args in (
        ["summary", str(path)],
        ["diff", str(path), str(path)],
        ["check", str(path), "--baseline", str(baseline), "--mode", "once"],
        ["junit", str(path), "-o", str(tmp_path / "junit.xml")],
        ["markdown", str(path), "-o", str(tmp_path / "summary.md")],
        ["html", str(path), "-o", str(tmp_path / "report.html")],
    ):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert f"warning: {path}:2: 'net_urls' is str 'nope', expected an array" in result.stderr
        strict = run_cli(*args, "--strict")
        assert strict.returncode == 2, args


def test_flaky_names_bad_lines_in_the_fields_it_reads(tmp_path: Path) -> None:
    # flaky reads only id, status and the run context (DuckDB or not): those lines it names.
    path = good_and_bad(tmp_path, '{"id": "x", "status": 3}')

    result = run_cli("flaky", str(path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"warning: {path}:2: 'status' is 3, not one of passed, failed, error, skipped; "
        "line skipped\n"
    )
    assert run_cli("flaky", str(path), "--strict").returncode == 2


def test_a_lone_surrogate_in_a_test_id_is_written_as_its_escape(tmp_path: Path) -> None:
    # The json module reads "\ud800" as a lone surrogate, which UTF-8 cannot carry.
    records = [record("t.py::test_\ud800", "failed"), record("t.py::test_ok_\udc80")]
    path = write_run(tmp_path / "run.ndjson", records)
    baseline = tmp_path / "baseline.json"
    for args in (
        ["summary", str(path)],
        ["summary", "--json", str(path)],
        ["diff", str(path), str(path)],
        ["check", str(path), "--baseline", str(baseline), "--update-baseline"],
        ["markdown", str(path)],
        ["markdown", str(path), "-o", str(tmp_path / "summary.md")],
        ["html", str(path), "-o", str(tmp_path / "report.html")],
    ):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
    assert "t.py::test_\\ud800" in run_cli("summary", str(path)).stdout

    summary = json.loads(run_cli("summary", "--json", str(path)).stdout)
    assert summary["failures"][0]["id"] == "t.py::test_\ud800"  # the same id, read back
    assert list(json.loads(baseline.read_text())["tests"]) == ["t.py::test_ok_\udc80"]
    assert "t.py::test_\\ud800" in (tmp_path / "summary.md").read_text()
