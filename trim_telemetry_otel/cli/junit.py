"""``trim-telemetry junit RUN -o FILE``: JUnit XML for the CI system's test tab.

The default family (``xunit2``) validates against the JUnit schema the Jenkins xUnit plugin
ships: a test's telemetry figures go into its ``system-out``, which every CI system shows with the
test. ``--family xunit1`` puts them into per-test ``<properties>`` instead, as pytest's xunit1
does (GitLab and the Jenkins JUnit plugin read those; the strict schemas do not allow them).
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

from .options import add_filters, add_run, finish, load, selected
from .reading import Run
from .records import Test, outcome_of

FAMILIES = ("xunit2", "xunit1")
# XML 1.0 cannot carry these at all, escaped or not.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FIGURES: Final = (
    "db_query_count",
    "db_duplicate_count",
    "db_error_count",
    "db_total_duration_ms",
    "net_request_count",
    "net_error_count",
    "net_total_duration_ms",
)


def _text(value: object) -> str:
    return _ILLEGAL.sub("\ufffd", str(value))


def classname(test: Test) -> str:
    """``package.module.Class``, the way pytest's junitxml names it."""
    base = test["module"]
    if not base and test["file"]:
        base = test["file"].removesuffix(".py").replace("/", ".")
    parts = [p for p in (base, test["class"]) if p]
    return ".".join(parts) or test["id"].rsplit("::", 1)[0].removesuffix(".py").replace("/", ".")


def figures(test: Test) -> list[tuple[str, str]]:
    values: list[tuple[str, str]] = [(key, str(test[key])) for key in _FIGURES]
    if test["net_urls"]:
        values.append(("net_urls", " ".join(test["net_urls"])))
    if test["sleep_count"] is not None:
        values.append(("sleep_count", str(test["sleep_count"])))
    if test["trace_id"]:
        values.append(("trace_id", test["trace_id"]))
    return values


def testcase(test: Test, family: str) -> ET.Element:
    attributes = {
        "classname": _text(classname(test)),
        "name": _text(test["name"]),
        "time": f"{test['test_duration_ms'] / 1000:.3f}",
    }
    if test["file"]:
        attributes["file"] = _text(test["file"])
    if test["line"] is not None:
        attributes["line"] = str(test["line"])
    case = ET.Element("testcase", attributes)
    outcome = outcome_of(test)
    if outcome in ("failed", "error"):
        kind = "failure" if outcome == "failed" else "error"
        message = test["failure_message"] or (
            "unexpectedly passed (strict xfail)" if test["status_detail"] == "xpassed" else ""
        )
        element = ET.SubElement(
            case, kind, {"message": _text(message), "type": _text(test["failure_type"] or kind)}
        )
        phase = f"failed in {test['failure_phase']}: " if test["failure_phase"] else ""
        element.text = _text(f"{phase}{test['failure_type'] or kind}: {message}")
    elif outcome in ("skipped", "xfailed"):
        reason = test["skip_reason"] or ""
        kind = "pytest.xfail" if outcome == "xfailed" else "pytest.skip"
        message = f"expected failure: {reason}" if outcome == "xfailed" else reason
        ET.SubElement(case, "skipped", {"type": kind, "message": _text(message.strip(": "))})
    if family == "xunit1":
        properties = ET.SubElement(case, "properties")
        for name, value in figures(test):
            ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
    else:
        out = ET.SubElement(case, "system-out")
        out.text = _text("telemetry: " + " ".join(f"{k}={v}" for k, v in figures(test)))
    return case


def document(run: Run, tests: list[Test], family: str = "xunit2") -> ET.ElementTree:
    failures = sum(outcome_of(t) == "failed" for t in tests)
    errors = sum(outcome_of(t) == "error" for t in tests)
    skipped = sum(outcome_of(t) in ("skipped", "xfailed") for t in tests)
    seconds = f"{sum(t['test_duration_ms'] for t in tests) / 1000:.3f}"
    counts = {"tests": str(len(tests)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": "trim-telemetry", **counts, "time": seconds})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _text(run.label), **counts, "skipped": str(skipped), "time": seconds},
    )
    starts = [t["start_time"] for t in tests if t["start_time"]]
    if starts:
        suite.set("timestamp", min(starts))
    properties = ET.SubElement(suite, "properties")
    context = tests[0] if tests else None
    suite_properties = [("run_id", run.label)]
    if context is not None:
        for key in ("vcs_revision", "vcs_branch", "ci_run_id", "ci_run_url"):
            if value := context[key]:
                suite_properties.append((key, value))
    suite_properties += [
        ("db_query_count", str(sum(t["db_query_count"] for t in tests))),
        ("net_request_count", str(sum(t["net_request_count"] for t in tests))),
    ]
    for name, value in suite_properties:
        ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
    for test in tests:
        suite.append(testcase(test, family))
    ET.indent(root)
    return ET.ElementTree(root)


def configure(commands: Any) -> None:
    parser = commands.add_parser("junit", help="JUnit XML for a CI system's test report")
    add_run(parser)
    add_filters(parser)
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: stdout)")
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="xunit2",
        help="xunit2 (schema-valid, figures in system-out) or xunit1 (per-test properties)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    records = load(args.run)
    tree = document(records, list(selected(records.tests, args)), args.family)
    if args.output is None:
        tree.write(sys.stdout.buffer, encoding="utf-8", xml_declaration=True)
        sys.stdout.buffer.write(b"\n")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tree.write(args.output, encoding="utf-8", xml_declaration=True)
        print(
            f"junit: {len(tree.findall('testsuite/testcase'))} test cases written to {args.output}",
            file=sys.stderr,
        )
    return finish(records, args)
