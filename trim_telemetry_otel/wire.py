"""Every request a client sends on the wire, as an event on the client span of the call.

The stock instrumentors make one span per client call: requests' wraps ``Session.send`` (and
suppresses urllib3's under it), urllib's wraps ``OpenerDirector.open``, urllib3's ``urlopen``. A
redirect followed, a retry, or a digest-auth round trip inside that call sends more requests
than the span shows, and the span keeps only the last status code. All three clients send
through :mod:`http.client`, so an event there — one per attempt, on whatever span is current —
lets the fold count each attempt with its own status code. An attempt that got no answer
(refused, DNS failure, reset) is an event without a status code. httpx sends through httpcore:
its instrumentor's spans sit on the transport, one per request already.

A call a mocking library answered never reaches :mod:`http.client`, so it has no events: that is
how the fold tells a mock whose body fails inside urllib3 from a real call.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from . import attributes as attr

_PATCHED = ("putrequest", "endheaders", "getresponse")
_ATTEMPT = "_trim_wire_attempt"  # on the connection: (method, url) of the request being sent


class WireInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Patches ``http.client.HTTPConnection`` once per process; ``uninstrument`` undoes it."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        connection: Any = http.client.HTTPConnection
        connection.putrequest = _putrequest(connection.putrequest)
        connection.endheaders = _endheaders(connection.endheaders)
        connection.getresponse = _getresponse(connection.getresponse)

    def _uninstrument(self, **kwargs: Any) -> None:
        connection: Any = http.client.HTTPConnection
        for name in _PATCHED:
            method = getattr(connection, name)
            setattr(connection, name, getattr(method, "__wrapped__", method))


def _putrequest(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(Exception):  # telemetry never stops a request
            setattr(self, _ATTEMPT, (method, _full_url(self, url)))
        return original(self, method, url, *args, **kwargs)

    return putrequest


def _endheaders(original: Callable[..., Any]) -> Callable[..., Any]:
    # Sending the headers is where the connection is opened: a refusal or a DNS failure raises here.
    @functools.wraps(original)
    def endheaders(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except BaseException as error:
            _record(self, None, error)
            raise

    return endheaders


def _getresponse(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def getresponse(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = original(self, *args, **kwargs)
        except BaseException as error:
            _record(self, None, error)
            raise
        _record(self, getattr(response, "status", None), None)
        return response

    return getresponse


def _record(connection: Any, status: object, error: BaseException | None) -> None:
    try:
        attempt = connection.__dict__.pop(_ATTEMPT, None)
        if attempt is None:
            return  # already recorded (endheaders failed), or not sent through putrequest
        span = trace.get_current_span()
        if not span.is_recording():
            return
        method, url = attempt
        event: dict[str, str | int] = {attr.HOP_METHOD: method, attr.HOP_URL: url}
        if isinstance(status, int):
            event[attr.HOP_STATUS_CODE] = status
        if error is not None:
            event[attr.HOP_ERROR_TYPE] = type(error).__qualname__
        span.add_event(attr.HTTP_HOP_EVENT, event)
    except Exception:  # never into the request
        pass


def _full_url(connection: Any, target: str) -> str:
    """The absolute URL of a request line's target (absolute already when sent to a proxy)."""
    if target.startswith(("http://", "https://")):
        return target
    scheme = "https" if connection.default_port == 443 else "http"
    # Through an HTTPS proxy's CONNECT tunnel, host and port are the proxy's.
    tunnel = getattr(connection, "_tunnel_host", None)
    host = str(tunnel or connection.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = getattr(connection, "_tunnel_port", None) if tunnel else connection.port
    netloc = host if port in (None, connection.default_port) else f"{host}:{port}"
    return f"{scheme}://{netloc}{target if target.startswith('/') else '/' + target}"
