"""One test as the commands see it: its record line, decoded, checked and completed.

A record is the dict the JSON decoder made, not an object built from it: over 100,000 records,
building one object per test and per query cost more than decoding the lines. ``parsing`` checks
every field's type and gives each field of the schema a value (``None`` where the record has
none, ``0`` or ``[]`` for a missing count or list), so commands read ``test["db_query_count"]``
without a default. Facts worked out from a record (its outcome, its hosts, a query's type) are the
functions below.
"""

from __future__ import annotations

from typing import TypedDict

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
PASSING = frozenset({"passed", "xpassed"})
FAILING = frozenset({"failed", "error"})
QUERY_TYPES = ("select", "insert", "update", "delete", "transaction", "other")
_TRANSACTION_WORDS = frozenset(
    {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"}
)


class Query(TypedDict):
    """An entry of ``db_queries`` (``housekeeping`` counts only when it is ``True``)."""

    sql: str
    count: int
    total_duration_ms: float
    db_system: str | None
    operation: str | None
    summary: str | None
    housekeeping: object


class NetCall(TypedDict):
    """An entry of ``net_requests``."""

    method: str | None
    url: str
    status_code: int | None
    count: int
    total_duration_ms: float


# "class" is a keyword, hence the functional form. The type counts (schema 1.1.0) are None in a
# record that predates them.
Test = TypedDict(
    "Test",
    {
        "schema_version": str | None,
        "id": str,
        "status": str,
        "name": str,
        "class": str | None,
        "module": str | None,
        "file": str | None,
        "line": int | None,
        "framework": str | None,
        "run_id": str | None,
        "status_detail": str | None,
        "failure_phase": str | None,
        "failure_type": str | None,
        "failure_message": str | None,
        "skip_reason": str | None,
        "start_time": str | None,
        "end_time": str | None,
        "test_duration_ms": float,
        "trace_id": str | None,
        "db_queries": list[Query],
        "db_query_count": int,
        "db_duplicate_count": int,
        "db_error_count": int,
        "db_total_duration_ms": float,
        "db_housekeeping_count": int | None,
        "db_select_count": int | None,
        "db_insert_count": int | None,
        "db_update_count": int | None,
        "db_delete_count": int | None,
        "db_transaction_count": int | None,
        "db_other_count": int | None,
        "net_urls": list[str],
        "net_requests": list[NetCall],
        "net_request_count": int,
        "net_error_count": int,
        "net_http_error_count": int | None,
        "net_total_duration_ms": float,
        "net_mocked_urls": list[str],
        "sleep_count": int | None,
        "sleep_total_ms": float | None,
        "vcs_revision": str | None,
        "vcs_branch": str | None,
        "ci_run_id": str | None,
        "ci_run_url": str | None,
    },
)


def outcome_of(test: Test) -> str:
    """The status with xfail apart: ``xfailed``, ``xpassed`` (non-strict), else the status.

    A strict xpass is ``failed`` in the record and stays a failure here, as pytest reports it.
    """
    detail, status = test["status_detail"], test["status"]
    if detail == "xfailed" and status == "skipped":
        return "xfailed"
    if detail == "xpassed" and status == "passed":
        return "xpassed"
    return status


def query_type(query: Query) -> str:
    """``select`` … ``other``: from the entry's ``operation``, else the first word."""
    word = (query["operation"] or query["sql"].lstrip("( ").split(" ", 1)[0]).upper()
    if word in ("SELECT", "WITH"):
        return "select"
    if word in ("INSERT", "UPDATE", "DELETE"):
        return word.lower()
    return "transaction" if word in _TRANSACTION_WORDS else "other"


def is_transaction_control(query: Query) -> bool:
    return query_type(query) == "transaction" or query["sql"].upper().startswith("SET ")


def hosts_of(test: Test) -> list[str]:
    """The distinct host names of the real calls, sorted. Ports are left out: a test's local
    server listens on a new port every run, and that is no new dependency."""
    return sorted({host_of(url) for url in test["net_urls"]})


def host_of(url: str) -> str:
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):  # an IPv6 literal: [::1]:8000
        return authority.split("]", 1)[0] + "]"
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
