"""The record written for each test (schema 1.1.0) and the JSON Schema that describes it.

SCHEMA.md documents every field; ``record.schema.json`` ships in the package so that consumers and
our own tests validate lines against the same contract.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal, TypedDict

SCHEMA_VERSION = "1.1.0"

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")


class DbQuery(TypedDict):
    sql: str
    sql_truncated: bool
    count: int
    total_duration_ms: float
    db_system: str | None
    db_name: str | None
    # 1.1.0
    operation: str | None
    summary: str | None
    housekeeping: bool


class NetRequest(TypedDict):
    method: str | None
    url: str
    status_code: int | None
    count: int
    total_duration_ms: float


class RunContextFields(TypedDict):
    """Where the run happened (schema 1.1.0); null where neither the CI nor git says."""

    vcs_revision: str | None
    vcs_branch: str | None
    ci_run_id: str | None
    ci_run_url: str | None


class SpanTotals(TypedDict):
    """The fields a test's record adds up from the spans under its root."""

    db_queries: list[DbQuery]
    db_query_count: int
    db_duplicate_count: int
    db_error_count: int
    db_total_duration_ms: float
    db_housekeeping_count: int
    db_select_count: int
    db_insert_count: int
    db_update_count: int
    db_delete_count: int
    db_transaction_count: int
    db_other_count: int
    net_urls: list[str]
    net_requests: list[NetRequest]
    net_request_count: int
    net_error_count: int
    net_http_error_count: int
    net_total_duration_ms: float
    net_mocked_urls: list[str]
    sleep_count: int
    sleep_total_ms: float


# "class" is a keyword, hence the functional form.
TestRecord = TypedDict(
    "TestRecord",
    {
        "schema_version": str,
        "run_id": str,
        "id": str,
        "name": str,
        "class": "str | None",
        "module": "str | None",
        "file": "str | None",
        "framework": str,
        "status": Status,
        "status_detail": "str | None",
        "failure_phase": "str | None",
        "failure_type": "str | None",
        "failure_message": "str | None",
        "skip_reason": "str | None",
        "start_time": str,
        "end_time": str,
        "test_duration_ms": float,
        "trace_id": str,
        "span_id": str,
        "db_queries": list[DbQuery],
        "db_query_count": int,
        "db_duplicate_count": int,
        "db_error_count": int,
        "db_total_duration_ms": float,
        # 1.1.0: queries by kind, and Django's own connection upkeep kept apart
        "db_housekeeping_count": int,
        "db_select_count": int,
        "db_insert_count": int,
        "db_update_count": int,
        "db_delete_count": int,
        "db_transaction_count": int,
        "db_other_count": int,
        "net_urls": list[str],
        "net_requests": list[NetRequest],
        "net_request_count": int,
        "net_error_count": int,
        "net_total_duration_ms": float,
        "net_mocked_urls": list[str],
        # schema 1.1.0
        "line": "int | None",
        "vcs_revision": "str | None",
        "vcs_branch": "str | None",
        "ci_run_id": "str | None",
        "ci_run_url": "str | None",
        # schema 1.1.0: HTTP errors by kind, sleep
        "net_http_error_count": int,
        "sleep_count": int,
        "sleep_total_ms": float,
    },
)


@cache
def record_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one NDJSON line."""
    text = resources.files(__package__).joinpath("record.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
