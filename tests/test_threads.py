"""Where a query made on another thread goes.

The threading instrumentor hands the test's context to threads started with ``Thread(target=…)``,
``Timer`` and ``ThreadPoolExecutor``: their queries belong to the test, provided they end before
the test does. A ``Thread`` subclass that overrides ``run()`` starts with no context: its queries
belong to no test (they are not recorded anywhere) rather than to the wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Records = Callable[..., dict[str, dict[str, Any]]]


def test_thread_queries_follow_the_test_that_started_the_thread(
    pytester: pytest.Pytester, records_of: Records
) -> None:
    pytester.makepyfile(
        """
        import sqlite3, threading, time
        from concurrent.futures import ThreadPoolExecutor

        def query(sql):
            sqlite3.connect(":memory:").cursor().execute(sql)

        def test_thread_target():
            thread = threading.Thread(target=query, args=("SELECT 'thread'",))
            thread.start()
            thread.join()

        def test_executor():
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(query, ["SELECT 1", "SELECT 2", "SELECT 3"]))

        class Worker(threading.Thread):
            def run(self):
                query("SELECT 'subclass'")

        def test_thread_subclass():
            worker = Worker()
            worker.start()
            worker.join()

        def test_outliving_thread():
            threading.Thread(target=lambda: (time.sleep(0.2), query("SELECT 'late'"))).start()

        def test_next():
            import time
            time.sleep(0.4)
        """
    )

    pytester.runpytest("--telemetry", "-p", "no:randomly").assert_outcomes(passed=5)

    records = records_of()
    assert records["test_thread_target"]["db_query_count"] == 1
    assert records["test_executor"]["db_query_count"] == 3
    assert records["test_executor"]["db_queries"][0]["count"] == 3
    assert records["test_thread_subclass"]["db_query_count"] == 0
    assert records["test_outliving_thread"]["db_query_count"] == 0
    assert records["test_next"]["db_query_count"] == 0, "a late query is never charged elsewhere"
