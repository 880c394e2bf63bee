"""Which spans are forwarded to the collector, and what a forwarded test root carries.

Backends bill per span, and a suite of a few thousand tests makes hundreds of thousands of query
spans. ``TRIM_TELEMETRY_OTLP_SPANS=roots`` forwards only the root span of each test, which then
carries the record's totals (``trim.db.query_count``…), while the NDJSON records keep every query.
In every mode, a shared set-up root that did nothing (a session fixture without a query, the
common case) is not forwarded: it would be a trace of its own holding one empty span.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import StatusCode

from . import attributes as attr
from .schema import TestRecord

SPANS_ENV = "TRIM_TELEMETRY_OTLP_SPANS"
ALL = "all"
ROOTS = "roots"
MODES = (ALL, ROOTS)


class VolumeError(ValueError):
    """A span volume setting we cannot use; the message names the setting."""


def spans_mode(environ: Mapping[str, str], option: str | None = None) -> str:
    """The mode the pytest option, else ``TRIM_TELEMETRY_OTLP_SPANS``, asks for (``all``)."""
    value = option if option is not None else environ.get(SPANS_ENV)
    if value is None or not value.strip():
        return ALL
    mode = value.strip().lower()
    if mode not in MODES:
        raise VolumeError(f"{SPANS_ENV}={value!r} is not one of {', '.join(MODES)}")
    return mode


def totals_attributes(record: Mapping[str, object]) -> dict[str, int | float]:
    """The record's numbers as root span attributes: ``db_query_count`` → ``trim.db.query_count``.

    Every count and duration of the record goes, including fields added in later schema versions,
    so that a backend can filter test traces on them without the NDJSON file.
    """
    totals: dict[str, int | float] = {}
    for field, value in record.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        prefix, _, rest = field.partition("_")
        if rest:
            totals[f"trim.{prefix}.{rest}"] = value
    return totals


class SpanVolume:
    """Decides, span by span, what is forwarded; fed by the folding processor with each record.

    The folding processor is added to the provider before the forwarding one, so a root's record
    is folded (:meth:`record_folded`) just before the same root reaches :meth:`select`, on the
    same thread.
    """

    def __init__(self, mode: str = ALL) -> None:
        self.mode = mode
        self._setup_traces: dict[int, bool] = {}  # trace id -> had a child span
        self._totals: dict[int, dict[str, int | float]] = {}  # root span id -> its totals

    def on_start(self, span: Span) -> None:
        if span.parent is None and (span.attributes or {}).get(attr.RECORD_KIND) == attr.KIND_SETUP:
            self._setup_traces[span.context.trace_id] = False

    def record_folded(self, root: ReadableSpan, record: TestRecord) -> None:
        if root.context is not None:
            self._totals[root.context.span_id] = totals_attributes(record)

    def select(self, span: ReadableSpan) -> ReadableSpan | None:
        """``span`` as it is to be forwarded, or None when it is not to be."""
        context = span.context
        if context is None:
            return span
        if span.parent is not None:
            if context.trace_id in self._setup_traces:
                self._setup_traces[context.trace_id] = True
            return None if self.mode == ROOTS else span
        had_children = self._setup_traces.pop(context.trace_id, None)
        totals = self._totals.pop(context.span_id, None)
        if had_children is False and span.status.status_code is not StatusCode.ERROR:
            return None
        return with_attributes(span, totals) if totals else span


def with_attributes(span: ReadableSpan, extra: Mapping[str, int | float]) -> ReadableSpan:
    """A copy of a finished span with more attributes: a ReadableSpan is immutable once ended."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={**(span.attributes or {}), **extra},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
