"""The SpanProcessor that folds each finished test's span tree into one record."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import attributes as attr
from .diagnostics import InternalErrors
from .fold import attributes_of, fold_test, is_setup_root, worth_a_setup_record
from .schema import TestRecord


class RecordSink(Protocol):
    def write(self, record: TestRecord) -> None: ...


class _OpenTest:
    """A running test: its run id and the child spans that ended so far."""

    __slots__ = ("children", "run_id")

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.children: list[ReadableSpan] = []


class FoldingSpanProcessor(SpanProcessor):
    """Buffers the spans of each running test by trace id and folds them when the test ends.

    Only traces whose root is a test are buffered: spans of other traces (collection, session
    fixtures, migrations, other plugins' spans) are dropped on arrival, so memory holds just the
    spans of the tests running right now. A child that ends after its test (a thread that outlives
    it) finds no buffer and is dropped: the test's line is already written.

    Processors cannot be removed from a TracerProvider, so one instance lives as long as the process
    and sessions come and go through :meth:`attach` / :meth:`detach`.

    Every span of a running test also gets the run id (``trim.run.id``) when it starts, so that
    whatever receives the raw spans (an OTLP collector) can join them to the run's records; with
    :attr:`tag_children` off (our own provider, nothing forwarded: no one else sees a span) they
    are left as they are.
    """

    #: Set for good once a run attaches to a processor in this process: from then on one of our
    #: runners writes this process's records, and the ``trim_ndjson`` exporter stands down.
    attached_in_process: ClassVar[bool] = False

    def __init__(
        self, sink: RecordSink | None = None, setup_sink: RecordSink | None = None
    ) -> None:
        self._sink = sink
        self._setup_sink = setup_sink
        self._open: dict[int, _OpenTest] = {}  # by trace id
        self.errors = InternalErrors()
        self.records_written = 0
        #: Told of every record written, with its root (forwarding puts the totals on the root).
        self.on_record: Callable[[ReadableSpan, TestRecord], None] | None = None
        #: Put the run id on every span of a running test, not only on its root.
        self.tag_children = True

    def attach(self, sink: RecordSink, setup_sink: RecordSink | None = None) -> None:
        """Send test records to ``sink`` and shared set-up records to ``setup_sink``."""
        FoldingSpanProcessor.attached_in_process = True
        self._open.clear()
        self.records_written = 0
        self.errors = InternalErrors()
        self._setup_sink = setup_sink
        self._sink = sink

    def detach(self) -> None:
        self._sink = None
        self._setup_sink = None
        self._open.clear()

    @property
    def open_tests(self) -> int:
        """Tests whose spans are buffered right now: what the processor holds in memory."""
        return len(self._open)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            if span.parent is not None:
                # Children are the hot path: one dict lookup, and the run id for a test's.
                if self.tag_children:
                    test = self._open.get(span.context.trace_id)
                    if test is not None and test.run_id is not None:
                        span.set_attribute(attr.RUN_ID, test.run_id)
            elif self._sink is not None:
                attributes = attributes_of(span)
                if attr.TEST_ID in attributes:  # a test root, or shared set-up's
                    run_id = attributes.get(attr.RUN_ID)
                    self._open[span.context.trace_id] = _OpenTest(str(run_id) if run_id else None)
        except Exception as error:  # never into the test
            self.errors.record("on_start", error)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        if span.parent is not None:
            # dict.get and list.append are atomic under the GIL, so threads need no lock here.
            test = self._open.get(context.trace_id)
            if test is not None:
                test.children.append(span)
            return
        ended = self._open.pop(context.trace_id, None)
        if ended is None:
            return
        children = ended.children
        try:
            if is_setup_root(span):
                setup_sink = self._setup_sink
                if setup_sink is None:
                    return
                record = fold_test(span, children)
                if not worth_a_setup_record(record, children):
                    return
                setup_sink.write(record)
            elif self._sink is not None:
                record = fold_test(span, children)
                self._sink.write(record)
                self.records_written += 1
            else:
                return
            if self.on_record is not None:
                self.on_record(span, record)
        except Exception as error:  # never into the test
            self.errors.record("writing a test record", error)

    def shutdown(self) -> None:
        self.detach()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Records are written the moment their test ends: there is never anything to flush.
        return True
