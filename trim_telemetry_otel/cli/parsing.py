"""A decoded record line as a :class:`~.records.Test`, checked field by field.

Records of schema 1.0.0 and 1.x are read alike: fields added after 1.0.0 (query type counts,
housekeeping, sleep, CI/VCS context, ``line``) are used when present and never required. A field
of the wrong type makes the whole line unusable, so that no figure is silently taken as zero.

Checking forty fields one by one for each of 100,000 lines would cost more than decoding them.
Lines written by one tool have few shapes (which keys, which value types), so a shape that passed
the full check once is remembered and later lines of that shape skip the per-field type checks.
The value checks (status, schema version, a non-empty id) run on every line.
"""

from __future__ import annotations

from typing import Any

from ..schema import STATUSES
from .records import QUERY_TYPES, NetCall, Query, Test

SCHEMA_MAJOR = "1"
_MAX_SHAPES = 4096  # a bound, in case every line has a shape of its own

_STRINGS = (
    "name", "class", "module", "file", "framework", "run_id", "status_detail", "failure_phase",
    "failure_type", "failure_message", "skip_reason", "start_time", "end_time", "trace_id",
    "vcs_revision", "vcs_branch", "ci_run_id", "ci_run_url",
)  # fmt: skip
_INTS = (
    "db_query_count", "db_duplicate_count", "db_error_count", "net_request_count",
    "net_error_count", "line", "db_housekeeping_count", "net_http_error_count", "sleep_count",
    *(f"db_{kind}_count" for kind in QUERY_TYPES),
)  # fmt: skip
_NUMBERS = ("test_duration_ms", "db_total_duration_ms", "net_total_duration_ms", "sleep_total_ms")
_LISTS = ("db_queries", "net_requests", "net_urls", "net_mocked_urls")

_record_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()
_query_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()
_call_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()


class RecordError(ValueError):
    """A line that is JSON but not a usable test record; the message names the field."""


def parse_record(data: Any) -> Test:
    """A decoded JSON line as a :class:`Test`, or :class:`RecordError` naming what is wrong."""
    if type(data) is not dict:
        raise RecordError(f"not a test record (a JSON {type(data).__name__}, not an object)")
    shape = (tuple(data), tuple(map(type, data.values())))
    if shape not in _record_shapes:
        _check_types(data)
        _remember(_record_shapes, shape)
    version = data.get("schema_version")
    if version is not None and version.split(".", 1)[0] != SCHEMA_MAJOR:
        raise RecordError(f"schema version {version!r}, this reader knows 1.x")
    test_id = data.get("id")
    if not test_id:
        raise RecordError("not a test record (no string 'id')")
    status = data.get("status")
    if status not in STATUSES:
        raise RecordError(f"'status' is {status!r}, not one of {', '.join(STATUSES)}")
    get = data.get
    for key in ("net_urls", "net_mocked_urls"):  # the shape says "a list", not of what
        values = get(key)
        if values and not all(type(value) is str for value in values):
            raise RecordError(f"'{key}' holds something other than strings")
    # Positional, in the order of Test's fields: a call with forty keywords costs several times
    # more (tests/test_cli_decoding.py checks that every field gets its own value).
    return Test(
        test_id,
        status,
        get("name") or test_id,  # name
        get("class"),  # classname
        get("module"),  # module
        get("file"),  # file
        get("line"),  # line
        get("framework"),  # framework
        get("run_id"),  # run_id
        version,  # schema_version
        get("status_detail"),  # status_detail
        get("failure_phase"),  # failure_phase
        get("failure_type"),  # failure_type
        get("failure_message"),  # failure_message
        get("skip_reason"),  # skip_reason
        get("start_time"),  # start_time
        get("end_time"),  # end_time
        get("test_duration_ms") or 0.0,  # test_duration_ms
        get("trace_id"),  # trace_id
        [_query(entry) for entry in get("db_queries") or ()],  # db_queries
        get("db_query_count") or 0,  # db_query_count
        get("db_duplicate_count") or 0,  # db_duplicate_count
        get("db_error_count") or 0,  # db_error_count
        get("db_total_duration_ms") or 0.0,  # db_total_duration_ms
        get("db_housekeeping_count"),  # db_housekeeping_count
        (  # db_type_counts
            {kind: get(f"db_{kind}_count") or 0 for kind in QUERY_TYPES}
            if "db_select_count" in data
            else None
        ),
        get("net_urls") or [],  # net_urls
        [_call(entry) for entry in get("net_requests") or ()],  # net_requests
        get("net_request_count") or 0,  # net_request_count
        get("net_error_count") or 0,  # net_error_count
        get("net_http_error_count"),  # net_http_error_count
        get("net_total_duration_ms") or 0.0,  # net_total_duration_ms
        get("net_mocked_urls") or [],  # net_mocked_urls
        get("sleep_count"),  # sleep_count
        get("sleep_total_ms"),  # sleep_total_ms
        get("vcs_revision"),  # vcs_revision
        get("vcs_branch"),  # vcs_branch
        get("ci_run_id"),  # ci_run_id
        get("ci_run_url"),  # ci_run_url
    )


