"""Spans leave the process with the same redaction as the records.

What an instrumentor records verbatim is rewritten before any exporter sees it:

- ``db.statement`` / ``db.query.text``: normalised SQL, in the dialect of ``db.system``
  (``db.system.name``); ``db.statement.parameters`` and ``db.query.parameter.*`` are dropped;
  ``db.connection_string`` is scrubbed like a message;
- ``http.url`` / ``url.full`` / ``http.target`` / ``url.path`` / ``url.query``: redacted URLs
  (:func:`~.urls.redact_url`: userinfo, secret query and path parameters, no fragment);
- ``http.request.header.*`` / ``http.response.header.*`` of a secret header (``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``*-Token``, ``*-Key``... by
  :func:`~.urls.is_secret_name`): every value becomes ``REDACTED``;
- messages (``trim.test.failure_message``, ``trim.test.skip_reason``, ``exception.message``, the
  status description): :func:`~.messages.scrub_message`, or dropped when messages are off;
  ``exception.stacktrace`` loses its source lines (:func:`~.messages.scrub_stacktrace`).

Two places apply it. :class:`RedactingExporter` wraps our OTLP exporter: every span it sends is
rebuilt redacted, whatever produced it. :class:`RedactingSpanProcessor` redacts spans while they
are recorded, so that other exporters on the same provider (``opentelemetry-instrument``'s own
``otlp`` exporter) receive them redacted too: at ``on_start`` it redacts the attributes a span
started with and turns the SDK span into a subclass whose setters redact what comes later.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import (
    Event,
    ReadableSpan,
    Span,
    SpanProcessor,
    TracerProvider,
    _Span,
)
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util import types

from .diagnostics import InternalErrors
from .messages import (
    OFF_MODE,
    messages_mode,
    normalize_statement,
    scrub_message,
    scrub_stacktrace,
)
from .urls import REDACTED, is_secret_name, redact_query, redact_url

_SQL = frozenset({"db.statement", "db.query.text"})
_SYSTEM = ("db.system", "db.system.name")
_URLS = frozenset({"http.url", "url.full", "http.target", "url.path"})
_QUERY = "url.query"
_MESSAGES = frozenset({"trim.test.failure_message", "trim.test.skip_reason", "exception.message"})
_STACKTRACE = "exception.stacktrace"
_CONNECTION_STRING = "db.connection_string"
_DROPPED = frozenset({"db.statement.parameters"})
_DROPPED_PREFIX = "db.query.parameter."
_HEADER_PREFIXES = ("http.request.header.", "http.response.header.")
_WATCHED = _SQL | _URLS | _MESSAGES | _DROPPED | {_QUERY, _STACKTRACE, _CONNECTION_STRING}
_PREFIXES = (_DROPPED_PREFIX, *_HEADER_PREFIXES)

_DROP = object()  # the attribute is left out


def _watched(key: str) -> bool:
    return key in _WATCHED or key.startswith(_PREFIXES)


def _redact(key: str, value: Any, system: object) -> Any:
    """The value ``key`` may leave the process with, or ``_DROP``."""
    if key in _DROPPED or key.startswith(_DROPPED_PREFIX):
        return _DROP
    if key.startswith(_HEADER_PREFIXES):
        name = key.partition(".header.")[2]
        if not is_secret_name(name):
            return value
        if isinstance(value, (list, tuple)):
            return tuple(REDACTED for _ in value)
        return REDACTED
    if not isinstance(value, str):
        return value
    if key in _SQL:
        return normalize_statement(value, None if system is None else str(system))
    if key in _URLS:
        return redact_url(value)
    if key == _QUERY:
        return redact_query(value)
    if key == _CONNECTION_STRING:
        return scrub_message(value)
    off = messages_mode() == OFF_MODE
    if key == _STACKTRACE:
        return scrub_stacktrace(value, keep_messages=not off)
    return _DROP if off else scrub_message(value)  # a message


def redact_attributes(
    attributes: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """``attributes`` redacted, or None when none of them needs it (the common case).

    ``context`` holds the span's other attributes: ``db.system`` may have been set earlier.
    """
    if not any(_watched(key) for key in attributes):
        return None
    system = _either(attributes, context)
    redacted: dict[str, Any] = {}
    for key, value in attributes.items():
        if _watched(key):
            value = _redact(key, value, system)
            if value is _DROP:
                continue
        redacted[key] = value
    return redacted


def _either(attributes: Mapping[str, Any], context: Mapping[str, Any] | None) -> object:
    for source in (attributes, context or {}):
        for name in _SYSTEM:
            value = source.get(name)
            if value is not None:
                return value
    return None


def redact_status(status: Status) -> Status:
    if not status.description:
        return status
    off = messages_mode() == OFF_MODE
    return Status(status.status_code, None if off else scrub_message(status.description))


def redact_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` as it may leave the process."""
    attributes = span.attributes or {}
    redacted = redact_attributes(attributes)
    name = span.name
    if _either(attributes, None) is not None:
        # The DB instrumentors name a span after the statement's first word.
        name = normalize_statement(name, str(_either(attributes, None)))
    events = [
        Event(event.name, redact_attributes(event.attributes or {}) or event.attributes,
              event.timestamp)
        for event in span.events
    ]  # fmt: skip
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes if redacted is None else redacted,
        events=events,
        links=span.links,
        kind=span.kind,
        status=redact_status(span.status),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingExporter(SpanExporter):
    """Hands ``exporter`` redacted copies. A span that cannot be redacted is not sent."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter
        self.errors = InternalErrors()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        redacted = []
        for span in spans:
            try:
                redacted.append(redact_span(span))
            except Exception as error:  # fail closed: never the raw span
                self.errors.record("redacting a span", error)
        return self._exporter.export(redacted)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._exporter.shutdown()


_span_errors = InternalErrors()


class _RedactingSpan(_Span):
    """An SDK span whose setters redact: what any processor or exporter reads is redacted.

    The instrumentors call these setters on the test's thread without a guard, so a failure to
    redact is counted and the value left out: it must neither raise nor leak.
    """

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        try:
            if _watched(key):
                value = _redact(key, value, _either({}, self._attributes))
                if value is _DROP:
                    return
            elif key in _SYSTEM and isinstance(value, str):
                super().update_name(normalize_statement(self._name, value))
        except Exception as error:
            _span_errors.record("redacting an attribute", error)
            return
        super().set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        try:
            system = _either(attributes, None)
            if system is not None:
                super().update_name(normalize_statement(self._name, str(system)))
            redacted = redact_attributes(attributes, self._attributes)
        except Exception as error:
            _span_errors.record("redacting attributes", error)
            redacted = {key: value for key, value in attributes.items() if not _watched(key)}
        super().set_attributes(attributes if redacted is None else redacted)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if attributes:
            try:
                attributes = redact_attributes(attributes) or attributes
            except Exception as error:
                _span_errors.record("redacting an event", error)
                attributes = {key: value for key, value in attributes.items() if not _watched(key)}
        super().add_event(name, attributes, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        try:
            if isinstance(status, Status):
                status = redact_status(status)
            elif description:
                description = redact_status(Status(status, description)).description
        except Exception as error:
            _span_errors.record("redacting a status", error)
            code = status.status_code if isinstance(status, Status) else status
            status, description = Status(code), None
        super().set_status(status, description)


class RedactingSpanProcessor(SpanProcessor):
    """Redacts every span of the provider while it is recorded (see the module docstring)."""

    def __init__(self) -> None:
        self.errors = InternalErrors()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            if type(span) is _Span:
                # Same layout, no state of its own: only the methods change.
                span.__class__ = _RedactingSpan
            attributes = span.attributes
            if attributes and any(_watched(key) for key in attributes):
                redacted = redact_attributes(attributes) or {}
                recorded = span._attributes
                if isinstance(recorded, MutableMapping):
                    for key in [key for key in attributes if key not in redacted]:
                        del recorded[key]
                _Span.set_attributes(span, redacted)
        except Exception as error:  # never into the test
            self.errors.record("redacting a span", error)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_protected: weakref.WeakSet[TracerProvider] = weakref.WeakSet()
_protected_lock = threading.Lock()


def protect_provider(provider: object) -> bool:
    """Add a :class:`RedactingSpanProcessor` to an SDK ``provider`` once; whether it has one."""
    if not isinstance(provider, TracerProvider):
        return False
    with _protected_lock:
        if provider not in _protected:
            provider.add_span_processor(RedactingSpanProcessor())
            _protected.add(provider)
    return True
