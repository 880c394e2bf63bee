"""What telemetry costs, as ratios measured side by side in one run.

    python benchmarks/overhead.py [--tests 200] [--queries 50] [--rounds 3] [--memory-tests 100000]

1. suite: a generated DB-heavy pytest suite (sqlite, ``--tests`` tests of ``--queries`` queries),
   run plain, at the OpenTelemetry floor (stock instrumentors + a root span per test, no
   processor: what any span-based tool must pay) and with ``--telemetry``. Best of ``--rounds``.
2. django: the example shop's suite (Django + DRF, SQLite) under Django's runner, plain and with
   telemetry, compared on the runner's own "Ran N tests in" time (start-up left out).
3. processor: the folding processor's own cost per child span and per test (fold + write).
4. memory: ``--memory-tests`` tests through the real pipeline; traced memory after 10 % and after
   100 % of them, and the growth in between (flat: a few bytes per thousand tests, the caches).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

SUITE = """
import sqlite3
import pytest

@pytest.fixture(scope="module")
def conn():
    connection = sqlite3.connect(":memory:")
    connection.cursor().execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    yield connection
    connection.close()

@pytest.mark.parametrize("n", range({tests}))
def test_queries(conn, n):
    cursor = conn.cursor()
    for i in range({queries}):
        cursor.execute("INSERT INTO item (name) VALUES (?)", ("x",))
        cursor.execute("SELECT name FROM item WHERE id = ?", (i,))
"""

# The floor: what instrumenting the driver and opening a root span per test costs by itself.
FLOOR_CONFTEST = """
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

provider = TracerProvider()
SQLite3Instrumentor().instrument(tracer_provider=provider)
tracer = provider.get_tracer("floor")

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with tracer.start_as_current_span(item.nodeid, context=Context()):
        return (yield)
