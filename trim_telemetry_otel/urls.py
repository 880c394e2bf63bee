"""Redact credentials and secrets from URLs before they are reported as ``url.full``.

Follows the OpenTelemetry semantic conventions: userinfo becomes ``REDACTED:REDACTED``, the
values of well-known secret-carrying query parameters become ``REDACTED`` and the fragment is
dropped. The URL is handled as plain text rather than parsed and re-assembled, so everything
that is not redacted comes out byte for byte as it went in, and no input can make it raise.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote_plus

__all__ = ["REDACTED", "SENSITIVE_QUERY_KEYS", "redact_url"]

REDACTED = "REDACTED"

SENSITIVE_QUERY_KEYS: frozenset[str] = frozenset(
    {
        # Presigned object-store URLs: the signature and credential grant access on their own.
        "awsaccesskeyid", "sig", "signature", "x-amz-signature", "x-amz-credential",
        "x-amz-security-token", "x-goog-signature", "x-goog-credential",
        # Bearer tokens and API keys passed in the query string.
        "token", "access_token", "refresh_token", "id_token", "auth", "auth_token",
        "authorization", "api_key", "apikey", "api-key", "key", "secret", "client_secret",
        "password", "passwd", "pwd", "session", "sessionid", "session_id",
        # OAuth authorization code, exchangeable for a token until it expires.
        "code",
    }
)  # fmt: skip

# ``scheme://authority`` or a network-path reference ``//authority``; the authority ends where
# the path, query or fragment starts, as in RFC 3986 and urllib.
_AUTHORITY = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//([^/?#]*)")
# Without an authority there is no telling where userinfo would be, so anything shaped like
# ``user:password@`` at the start of a word is redacted (this catches scheme-less DSNs).
_LOOSE_USERINFO = re.compile(r"(?<!\S)[^\s/?#@:]+:[^\s/?#]*@")


@functools.lru_cache(maxsize=4096)
def redact_url(url: str) -> str:
    """Return ``url`` with credentials and sensitive query values replaced by ``REDACTED``.

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
    if query:
        query = "&".join(_redact_param(param) for param in query.split("&"))
    return head + question + query


def _redact_param(param: str) -> str:
    key, equals, value = param.partition("=")
    if not value:
        # Nothing to hide, and an empty value is worth seeing when debugging a missing token.
        return param
    name = unquote_plus(key) if "%" in key or "+" in key else key
    if name.lower() in SENSITIVE_QUERY_KEYS:
        return key + equals + REDACTED
    return param
