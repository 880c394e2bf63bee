"""The process-wide telemetry pipeline: TracerProvider, our processor, the instrumentors."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from . import attributes as attr
from .instrumentation import instrument_libraries
from .processor import FoldingSpanProcessor

TRACER_NAME = "trim_telemetry_otel"
DEFAULT_SERVICE_NAME = "trim-telemetry-otel"


class TestRootSampler(Sampler):
    """Records a new trace only when its root is a test.

    Work outside any test (collection, migrations, session fixtures) would otherwise cost a full
    span per query only to be dropped by the processor; dropping it here is cheaper.
    """

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if attributes and attr.TEST_ID in attributes:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "TestRootSampler"


@dataclass(frozen=True)
class Telemetry:
    provider: TracerProvider
    processor: FoldingSpanProcessor
    tracer: trace.Tracer
    instrumented: tuple[str, ...]
    owns_provider: bool


_lock = threading.Lock()
_telemetry: Telemetry | None = None


def get_telemetry() -> Telemetry:
    """Build the pipeline on first use and return the same one for the life of the process."""
    global _telemetry
    with _lock:
        if _telemetry is None:
            _telemetry = _build()
        return _telemetry


def _build() -> Telemetry:
    processor = FoldingSpanProcessor()
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        # Someone (opentelemetry-instrument, the application) installed an SDK provider already:
        # set_tracer_provider would only log a warning, so join theirs.
        provider, owns = current, False
    else:
        provider = TracerProvider(resource=_resource(), sampler=ParentBased(TestRootSampler()))
        trace.set_tracer_provider(provider)
        owns = True
        # A non-SDK provider set explicitly (set_tracer_provider refuses a second one) still
        # leaves ours usable: every instrumentor below is given it by hand.
    provider.add_span_processor(processor)
    instrumented = instrument_libraries(provider)
    tracer = provider.get_tracer(TRACER_NAME)
    return Telemetry(provider, processor, tracer, instrumented, owns)


def _resource() -> Resource:
    resource_env = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    explicit = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in resource_env
    return Resource.create({} if explicit else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
