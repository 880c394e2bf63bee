"""The fold: one test's finished spans in, one flat record out. Pure: no I/O, no global state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from . import attributes as attr
from . import cicd
from .isotime import iso_time
from .messages import scrub_message
from .schema import (
    SCHEMA_VERSION,
    STATUSES,
    RunContextFields,
    SpanTotals,
    Status,
    TestRecord,
)
from .tallies import DbFold, NetFold, Tally, duration_ns, either, ms

_MESSAGE_LIMIT = 2000

Attributes = Mapping[str, Any]
_NO_ATTRIBUTES: Attributes = {}


def attributes_of(span: ReadableSpan) -> Attributes:
    """A finished span's attributes, to read.

    ``span.attributes`` wraps the SDK's own mapping in a read-only proxy, and each lookup through
    it costs two Python-level calls (a missing key, an exception): the fold reads a few names of
    every span of every test. So it reads the plain dict the SDK keeps them in, which no one
    changes once the span has ended, and the public view for any other kind of span.
    """
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(inner) is dict:
        return inner
    return span.attributes or _NO_ATTRIBUTES


def is_test_root(span: ReadableSpan) -> bool:
    """A span we started for a test or for shared set-up: it has no parent and names one."""
    return span.parent is None and attr.TEST_ID in attributes_of(span)


def is_setup_root(span: ReadableSpan) -> bool:
    return attributes_of(span).get(attr.RECORD_KIND) == attr.KIND_SETUP


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
    root_attrs = attributes_of(root)
    get = root_attrs.get
    context = root.context
    trace_id = context.trace_id if context is not None else 0
    own = (
        sorted(
            (s for s in children if s.context is not None and s.context.trace_id == trace_id),
            key=_start_time,
        )
        if children
        else ()
    )
    record: TestRecord = {
        "schema_version": SCHEMA_VERSION,
        "run_id": str(get(attr.RUN_ID, "")),
        "id": str(get(attr.TEST_ID, root.name)),
        "name": str(get(attr.TEST_NAME, root.name)),
        "class": _text(get(attr.TEST_CLASS)),
        "module": _text(get(attr.TEST_MODULE)),
        "file": _text(get(attr.TEST_FILE)),
        "framework": str(get(attr.TEST_FRAMEWORK, "pytest")),
        "status": _status(get(attr.TEST_STATUS)),
        "status_detail": _text(get(attr.TEST_STATUS_DETAIL)),
        "failure_phase": _text(get(attr.TEST_FAILURE_PHASE)),
        "failure_type": _text(get(attr.TEST_FAILURE_TYPE)),
        "failure_message": _message(get(attr.TEST_FAILURE_MESSAGE)),
        "skip_reason": _message(get(attr.TEST_SKIP_REASON)),
        "start_time": iso_time(root.start_time),
        "end_time": iso_time(root.end_time),
        "test_duration_ms": _test_duration_ms(root, get(attr.TEST_SHARED_SETUP_NS)),
        "trace_id": f"{trace_id:032x}",
        "span_id": f"{context.span_id if context is not None else 0:016x}",
        **(_totals(own) if own else _nothing_under_it()),
        "line": _optional_int(get(attr.CODE_LINE_NUMBER)),
        **_run_context(root_attrs, root.resource),
    }
    return record


def _start_time(span: ReadableSpan) -> int:
    return span.start_time or 0


def _totals(own: Sequence[ReadableSpan]) -> SpanTotals:
    """What the spans under a test's root add up to; ``own`` in start order."""
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
        span_attrs = attributes_of(span)
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
    db.close()
    net.close()
    kinds = db.kinds
    return {
        "db_queries": db.queries(),
        "db_query_count": db.count,
        "db_duplicate_count": db.duplicates(),
        "db_error_count": db.errors,
        "db_total_duration_ms": ms(db.total_ns),
        "db_housekeeping_count": db.housekeeping,
        "db_select_count": kinds["select"],
        "db_insert_count": kinds["insert"],
        "db_update_count": kinds["update"],
        "db_delete_count": kinds["delete"],
        "db_transaction_count": kinds["transaction"],
        "db_other_count": kinds["other"],
        "net_urls": net.urls(),
        "net_requests": net.requests(),
        "net_request_count": net.count,
        "net_error_count": net.no_response,
        "net_http_error_count": net.http_errors,
        "net_total_duration_ms": ms(net.total_ns),
        "net_mocked_urls": list(net.mocked),
        "sleep_count": sleeps.count,
        "sleep_total_ms": ms(sleeps.total_ns),
    }


def _nothing_under_it() -> SpanTotals:
    """:func:`_totals` of no spans at all (most tests of most suites), without the tallies."""
    return {
        "db_queries": [],
        "db_query_count": 0,
        "db_duplicate_count": 0,
        "db_error_count": 0,
        "db_total_duration_ms": 0.0,
        "db_housekeeping_count": 0,
        "db_select_count": 0,
        "db_insert_count": 0,
        "db_update_count": 0,
        "db_delete_count": 0,
        "db_transaction_count": 0,
        "db_other_count": 0,
        "net_urls": [],
        "net_requests": [],
        "net_request_count": 0,
        "net_error_count": 0,
        "net_http_error_count": 0,
        "net_total_duration_ms": 0.0,
        "net_mocked_urls": [],
        "sleep_count": 0,
        "sleep_total_ms": 0.0,
    }


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


def _test_duration_ms(root: ReadableSpan, shared: object) -> float:
    return ms(max(duration_ns(root) - (shared if isinstance(shared, int) else 0), 0))


_STATUS_OF: dict[str, Status] = {status: status for status in STATUSES}


def _status(value: object) -> Status:
    # A root span that ended without an outcome (the runner died mid-test) did not pass.
    return _STATUS_OF.get(value, "error") if isinstance(value, str) else "error"


def _message(value: object) -> str | None:
    # Roots made by RunningTest are scrubbed already; a root someone else made may not be.
    if value is None:
        return None
    text = scrub_message(str(value))
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


_RUN_CONTEXT_KEYS = (
    ("vcs_revision", cicd.VCS_REVISION),
    ("vcs_branch", cicd.VCS_BRANCH),
    ("ci_run_id", cicd.CICD_PIPELINE_RUN_ID),
    ("ci_run_url", cicd.CICD_PIPELINE_RUN_URL),
)


def _run_context(root_attrs: Attributes, resource: Resource | None) -> RunContextFields:
    """The run's commit, branch and CI run: on the root span when the provider was someone
    else's, else on the resource that every span of the run shares."""
    context = _resource_context(resource)
    if any(name in root_attrs for _, name in _RUN_CONTEXT_KEYS):
        context = context.copy()
        for field, name in _RUN_CONTEXT_KEYS:
            found = root_attrs.get(name)
            if found is not None:
                context[field] = str(found)  # type: ignore[literal-required]
    return context


def _resource_context(resource: Resource | None) -> RunContextFields:
    """The run context a resource holds, worked out once for the resource every span shares."""
    global _resource_seen
    cached, context = _resource_seen
    if resource is not cached:
        values = resource.attributes if resource is not None else _NO_ATTRIBUTES
        context = {  # type: ignore[assignment]
            field: (None if values.get(name) is None else str(values.get(name)))
            for field, name in _RUN_CONTEXT_KEYS
        }
        _resource_seen = (resource, context)
    return context


_resource_seen: tuple[Resource | None, RunContextFields] = (
    None,
    {"vcs_revision": None, "vcs_branch": None, "ci_run_id": None, "ci_run_url": None},
)
