"""Grouped tallies the fold builds a record from: queries and HTTP calls, counted and timed.

Pure, like the fold: spans in, numbers out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from . import attributes as attr
from .mocking import raised_by_mocking_library
from .schema import DbQuery, NetRequest
from .sql import normalize_sql, truncate_sql
from .statements import KINDS, Kind, classify, is_transaction_control
from .urls import redact_url

Attributes = Mapping[str, Any]

K = TypeVar("K", bound=tuple[object, ...])


class Tally(Generic[K]):
    """Spans grouped by a key in first-seen order: how many, how long, how many failed."""

    def __init__(self) -> None:
        self.groups: dict[K, list[int]] = {}  # key -> [count, nanoseconds]
        self.count = 0
        self.errors = 0
        self.total_ns = 0

    def add(self, key: K, span: ReadableSpan, failed: bool, counted: bool = True) -> None:
        self.add_ns(key, duration_ns(span), failed, counted)

    def add_ns(self, key: K, duration: int, failed: bool, counted: bool = True) -> None:
        """``counted=False``: listed in its group and its time kept, but not in ``count``."""
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = [1, duration]
        else:
            group[0] += 1
            group[1] += duration
        self.total_ns += duration
        if counted:
            self.count += 1
            if failed:
                self.errors += 1


class DbFold:
    """Queries grouped by normalised text, database system, database name and housekeeping.

    The loop over a test's spans only counts each statement as the driver sent it
    (:meth:`add_query`); :meth:`close` normalises each distinct text once, however often the test
    ran it, and merges the statements that normalise alike. Statements are kept in the order
    they first ran, so the groups are too.
    """

    def __init__(self) -> None:
        # (text, normalise it?, system, name, housekeeping) -> [count, nanoseconds, errors]
        self._sent: dict[tuple[str, bool, str, str | None, bool], list[int]] = {}
        self.groups: dict[tuple[str, str, str | None, bool], list[int]] = {}  # [count, ns]
        self.count = 0
        self.errors = 0
        self.total_ns = 0
        self.housekeeping = 0
        self.kinds: dict[Kind, int] = dict.fromkeys(KINDS, 0)

    def add_query(
        self,
        span: ReadableSpan,
        system: str,
        statement: object,
        name: object,
        housekeeping: bool,
    ) -> None:
        # Without statement text the span name (the SQL verb) is all there is to group by.
        key = (
            span.name if statement is None else str(statement),
            statement is not None,
            system,
            None if name is None else str(name),
            housekeeping,
        )
        failed = 0 if housekeeping or span.status.status_code is not StatusCode.ERROR else 1
        sent = self._sent.get(key)
        if sent is None:
            self._sent[key] = [1, duration_ns(span), failed]
        else:
            sent[0] += 1
            sent[1] += duration_ns(span)
            sent[2] += failed

    def close(self) -> None:
        """Normalise and group what :meth:`add_query` counted."""
        groups, kinds = self.groups, self.kinds
        for sent, (count, ns, failed) in self._sent.items():
            text, normalise, system, name, housekeeping = sent
            sql = normalize_sql(text, system) if normalise else text
            key = (sql, system, name, housekeeping)
            group = groups.get(key)
            if group is None:
                groups[key] = [count, ns]
            else:
                group[0] += count
                group[1] += ns
            self.total_ns += ns
            if housekeeping:
                # Kept in db_queries (and in the time spent), left out of every count of queries.
                self.housekeeping += count
                continue
            kinds[classify(sql).kind] += count
            self.count += count
            self.errors += failed
        self._sent.clear()

    def queries(self) -> list[DbQuery]:
        queries: list[DbQuery] = []
        for (sql, system, name, housekeeping), (count, total) in self.groups.items():
            statement = classify(sql)
            # Groups are keyed on the whole normalised text; only the stored copy is cut.
            stored, truncated = truncate_sql(sql)
            queries.append(
                {
                    "sql": stored,
                    "sql_truncated": truncated,
                    "count": count,
                    "total_duration_ms": ms(total),
                    "db_system": system,
                    "db_name": name,
                    "operation": statement.operation,
                    "summary": statement.summary,
                    "housekeeping": housekeeping,
                }
            )
        return queries

    def duplicates(self) -> int:
        return sum(
            count - 1
            for (sql, _, _, housekeeping), (count, _) in self.groups.items()
            if not housekeeping and not is_transaction_control(sql)
        )


_NetKey = tuple["str | None", str, "int | None"]


class _Call:
    """One client call as the instrumentor saw it, and the attempts it made on the wire."""

    __slots__ = ("failed", "first_hop_url", "hops", "key", "span")

    def __init__(self, key: _NetKey, span: ReadableSpan, failed: bool) -> None:
        self.key = key
        self.first_hop_url: object = None
        self.span = span
        self.failed = failed
        self.hops: list[tuple[_NetKey, int]] = []  # (key, timestamp of the answer)


class NetFold(Tally[_NetKey]):
    def __init__(self) -> None:
        super().__init__()
        self.mocked: dict[str, None] = {}  # an ordered set
        self.calls: list[_Call | None] = []
        self.no_response = 0
        self.http_errors = 0

    def add_call(self, span: ReadableSpan, span_attrs: Attributes) -> int:
        """Note a client span; returns its index, for the spans nested inside it."""
        get = span_attrs.get
        url = redact_url(str(either(get, attr.HTTP_URL)))
        failed = span.status.status_code is StatusCode.ERROR
        self.calls.append(None)
        index = len(self.calls) - 1
        status_code = either(get, attr.HTTP_STATUS_CODE)
        method = either(get, attr.HTTP_METHOD)
        key = (
            None if method is None else str(method),
            url,
            int(status_code) if isinstance(status_code, int) else None,
        )
        call = _Call(key, span, failed)
        self.add_hops(index, span, call)
        if not call.hops and (
            get(attr.HTTP_MOCKED) or (failed and raised_by_mocking_library(span.events))
        ):
            self.mocked[url] = None
            return index
        self.calls[index] = call
        return index

    def add_hops(self, index: int, span: ReadableSpan, call: _Call | None = None) -> None:
        call = call or self.calls[index]
        if call is None:
            return
        for event in span.events:
            if event.name != attr.HTTP_HOP_EVENT or not event.attributes:
                continue
            get = event.attributes.get
            method, url, status_code = (
                get(attr.HOP_METHOD),
                get(attr.HOP_URL),
                get(attr.HOP_STATUS_CODE),
            )
            if not call.hops:
                call.first_hop_url = url
            # The call's own URL for its first request and the retries of it: the wire's lacks
            # the userinfo the caller wrote (sent as a header), the span's has it redacted.
            same = url is None or url == call.first_hop_url
            key = (
                None if method is None else str(method),
                call.key[1] if same else redact_url(str(url)),
                status_code if isinstance(status_code, int) else None,
            )
            call.hops.append((key, event.timestamp))

    def close(self) -> None:
        """Tally every call: one per hop on the wire, or the client span itself when none was seen
        (httpx, whose spans are hops already; a call that failed before reaching a socket)."""
        for call in self.calls:
            if call is None:
                continue
            if not call.hops:
                self._add(call.key, duration_ns(call.span), call.failed)
                continue
            # Each hop lasts from the previous answer to its own; the last one until the call
            # ended (its body read), so that the hops' durations sum to the call's.
            start = call.span.start_time or 0
            end = call.span.end_time or start
            hops = sorted(call.hops, key=lambda hop: hop[1])
            for number, (key, answered) in enumerate(hops):
                until = end if number == len(hops) - 1 else max(answered, start)
                self._add(key, max(until - start, 0), key[2] is None)
                start = max(until, start)

    def _add(self, key: _NetKey, duration: int, failed: bool) -> None:
        self.add_ns(key, duration, failed)
        status_code = key[2]
        if status_code is None:
            self.no_response += 1
        elif status_code >= 400:
            self.http_errors += 1

    def urls(self) -> list[str]:
        return list(dict.fromkeys(url for _, url, _ in self.groups))

    def requests(self) -> list[NetRequest]:
        return [
            {
                "method": method,
                "url": url,
                "status_code": status_code,
                "count": count,
                "total_duration_ms": ms(total),
            }
            for (method, url, status_code), (count, total) in self.groups.items()
        ]


def duration_ns(span: ReadableSpan) -> int:
    start, end = span.start_time, span.end_time
    return end - start if start is not None and end is not None and end > start else 0


def ms(nanoseconds: int) -> float:
    return round(nanoseconds / 1e6, 3)


def either(get: Callable[[str], Any], names: tuple[str, str]) -> Any:
    value = get(names[0])
    return value if value is not None else get(names[1])
