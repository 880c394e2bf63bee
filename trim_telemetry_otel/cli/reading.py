"""Finding and reading runs: a run file, a telemetry directory (its newest run), or stdin.

Every line that cannot be used is named (``file:line: why``) and the rest are still read: a run
killed mid-write, a line from another tool or another schema version never hides the good lines.

Lines are decoded by orjson when it is installed (the ``fast`` extra): three times faster than the
json module on records. It must give the same answers, so its record is used only where it agrees
with json's. A line it rejects (invalid UTF-8, NaN, a lone surrogate, a BOM) is decoded again by
json, which names the fault as always. The one value the two read differently is an integer beyond
64 bits, a float for orjson (of 2**63 or more) and an int for json: in a field that holds integers
or strings, such a float fails the record's checks, and in a duration it is looked for; either
way the line is decoded again by json. (Fields outside the schema are not checked, and no command
reads them.)
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from ..settings import DEFAULT_DIR, DIR_ENV
from .parsing import RecordError, parse_record
from .records import Test

STDIN = "-"

_fast_loads: Callable[[bytes], Any] | None
try:
    from orjson import loads as _fast_loads
except ImportError:  # the fast extra is not installed: json alone, same answers
    _fast_loads = None

# orjson makes a float of an integer it cannot hold in 64 bits: one of this size or more.
_BEYOND_64_BITS = 2.0**63


class InputError(Exception):
    """Nothing can be read from what the user named (a missing path, a directory without runs)."""


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


@dataclass
class Run:
    """The records of one run, its set-up records, and what could not be read."""

    source: str
    tests: list[Test] = field(default_factory=list)
    setup: list[Test] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ids: set[str | None] = field(default_factory=set)  # each record's run_id, noted as read

    @property
    def run_ids(self) -> list[str]:
        return sorted(filter(None, self.ids))

    @property
    def label(self) -> str:
        ids = self.run_ids
        return ids[0] if len(ids) == 1 else self.source


def default_target() -> str:
    return os.environ.get(DIR_ENV) or DEFAULT_DIR


def run_files(directory: Path) -> list[Path]:
    """The run files of a telemetry directory, oldest first (set-up files live in ``setup/``).

    A run is as old as its first record's ``start_time``: copying a directory (a downloaded CI
    artifact) gives every file a new mtime, which is used only for files without one.
    """
    files = [path for path in directory.glob("*.ndjson") if path.is_file()]
    return sorted(files, key=_run_start)


def _run_start(path: Path) -> tuple[str, float, str]:
    mtime = path.stat().st_mtime
    started = datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="microseconds")
    try:
        with path.open("rb") as stream:
            first = json.loads(stream.readline())
        if isinstance(first, dict) and isinstance(first.get("start_time"), str):
            started = first["start_time"]
    except (OSError, ValueError):
        pass
    return started, mtime, path.name


def resolve(target: str) -> Path | None:
    """The run file ``target`` names (``None`` for stdin), or :class:`InputError`."""
    if target == STDIN:
        return None
    path = Path(target)
    if path.is_dir():
        files = run_files(path)
        if not files:
            raise InputError(f"{target}: no run file (*.ndjson) in this directory")
        return files[-1]
    if not path.exists():
        raise InputError(f"{target}: no such file or directory")
    return path


def setup_path(run_file: Path) -> Path:
    return run_file.parent / "setup" / run_file.name


def read_run(target: str, *, stdin: BinaryIO | None = None) -> Run:
    """Read the run ``target`` names, and its set-up records when there are some."""
    run, tests = stream_run(target, stdin=stdin)
    run.tests = list(tests)
    return run


def stream_run(target: str, *, stdin: BinaryIO | None = None) -> tuple[Run, Iterator[Test]]:
    """The run ``target`` names, and its records as they are read: a command that looks at each
    test once (``summary``) need not hold 100,000 of them. ``run.tests`` stays empty; the run
    ids, the set-up records and the problems are complete once the records are all read."""
    path = resolve(target)
    if path is None:
        run = Run("<stdin>")
        stream = stdin if stdin is not None else sys.stdin.buffer
        tests: list[Test] = []
        # `tail -f run.ndjson | trim-telemetry summary -`: Ctrl-C ends the input, not the report.
        with contextlib.suppress(KeyboardInterrupt):
            tests.extend(read_lines(stream, run.source, run.problems))
        run.ids.update(test["run_id"] for test in tests)
        return run, iter(tests)
    run = Run(str(path))
    return run, _run_file(run, path)


def _run_file(run: Run, path: Path) -> Iterator[Test]:
    ids = run.ids
    empty = True
    for test in _file(path, run.problems):
        ids.add(test["run_id"])
        empty = False
        yield test
    setup = setup_path(path)
    if setup.is_file():
        run.setup = read_file(setup, run.problems)
    if empty and not any(p.source == run.source for p in run.problems):
        run.problems.append(Problem(run.source, None, "no test records (the file is empty)"))


def read_file(path: Path, problems: list[Problem]) -> list[Test]:
    return list(_file(path, problems))


def _file(path: Path, problems: list[Problem]) -> Iterator[Test]:
    try:
        with path.open("rb") as stream:
            yield from read_lines(stream, str(path), problems)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None


def read_lines(
    stream: Iterable[bytes], source: str, problems: list[Problem], first: int = 1
) -> Iterator[Test]:
    """The usable records of ``stream``; each unusable line becomes a Problem naming it."""
    with _no_cyclic_gc():
        yield from _read_lines(stream, source, problems, first)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Records hold no reference cycles, yet each of the million objects a big run allocates
    makes the cyclic collector scan everything kept so far: reading is twice as fast without it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_lines(
    stream: Iterable[bytes], source: str, problems: list[Problem], first: int
) -> Iterator[Test]:
    loads = json.loads
    fast = _fast_loads
    for number, raw in enumerate(stream, first):
        if fast is not None:
            try:
                record = parse_record(fast(raw))
            except ValueError:  # orjson's error or a RecordError: json gives the verdict
                pass
            else:
                if not _may_be_beyond_64_bits(record):
                    yield record
                    continue
        try:
            data = loads(raw)
        except UnicodeDecodeError:
            problems.append(Problem(source, number, "not valid UTF-8; line skipped"))
            continue
        except ValueError as error:
            if not raw.strip():
                continue
            if not raw.endswith(b"\n"):
                reason = "incomplete last line (the run was killed or is still writing)"
            else:
                reason = f"not valid JSON ({error}); line skipped"
            problems.append(Problem(source, number, reason))
            continue
        test = _test(data, source, number, problems)
        if test is not None:
            yield test


def _may_be_beyond_64_bits(test: Test) -> bool:
    """Whether a duration may be an integer orjson could not hold (then json reads the line)."""
    total = (
        abs(test["test_duration_ms"])
        + abs(test["db_total_duration_ms"])
        + abs(test["net_total_duration_ms"])
        + abs(test["sleep_total_ms"] or 0.0)
    )
    for entry in test["db_queries"]:
        total += abs(entry["total_duration_ms"])
    for call in test["net_requests"]:
        total += abs(call["total_duration_ms"])
    return total >= _BEYOND_64_BITS


def _test(data: Any, source: str, number: int, problems: list[Problem]) -> Test | None:
    try:
        return parse_record(data)
    except RecordError as error:
        problems.append(Problem(source, number, f"{error}; line skipped"))
        return None


def report_problems(problems: list[Problem], limit: int = 20) -> None:
    """Warn about unreadable lines on stderr, at most ``limit`` of them and then a count."""
    for problem in problems[:limit]:
        print(f"warning: {problem}", file=sys.stderr)
    if len(problems) > limit:
        print(f"warning: … and {len(problems) - limit} more unreadable lines", file=sys.stderr)
