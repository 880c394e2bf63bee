"""Turn recorded SQL text into a privacy-safe grouping key.

DB-API instrumentors record ``db.statement`` verbatim, literals included. Before a statement is
reported it goes through :func:`normalize_sql`, which replaces every literal value with ``?``,
drops comments, folds whitespace and collapses lists whose length depends on the data, so that
the same query issued with different values (or a different number of values) groups together
and no value leaves the process. Where literals begin and end depends on the dialect, picked from
the span's ``db.system`` (:mod:`.sql_dialects`).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

from . import sql_dialects as lex

__all__ = ["SQL_LIMIT", "normalize_sql", "truncate_sql"]

# A stored statement is cut here (``db_queries[].sql_truncated`` says so). Generated statements
# (bulk inserts of distinct rows, huge IN-lists of mixed values) can run to megabytes.
SQL_LIMIT = 10_000

_LITERAL, _PLACEHOLDER, _WORD, _OTHER = range(4)
_VALUE_KINDS = (_LITERAL, _PLACEHOLDER)

# After these a ``-`` cannot be a binary minus, so ``-5`` is a single negative literal.
_SIGN_KEYWORDS = frozenset(
    {
        "ALL", "AND", "ANY", "BETWEEN", "BY", "CASE", "DEFAULT", "ELSE", "ESCAPE", "EXISTS",
        "HAVING", "IN", "IS", "LIKE", "ILIKE", "LIMIT", "NOT", "OFFSET", "ON", "OR", "RETURN",
        "SELECT", "SET", "SOME", "THEN", "VALUES", "WHEN", "WHERE",
    }
)  # fmt: skip
_NOT_OPERATORS = frozenset({")", "]", "}"})

# sqlite reads an unknown "name" as a string. Where its grammar wants a name and no expression
# (after these words, next to a ``.``, in a column list, as a SET target), "…" is certainly a name.
_NAME_KEYWORDS = frozenset(
    {
        "AS", "COLUMN", "CONSTRAINT", "DATABASE", "EXISTS", "FROM", "INDEX", "INTO", "JOIN",
        "RECURSIVE", "REFERENCES", "RELEASE", "SAVEPOINT", "TABLE", "TO", "TRIGGER", "UPDATE",
        "VIEW", "WITH",
    }
)  # fmt: skip
_TABLE_KEYWORDS = frozenset(
    {"EXISTS", "INTO", "REFERENCES", "TABLE", "VIEW"}
)  # a name list follows
_NAME_LIST_KEYWORDS = frozenset({"CONFLICT", "KEY", "UNIQUE"})
_SET_END_KEYWORDS = frozenset({"FROM", "LIMIT", "ORDER", "RETURNING", "WHERE"})

# Paren frames: what an open ``(`` holds.
_PLAIN, _IN_LIST, _ROW, _NAMES = range(4)

_CACHE_BUDGET = 16 * 1024 * 1024  # bytes of statements and results, all entries together
_CACHE_ENTRY_LIMIT = 64 * 1024  # characters; longer statements would evict the common ones
_ENTRY_OVERHEAD = 160  # bytes of the dict node and the key tuple


class _Cache:
    """An LRU of normalised statements bounded by the bytes it holds, not by entries."""

    def __init__(self, budget: int) -> None:
        self._entries: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._budget = budget
        self.size = 0
        self._lock = threading.Lock()  # the fold runs on whichever thread ends a test

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: str) -> None:
        cost = _cost(key[1], value)
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self.size += cost
            while self.size > self._budget:
                (_, old_statement), old = self._entries.popitem(last=False)
                self.size -= _cost(old_statement, old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


def _cost(statement: str, normalized: str) -> int:
    return sys.getsizeof(statement) + sys.getsizeof(normalized) + _ENTRY_OVERHEAD


_cache = _Cache(_CACHE_BUDGET)


def normalize_sql(statement: str, system: str | None = None) -> str:
    """Return ``statement`` with literals replaced by ``?``, comments dropped, whitespace folded.

    ``system`` is the span's ``db.system`` (``sqlite``, ``postgresql``, ``mysql``, ``mariadb``);
    any other value, or none, reads the statement every way those could and replaces whatever
    any of them calls a literal. IN-lists of values and repeated VALUES rows collapse to a single
    element. Linear in the length of the text, never raises, and
    ``normalize_sql(normalize_sql(s, d), d) == normalize_sql(s, d)``.
    """
    dialect = lex.dialect_of(system)
    if len(statement) > _CACHE_ENTRY_LIMIT:
        return _normalize(statement, dialect)
    key = (dialect, statement)
    cached = _cache.get(key)
    if cached is None:
        cached = _normalize(statement, dialect)
        _cache.put(key, cached)
    return cached


def truncate_sql(normalized: str) -> tuple[str, bool]:
    """The text to store for a normalised statement, and whether it was cut at ``SQL_LIMIT``."""
    if len(normalized) <= SQL_LIMIT:
        return normalized, False
    return normalized[:SQL_LIMIT], True


def _normalize(statement: str, dialect: str) -> str:
    kinds: list[int] = []
    # Each part carries the single space that precedes it, if any, so that collapsing can delete
    # the tail of the output without revisiting the spacing of the parts that remain.
    parts: list[str] = []
    frames: list[tuple[int, int, int]] = []  # per open "(": its index, what it holds, its run
    runs: list[list[int]] = []  # per VALUES: its first row's "(" and ")" indices, alive
    row_end = row_comma = row_run = -1  # a "," at ``row_end`` may start another row of a run
    sqlite = dialect == "sqlite"
    dq_text = ""  # the sqlite "…" just turned into "?": a "." after it makes it a qualifier
    table_name = False  # a sqlite name list "(…" may follow
    set_depth = -1  # the paren depth of an open SET clause
    create_index = False
    last = upper_last = "("  # "(" suppresses a leading space exactly like "no space after ("
    spaced = False
    for token in lex.tokens(statement, dialect):
        token_kind = token.lastgroup
        if token_kind == lex.SPACE or token_kind == lex.COMMENT or token_kind == lex.NESTED:
            spaced = True
            continue
        text = token[0]
        upper = text
        qualified, dq_text = dq_text, ""
        if token_kind == lex.WORD:
            upper = text.upper()
            if upper == "TRUE" or upper == "FALSE":
                kind, text = _LITERAL, "?"
            else:
                kind = _WORD
        elif token_kind == lex.LITERAL:
            if (
                last == "-"
                and not spaced
                and kinds[-1] == _OTHER
                and text[0] in "0123456789."
                and _minus_is_sign(kinds, parts)
            ):
                parts[-1] = parts[-1][:-1] + "?"
                kinds[-1] = _LITERAL
                last = upper_last = "?"
                continue
            kind, text = _LITERAL, "?"
        elif token_kind == lex.PLACEHOLDER:
            kind = _PLACEHOLDER
        elif token_kind == lex.QUOTED:
            kind = _WORD
        elif token_kind == lex.DOUBLE_QUOTED:
            if (
                last == "."
                or upper_last in _NAME_KEYWORDS
                or (upper_last == "ON" and create_index)
                or (frames and frames[-1][1] == _NAMES and (last == "(" or last == ","))
                or (set_depth == len(frames) and (upper_last == "SET" or last == ","))
            ):
                kind = _WORD
            else:
                kind, dq_text, text = _LITERAL, text, "?"
        else:
            kind = _OTHER
        if kind == _WORD and upper_last == "SAVEPOINT":
            # Savepoint names are generated per call (Django: thread id and a counter), so they
            # would split every group; they carry no value worth keeping either.
            kind, text = _LITERAL, "?"
        if kind == _OTHER:
            if text == "(":
                frames.append(_frame(len(parts), upper_last, last, table_name, runs, row_run
                                     if len(parts) == row_comma + 1 else -1))  # fmt: skip
            elif text == ")" and frames:
                opening, holds, run = frames.pop()
                if holds == _IN_LIST:
                    _collapse_in_list(kinds, parts, opening)
                elif holds == _ROW:
                    parts.append(")")
                    kinds.append(_OTHER)
                    _collapse_row(kinds, parts, opening, runs[run])
                    row_end, row_run = len(parts), run
                    text = ""  # appended already
                if set_depth > len(frames):
                    set_depth = -1
            elif text == "," and len(parts) == row_end:
                row_comma = row_end
            elif text == "." and qualified:
                parts[-1] = (" " if parts[-1][0] == " " else "") + qualified
                kinds[-1] = _WORD
            elif text == ";":
                set_depth, create_index = -1, False
        if sqlite:
            if kind == _WORD:
                table_name = (
                    upper_last in _TABLE_KEYWORDS
                    or (upper_last == "ON" and create_index)
                    or (table_name and last == ".")
                )
                if upper == "SET":
                    set_depth = len(frames)
                elif upper in _SET_END_KEYWORDS:
                    set_depth = -1
                elif upper == "INDEX" and parts and parts[0].upper() == "CREATE":
                    create_index = True
            elif text != ".":
                table_name = False
        if text == "-" and last == "-":
            spaced = True  # two minus signs must never meet: "--" would start a comment
        if text:
            parts.append(" " + text if spaced and last != "(" and text not in ",)" else text)
            kinds.append(kind)
        else:
            text = ")"
        last, upper_last = text, upper if kind == _WORD else text
        spaced = False
    return "".join(parts)


def _frame(
    index: int, upper_last: str, last: str, table_name: bool, runs: list[list[int]], run: int
) -> tuple[int, int, int]:
    """What the paren about to open at ``index`` holds; ``run`` is the VALUES run that a "("
    right after a "," would continue."""
    if upper_last == "IN":
        return index, _IN_LIST, -1
    if upper_last == "VALUES":
        runs.append([-1, -1, 1])
        return index, _ROW, len(runs) - 1
    if last == "," and run >= 0:
        return index, _ROW, run
    if table_name or upper_last in _NAME_LIST_KEYWORDS:
        return index, _NAMES, -1
    return index, _PLAIN, -1


def _minus_is_sign(kinds: list[int], parts: list[str]) -> bool:
    if len(parts) < 2:
        return True
    before = parts[-2].lstrip(" ")
    if kinds[-2] == _OTHER:
        return before not in _NOT_OPERATORS
    return kinds[-2] == _WORD and before.upper() in _SIGN_KEYWORDS


def _collapse_in_list(kinds: list[int], parts: list[str], opening: int) -> None:
    # Called before the ")" is appended: the list is the tail of the output. "," never carries
    # a leading space, so it can be compared exactly.
    first, n = opening + 1, len(parts)
    if n - first < 3 or (n - first) % 2 == 0:
        return
    for i in range(first, n, 2):
        if kinds[i] != _LITERAL and kinds[i] != _PLACEHOLDER:
            return
    for i in range(first + 1, n, 2):
        if parts[i] != ",":
            return
    del kinds[first + 1 :], parts[first + 1 :]


def _collapse_row(kinds: list[int], parts: list[str], opening: int, run: list[int]) -> None:
    # Only rows identical to the first one are dropped: a bulk insert of N uniform rows then
    # groups with any other size, while a statement mixing row shapes keeps them visible. Called
    # when the row's ")" was just appended, so the row is the tail of the output.
    first_open, first_close, alive = run
    if first_open < 0:
        run[0], run[1] = opening, len(parts) - 1
        return
    if (
        alive
        and opening == first_close + 2
        and _same_row(parts[first_open : first_close + 1], parts[opening:])
    ):
        del kinds[first_close + 1 :], parts[first_close + 1 :]
        return
    run[2] = 0


def _same_row(first: list[str], row: list[str]) -> bool:
    # Rows written the same way compare as lists; others part by part, spacing aside.
    return first == row or (
        len(first) == len(row)
        and all(a.lstrip(" ") == b.lstrip(" ") for a, b in zip(first, row, strict=True))
    )
