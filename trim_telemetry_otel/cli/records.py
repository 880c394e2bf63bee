"""One test as the commands see it: a record line checked field by field and given defaults.

Records of schema 1.0.0 and 1.x are read alike: fields added after 1.0.0 (query type counts,
housekeeping, sleep, CI/VCS context, ``line``) are used when present and never required. A field
of the wrong type makes the whole line unusable, so that no figure is silently taken as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..schema import STATUSES

SCHEMA_MAJOR = "1"
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
QUERY_TYPES = ("select", "insert", "update", "delete", "transaction", "other")
_TRANSACTION_WORDS = frozenset(
    {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"}
)


class RecordError(ValueError):
    """A line that is JSON but not a usable test record; the message names the field."""


@dataclass(slots=True)
class Query:
    sql: str
    count: int
    total_duration_ms: float
    db_system: str | None = None
    operation: str | None = None
    summary: str | None = None
    housekeeping: bool = False

    @property
    def query_type(self) -> str:
        """``select`` … ``other``: from the record's ``operation``, else the first word."""
        word = (self.operation or self.sql.lstrip("( ").split(" ", 1)[0]).upper()
        if word in ("SELECT", "WITH"):
            return "select"
        if word in ("INSERT", "UPDATE", "DELETE"):
            return word.lower()
        return "transaction" if word in _TRANSACTION_WORDS else "other"

    @property
    def is_transaction_control(self) -> bool:
        return self.query_type == "transaction" or self.sql.upper().startswith("SET ")


@dataclass(slots=True)
class NetCall:
    method: str | None
    url: str
    status_code: int | None
    count: int
    total_duration_ms: float


@dataclass(slots=True)
class Test:
    id: str
    status: str
    name: str = ""
    classname: str | None = None
    module: str | None = None
    file: str | None = None
    line: int | None = None
    framework: str | None = None
    run_id: str | None = None
    schema_version: str | None = None
    status_detail: str | None = None
    failure_phase: str | None = None
    failure_type: str | None = None
    failure_message: str | None = None
    skip_reason: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    test_duration_ms: float = 0.0
    trace_id: str | None = None
    db_queries: list[Query] = field(default_factory=list)
    db_query_count: int = 0
    db_duplicate_count: int = 0
    db_error_count: int = 0
    db_total_duration_ms: float = 0.0
    db_housekeeping_count: int | None = None
    db_type_counts: dict[str, int] | None = None
    net_urls: list[str] = field(default_factory=list)
    net_requests: list[NetCall] = field(default_factory=list)
    net_request_count: int = 0
    net_error_count: int = 0
    net_http_error_count: int | None = None
    net_total_duration_ms: float = 0.0
    net_mocked_urls: list[str] = field(default_factory=list)
    sleep_count: int | None = None
    sleep_total_ms: float | None = None
    vcs_revision: str | None = None
    vcs_branch: str | None = None
    ci_run_id: str | None = None
    ci_run_url: str | None = None
    source: str = ""
    source_line: int = 0

    @property
    def outcome(self) -> str:
        """The status with xfail apart: ``xfailed``, ``xpassed`` (non-strict), else the status.

        A strict xpass is ``failed`` in the record and stays a failure here, as pytest reports it.
        """
        if self.status_detail == "xfailed" and self.status == "skipped":
            return "xfailed"
        if self.status_detail == "xpassed" and self.status == "passed":
            return "xpassed"
        return self.status

    @property
    def query_types(self) -> dict[str, int]:
        """Queries by type; the record's own counts when it has them (schema 1.1.0)."""
        if self.db_type_counts is not None:
            return self.db_type_counts
        counts = dict.fromkeys(QUERY_TYPES, 0)
        for query in self.db_queries:
            if not query.housekeeping:
                counts[query.query_type] += query.count
        return counts

    @property
    def hosts(self) -> list[str]:
        """The distinct hosts (``host[:port]``) of the real calls, sorted."""
        return sorted({_host(url) for url in self.net_urls})


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0]
    return host.rsplit("@", 1)[-1]


_STRING_FIELDS = (
    ("name", "name"),
    ("class", "classname"),
    ("module", "module"),
    ("file", "file"),
    ("framework", "framework"),
    ("run_id", "run_id"),
    ("status_detail", "status_detail"),
    ("failure_phase", "failure_phase"),
    ("failure_type", "failure_type"),
    ("failure_message", "failure_message"),
    ("skip_reason", "skip_reason"),
    ("start_time", "start_time"),
    ("end_time", "end_time"),
    ("trace_id", "trace_id"),
    ("vcs_revision", "vcs_revision"),
    ("vcs_branch", "vcs_branch"),
    ("ci_run_id", "ci_run_id"),
    ("ci_run_url", "ci_run_url"),
)
_INT_FIELDS = (
    "db_query_count",
    "db_duplicate_count",
    "db_error_count",
    "net_request_count",
    "net_error_count",
)
_OPTIONAL_INT_FIELDS = ("line", "db_housekeeping_count", "net_http_error_count", "sleep_count")
_NUMBER_FIELDS = ("test_duration_ms", "db_total_duration_ms", "net_total_duration_ms")


