"""The Django runner end to end: tests/django_project run through it in subprocesses.

Each run is compared with what Django itself says: its console output and exit code (against a
plain DiscoverRunner run), and the queries each test made as Django's CaptureQueriesContext saw
them (the project's tests log those to TRIM_QUERY_LOG).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django import VERSION as DJANGO_VERSION

from tests.conftest import read_records, run_files

PROJECT = Path(__file__).parent / "django_project"
RUNNER = "trim_telemetry_otel.django.TelemetryTestRunner"
PLAIN_RUNNER = "django.test.runner.DiscoverRunner"
MODULE = ("-m", "trim_telemetry_otel.django")
MANAGE = ("manage.py", "test")
# The set-up records of the runner's own steps are named after the method that did the work.
STEPS = "trim_telemetry_otel.django.runner.TelemetryTestRunner"

Record = dict[str, Any]


@dataclass
class DjangoRun:
    returncode: int
    stdout: str
    stderr: str
    out: Path

    @property
    def telemetry(self) -> Path:
        return self.out / "telemetry"

    def records(self) -> list[Record]:
        [path] = run_files(self.telemetry)
        return read_records(path)

    def by_id(self) -> dict[str, Record]:
        records = self.records()
        by_id = {record["id"]: record for record in records}
        assert len(by_id) == len(records), "two records for one test"
        return by_id

    def setup_records(self) -> dict[str, Record]:
        [path] = run_files(self.telemetry / "setup")
        return {record["id"]: record for record in read_records(path)}

    def captured(self) -> dict[str, dict[str, Any]]:
        """What Django's CaptureQueriesContext saw in each test, by test id."""
        lines = (self.out / "queries.ndjson").read_text().splitlines()
        return {entry["id"]: entry for entry in map(json.loads, lines)}

    def tests_run(self) -> int:
        [ran] = re.findall(r"^Ran (\d+) tests? in", self.stderr, re.MULTILINE)
        return int(ran)


def project_environment(db: str, **env: str) -> dict[str, str]:
    """The environment of a run of tests/django_project on ``db``, free of the caller's settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TRIM_", "DJANGO_"))}
    environ.update(
        DJANGO_SETTINGS_MODULE="project.settings", PYTHONPATH=str(PROJECT), TRIM_DJANGO_DB=db, **env
    )
    return environ


def run_django(
    out: Path,
    command: tuple[str, ...],
    *args: str,
    db: str = "sqlite",
    env: dict[str, str] | None = None,
    cwd: Path = PROJECT,
) -> DjangoRun:
    out.mkdir(parents=True, exist_ok=True)
    environ = project_environment(db, TRIM_QUERY_LOG=str(out / "queries.ndjson"), **(env or {}))
    telemetry = ("--telemetry-dir", str(out / "telemetry")) if command == MODULE else ()
    done = subprocess.run(
        [sys.executable, *command, *telemetry, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return DjangoRun(done.returncode, done.stdout, done.stderr, out)


def comparable(text: str) -> str:
    """Django's report with timings masked and our one summary line removed."""
    text = re.sub(r"Ran (\d+) tests? in [\d.]+s", r"Ran \1 tests in Xs", text)
    return "\n".join(line for line in text.splitlines() if not line.startswith("Telemetry: "))


def reported_tests(stderr: str) -> set[str]:
    """The tests a ``-v 2`` run reported on (not the ``setUpClass (…)`` placeholders)."""
    # Python 3.11+ writes "name (module.Class.name)", 3.10 "name (module.Class)"; 3.10 also writes a
    # test whose setUp failed only in the summary, and the next test on a subTests test's line.
    found = re.findall(r"(\w+) \(([\w.]+)\) \.\.\. ", stderr)
    found += re.findall(r"^(?:ERROR|FAIL): (\w+) \(([\w.]+)\)", stderr, re.MULTILINE)
    return {
        where if where.endswith(f".{name}") else f"{where}.{name}"
        for name, where in found
        if name not in ("setUpClass", "tearDownClass")
    }


def required(module: str, what: str) -> None:
    """Skip without ``module``, as tests/conftest.py does without a service: but fail in CI."""
    if importlib.util.find_spec(module) is None:
        message = f"{what} is not installed"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message} (CI=true: every backend must run)")
        pytest.skip(message)


def assert_counts_match_django(run: DjangoRun) -> None:
    records, captured = run.by_id(), run.captured()
    assert captured, "the project's tests logged nothing"
    assert {id_: records[id_]["db_query_count"] for id_ in captured} == {
        id_: entry["count"] for id_, entry in captured.items()
    }
    assert sum(entry["count"] for entry in captured.values()) > 10


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory: pytest.TempPathFactory, http_server: str) -> DjangoRun:
    """The project's passing and failing tests on SQLite, shared by the tests below."""
    out = tmp_path_factory.mktemp("sqlite")
    return run_django(
        out, MODULE, "-v", "2", "shop", "outcomes", env={"TRIM_HTTP_URL": http_server}
    )


