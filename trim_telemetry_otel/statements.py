"""What a normalised SQL statement does: its operation, its kind, and its ``db.query.summary``.

Works on the output of :func:`trim_telemetry_otel.sql.normalize_sql` (literals already ``?``,
comments gone, whitespace folded), so it never sees a value and never needs a full parser: a
single left-to-right pass over the tokens, tracking parentheses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "KINDS",
    "Kind",
    "Statement",
    "classify",
    "is_transaction_control",
    "sql_operation",
]

Kind = Literal["select", "insert", "update", "delete", "transaction", "other"]
KINDS: tuple[Kind, ...] = ("select", "insert", "update", "delete", "transaction", "other")

_SUMMARY_LIMIT = 255  # the semantic conventions' limit, cut between tokens

_KINDS: dict[str, Kind] = {
    "SELECT": "select",
    "INSERT": "insert",
    "REPLACE": "insert",  # MySQL, SQLite: delete-then-insert, reported as a write of rows
    "UPSERT": "insert",  # CockroachDB
    "UPDATE": "update",
    "DELETE": "delete",
    "BEGIN": "transaction",
    "START": "transaction",  # START TRANSACTION
    "COMMIT": "transaction",
    "END": "transaction",
    "ROLLBACK": "transaction",
    "ABORT": "transaction",
    "SAVEPOINT": "transaction",
    "RELEASE": "transaction",  # RELEASE [SAVEPOINT]
}

# A statement that starts with none of these is named by its first word (BEGIN, SET, PRAGMA…).
_CAN_NEST = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "MERGE", "WITH", "TABLE",
     "CALL", "CREATE", "ALTER", "DROP", "TRUNCATE", "DECLARE"}
)  # fmt: skip
# Statement keywords that only mean "an operation" where a statement can begin: elsewhere they are
# clauses (``FOR UPDATE``, ``ON DUPLICATE KEY UPDATE``, ``ON DELETE CASCADE``, ``DO UPDATE``).
_DATA_OPERATIONS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "MERGE"})
# Words after which a statement can begin (besides the start, ``(`` and ``;``).
_STATEMENT_OPENERS = frozenset({"UNION", "INTERSECT", "EXCEPT", "ALL", "DISTINCT", "EXPLAIN"})
# Clause keywords that end a FROM list.
_END_OF_FROM = frozenset(
    {
        "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FETCH", "FOR", "WINDOW",
        "UNION", "INTERSECT", "EXCEPT", "RETURNING", "ON", "USING", "SET", "VALUES", "SELECT",
        "LOCK", "INTO", "NATURAL",
    }
)  # fmt: skip
# After these the next name is a target; a subquery's FROM and JOIN open a list of them.
_TARGET_BEFORE = frozenset({"FROM", "JOIN", "INTO"})
# Words between such a keyword and its target.
_TARGET_PREFIXES = frozenset({"ONLY", "LATERAL", "IGNORE", "LOW_PRIORITY", "DELAYED", "TABLE"})
_TARGET_AFTER = frozenset({"UPDATE", "TABLE", "CALL", "TRUNCATE"})
_SUBQUERY_OPENERS = frozenset({"SELECT", "WITH", "VALUES", "INSERT", "UPDATE", "DELETE"})
_DDL = frozenset({"CREATE", "ALTER", "DROP"})
_DDL_SKIP = frozenset(
    {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNIQUE", "IF", "NOT", "EXISTS", "UNLOGGED",
     "CONCURRENTLY", "ONLY", "GLOBAL", "LOCAL"}
)  # fmt: skip
_DDL_OBJECTS = frozenset(
    {"TABLE", "INDEX", "VIEW", "SEQUENCE", "SCHEMA", "DATABASE", "TRIGGER", "FUNCTION",
     "PROCEDURE", "TYPE", "EXTENSION", "MATERIALIZED"}
)  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<ident>"[^"]*(?:""[^"]*)*"|`[^`]*(?:``[^`]*)*`|\[[^\]]*\]|[^\W\d][\w$]*)
    | (?P<other>\S)
    """,
    re.VERBOSE,
)
_PLAIN_NAME = re.compile(r"[^\W\d][\w$]*")


@dataclass(frozen=True)
class Statement:
    operation: str | None  # SELECT, INSERT, …, BEGIN, SET, CREATE …; None when there is none
    kind: Kind
    summary: str | None  # OpenTelemetry db.query.summary: ``SELECT shop_book shop_author``


def sql_operation(normalized: str) -> str:
    """Return the statement's leading keyword upper-cased (``SELECT``, ``WITH``...), or ``""``."""
    match = _LEADING_WORD.match(normalized)
    return match.group(1).upper() if match else ""


_LEADING_WORD = re.compile(r"[\s(]*([A-Za-z]+)")

# Frameworks repeat these on purpose (Django wraps every atomic block in a savepoint): a repeat
# says nothing about the application's data access, so it is not counted as a duplicate.
_TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET"}
)


def is_transaction_control(normalized: str) -> bool:
    """Whether a normalised statement manages the transaction or the session (``SET``) rather
    than touching data: repeats of these are not duplicate queries."""
    return sql_operation(normalized) in _TRANSACTION_CONTROL


