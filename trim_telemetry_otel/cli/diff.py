"""``trim-telemetry diff OLD NEW``: what changed per test between two runs."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import EXIT_INPUT, add_strict, load
from .reading import InputError, Run, run_files
from .records import Test, hosts_of, outcome_of

Change = dict[str, Any]


@dataclass(frozen=True)
class Noise:
    """A duration change counts when it is both this many ms and this fraction of the old time."""

    min_ms: float = 10.0
    ratio: float = 0.5

    def significant(self, old: float, new: float) -> bool:
        delta = abs(new - old)
        return delta >= self.min_ms and delta >= self.ratio * old


def by_id(tests: list[Test]) -> dict[str, Test]:
    """Tests keyed by id; a test recorded twice in one run (a rerun) counts by its last record."""
    return {test["id"]: test for test in tests}


def compare(old: list[Test], new: list[Test], noise: Noise = Noise()) -> dict[str, Any]:
    before, after = by_id(old), by_id(new)
    changed: list[Change] = []
    for test_id, now in after.items():
        then = before.get(test_id)
        if then is not None and (changes := _changes(then, now, noise)):
            changed.append({"id": test_id, **changes})
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(changed, key=lambda change: change["id"]),
        "tests": {
            "old": len(before),
            "new": len(after),
            "common": len(before.keys() & after.keys()),
        },
    }


def _changes(then: Test, now: Test, noise: Noise) -> Change:
    changes: Change = {}
    if outcome_of(then) != outcome_of(now):
        changes["outcome"] = [outcome_of(then), outcome_of(now)]
    if noise.significant(then["test_duration_ms"], now["test_duration_ms"]):
        changes["test_duration_ms"] = [then["test_duration_ms"], now["test_duration_ms"]]
    for key in ("db_query_count", "db_duplicate_count", "net_request_count"):
        if then[key] != now[key]:
            changes[key] = [then[key], now[key]]
    old_hosts, new_hosts = set(hosts_of(then)), set(hosts_of(now))
    if new_hosts - old_hosts:
        changes["hosts_added"] = sorted(new_hosts - old_hosts)
    if old_hosts - new_hosts:
        changes["hosts_removed"] = sorted(old_hosts - new_hosts)
    return changes


def render(result: dict[str, Any], old: Run, new: Run) -> str:
    counts = result["tests"]
    lines = [
        f"old: {old.source} ({counts['old']} tests)",
        f"new: {new.source} ({counts['new']} tests)",
        f"{len(result['changed'])} changed, {len(result['added'])} added, "
        f"{len(result['removed'])} removed",
    ]
    for title, key in (("outcome", "outcome"), ("time (ms)", "test_duration_ms")):
        rows = [c for c in result["changed"] if key in c]
        if rows:
            lines.append(f"{title}:")
            for change in rows:
                was, now = change[key]
                if isinstance(was, float):
                    lines.append(f"  {was:10.1f} -> {now:10.1f}  {change['id']}")
                else:
                    lines.append(f"  {was:>8} -> {now:<8}  {change['id']}")
    for title, key in (
        ("queries", "db_query_count"),
        ("repeated queries", "db_duplicate_count"),
        ("real network calls", "net_request_count"),
    ):
        rows = [c for c in result["changed"] if key in c]
        if rows:
            lines.append(f"{title}:")
            for change in rows:
                was, now = change[key]
                lines.append(f"  {was:6d} -> {now:<6d} ({now - was:+d})  {change['id']}")
    hosts = [c for c in result["changed"] if "hosts_added" in c or "hosts_removed" in c]
    if hosts:
        lines.append("network hosts:")
        for change in hosts:
            gained = " ".join(f"+{h}" for h in change.get("hosts_added", []))
            lost = " ".join(f"-{h}" for h in change.get("hosts_removed", []))
            lines.append(f"  {change['id']}: {' '.join(filter(None, (gained, lost)))}")
    for title, key in (("added", "added"), ("removed", "removed")):
        if result[key]:
            lines.append(f"{title}:")
            lines += [f"  {test_id}" for test_id in result[key]]
    return "\n".join(lines)


def configure(commands: Any) -> None:
    parser = commands.add_parser(
        "diff", help="per-test changes between two runs (one directory: its two newest runs)"
    )
    parser.add_argument("old", metavar="OLD", help="a run file or a directory (its newest run)")
    parser.add_argument("new", metavar="NEW", nargs="?", help="the run to compare with OLD")
    add_strict(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object for machines")
    parser.add_argument(
        "--min-ms", type=float, default=Noise.min_ms, help="smallest duration change shown (10)"
    )
    parser.add_argument(
        "--ratio",
        type=float,
        default=Noise.ratio,
        help="smallest duration change shown, as a fraction of the old time (0.5)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    old_target, new_target = args.old, args.new
    if new_target is None:
        directory = Path(old_target)
        files = run_files(directory) if directory.is_dir() else []
        if len(files) < 2:
            raise InputError(f"{old_target}: give two runs, or a directory holding at least two")
        old_target, new_target = str(files[-2]), str(files[-1])
    old, new = load(old_target), load(new_target)
    result = compare(old.tests, new.tests, Noise(args.min_ms, args.ratio))
    if args.json:
        print(json.dumps({"old": old.source, "new": new.source, **result}, indent=2))
    else:
        print(render(result, old, new))
    return EXIT_INPUT if args.strict and (old.problems or new.problems) else 0
