"""Messages lose their values: real driver errors (sqlite, PostgreSQL, MariaDB), URLs, pairs."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import MySQLdb
import psycopg
import psycopg2
import pymysql
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trim_telemetry_otel import messages
from trim_telemetry_otel.messages import (
    outgoing_message,
    scrub_message,
    scrub_stacktrace,
    set_messages_mode,
)
from trim_telemetry_otel.roots import exception_message

MARK = "zqSECRETzq"
# Always the same length: PostgreSQL cuts an echoed line past a fixed width, and the "truncated"
# case below must be cut whatever the pid.
TABLE = f"secrets_msg_{os.getpid():08d}"


def message_of(action: Callable[[], object]) -> str:
    """What the records would say about the exception ``action`` raises (``Type: text``)."""
    with pytest.raises(Exception) as caught:
        action()
    return exception_message(caught.type, caught.value)


def assert_scrubbed(message: str, *kept: str) -> str:
    scrubbed = scrub_message(message)
    assert MARK in message, "the driver did not quote the value: the case proves nothing"
    assert MARK not in scrubbed, scrubbed
    for text in kept:
        assert text in scrubbed, scrubbed
    assert scrub_message(scrubbed) == scrubbed
    return scrubbed


def test_sqlite_errors_lose_the_literals_they_quote() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (email TEXT UNIQUE)")

    near = message_of(lambda: connection.execute(f"SELECT * FROM t WHERE email = 'a' '{MARK}'"))
    token = message_of(lambda: connection.execute(f"SELECT * FROM t WHERE email = '{MARK}"))
    blob = message_of(lambda: connection.execute(f"SELECT x'{MARK}'"))

    assert assert_scrubbed(near) == 'sqlite3.OperationalError: near "?": syntax error'
    assert assert_scrubbed(token) == 'sqlite3.OperationalError: unrecognized token: "?"'
    assert assert_scrubbed(blob) == 'sqlite3.OperationalError: unrecognized token: "?"'
    keyword = message_of(lambda: connection.execute("SELECT * FROM WHERE"))
    assert (
        scrub_message(keyword)
        == keyword
        == ('sqlite3.OperationalError: near "WHERE": syntax error')
    )


@pytest.fixture(params=[psycopg, psycopg2], ids=["psycopg", "psycopg2"])
def pg_cursor(request: pytest.FixtureRequest, postgres_dsn: str) -> Iterator[Any]:
    driver = request.param
    connection = driver.connect(postgres_dsn)
    connection.autocommit = True
    cursor = connection.cursor()
    table = f"{TABLE}_{driver.__name__}"
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(
        f"CREATE TABLE {table} (id int PRIMARY KEY, email text UNIQUE, n int CHECK (n > 0),"
        f" ref int REFERENCES {table}(id))"
    )
    cursor.execute(f"INSERT INTO {table} VALUES (1, %s, 1, NULL)", (MARK + "@example.com",))
    yield cursor, table
    cursor.execute(f"DROP TABLE {table}")
    connection.close()


def test_postgresql_errors_lose_keys_rows_inputs_and_echoed_sql(pg_cursor: Any) -> None:
    cursor, t = pg_cursor
    execute = cursor.execute

    unique = message_of(
        lambda: execute(f"INSERT INTO {t} VALUES (2, %s, 1)", (MARK + "@example.com",))
    )
    check = message_of(lambda: execute(f"INSERT INTO {t} VALUES (3, %s, -1)", (MARK,)))
    foreign = message_of(lambda: execute(f"INSERT INTO {t} VALUES (4, 'x', 1, %s)", (77,)))
    syntax = message_of(lambda: execute(f"SELECT 1 WHERE 2 = '{MARK}'"))
    truncated = message_of(lambda: execute(f"SELECT * FROM {t} WHERE id = '{MARK}'"))
    near = message_of(lambda: execute(f"SELECT * FROM {t} WHERE email = 'a' '{MARK}'"))
    unterminated = message_of(lambda: execute(f"SELECT * FROM {t} WHERE email = '{MARK}"))
    json = message_of(lambda: execute(f"""SELECT '{{"a": {MARK}}}'::json"""))
    second_line = message_of(lambda: execute(f"SELECT 1,\n '{MARK}'::int"))

    assert_scrubbed(unique, f'unique constraint "{t}_email_key"', "Key (email)=(?) already exists.")
    assert_scrubbed(check, f'check constraint "{t}_n_check"', "Failing row contains (?).")
    assert "Key (ref)=(?) is not present in table" in scrub_message(foreign)
    assert_scrubbed(syntax, 'for type integer: "?"', "LINE 1: SELECT ? WHERE ? = ?")
    # An echo cut at the front may start inside a literal: its text goes altogether.
    assert_scrubbed(truncated, 'for type integer: "?"\nLINE 1: …')
    assert_scrubbed(near, 'syntax error at or near "?"')
    assert_scrubbed(unterminated, 'unterminated quoted string at or near "?"')
    assert_scrubbed(json, 'Token "?" is invalid.', "JSON data, line 1: ?")
    assert_scrubbed(second_line, 'for type integer: "?"', "LINE 2: …")
    assert "^" not in scrub_message(syntax), "the caret under the echoed SQL goes with it"


@pytest.fixture(params=[pymysql, MySQLdb], ids=["pymysql", "mysqlclient"])
def mysql_cursor(request: pytest.FixtureRequest, mariadb: dict[str, Any]) -> Iterator[Any]:
    driver = request.param
    if driver is pymysql:
        connection = pymysql.connect(**mariadb)
    else:
        connection = MySQLdb.connect(
            host=mariadb["host"],
            port=mariadb["port"],
            user=mariadb["user"],
            passwd=mariadb["password"],
            db=mariadb["database"],
        )
    connection.autocommit(True)
    cursor = connection.cursor()
    table = f"{TABLE}_{driver.__name__}"
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, email varchar(100) UNIQUE, d date)")
    cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    cursor.execute(f"INSERT INTO {table} VALUES (1, %s, NULL)", (MARK + "@example.com",))
    yield cursor, table
    cursor.execute(f"DROP TABLE {table}")
    connection.close()


def test_mysql_errors_lose_entries_values_and_echoed_sql(mysql_cursor: Any) -> None:
    cursor, t = mysql_cursor
    execute = cursor.execute

    duplicate = message_of(
        lambda: execute(f"INSERT INTO {t} VALUES (2, %s, NULL)", (MARK + "@example.com",))
    )
    integer = message_of(lambda: execute(f"INSERT INTO {t} VALUES (%s, 'e', NULL)", (MARK,)))
    date = message_of(lambda: execute(f"INSERT INTO {t} VALUES (3, 'f', %s)", (MARK,)))
    near = message_of(lambda: execute(f"SELECT * FROM {t} WHERE id = 1 AND AND email = '{MARK}'"))

    assert_scrubbed(duplicate, "(1062, \"Duplicate entry '?' for key 'email'\")")
    assert_scrubbed(integer, "Incorrect integer value: '?' for column")
    assert_scrubbed(date, "Incorrect date value: '?' for column")
    assert_scrubbed(near, "syntax to use near 'AND email = ?' at line 1")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded "
            f"with url: /p?token={MARK}&page=2 (Caused by NewConnectionError)",
            "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded "
            "with url: /p?token=REDACTED&page=2 (Caused by NewConnectionError)",
        ),
        (
            f"HTTPError: 403 for url: https://u:{MARK}@h/p;jsessionid={MARK}?api_key={MARK}#{MARK}",
            "HTTPError: 403 for url: https://REDACTED:REDACTED@h/p;jsessionid=REDACTED"
            "?api_key=REDACTED",
        ),
        (f"cannot reach app:{MARK}@db:5432", "cannot reach REDACTED:REDACTED@db:5432"),
        (
            f"bad dsn host=db password={MARK} user=app",
            "bad dsn host=db password=REDACTED user=app",
        ),
        (
            f"assert {{'password': '{MARK}', 'name': 'al'}} == {{}}",
            "assert {'password': 'REDACTED', 'name': 'al'} == {}",
        ),
        (f'{{"client_secret": "{MARK}"}}', '{"client_secret": "REDACTED"}'),
        (f"Authorization: Bearer {MARK}", "Authorization: Bearer REDACTED"),
        (f"x-api-key={MARK}, retrying", "x-api-key=REDACTED, retrying"),
    ],
)
def test_urls_and_secret_pairs_in_messages_are_redacted(message: str, expected: str) -> None:
    assert scrub_message(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "AssertionError: assert 3 == 4",
        "status code: 500, error code=42, key: email",
        "AssertionError: assert 'shoes' in ['hats']",
        "KeyError: 'keyword'",
        "page=2&sort=name",
        "see https://docs.example.com/errors#e42?",
        "UNIQUE constraint failed: item.sku",
        'relation "missing" does not exist',
    ],
)
def test_ordinary_messages_are_kept_as_they_are(message: str) -> None:
    expected = message.replace("#e42?", "")  # a URL never keeps its fragment
    assert scrub_message(message) == expected


STACKTRACE = f"""Traceback (most recent call last):
  File "/app/tests/test_x.py", line 12, in test_x
    cursor.execute("INSERT INTO t VALUES ('{MARK}')")
  File "/venv/psycopg/cursor.py", line 97, in execute
    raise ex.with_traceback(None)
          ^^^^^^^^^^^^^^^^^^^^^^^
psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "t_pkey"
DETAIL:  Key (email)=({MARK}) already exists.
"""


def test_stacktraces_keep_frames_and_lose_source_lines_and_values() -> None:
    assert scrub_stacktrace(STACKTRACE) == (
        "Traceback (most recent call last):\n"
        '  File "/app/tests/test_x.py", line 12, in test_x\n'
        '  File "/venv/psycopg/cursor.py", line 97, in execute\n'
        'psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "t_pkey"\n'
        "DETAIL:  Key (email)=(?) already exists."
    )
    assert scrub_stacktrace(STACKTRACE, keep_messages=False) == (
        "Traceback (most recent call last):\n"
        '  File "/app/tests/test_x.py", line 12, in test_x\n'
        '  File "/venv/psycopg/cursor.py", line 97, in execute'
    )


@pytest.fixture
def mode() -> Iterator[Callable[[str | None], None]]:
    yield set_messages_mode
    set_messages_mode(None)


def test_messages_can_be_switched_off(
    mode: Callable[[str | None], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    mode(None)
    monkeypatch.setenv("TRIM_TELEMETRY_MESSAGES", "off")
    assert outgoing_message(f"ValueError: {MARK}") is None
    mode("redacted")
    assert outgoing_message(f"ValueError: token={MARK}") == "ValueError: token=REDACTED"
    with pytest.raises(ValueError, match="--telemetry-messages='loud': use redacted or off"):
        mode("loud")


def test_an_unknown_messages_setting_fails_closed_with_a_warning(
    mode: Callable[[str | None], None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mode(None)
    monkeypatch.setenv("TRIM_TELEMETRY_MESSAGES", "verbose")
    assert messages.messages_mode() == "off"
    assert "TRIM_TELEMETRY_MESSAGES='verbose': use redacted or off" in caplog.text


@given(st.text())
def test_scrubbing_any_text_never_raises_and_is_idempotent(text: str) -> None:
    scrubbed = scrub_message(text)
    assert scrub_message(scrubbed) == scrubbed


secret_values = st.text(alphabet="abcdefXYZ0123456789@.-_", min_size=1, max_size=20)


@given(
    value=secret_values,
    template=st.sampled_from(
        [
            "DETAIL:  Key (email)=(zq{v}) already exists.",
            "DETAIL:  Failing row contains (1, zq{v}, null).",
            'invalid input syntax for type integer: "zq{v}"',
            "syntax error at or near \"'zq{v}'\"",
            "(1062, \"Duplicate entry 'zq{v}' for key 'email'\")",
            "(1366, \"Incorrect integer value: 'zq{v}' for column `t`.`id` at row 1\")",
            "GET http://h/p?access_token=zq{v}&x=1 failed",
            "password=zq{v} host=db",
        ]
    ),
)
def test_planted_values_never_survive_the_known_formats(value: str, template: str) -> None:
    assert f"zq{value}" not in scrub_message(template.replace("{v}", value))


@pytest.mark.parametrize(
    "unit",
    ['a: "x', "Key (a)=(", "x=", 'near "', "Duplicate entry '", "existing key (a)=(",
     "Failing row contains (", "syntax to use near '", "a:b@", "/p?", "http", 'value "'],
)  # fmt: skip
def test_no_text_makes_scrubbing_slow(unit: str) -> None:
    text = (unit * (20_000 // len(unit)))[: messages.MESSAGE_SCAN_LIMIT]
    started = time.perf_counter()
    scrub_message(text + " ")
    assert time.perf_counter() - started < 2.0


def test_text_past_the_scan_limit_is_cut_at_a_line_break_never_inside_a_value() -> None:
    head = "x" * (messages.MESSAGE_SCAN_LIMIT - 20) + "\n"
    scrubbed = scrub_message(head + f"DETAIL:  Key (email)=({MARK}{'y' * 40}) already exists.")
    assert scrubbed == head[:-1] + "…"
