"""Under ``opentelemetry-instrument``: the SDK configurator builds the pipeline from OTEL_* values.

Each run is a subprocess, as a user would start it: the configurator runs from ``sitecustomize``
before pytest, installs its own TracerProvider and instrumentors, and builds ``trim_ndjson``
through its entry point.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_records, run_files
from tests.otlp_receivers import closed_port, grpc_receiver

INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")

SUITE = """
import sqlite3

def test_queries():
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE item (id INTEGER)")
    for n in range(4):
        cursor.execute("INSERT INTO item VALUES (?)", (n,))
    connection.close()

def test_nothing():
    pass

def test_fails():
    assert False
"""

# A runner of one's own: test roots through the public RunningTest, no runner of ours, so the
# trim_ndjson exporter is what writes the records. Enough spans for several mixed batches.
OWN_RUNNER = """
import sqlite3

from opentelemetry import trace

from trim_telemetry_otel.roots import RunningTest, TestIdentity, TestOutcome

tracer = trace.get_tracer("my-runner")
connection = sqlite3.connect(":memory:")
cursor = connection.cursor()
cursor.execute("CREATE TABLE item (id INTEGER)")
for n in range(40):
    name = f"test_{n}"
    identity = TestIdentity(f"suite.py::{name}", name, None, "suite", "suite.py", "unittest")
    test = RunningTest(tracer, identity, "run_own")
    for i in range(n):
        cursor.execute("INSERT INTO item VALUES (?)", (i,))
    test.finish(TestOutcome("passed" if n % 7 else "failed"))
"""


def instrument_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment for ``opentelemetry-instrument`` (skips if the distro is missing)."""
    if not INSTRUMENT.exists():
        pytest.skip("opentelemetry-distro is not installed")
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRIM_TELEMETRY")):
            monkeypatch.delenv(name)
    # Only traces: the distro would also start OTLP metrics and logs exporters.
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")


@pytest.fixture(autouse=True)
def _instrument_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    instrument_environment(monkeypatch)


def instrumented(pytester: pytest.Pytester, *command: str) -> pytest.RunResult:
    return pytester.run(str(INSTRUMENT), sys.executable, *command, timeout=120)


def only_records(directory: Path) -> dict[str, dict[str, Any]]:
    """The records of the only run file under ``directory``, checking no test has two."""
    [path] = run_files(directory)
    records = read_records(path)
    by_name = {record["name"]: record for record in records}
    assert len(by_name) == len(records), "a test was written twice"
    return by_name


def test_trim_ndjson_switches_the_plugin_on_and_each_test_is_written_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "trim_ndjson")

    result = instrumented(pytester, "-m", "pytest", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=1)
    records = only_records(pytester.path / ".telemetry")
    assert set(records) == {"test_queries", "test_nothing", "test_fails"}
    assert records["test_queries"]["db_query_count"] == 5
    assert records["test_fails"]["status"] == "failed"
    assert len(list((pytester.path / ".telemetry").rglob("*.ndjson"))) == 1


def test_otlp_and_trim_ndjson_send_each_span_once_and_write_each_record_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,trim_ndjson")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "instrumented-suite")
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = instrumented(pytester, "-m", "pytest", "-p", "no:cacheprovider", "--telemetry")

        result.assert_outcomes(passed=2, failed=1)
        records = only_records(pytester.path / ".telemetry")
        traces = received.by_trace()
        assert len({span.span_id for span in received.spans}) == len(received.spans), "sent twice"
        for record in records.values():
            spans = traces[record["trace_id"]]
            [root] = [span for span in spans if span.parent_span_id is None]
            assert root.name == record["id"]
            assert len(spans) == 1 + record["db_query_count"]
            assert {span.attributes["trim.run.id"] for span in spans} == {record["run_id"]}
            assert {span.resource["service.name"] for span in spans} == {"instrumented-suite"}
        # The configurator's exporter sent them: our runner adds no second one.
        assert "spans forwarded to" not in result.stdout.str()


def test_telemetry_otlp_is_left_to_the_configurator_that_owns_the_provider(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "trim_ndjson")
    endpoint = f"http://127.0.0.1:{closed_port()}"

    result = instrumented(
        pytester, "-m", "pytest", "-p", "no:cacheprovider", "--telemetry-otlp", endpoint
    )

    result.assert_outcomes(passed=2, failed=1)
    assert len(only_records(pytester.path / ".telemetry")) == 3
    result.stderr.fnmatch_lines(
        [f"*OTLP endpoint {endpoint} ignored: the tracer provider of this process was set up by*"]
    )


def test_trim_telemetry_0_keeps_everything_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "trim_ndjson")
    monkeypatch.setenv("TRIM_TELEMETRY", "0")

    result = instrumented(pytester, "-m", "pytest", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=1)
    assert not (pytester.path / ".telemetry").exists()


def test_a_runner_of_ones_own_gets_its_records_from_the_exporter(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = pytester.path / "own_runner.py"
    script.write_text(textwrap.dedent(OWN_RUNNER))
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "trim_ndjson")
    monkeypatch.setenv("TRIM_TELEMETRY_DIR", str(pytester.path / "out"))

    result = instrumented(pytester, str(script))

    assert result.ret == 0, result.stderr.str()
    records = only_records(pytester.path / "out")
    assert len(records) == 40
    assert all(records[f"test_{n}"]["db_query_count"] == n for n in range(40))
    assert records["test_7"]["status"] == "failed"
    assert {record["run_id"] for record in records.values()} == {"run_own"}
    assert (pytester.path / "out" / "run_own.ndjson").exists()
