"""Run ids and run files: ``<dir>/run_YYYYMMDD_HHMMSS.ndjson``, a new file for every run."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class RunIdError(ValueError):
    pass


def check_run_id(run_id: str) -> str:
    """A run id becomes a file name and a JSON field: keep it to a safe alphabet."""
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise RunIdError(
            f"invalid telemetry run id {run_id!r}: use letters, digits, '_', '.' and '-' "
            "(at most 128, starting with a letter or digit)"
        )
    return run_id


def run_file_path(directory: Path, run_id: str) -> Path:
    return directory / f"{run_id}.ndjson"


def create_run_file(directory: Path, now: datetime | None = None) -> tuple[str, Path]:
    """Create the file of a new run and return its id and path.

    The id is ``run_YYYYMMDD_HHMMSS`` in UTC, whatever the runner: Django's ``TIME_ZONE`` sets the
    process's local time zone, and runs started together must get ids of the same moment. A second
    run started in the same second gets ``_2``, ``_3``… appended. ``O_EXCL`` makes the claim atomic
    (concurrent runs never share a file) and refuses a symbolic link planted under the name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    base = moment.strftime("run_%Y%m%d_%H%M%S")
    for attempt in range(1, 10_000):
        run_id = base if attempt == 1 else f"{base}_{attempt}"
        path = run_file_path(directory, run_id)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return run_id, path
    raise FileExistsError(f"no free run file name for {base} in {directory}")


def join_run_file(directory: Path, run_id: str) -> Path:
    """The file of a run another process started (a worker, or a run id the user chose)."""
    directory.mkdir(parents=True, exist_ok=True)
    return run_file_path(directory, check_run_id(run_id))


def setup_file_path(directory: Path, run_id: str) -> Path:
    """Where a run's shared set-up records go: beside, not among, the ``run_*.ndjson`` files."""
    return directory / "setup" / f"{run_id}.ndjson"
