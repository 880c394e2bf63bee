"""``flaky`` over long histories with DuckDB, when it is installed (``pip install
"trim-telemetry-otel[history]"``).

DuckDB reads NDJSON natively, in parallel, and only the columns asked for: over 100 runs of
10,000 tests it used half the CPU time of the Python reader with orjson, a third of it without
(benchmarks/cli_scale.py). It cannot say which line of which file is broken, so it is used only
when every line is usable: on any error, or any row the Python reader would reject, the caller
falls back to that reader, which names each bad line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .history import Outcome

_COLUMNS = (
    "{schema_version: 'VARCHAR', id: 'VARCHAR', status: 'VARCHAR', status_detail: 'VARCHAR', "
    "run_id: 'VARCHAR', vcs_revision: 'VARCHAR', start_time: 'VARCHAR'}"
)
_OUTCOME = """CASE
    WHEN status = 'skipped' AND status_detail = 'xfailed' THEN 'xfailed'
    WHEN status = 'passed' AND status_detail = 'xpassed' THEN 'xpassed'
    ELSE status END"""


def available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def flaky_outcomes(files: list[Path], min_runs: int) -> tuple[list[Outcome], int] | None:
    """The outcomes of the tests that may be flaky, and how many results were read; ``None``
    when DuckDB is missing or some line needs the Python reader's message."""
    try:
        import duckdb
    except ImportError:
        return None
    order = {str(path): number for number, path in enumerate(files)}
    try:
        connection = duckdb.connect()
        connection.execute(
            f"CREATE TEMP TABLE results AS SELECT *, {_OUTCOME} AS outcome FROM read_json("
            f"?, format = 'newline_delimited', columns = {_COLUMNS}, filename = true)",
            [list(order)],
        )
        row = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE id IS NULL OR id = '' OR status IS NULL "
            "OR status NOT IN ('passed', 'failed', 'error', 'skipped') OR "
            "(schema_version IS NOT NULL AND NOT starts_with(schema_version, '1.'))) "
            "FROM results"
        ).fetchone()
        total, rejected = (int(row[0]), int(row[1])) if row else (0, 0)
        if rejected:
            return None
        rows: list[tuple[Any, ...]] = connection.execute(
            """
            WITH candidates AS (
                SELECT vcs_revision, id FROM results GROUP BY vcs_revision, id
                HAVING count(*) >= ? AND bool_or(outcome IN ('passed', 'xpassed'))
                    AND bool_or(outcome IN ('failed', 'error')))
            SELECT r.id, r.outcome, r.run_id, r.vcs_revision, r.start_time, r.filename
            FROM results r JOIN candidates c
                ON r.id = c.id AND r.vcs_revision IS NOT DISTINCT FROM c.vcs_revision
            """,
            [min_runs],
        ).fetchall()
        connection.close()
    except duckdb.Error:
        return None
    lines = sum(_count_lines(path) for path in files)
    if lines != total:  # a line DuckDB skipped or could not see: let the Python reader say why
        return None
    return [Outcome(r[0], r[1], r[2], r[3], r[4], order[r[5]]) for r in rows], total


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
        if path.stat().st_size and not _ends_with_newline(path):
            count += 1
    return count


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as stream:
        stream.seek(-1, 2)
        return stream.read(1) == b"\n"
