from __future__ import annotations

import json
import os
import sqlite3  # noqa: F401
import urllib.request  # noqa: F401
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Imported before any pytester run snapshots sys.modules, so that inline runs share the one
# process-wide pipeline (provider, processor, instrumentors) and the instrumented library modules,
# as one real process would. Otherwise pytester drops a module patched in one run and the next run
# imports a fresh, uninstrumented copy.
import httpx  # noqa: F401
import jsonschema
import psycopg  # noqa: F401
import psycopg2  # noqa: F401
import pymysql  # noqa: F401
import pytest
import requests  # noqa: F401
import urllib3  # noqa: F401

import trim_telemetry_otel.pytest.recording  # noqa: F401
from tests.http_servers import QuietHandler, serving
from trim_telemetry_otel.schema import record_json_schema

Record = dict[str, Any]

POSTGRES_DSN = os.environ.get(
    "TRIM_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test"
)
MARIADB = {
    "host": os.environ.get("TRIM_TEST_MARIADB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("TRIM_TEST_MARIADB_PORT", "3306")),
    "user": os.environ.get("TRIM_TEST_MARIADB_USER", "root"),
    "password": os.environ.get("TRIM_TEST_MARIADB_PASSWORD", ""),
    "database": os.environ.get("TRIM_TEST_MARIADB_DATABASE", "test"),
}


def read_records(path: Path) -> list[Record]:
    """Every line of a run file, each validated against the shipped JSON Schema."""
    validator = jsonschema.Draft202012Validator(record_json_schema())
    records = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        record = json.loads(line)
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, f"line {number} of {path} breaks the schema: {errors[0]}"
        records.append(record)
    return records


def run_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("run_*.ndjson"))


@pytest.fixture
def records_of(pytester: pytest.Pytester) -> Callable[..., dict[str, Record]]:
    """The records of the only run under pytester's .telemetry, keyed by test name."""

    def collect(directory: Path | None = None) -> dict[str, Record]:
        files = run_files(directory or pytester.path / ".telemetry")
        assert len(files) == 1, files
        records = read_records(files[0])
        by_name = {record["name"]: record for record in records}
        assert len(by_name) == len(records), "two records for one test"
        return by_name

    return collect


def _service(name: str, check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as error:
        message = f"{name} is not reachable: {error!r}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message} (CI=true: DB-backed tests must run, see .ci/run)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    def check() -> None:

        psycopg.connect(POSTGRES_DSN, connect_timeout=3).close()

    _service("PostgreSQL", check)
    return POSTGRES_DSN


@pytest.fixture(scope="session")
def mariadb() -> dict[str, Any]:
    def check() -> None:

        pymysql.connect(**MARIADB, connect_timeout=3).close()

    _service("MariaDB", check)
    return MARIADB


class _EchoPath(QuietHandler):
    def do_GET(self) -> None:
        self.reply(200, json.dumps({"path": self.path}).encode(), "application/json")


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """A real HTTP server on loopback; yields its base URL (no trailing slash)."""
    with serving(_EchoPath) as url:
        yield url