BACKENDS = {
    # name: (TRIM_DJANGO_DB, database name, extra environment, DB-API module Django used)
    "psycopg3": ("postgresql", "trim_runner", {}, "psycopg"),
    "psycopg2": ("postgresql", "trim_runner_pg2", {"TRIM_DJANGO_DRIVER": "psycopg2"}, "psycopg2"),
    "psycopg3-django-4.2-style": ("legacy_postgresql", "trim_runner_legacy", {}, "psycopg"),
    "mysqlclient": ("mysql", "trim_runner", {}, "MySQLdb"),
}


def server_environment(request: pytest.FixtureRequest, db: str) -> dict[str, str]:
    """Where the project's settings find the database server of ``db`` (skips if it is down)."""
    if db == "mysql":
        required("MySQLdb", "mysqlclient (needs libmariadb-dev and pkg-config to build)")
        mariadb = request.getfixturevalue("mariadb")
        return {
            "TRIM_TEST_MARIADB_HOST": mariadb["host"],
            "TRIM_TEST_MARIADB_PORT": str(mariadb["port"]),
            "TRIM_TEST_MARIADB_USER": mariadb["user"],
            "TRIM_TEST_MARIADB_PASSWORD": mariadb["password"],
        }
    if db == "sqlite":
        return {}
    return {"TRIM_TEST_POSTGRES_DSN": request.getfixturevalue("postgres_dsn")}  # either driver


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, DjangoRun]:
    db, name, env, _ = BACKENDS[request.param]
    # A database of this run only: runs in other checkouts or venvs use the same server.
    env = {**env, **server_environment(request, db), "TRIM_DJANGO_DB_NAME": f"{name}_{os.getpid()}"}
    out = tmp_path_factory.mktemp(request.param)
    return request.param, run_django(out, MODULE, "shop", db=db, env=env)


def test_every_test_run_gets_exactly_one_record(sqlite_run: DjangoRun) -> None:
    assert sqlite_run.returncode == 1, sqlite_run.stderr
    records = sqlite_run.by_id()
    assert set(records) == reported_tests(sqlite_run.stderr)
    assert {r["framework"] for r in records.values()} == {"django"}
    assert len({r["run_id"] for r in records.values()}) == 1


def test_outcomes_are_mapped_as_for_unittest(sqlite_run: DjangoRun) -> None:
    records = {r["id"].removeprefix("outcomes.test_outcomes."): r for r in sqlite_run.records()}
    outcomes = {
        id_: (r["status"], r["status_detail"], r["failure_phase"], r["failure_type"])
        for id_, r in records.items()
        if r["module"] == "outcomes.test_outcomes"
    }
    expected = {
        "Outcomes.test_passes": ("passed", None, None, None),
        "Outcomes.test_fails": ("failed", None, "call", "AssertionError"),
        "Outcomes.test_errors": ("error", None, "call", "KeyError"),
        "Outcomes.test_skipped": ("skipped", None, None, None),
        "Outcomes.test_expected_failure": ("skipped", "xfailed", None, None),
        "Outcomes.test_unexpected_success": ("failed", "xpassed", "call", None),
        "Outcomes.test_subtests": ("failed", "subtests_failed", "call", "AssertionError"),
        # Django checks deferred constraints when it rolls the test back, after stopTest.
        "BrokenConstraint.test_violates_a_deferred_foreign_key": (
            "error",
            None,
            "teardown",
            "IntegrityError",
        ),
        "BrokenPerTestSetUp.test_first": ("passed", None, None, None),
        # Django sets up this test's database before startTest, and reports its failure then.
        "BrokenPerTestSetUp.test_second": ("error", None, "setup", "ConnectionError"),
    }
    if DJANGO_VERSION < (5, 2):
        # Django 5.2 sets up the first test of a TransactionTestCase in setUpClass (the missing
        # fixture is then a setUpClass error); before 5.2 it sets up every test before its
        # startTest, so the missing fixture is that test's own set-up error.
        expected["MissingFixture.test_never_runs"] = ("error", None, "setup", "CommandError")
    assert outcomes == expected


def test_each_test_records_the_queries_django_sees_on_sqlite(sqlite_run: DjangoRun) -> None:
    assert_counts_match_django(sqlite_run)


