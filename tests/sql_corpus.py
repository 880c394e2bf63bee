"""Statements per dialect with a marker planted in every literal and comment.

Each statement is valid SQL in its dialect (tests/test_sql_databases.py runs them on the real
servers) and holds, inside literals and comments only, the marker ``zq`` and every digit. So after
normalisation neither ``zq`` nor a digit may be left, except in the placeholders, which are
digit-free and must survive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MARKER = "zq"

# Identifiers, keywords and placeholders below have no digit and no "zq".
PLACEHOLDERS = {
    "sqlite": ":pname",
    "postgresql": "%(pname)s",
    "mysql": "%(pname)s",
}

_TEXT = "abcdefghijklmnopqrstuvwxyz ,;()=-+*./:?&|<>[]{}\t\n" + "0123456789"


@dataclass(frozen=True)
class Statement:
    sql: str
    placeholder: str  # appears ``placeholders`` times and must survive
    placeholders: int

    @property
    def readings_agree(self) -> bool:
        """False for MySQL text with a backslash-escaped quote, which ends the string under
        NO_BACKSLASH_ESCAPES: everything after it may be a literal, placeholders included."""
        return "\\'" not in self.sql and '\\"' not in self.sql


def _content(rnd: random.Random, extra: str = "") -> str:
    alphabet = _TEXT + extra
    return MARKER + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))


def _standard(rnd: random.Random, quote: str = "'", extra: str = "") -> str:
    """A string where the quote is escaped by doubling it and a backslash is a plain character."""
    body = _content(rnd, quote + "\\\"'`$#" + extra)
    return quote + body.replace(quote, quote * 2) + quote


def _escaped(rnd: random.Random, quote: str = "'") -> str:
    """A string where a backslash escapes: backslashes doubled, quotes escaped either way."""
    body = _content(rnd, "\\\"'`$#").replace("\\", "\\\\")
    out = []
    for char in body:
        if char == quote:
            out.append(rnd.choice(["\\" + quote, quote * 2]))
        else:
            out.append(char)
    return quote + "".join(out) + quote


def _dollar(rnd: random.Random) -> str:
    tag = rnd.choice(["", "fn", "body", "q"])
    body = _content(rnd, "'\"\\$").replace(f"${tag}$", "")
    if body.endswith("$"):
        body += " "
    return f"${tag}${body}${tag}$"


def _hex(rnd: random.Random) -> str:
    return "".join(rnd.choice("0123456789abcdef") for _ in range(2 * rnd.randint(1, 4)))


def _bits(rnd: random.Random) -> str:
    return "".join(rnd.choice("01") for _ in range(rnd.randint(1, 8)))


def string_literal(dialect: str, rnd: random.Random) -> str:
    """A literal of a string type (comparable with a text column)."""
    if dialect == "sqlite":
        return _standard(rnd)
    if dialect == "postgresql":
        return rnd.choice(
            [
                lambda: _standard(rnd),
                lambda: "E" + _escaped(rnd),
                lambda: "e" + _escaped(rnd),
                lambda: _dollar(rnd),
                lambda: "N" + _standard(rnd),
                lambda: "U&" + _standard(rnd).replace("\\", "\\\\"),
            ]
        )()
    return rnd.choice(
        [
            lambda: _escaped(rnd),
            lambda: _escaped(rnd, '"'),
            lambda: "N" + _escaped(rnd),
            lambda: "_utf8mb4" + _escaped(rnd),
        ]
    )()


def number_literal(dialect: str, rnd: random.Random, *, modern: bool) -> str:
    """``modern``: the server reads ``1_000`` (PostgreSQL 16 also ``0x1F``, ``0o17``, ``0b101``)."""
    digits = str(rnd.randint(0, 10**6))
    forms = [
        digits,
        f"{digits}.{rnd.randint(0, 99)}",
        f".{rnd.randint(0, 99)}5",
        f"{digits}.",
        f"{rnd.randint(1, 9)}e{rnd.randint(0, 9)}",
        f"{rnd.randint(1, 9)}.{rnd.randint(0, 9)}E-{rnd.randint(0, 9)}",
    ]
    if dialect != "postgresql" or modern:
        forms += [f"0x{_hex(rnd)}"]
    if dialect == "sqlite" or (dialect == "postgresql" and modern):
        forms += [f"0X{_hex(rnd).upper()}"]  # MySQL: a name
    if dialect == "postgresql" and modern:
        forms += [f"0o{rnd.randint(0, 7)}{rnd.randint(0, 7)}", f"0b{_bits(rnd)}"]
    if dialect == "mysql":
        forms += [f"0b{_bits(rnd)}"]
    if modern and dialect != "mysql":
        forms += [f"{rnd.randint(1, 9)}_{rnd.randint(100, 999)}"]
    return rnd.choice(forms)


def any_literal(dialect: str, rnd: random.Random, *, modern: bool) -> str:
    """Any literal, for a select-list position where its type does not matter."""
    return rnd.choice(
        [
            lambda: string_literal(dialect, rnd),
            lambda: number_literal(dialect, rnd, modern=modern),
            lambda: f"X'{_hex(rnd)}'",
            lambda: rnd.choice(["TRUE", "FALSE", "true"]),
            lambda: f"B'{_bits(rnd)}'" if dialect != "sqlite" else f"x'{_hex(rnd)}'",
        ]
    )()


def comment(dialect: str, rnd: random.Random) -> str:
    # No "/" or "*": "/*x/*/" opens a second, nested comment in PostgreSQL.
    text = _content(rnd, "'\"\\$#").replace("*", "").replace("/", "").replace("\n", " ")
    forms = [
        f"/*{text}*/",
        f"/* {text} */",
        f"-- {text}\n",
        f"/*traceparent='00-{MARKER}4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'*/",
    ]
    if dialect == "mysql":
        forms += [f"#{text}\n", f"# {text}\n"]
    if dialect == "postgresql":
        forms += [f"/* {text} /* {text} */ {text} */"]
    return rnd.choice(forms)


def value_double_quoted(rnd: random.Random) -> str:
    """sqlite: a double-quoted string where an expression goes (no column has that name)."""
    return _standard(rnd, '"', extra="")


def statement(
    dialect: str,
    rnd: random.Random,
    *,
    table: str = "t_scores",
    modern: bool = True,
    double_quoted_strings: bool = True,
) -> Statement:
    """One statement with markers in every literal and comment, valid in ``dialect``.

    ``table`` must be digit-free; ``double_quoted_strings``: sqlite reads "…" as a string where
    no column has that name (SQLITE_DQS, on in most builds)."""

    def s() -> str:
        if dialect == "sqlite" and double_quoted_strings and rnd.random() < 0.2:
            return value_double_quoted(rnd)
        return string_literal(dialect, rnd)

    def n() -> str:
        return number_literal(dialect, rnd, modern=modern)

    def v() -> str:
        return any_literal(dialect, rnd, modern=modern)

    def c() -> str:
        return " " + comment(dialect, rnd) + " " if rnd.random() < 0.5 else " "

    ph = PLACEHOLDERS[dialect]
    escape = "'\\\\'" if dialect == "mysql" else "'\\'"
    templates = [
        lambda: f"SELECT {v()} AS col_a,{c()}{v()} AS col_b, {v()} AS col_c, {ph} AS col_p",
        lambda: (
            f"SELECT name FROM {table} WHERE name = {s()}{c()}OR name IN ({s()}, {s()}, {s()})"
            f" OR score > {n()} OR name = {ph}"
        ),
        lambda: (
            f"INSERT INTO {table} (name, score) VALUES ({s()}, {n()}),{c()}({s()}, -{n()}),"
            f" ({ph}, {n()})"
        ),
        lambda: f"UPDATE {table} SET name = {s()},{c()}score = {n()} WHERE name = {ph}",
        lambda: (
            f"SELECT name FROM {table} WHERE name LIKE {s()} ESCAPE {escape} AND name = {s()}"
            f"{c()}AND name <> {ph}"
        ),
        lambda: (
            f"DELETE FROM {table} WHERE (score BETWEEN {n()} AND {n()}) AND name = {s()}"
            f" AND name <> {ph}{c()}"
        ),
        lambda: (
            f"SELECT CASE WHEN score = -{n()} THEN {s()} ELSE {s()} END FROM {table}"
            f" WHERE name = {ph} LIMIT {rnd.randint(1, 9)}"
        ),
    ]
    sql = rnd.choice(templates)()
    return Statement(sql=sql, placeholder=ph, placeholders=sql.count(ph))


def create_table(dialect: str, table: str) -> str:
    kind = {"sqlite": "TEMP TABLE", "postgresql": "TEMP TABLE", "mysql": "TEMPORARY TABLE"}
    score = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION", "mysql": "DOUBLE"}
    return f"CREATE {kind[dialect]} {table} (name TEXT, score {score[dialect]})"


def digit_free_name(prefix: str, number: int) -> str:
    """A name unique to ``number`` (a pid) without digits, so that a digit left is a value."""
    return prefix + "".join(chr(ord("a") + int(d)) for d in str(number))


def leftovers(normalized: str, statement: Statement) -> str:
    """What of ``normalized`` could only have come from a value: the marker or a digit."""
    rest = normalized.replace(statement.placeholder, "").replace("_utf8mb4", "")
    return "".join(ch for ch in rest if ch.isdigit()) + (MARKER if MARKER in rest else "")
