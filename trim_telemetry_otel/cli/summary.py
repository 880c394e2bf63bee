"""``trim-telemetry summary``: one run at a glance, as text or as one JSON object (``--json``)."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .reading import Run
from .records import (
    OUTCOMES,
    QUERY_TYPES,
    Query,
    Test,
    hosts_of,
    is_transaction_control,
    outcome_of,
    query_type,
)

Summary = dict[str, Any]


def summarise(run: Run, tests: Iterable[Test], *, top: int = 10, min_repeats: int = 3) -> Summary:
    """Everything ``summary`` shows, as plain data (the ``--json`` object)."""
    outcomes: Counter[str] = Counter()
    types: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    network: list[dict[str, Any]] = []
    slowest: list[tuple[float, str]] = []
    most_queries: list[tuple[int, int, str]] = []
    suspects: list[tuple[int, str, Query]] = []
    groups: dict[str, list[Any]] = {}
    first_start = last_end = None
    # Local sums: over 100,000 tests, a dict lookup per figure per test is a tenth of the time.
    count = queries = duplicates = db_errors = housekeeping = 0
    requests = net_errors = mocked = sleeps = 0
    db_ms = net_ms = sleep_ms = test_ms = 0.0
    own = [0] * len(QUERY_TYPES)
    for test in tests:
        count += 1
        outcome = test["status"] if test["status_detail"] is None else outcome_of(test)
        outcomes[outcome] += 1
        queries += test["db_query_count"]
        duplicates += test["db_duplicate_count"]
        db_errors += test["db_error_count"]
        housekeeping += test["db_housekeeping_count"] or 0
        requests += test["net_request_count"]
        net_errors += test["net_error_count"]
        mocked += len(test["net_mocked_urls"])
        sleeps += test["sleep_count"] or 0
        db_ms += test["db_total_duration_ms"]
        net_ms += test["net_total_duration_ms"]
        sleep_ms += test["sleep_total_ms"] or 0.0
        test_ms += test["test_duration_ms"]
        selects = test["db_select_count"]
        typed = selects is not None
        if selects is not None:  # the record's own counts by type (schema 1.1.0), in QUERY_TYPES
            own[0] += selects
            own[1] += test["db_insert_count"] or 0
            own[2] += test["db_update_count"] or 0
            own[3] += test["db_delete_count"] or 0
            own[4] += test["db_transaction_count"] or 0
            own[5] += test["db_other_count"] or 0
        start, end = test["start_time"], test["end_time"]
        if start and (first_start is None or start < first_start):
            first_start = start
        if end and (last_end is None or end > last_end):
            last_end = end
        if outcome in ("failed", "error"):
            failures.append(_failure(test))
        if test["net_urls"] or test["net_request_count"]:
            network.append(
                {
                    "id": test["id"],
                    "net_request_count": test["net_request_count"],
                    "net_error_count": test["net_error_count"],
                    "hosts": hosts_of(test),
                    "urls": test["net_urls"],
                }
            )
        slow = (test["test_duration_ms"], test["id"])
        if len(slowest) < top or (slowest and slow > slowest[0]):
            _keep(slowest, slow, top)
        if test["db_query_count"]:
            many = (test["db_query_count"], test["db_duplicate_count"], test["id"])
            if len(most_queries) < top or (most_queries and many > most_queries[0]):
                _keep(most_queries, many, top)
        for query in test["db_queries"]:
            if query["housekeeping"] is True:
                continue
            sql, executions = query["sql"], query["count"]
            group = groups.get(sql)
            if group is None:
                # [executions, ms, tests, type, transaction control]: classified once per text
                group = groups[sql] = [0, 0.0, 0, query_type(query), is_transaction_control(query)]
            group[0] += executions
            group[1] += query["total_duration_ms"]
            group[2] += 1
            if not typed:
                types[group[3]] += executions
            if executions >= min_repeats and not group[4]:
                suspects.append((executions, test["id"], query))
    sums = {
        "db_query_count": queries,
        "db_duplicate_count": duplicates,
        "db_error_count": db_errors,
        "db_housekeeping_count": housekeeping,
        "net_request_count": requests,
        "net_error_count": net_errors,
        "net_mocked_count": mocked,
        "sleep_count": sleeps,
    }
    floats = {
        "db_total_duration_ms": db_ms,
        "net_total_duration_ms": net_ms,
        "sleep_total_ms": sleep_ms,
        "test_time_ms": test_ms,
    }
    totals: dict[str, Any] = {"tests": count}
    totals.update({outcome: outcomes[outcome] for outcome in OUTCOMES})
    totals.update({key: sums[key] for key in sorted(sums)})
    totals.update({key: round(value, 3) for key, value in floats.items()})
    totals["wall_time_ms"] = _wall_ms(first_start, last_end)
    top_groups = heapq.nlargest(top, groups.items(), key=lambda item: (item[1][1], item[1][0]))
    suspects.sort(key=lambda item: (-item[0], item[1]))
    return {
        "source": run.source,
        "run_ids": run.run_ids,
        "totals": totals,
        "query_types": {kind: types[kind] + n for kind, n in zip(QUERY_TYPES, own, strict=True)},
        "failures": failures,
        "slowest": [
            {"id": test_id, "test_duration_ms": round(ms, 3)}
            for ms, test_id in sorted(slowest, key=lambda item: (-item[0], item[1]))
        ],
        "most_queries": [
            {"id": test_id, "db_query_count": queries, "db_duplicate_count": duplicates}
            for queries, duplicates, test_id in sorted(
                most_queries, key=lambda item: (-item[0], -item[1], item[2])
            )
        ],
        "n_plus_one": [
            {
                "id": test_id,
                "sql": query["sql"],
                "summary": query["summary"],
                "count": query_count,
                "total_duration_ms": round(query["total_duration_ms"], 3),
            }
            for query_count, test_id, query in suspects[:top]
        ],
        "query_groups": [
            {"sql": sql, "count": int(c), "tests": int(n), "total_duration_ms": round(ms, 3)}
            for sql, (c, ms, n, _, _) in top_groups
        ],
        "network": network,
        "setup": _setup(run.setup, top),
        "problems": [str(problem) for problem in run.problems],
    }


def _keep(heap: list[Any], item: Any, size: int) -> None:
    """Keep the ``size`` largest items seen: memory stays flat over huge runs."""
    if len(heap) < size:
        heapq.heappush(heap, item)
    elif size and item > heap[0]:
        heapq.heapreplace(heap, item)


def _failure(test: Test) -> dict[str, Any]:
    return {
        "id": test["id"],
        "outcome": outcome_of(test),
        "status_detail": test["status_detail"],
        "failure_phase": test["failure_phase"],
        "failure_type": test["failure_type"],
        "failure_message": test["failure_message"],
        "file": test["file"],
        "line": test["line"],
    }


def _wall_ms(start: str | None, end: str | None) -> float | None:
    """First start to last end. The records' UTC timestamps sort as text, so only two are parsed."""
    if start is None or end is None:
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (TypeError, ValueError):
        return None
    return round(delta.total_seconds() * 1000, 3)