def parse_record(data: Any) -> Test:
    """A decoded JSON line as a :class:`Test`, or :class:`RecordError` naming what is wrong."""
    if not isinstance(data, dict):
        raise RecordError(f"not a test record (a JSON {type(data).__name__}, not an object)")
    version = data.get("schema_version")
    if version is not None:
        if not isinstance(version, str):
            raise RecordError("'schema_version' is not a string")
        if version.split(".", 1)[0] != SCHEMA_MAJOR:
            raise RecordError(f"schema version {version!r}, this reader knows 1.x")
    test_id = data.get("id")
    if not isinstance(test_id, str) or not test_id:
        raise RecordError("not a test record (no string 'id')")
    status = data.get("status")
    if status not in STATUSES:
        raise RecordError(f"'status' is {status!r}, not one of {', '.join(STATUSES)}")
    test = Test(test_id, status, schema_version=version)
    for key, attribute in _STRING_FIELDS:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise RecordError(_wrong(key, value, "a string"))
            setattr(test, attribute, value)
    for key in _INT_FIELDS:
        value = data.get(key)
        if value is not None:
            setattr(test, key, _int(key, value))
    for key in _OPTIONAL_INT_FIELDS:
        value = data.get(key)
        if value is not None:
            setattr(test, key, _int(key, value))
    for key in _NUMBER_FIELDS:
        value = data.get(key)
        if value is not None:
            setattr(test, key, _number(key, value))
    if (sleep := data.get("sleep_total_ms")) is not None:
        test.sleep_total_ms = _number("sleep_total_ms", sleep)
    if not test.name:
        test.name = test_id
    if "db_select_count" in data:
        test.db_type_counts = {
            kind: _int(f"db_{kind}_count", data.get(f"db_{kind}_count") or 0)
            for kind in QUERY_TYPES
        }
    test.db_queries = [_query(entry) for entry in _list(data, "db_queries")]
    test.net_requests = [_call(entry) for entry in _list(data, "net_requests")]
    test.net_urls = _strings(data, "net_urls")
    test.net_mocked_urls = _strings(data, "net_mocked_urls")
    return test


def _wrong(key: str, value: object, expected: str) -> str:
    return f"'{key}' is {type(value).__name__} {_clip(value)}, expected {expected}"


def _clip(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _int(key: str, value: object) -> int:
    if type(value) is not int:  # bool is an int subclass, and no count is a bool
        raise RecordError(_wrong(key, value, "an integer"))
    return value


def _number(key: str, value: object) -> float:
    if type(value) not in (int, float):
        raise RecordError(_wrong(key, value, "a number"))
    return float(value)  # type: ignore[arg-type]


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(_wrong(key, value, "an array"))
    return value


def _strings(data: dict[str, Any], key: str) -> list[str]:
    values = _list(data, key)
    for value in values:
        if not isinstance(value, str):
            raise RecordError(_wrong(f"{key}[]", value, "a string"))
    return values


def _query(entry: Any) -> Query:
    if not isinstance(entry, dict) or not isinstance(entry.get("sql"), str):
        raise RecordError("a 'db_queries' entry without a string 'sql'")
    optional = {}
    for key in ("db_system", "operation", "summary"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise RecordError(_wrong(f"db_queries[].{key}", value, "a string"))
        optional[key] = value
    return Query(
        entry["sql"],
        _int("db_queries[].count", entry.get("count", 1)),
        _number("db_queries[].total_duration_ms", entry.get("total_duration_ms", 0)),
        housekeeping=entry.get("housekeeping") is True,
        **optional,
    )


def _call(entry: Any) -> NetCall:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise RecordError("a 'net_requests' entry without a string 'url'")
    method, status = entry.get("method"), entry.get("status_code")
    if method is not None and not isinstance(method, str):
        raise RecordError(_wrong("net_requests[].method", method, "a string"))
    return NetCall(
        method,
        entry["url"],
        None if status is None else _int("net_requests[].status_code", status),
        _int("net_requests[].count", entry.get("count", 1)),
        _number("net_requests[].total_duration_ms", entry.get("total_duration_ms", 0)),
    )
