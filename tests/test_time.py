"""Time: a test's own duration, shared set-up subtracted exactly once, and time spent asleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import read_records

Records = Callable[..., dict[str, dict[str, Any]]]


def test_a_session_fixture_pulled_by_a_class_fixture_is_subtracted_once(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    # pytest-django's _django_setup_unittest (class scope) pulls django_db_setup (session scope)
    # through request.getfixturevalue: the session set-up runs inside the class set-up.
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.fixture(scope="session")
        def database():
            time.sleep(0.3)

        @pytest.fixture(scope="class", autouse=True)
        def class_setup(request):
            request.getfixturevalue("database")
            time.sleep(0.1)

        class TestFirst:
            def test_first(self):
                time.sleep(0.2)
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=1)

    duration = records_of()["test_first"]["test_duration_ms"]
    assert 180 <= duration < 300, duration


def test_sleeps_on_the_tests_own_threads_are_counted(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import asyncio, threading, time
        from unittest import mock

        def test_sleeps():
            time.sleep(0.05)
            time.sleep(0)  # a yield, not a wait
            thread = threading.Thread(target=time.sleep, args=(0.05,))
            thread.start()
            thread.join()
            asyncio.run(asyncio.sleep(0.05))

        def test_mocked_sleep_still_works_as_the_test_wants():
            with mock.patch("time.sleep") as sleep:
                time.sleep(10)
            sleep.assert_called_once_with(10)

        def test_no_sleep():
            pass
        """
    )

    pytester.runpytest("--telemetry").assert_outcomes(passed=3)

    records = records_of()
    sleeps = records["test_sleeps"]
    assert sleeps["sleep_count"] == 3
    assert 150 <= sleeps["sleep_total_ms"] < 400
    assert records["test_mocked_sleep_still_works_as_the_test_wants"]["sleep_count"] == 0
    assert records["test_no_sleep"]["sleep_count"] == 0
    assert records["test_no_sleep"]["sleep_total_ms"] == 0


def test_a_plugins_fixture_is_named_by_its_package_relative_path(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A set-up record of a fixture defined outside the rootdir, as an installed plugin's is.
    site = tmp_path_factory.mktemp("site-packages")
    (site / "fixture_plugin").mkdir()
    (site / "fixture_plugin" / "__init__.py").write_text(
        "import pytest, urllib.request\n"
        "@pytest.fixture(scope='session')\n"
        "def failing():\n"
        "    raise RuntimeError('set-up failed')\n"
    )
    project = pytester.mkdir("project")
    (project / "test_it.py").write_text("def test_it(failing):\n    pass\n")
    pytester.syspathinsert(site)
    result = pytester.runpytest("--telemetry", "-p", "fixture_plugin", str(project))
    result.assert_outcomes(errors=1)
    [path] = (pytester.path / ".telemetry" / "setup").glob("run_*.ndjson")
    [record] = read_records(path)
    assert record["file"] == "fixture_plugin/__init__.py"
