"""Telling an HTTP call that reached the network from one a mocking library answered.

The requests span wraps ``Session.send``, so calls answered by ``responses`` or ``requests-mock``
still produce one; they must not be reported as network traffic.
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event
from opentelemetry.trace import Span

from . import attributes as attr

# Where the mocking libraries raise the exceptions they are told to raise (or raise for an
# unmatched URL): a failure raised from inside them never touched a socket.
_MOCK_PACKAGES = ("responses", "requests_mock")


def mark_mocked_response(span: Span, request: object, response: object) -> None:
    """requests' response hook: flag answers that did not come over a real connection.

    Only a response read from a socket has an ``http.client.HTTPResponse`` under urllib3's.
    """
    raw = getattr(response, "raw", None)
    original = getattr(raw, "_original_response", None)
    if not isinstance(original, http.client.HTTPResponse):
        span.set_attribute(attr.HTTP_MOCKED, True)


def raised_by_mocking_library(events: Sequence[Event]) -> bool:
    """Whether the span's exception was raised inside a mocking library (no response, no socket)."""
    for event in events:
        if event.name != "exception" or not event.attributes:
            continue
        stacktrace = str(event.attributes.get("exception.stacktrace", ""))
        # The last frame of a formatted traceback is where the exception was raised.
        _, _, last = stacktrace.rpartition('File "')
        raised_in = last.partition('"')[0].replace("\\", "/")
        if any(f"/{package}/" in raised_in for package in _MOCK_PACKAGES):
            return True
    return False


def follow_requests_mock() -> None:
    """Point an already imported requests-mock at the instrumented ``Session.send``.

    requests-mock keeps the ``Session.send`` it saw at import and calls it for every mocked
    request. Its pytest plugin imports it while plugins load, before telemetry starts: without this,
    its calls make no span at all.
    """
    mocker: Any = sys.modules.get("requests_mock.mocker")
    requests: Any = sys.modules.get("requests")
    if mocker is not None and requests is not None and hasattr(mocker, "_original_send"):
        mocker._original_send = requests.Session.send
