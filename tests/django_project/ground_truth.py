"""pytest plugin (``-p ground_truth``): each test's queries as Django's own query log saw them.

The pytest-django side of the ground truth. A telemetry record under pytest covers the test's
whole protocol less shared fixtures (their set-up and tear-down get set-up records), so this
counts what Django would log over the protocol, leaving out what ran while a fixture of a wider
scope was set up or torn down. Django clears ``queries_log`` inside ``_pre_setup``, so the count
comes from an execute wrapper, which sees exactly the statements Django logs: those run through
its cursor wrapper. Each test appends {"id", "count", "sql"} to TRIM_PROTOCOL_LOG.
"""

import json
import os
from collections.abc import Generator
from typing import Any

import pytest
from django.db import connections

_LOG = os.environ["TRIM_PROTOCOL_LOG"]
_state: dict[str, Any] = {"sql": []}
_seen: list[str] = []


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    _seen.append(sql)
    return execute(sql, params, many, context)


def _drain() -> list[str]:
    for connection in connections.all():
        if _count not in connection.execute_wrappers:
            connection.execute_wrappers.append(_count)
    logged = list(_seen)
    _seen.clear()
    return logged


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _drain()
    _state["sql"] = []
    try:
        return (yield)
    finally:
        _state["sql"] += _drain()
        entry = {"id": item.nodeid, "count": len(_state["sql"]), "sql": _state["sql"]}
        with open(_LOG, "a") as file:
            file.write(json.dumps(entry) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any) -> Generator[None, object, object]:
    if fixturedef.scope == "function":
        return (yield)
    _state["sql"] += _drain()
    try:
        return (yield)
    finally:
        _drain()  # the fixture's own: a set-up record
        fixturedef.addfinalizer(lambda: _state["sql"].extend(_drain()))


def pytest_fixture_post_finalizer(fixturedef: Any) -> None:
    if fixturedef.scope != "function":
        _drain()
