"""orjson (the ``fast`` extra) decodes run files to exactly what the json module would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.telemetry_runs import known_run, record
from trim_telemetry_otel.cli import main, reading
from trim_telemetry_otel.cli.parsing import parse_record
from trim_telemetry_otel.cli.reading import Problem, read_file

orjson = pytest.importorskip("orjson")

HUGE = 2**64  # orjson makes a float of an integer beyond 64 bits; json keeps it an int


def hostile_lines() -> list[bytes]:
    """Good records and every kind of line where the two decoders could part ways."""
    good = [json.dumps(r, ensure_ascii=False).encode() for r in known_run()]
    typed = record("t.py::test_typed")
    return [
        *good,
        b"",
        b"   ",
        b"not json",
        b'{"id": "t.py::test_nan", "status": "passed", "test_duration_ms": NaN}',
        b'{"id": "t.py::test_inf", "status": "passed", "test_duration_ms": -Infinity}',
        b'{"id": "t.py::test_surrogate\\ud800", "status": "passed"}',
        b'{"id": "t.py::test_latin1_\xe9", "status": "passed"}',
        b'\xef\xbb\xbf{"id": "t.py::test_bom", "status": "passed"}',
        b'{"id": "t.py::test_twice", "status": "failed", "status": "passed"}',
        json.dumps({**typed, "id": "t.py::test_huge_count", "db_query_count": HUGE}).encode(),
        json.dumps({**typed, "id": "t.py::test_huge_ms", "test_duration_ms": HUGE}).encode(),
        json.dumps({**typed, "id": "t.py::test_huge_negative", "test_duration_ms": -HUGE}).encode(),
        json.dumps({**typed, "id": "t.py::test_huge_str", "module": HUGE}).encode(),
        b'{"id": "t.py::test_spaced_huge", "status": "passed", "test_duration_ms":  \t'
        + str(HUGE).encode()
        + b"}",
        json.dumps({**typed, "id": "t.py::test_max_u64", "db_query_count": HUGE - 1}).encode(),
        json.dumps({**typed, "id": "t.py::test_float", "test_duration_ms": 0.1 + 0.2}).encode(),
        json.dumps({**typed, "id": "t.py::test_exp", "test_duration_ms": 1.5e-300}).encode(),
        json.dumps({**typed, "id": "t.py::test_unknown", "extra": {"deep": [[[1]]]}}).encode(),
        good[0][: len(good[0]) // 2],  # a truncated last line
    ]


def write(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "run.ndjson"
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n" + lines[-1])
    return path


def read_with(path: Path, loads: Any) -> tuple[list[Any], list[Problem]]:
    saved = reading._fast_loads
    reading._fast_loads = loads
    try:
        problems: list[Problem] = []
        return read_file(path, problems), problems
    finally:
        reading._fast_loads = saved


def test_the_fast_decoder_reads_every_hostile_line_as_the_json_module_does(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, hostile_lines())
    decoded: list[bytes] = []

    def counting(raw: bytes) -> Any:
        decoded.append(raw)
        return orjson.loads(raw)

    fast_tests, fast_problems = read_with(path, counting)
    plain_tests, plain_problems = read_with(path, None)
    assert fast_tests == plain_tests
    assert fast_problems == plain_problems
    assert len(decoded) >= len(known_run())  # the fast decoder did read the ordinary lines
    by_id = {test.id: test for test in plain_tests}
    assert by_id["t.py::test_huge_count"].db_query_count == HUGE
    assert type(by_id["t.py::test_huge_ms"].test_duration_ms) is int
    assert by_id["t.py::test_surrogate\ud800"].status == "passed"
    assert by_id["t.py::test_bom"].status == "passed"
    assert by_id["t.py::test_twice"].status == "passed"
    assert by_id["t.py::test_nan"].test_duration_ms != by_id["t.py::test_nan"].test_duration_ms
    assert [(p.line, p.message.split(" (")[0]) for p in plain_problems] == [
        (11, "not valid JSON"),
        (15, "not valid UTF-8; line skipped"),
        (21, f"'module' is int {HUGE}, expected a string; line skipped"),
        (27, "incomplete last line"),
    ]


@pytest.mark.parametrize("decoder", ["orjson", "json"])
def test_summary_output_is_the_same_with_either_decoder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], decoder: str
) -> None:
    path = write(tmp_path, hostile_lines())
    outputs = []
    for loads in (orjson.loads, None) if decoder == "orjson" else (None, orjson.loads):
        saved = reading._fast_loads
        reading._fast_loads = loads
        try:
            assert main(["summary", "--json", str(path)]) == 0
            assert main(["summary", str(path)]) == 0
        finally:
            reading._fast_loads = saved
        captured = capsys.readouterr()
        outputs.append((captured.out, captured.err))
    assert outputs[0] == outputs[1]
    assert "t.py::test_huge_ms" in outputs[0][0]
    assert f"{HUGE}" in outputs[0][0]  # the integer, not orjson's float


def test_every_field_of_a_record_lands_in_its_own_attribute() -> None:
    """parse_record passes Test's fields by position: a field out of place would show here."""
    fields = {
        "name": "name", "class": "classname", "module": "module", "file": "file",
        "framework": "framework", "run_id": "run_id", "status_detail": "status_detail",
        "failure_phase": "failure_phase", "failure_type": "failure_type",
        "failure_message": "failure_message", "skip_reason": "skip_reason",
        "start_time": "start_time", "end_time": "end_time", "trace_id": "trace_id",
        "vcs_revision": "vcs_revision", "vcs_branch": "vcs_branch", "ci_run_id": "ci_run_id",
        "ci_run_url": "ci_run_url",
    }  # fmt: skip
    numbers = {
        "line": "line", "db_query_count": "db_query_count",
        "db_duplicate_count": "db_duplicate_count", "db_error_count": "db_error_count",
        "db_housekeeping_count": "db_housekeeping_count", "net_request_count": "net_request_count",
        "net_error_count": "net_error_count", "net_http_error_count": "net_http_error_count",
        "sleep_count": "sleep_count", "test_duration_ms": "test_duration_ms",
        "db_total_duration_ms": "db_total_duration_ms",
        "net_total_duration_ms": "net_total_duration_ms", "sleep_total_ms": "sleep_total_ms",
    }  # fmt: skip
    data: dict[str, Any] = {"schema_version": "1.1.0", "id": "t.py::test_all", "status": "error"}
    data.update({key: f"value of {key}" for key in fields})
    data.update({key: 100 + number for number, key in enumerate(numbers)})
    kinds = ("select", "insert", "update", "delete", "transaction", "other")
    data.update({f"db_{kind}_count": 200 + number for number, kind in enumerate(kinds)})
    data["net_urls"], data["net_mocked_urls"] = ["http://a/"], ["http://m/"]
    data["db_queries"] = [{"sql": "SELECT 1", "count": 2, "total_duration_ms": 0.5}]
    data["net_requests"] = [{"url": "http://a/", "count": 1, "total_duration_ms": 1.0}]
    test = parse_record(data)
    assert (test.id, test.status, test.schema_version) == ("t.py::test_all", "error", "1.1.0")
    for key, attribute in fields.items():
        assert getattr(test, attribute) == f"value of {key}", attribute
    for key, attribute in numbers.items():
        assert getattr(test, attribute) == data[key], attribute
    assert test.db_type_counts == {kind: 200 + n for n, kind in enumerate(kinds)}
    assert (test.net_urls, test.net_mocked_urls) == (["http://a/"], ["http://m/"])
    assert [(q.sql, q.count) for q in test.db_queries] == [("SELECT 1", 2)]
    assert [(c.url, c.total_duration_ms) for c in test.net_requests] == [("http://a/", 1.0)]
