"""Scrubbing the values out of messages: failure messages, skip reasons, exception text.

Messages reach the records (``failure_message``, ``skip_reason``) and the forwarded spans (our
``trim.test.*`` attributes, span status descriptions, ``exception.message`` and
``exception.stacktrace`` events). Database drivers put the offending values in their error text
and HTTP clients put the URL, so before a message leaves the process :func:`scrub_message`

- replaces the values in the known driver error formats (PostgreSQL through psycopg 3 and
  psycopg2, MySQL/MariaDB through PyMySQL and mysqlclient, sqlite3) with ``?``, and SQL text that
  a driver echoes (PostgreSQL ``LINE n:``, MySQL ``near '...'``) with its normalised form;
- redacts URLs, absolute or a path with a query, by the rules of :func:`~.urls.redact_url`,
  and ``user:password@`` userinfo;
- replaces the value of ``name=value`` / ``name: value`` pairs whose name is secret by
  :func:`~.urls.is_secret_name` (``password=...``, ``"api_key": "..."``, ``Authorization: Bearer
  ...``) with ``REDACTED``.

Other free text (an assertion's operands, ``ValueError("...")``) is kept: it is the point of a
failure message. ``TRIM_TELEMETRY_MESSAGES=off`` (pytest: ``--telemetry-messages=off``) drops
messages altogether; :func:`outgoing_message` applies that choice.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping

from .diagnostics import logger
from .sql import normalize_sql
from .urls import REDACTED, is_secret_name, redact_url

__all__ = [
    "MESSAGES_ENV",
    "MESSAGE_MODES",
    "messages_mode",
    "normalize_statement",
    "outgoing_message",
    "read_messages_mode",
    "scrub_message",
    "scrub_stacktrace",
    "set_messages_mode",
]

MESSAGES_ENV = "TRIM_TELEMETRY_MESSAGES"
REDACTED_MODE, OFF_MODE = "redacted", "off"
MESSAGE_MODES = (REDACTED_MODE, OFF_MODE)


def normalize_statement(statement: str, system: str | None = None) -> str:
    """SQL text as the records show it, in the dialect of ``system`` (``db.system``)."""
    return normalize_sql(statement, system)


class MessagesModeError(ValueError):
    """``TRIM_TELEMETRY_MESSAGES`` has a value we do not know."""


def parse_messages_mode(value: str, name: str = MESSAGES_ENV) -> str:
    mode = value.strip().lower()
    if mode not in MESSAGE_MODES:
        raise MessagesModeError(f"{name}={value!r}: use {' or '.join(MESSAGE_MODES)}")
    return mode


_mode: str | None = None


def set_messages_mode(mode: str | None) -> None:
    """Settle the mode for this process (pytest's option); None reads the environment again."""
    global _mode
    _mode = None if mode is None else parse_messages_mode(mode, "--telemetry-messages")


def read_messages_mode(environ: Mapping[str, str]) -> str:
    """What ``TRIM_TELEMETRY_MESSAGES`` says (default ``redacted``); raises on an unknown value."""
    value = environ.get(MESSAGES_ENV, "")
    return parse_messages_mode(value) if value.strip() else REDACTED_MODE


def messages_mode() -> str:
    """The mode of this process. An unknown value in the environment fails closed: ``off``."""
    global _mode
    if _mode is None:
        try:
            _mode = read_messages_mode(os.environ)
        except MessagesModeError as error:
            logger.warning("trim-telemetry-otel: %s; messages are dropped", error)
            _mode = OFF_MODE
    return _mode


def outgoing_message(text: str | None) -> str | None:
    """A message as it may leave the process: scrubbed, or None when messages are off."""
    if text is None or messages_mode() == OFF_MODE:
        return None
    return scrub_message(text)


Rule = Callable[[str], str]

# A value ends at the first terminator after it, and the scan for that terminator is shared by all
# the places where a value starts: scrubbing stays linear in the length of the text, whatever it
# holds. A value longer than this is not recognised (the driver formats quote far shorter ones).
_VALUE_LIMIT = 2048


def _values(start: str, end: str, flags: int = 0) -> Rule:
    """Replace what lies between each ``start`` match and the next ``end`` match with ``?``."""
    starts, ends = re.compile(start, flags), re.compile(end, flags)

    def apply(text: str) -> str:
        parts: list[str] = []
        done = searched = 0
        stop: re.Match[str] | None = None
        while (begin := starts.search(text, searched)) is not None:
            searched = begin.end()
            if stop is None or stop.start() < begin.end():
                stop = ends.search(text, begin.end())
                if stop is None:
                    break  # no terminator after this start, so none after any later one
            if stop.start() - begin.end() > _VALUE_LIMIT or text[begin.end() : stop.start()] == "?":
                continue
            parts += [text[done : begin.end()], "?"]
            done = searched = stop.start()
        return "".join(parts) + text[done:] if parts else text

    return apply


def _sub(pattern: str, replacement: str | Callable[[re.Match[str]], str], flags: int = 0) -> Rule:
    return functools.partial(re.compile(pattern, flags).sub, replacement)


# Column lists end at the first ")=(" (an expression index's columns may hold parentheses).
_COLUMNS = r"\((?:[^)\n]|\)(?!\s?=\s?\())" + "{0,512}" + r"\)\s?=\s?\("
_LINE_VALUE = ".{0,2048}"  # greedy to the last terminator on the line, for row listings
_DRIVER_RULES: list[Rule] = [
    # PostgreSQL (psycopg 3 and psycopg2 print the server's message and its DETAIL/CONTEXT).
    _values(r"Key " + _COLUMNS, r"\)(?: already exists| is not present in table"
            r"| is still referenced from table| is duplicated| conflicts with existing key)"),
    _sub(r"(existing key " + _COLUMNS + ")" + _LINE_VALUE + r"(\)\.)", r"\1?\2"),
    _sub(r"(Failing row contains \()" + _LINE_VALUE + r"(\)\.)", r"\1?\2"),
    _sub(r"(Partition key of the failing row contains " + _COLUMNS + ")" + _LINE_VALUE
         + r"(\)\.)", r"\1?\2"),
    # `: "value"` ending a line: `invalid input syntax for type integer: "x"` and its kin.
    _values(r': "', r'"(?=[ \t]*(?:\n|\Z))'),
    _values(r'(?:value|Token|invalid value) "', r'" (?:is out of range|is invalid|for )'),
    _sub(r"(JSON data, line \d+: ).*", r"\1?"),
    _sub(r"(parameter \$\d+ = ')(?!\?')" + _LINE_VALUE + "'", r"\1?'"),
    # The token where PostgreSQL or sqlite stopped: keywords and identifiers stay, values go.
    _sub(r'((?:at or near|near|unrecognized token:) ")([^"\n]{0,2048}(?:"(?!:|$|\s+at character)'
         r'[^"\n]{0,2048}){0,8})("(?=:|$|\s+at character))',
         lambda m: m[1] + _token(m[2]) + m[3], re.MULTILINE),
    # MySQL / MariaDB (PyMySQL and mysqlclient: "(1062, \"Duplicate entry 'x' for key 'k'\")").
    _sub(r"(Duplicate entry \\?')" + _LINE_VALUE + r"(\\?' for key )", r"\1?\2"),
    _values(r"(?:Incorrect|Truncated incorrect) [\w ]{1,64} value: \\?'",
            r"\\?'(?: for column|\"?\)?$)", re.MULTILINE),
    _sub(r"(syntax to use near \\?')(" + _LINE_VALUE + r")(\\?' at line \d+)",
         lambda m: m[1] + normalize_statement(m[2], "mysql") + m[3]),
]  # fmt: skip

# `LINE 3: <sql>` and the caret line under it. Only a first line echoed from its start begins
# between two tokens; any other may begin inside a literal, so its text cannot be normalised.
_PG_LINE_ECHO = re.compile(r"^LINE (\d+): (.*)(?:\n[ \t]*\^[ \t]*)?$", re.MULTILINE)

# Each starts only where a word starts (after a space, a quote, a bracket...), which keeps the scan
# linear: a long run of letters or slashes is not tried again from each of its characters.
_URL = re.compile(
    r"""(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>`]+"""
    r"""|(?<![^\s'"(\[<=:,])/[^\s'"<>`]*[?;#][^\s'"<>`]*"""
)
_LOOSE_USERINFO = re.compile(
    r"(?<![^\s'\"(\[<,=])[^\s/?#@:'\"()<>,=]+:[^\s/?#@'\"()<>]*@(?=[\w\[])"
)
_AUTH_SCHEMES = r"(?:Bearer|Basic|Digest|Token|Negotiate|NTLM|ApiKey|AWS4-HMAC-SHA256)\s+"
_PAIR_NAME = re.compile(r"""(?<![\w\-.\[\]])(["']?)([A-Za-z_][\w\-.\[\]]*)\1\s*[=:]\s*""")
_PAIR_VALUE = re.compile(
    r"""(""" + _AUTH_SCHEMES + r""")?("[^"\n]*"|'[^'\n]*'|[^\s&,;?#'")}\]]+)"""
)
# Common words that are secret names in a URL but not in prose ("status code: 500").
_PROSE_WORDS = frozenset({"code", "key", "session", "sig", "auth", "pass", "ticket", "cookie"})


def _token(token: str) -> str:
    if re.fullmatch(r"[A-Za-z_][\w$]*|[^\w'\"`$]*|\?", token):
        return token
    return "?"


def _line_echo(match: re.Match[str]) -> str:
    number, text = match[1], match[2]
    if number == "1" and not text.startswith("..."):
        text = normalize_statement(text, "postgresql")
    else:
        text = "…"
    return f"LINE {number}: {text}"


def _redact_pairs(text: str) -> str:
    # A name that is not secret is stepped over, not its value: in "ValueError: token=x" the
    # value of "ValueError" would swallow "token=x".
    parts: list[str] = []
    done = searched = 0
    while (name := _PAIR_NAME.search(text, searched)) is not None:
        searched = name.end()
        if name[2].lower() in _PROSE_WORDS or not is_secret_name(name[2]):
            continue
        value = _PAIR_VALUE.match(text, name.end())
        if value is None or value[2].strip("\"'") in (REDACTED, "?"):
            continue
        quote = value[2][0] if value[2][0] in "\"'" else ""
        parts += [text[done : value.start(2)], quote, REDACTED, quote]
        done = searched = value.end()
    return "".join(parts) + text[done:] if parts else text


# Longer text is cut before it is scrubbed (records keep 2000 characters anyway).
MESSAGE_SCAN_LIMIT = 16384


@functools.lru_cache(maxsize=256)
def scrub_message(text: str) -> str:
    """``text`` without the values of driver errors, URL secrets and ``secret=value`` pairs.

    Text past :data:`MESSAGE_SCAN_LIMIT` characters is dropped, back to the last line break (or
    space) before the limit, so that no value is cut in two and half of it kept. Never raises;
    ``scrub_message(scrub_message(t)) == scrub_message(t)``.
    """
    if len(text) > MESSAGE_SCAN_LIMIT:
        head = text[:MESSAGE_SCAN_LIMIT]
        cut = head.rfind("\n")
        if cut < MESSAGE_SCAN_LIMIT // 2:
            cut = max(head.rfind(" "), 0)
        text = head[:cut] + "…"
    if "LINE " in text:
        text = _PG_LINE_ECHO.sub(_line_echo, text)
    for rule in _DRIVER_RULES:
        text = rule(text)
    text = _URL.sub(lambda m: redact_url(m[0]), text)
    if "@" in text:
        text = _LOOSE_USERINFO.sub(f"{REDACTED}:{REDACTED}@", text)
    return _redact_pairs(text)


# A frame of a formatted traceback, with the prefix exception groups draw (``  |   File ...``).
_FRAME = re.compile(r'^[ |+\-]*File "[^\n]*", line \d+, in [^\n]*$')


def scrub_stacktrace(text: str, keep_messages: bool = True) -> str:
    """A formatted traceback without its source lines, its messages scrubbed (or dropped).

    Source lines show the test's code, literals and all (``cursor.execute("... 'x'")``): they
    go, and so do the ``^^^^`` markers under them. Frame lines (file, line, function) stay.
    """
    kept: list[str] = []
    in_frame = False
    for line in text.splitlines():
        if _FRAME.match(line):
            kept.append(line)
            in_frame = True
        elif in_frame and (line.startswith("    ") or line.lstrip(" |").startswith(("~", "^"))):
            continue  # the frame's source line(s)
        else:
            in_frame = False
            if keep_messages or line.startswith("Traceback") or not line.strip():
                kept.append(line)
    scrubbed = "\n".join(kept)
    return scrub_message(scrubbed) if keep_messages else scrubbed
