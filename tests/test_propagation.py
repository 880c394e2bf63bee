"""Telemetry sends no trace headers unless asked: what a server or a mock sees is unchanged.

The stock HTTP instrumentors inject ``traceparent`` and ``baggage`` into every request. The suite
below logs the headers a real local server received (and uses ``responses``' strict header
matcher); it runs plain, with telemetry, and with propagation asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import read_records, run_files
from tests.http_servers import QuietHandler, serving


class _EchoHeaders(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.reply(200, json.dumps(dict(self.headers.items())).encode(), "application/json")


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    with serving(_EchoHeaders) as url:
        yield url


SUITE = """
import json, os, urllib.request
import httpx, requests, responses, urllib3
from opentelemetry import baggage, context
from responses import matchers

BASE = {base!r}
HOST, PORT = BASE.removeprefix("http://").split(":")


def log(test, headers):
    seen = {{name.lower(): value for name, value in headers.items()}}
    with open(os.environ["HEADER_LOG"], "a") as file:
        file.write(json.dumps({{"test": test, "headers": seen}}, sort_keys=True) + "\\n")


def test_requests():
    log("requests", requests.get(BASE + "/r", headers={{"X-Test": "1"}}).json())


def test_requests_with_baggage_in_the_context():
    token = context.attach(baggage.set_baggage("user", "alice"))
    try:
        log("baggage", requests.get(BASE + "/b").json())
    finally:
        context.detach(token)


def test_urllib3_pool_manager_with_default_headers():
    manager = urllib3.PoolManager(headers={{"X-Pool": "1"}})
    log("urllib3", manager.request("GET", BASE + "/u").json())


def test_urllib3_connection_pool_keeps_its_default_headers():
    pool = urllib3.HTTPConnectionPool(HOST, int(PORT), headers={{"X-Pool": "1"}})
    log("urllib3-pool", pool.urlopen("GET", "/p").json())


def test_urllib():
    request = urllib.request.Request(BASE + "/l", headers={{"X-Test": "1"}})
    with urllib.request.urlopen(request) as response:
        log("urllib", json.load(response))
    log("urllib-request-object", dict(request.header_items()))


def test_httpx_keeps_the_requests_own_headers():
    with httpx.Client() as client:
        request = client.build_request("GET", BASE + "/x")
        headers = request.headers
        log("httpx", client.send(request).json())
        assert request.headers is headers


@responses.activate
def test_responses_strict_header_matcher():
    expected = {{**requests.utils.default_headers(), "X-Test": "1"}}
    responses.get(
        "http://api.invalid/strict",
        json={{}},
        match=[matchers.header_matcher(expected, strict_match=True)],
    )
    requests.get("http://api.invalid/strict", headers={{"X-Test": "1"}})
"""
TESTS = 7
CLIENTS = (
    "requests",
    "baggage",
    "urllib3",
    "urllib3-pool",
    "urllib",
    "urllib-request-object",
    "httpx",
)


def run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    base: str,
    name: str,
    *args: str,
    failed: int = 0,
    **env: str,
) -> dict[str, dict[str, str]]:
    """The headers each client's request arrived with, by client, from one subprocess run."""
    pytester.makepyfile(test_headers=SUITE.format(base=base))
    log = pytester.path / f"{name}.ndjson"
    monkeypatch.setenv("HEADER_LOG", str(log))
    for variable in ("TRIM_TELEMETRY", "TRIM_TELEMETRY_PROPAGATE", "OTEL_PROPAGATORS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=TESTS - failed, failed=failed)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    return {entry["test"]: entry["headers"] for entry in entries}


def test_servers_and_mocks_see_the_same_headers_with_telemetry_as_without(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, echo_server: str
) -> None:
    plain = run(pytester, monkeypatch, echo_server, "plain")
    with_telemetry = run(pytester, monkeypatch, echo_server, "telemetry", "--telemetry")

    assert set(plain) == set(CLIENTS)
    assert with_telemetry == plain
    assert plain["urllib3-pool"]["x-pool"] == "1"
    records = read_records(run_files(pytester.path / ".telemetry")[0])
    by_name = {record["name"]: record for record in records}
    mocked = by_name.pop("test_responses_strict_header_matcher")
    assert mocked["net_mocked_urls"] == ["http://api.invalid/strict"]
    assert [record["net_request_count"] for record in by_name.values()] == [1] * (TESTS - 1)


@pytest.mark.parametrize(
    ("env", "baggage"),
    [({"TRIM_TELEMETRY_PROPAGATE": "1"}, True), ({"OTEL_PROPAGATORS": "tracecontext"}, False)],
    ids=["TRIM_TELEMETRY_PROPAGATE=1", "OTEL_PROPAGATORS-set-by-the-user"],
)
def test_trace_headers_are_sent_when_asked_for(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    echo_server: str,
    env: dict[str, str],
    baggage: bool,
) -> None:
    # Headers that are asked for are seen: the strict matcher and httpx's headers test fail.
    seen = run(pytester, monkeypatch, echo_server, "asked", "--telemetry", failed=2, **env)

    records = read_records(run_files(pytester.path / ".telemetry")[0])
    trace_ids = {record["name"]: record["trace_id"] for record in records}
    for client, test in [
        ("requests", "test_requests"),
        ("urllib3", "test_urllib3_pool_manager_with_default_headers"),
        ("urllib", "test_urllib"),
        ("httpx", "test_httpx_keeps_the_requests_own_headers"),
    ]:
        assert seen[client]["traceparent"].split("-")[1] == trace_ids[test], client
    assert ("baggage" in seen["baggage"]) is baggage


def test_propagation_off_wins_over_otel_propagators(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, echo_server: str
) -> None:
    seen = run(
        pytester,
        monkeypatch,
        echo_server,
        "off",
        "--telemetry",
        TRIM_TELEMETRY_PROPAGATE="0",
        OTEL_PROPAGATORS="tracecontext,baggage",
    )

    assert not any("traceparent" in headers for headers in seen.values())


def test_a_bad_propagation_switch_stops_the_run_naming_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    monkeypatch.setenv("TRIM_TELEMETRY_PROPAGATE", "maybe")

    result = pytester.runpytest_subprocess("--telemetry")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*TRIM_TELEMETRY_PROPAGATE='maybe' is not a boolean*"])
    assert "Traceback" not in result.stderr.str()
