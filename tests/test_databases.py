"""Each test's record lists exactly its own queries, on real sqlite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Records = Callable[..., dict[str, dict[str, Any]]]

# The same three tests for every driver; {connect} opens a connection, {p} is its placeholder.
SUITE = """
import pytest
{imports}

@pytest.fixture
def conn():
    connection = {connect}
    cursor = connection.cursor()
    cursor.execute("CREATE TEMPORARY TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50))")
    yield connection
    connection.close()

def test_inserts_then_selects(conn):
    cursor = conn.cursor()
    for n in range(5):
        cursor.execute("INSERT INTO items (id, name) VALUES ({p}, {p})", (n, "secret-" + str(n)))
    cursor.execute("SELECT name FROM items WHERE id = {p}", (3,))
    assert cursor.fetchone()[0] == "secret-3"

def test_n_plus_one(conn):
    cursor = conn.cursor()
    cursor.execute("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    cursor.execute("SELECT id FROM items")
    for (item_id,) in cursor.fetchall():
        conn.cursor().execute("SELECT name FROM items WHERE id = {p}", (item_id,))

def test_without_queries():
    pass
"""

CREATE = "CREATE TEMPORARY TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(?))"


def run_suite(
    pytester: pytest.Pytester, records_of: Records, imports: str, connect: str, p: str
) -> dict[str, dict[str, Any]]:
    pytester.makepyfile(test_db=SUITE.format(imports=imports, connect=connect, p=p))
    pytester.runpytest("--telemetry").assert_outcomes(passed=3)
    return records_of()


def queries(record: dict[str, Any]) -> list[tuple[str, int]]:
    return [(q["sql"], q["count"]) for q in record["db_queries"]]


def assert_each_test_has_its_own_queries(records: dict[str, dict[str, Any]], p: str) -> None:
    assert queries(records["test_inserts_then_selects"]) == [
        (CREATE, 1),
        (f"INSERT INTO items (id, name) VALUES ({p}, {p})", 5),
        (f"SELECT name FROM items WHERE id = {p}", 1),
    ]
    assert queries(records["test_n_plus_one"]) == [
        (CREATE, 1),
        ("INSERT INTO items (id, name) VALUES (?, ?)", 1),
        ("SELECT id FROM items", 1),
        (f"SELECT name FROM items WHERE id = {p}", 3),
    ]
    assert records["test_n_plus_one"]["db_duplicate_count"] == 2
    assert records["test_without_queries"]["db_queries"] == []
    assert "secret" not in str(records), "parameter values are never stored"


def test_sqlite_queries_are_recorded_per_test(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    records = run_suite(pytester, records_of, "import sqlite3", 'sqlite3.connect(":memory:")', "?")

    assert_each_test_has_its_own_queries(records, "?")
    assert {q["db_system"] for q in records["test_n_plus_one"]["db_queries"]} == {"sqlite"}


@pytest.mark.postgresql
@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_postgresql_queries_are_recorded_per_test(
    pytester: pytest.Pytester, records_of: Records, postgres_dsn: str, driver: str
) -> None:
    records = run_suite(
        pytester, records_of, f"import {driver}", f"{driver}.connect({postgres_dsn!r})", "%s"
    )

    assert_each_test_has_its_own_queries(records, "%s")
    assert {q["db_system"] for q in records["test_n_plus_one"]["db_queries"]} == {"postgresql"}


@pytest.mark.mariadb
def test_mariadb_queries_are_recorded_per_test(
    pytester: pytest.Pytester, records_of: Records, mariadb: dict[str, Any]
) -> None:
    records = run_suite(
        pytester, records_of, "import pymysql", f"pymysql.connect(**{mariadb!r})", "%s"
    )

    assert_each_test_has_its_own_queries(records, "%s")
    assert {q["db_system"] for q in records["test_n_plus_one"]["db_queries"]} == {"mysql"}
