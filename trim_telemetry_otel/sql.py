"""Turn recorded SQL text into a privacy-safe grouping key.

DB-API instrumentors record ``db.statement`` verbatim, literals included. Before a statement is
reported it goes through :func:`normalize_sql`, which replaces every literal value with ``?``,
drops comments, folds whitespace and collapses lists whose length depends on the data, so that
the same query issued with different values (or a different number of values) groups together
and no value leaves the process.
"""

from __future__ import annotations

import functools
import re

__all__ = ["normalize_sql"]

# One alternation scanned left to right. Frequent tokens come first because every token pays for
# the alternatives tried before its own; after that, order matters where prefixes overlap (``--``
# before ``-``, ``E'`` before a word, ``0x`` before a number, ``%%`` before ``%s``, ``::`` before
# ``:name``). Every literal alternative that can run to the end of the text succeeds
# unconditionally, so an unterminated quote swallows the rest instead of leaking it token by
# token. Quoted identifiers must be closed: an unterminated one would otherwise keep the rest of
# the statement, literals included, verbatim.
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<quoted>"[^"]*(?:""[^"]*)*"|`[^`]*(?:``[^`]*)*`)
    | (?P<symbol>[(),;=<>+*|&!~^\[\]{}@\#]|\.(?!\d))
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<literal>
        (?:[EeNnBbXx]|[Uu]&)?'(?:[^'\\]+|\\.?|'')*(?:'|\Z)
        | \$(?P<tag>[^\W\d]\w*|)\$.*?(?:\$(?P=tag)\$|\Z)
        | 0[xX][0-9A-Fa-f]+(?![\w$])
        | 0[bB][01]+(?![\w$])
        | (?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w$])
      )
    | (?P<word>\w[\w$]*)
    | (?P<percent>%%)
    | (?P<placeholder>%\([^()'"?\s]*\)[sbt]|%[sbt]|\?|\$\d+|:[^\W\d]\w*|:\d+)
    | (?P<other>::|.)
    """,
    re.VERBOSE | re.DOTALL,
)

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


@functools.lru_cache(maxsize=4096)
def normalize_sql(statement: str) -> str:
    """Return ``statement`` with literals replaced by ``?``, comments dropped, whitespace folded.

    IN-lists of values and repeated VALUES rows collapse to a single element. Never raises, and
    ``normalize_sql(normalize_sql(s)) == normalize_sql(s)``.
    """
    kinds: list[int] = []
    # Each part carries the single space that precedes it, if any, so that collapsing can delete
    # parts without revisiting the spacing of the ones that remain.
    parts: list[str] = []
    anchors: list[int] = []  # positions of IN and VALUES, the only places where lists collapse
    last = "("  # suppresses a leading space exactly like the "no space after (" rule
    spaced = False
    for match in _TOKEN.finditer(statement):
        group = match.lastgroup
        if group == "space" or group == "comment":
            spaced = True
            continue
        text = match.group()
        if group == "word":
            upper = text.upper()
            if upper == "TRUE" or upper == "FALSE":
                kind, text = _LITERAL, "?"
            else:
                kind = _WORD
                if upper == "IN" or upper == "VALUES":
                    anchors.append(len(parts))
        elif group == "literal":
            if (
                last == "-"
                and not spaced
                and kinds[-1] == _OTHER
                and text[0] in "0123456789."
                and _minus_is_sign(kinds, parts)
            ):
                parts[-1] = parts[-1][:-1] + "?"
                kinds[-1] = _LITERAL
                last = "?"
                continue
            kind, text = _LITERAL, "?"
        elif group == "placeholder":
            kind = _PLACEHOLDER
        elif group == "quoted":
            kind = _WORD
        else:
            kind = _OTHER
        if kind == _WORD and last.upper() == "SAVEPOINT":
            # Savepoint names are generated per call (Django: thread id and a counter), so they
            # would split every group; they carry no value worth keeping either.
            kind, text = _LITERAL, "?"
        if spaced and last != "(" and text != "," and text != ")":
            parts.append(" " + text)
        else:
            parts.append(text)
        kinds.append(kind)
        last = text
        spaced = False
    # Right to left, so that deleting parts never shifts an anchor still to be visited, and so
    # that IN-lists inside VALUES rows are collapsed before the rows are compared.
    for anchor in reversed(anchors):
        if parts[anchor].lstrip(" ").upper() == "IN":
            _collapse_in_list(kinds, parts, anchor)
        else:
            _collapse_values_rows(kinds, parts, anchor)
    return "".join(parts)


def _minus_is_sign(kinds: list[int], parts: list[str]) -> bool:
    if len(parts) < 2:
        return True
    before = parts[-2].lstrip(" ")
    if kinds[-2] == _OTHER:
        return before not in _NOT_OPERATORS
    return kinds[-2] == _WORD and before.upper() in _SIGN_KEYWORDS


def _collapse_in_list(kinds: list[int], parts: list[str], anchor: int) -> None:
    # ``,`` and ``)`` never carry a leading space, so they can be compared exactly.
    first = anchor + 2
    if first >= len(parts) or parts[anchor + 1].lstrip(" ") != "(":
        return
    if kinds[first] != _LITERAL and kinds[first] != _PLACEHOLDER:
        return
    end, n = first + 1, len(parts)
    while end + 1 < n and parts[end] == "," and kinds[end + 1] in _VALUE_KINDS:
        end += 2
    if end > first + 1 and end < n and parts[end] == ")":
        del kinds[first + 1 : end], parts[first + 1 : end]


def _collapse_values_rows(kinds: list[int], parts: list[str], anchor: int) -> None:
    # Only rows identical to the first one are dropped: a bulk insert of N uniform rows then
    # groups with any other size, while a statement mixing row shapes keeps them visible.
    end = _closing_paren(kinds, parts, anchor + 1)
    if end is None:
        return
    row = [part.lstrip(" ") for part in parts[anchor + 1 : end + 1]]
    stop, n = end + 1, len(parts)
    while stop + 1 < n and parts[stop] == ",":
        row_end = _closing_paren(kinds, parts, stop + 1)
        if row_end is None or [part.lstrip(" ") for part in parts[stop + 1 : row_end + 1]] != row:
            break
        stop = row_end + 1
    del kinds[end + 1 : stop], parts[end + 1 : stop]


def _closing_paren(kinds: list[int], parts: list[str], start: int) -> int | None:
    if start >= len(parts) or kinds[start] != _OTHER or parts[start].lstrip(" ") != "(":
        return None
    depth = 0
    for i in range(start, len(parts)):
        if kinds[i] == _OTHER:
            text = parts[i].lstrip(" ")
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                if depth == 0:
                    return i
    return None
