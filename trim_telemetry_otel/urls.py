"""Redact credentials and secrets from URLs before they are reported as ``url.full``.

Follows the OpenTelemetry semantic conventions: userinfo becomes ``REDACTED:REDACTED``, the
values of secret-carrying query parameters and ``;name=value`` path parameters become
``REDACTED`` and the fragment is dropped. The URL is handled as plain text rather than parsed and
re-assembled, so everything that is not redacted comes out byte for byte as it went in, and no
input can make it raise.

Which names carry secrets is decided by one rule, :func:`is_secret_name`, shared with the
captured HTTP headers and the ``key=value`` pairs found in messages. A name is first
percent-decoded (``+`` is a space), then split into segments at ``[`` ``]`` and ``.``
(``user[password]``, ``filter.api_key``); each segment is split into lower-case words at
``-``, ``_``, spaces and camelCase boundaries (``X-Amz-Security-Token``, ``clientSecret``). The
name is secret when any segment

1. spelled without separators is one of :data:`SECRET_NAMES` (``code``, ``sig``, ``jwt``,
   ``sessionid``, ``awsaccesskeyid``...), or
2. spelled without separators ends with one of :data:`SECRET_ENDINGS` (``token``, ``secret``,
   ``password``, ``signature``, ``apikey``...: ``private_token``, ``accessToken``), or
3. has a last word in :data:`SECRET_LAST_WORDS` (``key``, ``auth``, ``pwd``, ``credential``,
   ``cookie``...: ``api_key``, ``x-api-key``, ``basic_auth``, but not ``keyword`` or ``monkey``), or
4. has a word in :data:`SECRET_WORDS` anywhere (``password_confirmation``, ``secret_id``).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_plus

__all__ = [
    "REDACTED",
    "SECRET_ENDINGS",
    "SECRET_LAST_WORDS",
    "SECRET_NAMES",
    "SECRET_WORDS",
    "is_secret_name",
    "redact_query",
    "redact_url",
]

REDACTED = "REDACTED"

SECRET_NAMES: frozenset[str] = frozenset(
    {
        # Presigned object-store URLs: the signature and credential grant access on their own.
        "awsaccesskeyid", "sig", "xamzcredential", "xgoogcredential",
        # Bearer tokens, sessions and one-time codes.
        "auth", "authorization", "jwt", "session", "sessid", "sid", "otp", "ticket",
        "samlresponse", "samlrequest", "cookie",
        # OAuth authorization code, exchangeable for a token until it expires.
        "code",
    }
)  # fmt: skip
SECRET_ENDINGS: tuple[str, ...] = (
    "token", "secret", "password", "passwd", "passphrase", "signature", "apikey",
    "sessionid", "sessid", "credential", "credentials", "jwt",
)  # fmt: skip
SECRET_LAST_WORDS: frozenset[str] = frozenset(
    {
        "key", "sig", "auth", "authorization", "pwd", "pass", "cookie", "otp", "verifier",
        "credential", "credentials",
    }
)  # fmt: skip
SECRET_WORDS: frozenset[str] = frozenset({"password", "passwd", "passphrase", "secret"})

_SEGMENTS = re.compile(r"[\[\].]+")
# camelCase and ACRONYMWord boundaries, then anything that is not a letter or digit.
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a query key, path parameter, header or ``key=`` name carries a secret value."""
    decoded = name
    for _ in range(3):  # double-encoded names (``%255B``) too
        if "%" not in decoded and "+" not in decoded:
            break
        decoded = unquote_plus(decoded)
    for segment in _SEGMENTS.split(decoded):
        words = [word.lower() for word in _WORDS.findall(segment)]
        if not words:
            continue
        joined = "".join(words)
        if (
            joined in SECRET_NAMES
            or joined.endswith(SECRET_ENDINGS)
            or words[-1] in SECRET_LAST_WORDS
            or not SECRET_WORDS.isdisjoint(words)
        ):
            return True
    return False


# ``scheme://authority`` or a network-path reference ``//authority``; the authority ends where
# the path, query or fragment starts, as in RFC 3986 and urllib.
_AUTHORITY = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//([^/?#]*)")
# Without an authority there is no telling where userinfo would be, so anything shaped like
# ``user:password@`` at the start of a word is redacted (this catches scheme-less DSNs).
_LOOSE_USERINFO = re.compile(r"(?<!\S)[^\s/?#@:]+:[^\s/?#]*@")
# ``;name=value`` path parameters (``;jsessionid=``): up to the next ``;`` or ``/``.
_PATH_PARAMETER = re.compile(r";([^;/=]*)=([^;/]*)")


@functools.lru_cache(maxsize=4096)
def redact_url(url: str) -> str:
    """Return ``url`` with credentials and secret parameter values replaced by ``REDACTED``.

    The fragment is dropped. Idempotent, and returns text it cannot make sense of unchanged
    apart from best-effort userinfo redaction.
    """
    head, question, query = url.partition("#")[0].partition("?")
    match = _AUTHORITY.match(head)
    if match is not None:
        userinfo, at, _ = match.group(1).rpartition("@")
        if at and userinfo:
            credentials = f"{REDACTED}:{REDACTED}" if ":" in userinfo else REDACTED
            head = head[: match.start(1)] + credentials + head[match.start(1) + len(userinfo) :]
    elif "@" in head:
        head = _LOOSE_USERINFO.sub(f"{REDACTED}:{REDACTED}@", head)
    if ";" in head:
        path_start = match.end() if match is not None else 0
        head = head[:path_start] + _PATH_PARAMETER.sub(_redact_path_parameter, head[path_start:])
    return head + question + redact_query(query)


def redact_query(query: str) -> str:
    """A query string (without its ``?``) with the values of secret keys redacted."""
    if not query:
        return query
    return "&".join(_redact_param(param) for param in query.split("&"))


def _redact_param(param: str) -> str:
    key, equals, value = param.partition("=")
    if not value or value == REDACTED:
        # Nothing to hide, and an empty value is worth seeing when debugging a missing token.
        return param
    if is_secret_name(key):
        return key + equals + REDACTED
    return param


def _redact_path_parameter(match: re.Match[str]) -> str:
    key, value = match.group(1), match.group(2)
    if value and value != REDACTED and is_secret_name(key):
        return f";{key}={REDACTED}"
    return match.group()
