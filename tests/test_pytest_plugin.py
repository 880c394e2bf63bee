"""`pytest --telemetry` end to end, through pytester."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_records, run_files

Records = Callable[..., dict[str, dict[str, Any]]]

OUTCOMES = """
    import pytest

    @pytest.fixture
    def broken_setup():
        raise RuntimeError("setup broke")

    @pytest.fixture
    def broken_teardown():
        yield
        raise ValueError("teardown broke")

    def test_passes():
        pass

    def test_fails():
        assert 1 == 2

    def test_setup_errors(broken_setup):
        pass

    def test_teardown_errors(broken_teardown):
        pass

    def test_fails_and_teardown_errors(broken_teardown):
        raise KeyError("body")

    @pytest.mark.skip(reason="not today")
    def test_skipped_by_mark():
        pass

    def test_skipped_inside():
        pytest.skip("decided at run time")

    @pytest.mark.xfail(reason="known bug")
    def test_xfails():
        assert False

    @pytest.mark.xfail(reason="fixed already")
    def test_xpasses():
        pass

    @pytest.mark.xfail(reason="must fail", strict=True)
    def test_xpasses_strict():
        pass
"""


def test_every_outcome_gets_one_record_with_its_status(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(test_outcomes=OUTCOMES)

    result = pytester.runpytest("--telemetry")

    result.assert_outcomes(passed=2, failed=3, errors=3, skipped=2, xfailed=1, xpassed=1)
    records = records_of()
    expected = {
        "test_passes": ("passed", None, None),
        "test_fails": ("failed", None, "call"),
        "test_setup_errors": ("error", None, "setup"),
        "test_teardown_errors": ("error", None, "teardown"),
        "test_fails_and_teardown_errors": ("failed", None, "call"),
        "test_skipped_by_mark": ("skipped", None, None),
        "test_skipped_inside": ("skipped", None, None),
        "test_xfails": ("skipped", "xfailed", None),
        "test_xpasses": ("passed", "xpassed", None),
        "test_xpasses_strict": ("failed", "xpassed", "call"),
    }
    assert {
        name: (r["status"], r["status_detail"], r["failure_phase"]) for name, r in records.items()
    } == expected


def test_failures_carry_their_exception_type_and_message(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(test_outcomes=OUTCOMES)

    pytester.runpytest("--telemetry")

    records = records_of()
    assert records["test_fails"]["failure_type"] == "AssertionError"
    assert "assert 1 == 2" in records["test_fails"]["failure_message"]
    assert records["test_setup_errors"]["failure_type"] == "RuntimeError"
    assert records["test_setup_errors"]["failure_message"] == "RuntimeError: setup broke"
    assert records["test_teardown_errors"]["failure_message"] == "ValueError: teardown broke"
    assert records["test_fails_and_teardown_errors"]["failure_type"] == "KeyError"
    assert records["test_skipped_by_mark"]["skip_reason"] == "not today"
    assert records["test_skipped_inside"]["skip_reason"] == "decided at run time"
    assert records["test_xfails"]["skip_reason"] == "known bug"
    assert records["test_passes"]["failure_message"] is None


def test_records_name_the_test_its_class_module_and_real_file(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.mkpydir("pkg")
    pytester.mkpydir("pkg/sub")
    Path(pytester.path, "pkg/sub/test_deep.py").write_text(
        textwrap.dedent(
            """
            import pytest

            class TestGroup:
                class TestInner:
                    def test_nested(self):
                        pass

                @pytest.mark.parametrize("n", [1, 2])
                def test_param(self, n):
                    pass
            """
        )
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=3)

    records = records_of()
    assert set(records) == {"test_nested", "test_param[1]", "test_param[2]"}
    param = records["test_param[2]"]
    assert param["id"] == "pkg/sub/test_deep.py::TestGroup::test_param[2]"
    assert param["class"] == "TestGroup"
    assert param["module"] == "pkg.sub.test_deep"
    assert param["file"] == "pkg/sub/test_deep.py"
    assert param["framework"] == "pytest"
    assert records["test_nested"]["class"] == "TestGroup.TestInner"


def test_times_and_trace_ids_are_filled_in(pytester: pytest.Pytester, records_of: Records) -> None:
    pytester.makepyfile(
        """
        import time

        def test_sleeps():
            time.sleep(0.05)

        def test_quick():
            pass
        """
    )

    pytester.runpytest("--telemetry")

    records = records_of()
    slow, quick = records["test_sleeps"], records["test_quick"]
    assert slow["test_duration_ms"] >= 50
    assert slow["start_time"] < slow["end_time"] <= quick["start_time"]
    assert slow["trace_id"] != quick["trace_id"], "every test is a trace of its own"
    assert slow["run_id"] == quick["run_id"]
    assert slow["schema_version"] == "1.1.0"


def test_each_line_is_on_disk_when_its_test_ends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json, pathlib

        def test_first():
            pass

        def test_second_sees_the_first_line_already():
            [path] = pathlib.Path(".telemetry").glob("run_*.ndjson")
            lines = path.read_text().splitlines()
            assert [json.loads(line)["name"] for line in lines] == ["test_first"]
        """
    )

    pytester.runpytest("--telemetry", "-p", "no:randomly").assert_outcomes(passed=2)


