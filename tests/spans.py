"""Real SDK spans for the unit tests of the fold, the processor and the exporter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from trim_telemetry_otel import attributes as attr


class SpanFactory:
    """Builds span trees through a private TracerProvider and keeps what ended, in end order."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("tests")

    @contextmanager
    def test(self, test_id: str = "tests/test_x.py::test_y", **extra: Any) -> Iterator[trace.Span]:
        attributes = {
            attr.TEST_ID: test_id,
            attr.TEST_NAME: test_id.rsplit("::", 1)[-1],
            attr.TEST_FRAMEWORK: "pytest",
            attr.TEST_FILE: "tests/test_x.py",
            attr.TEST_MODULE: "tests.test_x",
            attr.RUN_ID: "run_20261121_140301",
            attr.TEST_STATUS: "passed",
            **extra,
        }
        with self.tracer.start_as_current_span(
            test_id, context=Context(), attributes=attributes
        ) as span:
            yield span

    def query(self, statement: str, system: str = "sqlite", *, error: bool = False) -> None:
        with self.tracer.start_as_current_span(
            statement.split()[0],
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement, "db.name": "main"},
        ) as span:
            if error:
                span.set_status(Status(StatusCode.ERROR))

    def http(self, url: str, method: str = "GET", status: int = 200, **extra: Any) -> None:
        attributes = {"http.method": method, "http.url": url, "http.status_code": status, **extra}
        with self.tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes):
            pass

    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def root_and_children(self) -> tuple[ReadableSpan, list[ReadableSpan]]:
        spans = self.finished()
        roots = [s for s in spans if s.parent is None]
        assert len(roots) == 1, roots
        return roots[0], [s for s in spans if s.parent is not None]
