from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trim_telemetry_otel.urls import REDACTED, is_secret_name, redact_url


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
            "&api+key=REDACTED&n=%E2%9C%93",
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
    lambda key: not is_secret_name(key)
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


@pytest.mark.parametrize(
    "name",
    [
        "private_token", "api_token", "access-token", "accessToken", "X-Auth-Token", "jwt",
        "client_secret", "clientSecret", "CLIENT-SECRET", "app_secret_key", "secret_id",
        "user[password]", "user%5Bpassword%5D", "user%255Bpassword%255D",
        "user[password_confirmation]", "passwd", "pwd", "user_pass", "passphrase", "api_key",
        "apikey", "api-key", "API+Key",
        "x-api-key", "private-key", "filter.api_key", "X-Amz-Signature", "X-Amz-Credential",
        "X-Amz-Security-Token", "AWSAccessKeyId", "X-Goog-Signature", "X-Goog-Credential", "sig",
        "Signature", "code", "code_verifier", "oauth_verifier", "auth", "basic_auth",
        "authorization", "proxy_authorization", "cookie", "set_cookie", "session", "sessionid",
        "session_id", "jsessionid", "PHPSESSID", "ASP.NET_SessionId", "otp", "ticket",
        "SAMLResponse", "x_csrf_token", "token[]",
    ],
)  # fmt: skip
def test_secret_names_are_recognised_by_rule(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "page", "page[size]", "q", "keyword", "keys", "monkey", "hockey", "keyboard", "tokens",
        "token_type", "passenger", "author", "authority", "codec", "zipcode", "country_code",
        "error_code", "state", "scope", "sort", "id", "user", "user[name]", "email", "sv", "se",
        "X-Amz-Date", "X-Amz-Expires", "X-Amz-Algorithm", "X-Amz-SignedHeaders", "expires",
        "content_type", "x_request_id", "user_agent", "redirect_uri", "response_type", "",
    ],
)  # fmt: skip
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/p?private_token=a&page=2", "http://h/p?private_token=REDACTED&page=2"),
        ("http://h/p?user%5Bpassword%5D=pw&user%5Bname%5D=al",
         "http://h/p?user%5Bpassword%5D=REDACTED&user%5Bname%5D=al"),
        ("http://h/shop;jsessionid=AB12?x=1", "http://h/shop;jsessionid=REDACTED?x=1"),
        ("http://h/a;JSESSIONID=AB12/b;v=2", "http://h/a;JSESSIONID=REDACTED/b;v=2"),
        ("/a;sid=1;lang=en", "/a;sid=REDACTED;lang=en"),
        ("http://h/p?keyword=shoes&monkey=1", "http://h/p?keyword=shoes&monkey=1"),
    ],
)  # fmt: skip
def test_the_rule_applies_to_query_keys_and_path_parameters(url: str, expected: str) -> None:
    assert redact_url(url) == expected


stems = st.sampled_from(
    ["token", "secret", "password", "passwd", "signature", "apikey", "sessionid", "credential"]
)
prefixes = st.sampled_from(["", "private", "api", "access", "client", "x-auth", "user", "my"])
separators = st.sampled_from(["", "_", "-", "+", " ", "%5F", "%2D"])


def _case(text: str, upper: list[bool]) -> str:
    return "".join(
        c.upper() if u else c for c, u in zip(text, upper + [False] * len(text), strict=False)
    )


@st.composite
def secret_keys(draw: st.DrawFn) -> str:
    prefix, separator, stem = draw(prefixes), draw(separators), draw(stems)
    name = f"{prefix}{separator}{stem}" if prefix else stem
    name = _case(name, draw(st.lists(st.booleans(), max_size=len(name))))
    if draw(st.booleans()):
        outer = draw(st.sampled_from(["user", "filter", "auth"]))
        name = draw(st.sampled_from([f"{outer}[{name}]", f"{outer}%5B{name}%5D"]))
    return name


@given(key=secret_keys(), secret=secrets, safe=safe_keys, value=query_values)
def test_a_secret_key_by_rule_never_keeps_its_value(
    key: str, secret: str, safe: str, value: str
) -> None:
    url = f"http://host/path?{safe}={value}&{key}={secret}#frag-{secret}"
    redacted = redact_url(url)
    assert secret not in redacted
    assert redacted == f"http://host/path?{safe}={value}&{key}={REDACTED}"
    assert redact_url(redacted) == redacted


@given(
    keys=st.lists(safe_keys, min_size=1, max_size=4),
    values=st.lists(query_values, min_size=4, max_size=4),
)
def test_ordinary_keys_come_out_byte_for_byte(keys: list[str], values: list[str]) -> None:
    url = "https://host/p;v=1?" + "&".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))
    assert redact_url(url) == url


@given(key=secret_keys(), secret=secrets)
def test_secret_path_parameters_never_keep_their_value(key: str, secret: str) -> None:
    redacted = redact_url(f"https://host/a;{key}={secret}/b?x=1")
    assert secret not in redacted
    assert redacted == f"https://host/a;{key}={REDACTED}/b?x=1"