@functools.lru_cache(maxsize=4096)
def classify(normalized: str) -> Statement:
    """The operation, kind and query summary of one normalised statement. Never raises."""
    tokens = [(m.group(), m.lastgroup == "ident") for m in _TOKEN.finditer(normalized)]
    summary: list[str] = []
    main: str | None = None  # the first operation outside parentheses: what the statement does
    first: str | None = None  # the first one anywhere, for ``(SELECT …) UNION (SELECT …)``
    # One frame per open parenthesis: [is it a subquery (is its FROM a FROM)?, in a FROM list?]
    # ``EXTRACT(YEAR FROM d)`` is an expression: its FROM names no table.
    frames: list[list[bool]] = [[True, False]]
    expect_target = False  # right after FROM, JOIN, INTO, UPDATE, or a FROM list's comma
    in_with = False  # CTEs come first; the statement after them is the main one
    at_start = True  # where a statement can begin
    previous = ""
    i, n = 0, len(tokens)
    if n and tokens[0][1] and tokens[0][0].upper() not in _CAN_NEST:
        # BEGIN, SET, PRAGMA, EXPLAIN …: the first word says what the statement is.
        main = tokens[0][0].upper()
        summary.append(main)
        i = 1
    while i < n:
        text, is_ident = tokens[i]
        upper = text.upper() if is_ident else text
        frame = frames[-1]
        i += 1
        if not is_ident:
            expect_target = False
            if text == "(":
                nxt = tokens[i][0].upper() if i < n else ""
                frames.append([nxt in _SUBQUERY_OPENERS, False])
            elif text == ")" and len(frames) > 1:
                frames.pop()
            elif text == ",":
                expect_target = frame[0] and frame[1]
            elif text == ";":
                frames[:] = [[True, False]]
            at_start = text in "(;" or (in_with and text in ",)" and len(frames) == 1)
            previous = text
            continue
        operation = _operation_at(upper, at_start, previous)
        if operation == "WITH":
            in_with = True
        elif operation is not None:
            if len(frames) == 1 and main is None:
                main = operation
                in_with = False
            first = first or operation
            frame[1] = False
            if operation in _DDL:
                i = _ddl(tokens, i - 1, summary)
                previous, at_start = tokens[i - 1][0], False
                continue
            summary.append(text)
            expect_target = operation in _TARGET_AFTER
        elif upper in _TARGET_BEFORE and frame[0]:
            expect_target = True
            if upper != "INTO":
                frame[1] = True
        elif expect_target and upper not in _TARGET_PREFIXES:
            name, i = _qualified_name(tokens, i - 1)
            summary.append(name)
            expect_target = False
            previous, at_start = tokens[i - 1][0], False
            continue
        elif upper in _END_OF_FROM:
            frame[1] = False
            expect_target = False
        at_start = upper in _STATEMENT_OPENERS or (in_with and upper == "AS")
        previous = text
    operation = main or first
    kind: Kind = _KINDS.get(operation or "", "other")
    return Statement(operation, kind, _cut(summary))


def _operation_at(upper: str, at_start: bool, previous: str) -> str | None:
    if upper == "SELECT":
        return upper
    if not at_start:
        return None
    if upper not in _CAN_NEST or upper == "DECLARE":  # DECLARE … CURSOR FOR <the statement>
        return None
    return None if upper == "REPLACE" and previous.upper() == "OR" else upper


def _qualified_name(tokens: list[tuple[str, bool]], i: int) -> tuple[str, int]:
    """``schema.table`` (quoted or not) starting at ``i``; returns it and the next index."""
    parts = [_unquoted(tokens[i][0])]
    i += 1
    while i + 1 < len(tokens) and tokens[i][0] == "." and tokens[i + 1][1]:
        parts.append(_unquoted(tokens[i + 1][0]))
        i += 2
    return ".".join(parts), i


def _unquoted(name: str) -> str:
    """``"shop_book"`` → ``shop_book``; a name that needs quotes (``"song list"``) keeps them."""
    if name[0] in '"`[':
        inner = name[1:-1]
        if _PLAIN_NAME.fullmatch(inner):
            return inner
    return name


def _ddl(tokens: list[tuple[str, bool]], i: int, summary: list[str]) -> int:
    """``CREATE [UNIQUE] INDEX name`` → ``CREATE INDEX name``; returns the next index."""
    words = [tokens[i][0].upper()]
    i += 1
    while i < len(tokens) and tokens[i][1] and tokens[i][0].upper() in _DDL_SKIP:
        i += 1
    while i < len(tokens) and tokens[i][1] and tokens[i][0].upper() in _DDL_OBJECTS:
        words.append(tokens[i][0].upper())
        i += 1
    while i < len(tokens) and tokens[i][1] and tokens[i][0].upper() in _DDL_SKIP:
        i += 1
    summary.append(" ".join(words))
    if len(words) > 1 and i < len(tokens) and tokens[i][1]:
        name, i = _qualified_name(tokens, i)
        summary.append(name)
    return i


def _cut(parts: list[str]) -> str | None:
    if not parts:
        return None
    text = ""
    for part in parts:
        candidate = f"{text} {part}" if text else part
        if len(candidate) > _SUMMARY_LIMIT:
            break
        text = candidate
    return text or None