"""


def time_pytest(directory: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return time.perf_counter() - started


def bench_suite(tests: int, queries: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp, "plain")
        floor = Path(tmp, "floor")
        for directory in (plain, floor):
            directory.mkdir()
            (directory / "test_db.py").write_text(SUITE.format(tests=tests, queries=queries))
        (floor / "conftest.py").write_text(FLOOR_CONFTEST)
        best = {"plain": float("inf"), "floor": float("inf"), "telemetry": float("inf")}
        for _ in range(rounds):  # interleaved, so that machine noise hits all three alike
            best["plain"] = min(best["plain"], time_pytest(plain))
            best["floor"] = min(best["floor"], time_pytest(floor))
            best["telemetry"] = min(best["telemetry"], time_pytest(plain, "--telemetry"))
    total_queries = tests * queries * 2
    print(f"suite: {tests} tests x {queries * 2} sqlite queries ({total_queries} queries)")
    for name, seconds in best.items():
        print(f"  {name:10s} {seconds:7.2f} s")
    print(f"  ratio telemetry/plain  {best['telemetry'] / best['plain']:.2f}x")
    print(f"  ratio floor/plain      {best['floor'] / best['plain']:.2f}x")
    print(f"  ratio telemetry/floor  {best['telemetry'] / best['floor']:.2f}x")
    extra = (best["telemetry"] - best["floor"]) / total_queries * 1e6
    print(f"  telemetry above the floor: {extra:.1f} us per query")


EXAMPLE = Path(__file__).resolve().parent.parent / "example"
_RAN = re.compile(r"Ran (\d+) tests? in ([\d.]+)s")


def django_test_seconds(*args: str) -> tuple[int, float]:
    """The example shop's suite under Django's runner: (tests, the runner's own 'Ran … in' time)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the embedded SQLite
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "--noinput", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = _RAN.search(done.stderr)
    if match is None:
        raise RuntimeError(f"no 'Ran N tests' line:\n{done.stderr[-2000:]}")
    return int(match.group(1)), float(match.group(2))


def bench_django(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runner = "--testrunner=trim_telemetry_otel.django.TelemetryTestRunner"
        best = {"plain": float("inf"), "telemetry": float("inf")}
        tests = 0
        for _ in range(rounds):
            tests, seconds = django_test_seconds()
            best["plain"] = min(best["plain"], seconds)
            _, seconds = django_test_seconds(runner, f"--telemetry-dir={tmp}")
            best["telemetry"] = min(best["telemetry"], seconds)
    print(f"django: the example shop's suite ({tests} tests, SQLite), Django's own test time")
    for name, seconds in best.items():
        print(f"  {name:10s} {seconds:7.3f} s")
    print(f"  ratio telemetry/plain  {best['telemetry'] / best['plain']:.2f}x")


def bench_processor(tests: int = 2000, children: int = 20) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from trim_telemetry_otel import attributes as attr
    from trim_telemetry_otel.ndjson import NdjsonWriter
    from trim_telemetry_otel.processor import FoldingSpanProcessor

    provider = TracerProvider()
    tracer = provider.get_tracer("bench")
    ended = []
    for n in range(tests):
        root = tracer.start_span(
            f"t::test_{n}", attributes={attr.TEST_ID: f"t::test_{n}", attr.RUN_ID: "run_bench"}
        )
        context = trace.set_span_in_context(root)
        kids = []
        for i in range(children):
            span = tracer.start_span(
                "SELECT",
                context=context,
                attributes={"db.system": "sqlite", "db.statement": f"SELECT * FROM t{i % 5}"},
            )
            span.end()
            kids.append(span)
        root.end()
        ended.append((root, kids))

    with tempfile.TemporaryDirectory() as tmp:
        writer = NdjsonWriter(Path(tmp, "run.ndjson"))
        processor = FoldingSpanProcessor()
        processor.attach(writer)
        started = time.perf_counter()
        for root, kids in ended:
            processor.on_start(root)  # type: ignore[arg-type]
            for span in kids:
                processor.on_end(span)
        children_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for root, _ in ended:
            processor.on_end(root)
        roots_seconds = time.perf_counter() - started
        writer.close()
    per_child = (children_seconds / (tests * children)) * 1e6
    per_test = (roots_seconds / tests) * 1e6
    print(f"processor: {tests} tests x {children} child spans")
    print(f"  on_end per child span       {per_child:.2f} us")
    print(
        f"  fold + write per test       {per_test:.1f} us ({per_test / children:.2f} us per span)"
    )


def bench_memory(tests: int) -> None:
    from trim_telemetry_otel.roots import TestIdentity, TestOutcome
    from trim_telemetry_otel.session import TelemetrySession

    with tempfile.TemporaryDirectory() as tmp:
        session = TelemetrySession.start(Path(tmp))
        connection = sqlite3.connect(":memory:")
        cursor = connection.cursor()
        cursor.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
        checkpoints = {tests // 10: 0, tests: 0}
        tracemalloc.start()
        started = time.perf_counter()
        for n in range(1, tests + 1):
            identity = TestIdentity(f"t.py::test_{n}", f"test_{n}", None, "t", "t.py", "pytest")
            test = session.start_test(identity)
            for i in range(3):
                cursor.execute("SELECT id FROM item WHERE id = ?", (i,))
            session.finish_test(test, TestOutcome("passed"))
            if n in checkpoints:
                gc.collect()
                checkpoints[n] = tracemalloc.get_traced_memory()[0]
        elapsed = time.perf_counter() - started
        tracemalloc.stop()
        lines = session.records_in_file()
        session.close()
    first, last = checkpoints[tests // 10], checkpoints[tests]
    print(f"memory: {tests} tests x 3 queries through the real pipeline ({elapsed:.1f} s)")
    print(f"  traced memory after {tests // 10:>7} tests  {first / 1024:9.1f} KiB")
    print(f"  traced memory after {tests:>7} tests  {last / 1024:9.1f} KiB")
    growth = (last - first) / (tests - tests // 10) * 1000
    print(f"  growth after warm-up: {growth:.1f} bytes per 1000 tests; {lines} lines written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-tests", type=int, default=100_000)
    args = parser.parse_args()
    bench_suite(args.tests, args.queries, args.rounds)
    bench_django(max(args.rounds, 5))
    bench_processor()
    bench_memory(args.memory_tests)


if __name__ == "__main__":
    main()
