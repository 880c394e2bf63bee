"""Many runs at once, reading only what history questions need (``flaky``).

A history of 100 runs × 10,000 tests is a million lines; decoding each whole record (its queries,
its URLs) would cost most of the time. Our writer emits compact JSON (``"key":value``), so the few
top-level fields needed are found by text search and decoded with the json module's own string
scanner. A key can only match where it is a real key: inside a JSON string every quote is escaped.
Any line where that shortcut is not certain (a key missing or present twice, other spacing, a
value that is not a string) is decoded in full, with the same checks and messages as ``summary``.
A history checks the fields it reads (id, outcome, run, revision, start): a line whose other
fields are broken still counts here, and ``summary`` of that run names it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import NamedTuple

from ..schema import STATUSES
from .reading import InputError, Problem, read_lines, run_files
from .records import outcome_of

_KEYS = ("id", "status", "status_detail", "run_id", "vcs_revision", "start_time")
_NEEDLES = tuple((key, f'"{key}":', len(key) + 3) for key in _KEYS)


class Outcome(NamedTuple):
    """One test in one run: the few fields a history needs."""

    id: str
    outcome: str
    run_id: str | None
    revision: str | None
    start_time: str | None
    order: int  # the run file's position, oldest first


def _fast(text: str) -> dict[str, str | None] | None:
    if text[:1] != "{" or not (text.endswith("}\n") or text.endswith("}")):
        return None
    find = text.find
    values: dict[str, str | None] = {}
    for key, needle, size in _NEEDLES:
        at = find(needle)
        if at < 0:
            if key == "id" or key == "status":
                return None
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
        elif text.startswith("null", start) and key != "id" and key != "status":
            values[key] = None
        else:
            return None
    if values["status"] not in STATUSES or not values["id"]:
        return None
    schema = text.find('"schema_version":"')
    if schema >= 0 and text[schema + 18 : schema + 20] != "1.":
        return None  # let the full reader name the version
    return values


def _outcome(status: str | None, detail: str | None) -> str:
    if detail == "xfailed" and status == "skipped":
        return "xfailed"
    if detail == "xpassed" and status == "passed":
        return "xpassed"
    return status or "?"


def read_outcomes(path: Path, order: int, problems: list[Problem]) -> Iterator[Outcome]:
    try:
        stream = path.open("rb")
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    source = str(path)
    with stream:
        for number, raw in enumerate(stream, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            values = _fast(text) if text else None
            if values is not None:
                yield Outcome(
                    values["id"] or "",
                    _outcome(values["status"], values["status_detail"]),
                    values["run_id"],
                    values["vcs_revision"],
                    values["start_time"],
                    order,
                )
                continue
            for test in read_lines((raw,), source, problems, first=number):
                yield Outcome(
                    test["id"],
                    outcome_of(test),
                    test["run_id"],
                    test["vcs_revision"],
                    test["start_time"],
                    order,
                )


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


def read_history(files: list[Path], problems: list[Problem]) -> list[Outcome]:
    """The outcomes of every file, oldest first; big histories are read by one process a core."""
    workers = min(os.cpu_count() or 1, len(files) // 4)
    if workers < 2:
        results = [_read_one(path, order) for order, path in enumerate(files)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_read_one, files, range(len(files)), chunksize=4))
    outcomes: list[Outcome] = []
    for found, trouble in results:
        outcomes += found
        problems += trouble
    return outcomes


def _read_one(path: Path, order: int) -> tuple[list[Outcome], list[Problem]]:
    problems: list[Problem] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles: see reading._no_cyclic_gc
    try:
        return list(read_outcomes(path, order, problems)), problems
    finally:
        if gc_was_enabled:
            gc.enable()
