"""Time a test spends asleep: a span per ``time.sleep`` / ``asyncio.sleep`` with a positive delay.

The span is a child of whatever is current, so a sleep on a thread the test started (which
carries the test's context) counts for the test, and one in another test's thread does not. The
wrappers replace the module attributes: code that calls ``time.sleep(…)`` or
``asyncio.sleep(…)`` is seen; a ``from time import sleep`` made before telemetry started keeps
the original and is not. A test that patches ``time.sleep`` replaces the wrapper for as long as
its patch lasts, which is exactly what it asked for. ``sleep(0)`` (a yield, not a wait) makes no
span. The wrapper never changes what the call does: any failure of ours is swallowed and the
original sleep runs.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from . import attributes as attr

_tracer: trace.Tracer | None = None


class SleepInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        global _tracer
        _tracer = trace.get_tracer(__name__, tracer_provider=kwargs.get("tracer_provider"))
        time.sleep = _sleep(time.sleep)  # type: ignore[assignment]
        asyncio.sleep = _async_sleep(asyncio.sleep)

    def _uninstrument(self, **kwargs: Any) -> None:
        time.sleep = getattr(time.sleep, "__wrapped__", time.sleep)
        asyncio.sleep = getattr(asyncio.sleep, "__wrapped__", asyncio.sleep)


def _recording(delay: object) -> trace.Tracer | None:
    """The tracer to record this sleep with, or None when it is not worth a span."""
    try:
        if _tracer is None or not trace.get_current_span().is_recording():
            return None
        return _tracer if isinstance(delay, (int, float)) and delay > 0 else None
    except Exception:
        return None


def _sleep(original: Callable[[float], None]) -> Callable[[float], None]:
    @functools.wraps(original)
    def sleep(seconds: float) -> None:
        tracer = _recording(seconds)
        if tracer is None:
            return original(seconds)
        with tracer.start_as_current_span(
            "sleep", attributes={attr.SLEEP: True}, record_exception=False
        ):
            return original(seconds)

    return sleep


def _async_sleep(
    original: Callable[..., Coroutine[Any, Any, Any]],
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(original)
    async def sleep(delay: float, result: Any = None) -> Any:
        tracer = _recording(delay)
        if tracer is None:
            return await original(delay, result)
        with tracer.start_as_current_span(
            "asyncio.sleep", attributes={attr.SLEEP: True}, record_exception=False
        ):
            return await original(delay, result)

    return sleep
