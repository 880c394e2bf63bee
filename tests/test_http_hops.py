"""Every request on the wire is a call: redirect hops, retries and digest-auth round trips, each
with its own status code, checked against the local server's own count of what it received."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.http_servers import QuietHandler, serving

Records = Callable[..., dict[str, dict[str, Any]]]


class _Counting(QuietHandler):
    protocol_version = "HTTP/1.1"
    hits: collections.Counter[str] = collections.Counter()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.hits[path] += 1
        parts = path.strip("/").split("/")
        if parts[0] == "redirect":  # /redirect/<n>: n hops, then /ok
            n = int(parts[1])
            return self._reply(302, location=f"/redirect/{n - 1}" if n > 1 else "/ok")
        if parts[0] == "flaky" and self.hits[path] <= int(parts[2]):  # /flaky/<key>/<failures>
            return self._reply(503)
        if parts[0] == "digest" and not self.headers.get("Authorization", "").startswith("Digest"):
            challenge = 'Digest realm="r", nonce="abc", qop="auth", algorithm=MD5'
            return self._reply(401, authenticate=challenge)
        if parts[0] == "status":
            return self._reply(int(parts[1]))
        self._reply(200, body=b"{}")

    def _reply(
        self, status: int, body: bytes = b"", location: str = "", authenticate: str = ""
    ) -> None:
        headers = [("Location", location)] if location else []
        if authenticate:
            headers.append(("WWW-Authenticate", authenticate))
        self.reply(status, body, headers=headers)


@pytest.fixture
def counting_server() -> Iterator[tuple[str, collections.Counter[str]]]:
    _Counting.hits = collections.Counter()
    with serving(_Counting) as url:
        yield url, _Counting.hits


CLIENT_CALLS = {
    "requests_redirect": "requests.get(BASE + '/redirect/2')",
    "requests_retry": (
        "s = requests.Session(); s.mount('http://', requests.adapters.HTTPAdapter("
        "max_retries=urllib3.Retry(total=3, status_forcelist=[503], backoff_factor=0)));"
        " s.get(BASE + '/flaky/a/2')"
    ),
    "requests_digest": (
        "requests.get(BASE + '/digest/a', auth=requests.auth.HTTPDigestAuth('u', 'p'))"
    ),
    "urllib3_redirect": "urllib3.PoolManager().request('GET', BASE + '/redirect/2')",
    "urllib3_retry": (
        "urllib3.PoolManager().request('GET', BASE + '/flaky/b/2', retries=urllib3.Retry("
        "total=3, status_forcelist=[503], backoff_factor=0))"
    ),
    "urllib_redirect": "urllib.request.urlopen(BASE + '/redirect/2').read()",
    "urllib_digest": (
        "pm = urllib.request.HTTPPasswordMgrWithDefaultRealm(); pm.add_password(None, BASE, 'u',"
        " 'p'); urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(pm))"
        ".open(BASE + '/digest/b').read()"
    ),
    "httpx_redirect": "httpx.get(BASE + '/redirect/2', follow_redirects=True)",
    "httpx_digest": "httpx.get(BASE + '/digest/c', auth=httpx.DigestAuth('u', 'p'))",
}


def test_each_hop_retry_and_auth_round_trip_is_a_call_with_its_status(
    pytester: pytest.Pytester,
    records_of: Records,
    counting_server: tuple[str, collections.Counter[str]],
) -> None:
    base, hits = counting_server
    tests = "\n".join(f"def test_{name}():\n    {code}\n" for name, code in CLIENT_CALLS.items())
    pytester.makepyfile(
        f"import urllib.request\nimport httpx, requests, requests.adapters, urllib3\n"
        f"BASE = {base!r}\n{tests}"
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=len(CLIENT_CALLS))

    records = records_of()
    for name in CLIENT_CALLS:
        record = records[f"test_{name}"]
        seen = {
            (r["url"].removeprefix(base), r["status_code"]): r["count"]
            for r in record["net_requests"]
        }
        if name.endswith("redirect"):
            expected = {("/redirect/2", 302): 1, ("/redirect/1", 302): 1, ("/ok", 200): 1}
        elif name.endswith("retry"):
            key = "/flaky/a/2" if name.startswith("requests") else "/flaky/b/2"
            expected = {(key, 503): 2, (key, 200): 1}
        else:
            key = {"requests": "/digest/a", "urllib": "/digest/b", "httpx": "/digest/c"}
            path = key[name.partition("_")[0]]
            expected = {(path, 401): 1, (path, 200): 1}
        assert seen == expected, name
        assert record["net_request_count"] == sum(expected.values()), name
        assert record["net_http_error_count"] == sum(
            n for (_, status), n in expected.items() if status >= 400
        ), name
        assert record["net_error_count"] == 0, name
    # The server's own count: every request it received is in exactly one record.
    recorded = sum(records[f"test_{name}"]["net_request_count"] for name in CLIENT_CALLS)
    assert recorded == sum(hits.values())


def test_error_responses_and_calls_without_a_response_are_counted_apart(
    pytester: pytest.Pytester,
    records_of: Records,
    counting_server: tuple[str, collections.Counter[str]],
) -> None:
    base, _ = counting_server
    pytester.makepyfile(
        f"""
        import pytest, requests, urllib3

        def test_errors():
            assert requests.get({base!r} + "/status/500").status_code == 500
            assert requests.get({base!r} + "/status/404").status_code == 404
            with pytest.raises(requests.ConnectionError):
                requests.get("http://127.0.0.1:9/refused")
            with pytest.raises(requests.ConnectionError):
                requests.get("http://no-such-host.invalid/", timeout=2)
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    record = records_of()["test_errors"]
    assert record["net_request_count"] == 4
    assert record["net_http_error_count"] == 2
    assert record["net_error_count"] == 2
    no_response = {r["url"] for r in record["net_requests"] if r["status_code"] is None}
    assert no_response == {"http://127.0.0.1:9/refused", "http://no-such-host.invalid/"}


def test_mocked_calls_that_fail_are_never_network_calls(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import pytest, requests, responses

        class Stop(BaseException):
            pass

        def stop(request):
            raise Stop()

        @responses.activate
        def test_mocks():
            url = "https://api.example.com/"
            # A body shorter than its Content-Length: urllib3 raises while reading it.
            responses.add(responses.GET, url + "short", body="ab", headers={"Content-Length": "9"})
            responses.add(responses.GET, url + "raises", body=Exception("mocked failure"))
            responses.add_callback(responses.GET, url + "stops", callback=stop)
            responses.add(responses.GET, url + "ok", json={})
            with pytest.raises(Exception):
                requests.get(url + "short")
            with pytest.raises(Exception):
                requests.get(url + "raises")
            with pytest.raises(Stop):
                requests.get(url + "stops")
            requests.get(url + "ok")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    record = records_of()["test_mocks"]
    assert record["net_urls"] == []
    assert record["net_request_count"] == 0
    assert sorted(record["net_mocked_urls"]) == [
        f"https://api.example.com/{path}" for path in ("ok", "raises", "short", "stops")
    ]
