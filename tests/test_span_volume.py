"""Span volume: what reaches the collector, checked on real OTLP receivers on loopback."""

from __future__ import annotations

import os
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tests.conftest import read_records, run_files
from tests.otlp_receivers import Received, grpc_receiver, http_receiver
from trim_telemetry_otel.forwarding import Forwarding, OtlpTarget, otlp_exporter
from trim_telemetry_otel.volume import totals_attributes

SUITE = """
import sqlite3
import pytest

@pytest.fixture(scope="session")
def idle_session_fixture():
    yield "nothing to see"

@pytest.fixture(scope="module")
def table():
    connection = sqlite3.connect(":memory:")
    connection.cursor().execute("CREATE TABLE item (id INTEGER)")
    yield connection

def test_many_queries(idle_session_fixture, table):
    cursor = table.cursor()
    for n in range(5):
        cursor.execute("INSERT INTO item VALUES (?)", (n,))
    cursor.execute("SELECT id FROM item")

def test_no_queries(idle_session_fixture):
    pass
"""


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRIM_TELEMETRY")):
            monkeypatch.delenv(name)


def forwarded_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, protocol: str, *args: str
) -> tuple[pytest.RunResult, dict[str, dict[str, Any]], Received]:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    receiver = grpc_receiver if protocol == "grpc" else http_receiver
    with receiver() as (endpoint, received):
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--telemetry-otlp={endpoint}", *args
        )
    [path] = run_files(pytester.path / ".telemetry")
    by_name = {record["name"]: record for record in read_records(path)}
    return result, by_name, received


def roots(received: Received) -> dict[str, Any]:
    return {s.name: s for s in received.spans if s.parent_span_id is None}


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_roots_mode_forwards_only_test_roots_with_the_records_totals(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    result, by_name, received = forwarded_run(
        pytester, monkeypatch, protocol, "--telemetry-otlp-spans=roots"
    )

    result.assert_outcomes(passed=2)
    assert by_name["test_many_queries"]["db_query_count"] == 6, "the NDJSON keeps every query"
    assert all(span.parent_span_id is None for span in received.spans)
    forwarded = roots(received)
    assert set(forwarded) == {
        "test_suite.py::test_many_queries",
        "test_suite.py::test_no_queries",
        "test_suite.py::table[module setup]",  # set-up that did something is a root too
    }
    for record in by_name.values():
        attributes = forwarded[record["id"]].attributes
        assert attributes["trim.db.query_count"] == record["db_query_count"]
        assert attributes["trim.db.duplicate_count"] == record["db_duplicate_count"]
        assert attributes["trim.net.request_count"] == record["net_request_count"]
        assert attributes["trim.test.duration_ms"] == record["test_duration_ms"]
    result.stdout.fnmatch_lines(["3 spans forwarded to *"])


def test_the_environment_variable_asks_for_roots_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIM_TELEMETRY_OTLP_SPANS", "roots")

    _, _, received = forwarded_run(pytester, monkeypatch, "grpc")

    assert len(received.spans) == 3
    assert all(span.parent_span_id is None for span in received.spans)


def test_all_mode_forwards_every_span_but_no_set_up_root_that_did_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, by_name, received = forwarded_run(pytester, monkeypatch, "grpc")

    result.assert_outcomes(passed=2)
    forwarded = roots(received)
    assert not [name for name in forwarded if "idle_session_fixture" in name]
    assert "test_suite.py::table[module setup]" in forwarded
    test_spans = [
        s for s in received.spans if s.trace_id == by_name["test_many_queries"]["trace_id"]
    ]
    assert len(test_spans) == 1 + 6
    root = forwarded["test_suite.py::test_many_queries"]
    assert root.attributes["trim.db.query_count"] == 6


def test_an_unknown_span_volume_is_named_and_nothing_is_forwarded(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIM_TELEMETRY_OTLP_SPANS", "some")

    result, by_name, received = forwarded_run(pytester, monkeypatch, "grpc")

    result.assert_outcomes(passed=2)
    assert len(by_name) == 2
    assert not received.spans
    result.stderr.fnmatch_lines(["*TRIM_TELEMETRY_OTLP_SPANS='some' is not one of all, roots*"])
    assert "Traceback" not in result.stderr.str()


def test_spans_the_full_queue_dropped_are_counted_truly() -> None:
    with grpc_receiver(delay=0.3) as (endpoint, received):
        target = OtlpTarget("grpc", endpoint, endpoint)
        forwarding = Forwarding(target, otlp_exporter(target, {}), queue_size=512)
        provider = TracerProvider()
        provider.add_span_processor(forwarding)
        tracer = provider.get_tracer("tests")
        for _ in range(3000):
            tracer.start_span("SELECT").end()

        assert forwarding.flush(budget_s=10)
        received.wait_for(forwarding.spans_sent)

        assert 0 < len(received.spans) < 3000
        assert forwarding.spans_sent == len(received.spans)
        assert forwarding.spans_not_sent == 3000 - len(received.spans)
        summary = forwarding.summary()
        assert summary.startswith(f"WARNING: {3000 - len(received.spans)} of 3000 spans not")
        assert "export queue (512 spans) was full; raise OTEL_BSP_MAX_QUEUE_SIZE" in summary
        provider.shutdown()


def test_the_totals_name_every_count_and_duration_of_the_record() -> None:
    record = {
        "id": "t",
        "test_duration_ms": 1.5,
        "db_query_count": 3,
        "db_queries": [],
        "net_request_count": 0,
        "status_detail": None,
        "sleep_count": 2,
        "flag": True,
    }

    assert totals_attributes(record) == {
        "trim.test.duration_ms": 1.5,
        "trim.db.query_count": 3,
        "trim.net.request_count": 0,
        "trim.sleep.count": 2,
    }
