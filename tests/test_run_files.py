"""Run files: unique names, whole lines, many writers."""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.spans import SpanFactory
from trim_telemetry_otel.fold import fold_test
from trim_telemetry_otel.ndjson import NdjsonWriter
from trim_telemetry_otel.runs import RunIdError, create_run_file, join_run_file

NOW = datetime(2026, 11, 21, 14, 3, 1)


def a_record(query_count: int = 1) -> object:
    spans = SpanFactory()
    with spans.test():
        for n in range(query_count):
            spans.query(f"SELECT {n} FROM t_{n}")
    return fold_test(*spans.root_and_children())


def test_runs_started_in_the_same_second_get_their_own_files(tmp_path: Path) -> None:
    first = create_run_file(tmp_path, NOW)
    second = create_run_file(tmp_path, NOW)

    assert first == ("run_20261121_140301", tmp_path / "run_20261121_140301.ndjson")
    assert second == ("run_20261121_140301_2", tmp_path / "run_20261121_140301_2.ndjson")


def _claim(directory: str) -> str:
    return create_run_file(Path(directory), NOW)[0]


# Forked on purpose (forked writers are what Django's --parallel makes); Python 3.12+ warns that
# pytest's process has threads, which these children never touch.
FORKS_ON_PURPOSE = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


@FORKS_ON_PURPOSE
def test_concurrent_processes_never_claim_the_same_file(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        run_ids = pool.map(_claim, [str(tmp_path)] * 20)

    assert len(set(run_ids)) == 20


def _write_many(path: str, record: object, count: int) -> None:
    writer = NdjsonWriter(Path(path))
    for _ in range(count):
        writer.write(record)  # type: ignore[arg-type]
    writer.close()


@FORKS_ON_PURPOSE
def test_forked_writers_sharing_a_file_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.ndjson"
    big = a_record(query_count=200)  # lines of tens of kilobytes
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_many, args=(str(path), big, 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert len(lines) - 1 == 200
    assert all(json.loads(line)["db_query_count"] == 200 for line in lines[:-1])


def test_a_lazy_writer_creates_its_file_only_when_something_is_written(tmp_path: Path) -> None:
    path = tmp_path / "setup" / "run.ndjson"
    writer = NdjsonWriter(path, lazy=True)
    assert not path.exists()

    writer.write(a_record())  # type: ignore[arg-type]
    writer.close()

    assert len(path.read_text().splitlines()) == 1


def test_writing_after_close_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    writer = NdjsonWriter(tmp_path / "run.ndjson")
    writer.close()

    with pytest.raises(ValueError, match="closed"):
        writer.write(a_record())  # type: ignore[arg-type]


def test_joining_a_run_with_an_unsafe_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunIdError, match="invalid telemetry run id '../etc/passwd'"):
        join_run_file(tmp_path, "../etc/passwd")


def test_a_lone_surrogate_becomes_the_replacement_character_not_a_lost_record(
    tmp_path: Path,
) -> None:
    record = dict(a_record())  # type: ignore[call-overload]
    record["failure_message"] = "No such file: 'caf\udce9.txt'"
    with NdjsonWriter(tmp_path / "run.ndjson") as writer:
        writer.write(record)  # type: ignore[arg-type]

    [line] = (tmp_path / "run.ndjson").read_text("utf-8").splitlines()
    assert json.loads(line)["failure_message"] == "No such file: 'caf\ufffd.txt'"


def test_a_line_after_a_partial_one_starts_on_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "run.ndjson"
    path.write_bytes(b'{"cut short')
    with NdjsonWriter(path) as writer:
        writer.write(a_record())  # type: ignore[arg-type]
        writer.write(a_record())  # type: ignore[arg-type]

    first, *rest = path.read_bytes().split(b"\n")
    assert first == b'{"cut short'
    assert [json.loads(line)["db_query_count"] for line in rest[:-1]] == [1, 1]
    assert rest[-1] == b""


def test_no_symbolic_link_below_the_run_directory_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "run.ndjson").symlink_to(target)
    (tmp_path / "runs" / "setup").symlink_to(tmp_path, target_is_directory=True)

    joined = NdjsonWriter(tmp_path / "runs" / "run.ndjson")
    setup = NdjsonWriter(tmp_path / "runs" / "setup" / "x.ndjson", base=tmp_path / "runs")
    joined.write(a_record())  # type: ignore[arg-type]
    setup.write(a_record())  # type: ignore[arg-type]

    assert target.read_text() == "keep me\n"
    assert not (tmp_path / "x.ndjson").exists()
    assert (joined.lost, setup.lost) == (1, 1)
    assert "is a symbolic link" in str(joined.problem)
    assert "is a symbolic link" in str(setup.problem)


def test_run_ids_are_taken_in_utc(tmp_path: Path) -> None:
    kiritimati = timezone(timedelta(hours=14))
    run_id, _ = create_run_file(tmp_path, datetime(2026, 11, 22, 4, 3, 1, tzinfo=kiritimati))

    assert run_id == "run_20261121_140301"
