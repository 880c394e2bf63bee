"""Hand-made run files with known answers, for the ``trim-telemetry`` tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema

from trim_telemetry_otel.schema import record_json_schema

Record = dict[str, Any]
T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=timezone.utc)


def query(sql: str, count: int = 1, ms: float = 1.0) -> Record:
    return {
        "sql": sql,
        "count": count,
        "total_duration_ms": ms,
        "db_system": "sqlite",
        "db_name": None,
    }


def record(
    test_id: str,
    status: str = "passed",
    *,
    at: float = 0.0,
    ms: float = 1.0,
    run_id: str = "run_20261121_100000",
    **fields: Any,
) -> Record:
    """A complete record of the shipped schema; ``fields`` override or add to it."""
    module_path, _, rest = test_id.partition("::")
    parts = rest.split("::")
    start = T0 + timedelta(seconds=at)
    queries = fields.pop("db_queries", [])
    requests = fields.pop("net_requests", [])
    data: Record = {
        "run_id": run_id,
        "id": test_id,
        "name": parts[-1],
        "class": "::".join(parts[:-1]) or None,
        "module": module_path.removesuffix(".py").replace("/", "."),
        "file": module_path,
        "framework": "pytest",
        "status": status,
        "status_detail": None,
        "failure_phase": None,
        "failure_type": None,
        "failure_message": None,
        "skip_reason": None,
        "start_time": start.isoformat(timespec="microseconds"),
        "end_time": (start + timedelta(milliseconds=ms)).isoformat(timespec="microseconds"),
        "test_duration_ms": ms,
        "trace_id": "0" * 31 + "1",
        "span_id": "0" * 15 + "1",
        "db_queries": queries,
        "db_query_count": sum(q["count"] for q in queries),
        "db_duplicate_count": sum(
            q["count"] - 1 for q in queries if not q["sql"].startswith(("BEGIN", "SAVEPOINT"))
        ),
        "db_error_count": 0,
        "db_total_duration_ms": round(sum(q["total_duration_ms"] for q in queries), 3),
        "net_urls": list(dict.fromkeys(r["url"] for r in requests)),
        "net_requests": requests,
        "net_request_count": sum(r["count"] for r in requests),
        "net_error_count": sum(r["count"] for r in requests if r["status_code"] is None),
        "net_total_duration_ms": round(sum(r["total_duration_ms"] for r in requests), 3),
        "net_mocked_urls": [],
    }
    if "db_select_count" in record_json_schema()["properties"]:
        for kind in ("select", "insert", "update", "delete", "transaction", "other"):
            data[f"db_{kind}_count"] = sum(q["count"] for q in queries if _kind(q) == kind)
    data.update(fields)
    return complete(data)


def _kind(entry: Record) -> str:
    word = entry["sql"].split(" ", 1)[0].upper()
    if word in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        return word.lower()
    return "transaction" if word in ("BEGIN", "SAVEPOINT", "COMMIT", "ROLLBACK") else "other"


def complete(data: Record) -> Record:
    """Give every field the shipped schema requires and ``data`` lacks its empty value, so that
    records made here follow the schema as it grows (fields added in 1.1.0 and later)."""
    schema = record_json_schema()
    data.setdefault("schema_version", schema["properties"]["schema_version"].get("const"))
    for key in schema["required"]:
        if key not in data:
            data[key] = _empty(schema["properties"][key], schema)
    for key in ("db_queries", "net_requests"):
        items = schema["properties"][key]["items"]
        for entry in data[key] if isinstance(data[key], list) else ():
            for name in items.get("required", ()):
                if name not in entry and isinstance(entry, dict):
                    entry[name] = _empty(items["properties"][name], schema)
    return data


def _empty(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    if "$ref" in spec:
        return _empty(schema["$defs"][spec["$ref"].rsplit("/", 1)[-1]], schema)
    if "enum" in spec:
        return None if None in spec["enum"] else spec["enum"][0]
    kinds = spec.get("type", "null")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if "null" in kinds:
        return None
    empty = {"integer": 0, "number": 0, "array": [], "string": "", "object": {}, "boolean": False}
    return empty[kinds[0]]


def as_schema_1_0(data: Record) -> Record:
    """The record as a schema-1.0.0 writer wrote it: only the fields that version had."""
    fields_1_0 = {
        "schema_version", "run_id", "id", "name", "class", "module", "file", "framework",
        "status", "status_detail", "failure_phase", "failure_type", "failure_message",
        "skip_reason", "start_time", "end_time", "test_duration_ms", "trace_id", "span_id",
        "db_queries", "db_query_count", "db_duplicate_count", "db_error_count",
        "db_total_duration_ms", "net_urls", "net_requests", "net_request_count",
        "net_error_count", "net_total_duration_ms", "net_mocked_urls",
    }  # fmt: skip
    old = {key: value for key, value in data.items() if key in fields_1_0}
    old["schema_version"] = "1.0.0"
    old["db_queries"] = [
        {k: q[k] for k in ("sql", "count", "total_duration_ms", "db_system", "db_name")}
        for q in old["db_queries"]
    ]
    return old


def known_run() -> list[Record]:
    """Eight tests covering every outcome, an N+1 pattern and real network calls."""
    return [
        record(
            "tests/a.py::test_fast",
            at=0,
            ms=10.0,
            db_queries=[query("SELECT ? FROM t", 1, 0.5), query("SELECT * FROM u", 1, 0.25)],
        ),
        record(
            "tests/a.py::TestApi::test_n_plus_one",
            at=1,
            ms=120.0,
            db_queries=[
                query('SELECT "user"."id" FROM "user" WHERE "user"."id" = %s', 5, 2.5),
                query("BEGIN", 1, 0.125),
                query("SAVEPOINT ?", 3, 0.375),
            ],
        ),
        record(
            "tests/b.py::test_fails",
            "failed",
            at=2,
            ms=30.0,
            failure_phase="call",
            failure_type="AssertionError",
            failure_message="assert 1 == 2",
            db_queries=[query("INSERT INTO t VALUES (?)")],
        ),
        record(
            "tests/b.py::test_errors",
            "error",
            at=3,
            ms=5.0,
            failure_phase="setup",
            failure_type="RuntimeError",
            failure_message="fixture broke",
        ),
        record("tests/b.py::test_skipped", "skipped", at=4, ms=0.0, skip_reason="later"),
        record(
            "tests/b.py::test_xfail",
            "skipped",
            at=5,
            ms=2.0,
            status_detail="xfailed",
            skip_reason="known bug",
        ),
        record("tests/b.py::test_xpass", "passed", at=6, ms=3.0, status_detail="xpassed"),
        record(
            "tests/c.py::test_network",
            at=7,
            ms=50.0,
            net_requests=[
                {
                    "method": "GET",
                    "url": "http://127.0.0.1:8000/a?token=REDACTED",
                    "status_code": 200,
                    "count": 2,
                    "total_duration_ms": 8.0,
                },
                {
                    "method": "GET",
                    "url": "http://127.0.0.1:9/down",
                    "status_code": None,
                    "count": 1,
                    "total_duration_ms": 1.0,
                },
            ],
            net_mocked_urls=["https://api.example/mocked"],
        ),
    ]


def known_setup() -> list[Record]:
    return [
        record(
            "tests/conftest.py::django_db_setup[session setup]",
            at=0,
            ms=100.0,
            db_queries=[query("CREATE TABLE t (id INTEGER)", 4, 3.0)],
        ),
    ]


def write_run(
    path: Path, records: list[Record], *, setup: list[Record] | None = None, validate: bool = True
) -> Path:
    """Write records as a run file (and its set-up file), each line checked against the schema."""
    if validate:
        validator = jsonschema.Draft202012Validator(record_json_schema())
        for item in [*records, *(setup or [])]:
            validator.validate(item)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    if setup:
        setup_file = path.parent / "setup" / path.name
        setup_file.parent.mkdir(exist_ok=True)
        setup_file.write_text("".join(json.dumps(r) + "\n" for r in setup))
    return path
