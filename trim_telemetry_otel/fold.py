"""The fold: one test's finished spans in, one flat record out. Pure: no I/O, no global state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from . import attributes as attr
from . import cicd
from .messages import scrub_message
from .schema import (
    SCHEMA_VERSION,
    STATUSES,
    RunContextFields,
    Status,
    TestRecord,
)
from .tallies import DbFold, NetFold, Tally, duration_ns, either, ms

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
    db = DbFold()
    net = NetFold()
    sleeps = Tally[tuple[()]]()
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
        system = either(get, attr.DB_SYSTEM)
        if system is not None:
            db_span_ids.add(span_id)
            statement = either(get, attr.DB_STATEMENT)
            housekeeping = parent_id in housekeeping_ids
            if housekeeping:
                housekeeping_ids.add(span_id)
            # A DB span inside another (an ORM instrumentor over the driver's) is the same query.
            if parent_id not in db_span_ids and not _django_sqlite_bookkeeping(statement):
                db.add_query(span, str(system), statement, either(get, attr.DB_NAME), housekeeping)
        elif span.kind is SpanKind.CLIENT and either(get, attr.HTTP_URL) is not None:
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
        "db_total_duration_ms": ms(db.total_ns),
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
        "net_total_duration_ms": ms(net.total_ns),
        "net_mocked_urls": list(net.mocked),
        "sleep_count": sleeps.count,
        "sleep_total_ms": ms(sleeps.total_ns),
        "line": _optional_int(root_attrs, attr.CODE_LINE_NUMBER),
        **_run_context(root_attrs, root),
    }
    return record


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


def _test_duration_ms(root: ReadableSpan, root_attrs: Attributes) -> float:
    shared = root_attrs.get(attr.TEST_SHARED_SETUP_NS)
    return ms(max(duration_ns(root) - (shared if isinstance(shared, int) else 0), 0))


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
