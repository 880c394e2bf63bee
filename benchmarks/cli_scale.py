"""How fast ``trim-telemetry`` answers at scale (issue 13's budgets), measured end to end.

- ``summary`` of one run of 100,000 records: budget 2 s;
- ``flaky`` over 100 runs × 10,000 tests, and ``diff`` of two 10,000-test runs: budget 10 s.

Each command runs as a user would run it (a fresh ``python -m trim_telemetry_otel`` process), so
interpreter start-up is included. The records are shaped like the example shop's: a few query
groups each, some repeated, now and then a real HTTP call. ``flaky`` is measured with both
engines: the Python reader, and DuckDB's (the ``history`` extra; skipped when not installed).
Usage: ``python benchmarks/cli_scale.py [--tests 10000] [--runs 100] [--rounds 3]``; with
``--compare DIR`` (a copy of the package from another commit, e.g. ``git archive COMMIT
trim_telemetry_otel | tar -x -C DIR``) each command also runs with that copy, alternating, so that
before and after are measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SQL = [
    'SELECT "auth_user"."id", "auth_user"."username", "auth_user"."email" FROM "auth_user" '
    'WHERE "auth_user"."id" = %s LIMIT ?',
    'SELECT "orders_order"."id", "orders_order"."status", "orders_order"."created_at" FROM '
    '"orders_order" WHERE "orders_order"."customer_id" = %s ORDER BY "orders_order"."id" DESC',
    'INSERT INTO "catalog_product" ("name", "slug", "price", "stock") VALUES (%s, %s, %s, %s)',
    'UPDATE "catalog_product" SET "stock" = %s WHERE "catalog_product"."id" = %s',
    "SAVEPOINT ?",
    "RELEASE SAVEPOINT ?",
]


def make_record(n: int, run_id: str, start: datetime, rng: random.Random) -> dict[str, Any]:
    module = f"app{n % 40}.tests.test_mod{n % 7}"
    queries = [
        {
            "sql": sql,
            "count": rng.choice((1, 1, 1, 2, 5)),
            "total_duration_ms": 0.173,
            "db_system": "postgresql",
            "db_name": "test_app",
        }
        for sql in rng.sample(SQL, rng.randint(0, 5))
    ]
    calls = (
        [
            {
                "method": "GET",
                "url": "http://127.0.0.1:8000/v1/quotes?api_key=REDACTED",
                "status_code": 200,
                "count": 1,
                "total_duration_ms": 3.1,
            }
        ]
        if n % 50 == 0
        else []
    )
    duration = round(rng.lognormvariate(2.5, 1.0), 3)
    return {
        "schema_version": "1.0.0",
        "run_id": run_id,
        "id": f"{module}.OrderTests.test_case_{n}",
        "name": f"test_case_{n}",
        "class": "OrderTests",
        "module": module,
        "file": module.replace(".", "/") + ".py",
        "framework": "django",
        "status": "passed",
        "status_detail": None,
        "failure_phase": None,
        "failure_type": None,
        "failure_message": None,
        "skip_reason": None,
        "start_time": start.isoformat(timespec="microseconds"),
        "end_time": (start + timedelta(milliseconds=duration)).isoformat(timespec="microseconds"),
        "test_duration_ms": duration,
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "db_queries": queries,
        "db_query_count": sum(q["count"] for q in queries),
        "db_duplicate_count": sum(q["count"] - 1 for q in queries),
        "db_error_count": 0,
        "db_total_duration_ms": round(0.173 * len(queries), 3),
        "net_urls": [c["url"] for c in calls],
        "net_requests": calls,
        "net_request_count": len(calls),
        "net_error_count": 0,
        "net_total_duration_ms": 3.1 * len(calls),
        "net_mocked_urls": [],
    }


def write_run(path: Path, tests: int, run: int, flaky_every: int = 997) -> int:
    """One run file; every ``flaky_every``-th test fails in one run out of three.

    A test's queries and duration are the same in every run (seeded by the test), so that
    ``diff`` shows the outcome changes, not noise.
    """
    start = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=run)
    lines = []
    for n in range(tests):
        record = make_record(
            n, f"run_{run:04d}", start + timedelta(milliseconds=20 * n), random.Random(n)
        )
        if n % flaky_every == 0 and (run + n) % 3 == 0:
            record.update(
                status="failed",
                failure_phase="call",
                failure_type="AssertionError",
                failure_message="assert 200 == 503",
            )
        lines.append(json.dumps(record, separators=(",", ":")))
    data = "\n".join(lines) + "\n"
    path.write_text(data)
    return len(data)


#: How the command is started: as a user would, or (--no-orjson) as if the fast extra were missing.
COMMAND = [sys.executable, "-m", "trim_telemetry_otel"]
WITHOUT_ORJSON = [
    sys.executable,
    "-c",
    "import runpy, sys; sys.modules['orjson'] = None; "
    "runpy.run_module('trim_telemetry_otel', run_name='__main__', alter_sys=True)",
]


def timed(*args: str, source: Path | None = None) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system, its worker processes included) of one command,
    and its output; ``source`` is a directory holding another copy of the package to run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=source,  # python -m finds the package of its working directory first
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, result.stdout


def measured(label: str, budget: str, args: list[str], versions: dict[str, Path | None],
             rounds: int) -> str:  # fmt: skip
    """The medians of ``rounds`` runs of each version, alternating, on one line each."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
    output = ""
    for _ in range(rounds):
        for name, source in versions.items():
            wall, cpu, output = timed(*args, source=source)
            times[name].append((wall, cpu))
    for name, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(
            f"{label}{f' [{name}]' if len(versions) > 1 else ''}: {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU{budget} (median of {rounds}, load {os.getloadavg()[0]:.1f})"
        )
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary-tests", type=int, default=100_000)
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each command (median)")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="DIR",
        help="also run the package found in DIR (e.g. an export of an older commit), "
        "alternating with this one, for before/after figures under the same load",
    )
    parser.add_argument(
        "--no-orjson", action="store_true", help="run as if the fast extra were not installed"
    )
    args = parser.parse_args()
    if args.no_orjson:
        COMMAND[:] = WITHOUT_ORJSON
    versions: dict[str, Path | None] = {"this": None}
    if args.compare is not None:
        versions = {"compared": args.compare.resolve(), "this": None}
    with tempfile.TemporaryDirectory(prefix="trim-cli-bench-") as tmp:
        root = Path(tmp)
        big = root / "big" / "run_big.ndjson"
        big.parent.mkdir()
        size = write_run(big, args.summary_tests, 0)
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
            "(wall time includes waiting for a core; CPU time is user + system)"
            + (", without orjson" if args.no_orjson else "")
        )
        label = f"summary, {args.summary_tests:,} records ({size / 1e6:.0f} MB)"
        measured(label, " (budget 2 s)", ["summary", str(big)], versions, args.rounds)
        label = "summary --json, same run"
        measured(label, "", ["summary", "--json", str(big)], versions, args.rounds)

        history = root / "history"
        history.mkdir()
        total = 0
        for run in range(args.runs):
            total += write_run(history / f"run_{run:04d}.ndjson", args.tests, run)
        label = f"{args.runs} runs × {args.tests:,} tests ({total / 1e6:.0f} MB)"
        for engine in ("python", "duckdb"):
            try:
                out = measured(
                    f"flaky --engine {engine}, {label}",
                    " (budget 10 s)",
                    ["flaky", str(history), "--engine", engine],
                    versions,
                    args.rounds,
                )
            except SystemExit as error:
                print(f"flaky --engine {engine}: {error}")
                continue
            print(f"  {out.splitlines()[0].split(';')[0]}")
        first, last = history / "run_0000.ndjson", history / f"run_{args.runs - 1:04d}.ndjson"
        out = measured(
            f"diff, two runs of {args.tests:,} tests",
            " (budget 10 s)",
            ["diff", str(first), str(last)],
            versions,
            args.rounds,
        )
        print(f"  {out.splitlines()[2]}")


if __name__ == "__main__":
    main()
