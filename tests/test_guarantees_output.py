"""Guarantees about the run files: whatever happens to them, the tests run as without telemetry.

Each case runs one small suite under pytest, unittest and Django (``RUNNERS``), plain and with
telemetry, in fresh interpreters: outcomes and exit code must be identical, every line of a run
file a complete record (or, where a write was cut short, one bad line), and any problem told in
one warning.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.guarantee_runs import (
    RUNNERS,
    assert_unchanged,
    lines_of,
    make_project,
    run_both,
    run_file,
    run_suite,
)

DELETES = """
    import glob, os, unittest

    class Deletes(unittest.TestCase):
        def test_1_before(self):
            pass

        def test_2_deletes_the_run_file(self):
            for path in glob.glob(os.path.join(os.environ["TRIM_TELEMETRY_DIR"], "*.ndjson")):
                os.remove(path)

        def test_3_after(self):
            pass

        def test_4_fails(self):
            self.assertEqual(1, 2)
"""

CHDIR = """
    import os, tempfile, unittest

    class ChangesDirectory(unittest.TestCase):
        def test_1_before(self):
            pass

        def test_2_changes_directory(self):
            os.chdir(tempfile.mkdtemp())

        def test_3_after(self):
            pass
"""

PLAIN = """
    import sqlite3, unittest

    class Plain(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.db = sqlite3.connect(":memory:")
            cls.db.cursor().execute("CREATE TABLE t (id INTEGER)")  # worth a set-up record

        def test_1_passes(self):
            self.db.cursor().execute("SELECT id FROM t")

        def test_2_fails(self):
            self.assertEqual(1, 2)

        def test_3_passes(self):
            pass
"""

FILLS_THE_DISK = """
    import os, sqlite3, unittest

    FILLER = os.path.join(os.environ["TRIM_TELEMETRY_DIR"], "filler")

    class FillsTheDisk(unittest.TestCase):
        def test_1_before(self):
            pass

        def test_2_fills_the_disk(self):
            try:
                with open(FILLER, "ab", buffering=0) as filler:
                    while True:
                        filler.write(b"x" * 1024)
            except OSError:
                pass
            # A record longer than a page (distinct statements): the full disk takes only its start.
            db = sqlite3.connect(":memory:")
            for n in range(150):
                db.cursor().execute(f"SELECT {n} AS column_{n}")

        def test_3_on_a_full_disk(self):
            self.assertTrue(os.path.exists(FILLER))

        def test_4_frees_the_disk(self):
            os.remove(FILLER)

        def test_5_after(self):
            pass

        def test_6_after(self):
            pass
"""


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[object]:
    """Mount a real tmpfs (root only); unmounted at the end."""
    mounted: list[Path] = []

    def mount(directory: Path, options: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(directory)
        return directory

    yield mount
    for directory in reversed(mounted):
        subprocess.run(["umount", "-l", str(directory)], check=False)


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_run_file_deleted_mid_run_gives_one_warning_and_changes_no_outcome(
    runner: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", DELETES)
    out = tmp_path / "out"
    env = {"TRIM_TELEMETRY_DIR": str(out)}

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    [warning] = telemetry.warnings()
    assert "was deleted or replaced during the run" in warning


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_test_that_changes_directory_changes_nothing(runner: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", CHDIR)  # the default, relative .telemetry

    plain, telemetry = run_both(runner, project)

    assert_unchanged(plain, telemetry)
    assert not telemetry.warnings(), telemetry.output
    records, bad = lines_of(run_file(project / ".telemetry"))
    assert sorted(r["name"] for r in records) == sorted(plain.outcomes)
    assert not bad


@pytest.mark.parametrize("runner", RUNNERS)
def test_an_unwritable_directory_gives_one_warning_and_a_plain_run(
    runner: str, tmp_path: Path, mount_tmpfs: object
) -> None:
    project = make_project(tmp_path / "project", PLAIN)
    read_only = mount_tmpfs(tmp_path / "read-only", "ro,size=64k")  # type: ignore[operator]
    env = {"TRIM_TELEMETRY_DIR": str(read_only)}

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    [warning] = telemetry.warnings()
    assert f"no telemetry records for this run: cannot create the run file in {read_only}" in (
        warning
    )
    assert "Read-only file system" in warning
    assert not list(read_only.iterdir())


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_full_disk_costs_records_never_glues_lines(
    runner: str, tmp_path: Path, mount_tmpfs: object
) -> None:
    project = make_project(tmp_path / "project", FILLS_THE_DISK)
    small = mount_tmpfs(tmp_path / "small", "size=256k")  # type: ignore[operator]
    env = {"TRIM_TELEMETRY_DIR": str(small)}
    plain = run_suite(runner, project, telemetry=False, env=env)

    telemetry = run_suite(runner, project, telemetry=True, env=env)

    assert_unchanged(plain, telemetry)
    records, bad = lines_of(run_file(small))
    names = {record["name"] for record in records}
    assert {"test_1_before", "test_5_after", "test_6_after"} <= names
    assert len(bad) == 1, bad  # the line the full disk cut short, and the next one is whole
    [warning] = telemetry.warnings()
    assert "records not written" in warning
    assert "No space left on device" in warning


def _write_one_huge_line_and_get_killed(path: Path) -> None:
    """A real SIGKILL while one very long line is being written."""
    script = (
        "import sys; from pathlib import Path; from trim_telemetry_otel.ndjson import NdjsonWriter;"
        "NdjsonWriter(Path(sys.argv[1])).write({'message': 'x' * (400 << 20)})"
    )
    for _ in range(5):
        path.unlink(missing_ok=True)
        writer = subprocess.Popen([sys.executable, "-c", script, str(path)])
        deadline = time.monotonic() + 60
        while (not path.exists() or path.stat().st_size < (1 << 20)) and writer.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.001)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        if path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n"):
            return
    pytest.skip("the kill never landed in the middle of the write")


@pytest.mark.parametrize("runner", RUNNERS)
def test_joining_a_run_killed_mid_line_starts_a_fresh_line(runner: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PLAIN)
    out = tmp_path / "out"
    out.mkdir()
    _write_one_huge_line_and_get_killed(out / "shard.ndjson")
    env = {"TRIM_TELEMETRY_DIR": str(out), "TRIM_TELEMETRY_RUN_ID": "shard"}

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    records, bad = lines_of(out / "shard.ndjson")
    assert len(bad) == 1 and bad[0].startswith(b'{"message":"xxx')
    assert sorted(record["name"] for record in records) == sorted(plain.outcomes)


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_planted_symlink_is_never_followed(runner: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PLAIN)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    target = elsewhere / "precious.txt"
    target.write_text("keep me\n")
    (out / "joined.ndjson").symlink_to(target)
    env = {"TRIM_TELEMETRY_DIR": str(out), "TRIM_TELEMETRY_RUN_ID": "joined"}

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    assert target.read_text() == "keep me\n"
    [warning] = telemetry.warnings()
    assert f"{out / 'joined.ndjson'} is a symbolic link" in warning


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_planted_setup_directory_symlink_is_never_followed(runner: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PLAIN)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "setup").symlink_to(elsewhere, target_is_directory=True)
    env = {"TRIM_TELEMETRY_DIR": str(out)}

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    assert not list(elsewhere.iterdir())
    records, bad = lines_of(run_file(out))
    assert sorted(record["name"] for record in records) == sorted(plain.outcomes)
    [warning] = telemetry.warnings()
    assert f"{out / 'setup'} is a symbolic link" in warning


@pytest.mark.parametrize("runner", RUNNERS)
def test_run_ids_are_utc_whatever_the_local_time_zone(runner: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PLAIN)  # Django's TIME_ZONE is UTC+14
    started = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)

    telemetry = run_suite(runner, project, telemetry=True, env={"TZ": "America/Los_Angeles"})

    run_id = run_file(project / ".telemetry").stem
    moment = datetime.strptime(run_id[:19], "run_%Y%m%d_%H%M%S")
    assert abs((moment - started).total_seconds()) < 120, (run_id, started, telemetry.output)