def _setup(records: list[Test], top: int) -> dict[str, Any]:
    largest = sorted(records, key=lambda t: (-t["db_query_count"], -t["test_duration_ms"], t["id"]))
    return {
        "records": len(records),
        "db_query_count": sum(t["db_query_count"] for t in records),
        "net_request_count": sum(t["net_request_count"] for t in records),
        "duration_ms": round(sum(t["test_duration_ms"] for t in records), 3),
        "failed": [_failure(t) for t in records if t["status"] in ("failed", "error")],
        "largest": [
            {
                "id": t["id"],
                "db_query_count": t["db_query_count"],
                "test_duration_ms": t["test_duration_ms"],
            }
            for t in largest[:top]
        ],
    }


def render(summary: Summary, *, width: int = 160) -> str:
    """The summary for a terminal: totals first, then the lists that name tests."""
    t = summary["totals"]
    outcomes = ", ".join(f"{t[o]} {o}" for o in OUTCOMES if t[o]) or "no tests"
    wall = "?" if t["wall_time_ms"] is None else f"{t['wall_time_ms'] / 1000:.2f} s"
    types = summary["query_types"]
    lines = [
        f"{summary['source']}"
        + (f" ({', '.join(summary['run_ids'])})" if summary["run_ids"] else ""),
        f"  {t['tests']} tests: {outcomes}",
        f"  time: {wall} wall clock (first start to last end), {t['test_time_ms'] / 1000:.2f} s "
        "summed over tests"
        + (f", {t['sleep_total_ms'] / 1000:.2f} s asleep" if t["sleep_count"] else ""),
        f"  database: {t['db_query_count']} queries, {t['db_duplicate_count']} repeated, "
        f"{t['db_total_duration_ms']:.1f} ms"
        + (f" (+{t['db_housekeeping_count']} housekeeping)" if t["db_housekeeping_count"] else ""),
        "  query types: " + ", ".join(f"{types[k]} {k}" for k in QUERY_TYPES if types[k]),
        f"  network: {t['net_request_count']} real calls in {len(summary['network'])} tests "
        f"({t['net_error_count']} without a response), {t['net_mocked_count']} mocked URLs",
    ]
    if not any(types.values()):
        lines.pop(4)
    if summary["failures"]:
        lines.append(f"failed and errored tests ({len(summary['failures'])}):")
        for failure in summary["failures"]:
            where = f"  [{failure['failure_phase']}]" if failure["failure_phase"] else ""
            lines.append(f"  {failure['outcome'].upper():7} {failure['id']}{where}")
            message = " ".join(filter(None, (failure["failure_type"], failure["failure_message"])))
            if message:
                lines.append(f"          {_shorten(message.splitlines()[0], width)}")
    if summary["slowest"]:
        lines.append("slowest tests:")
        lines += [f"  {s['test_duration_ms']:10.1f} ms  {s['id']}" for s in summary["slowest"]]
    if summary["most_queries"]:
        lines.append("most queries (queries, repeated):")
        lines += [
            f"  {m['db_query_count']:6d} {m['db_duplicate_count']:6d}  {m['id']}"
            for m in summary["most_queries"]
        ]
    if summary["n_plus_one"]:
        lines.append("repeated queries, N+1 suspects:")
        for suspect in summary["n_plus_one"]:
            lines.append(f"  {suspect['count']:6d}x  {suspect['id']}")
            lines.append(f"           {_shorten(suspect['sql'], width)}")
    if summary["query_groups"]:
        lines.append("most expensive queries across the run (ms, executions, tests):")
        for group in summary["query_groups"]:
            lines.append(
                f"  {group['total_duration_ms']:9.1f} {group['count']:6d} {group['tests']:5d}  "
                f"{_shorten(group['sql'], width - 26)}"
            )
    if summary["network"]:
        lines.append("tests that used the real network:")
        for entry in summary["network"]:
            lines.append(f"  {entry['id']}: {_shorten(', '.join(entry['urls']), width)}")
    setup = summary["setup"]
    if setup["records"]:
        lines.append(
            f"set-up work: {setup['records']} records, {setup['db_query_count']} queries, "
            f"{setup['duration_ms'] / 1000:.2f} s"
        )
        for failure in setup["failed"]:
            lines.append(f"  ERROR   {failure['id']}: {failure['failure_type']}")
        lines += [f"  {s['db_query_count']:6d} queries  {s['id']}" for s in setup["largest"][:5]]
    if summary["problems"]:
        lines.append(f"unreadable lines: {len(summary['problems'])} (see the warnings)")
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
