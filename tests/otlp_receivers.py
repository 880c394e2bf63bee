"""Real OTLP receivers on 127.0.0.1 for the forwarding tests: gRPC and HTTP (protobuf).

Both decode what arrives with opentelemetry-proto, as a collector would, and keep the spans
flattened to plain values. Nothing here knows our exporter: they speak the OTLP wire protocol.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.http_servers import QuietHandler, serving


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str  # 32 hex digits, as in the NDJSON records
    span_id: str
    parent_span_id: str | None
    name: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    status_message: str = ""


class Received:
    """What a receiver got, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.spans: list[ReceivedSpan] = []
        self.raw: list[bytes] = []  # every request as it came over the wire, decompressed

    def add(
        self, request: trace_service_pb2.ExportTraceServiceRequest, raw: bytes | None = None
    ) -> None:
        spans = [
            ReceivedSpan(
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex() or None,
                name=span.name,
                attributes=_values(span.attributes),
                resource=_values(resource_spans.resource.attributes),
                events=tuple((event.name, _values(event.attributes)) for event in span.events),
                status_message=span.status.message,
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self.requests += 1
            self.spans.extend(spans)
            self.raw.append(request.SerializeToString() if raw is None else raw)

    def by_trace(self) -> dict[str, list[ReceivedSpan]]:
        traces: dict[str, list[ReceivedSpan]] = {}
        for span in self.spans:
            traces.setdefault(span.trace_id, []).append(span)
        return traces

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def _values(attributes: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in attributes if isinstance(kv, KeyValue)}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received: Received, delay: float) -> None:
        self.received = received
        self.delay = delay

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        time.sleep(self.delay)
        self.received.add(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@contextmanager
def grpc_receiver(delay: float = 0.0) -> Iterator[tuple[str, Received]]:
    """An OTLP/gRPC TraceService that answers each request after ``delay`` seconds; yields its
    endpoint (``http://127.0.0.1:PORT``)."""
    received = Received()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    service = _TraceService(received, delay)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.stop(grace=None)


class _OtlpHttpHandler(QuietHandler):
    received: Received

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.received.add(request, body)
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.reply(200, answer, "application/x-protobuf")


@contextmanager
def http_receiver() -> Iterator[tuple[str, Received]]:
    """An OTLP/HTTP endpoint; yields its base URL (``http://127.0.0.1:PORT``)."""
    received = Received()
    handler = type("Handler", (_OtlpHttpHandler,), {"received": received})
    with serving(handler) as url:
        yield url, received


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_receiver() -> Iterator[str]:
    """A collector that hangs: the kernel completes the TCP handshake, nothing ever answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
