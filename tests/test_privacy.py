"""No secret leaves the test process: planted markers, real services, real OTLP receivers.

A suite plants markers (every one contains ``zqleak``) in SQL literals, query parameters, database
errors (unique violations on PostgreSQL through psycopg 3 and psycopg2, MariaDB through PyMySQL,
sqlite), URLs (query secrets, userinfo, path parameters, fragments) sent to a real HTTP server on
127.0.0.1, captured headers, exception messages and skip reasons. It runs with forwarding to the
real OTLP receivers on loopback; not one byte of the run file, the set-up file or the spans as they
came over the wire may hold a marker.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_records, run_files
from tests.http_servers import QuietHandler, serving
from tests.otlp_receivers import Received, closed_port, grpc_receiver, http_receiver
from tests.test_otel_instrument import INSTRUMENT, instrument_environment

MARKER = b"zqleak"
# Planted where only a dialect-aware SQL normaliser can find them (sqlite's ESCAPE '\', MySQL's
# "strings" and # comments): normalize_sql(statement, system) reads each in its own dialect.
DIALECT_MARKER = b"zqdialect"

SUITE = """
import os
import sqlite3
import urllib.request

import httpx
import psycopg
import psycopg2
import pymysql
import pytest
import requests

URL = "{url}"
PID = os.getpid()


@pytest.fixture(scope="session")
def shared_lookup():
    # Shared set-up work: its record goes to the set-up file.
    connection = sqlite3.connect(":memory:")
    connection.execute("SELECT 1")
    cursor = connection.cursor()
    cursor.execute("SELECT 'zqleak-setup-literal', 42")
    requests.get(URL + "/setup?token=zqleak-setup-token")
    return connection


def test_sqlite_literals_parameters_and_a_unique_violation(shared_lookup):
    cursor = sqlite3.connect(":memory:").cursor()
    cursor.execute("CREATE TABLE person (email TEXT UNIQUE, note TEXT)")
    cursor.execute("INSERT INTO person VALUES ('zqleak-sqlite-literal', x'7a716c65616b')")
    cursor.execute("INSERT INTO person VALUES (?, ?)", ("zqleak-sqlite-param", "n"))
    cursor.execute(
        "SELECT * FROM person WHERE note LIKE ? ESCAPE '\\\\' AND email = 'zqdialect-esc'", ("%",)
    )
    cursor.execute("INSERT INTO person VALUES ('zqleak-sqlite-literal', 'again')")


def test_postgresql_psycopg_unique_violation():
    with psycopg.connect("{pg_dsn}", autocommit=True) as connection:
        cursor = connection.cursor()
        table = f"privacy_pg3_{{PID}}"
        cursor.execute(f"CREATE TABLE {{table}} (email text UNIQUE, n int)")
        try:
            cursor.execute(f"INSERT INTO {{table}} VALUES ('zqleak-pg3-literal', 1)")
            cursor.execute(f"INSERT INTO {{table}} VALUES (%s, 2)", ("zqleak-pg3-dup",))
            cursor.execute(f"SELECT * FROM {{table}} WHERE n = 'zqleak-pg3-int'")
        except psycopg.errors.InvalidTextRepresentation:
            pass
        try:
            cursor.execute(f"INSERT INTO {{table}} VALUES (%s, 3)", ("zqleak-pg3-dup",))
        finally:
            cursor.execute(f"DROP TABLE {{table}}")


def test_postgresql_psycopg2_unique_violation():
    connection = psycopg2.connect("{pg_dsn}")
    connection.autocommit = True
    cursor = connection.cursor()
    table = f"privacy_pg2_{{PID}}"
    cursor.execute(f"CREATE TABLE {{table}} (email text UNIQUE, n int CHECK (n > 0))")
    try:
        cursor.execute(f"INSERT INTO {{table}} VALUES (%s, 1)", ("zqleak-pg2-dup",))
        cursor.execute(f"INSERT INTO {{table}} VALUES (%s, 1)", ("zqleak-pg2-dup",))
    finally:
        cursor.execute(f"DROP TABLE {{table}}")
        connection.close()


