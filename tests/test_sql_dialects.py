"""Where literals begin and end in each dialect: the rules of SCHEMA.md's SQL section, one test
each, and the properties that hold for generated statements of every dialect."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import sql_corpus as corpus
from trim_telemetry_otel.sql import normalize_sql
from trim_telemetry_otel.sql_dialects import dialect_of

DIALECTS = ("sqlite", "postgresql", "mysql")
EVERY_SYSTEM = ("sqlite", "postgresql", "mysql", None)

DJANGO_SQLITE_CONTAINS = (
    'SELECT "auth_user"."id" FROM "auth_user" WHERE ("auth_user"."email" LIKE %s ESCAPE \'\\\' '
    'AND "auth_user"."username" = \'x@y\')'
)


@pytest.mark.parametrize(
    ("system", "dialect"),
    [
        ("sqlite", "sqlite"),
        ("postgresql", "postgresql"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("MariaDB", "mysql"),
        ("oracle", "generic"),
        ("other_sql", "generic"),
        ("", "generic"),
        (None, "generic"),
    ],
)
def test_the_dialect_is_picked_from_db_system(system: str | None, dialect: str) -> None:
    assert dialect_of(system) == dialect


def test_a_backslash_ends_nothing_in_sqlite_strings_so_django_like_escape_keeps_the_rest() -> None:
    assert normalize_sql(DJANGO_SQLITE_CONTAINS, "sqlite") == (
        'SELECT "auth_user"."id" FROM "auth_user" WHERE ("auth_user"."email" LIKE %s ESCAPE ? '
        'AND "auth_user"."username" = ?)'
    )


@pytest.mark.parametrize("system", ["sqlite", "postgresql"])
def test_a_trailing_backslash_does_not_escape_the_closing_quote_of_a_standard_string(
    system: str,
) -> None:
    statement = "SELECT * FROM t WHERE path = 'C:\\' AND owner = 'zq secret'"
    assert normalize_sql(statement, system) == "SELECT * FROM t WHERE path = ? AND owner = ?"


@pytest.mark.parametrize("system", [None, "mysql"])
def test_where_a_backslash_may_escape_the_text_is_read_both_ways_and_nothing_leaks(
    system: str | None,
) -> None:
    # MySQL escapes with a backslash unless NO_BACKSLASH_ESCAPES is set; an unknown system may do
    # either: whatever is a literal in either reading becomes "?".
    assert "x@y" not in normalize_sql(DJANGO_SQLITE_CONTAINS, system)
    assert "zq" not in normalize_sql("SELECT 'it\\'s zq', a FROM t WHERE b = 'zq'", system)


def test_a_backslash_escapes_in_postgresql_e_strings_only() -> None:
    statement = "SELECT E'it\\'s', e'a\\\\', 'C:\\', a FROM t"
    assert normalize_sql(statement, "postgresql") == "SELECT ?, ?, ?, a FROM t"


def test_mysql_backslash_escapes_keep_placeholders_when_no_quote_is_escaped() -> None:
    statement = "SELECT 'C:\\\\dir', a FROM t WHERE b = %s AND c = \"x\\\\\""
    assert normalize_sql(statement, "mysql") == "SELECT ?, a FROM t WHERE b = %s AND c = ?"


@pytest.mark.parametrize("system", ["mysql", "mariadb", None])
def test_double_quotes_hold_strings_in_mysql_and_wherever_the_dialect_is_unknown(
    system: str | None,
) -> None:
    statement = 'SELECT * FROM t WHERE name = "zq secret" AND a = "it""s"'
    assert normalize_sql(statement, system) == "SELECT * FROM t WHERE name = ? AND a = ?"


def test_double_quotes_are_names_in_postgresql() -> None:
    statement = 'SELECT "table_2"."col_3", "it\'s 42" FROM "table_2"'
    assert normalize_sql(statement, "postgresql") == statement


@pytest.mark.parametrize(
    "statement",
    [
        'SELECT "auth_user"."id", "auth_user"."email" FROM "auth_user" WHERE "auth_user"."id" = %s',
        'SELECT COUNT(*) AS "__count" FROM "app_book" INNER JOIN "app_author" '
        'ON ("a"."x" = "b"."y") ORDER BY "app_book"."id" DESC',
        'INSERT INTO "app_book" ("title", "author_id") VALUES (%s, %s) RETURNING "app_book"."id"',
        'UPDATE "app_book" SET "title" = %s, "author_id" = %s WHERE "app_book"."id" IN (%s)',
        'CREATE TABLE "app_book" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "author_id" '
        'bigint NULL REFERENCES "app_author" ("id") DEFERRABLE INITIALLY DEFERRED, UNIQUE ("id"))',
        'CREATE INDEX "app_book_author_id_idx" ON "app_book" ("author_id")',
        'DELETE FROM "app_book" WHERE "app_book"."id" IN (%s)',
        'ALTER TABLE "app_book" RENAME COLUMN "title" TO "name"',
    ],
)
def test_double_quotes_are_names_in_sqlite_where_its_grammar_wants_a_name(statement: str) -> None:
    assert normalize_sql(statement, "sqlite") == statement


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('SELECT * FROM t WHERE name = "zq secret"', "SELECT * FROM t WHERE name = ?"),
        ('SELECT "zq", "t"."a" FROM t', 'SELECT ?, "t"."a" FROM t'),
        ('SELECT a FROM t WHERE b IN ("zq", "zr")', "SELECT a FROM t WHERE b IN (?)"),
        ('INSERT INTO t (a) VALUES ("zq")', "INSERT INTO t (a) VALUES (?)"),
        ('UPDATE t SET a = "zq" WHERE b LIKE "zq%"', "UPDATE t SET a = ? WHERE b LIKE ?"),
        ('SELECT lower("zq") FROM t ORDER BY "zq"', "SELECT lower(?) FROM t ORDER BY ?"),
        ("CREATE TABLE t (a text DEFAULT \"zq\" CHECK (\"a\" <> 'x'))",
         "CREATE TABLE t (a text DEFAULT ? CHECK (? <> ?))"),
    ],
)  # fmt: skip
def test_double_quotes_where_sqlite_may_read_a_string_become_question_marks(
    statement: str, expected: str
) -> None:
    # sqlite reads "…" as a string when no column has that name (SQLITE_DQS): where an expression
    # may stand, the normaliser cannot know the schema, so it treats "…" as a possible value.
    assert normalize_sql(statement, "sqlite") == expected


def test_brackets_and_backticks_are_names_in_sqlite() -> None:
    statement = "SELECT [it's], `it's` FROM [t] WHERE a = 'zq'"
    assert normalize_sql(statement, "sqlite") == "SELECT [it's], `it's` FROM [t] WHERE a = ?"


@pytest.mark.parametrize("system", ["mysql", "mariadb", None])
def test_a_hash_starts_a_comment_in_mysql_and_wherever_the_dialect_is_unknown(
    system: str | None,
) -> None:
    assert normalize_sql("SELECT a # zq it\nFROM t", system) == "SELECT a FROM t"
    assert "zq" not in normalize_sql("SELECT a # zq 'it\nFROM t WHERE b = 'zq'", system)


def test_a_hash_is_an_operator_in_postgresql() -> None:
    assert normalize_sql("SELECT a # b FROM t", "postgresql") == "SELECT a # b FROM t"


def test_a_double_dash_starts_a_mysql_comment_only_before_a_space() -> None:
    assert normalize_sql("SELECT 1--1, a -- zq\nFROM t", "mysql") == "SELECT ?- ?, a FROM t"


@pytest.mark.parametrize("system", ["postgresql", None])
def test_postgresql_comments_nest(system: str | None) -> None:
    statement = "SELECT /* outer /* inner */ still comment */ a FROM t"
    assert normalize_sql(statement, system) == "SELECT a FROM t"
    quoted = "SELECT /* outer /* inner 'zq */ still 'zq' comment */ a FROM t"
    assert normalize_sql(quoted, "postgresql") == "SELECT a FROM t"
    assert "zq" not in normalize_sql(quoted, system)


def test_a_postgresql_line_comment_ends_at_a_carriage_return() -> None:
    statement = "SELECT a -- comment\r, 'zq' FROM t"
    assert normalize_sql(statement, "postgresql") == "SELECT a, ? FROM t"


def test_dollar_quoted_strings_are_literals_in_postgresql() -> None:
    statement = "SELECT $$it's zq$$, $fn$ body $ zq $fn$, a FROM t"
    assert normalize_sql(statement, "postgresql") == "SELECT ?, ?, a FROM t"
    assert "zq" not in normalize_sql(statement, None)


@pytest.mark.parametrize("system", EVERY_SYSTEM)
@pytest.mark.parametrize(
    "literal",
    ["1_000", "0o17", "0x1F", "0X1f", "0b101", "1e9", "1.5E-3", "2e+7", ".5", "1.", "42", "3.14"],
)
def test_every_numeric_form_is_a_literal(system: str | None, literal: str) -> None:
    assert normalize_sql(f"SELECT {literal}, a FROM t", system) == "SELECT ?, a FROM t"


@pytest.mark.parametrize("system", EVERY_SYSTEM)
@pytest.mark.parametrize(
    "literal", ["X'1F'", "x'1f'", "B'0101'", "b'01'", "N'zq'", "n'zq'", "U&'d\\0061t'", "E'zq'"]
)
def test_prefixed_string_literals_are_one_literal(system: str | None, literal: str) -> None:
    assert normalize_sql(f"SELECT {literal}, a FROM t", system) == "SELECT ?, a FROM t"


@pytest.mark.parametrize("system", EVERY_SYSTEM)
def test_booleans_are_literals(system: str | None) -> None:
    assert normalize_sql("SELECT TRUE, false WHERE a IS NULL", system) == (
        "SELECT ?, ? WHERE a IS NULL"
    )


@pytest.mark.parametrize("system", EVERY_SYSTEM)
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM t WHERE a = %s AND b = %(name)s AND c = ?",
        "SELECT * FROM t WHERE a = $1 AND b = :name AND d = :1 AND e = ?2",
        "SELECT a::int, b::text[] FROM t",
    ],
)
def test_placeholders_survive_unchanged(system: str | None, statement: str) -> None:
    assert normalize_sql(statement, system) == statement


@pytest.mark.parametrize("system", EVERY_SYSTEM)
def test_sqlcommenter_comments_are_stripped(system: str | None) -> None:
    statement = (
        "SELECT a FROM t WHERE b = %s /*db_driver='psycopg2',traceparent='00-4bf92f3577b34da6a3ce"
        "929d0e0e4736-00f067aa0ba902b7-01'*/"
    )
    assert normalize_sql(statement, system) == "SELECT a FROM t WHERE b = %s"


# Properties, on statements generated per dialect with a marker in every literal and comment.


@settings(max_examples=400, deadline=None)
@given(dialect=st.sampled_from(DIALECTS), rnd=st.randoms(use_true_random=False))
def test_no_planted_value_survives_and_placeholders_do(dialect: str, rnd: random.Random) -> None:
    statement = corpus.statement(dialect, rnd)
    normalized = normalize_sql(statement.sql, dialect)
    assert corpus.leftovers(normalized, statement) == "", statement.sql
    if statement.readings_agree:
        assert normalized.count(statement.placeholder) == statement.placeholders, statement.sql


@settings(max_examples=400, deadline=None)
@given(dialect=st.sampled_from(DIALECTS), rnd=st.randoms(use_true_random=False))
def test_an_unknown_dialect_leaks_no_planted_value_of_any_dialect(
    dialect: str, rnd: random.Random
) -> None:
    statement = corpus.statement(dialect, rnd)
    assert corpus.leftovers(normalize_sql(statement.sql, None), statement) == "", statement.sql


@settings(max_examples=400, deadline=None)
@given(
    dialect=st.sampled_from(DIALECTS),
    system=st.sampled_from(EVERY_SYSTEM),
    rnd=st.randoms(use_true_random=False),
)
def test_normalising_a_generated_statement_twice_changes_nothing(
    dialect: str, system: str | None, rnd: random.Random
) -> None:
    normalized = normalize_sql(corpus.statement(dialect, rnd).sql, system)
    assert normalize_sql(normalized, system) == normalized


SQLISH = st.lists(
    st.sampled_from(
        [*"'\"`$-/*\n\r ()[]?,.:%eEx01aN=;\\#", "IN", "VALUES", "TRUE", "NULL", "$$", "$t$", "--"]
        + ["/*", "*/", "%s", "%(a)s", "::", "''", "E'", "0x1F", "1e5", " IN (", "), (", "-5"]
        + ["SET", "FROM", "INTO", "AS", "TABLE", "INDEX", "ON", "CREATE", "KEY", '"a"', "U&'"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=SQLISH, system=st.sampled_from(EVERY_SYSTEM))
def test_normalising_sql_like_fragments_in_any_dialect_is_idempotent(
    text: str, system: str | None
) -> None:
    normalized = normalize_sql(text, system)
    assert normalize_sql(normalized, system) == normalized


@settings(max_examples=300, deadline=None)
@given(text=st.text(), system=st.sampled_from(EVERY_SYSTEM))
def test_normalising_any_text_in_any_dialect_never_raises_and_is_idempotent(
    text: str, system: str | None
) -> None:
    normalized = normalize_sql(text, system)
    assert normalize_sql(normalized, system) == normalized
