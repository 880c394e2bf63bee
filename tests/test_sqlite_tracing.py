"""sqlite3 with telemetry: real connections and cursors, every statement recorded.

The stock sqlite3 instrumentor returned a proxy from ``connect`` (``backup()`` refused it,
``factory=`` subclasses lost their type) and traced neither the ``Connection.execute*`` shortcuts
nor ``executescript``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

Records = Callable[..., dict[str, dict[str, Any]]]

SUITE = """
    import sqlite3
    import pytest

    def test_backup_accepts_a_connection_from_connect():
        source = sqlite3.connect(":memory:")
        source.execute("CREATE TABLE t (a)")
        target = sqlite3.connect(":memory:")
        source.backup(target)
        assert target.execute("SELECT count(*) FROM t").fetchone() == (0,)

    def test_connections_and_cursors_are_real_sqlite3_objects():
        connection = sqlite3.connect(":memory:")
        cursor = connection.cursor()
        assert isinstance(connection, sqlite3.Connection)
        assert isinstance(cursor, sqlite3.Cursor)
        assert repr(connection).startswith("<sqlite3.Connection object at ")
        with pytest.raises(AttributeError):
            connection.anything = 1

    class Rows(sqlite3.Cursor):
        def first(self):
            return self.fetchone()[0]

    class Database(sqlite3.Connection):
        def cursor(self, factory=Rows):
            return super().cursor(factory)

        def answer(self):
            return self.cursor().execute("SELECT 42").first()

    def test_a_factory_subclass_keeps_its_type_and_behaviour():
        connection = sqlite3.connect(":memory:", factory=Database)
        assert isinstance(connection, Database)
        assert issubclass(type(connection), Database)
        assert connection.answer() == 42
        assert isinstance(connection.cursor(), Rows)

    def test_a_positional_factory_is_honoured():
        connection = sqlite3.connect(":memory:", 5.0, 0, "DEFERRED", True, Database)
        assert connection.answer() == 42

    def test_connection_shortcuts_and_executescript_are_recorded():
        connection = sqlite3.connect(":memory:")
        connection.execute("CREATE TABLE t (a)")
        connection.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        connection.executescript("UPDATE t SET a = 3; DELETE FROM t WHERE a = 1;")
        cursor = connection.cursor()
        cursor.executescript("DELETE FROM t;")
        cursor.execute("SELECT a FROM t WHERE a = ?", (1,))
        assert cursor.fetchall() == []

    def test_a_failing_statement_is_recorded_and_raises_as_usual():
        connection = sqlite3.connect(":memory:")
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            connection.execute("SELECT * FROM missing")

    def test_the_cursor_of_a_shortcut_keeps_recording():
        connection = sqlite3.connect(":memory:")
        cursor = connection.execute("SELECT 1")
        cursor.execute("SELECT 2")
"""


def test_sqlite3_behaves_as_without_telemetry_and_every_statement_is_recorded(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(SUITE)

    pytester.runpytest("--telemetry").assert_outcomes(passed=7)

    records = records_of()
    shortcuts = records["test_connection_shortcuts_and_executescript_are_recorded"]
    assert [(q["sql"], q["count"]) for q in shortcuts["db_queries"]] == [
        ("CREATE TABLE t (a)", 1),
        ("INSERT INTO t VALUES (?)", 1),
        ("UPDATE t SET a = ?; DELETE FROM t WHERE a = ?;", 1),
        ("DELETE FROM t;", 1),
        ("SELECT a FROM t WHERE a = ?", 1),
    ]
    assert shortcuts["db_query_count"] == 5
    assert {q["db_system"] for q in shortcuts["db_queries"]} == {"sqlite"}
    failing = records["test_a_failing_statement_is_recorded_and_raises_as_usual"]
    assert (failing["db_query_count"], failing["db_error_count"]) == (1, 1)
    assert records["test_the_cursor_of_a_shortcut_keeps_recording"]["db_query_count"] == 2
    assert records["test_a_factory_subclass_keeps_its_type_and_behaviour"]["db_query_count"] == 1
    assert records["test_backup_accepts_a_connection_from_connect"]["db_query_count"] == 2


def test_the_same_suite_passes_without_telemetry(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)

    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=7)


SPANS = """
import json, sqlite3, sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

provider = TracerProvider()
exporter = InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(exporter))
if sys.argv[1] == "stock":
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    SQLite3Instrumentor().instrument(tracer_provider=provider)
else:
    from trim_telemetry_otel.sqlite_tracing import trace_sqlite3
    trace_sqlite3(provider)
cursor = sqlite3.connect(":memory:").cursor()
cursor.execute("CREATE TABLE t (a)")
cursor.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
cursor.execute("  select a FROM t")
try:
    cursor.execute("SELEC nonsense")
except sqlite3.OperationalError:
    pass
print(json.dumps([
    [s.name, str(s.kind), dict(s.attributes), str(s.status.status_code), s.status.description,
     [e.name for e in s.events]]
    for s in exporter.get_finished_spans()
]))
"""


def spans_made_by(tracing: str) -> list[Any]:
    done = subprocess.run(
        [sys.executable, "-c", SPANS, tracing], capture_output=True, text=True, check=True
    )
    result: list[Any] = json.loads(done.stdout)
    return result


def test_spans_look_like_those_of_the_stock_instrumentor() -> None:
    ours = spans_made_by("ours")
    assert [span[0] for span in ours] == ["CREATE", "INSERT", "select", "SELEC"]
    assert ours[-1][3:] == [
        "StatusCode.ERROR",
        'OperationalError: near "SELEC": syntax error',
        ["exception"],
    ]
    if importlib.util.find_spec("opentelemetry.instrumentation.sqlite3") is None:
        pytest.skip("opentelemetry-instrumentation-sqlite3 is not installed: nothing to compare")
    assert ours == spans_made_by("stock")


STOCK_FIRST = """
import sys, sqlite3
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
from opentelemetry.sdk.trace import TracerProvider
from trim_telemetry_otel.instrumentation import instrument_libraries

if sys.argv[1] == "opentelemetry-instrument":
    import opentelemetry.instrumentation.auto_instrumentation  # what its sitecustomize imports
SQLite3Instrumentor().instrument()
assert type(sqlite3.connect(":memory:")).__name__ == "TracedConnectionProxy"
instrumented = instrument_libraries(TracerProvider())
print("sqlite3" in instrumented, type(sqlite3.connect(":memory:")).__name__)
"""


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("opentelemetry-instrument", "True Connection"),  # replaced: the same provider
        ("the-suite", "False TracedConnectionProxy"),  # the suite's own, on its own provider
    ],
)
def test_a_stock_sqlite3_instrumentor_is_replaced_only_under_opentelemetry_instrument(
    who: str, outcome: str
) -> None:
    pytest.importorskip("opentelemetry.instrumentation.sqlite3")

    done = subprocess.run(
        [sys.executable, "-c", STOCK_FIRST, who], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == outcome
