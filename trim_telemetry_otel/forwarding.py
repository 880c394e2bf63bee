"""Forwarding the raw spans to an OpenTelemetry collector over OTLP, beside the NDJSON records.

Switched on by pytest's ``--telemetry-otlp ENDPOINT`` or by the standard variables: a traces
exporter list (``OTEL_TRACES_EXPORTER``) that names ``otlp``, or, when that list is not set, an
OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).
``OTEL_EXPORTER_OTLP_PROTOCOL`` picks ``grpc`` (the default, as in the OpenTelemetry Python SDK) or
``http/protobuf``; the SDK exporters read the other ``OTEL_EXPORTER_OTLP_*`` variables (headers,
certificates, compression) themselves.

A collector that is down or slow must cost a run little and change nothing in it. Each export
gets a short timeout (``EXPORT_TIMEOUT_S`` unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` says otherwise);
the first failed export turns forwarding off for the rest of the process with one warning in our
words instead of the exporter's retry messages and tracebacks; the flush at the end of a run has a
time budget. The NDJSON records never depend on any of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .diagnostics import logger
from .redaction import RedactingExporter
from .settings import EXPORTER_NAME, traces_exporter_names
from .volume import ALL, SpanVolume, VolumeError, spans_mode

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
# OTEL_TRACES_EXPORTER names that mean OTLP, and the protocol each one implies (None: the
# protocol variable decides), as the SDK configurator reads them.
_OTLP_NAMES: dict[str, str | None] = {
    "otlp": None,
    "otlp_proto_grpc": GRPC,
    "otlp_proto_http": HTTP_PROTOBUF,
}
_DEFAULT_ENDPOINTS = {GRPC: "http://localhost:4317", HTTP_PROTOBUF: "http://localhost:4318"}
_TRACES_PATH = "/v1/traces"

EXPORT_TIMEOUT_S = 1.0
# The SDK's default queue (2,048 spans) overflows, silently, under a fast suite whose tests make
# thousands of queries: a span is small, so hold more unless OTEL_BSP_MAX_QUEUE_SIZE says.
QUEUE_SIZE = 32_768
FLUSH_BUDGET_S = 2.0
_REASON_LIMIT = 300


class ForwardingError(ValueError):
    """The settings ask for forwarding in a way we cannot do; the message says why."""


@dataclass(frozen=True)
class OtlpTarget:
    """Where spans go. ``endpoint`` None lets the SDK exporter read the OTEL_* variables."""

    protocol: str
    endpoint: str | None
    shown: str  # the URL, for messages

    @classmethod
    def from_settings(
        cls, environ: Mapping[str, str], endpoint: str | None = None
    ) -> OtlpTarget | None:
        """The target that ``endpoint`` (``--telemetry-otlp``) or the environment asks for."""
        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        )
        names = traces_exporter_names(environ)
        if endpoint is None:
            if names is not None:
                otlp = [name for name in names if name in _OTLP_NAMES]
                ignored = [
                    n for n in names if n not in _OTLP_NAMES and n not in (EXPORTER_NAME, "none")
                ]
                if ignored:
                    logger.warning(
                        "trim-telemetry-otel: OTEL_TRACES_EXPORTER names %s: our runners forward "
                        "spans over OTLP only, so these are ignored",
                        ", ".join(ignored),
                    )
                if not otlp:
                    return None
                protocol = _OTLP_NAMES[otlp[0]] or protocol
            elif not _endpoint_variable(environ):
                return None
        protocol = (protocol or GRPC).strip()
        if protocol not in _DEFAULT_ENDPOINTS:
            raise ForwardingError(
                f"OTLP protocol {protocol!r} is not supported: use {GRPC} or {HTTP_PROTOBUF} "
                "(OTEL_EXPORTER_OTLP_PROTOCOL)"
            )
        if endpoint is not None:
            url = _traces_url(endpoint) if protocol == HTTP_PROTOBUF else endpoint
            return cls(protocol, url, url)
        return cls(protocol, None, _shown_endpoint(environ, protocol))


def _endpoint_variable(environ: Mapping[str, str]) -> str | None:
    return environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def _shown_endpoint(environ: Mapping[str, str], protocol: str) -> str:
    """The URL the SDK exporter will use, following its own rules."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_ENDPOINTS[protocol]
    return _traces_url(base) if protocol == HTTP_PROTOBUF else base