def test_mariadb_duplicate_entry():
    connection = pymysql.connect(
        host="{my_host}", port={my_port}, user="{my_user}", password="{my_password}",
        database="{my_database}", autocommit=True,
    )
    cursor = connection.cursor()
    table = f"privacy_my_{{PID}}"
    cursor.execute(f"CREATE TABLE {{table}} (email varchar(100) UNIQUE)")
    try:
        cursor.execute(f"INSERT INTO {{table}} VALUES ('zqleak-my-literal')")
        cursor.execute(f'SELECT * FROM {{table}} WHERE email = "zqdialect-dq" # zqdialect-comment')
        cursor.execute(f"INSERT INTO {{table}} VALUES (%s)", ("zqleak-my-literal",))
    finally:
        cursor.execute(f"DROP TABLE {{table}}")
        connection.close()


def test_urls_with_secrets_through_every_client():
    user_url = URL.replace("http://", "http://admin:zqleak-userinfo@")
    headers = {{"Authorization": "Bearer zqleak-auth", "X-Api-Key": "zqleak-apikey",
               "Cookie": "sid=zqleak-cookie", "X-Trace-Me": "visible"}}
    requests.get(
        user_url + "/a;jsessionid=zqleak-jsession?access_token=zqleak-q1&page=2#zqleak-frag",
        headers=headers,
    )
    urllib.request.urlopen(URL + "/b?user%5Bpassword%5D=zqleak-q2&keyword=shoes").read()
    httpx.get(URL + "/c?private_token=zqleak-q3&api-key=zqleak-q4", headers=headers)


def test_a_refused_connection_names_its_url():
    requests.get("http://127.0.0.1:{closed}/down?client_secret=zqleak-refused", timeout=2)


def test_an_exception_message_with_a_url_and_a_password():
    raise ValueError(
        "callback https://app.example/cb?code=zqleak-code failed (dsn password=zqleak-pw)"
    )


def test_a_skip_reason_with_a_token():
    pytest.skip("waiting for https://ci.example/api?token=zqleak-skip")
