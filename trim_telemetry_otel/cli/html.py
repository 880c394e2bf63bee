"""``trim-telemetry html RUN [RUN…] -o FILE``: one self-contained page with plots and tables.

The page carries its data as JSON and draws it with inline SVG from a small script of our own
(``report.js``, ``report.css`` beside this module): no network, no CDN, opens from a file or a CI
artifact. With two or more runs, the newest is the subject and the changes from the one before it
are drawn too.
"""

from __future__ import annotations

import argparse
import json
import sys
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from .diff import compare
from .options import ENCODING_ERRORS, EXIT_INPUT, EXIT_OK, add_filters, add_strict, load, selected
from .reading import Run, default_target
from .records import Test, host_of, outcome_of
from .summary import summarise

_HOSTS_TOP = 20


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text("utf-8")


def rows(tests: list[Test]) -> list[list[Any]]:
    """One compact row per test; the columns are named in the payload's ``columns``."""
    return [
        [
            t["id"],
            outcome_of(t),
            round(t["test_duration_ms"], 3),
            t["db_query_count"],
            t["db_duplicate_count"],
            t["net_request_count"],
            t["file"] or "",
            t["failure_message"] or "",
        ]
        for t in tests
    ]


def hosts(tests: list[Test]) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = {}
    for test in tests:
        for call in test["net_requests"]:
            entry = counts.setdefault(host_of(call["url"]), [0, 0])
            status, calls = call["status_code"], call["count"]
            entry[0] += calls
            entry[1] += calls if status is None or status >= 400 else 0
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:_HOSTS_TOP]
    return [{"host": host, "calls": calls, "failed": failed} for host, (calls, failed) in ordered]


def payload(runs: list[Run], selections: list[list[Test]]) -> dict[str, Any]:
    run, tests = runs[-1], selections[-1]
    data: dict[str, Any] = {
        "title": f"Test telemetry — {run.label}",
        "summary": summarise(run, tests, top=20),
        "columns": ["id", "outcome", "ms", "queries", "repeated", "net", "file", "message"],
        "tests": rows(tests),
        "hosts": hosts(tests),
        "runs": [
            {"label": r.label, "source": r.source, **_totals(r, s)}
            for r, s in zip(runs, selections, strict=True)
        ],
        "changes": None,
    }
    if len(runs) > 1:
        data["changes"] = {
            "old": runs[-2].label,
            "new": run.label,
            **compare(selections[-2], tests),
        }
    return data


def _totals(run: Run, tests: list[Test]) -> dict[str, Any]:
    totals = summarise(run, tests, top=0)["totals"]
    keys = (
        "tests",
        "failed",
        "error",
        "db_query_count",
        "db_duplicate_count",
        "net_request_count",
        "test_time_ms",
        "wall_time_ms",
    )
    return {key: totals[key] for key in keys}


def page(data: dict[str, Any]) -> str:
    # "<" never appears raw inside the JSON, so the payload cannot close its <script> element.
    embedded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(data['title'])}</title>\n<style>\n{_asset('report.css')}</style>\n"
        '</head>\n<body>\n<main id="report"><noscript>This report draws its plots with '
        "JavaScript.</noscript></main>\n"
        f'<script type="application/json" id="telemetry-data">{embedded}</script>\n'
        f"<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


def configure(commands: Any) -> None:
    parser = commands.add_parser("html", help="one self-contained HTML report with plots")
    parser.add_argument(
        "runs",
        nargs="*",
        metavar="RUN",
        help="run files or directories (newest run each); the last is the subject, "
        f"the one before it is compared with it (default: {default_target()})",
    )
    add_strict(parser)
    add_filters(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("telemetry-report.html"),
        help="where to write (default telemetry-report.html)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    runs = [load(target) for target in (args.runs or [default_target()])]
    selections = [list(selected(r.tests, args)) for r in runs]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page(payload(runs, selections)), "utf-8", ENCODING_ERRORS)
    print(f"html: report of {len(selections[-1])} tests written to {args.output}", file=sys.stderr)
    problems = any(r.problems for r in runs)
    return EXIT_INPUT if args.strict and problems else EXIT_OK