def test_each_test_records_the_queries_django_sees_on_every_backend(
    backend_run: tuple[str, DjangoRun],
) -> None:
    backend, run = backend_run
    assert run.returncode == 0, run.stderr
    assert_counts_match_django(run)
    drivers = {entry["driver"].partition(".")[0] for entry in run.captured().values()}
    assert drivers == {BACKENDS[backend][3]}


def test_queries_of_every_database_alias_are_recorded(
    backend_run: tuple[str, DjangoRun],
) -> None:
    backend, run = backend_run
    record = run.by_id()[
        "shop.tests.test_views.OtherDatabaseTests.test_queries_on_both_aliases_are_recorded"
    ]
    systems = {(q["db_system"], q["sql"].split()[0]) for q in record["db_queries"]}
    default = "mysql" if backend == "mysqlclient" else "postgresql"
    assert systems == {("sqlite", "INSERT"), ("sqlite", "SELECT"), (default, "SELECT")}


def test_an_n_plus_one_view_shows_its_repeated_query(sqlite_run: DjangoRun) -> None:
    record = sqlite_run.by_id()[
        "shop.tests.test_views.BookPagesTests.test_book_list_has_an_n_plus_one_query"
    ]
    assert [q["count"] for q in record["db_queries"]] == [1, 5]
    assert record["db_queries"][1]["sql"].startswith('SELECT "shop_author"."id"')
    assert record["db_duplicate_count"] == 4


def test_http_calls_made_inside_a_test_are_recorded(
    sqlite_run: DjangoRun, http_server: str
) -> None:
    record = sqlite_run.by_id()["shop.tests.test_views.HttpTests.test_a_real_http_call_is_recorded"]
    assert record["status"] == "passed"
    assert record["net_urls"] == [f"{http_server}/django"]


def test_database_setup_and_class_fixtures_get_setup_records(sqlite_run: DjangoRun) -> None:
    setups = sqlite_run.setup_records()
    databases = setups[f"{STEPS}.setup_databases"]
    statements = [q["sql"] for q in databases["db_queries"]]
    assert any(sql.startswith('CREATE TABLE "shop_book"') for sql in statements)

    test_data = setups["shop.tests.test_views.BookPagesTests.setUpClass"]
    inserts = {q["sql"].split(" (")[0]: q["count"] for q in test_data["db_queries"]}
    assert inserts == {"BEGIN": 1, 'INSERT INTO "shop_author"': 3, 'INSERT INTO "shop_book"': 5}
    assert test_data["file"] == "shop/tests/test_views.py"

    broken = setups["outcomes.test_outcomes.BrokenTestData.setUpClass"]
    assert (broken["status"], broken["failure_type"]) == ("error", "ConnectionError")
    assert broken["failure_message"] == "ConnectionError: test data broke"


def test_the_real_database_is_never_touched(sqlite_run: DjangoRun) -> None:
    assert not (PROJECT / "real-database.sqlite3").exists()
    assert "Creating test database for alias 'default'" in sqlite_run.stderr


def test_console_output_and_exit_code_are_those_of_discover_runner(tmp_path: Path) -> None:
    plain = run_django(tmp_path / "plain", MANAGE, "outcomes", f"--testrunner={PLAIN_RUNNER}")
    ours = run_django(
        tmp_path / "ours",
        MANAGE,
        "outcomes",
        f"--testrunner={RUNNER}",
        f"--telemetry-dir={tmp_path / 'ours' / 'telemetry'}",
    )

    assert (ours.returncode, plain.returncode) == (1, 1)
    assert comparable(ours.stderr) == comparable(plain.stderr)
    assert comparable(ours.stdout) == comparable(plain.stdout)
    [summary] = [line for line in ours.stdout.splitlines() if line.startswith("Telemetry: ")]
    assert summary.startswith(f"Telemetry: {len(ours.records())} test records written to ")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            [
                "shop",
                "--reverse",
                "--shuffle",
                "7",
                "--buffer",
                "-k",
                "book",
                "--exclude-tag",
                "http",
            ],
            id="reverse-shuffle-buffer-k-exclude-tag",
        ),
        pytest.param(["shop", "outcomes", "--tag", "http", "--failfast"], id="tag-failfast"),
        pytest.param(["outcomes", "--failfast"], id="failfast"),
    ],
)
def test_runner_options_select_the_tests_django_would(tmp_path: Path, args: list[str]) -> None:
    plain = run_django(tmp_path / "plain", MANAGE, "-v", "2", *args, f"--testrunner={PLAIN_RUNNER}")
    ours = run_django(tmp_path / "ours", MODULE, "-v", "2", *args)

    assert ours.returncode == plain.returncode
    assert comparable(ours.stderr) == comparable(plain.stderr)
    assert set(ours.by_id()) == reported_tests(plain.stderr)