def _remember(shapes: set[Any], shape: Any) -> None:
    if len(shapes) < _MAX_SHAPES:
        shapes.add(shape)


def _check_types(data: dict[str, Any]) -> None:
    version = data.get("schema_version")
    if version is not None and not isinstance(version, str):
        raise RecordError(_wrong("schema_version", version, "a string"))
    if not isinstance(data.get("id"), str):
        raise RecordError("not a test record (no string 'id')")
    for key in _STRINGS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise RecordError(_wrong(key, value, "a string"))
    for key in _INTS:
        value = data.get(key)
        if value is not None:
            _int(key, value)
    for key in _NUMBERS:
        value = data.get(key)
        if value is not None:
            _number(key, value)
    for key in _LISTS:
        value = data.get(key)
        if value is not None and not isinstance(value, list):
            raise RecordError(_wrong(key, value, "an array"))
    for key in ("net_urls", "net_mocked_urls"):
        for value in data.get(key) or ():
            if not isinstance(value, str):
                raise RecordError(_wrong(f"{key}[]", value, "a string"))


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


def _query(entry: Any) -> Query:
    if type(entry) is not dict:
        raise RecordError("a 'db_queries' entry without a string 'sql'")
    shape = (tuple(entry), tuple(map(type, entry.values())))
    if shape not in _query_shapes:
        if not isinstance(entry.get("sql"), str):
            raise RecordError("a 'db_queries' entry without a string 'sql'")
        for key in ("db_system", "operation", "summary"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise RecordError(_wrong(f"db_queries[].{key}", value, "a string"))
        _int("db_queries[].count", entry.get("count", 1))
        _number("db_queries[].total_duration_ms", entry.get("total_duration_ms", 0))
        _remember(_query_shapes, shape)
    get = entry.get
    return Query(
        entry["sql"],
        get("count", 1),
        get("total_duration_ms", 0.0),
        get("db_system"),
        get("operation"),
        get("summary"),
        get("housekeeping") is True,
    )


def _call(entry: Any) -> NetCall:
    if type(entry) is not dict:
        raise RecordError("a 'net_requests' entry without a string 'url'")
    shape = (tuple(entry), tuple(map(type, entry.values())))
    if shape not in _call_shapes:
        if not isinstance(entry.get("url"), str):
            raise RecordError("a 'net_requests' entry without a string 'url'")
        method, status = entry.get("method"), entry.get("status_code")
        if method is not None and not isinstance(method, str):
            raise RecordError(_wrong("net_requests[].method", method, "a string"))
        if status is not None:
            _int("net_requests[].status_code", status)
        _int("net_requests[].count", entry.get("count", 1))
        _number("net_requests[].total_duration_ms", entry.get("total_duration_ms", 0))
        _remember(_call_shapes, shape)
    get = entry.get
    return NetCall(
        get("method"), entry["url"], get("status_code"), get("count", 1),
        get("total_duration_ms", 0.0),
    )  # fmt: skip
