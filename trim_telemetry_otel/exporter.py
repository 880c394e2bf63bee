"""``OTEL_TRACES_EXPORTER=trim_ndjson``: the records written by an OpenTelemetry SpanExporter.

The SDK configurator (``opentelemetry-instrument``) builds the exporter with no arguments and wraps
it in a BatchSpanProcessor, which hands it batches that mix many traces, in the order the spans
ended: a test's children arrive before its root. So the exporter folds by itself, the same way
:class:`~trim_telemetry_otel.processor.FoldingSpanProcessor` does: children wait by trace id until
their root arrives.

In a process where one of our runners is active (``pytest --telemetry``, the unittest or Django
runner), that runner's in-process processor writes the records — exactly, the moment each test
ends, and without the batch queue, which drops spans when it is full — and this exporter writes
nothing, so that no record is written twice. It writes the records of test roots that some other
code started (a runner of your own built on :class:`~trim_telemetry_otel.roots.RunningTest`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .diagnostics import InternalErrors
from .fold import fold_test, is_setup_root, is_test_root, worth_a_setup_record
from .ndjson import NdjsonWriter
from .processor import FoldingSpanProcessor
from .redaction import protect_provider
from .runs import create_run_file, join_run_file, setup_file_path
from .schema import TestRecord
from .settings import DEFAULT_DIR, EnvSettings

# Children of traces whose root has not arrived yet. Past this many, the oldest trace is dropped:
# a root that never ends (or never reaches us) must not hold memory for the rest of the process.
MAX_BUFFERED_SPANS = 100_000
# Traces folded or dropped recently: a child that ends after its root is dropped, not buffered
# for a root that has already gone by.
MAX_CLOSED_TRACES = 10_000


class TrimNdjsonExporter(SpanExporter):
    """Folds each test's spans into one record and appends it to ``<dir>/<run_id>.ndjson``.

    ``directory`` defaults to ``TRIM_TELEMETRY_DIR``, else ``.telemetry`` in the working
    directory. The run id is the one on the test's root span (``trim.run.id``), else
    ``TRIM_TELEMETRY_RUN_ID``, else a new run's. Shared set-up work (roots with
    ``trim.record.kind = "setup"``) goes to ``<dir>/setup/<run_id>.ndjson``, as with our runners.
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        # The configurator builds its exporters right after installing its provider: the other
        # ones (its own ``otlp``) are out of our reach, so the spans are redacted as they are
        # recorded, before any exporter reads them.
        protect_provider(trace.get_tracer_provider())
        self._directory = Path(directory) if directory is not None else None
        self._lock = threading.Lock()
        self._open: dict[int, list[ReadableSpan]] = {}  # insertion order: oldest trace first
        self._buffered = 0
        self._closed: OrderedDict[int, None] = OrderedDict()  # a bounded set, oldest first
        self._writers: dict[tuple[str, bool], NdjsonWriter] = {}
        self._new_run_id: str | None = None
        self._shut_down = False
        self.errors = InternalErrors()
        self.records_written = 0
        self.spans_dropped = 0

    @property
    def open_traces(self) -> int:
        """Traces whose children wait for their root: what the exporter holds in memory."""
        return len(self._open)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shut_down:
            return SpanExportResult.FAILURE
        if FoldingSpanProcessor.attached_in_process:
            return SpanExportResult.SUCCESS  # our runner wrote these records already
        with self._lock:
            for span in spans:
                try:
                    self._take(span)
                except Exception as error:  # one bad span must not cost the batch
                    self.errors.record("exporting a test record", error)
        return SpanExportResult.SUCCESS

    def _take(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        trace_id = context.trace_id
        parent = span.parent
        if parent is not None:
            # A remote parent's root lives in another process: it never arrives here.
            if parent.is_remote or trace_id in self._closed:
                return
            buffer = self._open.get(trace_id)
            if buffer is None:
                buffer = self._open[trace_id] = []
            buffer.append(span)
            self._buffered += 1
            if self._buffered > MAX_BUFFERED_SPANS:
                self._drop_oldest_trace()
            return
        children = self._open.pop(trace_id, [])
        self._buffered -= len(children)
        self._close(trace_id)
        if not is_test_root(span):
            return
        record = fold_test(span, children)
        if is_setup_root(span):
            if worth_a_setup_record(record, children):
                self._write(record, setup=True)
        else:
            self._write(record, setup=False)
            self.records_written += 1

    def _drop_oldest_trace(self) -> None:
        trace_id = next(iter(self._open))
        dropped = self._open.pop(trace_id)
        self._buffered -= len(dropped)
        self.spans_dropped += len(dropped)
        self._close(trace_id)

    def _close(self, trace_id: int) -> None:
        self._closed[trace_id] = None
        if len(self._closed) > MAX_CLOSED_TRACES:
            self._closed.popitem(last=False)

    def _write(self, record: TestRecord, *, setup: bool) -> None:
        run_id = record["run_id"] or self._run_id_for_unnamed()
        record["run_id"] = run_id
        writer = self._writers.get((run_id, setup))
        if writer is None:
            directory = self._output_directory()
            path = join_run_file(directory, run_id)  # checks the run id is a safe file name
            if setup:
                path = setup_file_path(directory, run_id)
            writer = NdjsonWriter(path, lazy=True, base=directory)  # no link below directory
            self._writers[run_id, setup] = writer
        writer.write(record)

    def _output_directory(self) -> Path:
        if self._directory is None:
            self._directory = EnvSettings.read().directory or Path(DEFAULT_DIR)
        return self._directory

    def _run_id_for_unnamed(self) -> str:
        """The run of test roots that name none: ``TRIM_TELEMETRY_RUN_ID``, else a new one."""
        if self._new_run_id is None:
            env_run_id = EnvSettings.read().run_id
            self._new_run_id = env_run_id or create_run_file(self._output_directory())[0]
        return self._new_run_id

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Each record is written when its root arrives: nothing waits here but unfinished tests.
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            self.spans_dropped += self._buffered
            self._open.clear()
            self._buffered = 0
            for writer in self._writers.values():
                writer.close()
