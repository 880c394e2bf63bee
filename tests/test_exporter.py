"""The ``trim_ndjson`` SpanExporter behind a real BatchSpanProcessor, as the configurator does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from tests.conftest import read_records, run_files
from trim_telemetry_otel import attributes as attr
from trim_telemetry_otel import exporter as exporter_module
from trim_telemetry_otel.exporter import TrimNdjsonExporter
from trim_telemetry_otel.processor import FoldingSpanProcessor
from trim_telemetry_otel.roots import RunningTest
from trim_telemetry_otel.roots import TestIdentity as Identity
from trim_telemetry_otel.roots import TestOutcome as Outcome
from trim_telemetry_otel.schema import TestRecord as Record

RUN_ID = "run_20261121_150000"


@pytest.fixture(autouse=True)
def no_runner_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other tests of this suite attach processors in this process; these tests play a process
    where no runner of ours is active, as under ``opentelemetry-instrument`` with a runner of
    one's own."""
    monkeypatch.setattr(FoldingSpanProcessor, "attached_in_process", False)


class Pipeline:
    """A provider whose only processor is BatchSpanProcessor(TrimNdjsonExporter), as the SDK
    configurator builds it; nothing is exported before :meth:`flush`, so batches mix traces."""

    def __init__(self, directory: Path | None) -> None:
        self.exporter = TrimNdjsonExporter(directory)
        self.batches = BatchSpanProcessor(self.exporter, schedule_delay_millis=60_000)
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.batches)
        self.tracer = self.provider.get_tracer("tests")

    def start(self, name: str, run_id: str = RUN_ID, kind: str = attr.KIND_TEST) -> RunningTest:
        identity = Identity(f"tests/test_x.py::{name}", name, None, "tests.test_x", None, "pytest")
        return RunningTest(self.tracer, identity, run_id, kind)

    def query(self, statement: str = "SELECT 1") -> None:
        attributes = {"db.system": "sqlite", "db.statement": statement, "db.name": "main"}
        with self.tracer.start_as_current_span(
            "SELECT", kind=SpanKind.CLIENT, attributes=attributes
        ):
            pass

    def flush(self) -> None:
        assert self.batches.force_flush()


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    pipeline = Pipeline(tmp_path)
    yield pipeline
    pipeline.provider.shutdown()


def records(directory: Path) -> dict[str, Record]:
    [path] = run_files(directory)
    return {record["name"]: record for record in read_records(path)}  # type: ignore[misc]


