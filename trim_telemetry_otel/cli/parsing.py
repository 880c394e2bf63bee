"""A decoded record line as a :class:`~.records.Test`, checked field by field and completed.

Records of schema 1.0.0 and 1.x are read alike: fields added after 1.0.0 (query type counts,
housekeeping, sleep, CI/VCS context, ``line``) are used when present and never required. A field
of the wrong type makes the whole line unusable, so that no figure is silently taken as zero.
Every field of the schema the line lacks (or holds ``null`` for a count or a list) is given its
empty value, in the decoded dict itself: the commands read it as it is.

Checking forty fields one by one for each of 100,000 lines would cost more than decoding them.
Lines written by one tool have few shapes (which keys, which value types), so a shape that passed
the full check once is remembered, with the fields it lacks, and later lines of that shape skip
the per-field type checks. The value checks (status, schema version, a non-empty id) run on every
line.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from ..schema import STATUSES
from .records import QUERY_TYPES, Test

SCHEMA_MAJOR = "1"
_MAX_SHAPES = 4096  # a bound, in case every line has a shape of its own

_STRINGS = (
    "name", "class", "module", "file", "framework", "run_id", "status_detail", "failure_phase",
    "failure_type", "failure_message", "skip_reason", "start_time", "end_time", "trace_id",
    "vcs_revision", "vcs_branch", "ci_run_id", "ci_run_url",
)  # fmt: skip
_TYPE_COUNTS = tuple(f"db_{kind}_count" for kind in QUERY_TYPES)
_COUNTS = (
    "db_query_count", "db_duplicate_count", "db_error_count", "net_request_count",
    "net_error_count",
)  # fmt: skip
_OPTIONAL_INTS = (
    "line", "db_housekeeping_count", "net_http_error_count", "sleep_count",
)  # fmt: skip
_INTS = (*_COUNTS, *_OPTIONAL_INTS, *_TYPE_COUNTS)
_TIMES = ("test_duration_ms", "db_total_duration_ms", "net_total_duration_ms")
_NUMBERS = (*_TIMES, "sleep_total_ms")
_LISTS = ("db_queries", "net_requests", "net_urls", "net_mocked_urls")

#: What a field the record lacks (or holds null for) reads as; type counts are apart.
_EMPTY: dict[str, Any] = {
    "schema_version": None,
    **dict.fromkeys(_STRINGS),
    **dict.fromkeys(_OPTIONAL_INTS),
    "sleep_total_ms": None,
    **dict.fromkeys(_COUNTS, 0),
    **dict.fromkeys(_TIMES, 0.0),
    **{key: [] for key in _LISTS},
}
_QUERY_EMPTY: dict[str, Any] = {
    "count": 1, "total_duration_ms": 0.0, "db_system": None, "operation": None, "summary": None,
    "housekeeping": None,
}  # fmt: skip
_CALL_EMPTY: dict[str, Any] = {
    "method": None, "status_code": None, "count": 1, "total_duration_ms": 0.0,
}  # fmt: skip

Shape = tuple[tuple[str, ...], tuple[type, ...]]
# The values to add, the lists to add, and the durations that are integers (a 0 reads as 0.0).
Lacking = tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]
_L = TypeVar("_L")
# Each shape that passed the checks, with the fields its lines lack.
_record_shapes: dict[Shape, Lacking] = {}
_query_shapes: dict[Shape, dict[str, Any]] = {}
_call_shapes: dict[Shape, dict[str, Any]] = {}


class RecordError(ValueError):
    """A line that is JSON but not a usable test record; the message names the field."""


def parse_record(data: Any) -> Test:
    """A decoded JSON line as a :class:`Test` (the same dict, completed), or
    :class:`RecordError` naming what is wrong."""
    if type(data) is not dict:
        raise RecordError(f"not a test record (a JSON {type(data).__name__}, not an object)")
    shape = (tuple(data), tuple(map(type, data.values())))
    lacking = _record_shapes.get(shape)
    if lacking is None:
        _check_types(data)
        lacking = _remember(_record_shapes, shape, _lacking(data))
    version = data.get("schema_version")
    if version is not None and version.split(".", 1)[0] != SCHEMA_MAJOR:
        raise RecordError(f"schema version {version!r}, this reader knows 1.x")
    test_id = data.get("id")
    if not test_id:
        raise RecordError("not a test record (no string 'id')")
    status = data.get("status")
    if status not in STATUSES:
        raise RecordError(f"'status' is {status!r}, not one of {', '.join(STATUSES)}")
    for key in ("net_urls", "net_mocked_urls"):  # the shape says "a list", not of what
        values = data.get(key)
        if values and not all(type(value) is str for value in values):
            raise RecordError(f"'{key}' holds something other than strings")
    values, lists, integral = lacking
    if values:
        data.update(values)
    for key in lists:
        data[key] = []  # a list of its own for each record
    for key in integral:
        if data[key] == 0:
            data[key] = 0.0
    if not data["name"]:
        data["name"] = test_id
    for query in data["db_queries"]:
        _complete(query, _query_shapes, _check_query, _QUERY_EMPTY)
    for call in data["net_requests"]:
        _complete(call, _call_shapes, _check_call, _CALL_EMPTY)
    return cast(Test, data)


def _lacking(data: dict[str, Any]) -> Lacking:
    """The fields a record of this shape has no value for (a null count or list has none), and
    what each reads as: the type counts are 0 in a record that has them (schema 1.1.0 and later)
    and ``None`` in an older one."""
    empties = {**_EMPTY, **dict.fromkeys(_TYPE_COUNTS, 0 if "db_select_count" in data else None)}
    lacking = {
        key: empty
        for key, empty in empties.items()
        if key not in data or (data[key] is None and empty is not None)
    }
    lists = tuple(key for key in lacking if key in _LISTS)
    integral = tuple(key for key in _TIMES if type(data.get(key)) is int)
    return {key: lacking[key] for key in lacking if key not in lists}, lists, integral


def _remember(shapes: dict[Shape, _L], shape: Shape, lacking: _L) -> _L:
    if len(shapes) < _MAX_SHAPES:
        shapes[shape] = lacking
    return lacking


def _complete(
    entry: Any, shapes: dict[Shape, dict[str, Any]], check: Any, empty: dict[str, Any]
) -> None:
    """Check an entry of ``db_queries`` or ``net_requests`` and give it its missing fields."""
    if type(entry) is not dict:
        check(entry)  # which raises: it is no entry at all
    shape = (tuple(entry), tuple(map(type, entry.values())))
    lacking = shapes.get(shape)
    if lacking is None:
        check(entry)
        lacking = {key: value for key, value in empty.items() if key not in entry}
        _remember(shapes, shape, lacking)
    if lacking:
        entry.update(lacking)


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


def _check_query(entry: Any) -> None:
    if type(entry) is not dict or not isinstance(entry.get("sql"), str):
        raise RecordError("a 'db_queries' entry without a string 'sql'")
    for key in ("db_system", "operation", "summary"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise RecordError(_wrong(f"db_queries[].{key}", value, "a string"))
    _int("db_queries[].count", entry.get("count", 1))
    _number("db_queries[].total_duration_ms", entry.get("total_duration_ms", 0))


def _check_call(entry: Any) -> None:
    if type(entry) is not dict or not isinstance(entry.get("url"), str):
        raise RecordError("a 'net_requests' entry without a string 'url'")
    method, status = entry.get("method"), entry.get("status_code")
    if method is not None and not isinstance(method, str):
        raise RecordError(_wrong("net_requests[].method", method, "a string"))
    if status is not None:
        _int("net_requests[].status_code", status)
    _int("net_requests[].count", entry.get("count", 1))
    _number("net_requests[].total_duration_ms", entry.get("total_duration_ms", 0))
