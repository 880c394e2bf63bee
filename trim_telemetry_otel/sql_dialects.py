"""Where each SQL dialect's literals, comments and quoted names begin and end.

A *reading* is one way of cutting a statement into tokens. Each dialect we know is read the way its
server reads it; where the server's settings change where a literal ends (MySQL's
``NO_BACKSLASH_ESCAPES``) or where the server is unknown, the statement is read every plausible
way and whatever is a literal in any reading is a literal (:func:`tokens`). Every lexer is one
compiled alternation applied left to right, each alternative either bounded or sure to succeed
once it has scanned to the end, so lexing is linear in the text.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from typing import Literal, Protocol

__all__ = ["DIALECTS", "Lexeme", "Token", "dialect_of", "tokens"]

# Token kinds: the names of the lexers' groups. ``DOUBLE_QUOTED`` is sqlite's "…": a name, or a
# string when no column has that name.
SPACE, COMMENT, NESTED, QUOTED, DOUBLE_QUOTED = "space", "comment", "nested", "quoted", "dq"
SYMBOL, LITERAL, WORD, PERCENT, PLACEHOLDER, OTHER = (
    "symbol", "literal", "word", "percent", "placeholder", "other"
)  # fmt: skip

Token = tuple[str, int, int]  # kind, start, end


class Lexeme(Protocol):
    """A token as the normaliser reads it: a regular expression match, or a :class:`_Lexeme`."""

    @property
    def lastgroup(self) -> str | None: ...

    def __getitem__(self, group: Literal[0], /) -> str: ...


class _Lexeme:
    __slots__ = ("lastgroup", "_text")

    def __init__(self, kind: str, text: str) -> None:
        self.lastgroup = kind
        self._text = text

    def __getitem__(self, group: Literal[0], /) -> str:
        return self._text


_SYMBOL = r"(?P<symbol>[(),;=<>+*|&!~^\[\]{}@]|\.(?!\d))"
_NUMBER = r"""
    0[xX][0-9A-Fa-f_]+(?![\w$]) | 0[bB][01_]+(?![\w$]) | 0[oO][0-7_]+(?![\w$])
    | (?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?(?![\w$])
"""
_PLACEHOLDER = (
    r"(?P<placeholder>%\([^()'\"?\s]*\)[sbt]|%[sbt]|\?(?:\d+(?![\w$]))?|\$\d+|:[^\W\d]\w*|:\d+)"
)
_PREFIX = r"(?:[EeNnBbXx]|[Uu]&)?"  # E'' N'' B'' X'' U&'': the prefix belongs to the literal


def _quoted(quote: str, backslash: bool) -> str:
    """A string in ``quote``, doubled to escape; an unterminated one runs to the end of the text,
    so that what follows an odd quote is never shown token by token."""
    q = re.escape(quote)
    if backslash:
        return rf"{q}[^{q}\\]*(?:(?:\\.?|{q}{q})[^{q}\\]*)*(?:{q}|\Z)"
    return rf"{q}[^{q}]*(?:{q}{q}[^{q}]*)*(?:{q}|\Z)"


def _name(opening: str, closing: str) -> tuple[str, str]:
    """A quoted name, closed, and unterminated: it runs to the end of the text and is then a
    literal, since it is not certainly a name, and so that no opening quote is ever scanned for
    its closing twice (which would make lexing quadratic)."""
    o, c = re.escape(opening), re.escape(closing)
    body = rf"[^{c}]*(?:{c}{c}[^{c}]*)*"
    return rf"{o}{body}{c}", rf"{o}{body}\Z"


# sqlite's [name] has no escape. An unterminated "[" stays a symbol (a PostgreSQL reading of the
# same text may subscript an array with it), so its scan for "]" is bounded to stay linear.
_BRACKETED = (r"\[[^\]]{0,256}\]", "(?!)")


def _lexer(
    *,
    strings: str,
    comments: str,
    double_quote: str,  # "name" (always a name), "dq" (sqlite's rule) or "string"
    names: tuple[tuple[str, str], ...] = (),
    backslash: bool = False,
    extra_literals: str = "",
) -> re.Pattern[str]:
    dq_closed, dq_open = _name('"', '"')
    closed = "|".join(name[0] for name in names) or "(?!)"
    unterminated = "".join("|" + name[1] for name in names)
    if double_quote == "name":
        quoted = rf"(?P<quoted>{dq_closed}|{closed})"
    elif double_quote == "dq":
        quoted = rf"(?P<quoted>{closed})|(?P<dq>{dq_closed})"
    else:
        quoted = rf"(?P<quoted>{closed})"
        strings = rf"{strings}|{_quoted(chr(34), backslash)}"
    literals = rf"{strings}{extra_literals}|{_NUMBER}"
    return re.compile(
        rf"""
        (?P<space>\s+)
        | {quoted}
        | (?P<literal>{dq_open}{unterminated}|{literals})
        | {_SYMBOL}
        | {comments}
        | (?P<word>\w[\w$]*)
        | (?P<percent>%%)
        | {_PLACEHOLDER}
        | (?P<other>::|.)
        """,
        re.VERBOSE | re.DOTALL,
    )


_STANDARD = _PREFIX + _quoted("'", backslash=False)
_ESCAPED = _PREFIX + _quoted("'", backslash=True)
_PG_E = "[Ee]" + _quoted("'", backslash=True)
_DOLLAR = r"|\$(?P<tag>[^\W\d]\w*|)\$.*?(?:\$(?P=tag)\$|\Z)"
# PostgreSQL ends a line comment at \r too; its block comments nest (matched in code).
_PLAIN_BLOCK = r"/\*(?:[^*/]|\*(?!/)|/(?!\*))*(?:\*/|\Z)"  # holds no "/*": cannot nest
_PG_COMMENTS = rf"(?P<comment>--[^\n\r]*|{_PLAIN_BLOCK})|(?P<nested>/\*)"
_SQLITE_COMMENTS = r"(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))"
# MySQL: ``--`` opens a comment only when a space or control character follows (``1--1`` is
# ``1 - -1``); ``#`` always does; ``/*!…*/`` is executable, dropping it shows nothing.
_MYSQL_COMMENTS = r"(?P<comment>--(?=[\s\x00-\x1f]|\Z)[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))"

_READINGS: dict[str, re.Pattern[str]] = {
    "sqlite": _lexer(
        strings=_STANDARD, comments=_SQLITE_COMMENTS, double_quote="dq",
        names=(_name("`", "`"), _BRACKETED),
    ),
    "postgresql": _lexer(
        strings=f"{_PG_E}|{_STANDARD}", comments=_PG_COMMENTS, double_quote="name",
        extra_literals=_DOLLAR,
    ),
    # The first reading of an unknown dialect: PostgreSQL's, with MySQL's `names` and every
    # comment any dialect has. Dropping a comment cannot show a literal of another reading: those
    # are all merged in (_merged).
    "generic": _lexer(
        strings=f"{_PG_E}|{_STANDARD}", double_quote="name",
        comments=rf"(?P<comment>--[^\n]*|\#[^\n]*|{_PLAIN_BLOCK})|(?P<nested>/\*)",
        names=(_name("`", "`"),), extra_literals=_DOLLAR,
    ),
    "mysql": _lexer(
        strings=_ESCAPED, comments=_MYSQL_COMMENTS, double_quote="string",
        names=(_name("`", "`"),), backslash=True,
    ),
    "mysql-no-backslash-escapes": _lexer(
        strings=_STANDARD, comments=_MYSQL_COMMENTS, double_quote="string",
        names=(_name("`", "`"),),
    ),
}  # fmt: skip

# The readings a dialect's statements get, the first one giving every token that no reading
# calls a literal. The others are consulted only when the text holds a character that can make
# them disagree with the first.
DIALECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sqlite": (("sqlite",), ()),
    "postgresql": (("postgresql",), ()),
    "mysql": (("mysql", "mysql-no-backslash-escapes"), ("\\",)),
    "generic": (
        ("generic", "postgresql", "sqlite", "mysql", "mysql-no-backslash-escapes"),
        ("\\", '"', "#", "$", "[", "`", "--", "/*"),
    ),
}

_SYSTEMS = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}


def dialect_of(system: str | None) -> str:
    """The dialect for a ``db.system`` / ``db.system.name`` value; unknown ones read generically."""
    return _SYSTEMS.get(system.strip().lower(), "generic") if system else "generic"


_NESTING = re.compile(r"/\*|\*/")


# A "/*" before the "*/" of an earlier "/*": only then can a PostgreSQL comment nest.
_NESTING_READINGS = frozenset({"postgresql", "generic"})  # the readings with a "nested" group
_MAY_NEST = re.compile(r"/\*(?:[^*]|\*(?!/))*?/\*")


def _lex(text: str, reading: str) -> Iterator[Token]:
    finditer = _READINGS[reading].finditer
    pos = 0
    while True:
        for m in finditer(text, pos):
            kind = m.lastgroup
            if kind == NESTED:  # its end needs counting: lex on from there
                pos = _nested_comment_end(text, m.end())
                yield COMMENT, m.start(), pos
                break
            yield kind or OTHER, m.start(), m.end()
        else:
            return


def _nested_comment_end(text: str, pos: int) -> int:
    depth = 1
    while True:
        m = _NESTING.search(text, pos)
        if m is None:
            return len(text)
        pos = m.end()
        depth += 1 if m.group() == "/*" else -1
        if depth == 0:
            return pos


def tokens(text: str, dialect: str) -> Iterable[Lexeme]:
    """The tokens of ``text`` in ``dialect``: a span that is a literal in any of the dialect's
    readings comes out as one ``LITERAL`` token, whatever the first reading made of it."""
    readings, divergent = DIALECTS[dialect]
    if len(readings) == 1 or not any(mark in text for mark in divergent):
        if readings[0] not in _NESTING_READINGS or "/*" not in text or not _MAY_NEST.search(text):
            return _READINGS[readings[0]].finditer(text)  # the common case, without Python
        spans: Iterable[Token] = _lex(text, readings[0])
    else:
        spans = _merged(text, readings)
    return [_Lexeme(kind, text[start:end]) for kind, start, end in spans]


def _merged(text: str, readings: tuple[str, ...]) -> Iterator[Token]:
    base = list(_lex(text, readings[0]))
    # What the other readings call a comment is hidden too, unless the first reading drops
    # exactly that comment as well: text one reading skips may be another one's literal.
    spans = heapq.merge(
        ((start, end, False) for kind, start, end in base if kind == LITERAL),
        *(
            (
                (start, end, kind == COMMENT)
                for kind, start, end in _lex(text, reading)
                if kind in (LITERAL, COMMENT)
            )
            for reading in readings[1:]
        ),
    )
    hidden = _coalesce(spans)
    span = next(hidden, None)
    literal_start = literal_end = -1
    for token in base:
        kind, start, end = token
        if literal_end > start:  # still inside the literal being built
            literal_end = max(literal_end, end)
        else:
            if literal_end >= 0:
                yield LITERAL, literal_start, literal_end
                literal_start = literal_end = -1
            while span is not None and span[2] and kind == COMMENT and start <= span[0]:
                if span[1] > end:
                    break
                span = next(hidden, None)  # the same comment, or one inside it
            if span is None or span[0] >= end:
                yield token
                continue
            literal_start, literal_end = start, max(end, span[1])
        # Absorb every hidden span the literal now reaches.
        while span is not None and span[0] < literal_end:
            literal_end = max(literal_end, span[1])
            span = next(hidden, None)
    if literal_end >= 0:
        yield LITERAL, literal_start, literal_end


def _coalesce(spans: Iterator[tuple[int, int, bool]]) -> Iterator[tuple[int, int, bool]]:
    current: tuple[int, int, bool] | None = None
    for start, end, comment in spans:
        if current is not None and start < current[1]:
            current = (current[0], max(current[1], end), current[2] and comment)
            continue
        if current is not None:
            yield current
        current = (start, end, comment)
    if current is not None:
        yield current
