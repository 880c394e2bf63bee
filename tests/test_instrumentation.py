"""What the instrumentation leaves as it was, what it adds, and how to switch one part off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Records = Callable[..., dict[str, dict[str, Any]]]


def test_an_unprepared_request_gets_requests_own_error(
    pytester: pytest.Pytester, records_of: Records, http_server: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest, requests

        def test_without_a_method():
            with pytest.raises(ValueError, match="You can only send PreparedRequests"):
                requests.Session().send(requests.Request(url={http_server!r}))

        def test_with_a_method():
            request = requests.Request("GET", {http_server!r}, headers={{"X-Test": "1"}})
            with pytest.raises(ValueError, match="You can only send PreparedRequests"):
                requests.Session().send(request)
            assert request.headers == {{"X-Test": "1"}}

        def test_a_prepared_request_is_still_recorded():
            request = requests.Request("GET", {http_server!r} + "/prepared").prepare()
            assert requests.Session().send(request).status_code == 200
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=3)

    records = records_of()
    assert records["test_a_prepared_request_is_still_recorded"]["net_urls"] == [
        f"{http_server}/prepared"
    ]
    assert records["test_without_a_method"]["net_request_count"] == 0


DISABLED_SUITE = """
import sqlite3, urllib.request
import requests

def test_both():
    sqlite3.connect(":memory:").execute("SELECT 1")
    requests.get({base!r} + "/requests")
    urllib.request.urlopen({base!r} + "/urllib").close()
    print("connect is", type(sqlite3.connect).__name__)
"""


@pytest.mark.parametrize(
    ("disabled", "queries", "urls", "connect"),
    [
        # requests runs on urllib3, whose instrumentor would record the call too.
        ("sqlite3, requests ,urllib3", 0, ["/urllib"], "builtin_function_or_method"),
        ("urllib", 1, ["/requests"], "function"),
        ("*", 0, [], "builtin_function_or_method"),
    ],
)
def test_otel_python_disabled_instrumentations_switches_instrumentations_off(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    records_of: Records,
    http_server: str,
    disabled: str,
    queries: int,
    urls: list[str],
    connect: str,
) -> None:
    pytester.makepyfile(DISABLED_SUITE.format(base=http_server))
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", disabled)

    result = pytester.runpytest_subprocess("--telemetry", "-s", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*connect is {connect}*"])
    record = records_of()["test_both"]
    assert record["db_query_count"] == queries
    assert record["net_urls"] == [http_server + url for url in urls]


@pytest.mark.postgresql
def test_psycopg_server_side_cursors_are_recorded(
    pytester: pytest.Pytester, records_of: Records, postgres_dsn: str
) -> None:
    pytester.makepyfile(
        f"""
        import asyncio
        import psycopg

        DSN = {postgres_dsn!r}

        def test_named_cursor():
            with psycopg.connect(DSN) as connection:
                with connection.cursor(name="trim_named") as cursor:
                    cursor.execute("SELECT generate_series(1, %s)", (5,))
                    assert len(cursor.fetchmany(2)) == 2
                    assert len(cursor.fetchall()) == 3
                connection.execute("SELECT 1 + 1")

        class Chunked(psycopg.ServerCursor):
            pass

        def test_a_server_cursor_class_built_directly_as_django_does():
            with psycopg.connect(DSN) as connection:
                cursor = Chunked(connection, "trim_direct")
                assert isinstance(cursor, Chunked)
                cursor.execute("SELECT 42")
                assert cursor.fetchone() == (42,)
                cursor.close()

        def test_async_named_cursor():
            async def main():
                async with await psycopg.AsyncConnection.connect(DSN) as connection:
                    async with connection.cursor(name="trim_async") as cursor:
                        await cursor.execute("SELECT 7")
                        assert await cursor.fetchone() == (7,)
            asyncio.run(main())

        def test_errors_are_raised_and_recorded():
            with psycopg.connect(DSN) as connection:
                cursor = connection.cursor(name="trim_broken")
                try:
                    cursor.execute("SELECT * FROM no_such_table_here")
                except psycopg.errors.UndefinedTable:
                    pass
                else:
                    raise AssertionError("no error")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=4)

    records = records_of()
    named = records["test_named_cursor"]
    assert [(q["sql"], q["db_system"]) for q in named["db_queries"]] == [
        ("SELECT generate_series(?, %s)", "postgresql"),
        ("SELECT ? + ?", "postgresql"),
    ]
    database = dict(part.split("=", 1) for part in postgres_dsn.split()).get("dbname")
    assert {q["db_name"] for q in named["db_queries"]} == {database}
    assert records["test_a_server_cursor_class_built_directly_as_django_does"]["db_queries"][0][
        "sql"
    ] == ("SELECT ?")
    assert records["test_async_named_cursor"]["db_query_count"] == 1
    broken = records["test_errors_are_raised_and_recorded"]
    assert (broken["db_query_count"], broken["db_error_count"]) == (1, 1)


