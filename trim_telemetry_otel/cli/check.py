"""``trim-telemetry check RUN --baseline FILE``: the CI gate.

It fails (exit 1) when a test gained queries, repeated queries or network hosts against the
committed baseline, or broke an absolute budget. The baseline modes are django-perf-rec's:

- ``once`` (the default outside CI): tests missing from the baseline are added to it;
- ``none`` (the default when ``CI`` is set): the file is never written, a missing test fails;
- ``all``: missing tests are added and gains written too, so the change can be reviewed — and
  the check still fails;
- ``overwrite`` (``--update-baseline``): the run becomes the baseline; only budgets can fail.

Only tests that ran to completion (passed, xpassed) are compared or written: a failed test's
figures are those of a partial run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from . import baseline
from .baseline import Entry
from .options import EXIT_FAILED, EXIT_INPUT, EXIT_OK, add_run, finish, load
from .reading import InputError
from .records import Test, hosts_of, outcome_of

MODES = ("once", "none", "all", "overwrite")
Offence = tuple[str, str, str, str]  # test id, what, baseline, now


def default_mode() -> str:
    return "none" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "once"


def configure(commands: Any) -> None:
    parser = commands.add_parser("check", help="the CI gate: baseline and budgets")
    add_run(parser)
    parser.add_argument("--baseline", type=Path, metavar="FILE", help="the committed baseline")
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="what to do with the baseline (see the docs; default once, or none when CI is set)",
    )
    parser.add_argument(
        "--update-baseline", action="store_true", help="write the run as the baseline (overwrite)"
    )
    parser.add_argument(
        "--prune", action="store_true", help="with --update-baseline: drop tests not in the run"
    )
    parser.add_argument("--max-queries", type=int, metavar="N", help="fail a test above N queries")
    parser.add_argument(
        "--max-duplicates", type=int, metavar="N", help="fail a test above N repeated queries"
    )
    parser.add_argument("--no-network", action="store_true", help="fail a test with real calls")
    parser.set_defaults(handler=run)


def budget_offences(tests: list[Test], args: argparse.Namespace) -> list[Offence]:
    offences: list[Offence] = []
    for test in tests:
        if outcome_of(test) in ("skipped", "xfailed"):
            continue
        counted = (
            (test["db_query_count"], args.max_queries, "queries over budget"),
            (test["db_duplicate_count"], args.max_duplicates, "repeats over budget"),
        )
        for count, budget, offence in counted:
            if budget is not None and count > budget:
                offences.append((test["id"], offence, str(budget), str(count)))
        if args.no_network and (test["net_request_count"] or test["net_urls"]):
            offences.append((test["id"], "real network calls", "none", ", ".join(hosts_of(test))))
    return offences


def baseline_offences(
    tests: list[Test], entries: dict[str, Entry], mode: str
) -> tuple[list[Offence], dict[str, Entry], int]:
    """The offences, the entries to write, and how many tests improved."""
    offences: list[Offence] = []
    updates: dict[str, Entry] = {}
    improved = 0
    for test_id, test in {t["id"]: t for t in tests}.items():
        if outcome_of(test) not in ("passed", "xpassed"):
            continue
        now, was = Entry.of(test), entries.get(test_id)
        if mode == "overwrite":
            updates[test_id] = now
            continue
        if was is None:
            if mode == "none":
                offences.append((test_id, "not in the baseline", "-", _figures(now)))
            else:
                updates[test_id] = now
            continue
        gained = _gains(test_id, was, now)
        offences += gained
        if gained and mode == "all":
            updates[test_id] = now
        elif not gained and now != was:
            improved += 1
            if mode == "all":
                updates[test_id] = now
    return offences, updates, improved


def _gains(test_id: str, was: Entry, now: Entry) -> list[Offence]:
    gains = []
    if now.queries > was.queries:
        gains.append(
            (
                test_id,
                "more queries",
                str(was.queries),
                f"{now.queries} (+{now.queries - was.queries})",
            )
        )
    if now.duplicates > was.duplicates:
        gains.append(
            (
                test_id,
                "more repeated queries",
                str(was.duplicates),
                f"{now.duplicates} (+{now.duplicates - was.duplicates})",
            )
        )
    new_hosts = sorted(set(now.hosts) - set(was.hosts))
    if new_hosts:
        gains.append(
            (test_id, "new network hosts", ", ".join(was.hosts) or "-", ", ".join(new_hosts))
        )
    return gains


def _figures(entry: Entry) -> str:
    hosts = f", hosts {', '.join(entry.hosts)}" if entry.hosts else ""
    return f"{entry.queries} queries, {entry.duplicates} repeated{hosts}"


def table(offences: list[Offence]) -> str:
    rows = [("test", "what", "baseline", "now"), *offences]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )


def run(args: argparse.Namespace) -> int:
    mode = "overwrite" if args.update_baseline else (args.mode or default_mode())
    budgets = args.max_queries is not None or args.max_duplicates is not None or args.no_network
    if args.baseline is None and not budgets:
        raise InputError(
            "check needs --baseline FILE or a budget (--max-queries, "
            "--max-duplicates, --no-network)"
        )
    records = load(args.run)
    if not records.tests:
        print(f"check: no test records in {records.source}", file=sys.stderr)
        return EXIT_INPUT
    offences = budget_offences(records.tests, args)
    notes: list[str] = []
    if args.baseline is not None:
        entries = baseline.load(args.baseline)
        if entries is None and mode == "none":
            raise InputError(
                f"{args.baseline}: no such baseline (mode none never writes one; "
                "create it with --update-baseline)"
            )
        entries = entries or {}
        found, updates, improved = baseline_offences(records.tests, entries, mode)
        offences = found + offences
        if updates or (mode == "overwrite" and args.prune):
            kept = {} if args.prune else entries
            baseline.save(args.baseline, {**kept, **updates})
            notes.append(f"{args.baseline}: {len(updates)} entries written ({mode})")
        if improved:
            notes.append(
                f"{improved} tests now do less than the baseline says: "
                "--update-baseline locks that in"
            )
    for note in notes:
        print(f"check: {note}")
    if offences:
        print(f"check: FAILED, {len(offences)} offences in {records.source}")
        print(table(offences))
        return finish(records, args, EXIT_FAILED)
    print(f"check: passed ({len(records.tests)} tests in {records.source})")
    return finish(records, args, EXIT_OK)