def test_test_runner_setting_uses_the_runner(tmp_path: Path) -> None:
    run = run_django(
        tmp_path,
        MANAGE,
        "shop.tests.test_views.BookPagesTests",
        f"--telemetry-dir={tmp_path / 'telemetry'}",
        env={"TRIM_DJANGO_TEST_RUNNER": RUNNER},
    )

    assert run.returncode == 0, run.stderr
    assert len(run.records()) == 4
    assert_counts_match_django(run)


def check_parallel_run(run: DjangoRun) -> None:
    assert run.returncode == 0, run.stderr
    records = run.records()
    # test_views.py: 6, test_iterator.py: 2, test_upkeep.py: 5
    assert len(records) == run.tests_run() == 13
    assert len({r["id"] for r in records}) == len(records)
    assert len({r["run_id"] for r in records}) == 1
    assert_counts_match_django(run)
    # The workers ran setUpClass; the parent set up the databases: all in one setup file.
    setups = run.setup_records()
    assert "shop.tests.test_views.BookPagesTests.setUpClass" in setups
    assert {r["run_id"] for r in setups.values()} == {records[0]["run_id"]}


def test_parallel_workers_write_every_record_once_into_one_run_file(tmp_path: Path) -> None:
    run = run_django(tmp_path, MODULE, "--parallel", "2", "shop")

    assert "Cloning test database for alias 'default'" in run.stderr
    check_parallel_run(run)


def test_parallel_workers_started_by_spawn_join_the_run(tmp_path: Path) -> None:
    # As on macOS: workers are fresh interpreters, and Django clones the in-memory SQLite test
    # databases through files with sqlite3's backup(), which the instrumentor's proxy broke.
    run = run_django(
        tmp_path / "out",
        MODULE,
        "--parallel",
        "2",
        "shop",
        env={"TRIM_DJANGO_START_METHOD": "spawn"},
        cwd=tmp_path,
    )

    check_parallel_run(run)


@pytest.fixture
def keepdb_database(postgres_dsn: str) -> Iterator[str]:
    # A name of this run only: under a shared name, another run of this test (another checkout,
    # another venv) or a test database left by a killed run makes the first --keepdb run find the
    # database already there, and it runs no CREATE DATABASE.
    name = f"trim_runner_keepdb_{os.getpid()}"
    drop = f'DROP DATABASE IF EXISTS "test_{name}"'
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(drop)
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(drop)


def test_keepdb_keeps_the_test_database_between_runs(
    tmp_path: Path, postgres_dsn: str, keepdb_database: str
) -> None:
    env = {"TRIM_TEST_POSTGRES_DSN": postgres_dsn, "TRIM_DJANGO_DB_NAME": keepdb_database}
    label = "shop.tests.test_views.BookPagesTests"
    first = run_django(tmp_path / "1", MODULE, "--keepdb", label, db="postgresql", env=env)
    second = run_django(tmp_path / "2", MODULE, "--keepdb", label, db="postgresql", env=env)

    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert "Using existing test database for alias 'default'" in second.stderr
    step = f"{STEPS}.setup_databases"
    created = [
        [q["sql"] for q in run.setup_records()[step]["db_queries"]] for run in (first, second)
    ]
    assert f'CREATE DATABASE "test_{keepdb_database}"' in created[0]
    assert not any(sql.startswith("CREATE") for sql in created[1])
    assert len(second.records()) == 4


def test_telemetry_off_in_the_environment_leaves_a_plain_django_run(tmp_path: Path) -> None:
    run = run_django(
        tmp_path, MODULE, "shop.tests.test_views.BookPagesTests", env={"TRIM_TELEMETRY": "0"}
    )

    assert run.returncode == 0, run.stderr
    assert not run.telemetry.exists()
    assert "Telemetry" not in run.stdout


def test_without_a_settings_module_the_entry_point_exits_2(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, *MODULE], cwd=tmp_path, env=environ, capture_output=True, text=True
    )

    assert done.returncode == 2
    assert "DJANGO_SETTINGS_MODULE is not set" in done.stderr
    assert not (tmp_path / ".telemetry").exists()


def test_help_lists_the_telemetry_dir_option(tmp_path: Path) -> None:
    run = run_django(tmp_path, MANAGE, f"--testrunner={RUNNER}", "--help")

    assert run.returncode == 0
    assert "--telemetry-dir DIR" in run.stdout
    assert "--parallel [N]" in run.stdout


def test_importing_the_package_or_its_unittest_runner_never_imports_django() -> None:
    code = "import sys, trim_telemetry_otel.unittest; print('django' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.stdout.strip() == "False", done.stderr