def _traces_url(base: str) -> str:
    """OTLP/HTTP: a base endpoint gets the signal's path, as OTEL_EXPORTER_OTLP_ENDPOINT does."""
    return base if base.rstrip("/").endswith(_TRACES_PATH) else base.rstrip("/") + _TRACES_PATH


def start_forwarding(
    provider: TracerProvider,
    environ: Mapping[str, str],
    endpoint: str | None = None,
    spans: str | None = None,
) -> Forwarding | None:
    """Add a :class:`Forwarding` to ``provider`` if the settings ask for one.

    ``spans`` (pytest's ``--telemetry-otlp-spans``) wins over ``TRIM_TELEMETRY_OTLP_SPANS``.
    Problems are warnings, never errors: forwarding is an extra, the records are the point.
    """
    try:
        target = OtlpTarget.from_settings(environ, endpoint)
        if target is None:
            return None
        mode = spans_mode(environ, spans)
        exporter = otlp_exporter(target, environ)
    except (ForwardingError, VolumeError) as error:
        logger.warning("trim-telemetry-otel: spans are not forwarded: %s", error)
        return None
    queue_size = None if environ.get("OTEL_BSP_MAX_QUEUE_SIZE") else QUEUE_SIZE
    forwarding = Forwarding(target, exporter, mode, queue_size)
    provider.add_span_processor(forwarding)
    return forwarding


def otlp_exporter(target: OtlpTarget, environ: Mapping[str, str]) -> SpanExporter:
    """The SDK's OTLP span exporter for ``target`` (the optional extra ``otlp``)."""
    timeout_set = environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    timeout = None if timeout_set else EXPORT_TIMEOUT_S
    try:
        if target.protocol == GRPC:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )

            return GrpcExporter(endpoint=target.endpoint, timeout=timeout)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter(endpoint=target.endpoint, timeout=timeout)
    except ImportError as error:
        package = "grpc" if target.protocol == GRPC else "http"
        raise ForwardingError(
            f"the OTLP exporter is not installed ({error.name or error}): "
            f"pip install 'trim-telemetry-otel[otlp]' (opentelemetry-exporter-otlp-proto-{package})"
        ) from None


class Forwarding(SpanProcessor):
    """A BatchSpanProcessor around an OTLP exporter, on a short leash.

    Spans are handed over as the collector of any other OpenTelemetry application would receive
    them: test roots with their DB and HTTP children (or the roots alone, see :mod:`.volume`),
    each root with its record's totals as attributes. The exporter only ever sees redacted copies
    (:mod:`.redaction`): the same rules as the records.
    """

    def __init__(
        self,
        target: OtlpTarget,
        exporter: SpanExporter,
        spans: str = ALL,
        queue_size: int | None = QUEUE_SIZE,
    ) -> None:
        self.target = target
        self.volume = SpanVolume(spans)
        #: Log the failure as a warning when it happens. A runner that reports :meth:`summary`
        #: itself (pytest's terminal summary) turns this off, so that the user reads it once.
        self.log_failure = True
        self._exporter = _GuardedExporter(RedactingExporter(exporter), self._failed)
        self._batches = BatchSpanProcessor(self._exporter, max_queue_size=queue_size)
        self._queue_size = queue_size  # None: OTEL_BSP_MAX_QUEUE_SIZE decides
        self._skipped = 0  # spans that ended after forwarding stopped
        self._handed = 0  # spans given to the batch processor
        self._forked_child = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._stop_in_forked_child)

    @property
    def failure(self) -> str | None:
        """Why forwarding stopped, or None while it works."""
        return self._exporter.failure

    @property
    def spans_sent(self) -> int:
        return self._exporter.sent

    @property
    def spans_not_sent(self) -> int:
        """Spans meant for the collector that did not reach it, whatever stopped them: a failed
        export, the queue overflowing (the batch processor drops those silently), the flush's
        time budget, or forwarding having stopped before they ended."""
        return max(self._handed - self._exporter.sent, 0) + self._skipped

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.volume.on_start(span)

    def on_end(self, span: ReadableSpan) -> None:
        selected = self.volume.select(span)
        if selected is None:
            return
        if self._exporter.failure is None and not self._forked_child:
            self._handed += 1
            self._batches.on_end(selected)
        else:
            self._skipped += 1

    def _failed(self, reason: str) -> None:
        if self.log_failure:
            logger.warning(
                "trim-telemetry-otel: could not forward spans to the OTLP collector at %s (%s): "
                "%s. Forwarding is off for the rest of this run; the NDJSON records are complete.",
                self.target.shown,
                self.target.protocol,
                reason,
            )

    def _stop_in_forked_child(self) -> None:
        # A forked worker (Django --parallel, multiprocessing) would export through the gRPC channel
        # or HTTP connections of its parent, which is unsafe after fork(), and it exits through
        # os._exit, which loses whatever the batch processor holds. Its records are complete in
        # the NDJSON file; its spans are not forwarded.
        self._forked_child = True

    def flush(self, budget_s: float = FLUSH_BUDGET_S) -> bool:
        """Send what is queued, giving up (and turning forwarding off) after ``budget_s``."""
        with self._exporter.budget(budget_s):
            self._batches.force_flush()
        return self._exporter.failure is None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.flush(min(timeout_millis / 1000, FLUSH_BUDGET_S))

    def shutdown(self) -> None:
        # The provider's shutdown at exit: the queue's last batches, within the same budget.
        with self._exporter.budget(FLUSH_BUDGET_S):
            self._batches.shutdown()  # type: ignore[no-untyped-call]  # unannotated in the SDK

    def summary(self) -> str:
        where = f"{self.target.shown} ({self.target.protocol})"
        not_sent = self.spans_not_sent
        if self.failure is None and not_sent:
            size = f" ({self._queue_size} spans)" if self._queue_size else ""
            return (
                f"WARNING: {not_sent} of {not_sent + self.spans_sent} spans not forwarded to "
                f"{where}: the export queue{size} was full; raise OTEL_BSP_MAX_QUEUE_SIZE "
                "(the NDJSON records are complete)"
            )
        if self.failure is None:
            return f"{self.spans_sent} spans forwarded to {where}"
        return (
            f"WARNING: spans not forwarded to {where}: {self.failure} "
            f"({self.spans_not_sent} spans not sent; the NDJSON records are complete)"
        )


