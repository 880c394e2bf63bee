from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trim_telemetry_otel.urls import REDACTED, SENSITIVE_QUERY_KEYS, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Userinfo
        ("https://user:pass@example.com/p", "https://REDACTED:REDACTED@example.com/p"),
        ("https://user@example.com/", "https://REDACTED@example.com/"),
        ("https://user:pass@example.com:8443/p", "https://REDACTED:REDACTED@example.com:8443/p"),
        ("https://us%40er:p@ss@example.com/", "https://REDACTED:REDACTED@example.com/"),
        ("postgres://app:hunter2@db:5432/app", "postgres://REDACTED:REDACTED@db:5432/app"),
        ("//user:pass@example.com/p", "//REDACTED:REDACTED@example.com/p"),
        ("https://@example.com/", "https://@example.com/"),
        ("https://example.com/users/@me", "https://example.com/users/@me"),
        # IPv6 hosts
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("http://u:p@[2001:db8::1]:8000/x", "http://REDACTED:REDACTED@[2001:db8::1]:8000/x"),
        # AWS presigned URL
        (
            "https://bucket.s3.amazonaws.com/key.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=FwoGZXIvYXdz&X-Amz-Signature=0123456789abcdef",
            "https://bucket.s3.amazonaws.com/key.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=REDACTED&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"
            "&X-Amz-SignedHeaders=host&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED",
        ),
        (
            "https://bucket.s3.amazonaws.com/k?AWSAccessKeyId=AKIA&Expires=1700000000&Signature=x%2By",
            "https://bucket.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1700000000"
            "&Signature=REDACTED",
        ),
        # GCS signed URL
        (
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
            "&X-Goog-Credential=sa%40project.iam.gserviceaccount.com%2F20240101"
            "&X-Goog-Date=20240101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host"
            "&X-Goog-Signature=5e1f",
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
            "&X-Goog-Credential=REDACTED&X-Goog-Date=20240101T000000Z&X-Goog-Expires=900"
            "&X-Goog-SignedHeaders=host&X-Goog-Signature=REDACTED",
        ),
        # Azure SAS
        (
            "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-01-01&sig=abc%3D",
            "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-01-01&sig=REDACTED",
        ),
        # OAuth callback
        (
            "https://app.example.com/callback?code=4%2F0AX4X&state=af0ifjsldkj&scope=email",
            "https://app.example.com/callback?code=REDACTED&state=af0ifjsldkj&scope=email",
        ),
        (
            "https://api.example.com/v1?access_token=ya29&Refresh_Token=1%2F&client_secret=s",
            "https://api.example.com/v1?access_token=REDACTED&Refresh_Token=REDACTED"
            "&client_secret=REDACTED",
        ),
        # Keys match case-insensitively after percent-decoding; untouched params stay verbatim.
        (
            "http://h/search?q=a%20b+c&TOKEN=t&%74oken=t&api%2Dkey=k&api+key=x&n=%E2%9C%93",
            "http://h/search?q=a%20b+c&TOKEN=REDACTED&%74oken=REDACTED&api%2Dkey=REDACTED"
            "&api+key=x&n=%E2%9C%93",
        ),
        ("http://h/p?token&flag=1", "http://h/p?token&flag=1"),
        ("http://h/p?token=&password=", "http://h/p?token=&password="),
        ("http://h/p?password=a=b&x=1", "http://h/p?password=REDACTED&x=1"),
        ("http://h/p?a=1&&b=2&", "http://h/p?a=1&&b=2&"),
        ("http://h/p?keys=1&monkey=2", "http://h/p?keys=1&monkey=2"),
        # No query, empty query, fragments
        ("https://example.com/path", "https://example.com/path"),
        ("https://example.com/path?", "https://example.com/path?"),
        ("https://example.com/path#section", "https://example.com/path"),
        ("https://example.com/?a=1#token=x", "https://example.com/?a=1"),
        ("https://example.com/#/route?token=x", "https://example.com/"),
        # Relative references and text that is not a URL
        ("/api/items?token=abc&page=2", "/api/items?token=REDACTED&page=2"),
        ("", ""),
        ("not a url", "not a url"),
        ("user:pass@db.internal:5432/app", "REDACTED:REDACTED@db.internal:5432/app"),
        ("user:p@ss@db.internal/app", "REDACTED:REDACTED@db.internal/app"),
        ("alice@example.com", "alice@example.com"),
        # urlsplit rejects these; they must still come out redacted, not raise.
        ("http://[::1/p?token=abc", "http://[::1/p?token=REDACTED"),
        ("http://u:p@]::1[:80/", "http://REDACTED:REDACTED@]::1[:80/"),
        ("http://host:notaport/p?sig=1", "http://host:notaport/p?sig=REDACTED"),
    ],
)
def test_urls_are_redacted_following_the_semantic_conventions(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_the_sensitive_keys_are_lower_cased() -> None:
    assert all(key == key.lower() for key in SENSITIVE_QUERY_KEYS)
    assert {"x-amz-signature", "x-goog-signature", "token", "code", "password"} <= (
        SENSITIVE_QUERY_KEYS
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://REDACTED:REDACTED@example.com/p?token=REDACTED&a=1",
        "https://REDACTED@example.com/",
        "https://example.com/p?q=a%20b+c",
    ],
)
def test_redacted_urls_are_left_unchanged(url: str) -> None:
    assert redact_url(url) == url


safe_keys = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
    lambda key: key not in SENSITIVE_QUERY_KEYS
)
query_values = st.text(alphabet=string.ascii_letters + string.digits + "%+-._~/:", max_size=30)
secrets = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=30).map(
    lambda text: "zq" + text
)


@given(key=safe_keys, value=query_values, secret=secrets)
def test_a_token_in_the_query_never_survives(key: str, value: str, secret: str) -> None:
    url = f"http://host/path?{key}={value}&token={secret}"
    redacted = redact_url(url)
    assert secret not in redacted
    assert redacted == f"http://host/path?{key}={value}&token={REDACTED}"


@given(
    user=st.text(alphabet=string.ascii_letters + string.digits + "%-._~!$'()*+,;=", min_size=1),
    password=st.text(alphabet=string.ascii_letters + string.digits + "%-._~!$'()*+,;=:@"),
)
def test_credentials_never_survive(user: str, password: str) -> None:
    redacted = redact_url(f"https://zq{user}:zq{password}@example.com/")
    assert redacted == "https://REDACTED:REDACTED@example.com/"


@given(st.text())
def test_redacting_any_text_never_raises_and_is_idempotent(text: str) -> None:
    redacted = redact_url(text)
    assert redact_url(redacted) == redacted
