"""Forwarding the raw spans to an OTLP collector: real gRPC and HTTP receivers on loopback."""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tests.conftest import read_records, run_files
from tests.otlp_receivers import (
    Received,
    closed_port,
    grpc_receiver,
    http_receiver,
    silent_receiver,
)
from trim_telemetry_otel.forwarding import Forwarding, ForwardingError, OtlpTarget, otlp_exporter

SUITE = """
import sqlite3
import urllib.request

def test_queries():
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE item (id INTEGER, name TEXT)")
    for n in range(6):
        cursor.execute("INSERT INTO item VALUES (?, ?)", (n, "x"))
    connection.close()

def test_calls_a_server():
    urllib.request.urlopen("{url}/ping").read()

def test_fails():
    assert 1 == 2
"""


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says which OTEL_* variables its run sees; none leak in from outside."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRIM_TELEMETRY")):
            monkeypatch.delenv(name)


@pytest.fixture
def suite(pytester: pytest.Pytester, http_server: str) -> pytest.Pytester:
    pytester.makepyfile(test_suite=SUITE.replace("{url}", http_server))
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, float]:
    started = time.perf_counter()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    return result, time.perf_counter() - started


def records(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    [path] = run_files(pytester.path / ".telemetry")
    return {record["name"]: record for record in read_records(path)}


def assert_spans_match_records(
    received: Received, by_name: dict[str, dict[str, Any]], service_name: str
) -> None:
    traces = received.by_trace()
    for record in by_name.values():
        spans = traces[record["trace_id"]]
        [root] = [span for span in spans if span.parent_span_id is None]
        assert (root.span_id, root.name) == (record["span_id"], record["id"])
        db_spans = [span for span in spans if "db.system" in span.attributes]
        assert len(db_spans) == record["db_query_count"]
        http_spans = [span for span in spans if "http.url" in span.attributes]
        assert len(http_spans) == record["net_request_count"]
        assert {span.attributes["trim.run.id"] for span in spans} == {record["run_id"]}
        assert {span.resource["service.name"] for span in spans} == {service_name}


def test_spans_reach_a_grpc_collector_and_match_the_records(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result, _ = run(suite, "--telemetry")

        by_name = records(suite)
        result.assert_outcomes(passed=2, failed=1)
        assert by_name["test_queries"]["db_query_count"] == 7
        assert by_name["test_calls_a_server"]["net_request_count"] == 1
        assert_spans_match_records(received, by_name, f"{suite.path.name}-tests")
        result.stdout.fnmatch_lines([f"* spans forwarded to {endpoint} (grpc)"])


def test_telemetry_otlp_option_forwards_over_http_protobuf(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-ci")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
    with http_receiver() as (endpoint, received):
        result, _ = run(suite, "--telemetry-otlp", endpoint)  # implies --telemetry

        by_name = records(suite)
        assert len(by_name) == 3
        assert_spans_match_records(received, by_name, "shop-ci")
        assert {span.resource["deployment.environment"] for span in received.spans} == {"ci"}
        result.stdout.fnmatch_lines([f"* spans forwarded to {endpoint}/v1/traces (http/protobuf)"])


@pytest.mark.parametrize(
    ("exporters", "forwarded"),
    [("otlp,trim_ndjson", True), ("trim_ndjson", False), ("none", False)],
)
def test_otel_traces_exporter_decides_whether_spans_are_forwarded(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, exporters: str, forwarded: bool
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", exporters)

        result, _ = run(suite, "--telemetry")

        assert len(records(suite)) == 3, "the records are written either way"
        assert bool(received.spans) is forwarded
        assert ("spans forwarded to" in result.stdout.str()) is forwarded


def test_xdist_workers_each_forward_their_spans(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        run(suite, "--telemetry", "-n", "2")

        by_name = records(suite)
        received.wait_for(
            sum(1 + r["db_query_count"] + r["net_request_count"] for r in by_name.values())
        )
        assert_spans_match_records(received, by_name, f"{suite.path.name}-tests")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("collector", ["down", "hanging"])
def test_a_collector_that_is_down_or_hangs_costs_little_warns_once_and_changes_nothing(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, collector: str, protocol: str
) -> None:
    baseline, baseline_seconds = run(suite, "--telemetry")
    shutil.rmtree(suite.path / ".telemetry")
    with silent_receiver() as hanging:
        endpoint = hanging if collector == "hanging" else f"http://127.0.0.1:{closed_port()}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)

        result, seconds = run(suite, "--telemetry")

    extra = seconds - baseline_seconds
    print(f"collector {collector} ({protocol}): {seconds:.2f} s vs {baseline_seconds:.2f} s")
    assert extra < 5
    assert result.ret == baseline.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1)
    assert len(records(suite)) == 3
    output = result.stdout.lines + result.stderr.lines
    host_port = endpoint.removeprefix("http://")
    mentions = [line for line in output if host_port in line]
    assert len(mentions) == 1, mentions
    assert mentions[0].startswith("WARNING: spans not forwarded to")
    assert "the NDJSON records are complete" in mentions[0]
    assert not [line for line in output if "Traceback" in line or "Transient error" in line]


def test_a_missing_otlp_exporter_is_a_clear_warning_not_an_error(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        """
        import sys
        # As if the 'otlp' extra were not installed.
        sys.modules["opentelemetry.exporter.otlp.proto.grpc.trace_exporter"] = None
        """
    )

    result, _ = run(suite, "--telemetry-otlp", f"http://127.0.0.1:{closed_port()}")

    result.assert_outcomes(passed=2, failed=1)
    assert len(records(suite)) == 3
    result.stderr.fnmatch_lines(
        ["*spans are not forwarded: the OTLP exporter is not installed*trim-telemetry-otel?otlp?*"]
    )


def test_otlp_target_follows_the_standard_variables() -> None:
    assert OtlpTarget.from_settings({}) is None
    assert OtlpTarget.from_settings({"OTEL_TRACES_EXPORTER": "trim_ndjson"}) is None
    assert OtlpTarget.from_settings({"OTEL_TRACES_EXPORTER": "otlp"}) == OtlpTarget(
        "grpc", None, "http://localhost:4317"
    )
    assert OtlpTarget.from_settings(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        }
    ) == OtlpTarget("http/protobuf", None, "http://c:4318/v1/traces")
    assert OtlpTarget.from_settings(
        {
            "OTEL_TRACES_EXPORTER": "otlp_proto_http,trim_ndjson",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/t",
        }
    ) == OtlpTarget("http/protobuf", None, "http://c/t")
    # The exporter list, when set, wins over an endpoint variable.
    assert (
        OtlpTarget.from_settings(
            {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}
        )
        is None
    )


def test_the_option_wins_over_the_environment() -> None:
    environ = {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    assert OtlpTarget.from_settings(environ, "http://c:4318/") == OtlpTarget(
        "http/protobuf", "http://c:4318/v1/traces", "http://c:4318/v1/traces"
    )
    assert OtlpTarget.from_settings({}, "http://c:4317") == OtlpTarget(
        "grpc", "http://c:4317", "http://c:4317"
    )


def test_an_unsupported_protocol_is_refused_with_its_name() -> None:
    with pytest.raises(ForwardingError, match="'http/json' is not supported"):
        OtlpTarget.from_settings({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http://c:4318")


def test_exporters_we_do_not_forward_to_are_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = OtlpTarget.from_settings({"OTEL_TRACES_EXPORTER": "console,otlp,zipkin"})

    assert target == OtlpTarget("grpc", None, "http://localhost:4317")
    assert "OTEL_TRACES_EXPORTER names console, zipkin" in caplog.text


RUNNER_WITHOUT_FLUSH = """
import sqlite3
import sys
from pathlib import Path

from trim_telemetry_otel.roots import TestIdentity, TestOutcome
from trim_telemetry_otel.session import TelemetrySession

session = TelemetrySession.start(Path(sys.argv[1]))
connection = sqlite3.connect(":memory:")
for n in range(3):
    identity = TestIdentity(f"suite::test_{n}", f"test_{n}", None, "suite", None, "unittest")
    test = session.start_test(identity)
    connection.cursor().execute("SELECT 1")
    session.finish_test(test, TestOutcome("passed"))
session.close()
"""


@pytest.mark.parametrize("collector", ["up", "down"])
def test_a_runner_that_never_flushes_still_forwards_at_exit_within_the_budget(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, collector: str
) -> None:
    """What the unittest and Django runners get: the provider's shutdown at interpreter exit."""
    script = pytester.makepyfile(runner=RUNNER_WITHOUT_FLUSH)
    with grpc_receiver() as (endpoint, received):
        if collector == "down":
            endpoint = f"http://127.0.0.1:{closed_port()}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        started = time.perf_counter()
        result = pytester.run(sys.executable, script, pytester.path / "out", timeout=60)
        seconds = time.perf_counter() - started

        assert result.ret == 0
        [path] = run_files(pytester.path / "out")
        assert len(read_records(path)) == 3
        assert seconds < 10
        if collector == "up":
            assert len(received.spans) == 6
            assert not result.stderr.str()
        else:
            assert result.stderr.str().count("could not forward spans") == 1
            assert "Traceback" not in result.stderr.str()


FORKING_RUNNER = """
import os
import sqlite3
import sys
from pathlib import Path

from trim_telemetry_otel.roots import TestIdentity, TestOutcome
from trim_telemetry_otel.session import TelemetrySession

session = TelemetrySession.start(Path(sys.argv[1]))


def run_test(name, queries):
    identity = TestIdentity(f"suite::{name}", name, None, "suite", None, "django")
    test = session.start_test(identity)
    connection = sqlite3.connect(":memory:")
    for _ in range(queries):
        connection.cursor().execute("SELECT 1")
    session.finish_test(test, TestOutcome("passed"))


pid = os.fork()
if pid == 0:  # a worker, as Django's --parallel forks them: it leaves through os._exit
    for n in range(600):  # past a full batch: the child's batch processor would export
        run_test(f"test_in_child_{n}", 1)
    os._exit(0)
os.waitpid(pid, 0)
run_test("test_in_parent", 2)
session.close()
"""


def test_forked_workers_write_their_records_but_forward_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = pytester.makepyfile(runner=FORKING_RUNNER)
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = pytester.run(sys.executable, script, pytester.path / "out", timeout=60)

        assert result.ret == 0, result.stderr.str()
        [path] = run_files(pytester.path / "out")
        assert len(read_records(path)) == 601
        assert {
            span.attributes["trim.test.id"]
            for span in received.spans
            if span.parent_span_id is None
        } == {"suite::test_in_parent"}


def test_the_final_flush_has_a_time_budget_even_for_a_collector_that_answers_slowly() -> None:
    with grpc_receiver(delay=0.4) as (endpoint, received):
        target = OtlpTarget("grpc", endpoint, endpoint)
        forwarding = Forwarding(target, otlp_exporter(target, {}))
        provider = TracerProvider()
        provider.add_span_processor(forwarding)
        tracer = provider.get_tracer("tests")
        for _ in range(2000):
            tracer.start_span("SELECT").end()

        started = time.monotonic()
        flushed = forwarding.flush(budget_s=0.2)
        seconds = time.monotonic() - started

        assert not flushed
        assert seconds < 2, "the batch in flight finishes, then the rest is dropped"
        assert forwarding.failure == "sending the queued spans took longer than 0.2 s"
        assert 0 < forwarding.spans_sent < 2000
        assert forwarding.spans_sent + forwarding.spans_not_sent == 2000
        assert "took longer than 0.2 s" in forwarding.summary()
        provider.shutdown()


UNITTEST_SUITE = """
import sqlite3
import unittest

class Queries(unittest.TestCase):
    def test_queries(self):
        cursor = sqlite3.connect(":memory:").cursor()
        for n in range(4):
            cursor.execute("SELECT ?", (n,))
"""


def test_the_unittest_runner_forwards_and_reports_it_at_the_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_unit=UNITTEST_SUITE)
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = pytester.run(sys.executable, "-m", "trim_telemetry_otel.unittest")

        assert result.ret == 0
        by_name = records(pytester)
        assert by_name["test_queries"]["db_query_count"] == 4
        assert_spans_match_records(received, by_name, f"{pytester.path.name}-tests")
        result.stderr.fnmatch_lines([f"Telemetry: * spans forwarded to {endpoint} (grpc)"])


def test_a_dead_collector_under_the_unittest_runner_is_one_line_not_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_unit=UNITTEST_SUITE)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")

    result = pytester.run(sys.executable, "-m", "trim_telemetry_otel.unittest")

    assert result.ret == 0
    assert records(pytester)["test_queries"]["status"] == "passed"
    output = result.stdout.str() + result.stderr.str()
    assert output.count("not forwarded") == 1, output
    assert "Traceback" not in output
