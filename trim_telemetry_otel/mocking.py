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


def mark_mocking_active(span: Span, request: object) -> None:
    """requests' request hook: flag a call made while a mocking library has replaced the sending.

    ``responses`` patches ``HTTPAdapter.send``; requests-mock's ``Mocker`` patches
    ``Session.get_adapter``. Such a call fails in ways no response hook sees (a body shorter than
    its Content-Length fails inside urllib3 once ``responses`` returned; a callback may raise a
    ``BaseException``). A call the library passes through to the network is still counted: the
    fold trusts the requests it sees on the wire over this flag.
    """
    try:
        requests: Any = sys.modules.get("requests")
        if requests is None:
            return
        send = requests.adapters.HTTPAdapter.send
        get_adapter = requests.Session.get_adapter
        patched = (getattr(send, "__module__", ""), getattr(get_adapter, "__module__", ""))
        if any(module.partition(".")[0] in _MOCK_PACKAGES for module in patched):
            span.set_attribute(attr.HTTP_MOCKED, True)
    except Exception:  # never into the request
        pass


def raised_by_mocking_library(events: Sequence[Event]) -> bool:
    """Whether the span's exception came through a mocking library (no response, no socket).

    Any frame counts, not just the last: a mock whose body is shorter than its Content-Length
    fails inside urllib3 while ``responses`` reads it, and a callback raises from the test's
    own code, both below the mocking library's frames. The fold asks only about calls that
    sent nothing on the wire, so a real call passed through (``add_passthru``) is never one.
    """
    for event in events:
        if event.name != "exception" or not event.attributes:
            continue
        stacktrace = str(event.attributes.get("exception.stacktrace", ""))
        for frame in stacktrace.split('File "')[1:]:
            raised_in = frame.partition('"')[0].replace("\\", "/")
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
