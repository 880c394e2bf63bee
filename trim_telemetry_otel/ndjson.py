"""Writes records as NDJSON: one line per test, each in one write so no reader sees half a line."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .schema import TestRecord

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_record(record: TestRecord) -> bytes:
    # One encoder for every line: json.dumps with options builds a new one per call.
    return (_ENCODER.encode(record) + "\n").encode("utf-8")


class NdjsonWriter:
    """Appends records to a run file.

    There is no user-space buffer: each line goes to the kernel when its test ends, so ``tail -f``
    shows progress and a killed run keeps every line it finished. ``O_APPEND`` makes each line's
    single write land whole at the end of the file, which lets forked workers (Django
    ``--parallel``, pytest-xdist) share one file.
    """

    def __init__(self, path: Path, *, lazy: bool = False) -> None:
        """Open ``path`` now, or with ``lazy`` on the first write (no empty files)."""
        self.path = path
        self._lock = threading.Lock()
        self._closed = False
        self._fd: int | None = None if lazy else self._open()

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: TestRecord) -> None:
        data = memoryview(encode_record(record))
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path} is closed")
            if self._fd is None:
                self._fd = self._open()
            while data:
                written = os.write(self._fd, data)
                data = data[written:]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> NdjsonWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