def test_telemetry_is_off_unless_asked_for(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass")

    pytester.runpytest().assert_outcomes(passed=1)

    assert not (pytester.path / ".telemetry").exists()


def test_a_run_with_telemetry_off_imports_no_opentelemetry(pytester: pytest.Pytester) -> None:
    # The plugin is loaded by every pytest run of the environment: off, it must cost nothing.
    conftest = textwrap.dedent(
        """
        import sys

        def pytest_sessionfinish(session):
            ours = "trim_telemetry_otel.pytest.plugin" in sys.modules
            heavy = sorted(
                name for name in sys.modules
                if name.startswith(("opentelemetry", "trim_telemetry_otel.pytest.recording"))
            )
            print(f"\\nplugin loaded: {ours}; heavy modules: {heavy}")
        """
    )
    pytester.makeconftest(conftest)
    pytester.makepyfile("def test_a(): pass")

    off = pytester.runpytest_subprocess("-s")
    on = pytester.runpytest_subprocess("-s", "--telemetry")

    off.stdout.fnmatch_lines(["plugin loaded: True; heavy modules: []"])
    on.stdout.fnmatch_lines(["plugin loaded: True; heavy modules: [[]'opentelemetry*"])


def test_ini_option_and_environment_switch_it_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_a(): pass")
    pytester.makeini("[pytest]\ntelemetry = true\ntelemetry_dir = out/ini\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert len(run_files(pytester.path / "out/ini")) == 1

    pytester.makeini("[pytest]\n")
    monkeypatch.setenv("TRIM_TELEMETRY", "1")
    monkeypatch.setenv("TRIM_TELEMETRY_DIR", str(pytester.path / "out/env"))
    pytester.runpytest().assert_outcomes(passed=1)
    assert len(run_files(pytester.path / "out/env")) == 1


def test_a_bad_environment_value_is_a_clear_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_a(): pass")
    monkeypatch.setenv("TRIM_TELEMETRY", "maybe")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*TRIM_TELEMETRY='maybe' is not a boolean*"])


def test_telemetry_dir_option_and_summary_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass")

    result = pytester.runpytest("--telemetry", "--telemetry-dir", "custom")

    [path] = run_files(pytester.path / "custom")
    assert len(read_records(path)) == 2
    result.stdout.fnmatch_lines(["*- telemetry -*", f"2 test records written to *{path.name}"])


def test_two_runs_in_the_same_second_get_two_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass")

    pytester.runpytest("--telemetry")
    pytester.runpytest("--telemetry")

    files = run_files(pytester.path / ".telemetry")
    assert len(files) == 2
    assert [len(read_records(path)) for path in files] == [1, 1]


def test_session_fixture_queries_are_not_charged_to_the_first_test(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import sqlite3
        import pytest

        @pytest.fixture(scope="session")
        def db(tmp_path_factory):
            conn = sqlite3.connect(tmp_path_factory.mktemp("db") / "x.sqlite3")
            cur = conn.cursor()
            cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            cur.execute("INSERT INTO t (name) VALUES ('migration')")
            yield conn
            cur = conn.cursor()
            cur.execute("DELETE FROM t WHERE name = 'teardown'")
            conn.close()

        @pytest.fixture
        def row(db):
            cur = db.cursor()
            cur.execute("INSERT INTO t (name) VALUES (?)", ("per-test",))
            return cur.lastrowid

        def test_first(db, row):
            db.cursor().execute("SELECT name FROM t WHERE id = ?", (row,))

        def test_last(db):
            db.cursor().execute("SELECT count(*) FROM t")
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=2)

    records = records_of()
    assert [q["sql"] for q in records["test_first"]["db_queries"]] == [
        "INSERT INTO t (name) VALUES (?)",
        "SELECT name FROM t WHERE id = ?",
    ]
    assert [q["sql"] for q in records["test_last"]["db_queries"]] == ["SELECT count(*) FROM t"]
    [setup_file] = run_files(pytester.path / ".telemetry" / "setup")
    setups = {r["name"]: r for r in read_records(setup_file)}
    assert [q["sql"] for q in setups["db[session setup]"]["db_queries"]] == [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO t (name) VALUES (?)",
    ]
    assert [q["sql"] for q in setups["db[session teardown]"]["db_queries"]] == [
        "DELETE FROM t WHERE name = ?"
    ]
    assert (
        setups["db[session setup]"]["file"]
        == "test_session_fixture_queries_are_not_charged_to_the_first_test.py"
    )
    assert setups["db[session setup]"]["run_id"] == records["test_first"]["run_id"]


def test_a_failing_session_fixture_is_recorded_as_a_setup_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def broken():
            raise ConnectionError("no database")

        def test_a(broken):
            pass
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(errors=1)

    [setup_file] = run_files(pytester.path / ".telemetry" / "setup")
    [setup] = read_records(setup_file)
    assert setup["name"] == "broken[module setup]"
    assert (setup["status"], setup["failure_type"]) == ("error", "ConnectionError")


def test_python_dash_m_entry_point_runs_pytest_with_telemetry(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass\ndef test_b(): assert False")

    result = pytester.run(sys.executable, "-m", "trim_telemetry_otel.pytest", "-q")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    [path] = run_files(pytester.path / ".telemetry")
    assert {r["name"]: r["status"] for r in read_records(path)} == {
        "test_a": "passed",
        "test_b": "failed",
    }


def test_entry_point_plugin_works_in_a_fresh_interpreter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass")

    result = pytester.runpytest_subprocess("--telemetry")

    result.assert_outcomes(passed=1)
    assert len(run_files(pytester.path / ".telemetry")) == 1


def test_xdist_workers_share_one_run_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        **{
            f"test_part{n}": "\n".join(f"def test_{n}_{i}(): pass" for i in range(10))
            for n in range(3)
        }
    )

    result = pytester.runpytest_subprocess("--telemetry", "-n", "2")

    result.assert_outcomes(passed=30)
    [path] = run_files(pytester.path / ".telemetry")
    records = read_records(path)
    assert len(records) == 30
    assert len({r["id"] for r in records}) == 30
    assert len({r["run_id"] for r in records}) == 1
    result.stdout.fnmatch_lines(["30 test records written to *"])


def test_collect_only_writes_no_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass")

    pytester.runpytest("--telemetry", "--collect-only")

    assert not (pytester.path / ".telemetry").exists()


def test_a_broken_record_sink_never_changes_the_outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass")

    def explode(self: object, record: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("trim_telemetry_otel.ndjson.NdjsonWriter.write", explode)
    result = pytester.runpytest("--telemetry", "-W", "error")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "WARNING: 2 telemetry errors (no test was affected;*",
            "  2 × writing a test record: OSError: disk full",
        ]
    )


def test_an_unusable_directory_is_one_warning_and_a_plain_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass")
    Path(pytester.path, "blocked").write_text("a file, not a directory")

    result = pytester.runpytest_subprocess("--telemetry", "--telemetry-dir", "blocked/sub")

    assert result.ret == pytest.ExitCode.OK
    result.stderr.fnmatch_lines(
        ["trim-telemetry-otel: WARNING: no telemetry records for this run: cannot create*"]
    )


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_a_killed_run_keeps_every_finished_line_intact(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os, signal

        def test_one(): pass
        def test_two(): pass
        def test_killer(): os.kill(os.getpid(), signal.SIGKILL)
        """
    )

    pytester.runpytest_subprocess("--telemetry", "-p", "no:randomly")

    [path] = run_files(pytester.path / ".telemetry")
    assert [r["name"] for r in read_records(path)] == ["test_one", "test_two"]


def test_shared_setup_time_is_not_part_of_the_test_that_triggered_it(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import time, pytest

        @pytest.fixture(scope="module")
        def slow_resource():
            time.sleep(0.6)
            yield
            time.sleep(0.6)

        def test_first(slow_resource):
            pass

        def test_last(slow_resource):
            time.sleep(0.05)
        """
    )

    pytester.runpytest("--telemetry", "-p", "no:randomly").assert_outcomes(passed=2)

    records = records_of()
    # Generous bounds for a busy CI machine: either would be above 600 ms if the set-up counted.
    assert records["test_first"]["test_duration_ms"] < 400
    assert 50 <= records["test_last"]["test_duration_ms"] < 450
    # The root still spans the whole protocol: start and end times are the real ones.
    last = records["test_last"]
    assert last["end_time"] > last["start_time"]
