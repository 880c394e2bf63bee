"""Writes records as NDJSON: one line per test, each in one write so no reader sees half a line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .schema import TestRecord

if sys.platform != "win32":
    import fcntl

# Lone surrogates: what ``surrogateescape`` makes of bytes that are not UTF-8 (file names, argv).
_SURROGATES = re.compile("[\ud800-\udfff]")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_USES_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd


# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

_fast_dumps: Callable[[Any], bytes] | None
try:
    from orjson import dumps as _fast_dumps
except ImportError:  # the fast extra is not installed: the json module writes the same lines
    _fast_dumps = None


def encode_record(record: TestRecord) -> bytes:
    """One line of UTF-8 JSON; a lone surrogate anywhere becomes U+FFFD instead of costing it.

    orjson (the ``fast`` extra) writes it ten times faster than the json module, and the same
    line to any reader: compact, UTF-8, keys in the record's order. What orjson refuses (a lone
    surrogate, an integer beyond 64 bits) goes through the json module, which takes both.
    """
    if _fast_dumps is not None:
        try:
            return _fast_dumps(record) + b"\n"
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    text = _ENCODER.encode(record) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # rare: pay for the substitution only when it is needed
        return _SURROGATES.sub("\ufffd", text).encode("utf-8")


class SymlinkRefused(OSError):
    """A path we were about to open is a symbolic link: we never write through one."""


def open_for_append(base: Path, relative: Path) -> int:
    """Open ``base / relative`` to append, following no symbolic link below ``base``.

    ``base`` (the run directory the user named) may itself be a link; every directory created or
    entered below it and the file itself are opened with ``O_NOFOLLOW``, relative to their parent's
    descriptor, so a link planted there (say ``run_x.ndjson -> ~/.bashrc``) is refused, not written
    through. The file is opened read-write so that the writer can look at its last byte.
    """
    base.mkdir(parents=True, exist_ok=True)
    *directories, name = relative.parts
    if not _USES_DIR_FD:  # Windows: no dir_fd and no O_NOFOLLOW; refuse the links we can see
        where = base
        for directory in directories:
            where = where / directory
            _refuse_link(where)
            where.mkdir(exist_ok=True)
        _refuse_link(where / name)
        return os.open(where / name, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o644)
    parent = os.open(base, os.O_RDONLY | _DIRECTORY)
    try:
        where = base
        for directory in directories:
            where = where / directory
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, 0o755, dir_fd=parent)
            try:
                child = os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent)
            except OSError as error:
                _refuse_link(where, error)
                raise
            os.close(parent)
            parent = child
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW
        try:
            return os.open(name, flags, 0o644, dir_fd=parent)
        except OSError as error:
            _refuse_link(where / name, error)
            raise
    finally:
        os.close(parent)


def _refuse_link(path: Path, error: OSError | None = None) -> None:
    if path.is_symlink():
        raise SymlinkRefused(
            f"{path} is a symbolic link (to {os.readlink(path)}): not followed, nothing written"
        ) from error


class NdjsonWriter:
    """Appends records to a run file.

    There is no user-space buffer: each line goes to the kernel when its test ends, so ``tail -f``
    shows progress and a killed run keeps every line it finished. ``O_APPEND`` makes each line's
    single write land whole at the end of the file, which lets forked workers (Django
    ``--parallel``, pytest-xdist) share one file.

    A line is never glued onto a partial one: holding the file's lock, the writer looks at its last
    byte before each write, and if it is not a newline (a write cut short by a full disk or a kill,
    here or in another process of the run) the line starts with one, so the damage stays one bad
    line. When the file still ends where this writer's last whole line ended, that byte is known
    to be our newline and is not read again.

    Writing never raises ``OSError``: a failure (disk full, the directory made read-only, a planted
    symbolic link) is kept in :attr:`problem` and the record counted in :attr:`lost`, for the run's
    summary; the test is not disturbed.
    """

    def __init__(self, path: Path, *, lazy: bool = False, base: Path | None = None) -> None:
        """Open ``path`` now, or with ``lazy`` on the first write (no empty files).

        No symbolic link is followed below ``base`` (default: the file's own directory).
        """
        self.path = path
        self.base = base if base is not None else path.parent
        self.written = 0
        self.lost = 0
        self.problem: str | None = None  # the first failure, as the summary tells it
        self._lock = threading.Lock()
        self._closed = False
        self._open_failed = False
        self._fd: int | None = None
        self._end = -1  # where the file ended after our last whole line; -1: not known
        if not lazy:
            self._ensure_open()

    def _ensure_open(self) -> int | None:
        if self._fd is None and not self._open_failed:
            try:
                self._fd = open_for_append(self.base, self.path.relative_to(self.base))
            except OSError as error:
                self._open_failed = True
                self._fail(f"cannot open {self.path}: {_reason(error)}")
        return self._fd

    @property
    def usable(self) -> bool:
        """False once the file could not be opened: nothing will be written."""
        return not self._open_failed

    def write(self, record: TestRecord) -> None:
        data = encode_record(record)
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path} is closed")
            fd = self._ensure_open()
            if fd is None:
                self.lost += 1
                return
            try:
                _lock_file(fd)
                try:
                    self._append(fd, data)
                finally:
                    _unlock_file(fd)
            except OSError as error:
                self.lost += 1
                self._fail(f"cannot write to {self.path}: {_reason(error)}")
                return
            self.written += 1

    def _append(self, fd: int, data: bytes) -> None:
        """One line at the end of the file; the caller holds the file's lock."""
        size = os.fstat(fd).st_size
        if size != self._end and not _ends_with_newline(fd, size):
            data = b"\n" + data
        self._end = -1  # until the whole line is written
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # Nobody else appended meanwhile: every writer of the run holds the lock to append.
        self._end = size + len(data)

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def lines(self) -> int:
        """Lines in the file, read through our own descriptor (the path may be gone)."""
        with self._lock:
            fd = self._fd
            if fd is None:
                return 0
            count, offset = 0, 0
            while chunk := os.pread(fd, 1 << 20, offset):
                count += chunk.count(b"\n")
                offset += len(chunk)
            return count

    def gone(self) -> bool:
        """The file we write was deleted or replaced since we opened it."""
        with self._lock:
            if self._fd is None:
                return False
            ours = os.fstat(self._fd)
        try:
            now = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return True
        return ours.st_nlink == 0 or (now.st_dev, now.st_ino) != (ours.st_dev, ours.st_ino)

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


def _lock_file(fd: int) -> None:
    """Take the file's advisory lock: writers of one run (forks, xdist workers) take turns.

    Without it, one process could look at the last byte while another's long line is half
    copied and take that for a partial line. A writer killed mid-line drops the lock with its
    descriptor; the next writer finds the partial line and starts a fresh one.
    """
    if sys.platform != "win32":  # no advisory locks there: O_APPEND alone keeps lines whole
        fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock_file(fd: int) -> None:
    if sys.platform != "win32":
        fcntl.flock(fd, fcntl.LOCK_UN)


def _ends_with_newline(fd: int, size: int) -> bool:
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _reason(error: OSError) -> str:
    if isinstance(error, SymlinkRefused):
        return str(error)
    return f"{error.strerror or error}" + (f" (errno {error.errno})" if error.errno else "")