def test_interleaved_tests_in_one_batch_fold_into_one_record_each(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    outer = pipeline.start("test_outer")
    pipeline.query("SELECT a FROM outer_table")
    inner = pipeline.start("test_inner")  # its root is current now: a mixed batch follows
    for _ in range(3):
        pipeline.query("SELECT b FROM inner_table WHERE id = 1")
    inner.finish(Outcome("passed"))
    pipeline.query("SELECT a FROM outer_table")
    outer.finish(Outcome("failed", failure_phase="call"))

    pipeline.flush()

    by_name = records(tmp_path)
    assert (by_name["test_inner"]["db_query_count"], by_name["test_outer"]["db_query_count"]) == (
        3,
        2,
    )
    assert by_name["test_inner"]["db_queries"][0]["sql"] == "SELECT b FROM inner_table WHERE id = ?"
    assert by_name["test_outer"]["status"] == "failed"
    assert {r["run_id"] for r in by_name.values()} == {RUN_ID}
    assert (tmp_path / f"{RUN_ID}.ndjson").exists()
    assert pipeline.exporter.open_traces == 0


def test_the_exporter_writes_the_same_record_as_the_in_process_processor(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    class ListSink:
        def __init__(self) -> None:
            self.records: list[Record] = []

        def write(self, record: Record) -> None:
            self.records.append(record)

    sink = ListSink()
    pipeline.provider.add_span_processor(FoldingSpanProcessor(sink))
    test = pipeline.start("test_both")
    for n in range(4):
        pipeline.query(f"SELECT * FROM t WHERE id = {n}")
    test.finish(Outcome("passed"))

    pipeline.flush()

    assert list(records(tmp_path).values()) == sink.records


def test_spans_of_traces_that_are_not_tests_are_dropped_with_their_root(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    with pipeline.tracer.start_as_current_span("migrate", context=Context()):
        for _ in range(100):
            pipeline.query("CREATE TABLE x (id int)")

    pipeline.flush()

    assert pipeline.exporter.open_traces == 0
    assert not run_files(tmp_path)


def test_a_child_that_ends_after_its_test_is_dropped_not_kept(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    test = pipeline.start("test_with_a_thread")
    started, release = threading.Event(), threading.Event()
    test_context = otel_context.get_current()

    def outlives_the_test() -> None:
        with pipeline.tracer.start_as_current_span(
            "SELECT", context=test_context, kind=SpanKind.CLIENT
        ):
            started.set()
            release.wait(5)

    worker = threading.Thread(target=outlives_the_test)
    worker.start()
    started.wait(5)
    test.finish(Outcome("passed"))
    pipeline.flush()
    release.set()
    worker.join()
    pipeline.flush()

    assert records(tmp_path)["test_with_a_thread"]["db_query_count"] == 0
    assert pipeline.exporter.open_traces == 0, "the late child found its trace closed"


def test_children_waiting_for_a_root_are_bounded(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporter_module, "MAX_BUFFERED_SPANS", 10)
    never_ends = pipeline.tracer.start_span("a root that never ends", context=Context())
    with trace.use_span(never_ends):
        for _ in range(8):
            pipeline.query()
    test = pipeline.start("test_after")
    for _ in range(5):
        pipeline.query()
    test.finish(Outcome("passed"))

    pipeline.flush()

    assert pipeline.exporter.spans_dropped == 8, "the oldest trace made room"
    assert records(tmp_path)["test_after"]["db_query_count"] == 5
    assert pipeline.exporter.open_traces == 0


def test_spans_with_a_remote_parent_are_not_buffered(pipeline: Pipeline) -> None:
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with trace.use_span(NonRecordingSpan(remote)):
        pipeline.query()

    pipeline.flush()

    assert pipeline.exporter.open_traces == 0


def test_shared_set_up_goes_to_the_setup_file_only_when_it_did_something(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    idle = pipeline.start("idle[session setup]", kind=attr.KIND_SETUP)
    idle.finish(Outcome("passed"))
    busy = pipeline.start("db[session setup]", kind=attr.KIND_SETUP)
    pipeline.query("CREATE TABLE t (id int)")
    busy.finish(Outcome("passed"))
    pipeline.start("test_a").finish(Outcome("passed"))

    pipeline.flush()

    assert list(records(tmp_path)) == ["test_a"]
    setups = read_records(tmp_path / "setup" / f"{RUN_ID}.ndjson")
    assert [r["name"] for r in setups] == ["db[session setup]"]


def test_directory_and_run_id_come_from_the_environment_when_nothing_else_sets_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIM_TELEMETRY_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("TRIM_TELEMETRY_RUN_ID", "ci-shard-3")
    pipeline = Pipeline(None)  # TrimNdjsonExporter(), as the configurator builds it

    pipeline.start("test_unnamed_run", run_id="").finish(Outcome("passed"))
    pipeline.start("test_named_run", run_id="run_given").finish(Outcome("passed"))
    pipeline.flush()
    pipeline.provider.shutdown()

    [unnamed] = read_records(tmp_path / "from-env" / "ci-shard-3.ndjson")
    assert (unnamed["name"], unnamed["run_id"]) == ("test_unnamed_run", "ci-shard-3")
    [named] = read_records(tmp_path / "from-env" / "run_given.ndjson")
    assert named["run_id"] == "run_given"


def test_roots_that_name_no_run_start_a_new_run_file(pipeline: Pipeline, tmp_path: Path) -> None:
    for name in ("test_a", "test_b"):
        pipeline.start(name, run_id="").finish(Outcome("passed"))

    pipeline.flush()

    [path] = run_files(tmp_path)
    assert {r["run_id"] for r in read_records(path)} == {path.stem}


def test_it_stands_down_where_one_of_our_runners_writes_the_records(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FoldingSpanProcessor, "attached_in_process", True)
    test = pipeline.start("test_a")
    pipeline.query()
    test.finish(Outcome("passed"))

    pipeline.flush()

    assert not run_files(tmp_path)
    assert pipeline.exporter.open_traces == 0


def test_shutdown_closes_the_files_once_and_refuses_later_batches(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start("test_a").finish(Outcome("passed"))
    pipeline.flush()

    pipeline.exporter.shutdown()
    pipeline.exporter.shutdown()

    assert pipeline.exporter.export([]) is SpanExportResult.FAILURE
    assert pipeline.exporter.force_flush()
    assert list(records(tmp_path)) == ["test_a"]


def test_it_is_registered_as_the_trim_ndjson_traces_exporter() -> None:
    [entry_point] = entry_points(group="opentelemetry_traces_exporter", name="trim_ndjson")

    assert entry_point.load() is TrimNdjsonExporter
    assert isinstance(TrimNdjsonExporter(), TrimNdjsonExporter), "built with no arguments"
