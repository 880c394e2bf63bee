"""The process-wide telemetry pipeline: TracerProvider, our processor, the instrumentors."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
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
from .cicd import detect_run_context
from .diagnostics import logger, warn_now
from .forwarding import Forwarding, start_forwarding
from .instrumentation import auto_instrumented, instrument_libraries
from .processor import FoldingSpanProcessor
from .redaction import protect_provider
from .settings import SPAN_LIMITS, check_otel_environment, traces_exporter_names

TRACER_NAME = "trim_telemetry_otel"
DEFAULT_SERVICE_NAME = "trim-telemetry-otel"  # when the working directory has no name


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
    forwarding: Forwarding | None = None  # to an OTLP collector, when asked for
    #: CI and VCS context (``cicd.*``, ``vcs.*``) for every test root span, when the provider is
    #: someone else's and its resource cannot say it.
    root_attributes: Mapping[str, str] = field(default_factory=dict)


_lock = threading.Lock()
_telemetry: Telemetry | None = None
_built_with_endpoint: str | None = None


def get_telemetry(otlp_endpoint: str | None = None, otlp_spans: str | None = None) -> Telemetry:
    """Build the pipeline on first use and return the same one for the life of the process.

    ``otlp_endpoint`` (pytest's ``--telemetry-otlp``) forwards the spans to that collector
    whatever the environment says. Forwarding is settled when the pipeline is built: a runner
    passes it on its first call, before it starts a session.
    """
    global _telemetry, _built_with_endpoint
    with _lock:
        if _telemetry is None:
            _telemetry = _build(otlp_endpoint, otlp_spans)
            _built_with_endpoint = otlp_endpoint
        elif otlp_endpoint is not None and otlp_endpoint != _built_with_endpoint:
            logger.warning(
                "trim-telemetry-otel: OTLP endpoint %s ignored: this process's telemetry pipeline "
                "was set up already",
                otlp_endpoint,
            )
        return _telemetry


def _build(otlp_endpoint: str | None, otlp_spans: str | None = None) -> Telemetry:
    processor = FoldingSpanProcessor()
    run_context = detect_run_context().attributes()
    root_attributes: dict[str, str] = {}
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider) and auto_instrumented():
        # opentelemetry-instrument installed the provider, its exporters and its instrumentors
        # (bound to that provider): join it, or their spans would never reach us. Its resource
        # is fixed, so the run's CI and VCS context goes on each test's root span instead.
        provider, owns = current, False
        root_attributes = {
            key: value for key, value in run_context.items() if key not in _resource_keys(current)
        }
        problems = None
    else:
        # Ours stays private: never the global one. A suite that sets up its own SDK (in
        # conftest, or later in a fixture: set_tracer_provider then still works) keeps its
        # provider and exporters to itself, and our instrumentors' spans stay out of them.
        # Every instrumentor and our tracer are given ours by hand.
        problems = check_otel_environment()
        for message in problems.span_limits:
            warn_now(message)
        # The SDK raises for a bad limit: give it the default for each one that is bad.
        limits = SpanLimits(
            **{
                argument: SpanLimits.UNSET if default is None else default
                for name, (argument, default) in SPAN_LIMITS.items()
                if name in problems.bad_limits
            }
        )
        resource = Resource(run_context).merge(_resource())  # what the user set wins
        provider = TracerProvider(
            resource=resource, sampler=ParentBased(TestRootSampler()), span_limits=limits
        )
        owns = True
    if not owns:
        # The provider's own exporters (opentelemetry-instrument's otlp, the application's) are
        # out of our reach: spans are redacted while they are recorded, before any of them reads
        # them. On our own provider the only way out is our forwarding, which redacts on its
        # batch thread instead, at no cost to the tests.
        protect_provider(provider)
    provider.add_span_processor(processor)
    forwarding = None
    if problems is not None and problems.forwarding and _forwarding_asked(otlp_endpoint):
        # A half-configured exporter would fail later or raise now: forward nothing, say why.
        warn_now(f"spans are not forwarded: {'; '.join(problems.forwarding)}")
    elif owns:
        forwarding = start_forwarding(provider, os.environ, otlp_endpoint, otlp_spans)
        if forwarding is not None:
            processor.on_record = forwarding.volume.record_folded
    elif otlp_endpoint is not None:
        # Whoever set up the provider (opentelemetry-instrument) set up its exporters too, from
        # OTEL_TRACES_EXPORTER: a second OTLP exporter would send every span twice.
        logger.warning(
            "trim-telemetry-otel: OTLP endpoint %s ignored: the tracer provider of this process "
            "was set up by someone else (opentelemetry-instrument?), whose exporters send the "
            "spans (OTEL_TRACES_EXPORTER=otlp,...)",
            otlp_endpoint,
        )
    # Spans leave the process only through forwarding or someone else's provider: without
    # either, the run id on the root is all the record needs.
    processor.tag_children = not owns or forwarding is not None
    instrumented = instrument_libraries(provider)
    tracer = provider.get_tracer(TRACER_NAME)
    return Telemetry(provider, processor, tracer, instrumented, owns, forwarding, root_attributes)


def _resource_keys(provider: TracerProvider) -> frozenset[str]:
    resource = getattr(provider, "resource", None)
    return frozenset(resource.attributes) if resource is not None else frozenset()


def _forwarding_asked(otlp_endpoint: str | None) -> bool:
    """The settings ask for OTLP forwarding (as :mod:`.forwarding` reads them)."""
    names = traces_exporter_names(os.environ)
    if otlp_endpoint is not None:
        return True
    if names is not None:
        return any(name.startswith("otlp") for name in names)
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _resource() -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, else service.name ``<directory>-tests``."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service_name()}))
    return resource


def default_service_name() -> str:
    """``shop-tests`` for a suite run in ``.../shop``: a backend tells projects apart by it."""
    try:
        name = Path.cwd().name
    except OSError:  # the working directory was removed
        name = ""
    return f"{name}-tests" if name else DEFAULT_SERVICE_NAME
