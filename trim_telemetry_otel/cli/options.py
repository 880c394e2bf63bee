"""Options shared by the commands: the run to read, strictness, and which tests to look at."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator

from .reading import Run, default_target, read_run, report_problems, stream_run
from .records import OUTCOMES, Test, outcome_of

EXIT_OK = 0
EXIT_FAILED = 1  # the gate found offenders (check)
EXIT_INPUT = 2  # nothing to read, a bad option, or unreadable lines under --strict
# A record read by the json module may hold a lone surrogate ("\ud800"), which UTF-8 cannot
# carry: every output writes it as that escape, which keeps JSON output valid JSON.
ENCODING_ERRORS = "backslashreplace"


def add_strict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when any line could not be read (by default they are named and skipped)",
    )


def add_run(parser: argparse.ArgumentParser, *, nargs: str | None = "?") -> None:
    parser.add_argument(
        "run",
        nargs=nargs,
        default=None,
        metavar="RUN",
        help="a run file, a telemetry directory (its newest run) or - for stdin "
        f"(default: ${{TRIM_TELEMETRY_DIR}} or {default_target()})",
    )
    add_strict(parser)


def add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which tests")
    group.add_argument(
        "-k",
        dest="keywords",
        action="append",
        default=[],
        metavar="TEXT",
        help="only tests whose id contains TEXT (case-insensitive; repeat: all must match; "
        "'not TEXT' excludes)",
    )
    group.add_argument(
        "--status",
        action="append",
        default=[],
        choices=OUTCOMES,
        help="only tests with this outcome (repeat for several)",
    )
    group.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="PREFIX",
        help="only tests whose module or file starts with PREFIX (repeat for several)",
    )


def selected(tests: Iterable[Test], args: argparse.Namespace) -> Iterator[Test]:
    keywords = [word.lower() for word in getattr(args, "keywords", [])]
    statuses = set(getattr(args, "status", []))
    modules = tuple(getattr(args, "module", []))
    if not (keywords or statuses or modules):
        return iter(tests)  # nothing to filter: no generator step per test
    return _filtered(tests, keywords, statuses, modules)


def _filtered(
    tests: Iterable[Test], keywords: list[str], statuses: set[str], modules: tuple[str, ...]
) -> Iterator[Test]:
    wanted = [w for w in keywords if not w.startswith("not ")]
    unwanted = [w[4:].strip() for w in keywords if w.startswith("not ")]
    for test in tests:
        if keywords:
            text = test["id"].lower()
            if any(w not in text for w in wanted) or any(w in text for w in unwanted):
                continue
        if statuses and outcome_of(test) not in statuses:
            continue
        if modules and not (
            (test["module"] or "").startswith(modules) or (test["file"] or "").startswith(modules)
        ):
            continue
        yield test


def load(target: str | None) -> Run:
    """Read a run and warn about its unreadable lines (raises InputError)."""
    run = read_run(target or default_target())
    report_problems(run.problems)
    return run


def stream(target: str | None) -> tuple[Run, Iterator[Test]]:
    """A run and its records as they are read (raises InputError); the caller warns about its
    unreadable lines (``report_problems``) once it has read them all."""
    return stream_run(target or default_target())


def finish(run: Run, args: argparse.Namespace, code: int = EXIT_OK) -> int:
    if code == EXIT_OK and args.strict and run.problems:
        return EXIT_INPUT
    return code
