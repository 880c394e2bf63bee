"""Ground truth for queries: every test's ``db_query_count`` equals what Django's own query log
saw over the same span of the test, on every backend, under the Django runner and under
pytest-django.

The Django runner's records span ``startTest``..``stopTest``, which is what the project's
``CountedTestCase`` captures with ``CaptureQueriesContext``; pytest's span the whole protocol less
shared fixtures, which ``tests/django_project/ground_truth.py`` counts with an execute wrapper.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_records, run_files
from tests.test_django_runner import PROJECT, project_environment, server_environment

ITERATOR = "IteratorTests.test_a_queryset_iterated_in_chunks"
BACKENDS = {
    # name: (TRIM_DJANGO_DB, extra environment)
    "sqlite": ("sqlite", {}),
    "psycopg3": ("postgresql", {}),
    "psycopg2": ("postgresql", {"TRIM_DJANGO_DRIVER": "psycopg2"}),
    "mysqlclient": ("mysql", {}),
}
RUNNERS = ("django", "pytest")
_INI = "[pytest]\naddopts =\n"


def ground_truth_run(
    out: Path, backend: str, runner: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    db, extra = BACKENDS[backend]
    environ = project_environment(
        db,
        # Other test runs use the same servers at the same time: a database of our own.
        TRIM_DJANGO_DB_NAME=f"trim_truth_{os.getpid()}_{backend}_{runner}",
        **extra,
        **env,
    )
    telemetry = str(out / "telemetry")
    log = str(out / "queries.ndjson")
    if runner == "django":
        environ["TRIM_QUERY_LOG"] = log
        command = [sys.executable, "-m", "trim_telemetry_otel.django", "--telemetry-dir", telemetry]
    else:
        environ["TRIM_PROTOCOL_LOG"] = log
        (out / "pytest.ini").write_text(_INI)
        command = [
            sys.executable, "-m", "pytest", "-c", str(out / "pytest.ini"), "--rootdir", ".",
            "--noconftest", "-p", "ground_truth", "-p", "django", "-p", "no:cacheprovider",
            "--telemetry", "--telemetry-dir", telemetry,
        ]  # fmt: skip
    return subprocess.run(
        [*command, "shop"], cwd=PROJECT, env=environ, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module", params=[(b, r) for b in BACKENDS for r in RUNNERS], ids="-".join)
def truth(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, dict[str, Any]], dict[str, int]]:
    """(backend, records by short id, Django's count by short id) of one run."""
    backend, runner = request.param
    env = server_environment(request, BACKENDS[backend][0])
    out = tmp_path_factory.mktemp(f"{backend}-{runner}")
    done = ground_truth_run(out, backend, runner, env)
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = run_files(out / "telemetry")
    records = {_short(r["id"]): r for r in read_records(path)}
    lines = (out / "queries.ndjson").read_text().splitlines()
    counts = {_short(e["id"]): e["count"] for e in map(json.loads, lines)}
    return backend, records, counts


def _short(test_id: str) -> str:
    """``Class.method`` from a Django id or a pytest node id."""
    parts = test_id.replace("::", ".").split(".")
    return ".".join(parts[-2:])


def test_every_tests_query_count_is_djangos(
    truth: tuple[str, dict[str, dict[str, Any]], dict[str, int]],
) -> None:
    backend, records, counts = truth
    assert len(counts) >= 10
    ours = {id_: records[id_]["db_query_count"] for id_ in counts if id_ != ITERATOR}
    assert ours == {id_: count for id_, count in counts.items() if id_ != ITERATOR}
    assert sum(counts.values()) > 20


def test_an_iterated_queryset_counts_its_chunked_reads(
    truth: tuple[str, dict[str, dict[str, Any]], dict[str, int]],
) -> None:
    # Server-side cursors on PostgreSQL (psycopg 3's named cursors were once untraced).
    backend, records, counts = truth
    assert records[ITERATOR]["db_query_count"] == counts[ITERATOR]


def test_djangos_connection_upkeep_is_housekeeping_on_postgresql(
    truth: tuple[str, dict[str, dict[str, Any]], dict[str, int]],
) -> None:
    backend, records, counts = truth
    if not backend.startswith("psycopg"):
        pytest.skip("PostgreSQL runs its upkeep through raw cursors")
    health = records["UpkeepTests.test_a_health_check_before_a_query"]
    time_zone = records["UpkeepTests.test_a_time_zone_change_resets_the_session_time_zone"]
    own = records["UpkeepTests.test_an_applications_own_select_1_is_a_query"]
    upkeep = {
        (q["sql"], q["housekeeping"])
        for r in (health, time_zone, own)
        for q in r["db_queries"]
        if q["sql"].startswith("SELECT set_config") or q["sql"] == "SELECT ?"
    }
    assert upkeep == {
        ("SELECT ?", True),
        ("SELECT set_config(?, %s, ?)", True),
        ("SELECT ?", False),  # the application's own SELECT 1 is a query
    }
    assert health["db_housekeeping_count"] >= 1
    assert time_zone["db_housekeeping_count"] >= 2  # the change and its undoing


def test_query_kinds_add_up_to_the_query_count(
    truth: tuple[str, dict[str, dict[str, Any]], dict[str, int]],
) -> None:
    _, records, _ = truth
    kinds = ("select", "insert", "update", "delete", "transaction", "other")
    for record in records.values():
        assert sum(record[f"db_{kind}_count"] for kind in kinds) == record["db_query_count"]
    every_kind = records["UpkeepTests.test_every_kind_of_statement"]
    assert every_kind["db_insert_count"] == 1
    assert every_kind["db_update_count"] == 1
    assert every_kind["db_delete_count"] == 2  # the book rows, then the author
    summaries = {q["summary"] for q in every_kind["db_queries"] if not q["housekeeping"]}
    assert {"INSERT shop_author", "UPDATE shop_author", "DELETE shop_book"} <= summaries
