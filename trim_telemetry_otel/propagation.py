"""Whether the HTTP instrumentors may add trace headers to the requests a test sends.

The stock requests, urllib3, urllib and httpx instrumentors inject ``traceparent`` (and
``baggage``) through the global propagator into every outgoing request, mocked or real: header-echo
assertions, ``responses`` strict header matchers, CLI output and chunked-body sizes change. While
tests run nothing is injected, unless the user asks for it: ``TRIM_TELEMETRY_PROPAGATE=1``, or an
``OTEL_PROPAGATORS`` they set themselves (``TRIM_TELEMETRY_PROPAGATE=0`` wins over it).

Only the instrumentors' own injection is gated: a test calling ``opentelemetry.propagate.inject``
itself gets the global propagator as always.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from opentelemetry import propagate
from opentelemetry.propagators.textmap import default_setter

from .settings import PROPAGATE_ENV, parse_flag

OTEL_PROPAGATORS_ENV = "OTEL_PROPAGATORS"

_wanted = False


def propagation_wanted(environ: Mapping[str, str]) -> bool:
    """Raises SettingsError (naming the variable) for a value that is not a boolean."""
    value = environ.get(PROPAGATE_ENV, "").strip()
    if value:
        return parse_flag(PROPAGATE_ENV, value)
    return bool(environ.get(OTEL_PROPAGATORS_ENV, "").strip())


def set_propagation(wanted: bool) -> None:
    """Switch the instrumentors' injection on or off for the whole process, from now on."""
    global _wanted
    _wanted = wanted


def propagating() -> bool:
    return _wanted


def _inject(carrier: Any, context: Any = None, setter: Any = default_setter) -> None:
    if _wanted:
        propagate.inject(carrier, context, setter)


def gate_injection(module: ModuleType) -> bool:
    """Route an instrumentor module's ``inject`` through the switch; False if it has none."""
    if getattr(module, "inject", None) is propagate.inject:
        module.inject = _inject  # type: ignore[attr-defined]
        return True
    return getattr(module, "inject", None) is _inject


def gate_httpx(module: ModuleType) -> bool:
    """httpx's instrumentor also replaces the request's headers with a copy around ``inject``:
    skip the whole step, so the request keeps its own ``Headers`` object."""
    original: Callable[..., None] | None = getattr(module, "_inject_propagation_headers", None)
    if original is None or getattr(original, "_trim_gated", False):
        return gate_injection(module)

    def inject_propagation_headers(*args: Any, **kwargs: Any) -> None:
        if _wanted:
            original(*args, **kwargs)

    inject_propagation_headers._trim_gated = True  # type: ignore[attr-defined]
    module._inject_propagation_headers = inject_propagation_headers  # type: ignore[attr-defined]
    return True
