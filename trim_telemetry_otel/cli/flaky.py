"""``trim-telemetry flaky DIR``: tests whose outcome differs across runs of the same code.

Where records carry ``vcs_revision`` (schema 1.1.0), only runs of one revision are compared: a
test that failed before a fix and passes after it is not flaky. Records without a revision are
compared with each other. A test is flaky when, within one such group, it both passed (or
xpassed) and failed (or errored); skips are ignored, since a skip condition is not flakiness.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

from . import history_duckdb
from .history import Outcome, history_files, read_history
from .options import EXIT_INPUT, EXIT_OK, add_strict
from .reading import InputError, Problem, report_problems
from .records import FAILING, PASSING

_LETTER = {
    "passed": ".",
    "xpassed": "X",
    "failed": "F",
    "error": "E",
    "skipped": "s",
    "xfailed": "x",
}


def find_flaky(outcomes: Iterable[Outcome], *, min_runs: int = 2) -> list[dict[str, Any]]:
    groups: dict[tuple[str | None, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.revision, outcome.id), []).append(outcome)
    flaky: list[dict[str, Any]] = []
    for (revision, test_id), history in groups.items():
        if len(history) < min_runs:
            continue
        seen = {o.outcome for o in history}
        if not (seen & PASSING and seen & FAILING):
            continue
        history.sort(key=lambda o: (o.order, o.start_time or ""))
        failures = sum(o.outcome in FAILING for o in history)
        flips = sum(
            (a.outcome in FAILING) != (b.outcome in FAILING)
            for a, b in zip(history, history[1:], strict=False)
            if a.outcome in PASSING | FAILING and b.outcome in PASSING | FAILING
        )
        flaky.append(
            {
                "id": test_id,
                "vcs_revision": revision,
                "runs": len(history),
                "failures": failures,
                "flips": flips,
                "last": history[-1].outcome,
                "history": "".join(_LETTER.get(o.outcome, "?") for o in history),
                "run_ids": [o.run_id for o in history],
            }
        )
    flaky.sort(key=lambda e: (-int(e["flips"]), -int(e["failures"]), str(e["id"])))
    return flaky


def render(flaky: list[dict[str, Any]], runs: int, tests: int) -> str:
    if not flaky:
        return f"no flaky tests in {runs} runs ({tests} test results)"
    lines = [
        f"{len(flaky)} flaky tests in {runs} runs ({tests} test results); "
        "history oldest first: . passed  F failed  E error  s skipped  x xfailed  X xpassed"
    ]
    for entry in flaky:
        revision = (entry["vcs_revision"] or "-")[:10]
        lines.append(
            f"  {entry['failures']:4d}/{entry['runs']:<4d} failed  {revision:10}  {entry['id']}"
        )
        lines.append(f"           {entry['history']}")
    return "\n".join(lines)


def configure(commands: Any) -> None:
    parser = commands.add_parser("flaky", help="tests whose outcome differs across runs")
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="DIR",
        help="telemetry directories (every run in them) or run files",
    )
    add_strict(parser)
    parser.add_argument("--last", type=int, metavar="N", help="only the newest N runs")
    parser.add_argument(
        "--min-runs",
        type=int,
        default=2,
        help="runs a test needs before it can be called flaky (default 2)",
    )
    parser.add_argument("--json", action="store_true", help="a JSON array for machines")
    parser.add_argument(
        "--engine",
        choices=("auto", "duckdb", "python"),
        default="auto",
        help="auto: DuckDB when installed and every line is usable, else the Python reader",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    files = history_files(args.targets)
    if args.last:
        files = files[-args.last :]
    problems: list[Problem] = []
    fast = None
    if args.engine in ("auto", "duckdb"):
        fast = history_duckdb.flaky_outcomes(files, args.min_runs)
        if fast is None and args.engine == "duckdb" and not history_duckdb.available():
            raise InputError(
                "--engine duckdb: DuckDB is not installed "
                '(pip install "trim-telemetry-otel[history]")'
            )
    if fast is not None:
        outcomes, results = fast
    else:
        outcomes, results = read_history(files, problems)
    report_problems(problems)
    flaky = find_flaky(outcomes, min_runs=args.min_runs)
    if args.json:
        print(json.dumps(flaky, indent=2))
    else:
        print(render(flaky, len(files), results))
    return EXIT_INPUT if args.strict and problems else EXIT_OK
