"""HTTP calls through requests, urllib3, urllib and httpx against a real server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Records = Callable[..., dict[str, dict[str, Any]]]


def test_every_client_library_reports_its_calls(
    pytester: pytest.Pytester, records_of: Records, http_server: str
) -> None:
    pytester.makepyfile(
        f"""
        import urllib.request
        import httpx, requests, urllib3

        BASE = {http_server!r}

        def test_requests():
            assert requests.get(BASE + "/requests").status_code == 200
            requests.get(BASE + "/requests")

        def test_urllib3():
            assert urllib3.PoolManager().request("GET", BASE + "/urllib3").status == 200

        def test_urllib():
            with urllib.request.urlopen(BASE + "/urllib") as response:
                assert response.status == 200

        def test_httpx():
            with httpx.Client() as client:
                assert client.get(BASE + "/httpx").status_code == 200

        def test_no_network():
            pass
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=5)

    records = records_of()
    for name in ("requests", "urllib3", "urllib", "httpx"):
        assert records[f"test_{name}"]["net_urls"] == [f"{http_server}/{name}"], name
    assert records["test_requests"]["net_requests"] == [
        {
            "method": "GET",
            "url": f"{http_server}/requests",
            "status_code": 200,
            "count": 2,
            "total_duration_ms": records["test_requests"]["net_requests"][0]["total_duration_ms"],
        }
    ]
    assert records["test_requests"]["net_request_count"] == 2
    assert records["test_no_network"]["net_urls"] == []


def test_credentials_and_secret_query_values_are_redacted(
    pytester: pytest.Pytester, records_of: Records, http_server: str
) -> None:
    secret_url = http_server.replace("http://", "http://alice:hunter2@")
    pytester.makepyfile(
        f"""
        import requests

        def test_secret():
            requests.get({secret_url!r} + "/data?token=abc123&page=2&sig=xyz")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    record = records_of()["test_secret"]
    host = http_server.removeprefix("http://")
    assert record["net_urls"] == [
        f"http://REDACTED:REDACTED@{host}/data?token=REDACTED&page=2&sig=REDACTED"
    ]
    for secret in ("alice", "hunter2", "abc123", "xyz"):
        assert secret not in str(record)


def test_mocked_calls_are_kept_apart_from_real_ones(
    pytester: pytest.Pytester, records_of: Records, http_server: str
) -> None:
    pytester.makepyfile(
        f"""
        import httpx, pytest, requests, responses, requests_mock

        @responses.activate
        def test_responses():
            responses.get("https://api.example.com/rates", json={{"EUR": 1}})
            assert requests.get("https://api.example.com/rates").json() == {{"EUR": 1}}

        def test_requests_mock():
            with requests_mock.Mocker() as mocker:
                mocker.get("https://api.example.com/quote", text="ok")
                assert requests.get("https://api.example.com/quote").text == "ok"

        @responses.activate
        def test_responses_raising():
            responses.get("https://api.example.com/slow", body=requests.ConnectTimeout("mocked"))
            with pytest.raises(requests.ConnectTimeout):
                requests.get("https://api.example.com/slow")

        def test_requests_mock_raising():
            with requests_mock.Mocker() as mocker:
                mocker.get("https://api.example.com/slow", exc=requests.ConnectTimeout)
                with pytest.raises(requests.ConnectTimeout):
                    requests.get("https://api.example.com/slow")

        def test_httpx_mock_transport():
            transport = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
            with httpx.Client(transport=transport) as client:
                assert client.get("https://api.example.com/x").text == "ok"

        def test_real_and_mocked():
            requests.get({http_server!r} + "/real")
            with requests_mock.Mocker(real_http=True) as mocker:
                mocker.get("https://api.example.com/quote", text="ok")
                requests.get("https://api.example.com/quote")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=6)

    records = records_of()
    assert records["test_responses"]["net_urls"] == []
    assert records["test_responses"]["net_mocked_urls"] == ["https://api.example.com/rates"]
    # requests-mock's pytest plugin imported it before telemetry started: it still counts.
    assert records["test_requests_mock"]["net_urls"] == []
    assert records["test_requests_mock"]["net_mocked_urls"] == ["https://api.example.com/quote"]
    for name in ("test_responses_raising", "test_requests_mock_raising"):
        assert records[name]["net_urls"] == [], name
        assert records[name]["net_error_count"] == 0, name
        assert records[name]["net_mocked_urls"] == ["https://api.example.com/slow"], name
    assert records["test_httpx_mock_transport"]["net_urls"] == []
    assert records["test_real_and_mocked"]["net_urls"] == [f"{http_server}/real"]


def test_a_refused_connection_is_a_network_call_that_failed(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import socket
        import pytest, requests

        def test_refused():
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/down")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    record = records_of()["test_refused"]
    assert record["net_request_count"] == 1
    assert record["net_error_count"] == 1
    assert record["net_requests"][0]["status_code"] is None
