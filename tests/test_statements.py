"""Statement classification: operation, kind and OpenTelemetry db.query.summary."""

from __future__ import annotations

import pytest

from trim_telemetry_otel.sql import normalize_sql
from trim_telemetry_otel.statements import classify, is_transaction_control, sql_operation


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT ?", "SELECT"),
        ("insert into t values (?)", "INSERT"),
        ("UPDATE t SET a = ?", "UPDATE"),
        ("DELETE FROM t", "DELETE"),
        ("BEGIN", "BEGIN"),
        ("SAVEPOINT s1", "SAVEPOINT"),
        ("WITH x AS (SELECT ?) SELECT * FROM x", "WITH"),
        ("(SELECT ?) UNION (SELECT ?)", "SELECT"),
        ("", ""),
        ("?", ""),
    ],
)
def test_sql_operation_is_the_leading_keyword_upper_cased(statement: str, operation: str) -> None:
    assert sql_operation(statement) == operation


@pytest.mark.parametrize(
    ("statement", "operation", "kind", "summary"),
    [
        # The semantic conventions' own examples.
        ("SELECT * FROM wuser_table WHERE username = ?", "SELECT", "select", "SELECT wuser_table"),
        (
            "INSERT INTO shipping_details (order_id, address) SELECT order_id, address "
            "FROM orders WHERE order_id = ?",
            "INSERT",
            "insert",
            "INSERT shipping_details SELECT orders",
        ),
        ("SELECT * FROM songs, artists WHERE songs.artist_id == artists.id", "SELECT", "select",
         "SELECT songs artists"),
        (
            "SELECT order_date FROM (SELECT * FROM orders o JOIN customers c "
            "ON o.customer_id = c.customer_id)",
            "SELECT",
            "select",
            "SELECT SELECT orders customers",
        ),
        ('SELECT * FROM "song list"', "SELECT", "select", 'SELECT "song list"'),
        # Django's quoting: plain names lose their quotes.
        (
            'SELECT "shop_book"."id" FROM "shop_book" INNER JOIN "shop_author" '
            'ON ("shop_book"."author_id" = "shop_author"."id") WHERE "shop_book"."id" = %s',
            "SELECT",
            "select",
            "SELECT shop_book shop_author",
        ),
        ("DELETE FROM `shop_book` WHERE `shop_book`.`id` IN (%s)", "DELETE", "delete",
         "DELETE shop_book"),
        ('SELECT * FROM public.users u, "sch"."T x"', "SELECT", "select",
         'SELECT public.users sch."T x"'),
        # A FROM inside an expression names no table.
        ('SELECT EXTRACT(YEAR FROM "t"."d") FROM "t"', "SELECT", "select", "SELECT t"),
        # UPDATE, DELETE, INSERT as clauses are not operations.
        ("SELECT * FROM t WHERE id = %s FOR UPDATE", "SELECT", "select", "SELECT t"),
        ('INSERT INTO "t" ("a") VALUES (%s) RETURNING "t"."id"', "INSERT", "insert", "INSERT t"),
        ("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2", "INSERT", "insert",
         "INSERT t"),
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2", "INSERT", "insert",
         "INSERT t"),
        ("REPLACE INTO t (a) VALUES (1)", "REPLACE", "insert", "REPLACE t"),
        ("UPSERT INTO t (a) VALUES (1)", "UPSERT", "insert", "UPSERT t"),
        ("UPDATE t SET a = 1 WHERE id IN (SELECT id FROM o)", "UPDATE", "update",
         "UPDATE t SELECT o"),
        # WITH: the statement after the common table expressions is what runs.
        ("WITH x AS (SELECT 1 FROM a) SELECT * FROM x", "SELECT", "select", "SELECT a SELECT x"),
        ("WITH x AS (SELECT 1 FROM a) INSERT INTO t SELECT * FROM x", "INSERT", "insert",
         "SELECT a INSERT t SELECT x"),
        ("WITH x AS (SELECT 1), y AS (SELECT 2) DELETE FROM t", "DELETE", "delete",
         "SELECT SELECT DELETE t"),
        ("(SELECT 1 FROM a) UNION (SELECT 2 FROM b)", "SELECT", "select", "SELECT a SELECT b"),
        # Transaction control.
        ("BEGIN", "BEGIN", "transaction", "BEGIN"),
        ("START TRANSACTION", "START", "transaction", "START"),
        ("COMMIT", "COMMIT", "transaction", "COMMIT"),
        ('ROLLBACK TO SAVEPOINT "s1"', "ROLLBACK", "transaction", "ROLLBACK"),
        ('SAVEPOINT "s1_x1"', "SAVEPOINT", "transaction", "SAVEPOINT"),
        ('RELEASE SAVEPOINT "s1_x1"', "RELEASE", "transaction", "RELEASE"),
        # Everything else.
        ("SET SQL_AUTO_IS_NULL = 0", "SET", "other", "SET"),
        ("PRAGMA foreign_keys = ON", "PRAGMA", "other", "PRAGMA"),
        ('CREATE UNIQUE INDEX IF NOT EXISTS "ix" ON "t" ("a")', "CREATE", "other",
         "CREATE INDEX ix"),
        ("EXPLAIN SELECT * FROM t", "EXPLAIN", "other", "EXPLAIN SELECT t"),
        ('DECLARE "c" NO SCROLL CURSOR FOR SELECT * FROM "t"', "SELECT", "select", "SELECT t"),
        ("CALL my_proc(1)", "CALL", "other", "CALL my_proc"),
        ("?", None, "other", None),
        ("", None, "other", None),
    ],
)  # fmt: skip
def test_statements_are_classified_and_summarised(
    statement: str, operation: str | None, kind: str, summary: str | None
) -> None:
    classified = classify(normalize_sql(statement, "postgresql"))
    assert (classified.operation, classified.kind, classified.summary) == (
        operation,
        kind,
        summary,
    )


def test_a_summary_is_cut_between_names_at_255_characters() -> None:
    tables = ", ".join(f"table_number_{n}" for n in range(40))
    summary = classify(f"SELECT * FROM {tables}").summary
    assert summary is not None
    assert len(summary) <= 255
    assert summary.split()[-1].startswith("table_number_")
    assert classify(f"SELECT * FROM {tables}").summary == summary


def test_a_summary_never_holds_a_value() -> None:
    summary = classify(normalize_sql("SELECT * FROM t WHERE name = 'alice' AND pin = 4242")).summary
    assert summary == "SELECT t"


@pytest.mark.parametrize(
    ("statement", "control"),
    [
        ("SAVEPOINT ?", True),
        ("RELEASE SAVEPOINT ?", True),
        ("SET a = ?", True),
        ("SELECT ?", False),
    ],
)
def test_transaction_control_and_session_settings_are_not_duplicates(
    statement: str, control: bool
) -> None:
    assert is_transaction_control(statement) is control
