"""Many runs at once, reading only what history questions need (``flaky``).

A history of 100 runs × 10,000 tests is a million lines. Each line is decoded by orjson when it
is installed, else searched for its few fields, and only the fields a history needs are checked
and kept: id, outcome, run, revision, start. A line where one of them is missing or of the wrong
type is read again by the full reader, which names it as ``summary`` would; a line whose other
fields are broken still counts here, and ``summary`` of that run names it.

Files are read by one process a core. Each sends back its results column by column, a few lists
rather than 10,000 objects, and only the tests that failed somewhere (the only ones that can be
flaky) become :class:`Outcome` objects.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, NamedTuple

from ..schema import STATUSES
from . import reading
from .reading import InputError, Problem, read_lines, run_files
from .records import FAILING, OUTCOMES, outcome_of

_KEYS = ("id", "status", "status_detail", "run_id", "vcs_revision", "start_time", "schema_version")
_NEEDLES = tuple((key, f'"{key}":', len(key) + 3) for key in _KEYS)
# One object for each outcome name: a worker's lists then carry references, not copies.
_OUTCOME_NAMES = {name: name for name in OUTCOMES}
Fields = tuple[str, str, "str | None", "str | None", "str | None"]  # id, outcome, run, rev, start


class Outcome(NamedTuple):
    """One test in one run: the few fields a history needs."""

    id: str
    outcome: str
    run_id: str | None
    revision: str | None
    start_time: str | None
    order: int  # the run file's position, oldest first


class RunResults(NamedTuple):
    """The results of one run file, column by column, and its unreadable lines."""

    ids: list[str]
    outcomes: list[str]
    run_ids: list[str | None]
    revisions: list[str | None]
    starts: list[str | None]
    problems: list[Problem]

    def of(self, order: int, tests: Collection[str] | None = None) -> Iterator[Outcome]:
        """The results as Outcomes (only those of ``tests`` when given)."""
        columns = zip(*self[:5], strict=True)
        for test_id, outcome, run_id, revision, start in columns:
            if tests is None or test_id in tests:
                yield Outcome(test_id, outcome, run_id, revision, start, order)


def _fields(raw: bytes) -> Fields | None:
    """The fields a history needs, or ``None`` when the full reader must judge the line."""
    loads = reading._fast_loads
    data = _searched(raw) if loads is None else _decoded(raw, loads)
    if data is None:
        return None
    get = data.get
    test_id, status, detail = get("id"), get("status"), get("status_detail")
    run_id, revision, start = get("run_id"), get("vcs_revision"), get("start_time")
    version = get("schema_version")
    if type(test_id) is not str or not test_id or status not in STATUSES:
        return None
    if version is not None and not (type(version) is str and version.startswith("1.")):
        return None
    for value in (detail, run_id, revision, start):
        if value is not None and type(value) is not str:
            return None
    if detail == "xfailed" and status == "skipped":
        status = "xfailed"
    elif detail == "xpassed" and status == "passed":
        status = "xpassed"
    return test_id, _OUTCOME_NAMES[status], run_id, revision, start


def _decoded(raw: bytes, loads: Callable[[bytes], Any]) -> dict[str, Any] | None:
    try:
        data = loads(raw)
    except ValueError:
        return None
    return data if type(data) is dict else None


def _searched(raw: bytes) -> dict[str, str | None] | None:
    """Without orjson, the json module would decode the whole line for six fields: they are found
    by text search instead, since our writer emits compact JSON (``"key":value``), and decoded by
    the json module's own string scanner. A key can only match where it is a real key: inside a
    JSON string every quote is escaped. Where that is not certain (a key present twice, other
    spacing, a value that is not a string), the line is left to the full reader."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text[:1] != "{" or not (text.endswith("}\n") or text.endswith("}")):
        return None
    find = text.find
    values: dict[str, str | None] = {}
    for key, needle, size in _NEEDLES:
        at = find(needle)
        if at < 0:
            values[key] = None
            continue
        start = at + size
        if find(needle, start) >= 0:
            return None
        if text[start] == '"':
            try:
                values[key] = scanstring(text, start + 1)[0]
            except ValueError:
                return None
        elif text.startswith("null", start):
            values[key] = None
        else:
            return None
    return values


def read_results(path: Path) -> RunResults:
    results = RunResults([], [], [], [], [], [])
    ids, outcomes, run_ids, revisions, starts = results[:5]
    same: dict[str | None, str | None] = {}  # one object for each run id and revision
    try:
        stream = path.open("rb")
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    with stream:
        for number, raw in enumerate(stream, 1):
            fields = _fields(raw)
            if fields is None:
                fields = _read_fully(raw, path, number, results.problems)
                if fields is None:
                    continue
            test_id, outcome, run_id, revision, start = fields
            ids.append(test_id)
            outcomes.append(outcome)
            run_ids.append(same.setdefault(run_id, run_id))
            revisions.append(same.setdefault(revision, revision))
            starts.append(start)
    return results


def _read_fully(raw: bytes, path: Path, number: int, problems: list[Problem]) -> Fields | None:
    """The full reader's verdict on one line: its fields, or ``None`` and a Problem naming it."""
    for test in read_lines((raw,), str(path), problems, first=number):
        return (
            test["id"],
            outcome_of(test),
            test["run_id"],
            test["vcs_revision"],
            test["start_time"],
        )
    return None


def history_files(targets: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            files += run_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{target}: no such file or directory")
    if not files:
        raise InputError(f"{', '.join(targets)}: no run file (*.ndjson)")
    return files


def read_history(files: list[Path], problems: list[Problem]) -> tuple[list[Outcome], int]:
    """The outcomes, oldest first, of every test that failed in some run, and how many results
    were read; big histories are read by one process a core."""
    workers = min(os.cpu_count() or 1, len(files) // 4)
    if workers < 2:
        runs = [_read_one(path) for path in files]
    else:
        from concurrent.futures import ProcessPoolExecutor  # multiprocessing: 12 ms to import

        with ProcessPoolExecutor(workers) as pool:
            runs = list(pool.map(_read_one, files, chunksize=4))
    failed = {
        run.ids[number]
        for run in runs
        for number, outcome in enumerate(run.outcomes)
        if outcome in FAILING
    }
    outcomes: list[Outcome] = []
    for order, run in enumerate(runs):
        outcomes += run.of(order, failed)
        problems += run.problems
    return outcomes, sum(len(run.ids) for run in runs)


def _read_one(path: Path) -> RunResults:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles: see reading._no_cyclic_gc
    try:
        return read_results(path)
    finally:
        if gc_was_enabled:
            gc.enable()
