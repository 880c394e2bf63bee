"""One test as the commands see it (``parsing`` builds it from a record line)."""

from __future__ import annotations

from dataclasses import dataclass, field

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
QUERY_TYPES = ("select", "insert", "update", "delete", "transaction", "other")
_TRANSACTION_WORDS = frozenset(
    {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"}
)


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
        """The distinct host names of the real calls, sorted. Ports are left out: a test's local
        server listens on a new port every run, and that is no new dependency."""
        return sorted({host_of(url) for url in self.net_urls})


def host_of(url: str) -> str:
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):  # an IPv6 literal: [::1]:8000
        return authority.split("]", 1)[0] + "]"
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
