"""Span redaction: the copies our exporter sends, and spans redacted while they are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from trim_telemetry_otel.messages import set_messages_mode
from trim_telemetry_otel.redaction import (
    RedactingExporter,
    RedactingSpanProcessor,
    redact_attributes,
)

MARK = "zqSECRETzq"

RAW = {
    "db.system": "postgresql",
    "db.statement": f"SELECT * FROM person WHERE email = '{MARK}' AND n = 42",
    "db.query.text": f"SELECT '{MARK}'",
    "db.statement.parameters": f"('{MARK}',)",
    "db.query.parameter.0": MARK,
    "db.connection_string": f"postgresql://app:{MARK}@db/app",
    "http.url": f"http://u:{MARK}@h/p?token={MARK}&page=2#{MARK}",
    "url.full": f"http://h/p;jsessionid={MARK}?api_key={MARK}",
    "url.query": f"page=2&access_token={MARK}",
    "http.target": f"/p?password={MARK}",
    "url.path": f"/p;sid={MARK}",
    "http.request.header.authorization": (f"Bearer {MARK}",),
    "http.request.header.proxy_authorization": (f"Basic {MARK}",),
    "http.request.header.cookie": (f"a={MARK}", f"b={MARK}"),
    "http.response.header.set_cookie": (f"s={MARK}",),
    "http.request.header.x_auth_token": (MARK,),
    "http.request.header.x_api_key": (MARK,),
    "http.request.header.accept": ("application/json",),
    "trim.test.failure_message": f"ValueError: see http://h/?token={MARK}",
    "server.address": "db",
}

EXPECTED = {
    "db.system": "postgresql",
    "db.statement": "SELECT * FROM person WHERE email = ? AND n = ?",
    "db.query.text": "SELECT ?",
    "db.connection_string": "postgresql://REDACTED:REDACTED@db/app",
    "http.url": "http://REDACTED:REDACTED@h/p?token=REDACTED&page=2",
    "url.full": "http://h/p;jsessionid=REDACTED?api_key=REDACTED",
    "url.query": "page=2&access_token=REDACTED",
    "http.target": "/p?password=REDACTED",
    "url.path": "/p;sid=REDACTED",
    "http.request.header.authorization": ("REDACTED",),
    "http.request.header.proxy_authorization": ("REDACTED",),
    "http.request.header.cookie": ("REDACTED", "REDACTED"),
    "http.response.header.set_cookie": ("REDACTED",),
    "http.request.header.x_auth_token": ("REDACTED",),
    "http.request.header.x_api_key": ("REDACTED",),
    "http.request.header.accept": ("application/json",),
    "trim.test.failure_message": "ValueError: see http://h/?token=REDACTED",
    "server.address": "db",
}


def test_every_secret_carrying_attribute_is_redacted_and_the_rest_kept() -> None:
    assert redact_attributes(RAW) == EXPECTED


def test_attributes_that_need_nothing_are_not_copied() -> None:
    assert redact_attributes({"db.system": "sqlite", "server.port": 5432}) is None


@pytest.fixture
def recorded() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A provider with our redacting processor first and, after it, someone else's exporter."""
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor())
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()
    set_messages_mode(None)


