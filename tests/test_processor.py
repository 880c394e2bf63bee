"""The folding SpanProcessor on a real SDK TracerProvider."""

from __future__ import annotations

import threading

from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider

from tests.spans import SpanFactory
from trim_telemetry_otel import attributes as attr
from trim_telemetry_otel.processor import FoldingSpanProcessor
from trim_telemetry_otel.schema import TestRecord as Record


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)


class BrokenSink:
    def write(self, record: Record) -> None:
        raise OSError("disk full")


def pipeline() -> tuple[SpanFactory, FoldingSpanProcessor, ListSink, ListSink]:
    spans = SpanFactory()
    tests, setups = ListSink(), ListSink()
    processor = FoldingSpanProcessor()
    processor.attach(tests, setups)
    spans.provider.add_span_processor(processor)
    return spans, processor, tests, setups


def test_each_test_root_becomes_one_record_with_its_own_queries() -> None:
    spans, processor, sink, _ = pipeline()
    for n in range(3):
        with spans.test(f"t.py::test_{n}"):
            for _ in range(n):
                spans.query("SELECT 1")

    assert [(r["name"], r["db_query_count"]) for r in sink.records] == [
        ("test_0", 0),
        ("test_1", 1),
        ("test_2", 2),
    ]
    assert processor.open_tests == 0, "nothing is kept after the fold"


def test_spans_outside_any_test_are_dropped_on_arrival() -> None:
    spans, processor, sink, _ = pipeline()
    with spans.tracer.start_as_current_span("migrate", context=Context()):
        for _ in range(1000):
            spans.query("CREATE TABLE x (id int)")
        assert processor.open_tests == 0

    assert sink.records == []


def test_a_failing_sink_never_raises_into_the_test() -> None:
    spans = SpanFactory()
    processor = FoldingSpanProcessor()
    processor.attach(BrokenSink())
    spans.provider.add_span_processor(processor)

    with spans.test():
        spans.query("SELECT 1")

    assert processor.errors.count == 1
    assert processor.open_tests == 0


def test_a_detached_processor_records_nothing() -> None:
    spans, processor, sink, _ = pipeline()
    processor.detach()

    with spans.test():
        spans.query("SELECT 1")

    assert sink.records == []
    assert processor.open_tests == 0


def test_concurrent_tests_on_many_threads_keep_their_own_queries() -> None:
    spans, processor, sink, _ = pipeline()
    barrier = threading.Barrier(8)

    def run(n: int) -> None:
        barrier.wait()
        with spans.test(f"t.py::test_{n}"):
            for _ in range(50 + n):
                spans.query(f"SELECT {n}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    counts = {r["name"]: r["db_query_count"] for r in sink.records}
    assert counts == {f"test_{n}": 50 + n for n in range(8)}
    assert processor.open_tests == 0


def test_a_child_that_ends_after_its_test_is_dropped_not_charged_to_the_next() -> None:
    spans, processor, sink, _ = pipeline()
    with spans.test("t.py::test_first"):
        late = spans.tracer.start_span(
            "SELECT", attributes={"db.system": "sqlite", "db.statement": "SELECT late"}
        )
    with spans.test("t.py::test_second"):
        late.end()
        spans.query("SELECT own")

    assert [[q["sql"] for q in r["db_queries"]] for r in sink.records] == [[], ["SELECT own"]]
    assert processor.open_tests == 0


def test_setup_roots_go_to_the_setup_sink_only_when_they_did_something() -> None:
    spans, _, tests, setups = pipeline()
    with spans.test("t.py::db[session setup]", **{attr.RECORD_KIND: attr.KIND_SETUP}):
        spans.query("CREATE TABLE t (id int)")
    with spans.test("t.py::idle[session setup]", **{attr.RECORD_KIND: attr.KIND_SETUP}):
        pass
    with spans.test("t.py::broken[session setup]", **{attr.RECORD_KIND: attr.KIND_SETUP}) as s:
        s.set_attribute(attr.TEST_STATUS, "error")

    assert tests.records == []
    assert [r["name"] for r in setups.records] == ["db[session setup]", "broken[session setup]"]


def test_force_flush_and_shutdown_are_idempotent() -> None:
    provider = TracerProvider()
    processor = FoldingSpanProcessor(ListSink())
    provider.add_span_processor(processor)

    assert processor.force_flush() and processor.force_flush()
    processor.shutdown()
    processor.shutdown()


def test_children_carry_the_run_id_unless_no_one_else_sees_them() -> None:
    for tag_children in (True, False):
        spans, processor, sink, _ = pipeline()
        processor.tag_children = tag_children
        with spans.test():
            spans.query("SELECT 1")

        (child,) = [s for s in spans.finished() if s.parent is not None]
        assert (attr.RUN_ID in (child.attributes or {})) is tag_children
        assert sink.records[0]["run_id"] == "run_20261121_140301"
        assert sink.records[0]["db_query_count"] == 1
