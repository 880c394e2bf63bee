"""What telemetry does not pay for: spans for set-up work under which nothing happened, drivers the
suite never imports. And the benchmark that measures the rest still runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from trim_telemetry_otel import attributes as attr
from trim_telemetry_otel.roots import RunningTest
from trim_telemetry_otel.roots import TestIdentity as Identity
from trim_telemetry_otel.roots import TestOutcome as Outcome

ROOT = Path(__file__).resolve().parent.parent
SETUP = Identity("t.py::db[module setup]", "db[module setup]", None, "t", "t.py", "pytest")


def recording_tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_set_up_work_under_which_nothing_happened_makes_no_span_but_keeps_its_time() -> None:
    tracer, exporter = recording_tracer()
    setup = RunningTest(tracer, SETUP, "run_x", kind=attr.KIND_SETUP)
    busy_until = time.perf_counter() + 0.01  # not time.sleep: a sleep is traced, it is something
    while time.perf_counter() < busy_until:
        pass
    setup.finish(Outcome("passed"))
    assert exporter.get_finished_spans() == ()
    assert setup.duration_ns() >= 10_000_000


def test_a_set_up_root_starts_when_its_work_did_once_a_span_starts_under_it() -> None:
    tracer, exporter = recording_tracer()
    before = time.time_ns()
    setup = RunningTest(tracer, SETUP, "run_x", kind=attr.KIND_SETUP)
    time.sleep(0.005)
    with tracer.start_as_current_span("SELECT") as child:
        pass
    setup.finish(Outcome("passed"))
    spans = {span.name: span for span in exporter.get_finished_spans()}
    root = spans[SETUP.id]
    assert root.parent is None
    assert child.parent is not None and child.parent.span_id == root.context.span_id
    assert before <= root.start_time <= before + 5_000_000 <= spans["SELECT"].start_time
    assert root.attributes[attr.RECORD_KIND] == attr.KIND_SETUP
    assert root.attributes[attr.TEST_STATUS] == "passed"
    assert setup.duration_ns() == root.end_time - root.start_time


def test_set_up_work_that_failed_gets_its_span_even_with_nothing_under_it() -> None:
    tracer, exporter = recording_tracer()
    setup = RunningTest(tracer, SETUP, "run_x", kind=attr.KIND_SETUP)
    setup.finish(Outcome.raised(RuntimeError("no database"), "setup"))
    (root,) = exporter.get_finished_spans()
    assert root.attributes[attr.TEST_STATUS] == "error"
    assert root.attributes[attr.TEST_FAILURE_MESSAGE] == "RuntimeError: no database"
    assert root.status.status_code is trace.StatusCode.ERROR


def test_a_test_root_is_a_span_from_the_start() -> None:
    tracer, exporter = recording_tracer()
    test = RunningTest(tracer, SETUP, "run_x")
    assert trace.get_current_span() is test.span
    test.finish(Outcome("passed"))
    assert len(exporter.get_finished_spans()) == 1


DRIVER_IMPORTED_LATE = """
import json, sys
from pathlib import Path
from trim_telemetry_otel.roots import TestIdentity, TestOutcome
from trim_telemetry_otel.session import TelemetrySession

session = TelemetrySession.start(Path(sys.argv[1]))
drivers = ("psycopg", "psycopg2", "pymysql", "httpx")
not_imported = [name for name in drivers if name not in sys.modules]
from psycopg2 import connect  # after telemetry started: instrumented as it is imported

test = session.start_test(TestIdentity("t.py::test_late", "test_late", None, "t", "t.py", "pytest"))
connection = connect(sys.argv[2])
connection.cursor().execute("SELECT 1")
connection.close()
session.finish_test(test, TestOutcome("passed"))
session.close()
print(json.dumps({"not_imported": not_imported, "instrumented": session.telemetry.instrumented}))
"""


@pytest.mark.postgresql
def test_a_driver_first_imported_after_telemetry_started_is_traced(
    tmp_path: Path, postgres_dsn: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER_IMPORTED_LATE, str(tmp_path), postgres_dsn],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout)
    # Starting telemetry imports none of these drivers: each is instrumented on its first import.
    assert result["not_imported"] == ["psycopg", "psycopg2", "pymysql", "httpx"]
    assert "psycopg2" in result["instrumented"]
    (run_file,) = tmp_path.glob("run_*.ndjson")
    record = json.loads(run_file.read_text())
    assert record["db_query_count"] == 1
    assert record["db_queries"][0]["sql"] == "SELECT ?"
    assert record["db_queries"][0]["db_system"] == "postgresql"


def test_the_benchmark_prints_every_row_in_tiny_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py"), "--tiny"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 6 + 3  # the head, the suites, per test / per span / memory
    for row in rows[1:]:
        assert any(unit in row for unit in ("x ", "µs", "ms", "KiB"))


def test_orjson_and_the_json_module_write_the_same_line() -> None:
    orjson = pytest.importorskip("orjson")
    from tests.spans import SpanFactory
    from trim_telemetry_otel import ndjson
    from trim_telemetry_otel.fold import fold_test

    spans = SpanFactory()
    with spans.test(**{attr.TEST_FAILURE_MESSAGE: 'naïve 🚀 "quoted"\n\ttab \u2028'}):
        spans.query("SELECT * FROM users WHERE id = 1")
        spans.http("https://api.example.com/v1/rates?base=EUR")
    record = fold_test(*spans.root_and_children())
    odd = {**record, "name": "lone \udc80 surrogate", "line": 2**70}

    fast = [ndjson.encode_record(r) for r in (record, odd)]
    saved, ndjson._fast_dumps = ndjson._fast_dumps, None
    try:
        slow = [ndjson.encode_record(r) for r in (record, odd)]
    finally:
        ndjson._fast_dumps = saved

    assert fast[0] == orjson.dumps(record) + b"\n"
    for fast_line, slow_line in zip(fast, slow, strict=True):
        assert fast_line.endswith(b"\n") and fast_line.count(b"\n") == 1
        assert json.loads(fast_line) == json.loads(slow_line)
        assert list(json.loads(fast_line)) == list(record)
    assert fast[1] == slow[1]  # what orjson refuses goes through the json module
    assert json.loads(fast[1])["name"] == "lone \ufffd surrogate"