@pytest.mark.postgresql
def test_psycopg2_named_cursors_are_recorded_as_before(
    pytester: pytest.Pytester, records_of: Records, postgres_dsn: str
) -> None:
    pytester.makepyfile(
        f"""
        import psycopg2

        def test_named_cursor():
            connection = psycopg2.connect({postgres_dsn!r})
            with connection.cursor(name="trim_named_pg2") as cursor:
                cursor.execute("SELECT generate_series(1, 3)")
                assert len(cursor.fetchall()) == 3
            connection.close()
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    assert records_of()["test_named_cursor"]["db_query_count"] == 1


def test_the_disabled_list_is_read_as_opentelemetry_instrument_reads_it() -> None:
    from trim_telemetry_otel.instrumentation import LIBRARIES, disabled_instrumentations

    assert disabled_instrumentations(
        {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": " mysqlclient ,"}
    ) == {"mysqlclient"}
    assert disabled_instrumentations({}) == set()
    assert disabled_instrumentations({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "*"}) == {
        library.name for library in LIBRARIES
    }
    assert {library.name: library.module for library in LIBRARIES}["mysqlclient"] == "MySQLdb"


OWN_SDK_CONFTEST = """
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@pytest.fixture(scope="session", autouse=True)
def tracing():
    trace.set_tracer_provider(PROVIDER)  # after telemetry started: must still be accepted


@pytest.fixture
def spans():
    EXPORTER.clear()
    return EXPORTER
"""

OWN_SDK_SUITE = """
import sqlite3
import pytest
from opentelemetry import trace
from conftest import PROVIDER

def test_the_global_provider_is_the_suites(spans):
    assert trace.get_tracer_provider() is PROVIDER

def test_its_spans_reach_its_exporter_and_ours_do_not(spans):
    with trace.get_tracer("app").start_as_current_span("work"):
        sqlite3.connect(":memory:").execute("SELECT 1")
    assert [span.name for span in spans.get_finished_spans()] == ["work"]

@pytest.mark.xfail(strict=True, reason="the test's root span is the current span while it runs")
def test_its_own_root_span_has_no_parent(spans):
    with trace.get_tracer("app").start_as_current_span("work"):
        pass
    assert spans.get_finished_spans()[0].parent is None
"""


def test_a_suite_with_its_own_sdk_keeps_its_provider_and_exporters(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makeconftest(OWN_SDK_CONFTEST)
    pytester.makepyfile(OWN_SDK_SUITE)

    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # Without telemetry the last test passes, and strict xfail turns that into a failure.
    plain.assert_outcomes(passed=2, failed=1)
    result = pytester.runpytest_subprocess("--telemetry", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, xfailed=1)
    assert "Overriding of current TracerProvider is not allowed" not in result.stderr.str()
    assert records_of()["test_its_spans_reach_its_exporter_and_ours_do_not"]["db_query_count"] == 1
