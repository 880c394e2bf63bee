"""``python -m trim_telemetry_otel.report [RUN_FILE | DIR]``: a run's records on one screen.

Reads a run file (by default the newest ``run_*.ndjson`` under ``.telemetry``) and prints the
outcome counts, where the time went, the tests with the most queries, repeated queries (N+1
suspects) and the tests that used the real network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import STATUSES
from .settings import DEFAULT_DIR, DIR_ENV
from .statements import is_transaction_control

Record = dict[str, Any]


class ReportError(Exception):
    """The input cannot be reported on; the message says why."""


@dataclass
class Problems:
    """Lines that could not be read: named, counted, never silently skipped."""

    lines: list[str] = field(default_factory=list)

    def add(self, path: Path, number: int, reason: str) -> None:
        self.lines.append(f"{path}:{number}: {reason}")


def read_run(path: Path, problems: Problems) -> Iterator[Record]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as error:
                problems.add(path, number, f"not valid JSON ({error})")
                continue
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                problems.add(path, number, "not a test record (no string 'id')")
                continue
            yield record


def newest_run_file(directory: Path) -> Path:
    files = sorted(directory.glob("run_*.ndjson"), key=lambda p: (p.stat().st_mtime, p.name))
    if not files:
        raise ReportError(f"no run_*.ndjson file in {directory}")
    return files[-1]


@dataclass(frozen=True)
class RepeatedQuery:
    test_id: str
    sql: str
    count: int
    total_duration_ms: float


@dataclass
class Summary:
    run_ids: set[str] = field(default_factory=set)
    tests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    duration_ms: float = 0.0
    db_queries: int = 0
    db_duplicates: int = 0
    db_duration_ms: float = 0.0
    net_calls: int = 0
    net_mocked: int = 0
    slowest: list[tuple[float, str]] = field(default_factory=list)
    most_queries: list[tuple[int, str]] = field(default_factory=list)
    repeated: list[RepeatedQuery] = field(default_factory=list)
    network_tests: list[tuple[str, list[str]]] = field(default_factory=list)


def summarise(records: Iterable[Record], top: int = 5, min_repeats: int = 3) -> Summary:
    summary = Summary()
    for record in records:
        test_id = str(record.get("id"))
        summary.tests += 1
        summary.run_ids.add(str(record.get("run_id")))
        summary.statuses[str(record.get("status"))] += 1
        duration = float(record.get("test_duration_ms") or 0)
        summary.duration_ms += duration
        summary.db_queries += int(record.get("db_query_count") or 0)
        summary.db_duplicates += int(record.get("db_duplicate_count") or 0)
        summary.db_duration_ms += float(record.get("db_total_duration_ms") or 0)
        summary.net_calls += int(record.get("net_request_count") or 0)
        summary.net_mocked += len(record.get("net_mocked_urls") or [])
        summary.slowest.append((duration, test_id))
        summary.most_queries.append((int(record.get("db_query_count") or 0), test_id))
        for query in record.get("db_queries") or []:
            sql = str(query.get("sql"))
            if int(query.get("count", 0)) >= min_repeats and not is_transaction_control(sql):
                summary.repeated.append(
                    RepeatedQuery(
                        test_id,
                        sql,
                        int(query["count"]),
                        float(query.get("total_duration_ms") or 0),
                    )
                )
        if record.get("net_urls"):
            summary.network_tests.append((test_id, list(record["net_urls"])))
        # Keep only the top entries as we go, so memory stays flat over huge runs.
        if len(summary.slowest) > 4 * top:
            _trim(summary, top)
    _trim(summary, top)
    return summary


def _trim(summary: Summary, top: int) -> None:
    summary.slowest = sorted(summary.slowest, reverse=True)[:top]
    summary.most_queries = sorted(summary.most_queries, reverse=True)[:top]
    summary.repeated = sorted(summary.repeated, key=lambda r: (-r.count, r.test_id))[:top]


def render(summary: Summary, source: Path, top: int = 5) -> str:
    order = [*STATUSES, *sorted(set(summary.statuses) - set(STATUSES))]
    statuses = ", ".join(f"{summary.statuses[s]} {s}" for s in order if s in summary.statuses)
    lines = [
        f"{source}",
        f"  {summary.tests} tests ({statuses or 'none'}) in {summary.duration_ms / 1000:.2f} s",
        f"  database: {summary.db_queries} queries, {summary.db_duplicates} repeated, "
        f"{summary.db_duration_ms:.1f} ms",
        f"  network: {summary.net_calls} real calls in "
        f"{len(summary.network_tests)} tests, {summary.net_mocked} mocked URLs",
    ]
    if summary.tests:
        lines.append(f"slowest tests (top {top}):")
        lines += [f"  {ms:10.1f} ms  {test}" for ms, test in summary.slowest]
        lines.append(f"most queries (top {top}):")
        lines += [f"  {count:10d}     {test}" for count, test in summary.most_queries if count]
    if summary.repeated:
        lines.append("repeated queries, N+1 suspects:")
        lines += [
            f"  {r.count:6d}x  {r.test_id}\n           {_shorten(r.sql)}" for r in summary.repeated
        ]
    if summary.network_tests:
        lines.append("tests that used the real network:")
        lines += [f"  {test}: {', '.join(urls)}" for test, urls in summary.network_tests[:top]]
    return "\n".join(lines)


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trim_telemetry_otel.report",
        description="Summarise a telemetry run file.",
    )
    parser.add_argument(
        "path",
        nargs="?",
        help=f"a run file, or a directory holding them (default: ${DIR_ENV} or {DEFAULT_DIR})",
    )
    parser.add_argument("--top", type=int, default=5, help="entries per list (default 5)")
    parser.add_argument(
        "--min-repeats", type=int, default=3, help="count from which a query is listed (default 3)"
    )
    args = parser.parse_args(argv)
    target = Path(args.path or os.environ.get(DIR_ENV) or DEFAULT_DIR)
    problems = Problems()
    try:
        path = newest_run_file(target) if target.is_dir() else target
        if not path.is_file():
            raise ReportError(f"{path} does not exist")
        summary = summarise(read_run(path, problems), args.top, args.min_repeats)
    except (ReportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(summary, path, args.top))
    for line in problems.lines:
        print(f"warning: skipped {line}", file=sys.stderr)
    return 1 if problems.lines else 0


if __name__ == "__main__":
    sys.exit(main())
