"""The fold: one test's finished spans in, one flat record out. Pure: no I/O, no global state."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from . import attributes as attr
from . import cicd
from .messages import scrub_message
from .mocking import raised_by_mocking_library
from .schema import (
    SCHEMA_VERSION,
    STATUSES,
    DbQuery,
    NetRequest,
    RunContextFields,
    Status,
    TestRecord,
)
from .sql import normalize_sql
from .statements import KINDS, Kind, classify, is_transaction_control
from .urls import redact_url

_MESSAGE_LIMIT = 2000

Attributes = Mapping[str, Any]
_NO_ATTRIBUTES: Attributes = {}


def is_test_root(span: ReadableSpan) -> bool:
    """A span we started for a test or for shared set-up: it has no parent and names one."""
    return span.parent is None and attr.TEST_ID in (span.attributes or {})


def is_setup_root(span: ReadableSpan) -> bool:
    return (span.attributes or {}).get(attr.RECORD_KIND) == attr.KIND_SETUP


def worth_a_setup_record(record: TestRecord, children: Sequence[ReadableSpan]) -> bool:
    """Most shared fixtures touch neither a database nor the network: only set-up work that did
    something worth knowing (or failed) is written."""
    return record["status"] != "passed" or any(
        not (s.attributes or _NO_ATTRIBUTES).get(attr.DB_HOUSEKEEPING) for s in children
    )


def fold_test(root: ReadableSpan, children: Iterable[ReadableSpan]) -> TestRecord:
    """Fold a test's root span and the spans that ended under it into one record.

    ``children`` may hold spans of other traces or arrive in any order: only descendants of
    ``root``'s trace count, and groups are ordered by when their first member started.
    """
    # One copy: the SDK's attribute mapping answers each lookup through Python-level calls.
    root_attrs: Attributes = dict(root.attributes or _NO_ATTRIBUTES)
    trace_id = root.context.trace_id if root.context else 0
    own = (
        sorted(
            (s for s in children if s.context is not None and s.context.trace_id == trace_id),
            key=lambda s: s.start_time or 0,
        )
        if children
        else ()
    )
    db = _DbFold()
    net = _NetFold()
    sleeps = _Tally[tuple[()]]()
    db_span_ids: set[int] = set()
    http_calls: dict[int, int] = {}  # HTTP span id -> index of the outermost call in net.calls
    housekeeping_ids: set[int] = set()
    # This loop runs for every span of every test: attributes are read once each, through the
    # mapping's own get, and durations stay integer nanoseconds until the record is built. Spans
    # are in start order, so a parent is always seen before its children.
    for span in own:
        span_attrs: Attributes = span.attributes or _NO_ATTRIBUTES
        get = span_attrs.get
        parent = span.parent
        parent_id = parent.span_id if parent is not None else None
        span_id = span.context.span_id if span.context is not None else 0
        system = _either(get, attr.DB_SYSTEM)
        if system is not None:
            db_span_ids.add(span_id)
            statement = _either(get, attr.DB_STATEMENT)
            housekeeping = parent_id in housekeeping_ids
            if housekeeping:
                housekeeping_ids.add(span_id)
            # A DB span inside another (an ORM instrumentor over the driver's) is the same query.
            if parent_id not in db_span_ids and not _django_sqlite_bookkeeping(statement):
                db.add_query(span, str(system), statement, _either(get, attr.DB_NAME), housekeeping)
        elif span.kind is SpanKind.CLIENT and _either(get, attr.HTTP_URL) is not None:
            outer = http_calls.get(parent_id) if parent_id is not None else None
            if outer is None:
                http_calls[span_id] = net.add_call(span, span_attrs)
            else:
                # requests suppresses urllib3 for its own calls, but other client stacks may
                # not: a client span inside another is the same call, its hops are the call's.
                http_calls[span_id] = outer
                net.add_hops(outer, span)
        elif get(attr.DB_HOUSEKEEPING) or parent_id in housekeeping_ids:
            housekeeping_ids.add(span_id)
        elif get(attr.SLEEP):
            sleeps.add((), span, False)
    net.close()

    status = root_attrs.get(attr.TEST_STATUS)
    record: TestRecord = {
        "schema_version": SCHEMA_VERSION,
        "run_id": str(root_attrs.get(attr.RUN_ID, "")),
        "id": str(root_attrs.get(attr.TEST_ID, root.name)),
        "name": str(root_attrs.get(attr.TEST_NAME, root.name)),
        "class": _optional_str(root_attrs, attr.TEST_CLASS),
        "module": _optional_str(root_attrs, attr.TEST_MODULE),
        "file": _optional_str(root_attrs, attr.TEST_FILE),
        "framework": str(root_attrs.get(attr.TEST_FRAMEWORK, "pytest")),
        "status": _status(status),
        "status_detail": _optional_str(root_attrs, attr.TEST_STATUS_DETAIL),
        "failure_phase": _optional_str(root_attrs, attr.TEST_FAILURE_PHASE),
        "failure_type": _optional_str(root_attrs, attr.TEST_FAILURE_TYPE),
        "failure_message": _message(root_attrs, attr.TEST_FAILURE_MESSAGE),
        "skip_reason": _message(root_attrs, attr.TEST_SKIP_REASON),
        "start_time": iso_time(root.start_time),
        "end_time": iso_time(root.end_time),
        "test_duration_ms": _test_duration_ms(root, root_attrs),
        "trace_id": f"{trace_id:032x}",
        "span_id": f"{root.context.span_id if root.context else 0:016x}",
        "db_queries": db.queries(),
        "db_query_count": db.count,
        "db_duplicate_count": db.duplicates(),
        "db_error_count": db.errors,
        "db_total_duration_ms": _ms(db.total_ns),
        "db_housekeeping_count": db.housekeeping,
        "db_select_count": db.kinds["select"],
        "db_insert_count": db.kinds["insert"],
        "db_update_count": db.kinds["update"],
        "db_delete_count": db.kinds["delete"],
        "db_transaction_count": db.kinds["transaction"],
        "db_other_count": db.kinds["other"],
        "net_urls": net.urls(),
        "net_requests": net.requests(),
        "net_request_count": net.count,
        "net_error_count": net.no_response,
        "net_http_error_count": net.http_errors,
        "net_total_duration_ms": _ms(net.total_ns),
        "net_mocked_urls": list(net.mocked),
        "sleep_count": sleeps.count,
        "sleep_total_ms": _ms(sleeps.total_ns),
        "line": _optional_int(root_attrs, attr.CODE_LINE_NUMBER),
        **_run_context(root_attrs, root),
    }
    return record


K = TypeVar("K", bound=tuple[object, ...])


class _Tally(Generic[K]):
    """Spans grouped by a key in first-seen order: how many, how long, how many failed."""

    def __init__(self) -> None:
        self.groups: dict[K, list[int]] = {}  # key -> [count, nanoseconds]
        self.count = 0
        self.errors = 0
        self.total_ns = 0

    def add(self, key: K, span: ReadableSpan, failed: bool, counted: bool = True) -> None:
        self.add_ns(key, _duration_ns(span), failed, counted)

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


class _DbFold(_Tally[tuple[str, str, "str | None", bool]]):
    def __init__(self) -> None:
        super().__init__()
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
        sql = normalize_sql(str(statement)) if statement is not None else span.name
        key = (sql, system, None if name is None else str(name), housekeeping)
        if housekeeping:
            # Kept in db_queries (and in the time spent), left out of every count of queries.
            self.housekeeping += 1
            self.add(key, span, False, counted=False)
            return
        self.kinds[classify(sql).kind] += 1
        self.add(key, span, span.status.status_code is StatusCode.ERROR)

    def queries(self) -> list[DbQuery]:
        queries: list[DbQuery] = []
        for (sql, system, name, housekeeping), (count, total) in self.groups.items():
            statement = classify(sql)
            queries.append(
                {
                    "sql": sql,
                    "count": count,
                    "total_duration_ms": _ms(total),
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


class _NetFold(_Tally[_NetKey]):
    def __init__(self) -> None:
        super().__init__()
        self.mocked: dict[str, None] = {}  # an ordered set
        self.calls: list[_Call | None] = []
        self.no_response = 0
        self.http_errors = 0

    def add_call(self, span: ReadableSpan, span_attrs: Attributes) -> int:
        """Note a client span; returns its index, for the spans nested inside it."""
        get = span_attrs.get
        url = redact_url(str(_either(get, attr.HTTP_URL)))
        failed = span.status.status_code is StatusCode.ERROR
        self.calls.append(None)
        index = len(self.calls) - 1
        status_code = _either(get, attr.HTTP_STATUS_CODE)
        method = _either(get, attr.HTTP_METHOD)
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
                self._add(call.key, _duration_ns(call.span), call.failed)
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
                "total_duration_ms": _ms(total),
            }
            for (method, url, status_code), (count, total) in self.groups.items()
        ]


# Django's sqlite backend renders connection.queries (DEBUG=True, CaptureQueriesContext,
# assertNumQueries) by running `SELECT QUOTE(?), QUOTE(?)…` for every query it logs, on the same
# instrumented connection. That is Django's bookkeeping, not the test's work.
_DJANGO_SQLITE_QUOTE = re.compile(r"SELECT QUOTE\(\?\)(?:, QUOTE\(\?\))*")


def _django_sqlite_bookkeeping(statement: object) -> bool:
    return (
        isinstance(statement, str)
        and statement.startswith("SELECT QUOTE(")
        and _DJANGO_SQLITE_QUOTE.fullmatch(statement) is not None
    )


def iso_time(time_ns: int | None) -> str:
    """ISO 8601 in UTC with microseconds, the same width on every line."""
    moment = datetime.fromtimestamp((time_ns or 0) / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds")


def _duration_ns(span: ReadableSpan) -> int:
    start, end = span.start_time, span.end_time
    return end - start if start is not None and end is not None and end > start else 0


def _ms(nanoseconds: int) -> float:
    return round(nanoseconds / 1e6, 3)


def _either(get: Callable[[str], Any], names: tuple[str, str]) -> Any:
    value = get(names[0])
    return value if value is not None else get(names[1])


def _test_duration_ms(root: ReadableSpan, root_attrs: Attributes) -> float:
    shared = root_attrs.get(attr.TEST_SHARED_SETUP_NS)
    return _ms(max(_duration_ns(root) - (shared if isinstance(shared, int) else 0), 0))


def _status(value: object) -> Status:
    for status in STATUSES:
        if value == status:
            return status
    # A root span that ended without an outcome (the runner died mid-test) did not pass.
    return "error"


def _message(root_attrs: Attributes, name: str) -> str | None:
    # Roots made by RunningTest are scrubbed already; a root someone else made may not be.
    value = root_attrs.get(name)
    if value is None:
        return None
    text = scrub_message(str(value))
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _optional_int(span_attrs: Attributes, name: str) -> int | None:
    value = span_attrs.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _run_context(root_attrs: Attributes, root: ReadableSpan) -> RunContextFields:
    """The run's commit, branch and CI run: on the root span when the provider was someone
    else's, else on the resource that every span of the run shares."""
    resource = root.resource.attributes if root.resource is not None else _NO_ATTRIBUTES

    def value(name: str) -> str | None:
        found = root_attrs.get(name)
        if found is None:
            found = resource.get(name)
        return str(found) if found is not None else None

    return {
        "vcs_revision": value(cicd.VCS_REVISION),
        "vcs_branch": value(cicd.VCS_BRANCH),
        "ci_run_id": value(cicd.CICD_PIPELINE_RUN_ID),
        "ci_run_url": value(cicd.CICD_PIPELINE_RUN_URL),
    }


def _optional_str(span_attrs: Attributes, name: str, limit: int | None = None) -> str | None:
    value = span_attrs.get(name)
    if value is None:
        return None
    text = str(value)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