class _GuardedExporter(SpanExporter):
    """Stops at the first failure, and keeps the wrapped exporter's own log records to itself."""

    def __init__(self, exporter: SpanExporter, on_failure: Callable[[str], None]) -> None:
        self._exporter = exporter
        self._on_failure = on_failure
        self._deadline: float | None = None
        self._budget_s = 0.0
        self._logs = _CapturedLogs()
        self.failure: str | None = None
        self.sent = 0
        self.dropped = 0

    @contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Exports that start after ``seconds`` from now give up instead of waiting."""
        self._deadline, self._budget_s = time.monotonic() + seconds, seconds
        try:
            yield
        finally:
            self._deadline = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        deadline = self._deadline
        if self.failure is None and deadline is not None and time.monotonic() > deadline:
            self._fail(f"sending the queued spans took longer than {self._budget_s:g} s")
        if self.failure is not None:
            self.dropped += len(spans)
            return SpanExportResult.FAILURE
        with self._logs.capture() as heard:
            try:
                result = self._exporter.export(spans)
            except Exception as error:  # a broken exporter must not reach the batch thread
                heard.append(repr(error))
                result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.sent += len(spans)
        else:
            self._fail(heard[-1] if heard else "the export failed")
            self.dropped += len(spans)
        return result

    def _fail(self, reason: str) -> None:
        reason = reason.rstrip(". ")
        if len(reason) > _REASON_LIMIT:
            reason = reason[: _REASON_LIMIT - 1] + "…"
        self.failure = reason
        self._on_failure(reason)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        with self._logs.capture():
            self._exporter.shutdown()


class _CapturedLogs(logging.Filter):
    """Holds back what the OTLP exporter logs while we export: its retries and tracebacks.

    The exporter logs each retry and each failure, some with a traceback, on loggers under
    ``opentelemetry.exporter``. Within :meth:`capture` (on the exporting thread only) those records
    are kept as the failure's reason instead of being printed; anyone else's pass through.
    """

    _PREFIX = "opentelemetry.exporter"

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()
        self._installed: set[str] = set()

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        self._install()
        heard: list[str] = []
        self._local.heard = heard
        try:
            yield heard
        finally:
            self._local.heard = None

    def _install(self) -> None:
        # A filter applies to its own logger only, not to records passed up from children; the
        # exporter modules' loggers exist once they are imported, which they are by now.
        for name in list(logging.root.manager.loggerDict):
            if name.startswith(self._PREFIX) and name not in self._installed:
                logging.getLogger(name).addFilter(self)
                self._installed.add(name)

    def filter(self, record: logging.LogRecord) -> bool:
        heard: list[str] | None = getattr(self._local, "heard", None)
        if heard is None:
            return True
        heard.append(record.getMessage())
        return False
