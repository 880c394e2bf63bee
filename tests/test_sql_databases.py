"""The generated statements of tests/sql_corpus.py are real SQL: each one runs on the real server of
its dialect, and its normalised text holds none of the values planted in it."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pymysql
import pytest

from tests import sql_corpus as corpus
from trim_telemetry_otel.sql import normalize_sql

STATEMENTS = 150
TABLE = corpus.digit_free_name("t_sql_", os.getpid())

# Statements that the rules of tests/test_sql_dialects.py are about, checked as valid too.
FIXED = {
    "sqlite": [
        f"SELECT name FROM {TABLE} WHERE name LIKE 'a%' ESCAPE '\\' AND name = 'zq'",
        "SELECT 'C:\\', 'zq', [name], `name` FROM " + TABLE,
        f'SELECT "name", "zq secret" FROM {TABLE} WHERE "{TABLE}"."name" = "zq"',
        "SELECT 0x1F, 1e9, .5, 1., X'1F', TRUE, FALSE, :pname -- zq\n",
    ],
    "postgresql": [
        f"SELECT name FROM {TABLE} WHERE name LIKE 'a%%' ESCAPE '\\' AND name = 'zq'",
        "SELECT 'C:\\', E'it\\'s zq', $$it's zq$$, $fn$ zq $ $fn$, U&'d\\0061t', N'zq', B'0101'",
        "SELECT /* outer /* inner 'zq */ still 'zq' */ 1, 2 # 3, 'zq' -- zq\r, %(pname)s",
        f'SELECT "name", 1.5E-3, .5, 1. FROM "{TABLE}"',
    ],
    "mysql": [
        f"SELECT name FROM {TABLE} WHERE name LIKE 'a%%' ESCAPE '\\\\' AND name = 'zq'",
        "SELECT \"zq secret\", 'it\\'s zq', 'C:\\\\', N'zq', _utf8mb4'zq', X'1F', b'01', 0b101",
        "SELECT 1--1, 2 # zq 'comment\n, 3 -- zq\n, %(pname)s /* zq */",
        "SELECT 0x1F, 1e9, .5, 1., TRUE, FALSE",
    ],
}


def _sqlite() -> Iterator[tuple[Callable[[str], Any], dict[str, Any]]]:
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    flags = {"modern": _runs(lambda: cursor.execute("SELECT 1_000"))}
    flags["double_quoted_strings"] = _runs(lambda: cursor.execute('SELECT "zq_no_such_column"'))
    cursor.execute(corpus.create_table("sqlite", TABLE))
    yield (lambda sql: cursor.execute(sql, {"pname": "x"})), flags
    connection.close()


def _runs(action: Callable[[], object]) -> bool:
    try:
        action()
    except sqlite3.OperationalError:
        return False
    return True


@pytest.fixture
def execute(
    request: pytest.FixtureRequest, dialect: str
) -> Iterator[tuple[Callable[[str], Any], dict[str, Any]]]:
    if dialect == "sqlite":
        yield from _sqlite()
    elif dialect == "postgresql":
        dsn = request.getfixturevalue("postgres_dsn")
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = psycopg.ClientCursor(connection)
            cursor.execute(corpus.create_table("postgresql", TABLE))
            flags = {"modern": connection.info.server_version >= 160000}
            yield (lambda sql: cursor.execute(sql, {"pname": "x"})), flags
    else:
        connection = pymysql.connect(**request.getfixturevalue("mariadb"), autocommit=True)
        try:
            cursor = connection.cursor()
            cursor.execute(corpus.create_table("mysql", TABLE))
            yield (lambda sql: cursor.execute(sql, {"pname": "x"})), {"modern": False}
        finally:
            connection.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_every_generated_statement_is_valid_sql_on_the_real_server_and_leaks_nothing(
    dialect: str, execute: tuple[Callable[[str], Any], dict[str, Any]]
) -> None:
    run, flags = execute
    for seed in range(STATEMENTS):
        statement = corpus.statement(dialect, random.Random(seed), table=TABLE, **flags)
        run(statement.sql)  # raises on a syntax error: the statement is not what we think
        for system in (dialect, None):
            assert corpus.leftovers(normalize_sql(statement.sql, system), statement) == ""


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_the_statements_the_dialect_rules_are_about_are_valid_sql_on_the_real_server(
    dialect: str, execute: tuple[Callable[[str], Any], dict[str, Any]]
) -> None:
    run, _ = execute
    for sql in FIXED[dialect]:
        run(sql)
        for system in (dialect, None):
            assert "zq" not in normalize_sql(sql, system), sql
