"""In-process measurements, run by ``overhead.py`` in a fresh interpreter per checkout.

    python benchmarks/inprocess.py spans ours|floor [--tests N] [--queries Q] [--rounds R]
    python benchmarks/inprocess.py memory [--tests N]

Prints one JSON object. ``spans`` times batches of tests with no query and batches with ``Q``
sqlite queries each, alternating, in CPU time: the first give the cost of a test, the difference
the cost of a query (its stock child span included). ``floor`` is the stock sqlite3 instrumentor
and a bare SDK root span per test; ``ours`` is the real pipeline (root span, processor, fold,
NDJSON line). The checkout measured is whichever ``trim_telemetry_otel`` comes first on the path.
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

Test = Callable[[int, int], None]  # (test number, queries)


def floor_test() -> Test:
    from opentelemetry import context, trace
    from opentelemetry.context import Context
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    SQLite3Instrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("floor")
    cursor = _cursor()

    def run(n: int, queries: int) -> None:
        span = tracer.start_span(f"t.py::test_{n}", context=Context())
        token = context.attach(trace.set_span_in_context(span))
        for i in range(queries):
            cursor.execute("SELECT id FROM item WHERE id = ?", (i,))
        context.detach(token)
        span.end()

    return run


def our_test(directory: Path) -> Test:
    from trim_telemetry_otel.roots import TestIdentity, TestOutcome
    from trim_telemetry_otel.session import TelemetrySession

    session = TelemetrySession.start(directory)
    cursor = _cursor()  # after the session: the instrumentor wraps connect()
    passed = TestOutcome("passed")

    def run(n: int, queries: int) -> None:
        identity = TestIdentity(f"t.py::test_{n}", f"test_{n}", None, "t", "t.py", "pytest")
        test = session.start_test(identity)
        for i in range(queries):
            cursor.execute("SELECT id FROM item WHERE id = ?", (i,))
        session.finish_test(test, passed)

    return run


def _cursor() -> sqlite3.Cursor:
    cursor = sqlite3.connect(":memory:").cursor()
    cursor.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
    return cursor


def _batch(run: Test, tests: int, queries: int) -> float:
    started = time.process_time()
    for n in range(tests):
        run(n, queries)
    return time.process_time() - started


def spans(variant: str, tests: int, queries: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        run = floor_test() if variant == "floor" else our_test(Path(tmp))
        _batch(run, tests // 10 + 1, queries)  # warm-up
        empty, full = [], []
        for _ in range(rounds):
            empty.append(_batch(run, tests, 0))
            full.append(_batch(run, tests, queries))
    per_test = statistics.median(empty) / tests
    per_query = (statistics.median(full) - statistics.median(empty)) / (tests * queries)
    return {"per_test_us": per_test * 1e6, "per_query_us": per_query * 1e6}


def memory(tests: int) -> dict[str, float]:
    """Traced memory after 10 % and after all of ``tests`` tests of 3 queries each."""
    with tempfile.TemporaryDirectory() as tmp:
        run = our_test(Path(tmp))
        checkpoints = {tests // 10: 0, tests: 0}
        tracemalloc.start()
        for n in range(1, tests + 1):
            run(n, 3)
            if n in checkpoints:
                gc.collect()
                checkpoints[n] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    first, last = checkpoints[tests // 10], checkpoints[tests]
    growth = (last - first) / (tests - tests // 10) * 1000
    return {"first_kib": first / 1024, "last_kib": last / 1024, "bytes_per_1000_tests": growth}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["spans", "memory"])
    parser.add_argument("variant", nargs="?", choices=["ours", "floor"], default="ours")
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.what == "spans":
        result = spans(args.variant, args.tests, args.queries, args.rounds)
    else:
        result = memory(args.tests)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
