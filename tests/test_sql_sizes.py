"""Hostile sizes: normalisation stays linear, its cache stays bounded, stored statements are capped.

Timings live in benchmarks/sql_sizes.py. Here linearity is asserted as a ratio: eight times the text
must cost well under sixty-four times the work (what a quadratic pass costs); CPU time of the best
of a few runs keeps other processes on the machine out of the measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from tests.spans import SpanFactory
from trim_telemetry_otel.fold import fold_test
from trim_telemetry_otel.schema import record_json_schema
from trim_telemetry_otel.sql import SQL_LIMIT, _Cache, _cache, _normalize, normalize_sql
from trim_telemetry_otel.sql_dialects import dialect_of

SYSTEMS = ("sqlite", "postgresql", "mysql", None)

# Shapes that made the previous normaliser quadratic, or that stress one rule each.
SHAPES: dict[str, Callable[[int], str]] = {
    "bulk insert": lambda n: (
        "INSERT INTO t (a, b) VALUES " + ", ".join(f"({i}, 'v{i}')" for i in range(n // 12))
    ),
    "many IN-lists": lambda n: (
        "SELECT * FROM t WHERE " + " OR ".join(f"a IN ({i}, {i + 1})" for i in range(n // 20))
    ),
    "unclosed VALUES": lambda n: "INSERT INTO t VALUES (" * (n // 22),
    "deep parens": lambda n: "SELECT " + "(" * (n // 2) + "1" + ")" * (n // 2),
    "unclosed placeholders": lambda n: "SELECT %(" * (n // 9),
    "lone quotes": lambda n: 'SELECT "a` [b ' * (n // 14),
    "unclosed brackets": lambda n: "SELECT [b " * (n // 10),
    "nested comments": lambda n: "SELECT /* " * (n // 10) + "*/" * 3,
    "dollar tags": lambda n: "SELECT $a$ x $b$ " * (n // 17),
    "backslashes": lambda n: "SELECT 'a\\', \"b\\\" " * (n // 18),
}


def _cpu_seconds(statement: str, system: str | None) -> float:
    best = float("inf")
    dialect = dialect_of(system)
    for _ in range(3):
        start = time.process_time()
        _normalize(statement, dialect)  # not through the cache
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("system", SYSTEMS)
def test_normalising_eight_times_the_text_costs_far_less_than_sixty_four_times(
    shape: str, system: str | None
) -> None:
    small, large = SHAPES[shape](16_000), SHAPES[shape](128_000)
    small_time = max(_cpu_seconds(small, system), 0.002)  # the clock's resolution
    assert _cpu_seconds(large, system) / small_time < 24


def test_a_four_megabyte_statement_keeps_no_value_and_still_collapses() -> None:
    rows = ", ".join(f"('zq{i}', {i}, 'it''s {i}')" for i in range(120_000))
    statement = f"INSERT INTO t (a, b, c) VALUES {rows} /*traceparent='00-zq'*/"
    assert len(statement) > 4_000_000
    assert normalize_sql(statement, "postgresql") == "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"


def test_the_cache_evicts_the_oldest_entries_to_stay_within_its_byte_budget() -> None:
    cache = _Cache(budget=50_000)
    for i in range(1_000):
        cache.put(("sqlite", f"SELECT {i} " + "x" * 1_000), "SELECT ? x")
        assert cache.size <= 50_000
    assert cache.get(("sqlite", "SELECT 999 " + "x" * 1_000)) == "SELECT ? x"
    assert cache.get(("sqlite", "SELECT 0 " + "x" * 1_000)) is None


def test_statements_too_big_for_the_cache_are_normalised_without_being_kept() -> None:
    _cache.clear()
    for i in range(20):
        normalize_sql(f"SELECT '{i}{'x' * 200_000}'", "sqlite")
    assert _cache.size == 0
    normalize_sql("SELECT 1", "sqlite")
    assert 0 < _cache.size < 1_000


def _fold(*statements: str) -> dict[str, Any]:
    spans = SpanFactory()
    with spans.test():
        for statement in statements:
            spans.query(statement)
    record = fold_test(*_root_and_children(spans))
    jsonschema.validate(record, record_json_schema())
    return dict(record)


def _root_and_children(spans: SpanFactory) -> tuple[Any, list[Any]]:
    finished = spans.finished()
    return finished[-1], finished[:-1]


def _wide_select(columns: int, last: str) -> str:
    return "SELECT " + ", ".join(f"column_{i}" for i in range(columns)) + f", {last} FROM t"


def test_a_statement_longer_than_the_cap_is_stored_cut_and_marked() -> None:
    (query,) = _fold(_wide_select(2_000, "tail"))["db_queries"]
    assert query["sql_truncated"] is True
    assert len(query["sql"]) == SQL_LIMIT
    assert _wide_select(2_000, "tail").startswith(query["sql"])


def test_a_statement_within_the_cap_is_stored_whole_and_not_marked() -> None:
    (query,) = _fold("SELECT a FROM t WHERE b = 1")["db_queries"]
    assert query == {**query, "sql": "SELECT a FROM t WHERE b = ?", "sql_truncated": False}


def test_long_statements_group_on_their_whole_text_not_on_the_stored_part() -> None:
    record = _fold(
        _wide_select(2_000, "tail_a"), _wide_select(2_000, "tail_a"), _wide_select(2_000, "tail_b")
    )
    assert [(q["count"], q["sql_truncated"]) for q in record["db_queries"]] == [
        (2, True),
        (1, True),
    ]
    assert record["db_queries"][0]["sql"] == record["db_queries"][1]["sql"]
