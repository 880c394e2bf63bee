"""``trim-telemetry summary RUN``: outcomes, failures, time, queries, network, set-up work."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .options import add_filters, add_run, finish, selected, stream
from .reading import report_problems
from .summary import render, summarise


def configure(commands: Any) -> None:
    parser = commands.add_parser("summary", help="one run at a glance (text, or --json)")
    add_run(parser)
    add_filters(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object for machines")
    parser.add_argument("--top", type=int, default=10, help="entries per list (default 10)")
    parser.add_argument(
        "--min-repeats",
        type=int,
        default=3,
        help="executions of one statement in one test from which it is an N+1 suspect (default 3)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    records, tests = stream(args.run)
    summary = summarise(records, selected(tests, args), top=args.top, min_repeats=args.min_repeats)
    report_problems(records.problems)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(render(summary))
    return finish(records, args)
