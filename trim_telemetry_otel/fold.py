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
from .sql import is_transaction_control, normalize_sql
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
    return bool(children) or record["status"] != "passed"


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
    db_span_ids: set[int] = set()
    http_span_ids: set[int] = set()
    # This loop runs for every span of every test: attributes are read once each, through the
    # mapping's own get, and durations stay integer nanoseconds until the record is built.
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
            # A DB span inside another (an ORM instrumentor over the driver's) is the same query.
            if parent_id not in db_span_ids and not _django_sqlite_bookkeeping(statement):
                db.add_query(span, str(system), statement, _either(get, attr.DB_NAME))
        elif span.kind is SpanKind.CLIENT and _either(get, attr.HTTP_URL) is not None:
            http_span_ids.add(span_id)
            # requests suppresses urllib3 for its own calls, but other client stacks may not.
            if parent_id not in http_span_ids:
                net.add_call(span, span_attrs)

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
        "failure_message": _optional_str(root_attrs, attr.TEST_FAILURE_MESSAGE, _MESSAGE_LIMIT),
        "skip_reason": _optional_str(root_attrs, attr.TEST_SKIP_REASON, _MESSAGE_LIMIT),
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
        "net_urls": net.urls(),
        "net_requests": net.requests(),
        "net_request_count": net.count,
        "net_error_count": net.errors,
        "net_total_duration_ms": _ms(net.total_ns),
        "net_mocked_urls": list(net.mocked),
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

    def add(self, key: K, span: ReadableSpan, failed: bool) -> None:
        duration = _duration_ns(span)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = [1, duration]
        else:
            group[0] += 1
            group[1] += duration
        self.count += 1
        self.total_ns += duration
        if failed:
            self.errors += 1


class _DbFold(_Tally[tuple[str, str, "str | None"]]):
    def add_query(self, span: ReadableSpan, system: str, statement: object, name: object) -> None:
        # Without statement text the span name (the SQL verb) is all there is to group by.
        sql = normalize_sql(str(statement)) if statement is not None else span.name
        key = (sql, system, None if name is None else str(name))
        self.add(key, span, span.status.status_code is StatusCode.ERROR)

    def queries(self) -> list[DbQuery]:
        return [
            {
                "sql": sql,
                "count": count,
                "total_duration_ms": _ms(total),
                "db_system": system,
                "db_name": name,
            }
            for (sql, system, name), (count, total) in self.groups.items()
        ]

    def duplicates(self) -> int:
        return sum(
            count - 1
            for (sql, _, _), (count, _) in self.groups.items()
            if not is_transaction_control(sql)
        )


class _NetFold(_Tally[tuple["str | None", str, "int | None"]]):
    def __init__(self) -> None:
        super().__init__()
        self.mocked: dict[str, None] = {}  # an ordered set

    def add_call(self, span: ReadableSpan, span_attrs: Attributes) -> None:
        get = span_attrs.get
        url = redact_url(str(_either(get, attr.HTTP_URL)))
        failed = span.status.status_code is StatusCode.ERROR
        if get(attr.HTTP_MOCKED) or (failed and raised_by_mocking_library(span.events)):
            self.mocked[url] = None
            return
        status_code = _either(get, attr.HTTP_STATUS_CODE)
        method = _either(get, attr.HTTP_METHOD)
        key = (
            None if method is None else str(method),
            url,
            int(status_code) if isinstance(status_code, int) else None,
        )
        self.add(key, span, failed)

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
