"""``trim-telemetry markdown RUN``: a GitHub-flavoured summary, appended to $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path
from typing import Any

from .options import ENCODING_ERRORS, add_filters, add_run, finish, selected, stream
from .reading import report_problems
from .records import OUTCOMES, QUERY_TYPES
from .summary import Summary, summarise

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
_NUMERIC = frozenset({"ms", "queries", "repeated", "times", "calls"})
_ICONS = {
    "passed": "✅",
    "failed": "❌",
    "error": "💥",
    "skipped": "⏭️",
    "xfailed": "⏭️",
    "xpassed": "⚠️",
}


def cell(text: object, limit: int = 200) -> str:
    """Text that stays inside one table cell: HTML-escaped, no pipes, no newlines, clipped."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value).replace("|", "&#124;")


def code(text: object, limit: int = 200) -> str:
    return f"<code>{cell(text, limit)}</code>"


def render(summary: Summary, title: str = "Test telemetry") -> str:
    t = summary["totals"]
    wall = "?" if t["wall_time_ms"] is None else f"{t['wall_time_ms'] / 1000:.2f} s"
    outcomes = " · ".join(f"{_ICONS[o]} {t[o]} {o}" for o in OUTCOMES if t[o])
    out = [
        f"## {title}",
        "",
        f"**{t['tests']} tests** — {outcomes or 'none'}",
        "",
        "| wall time | summed test time | queries | repeated | real network calls | mocked URLs |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {wall} | {t['test_time_ms'] / 1000:.2f} s | {t['db_query_count']} | "
        f"{t['db_duplicate_count']} | {t['net_request_count']} | {t['net_mocked_count']} |",
        "",
    ]
    types = summary["query_types"]
    if any(types.values()):
        out.append("Query types: " + ", ".join(f"{types[k]} {k}" for k in QUERY_TYPES if types[k]))
        out.append("")
    if summary["failures"]:
        out += [
            f"### Failed and errored ({len(summary['failures'])})",
            "",
            "| test | outcome | phase | message |",
            "| --- | --- | --- | --- |",
        ]
        for f in summary["failures"]:
            message = " ".join(filter(None, (f["failure_type"], f["failure_message"])))
            out.append(
                f"| {code(f['id'])} | {f['outcome']} | {f['failure_phase'] or ''} | "
                f"{cell(message)} |"
            )
        out.append("")
    _table(
        out,
        "Slowest tests",
        ("test", "ms"),
        [(code(s["id"]), f"{s['test_duration_ms']:.1f}") for s in summary["slowest"]],
    )
    _table(
        out,
        "Most queries",
        ("test", "queries", "repeated"),
        [
            (code(m["id"]), str(m["db_query_count"]), str(m["db_duplicate_count"]))
            for m in summary["most_queries"]
        ],
    )
    _table(
        out,
        "N+1 suspects",
        ("test", "times", "statement"),
        [(code(s["id"]), str(s["count"]), code(s["sql"], 300)) for s in summary["n_plus_one"]],
    )
    _table(
        out,
        "Tests that used the real network",
        ("test", "calls", "hosts"),
        [
            (code(n["id"]), str(n["net_request_count"]), cell(", ".join(n["hosts"])))
            for n in summary["network"]
        ],
    )
    if summary["problems"]:
        out += [
            f"> ⚠️ {len(summary['problems'])} unreadable lines, the first: "
            f"{cell(summary['problems'][0])}",
            "",
        ]
    return "\n".join(out)


def _table(
    out: list[str], title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]
) -> None:
    if not rows:
        return
    out += [
        f"### {title}",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if name in _NUMERIC else "---" for name in header) + " |",
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")


def configure(commands: Any) -> None:
    parser = commands.add_parser(
        "markdown", help=f"a GitHub-flavoured summary (appended to ${STEP_SUMMARY_ENV} when set)"
    )
    add_run(parser)
    add_filters(parser)
    parser.add_argument("-o", "--output", type=Path, help="append to this file instead")
    parser.add_argument("--title", default="Test telemetry", help="the heading")
    parser.add_argument("--top", type=int, default=10, help="entries per list (default 10)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    records, tests = stream(args.run)
    text = render(summarise(records, selected(tests, args), top=args.top), args.title)
    report_problems(records.problems)
    target = args.output or (
        Path(os.environ[STEP_SUMMARY_ENV]) if os.environ.get(STEP_SUMMARY_ENV) else None
    )
    if target is None:
        print(text)
    else:
        with target.open("a", encoding="utf-8", errors=ENCODING_ERRORS) as file:
            file.write(text + "\n")
        print(f"markdown: summary appended to {target}", file=sys.stderr)
    return finish(records, args)