def _raise_in_span(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as span:
        span.set_attributes({"db.system": "mysql", "db.statement": f"SELECT '{MARK}'"})
        span.set_attribute("http.url", f"http://h/?sig={MARK}")
        span.add_event("retry", {"url.full": f"http://h/?token={MARK}", "n": 1})
        raise ValueError(f"Duplicate entry '{MARK}' for key 'email' at http://h/?token={MARK}")


def test_other_exporters_on_the_provider_only_ever_see_redacted_spans(
    recorded: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = recorded
    tracer = provider.get_tracer("tests")
    tracer.start_span("GET", attributes={"url.full": f"http://h/?token={MARK}"}).end()
    with pytest.raises(ValueError):
        _raise_in_span(provider)

    started, raised = memory.get_finished_spans()
    assert MARK not in repr(_everything(started)) + repr(_everything(raised))
    assert started.attributes == {"url.full": "http://h/?token=REDACTED"}
    assert raised.attributes == {
        "db.system": "mysql",
        "db.statement": "SELECT ?",
        "http.url": "http://h/?sig=REDACTED",
    }
    retry, exception = raised.events
    assert retry.attributes == {"url.full": "http://h/?token=REDACTED", "n": 1}
    assert exception.attributes is not None
    assert exception.attributes["exception.message"] == (
        "Duplicate entry '?' for key 'email' at http://h/?token=REDACTED"
    )
    assert 'File "' in str(exception.attributes["exception.stacktrace"])
    assert raised.status.description == (
        "ValueError: Duplicate entry '?' for key 'email' at http://h/?token=REDACTED"
    )


def test_with_messages_off_exceptions_keep_their_type_and_frames_only(
    recorded: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = recorded
    set_messages_mode("off")
    with pytest.raises(ValueError):
        _raise_in_span(provider)

    [raised] = memory.get_finished_spans()
    [exception] = [event for event in raised.events if event.name == "exception"]
    assert exception.attributes is not None
    assert "exception.message" not in exception.attributes
    assert exception.attributes["exception.type"] == "ValueError"
    stacktrace = str(exception.attributes["exception.stacktrace"])
    assert stacktrace.startswith("Traceback") and "Duplicate" not in stacktrace
    assert raised.status.status_code is StatusCode.ERROR and raised.status.description is None


def _everything(span: ReadableSpan) -> object:
    return (span.name, dict(span.attributes or {}), [
        (event.name, dict(event.attributes or {})) for event in span.events
    ], span.status.description)  # fmt: skip


class _Memory(InMemorySpanExporter):
    pass


def test_the_exporter_wrapper_sends_redacted_copies_of_spans_recorded_raw() -> None:
    provider = TracerProvider()  # no redacting processor: the spans are recorded raw
    memory = _Memory()
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(memory)))
    span = provider.get_tracer("tests").start_span("INSERT", attributes=RAW)
    span.record_exception(RuntimeError(f"password={MARK}"))
    span.set_status(Status(StatusCode.ERROR, f"Key (email)=({MARK}) already exists."))
    span.end()

    [sent] = memory.get_finished_spans()
    assert MARK not in repr(_everything(sent))
    assert dict(sent.attributes or {}) == EXPECTED
    assert sent.status.description == "Key (email)=(?) already exists."
    assert (sent.context, sent.parent, sent.kind, sent.start_time, sent.end_time) == (
        span.context,
        span.parent,
        span.kind,
        span.start_time,
        span.end_time,
    )
    provider.shutdown()


def test_a_span_that_cannot_be_redacted_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    memory = _Memory()
    exporter = RedactingExporter(memory)
    provider = TracerProvider()
    span = provider.get_tracer("tests").start_span("GET", attributes={"url.full": "http://h/"})
    span.end()

    def broken(url: str) -> str:
        raise RuntimeError("broken")

    monkeypatch.setattr("trim_telemetry_otel.redaction.redact_url", broken)
    exporter.export([span])  # type: ignore[list-item]  # a Span is a ReadableSpan

    assert memory.get_finished_spans() == ()
    assert exporter.errors.count == 1


def test_a_redaction_failure_while_recording_never_reaches_the_test(
    recorded: tuple[TracerProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, memory = recorded

    def broken(statement: str, system: str | None = None) -> str:
        raise RuntimeError("broken")

    monkeypatch.setattr("trim_telemetry_otel.redaction.normalize_statement", broken)
    with provider.get_tracer("tests").start_as_current_span("SELECT") as span:
        span.set_attribute("db.statement", f"SELECT '{MARK}'")
        span.set_attributes({"db.query.text": f"SELECT '{MARK}'", "n": 1})

    [recorded_span] = memory.get_finished_spans()
    assert recorded_span.attributes == {"n": 1}, "left out, not leaked"