"""


class _SecretHandler(QuietHandler):
    def do_GET(self) -> None:
        secrets = [
            ("Set-Cookie", "session=zqleak-set-cookie; HttpOnly"),
            ("X-Refresh-Token", "zqleak-response-token"),
        ]
        self.reply(200, b"{}", "application/json", secrets)


@pytest.fixture(scope="module")
def secret_server() -> Iterator[str]:
    """A real HTTP server on loopback that answers with secret response headers."""
    with serving(_SecretHandler) as url:
        yield url


@pytest.fixture
def suite(
    pytester: pytest.Pytester,
    secret_server: str,
    postgres_dsn: str,
    mariadb: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRIM_TELEMETRY")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST", ".*")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE", ".*")
    pytester.makepyfile(
        test_planted=SUITE.format(
            url=secret_server,
            closed=closed_port(),
            pg_dsn=postgres_dsn,
            my_host=mariadb["host"],
            my_port=mariadb["port"],
            my_user=mariadb["user"],
            my_password=mariadb["password"],
            my_database=mariadb["database"],
        )
    )
    return pytester


def written_files(pytester: pytest.Pytester) -> tuple[Path, Path]:
    [path] = run_files(pytester.path / ".telemetry")
    [setup] = sorted((pytester.path / ".telemetry" / "setup").glob("run_*.ndjson"))
    return path, setup


def assert_no_marker(name: str, data: bytes) -> None:
    at = data.find(MARKER)
    assert at < 0, f"{name} leaks: …{data[max(at - 120, 0) : at + 60]!r}…"


def check_everything(pytester: pytest.Pytester, received: Received) -> dict[str, dict[str, Any]]:
    path, setup = written_files(pytester)
    records = {record["name"]: record for record in read_records(path)}
    assert len(records) == 8
    [setup_record] = read_records(setup)
    assert setup_record["db_query_count"] >= 1 and setup_record["net_request_count"] == 1
    assert_no_marker("the run file", path.read_bytes())
    assert_no_marker("the set-up file", setup.read_bytes())
    assert received.raw, "nothing was forwarded"
    for number, request in enumerate(received.raw):
        assert_no_marker(f"OTLP request {number}", request)
    return records


def assert_no_dialect_marker(pytester: pytest.Pytester, received: Received) -> None:
    """The statements whose literals only a dialect-aware reading finds leak nothing either."""
    path, setup = written_files(pytester)
    everything = [path.read_bytes(), setup.read_bytes(), *received.raw]
    assert not any(DIALECT_MARKER in data for data in everything)


def assert_the_planted_places_were_reached(
    records: dict[str, dict[str, Any]], received: Received
) -> None:
    """The markers were there to be leaked: the spans that carried them arrived, redacted."""
    statuses = {name: record["status"] for name, record in records.items()}
    assert statuses == {
        "test_sqlite_literals_parameters_and_a_unique_violation": "failed",
        "test_postgresql_psycopg_unique_violation": "failed",
        "test_postgresql_psycopg2_unique_violation": "failed",
        "test_mariadb_duplicate_entry": "failed",
        "test_urls_with_secrets_through_every_client": "passed",
        "test_a_refused_connection_names_its_url": "failed",
        "test_an_exception_message_with_a_url_and_a_password": "failed",
        "test_a_skip_reason_with_a_token": "skipped",
    }
    pg3 = records["test_postgresql_psycopg_unique_violation"]["failure_message"]
    assert "DETAIL:  Key (email)=(?) already exists." in pg3
    my = records["test_mariadb_duplicate_entry"]["failure_message"]
    assert "Duplicate entry '?' for key 'email'" in my
    urls = records["test_urls_with_secrets_through_every_client"]["net_urls"]
    assert any("/a;jsessionid=REDACTED?access_token=REDACTED&page=2" in url for url in urls)
    assert any("REDACTED:REDACTED@127.0.0.1" in url for url in urls)
    assert any(url.endswith("/b?user%5Bpassword%5D=REDACTED&keyword=shoes") for url in urls)
    spans = received.spans
    statements = [
        str(s.attributes.get("db.statement")) for s in spans if "db.statement" in s.attributes
    ]
    assert any("INSERT INTO person VALUES (?, ?)" in statement for statement in statements)
    headers = {
        key: value for span in spans for key, value in span.attributes.items() if ".header." in key
    }
    assert headers["http.request.header.authorization"] == ["REDACTED"]
    assert headers["http.request.header.x_api_key"] == ["REDACTED"]
    assert headers["http.request.header.cookie"] == ["REDACTED"]
    assert headers["http.request.header.x_trace_me"] == ["visible"]
    assert headers["http.response.header.set_cookie"] == ["REDACTED"]
    assert headers["http.response.header.x_refresh_token"] == ["REDACTED"]
    exceptions = [attrs for span in spans for name, attrs in span.events if name == "exception"]
    assert any("Key (email)=(?)" in e.get("exception.message", "") for e in exceptions)
    assert any('File "' in e.get("exception.stacktrace", "") for e in exceptions)
    assert any("Duplicate entry '?'" in span.status_message for span in spans)


def test_no_marker_reaches_the_records_or_a_grpc_collector(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--telemetry")

        result.assert_outcomes(passed=1, failed=6, skipped=1)
        records = check_everything(suite, received)
        assert_the_planted_places_were_reached(records, received)
        assert_no_dialect_marker(suite, received)


def test_no_marker_reaches_an_http_protobuf_collector_under_the_stable_conventions(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "database/dup,http/dup")
    with http_receiver() as (endpoint, received):
        result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--telemetry-otlp", endpoint)

        result.assert_outcomes(passed=1, failed=6, skipped=1)
        check_everything(suite, received)
        attributes = [span.attributes for span in received.spans]
        assert any("db.query.text" in attrs for attrs in attributes)
        assert any(
            str(attrs.get("url.full", "")).endswith("?private_token=REDACTED&api-key=REDACTED")
            for attrs in attributes
        )
        assert_no_dialect_marker(suite, received)


def test_with_messages_off_no_message_leaves_at_all(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = suite.runpytest_subprocess(
            "-p", "no:cacheprovider", "--telemetry", "--telemetry-messages=off"
        )

        result.assert_outcomes(passed=1, failed=6, skipped=1)
        records = check_everything(suite, received)
        assert {r["failure_message"] for r in records.values()} == {None}
        assert {r["skip_reason"] for r in records.values()} == {None}
        assert {r["failure_type"] for r in records.values()} >= {"UniqueViolation", "ValueError"}
        for span in received.spans:
            assert span.status_message == ""
            assert "trim.test.failure_message" not in span.attributes
            for _, attrs in span.events:
                assert "exception.message" not in attrs
                assert "Error" not in attrs.get("exception.stacktrace", "").rpartition("\n")[2]
        assert_no_dialect_marker(suite, received)


def test_opentelemetry_instruments_own_otlp_exporter_receives_redacted_spans(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not our exporter: the configurator's own on its own BatchSpanProcessor. Our processor
    redacts the spans while they are recorded, so it too sends nothing secret."""
    if not INSTRUMENT.exists():
        pytest.skip("opentelemetry-distro is not installed")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,trim_ndjson")

        result = suite.run(
            str(INSTRUMENT), sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
            "--telemetry", timeout=180,
        )  # fmt: skip

        assert result.ret == 1, result.stdout.str()
        received.wait_for(20)
        check_everything(suite, received)
        assert any("db.statement" in span.attributes for span in received.spans)
        assert_no_dialect_marker(suite, received)


