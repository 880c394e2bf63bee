"""The committed baseline of ``check``: per test, its queries, repeats and network hosts.

The file is JSON with one test per line, sorted by id, so that a change to it reads well in a
review and merges like any text file::

    {"format": 1, "tests": {
    "tests/test_api.py::test_list": {"queries": 3, "duplicates": 0, "hosts": []},
    ...
    }}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import ENCODING_ERRORS
from .reading import InputError
from .records import Test, hosts_of

FORMAT = 1


@dataclass(frozen=True)
class Entry:
    queries: int
    duplicates: int
    hosts: tuple[str, ...]

    @classmethod
    def of(cls, test: Test) -> Entry:
        return cls(test["db_query_count"], test["db_duplicate_count"], tuple(hosts_of(test)))

    def as_json(self) -> dict[str, Any]:
        return {"queries": self.queries, "duplicates": self.duplicates, "hosts": list(self.hosts)}


def load(path: Path) -> dict[str, Entry] | None:
    """The entries of ``path``, ``None`` when it does not exist; InputError when it is unusable."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: the baseline cannot be read ({error})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        line = getattr(error, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        raise InputError(f"{where}: the baseline is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), dict):
        raise InputError(f'{path}: not a trim-telemetry baseline (no "tests" object)')
    entries = {}
    for test_id, value in data["tests"].items():
        try:
            entries[test_id] = Entry(
                _count(value["queries"]),
                _count(value["duplicates"]),
                tuple(str(host) for host in value.get("hosts", [])),
            )
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f'{path}: the entry of {test_id!r} needs integer "queries" and "duplicates"'
            ) from None
    return entries


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(value)
    return value


def save(path: Path, entries: dict[str, Entry]) -> None:
    lines = [f'{{"format": {FORMAT}, "tests": {{']
    items = sorted(entries.items())
    for number, (test_id, entry) in enumerate(items, 1):
        comma = "," if number < len(items) else ""
        body = json.dumps(entry.as_json(), ensure_ascii=False)
        lines.append(f"{json.dumps(test_id, ensure_ascii=False)}: {body}{comma}")
    lines.append("}}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text("\n".join(lines) + "\n", "utf-8", ENCODING_ERRORS)
    os.replace(temporary, path)  # a reader never sees half a baseline
