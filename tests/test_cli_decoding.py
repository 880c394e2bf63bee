"""orjson (the ``fast`` extra) decodes run files to exactly what the json module would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.telemetry_runs import known_run, query, record
from trim_telemetry_otel.cli import main, reading, records
from trim_telemetry_otel.cli.parsing import parse_record
from trim_telemetry_otel.cli.reading import Problem, read_file

orjson = pytest.importorskip("orjson")

HUGE = 2**64  # orjson makes a float of an integer beyond 64 bits; json keeps it an int
HUGE_CALL = {
    "method": "GET", "url": "http://a/", "status_code": 200, "count": HUGE,
    "total_duration_ms": 1.0,
}  # fmt: skip


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
        json.dumps(
            {**typed, "id": "t.py::test_huge_query_ms", "db_queries": [query("SELECT 1", 1, HUGE)]}
        ).encode(),
        json.dumps({**typed, "id": "t.py::test_huge_call", "net_requests": [HUGE_CALL]}).encode(),
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
    by_id = {test["id"]: test for test in plain_tests}
    assert by_id["t.py::test_huge_count"]["db_query_count"] == HUGE
    assert type(by_id["t.py::test_huge_ms"]["test_duration_ms"]) is int
    assert by_id["t.py::test_huge_query_ms"]["db_queries"][0]["total_duration_ms"] == HUGE
    assert by_id["t.py::test_huge_call"]["net_requests"][0]["count"] == HUGE
    assert by_id["t.py::test_surrogate\ud800"]["status"] == "passed"
    assert by_id["t.py::test_bom"]["status"] == "passed"
    assert by_id["t.py::test_twice"]["status"] == "passed"
    assert (
        by_id["t.py::test_nan"]["test_duration_ms"] != by_id["t.py::test_nan"]["test_duration_ms"]
    )
    assert [(p.line, p.message.split(" (")[0]) for p in plain_problems] == [
        (11, "not valid JSON"),
        (15, "not valid UTF-8; line skipped"),
        (21, f"'module' is int {HUGE}, expected a string; line skipped"),
        (29, "incomplete last line"),
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


def test_a_record_is_completed_with_the_empty_value_of_each_field_it_lacks() -> None:
    """Commands read every field of the schema without a default: parse_record gives it one."""
    lacking = {"schema_version": "1.0.0", "id": "t.py::test_bare", "status": "passed"}
    nulls = {**lacking, "id": "t.py::test_nulls", "db_query_count": None, "net_urls": None}
    nulls.update(test_duration_ms=None, name="", db_select_count=None, db_queries=None)
    nulls.update(db_total_duration_ms=0, net_total_duration_ms=5)  # a 0 reads as 0.0, as always
    nulls["net_requests"] = [{"url": "http://a/"}]
    bare, nulled = parse_record(dict(lacking)), parse_record(nulls)
    assert set(bare) >= set(records.Test.__annotations__)
    assert (bare["name"], bare["db_query_count"], bare["test_duration_ms"]) == (
        "t.py::test_bare",
        0,
        0.0,
    )
    assert (bare["db_queries"], bare["net_urls"], bare["line"], bare["db_select_count"]) == (
        [],
        [],
        None,
        None,  # no type counts: the record predates them
    )
    assert bare["net_urls"] is not parse_record(dict(lacking))["net_urls"]  # a list of its own
    assert (nulled["name"], nulled["db_query_count"], nulled["test_duration_ms"]) == (
        "t.py::test_nulls",
        0,
        0.0,
    )
    assert (nulled["db_queries"], nulled["net_urls"], nulled["db_other_count"]) == ([], [], 0)
    assert [type(nulled[key]) for key in ("db_total_duration_ms", "net_total_duration_ms")] == [
        float,
        int,
    ]
    assert nulled["net_requests"] == [
        {"url": "http://a/", "method": None, "status_code": None, "count": 1,
         "total_duration_ms": 0.0}
    ]  # fmt: skip
    query = parse_record({**lacking, "db_queries": [{"sql": "SELECT 1"}]})["db_queries"][0]
    assert (query["count"], query["total_duration_ms"], query["operation"]) == (1, 0.0, None)