def test_records_keep_what_is_not_secret(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--telemetry")

    result.assert_outcomes(passed=1, failed=6, skipped=1)
    path, _ = written_files(suite)
    records = {record["name"]: record for record in read_records(path)}
    message = records["test_an_exception_message_with_a_url_and_a_password"]["failure_message"]
    assert message == (
        "ValueError: callback https://app.example/cb?code=REDACTED failed (dsn password=REDACTED)"
    )
    skip = records["test_a_skip_reason_with_a_token"]["skip_reason"]
    assert skip == "waiting for https://ci.example/api?token=REDACTED"
    assert json.dumps(records).count("zqleak") == 0


OWN_RUNNER = """
import sqlite3

from opentelemetry import trace

from trim_telemetry_otel.roots import RunningTest, TestIdentity, TestOutcome

tracer = trace.get_tracer("my-runner")
cursor = sqlite3.connect(":memory:").cursor()
for n in range(3):
    name = f"test_{n}"
    identity = TestIdentity(f"suite.py::{name}", name, None, "suite", "suite.py", "unittest")
    test = RunningTest(tracer, identity, "run_own")
    cursor.execute("SELECT 'zqleak-own-literal', ?", (n,))
    test.finish(TestOutcome("failed", failure_message="boom at http://h/?token=zqleak-own"))
"""


def test_a_runner_of_ones_own_under_opentelemetry_instrument_forwards_nothing_secret(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No runner of ours at all: the trim_ndjson exporter protects the configurator's provider."""
    instrument_environment(monkeypatch)
    monkeypatch.setenv("TRIM_TELEMETRY_DIR", str(pytester.path / "out"))
    script = pytester.makepyfile(runner=OWN_RUNNER)
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,trim_ndjson")

        result = pytester.run(str(INSTRUMENT), sys.executable, script, timeout=120)

        assert result.ret == 0, result.stderr.str()
        received.wait_for(6)
        [path] = run_files(pytester.path / "out")
        records = read_records(path)
        assert [r["failure_message"] for r in records] == ["boom at http://h/?token=REDACTED"] * 3
        assert_no_marker("the run file", path.read_bytes())
        assert len(received.spans) == 6
        for number, request in enumerate(received.raw):
            assert_no_marker(f"OTLP request {number}", request)


def test_roots_only_forwarding_sends_nothing_secret_either(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with grpc_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = suite.runpytest_subprocess(
            "-p", "no:cacheprovider", "--telemetry", "--telemetry-otlp-spans=roots"
        )

        result.assert_outcomes(passed=1, failed=6, skipped=1)
        check_everything(suite, received)
        assert all(span.parent_span_id is None for span in received.spans)
        assert any("Key (email)=(?)" in span.status_message for span in received.spans)
        assert_no_dialect_marker(suite, received)
