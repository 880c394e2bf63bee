"""A test's root span: the start of a new trace that every span the test causes hangs under."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AnyValue, Attributes

from . import attributes as attr
from .messages import outgoing_message
from .schema import Status as TestStatus


@dataclass(frozen=True)
class TestIdentity:
    """What names a test in its record, whatever the framework."""

    id: str
    name: str
    class_name: str | None
    module: str | None
    file: str | None
    framework: str
    function: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class TestOutcome:
    status: TestStatus
    detail: str | None = None
    failure_phase: str | None = None
    failure_type: str | None = None
    failure_message: str | None = None
    skip_reason: str | None = None

    @classmethod
    def raised(cls, error: BaseException, phase: str) -> TestOutcome:
        """A set-up or tear-down step (a shared fixture, a runner's own step) that raised."""
        return cls(
            "error",
            failure_phase=phase,
            failure_type=type(error).__name__,
            failure_message=exception_message(type(error), error),
        )


def exception_message(exc_type: type[BaseException], exc_value: BaseException | None) -> str:
    """``ValueError: bad input``, as a traceback's last line says it."""
    return "".join(traceback.format_exception_only(exc_type, exc_value)).strip()


def result_status(outcome: TestOutcome) -> str:
    """``test.case.result.status``: the well-known ``pass``/``fail`` wherever one applies.

    An error is a test that did not pass (``fail``; ``trim.test.status`` keeps ``error``); a
    skipped test and an expected failure are neither, so they get custom values, as the semantic
    conventions allow.
    """
    if outcome.status == "passed":
        return "pass"
    if outcome.status == "skipped":
        return "xfail" if outcome.detail == "xfailed" else "skipped"
    return "fail"


class RunningTest:
    """Starts a test's root span in a fresh trace and makes it current until :meth:`finish`.

    A fresh trace (never a child of a session span) is what lets the processor tell one test's
    spans from the next one's by trace id alone. Shared set-up work (``kind="setup"``) gets a root
    of its own the same way, but only when something happens under it: most shared fixtures
    (pytest-django's class fixture, which runs around every test) touch neither a database nor the
    network and pass, and their record would be thrown away. Until a span starts under it (or
    anyone asks for its span context), a set-up root is a placeholder in the context; it becomes
    the real span then, started at the time the work started, or at :meth:`finish` when the work
    failed. Its duration is known either way.
    """

    def __init__(
        self,
        tracer: trace.Tracer,
        identity: TestIdentity,
        run_id: str,
        kind: str = attr.KIND_TEST,
        extra_attributes: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.shared_setup_ns = 0
        self._tracer = tracer
        self._identity = identity
        self._run_id = run_id
        self._extra_attributes = extra_attributes
        self._start_ns = time.time_ns()
        self._end_ns: int | None = None
        self._span: trace.Span | None = None
        current: trace.Span
        if kind == attr.KIND_TEST:
            current = self._span = self._start_span()
        else:
            current = _PendingRoot(self)
        self._token: object | None = context.attach(trace.set_span_in_context(current))

    @property
    def span(self) -> trace.Span:
        """The root span; a set-up root that was still pending is started by asking."""
        span = self._span
        if span is None:
            with _materialising:
                span = self._span
                if span is None:
                    span = self._span = self._start_span(self._start_ns)
        return span

    def _start_span(self, start_time: int | None = None) -> trace.Span:
        identity = self._identity
        attributes: dict[str, str | int] = {
            attr.RECORD_KIND: self.kind,
            attr.TEST_ID: identity.id,
            attr.TEST_NAME: identity.name,
            attr.TEST_FRAMEWORK: identity.framework,
            attr.TEST_CASE_NAME: identity.id,
            attr.RUN_ID: self._run_id,
        }
        optional = {
            attr.TEST_CLASS: identity.class_name,
            attr.TEST_MODULE: identity.module,
            attr.TEST_FILE: identity.file,
            attr.TEST_SUITE_NAME: identity.module or identity.file,
            attr.CODE_FUNCTION_NAME: identity.function,
            attr.CODE_FILE_PATH: identity.file,
            attr.CODE_LINE_NUMBER: identity.line,
        }
        for key, value in optional.items():
            if value is not None:
                attributes[key] = value
        if self._extra_attributes:
            attributes.update(self._extra_attributes)
        return self._tracer.start_span(
            identity.id,
            context=Context(),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=start_time,
        )

    def finish(self, outcome: TestOutcome, end_time: int | None = None) -> None:
        """End the test's span with its outcome; ``end_time`` (ns) when it ended earlier."""
        if self._span is None and outcome.status == "passed":
            # Set-up work under which nothing happened, and it passed: no record would be
            # written, so no span is made at all. Its time still counts (duration_ns).
            self._end_ns = end_time if end_time is not None else time.time_ns()
            self.detach()
            return
        span = self.span
        # Scrubbed here, at the source: the record, the forwarded root span and its status all
        # carry the same text (or none, with TRIM_TELEMETRY_MESSAGES=off).
        failure_message = outgoing_message(outcome.failure_message)
        values = {
            attr.TEST_STATUS: outcome.status,
            attr.TEST_STATUS_DETAIL: outcome.detail,
            attr.TEST_FAILURE_PHASE: outcome.failure_phase,
            attr.TEST_FAILURE_TYPE: outcome.failure_type,
            attr.TEST_FAILURE_MESSAGE: failure_message,
            attr.TEST_SKIP_REASON: outgoing_message(outcome.skip_reason),
            attr.TEST_SHARED_SETUP_NS: self.shared_setup_ns or None,
            attr.TEST_CASE_RESULT_STATUS: result_status(outcome),
        }
        span.set_attributes({key: value for key, value in values.items() if value is not None})
        if outcome.status in ("failed", "error"):
            span.set_status(Status(StatusCode.ERROR, failure_message))
        self.detach()
        span.end(end_time)

    def duration_ns(self) -> int:
        """How long the span lasted; 0 until it has ended."""
        span = self._span
        if span is None:
            end = self._end_ns
            return end - self._start_ns if end is not None and end > self._start_ns else 0
        start, end = getattr(span, "start_time", None), getattr(span, "end_time", None)
        return end - start if start is not None and end is not None else 0

    def detach(self) -> None:
        """Stop charging new spans to this test; its span stays open until :meth:`finish`.

        The unittest runners call it at ``stopTest``: Django reports errors of its per-test
        transaction tear-down after that, and the record must still carry them.
        """
        if self._token is not None:
            token, self._token = self._token, None
            # A test that attached a context and never detached it makes this log an error; the
            # root must still end, so the mismatch is not ours to raise.
            context.detach(token)  # type: ignore[arg-type]


# Two threads starting the first span under one pending root must not make two roots.
_materialising = threading.Lock()


class _PendingRoot(trace.Span):
    """Stands in the context for a set-up root not started yet; any use of it starts it.

    The SDK asks the current span for its context when a span starts under it (and propagators
    when they inject a header): that is the moment the real root is needed.
    """

    def __init__(self, root: RunningTest) -> None:
        self._root = root

    def get_span_context(self) -> trace.SpanContext:
        return self._root.span.get_span_context()

    def is_recording(self) -> bool:
        return True  # the real root will be: test roots are always sampled

    def end(self, end_time: int | None = None) -> None:
        self._root.span.end(end_time)

    def set_attributes(self, attributes: Mapping[str, AnyValue]) -> None:
        self._root.span.set_attributes(attributes)

    def set_attribute(self, key: str, value: AnyValue) -> None:
        self._root.span.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        self._root.span.add_event(name, attributes, timestamp)

    def add_link(self, context: trace.SpanContext, attributes: Attributes = None) -> None:
        self._root.span.add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self._root.span.update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self._root.span.set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self._root.span.record_exception(exception, attributes, timestamp, escaped)
