"""The SQL normaliser: per-statement cost, correctness against a tokenizer library, hostile sizes.

    .venv/bin/python benchmarks/sql_normalizer.py [--before REV] [--sizes 1,2,4] [--skip-sizes]

1. Correctness and speed per statement on the generated corpus of tests/sql_corpus.py (markers in
   every literal and comment): ours uncached and cached, and sqlglot's dialect tokenizers used the
   same way (every literal token replaced), when sqlglot is installed (it is not a dependency:
   ``pip install sqlglot sqlglotc`` to compare).
2. Normalisation time of 1, 2 and 4 MB statements (a bulk INSERT of distinct rows, and many
   IN-lists), with ``--before REV`` also for the normaliser of that git revision.
3. Memory the cache keeps after many distinct big statements.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import sql_corpus as corpus  # noqa: E402
from trim_telemetry_otel import sql  # noqa: E402
from trim_telemetry_otel.sql_dialects import dialect_of  # noqa: E402

DIALECTS = ("sqlite", "postgresql", "mysql")
SQLGLOT_DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}


def sqlglot_normalizer() -> Callable[[str, str], str] | None:
    try:
        from sqlglot.dialects import Dialect
        from sqlglot.tokens import TokenType
    except ImportError:
        return None
    literal = {
        TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING, TokenType.HEX_STRING,
        TokenType.BIT_STRING, TokenType.BYTE_STRING, TokenType.RAW_STRING,
        TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING, TokenType.TRUE, TokenType.FALSE,
    }  # fmt: skip
    tokenizers = {
        d: Dialect.get_or_raise(name).tokenizer_class() for d, name in SQLGLOT_DIALECTS.items()
    }

    def normalize(statement: str, dialect: str) -> str:
        out: list[str] = []
        last_end = -1
        for token in tokenizers[dialect].tokenize(statement):
            if last_end >= 0 and token.start > last_end + 1:
                out.append(" ")
            out.append(
                "?" if token.token_type in literal else statement[token.start : token.end + 1]
            )
            last_end = token.end
        return "".join(out)

    return normalize


def per_statement(count: int, old: ModuleType | None, before: str | None) -> None:
    print(f"== per statement: {count} generated statements per dialect ==")
    statements = {
        d: [corpus.statement(d, random.Random(seed)) for seed in range(count)] for d in DIALECTS
    }
    candidates: dict[str, Callable[[str, str], str]] = {
        "ours (uncached)": lambda s, d: sql._normalize(s, dialect_of(d)),
        "ours (cached, as the fold calls it)": sql.normalize_sql,
    }
    if old is not None:
        candidates[f"before ({before}, uncached)"] = lambda s, d: old.normalize_sql.__wrapped__(s)
    glot = sqlglot_normalizer()
    if glot is None:
        print("sqlglot not installed: pip install sqlglot sqlglotc to compare")
    else:
        candidates["sqlglot tokenizer"] = glot
    for name, normalize in candidates.items():
        for dialect in DIALECTS:
            leaks = errors = lost = 0
            rounds: list[list[float]] = [[], []]
            sql._cache.clear()
            for timings in rounds:  # the second round is what a cache sees
                for statement in statements[dialect]:
                    start = time.perf_counter()
                    try:
                        out = normalize(statement.sql, dialect)
                    except Exception:
                        errors += 1
                        continue
                    timings.append(time.perf_counter() - start)
                    leaks += bool(corpus.leftovers(out, statement))
                    lost += out.count(statement.placeholder) != statement.placeholders
            first, repeat = (statistics.median(t) * 1e6 if t else 0 for t in rounds)
            print(
                f"{name:34} {dialect:10} median {first:6.1f} µs, repeated {repeat:6.1f} µs"
                f"  leaking {leaks // 2:3}/{count}  placeholders lost {lost // 2:3}"
                f"  errors {errors // 2:3}"
            )


def hostile(size: int, shape: str) -> str:
    """``size`` characters of a bulk INSERT of distinct rows, or of many small IN-lists."""
    head = "INSERT INTO t (a, b, c) VALUES " if shape == "bulk insert" else "SELECT * FROM t WHERE "
    glue = ", " if shape == "bulk insert" else " OR "
    parts, length, i = [head], len(head), 0
    while length < size:
        part = f"({i}, 'v{i}', {i}.5)" if shape == "bulk insert" else f"a IN ({i}, {i + 1})"
        parts.append(part if i == 0 else glue + part)
        length += len(parts[-1])
        i += 1
    return "".join(parts)


def load_before(revision: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:trim_telemetry_otel/sql.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "sql_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("sql_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sizes(megabytes: list[int], old: ModuleType | None, before: str | None, up_to: float) -> None:
    print("== hostile sizes: CPU seconds to normalise one statement ==")
    for shape in ("bulk insert", "many IN-lists"):
        for mb in megabytes:
            statement = hostile(mb * 1_000_000, shape)
            line = f"{shape:14} {len(statement) / 1e6:4.1f} MB"
            for system in ("postgresql", "mysql", None):
                start = time.process_time()
                sql._normalize(statement, dialect_of(system))
                line += f"  {system or 'generic'} {time.process_time() - start:6.2f} s"
            if old is not None:
                old.normalize_sql.cache_clear()
                start = time.process_time()
                if mb <= up_to:
                    old.normalize_sql(statement)
                    line += f"  before ({before}) {time.process_time() - start:6.2f} s"
                else:
                    line += f"  before ({before}) skipped (> {up_to:g} MB)"
            print(line, flush=True)


def cache_memory(statements: int, size: int) -> None:
    print(f"== cache: memory kept after {statements} distinct statements of {size:,} chars ==")
    sql._cache.clear()
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    for i in range(statements):
        # One long literal: cheap to normalise, and what the 1.45 GB report was made of.
        sql.normalize_sql(f"INSERT INTO t VALUES ({i}, '{'x' * size}')", "postgresql")
    kept = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    print(f"kept {kept / 1e6:.1f} MB (cache accounting: {sql._cache.size / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--before", help="a git revision whose normaliser to time as well")
    parser.add_argument("--sizes", default="1,2,4", help="megabytes, comma-separated")
    parser.add_argument("--before-up-to", type=float, default=4, help="MB, the old one is slow")
    parser.add_argument("--skip-sizes", action="store_true")
    args = parser.parse_args()
    old = load_before(args.before) if args.before else None
    per_statement(args.statements, old, args.before)
    if not args.skip_sizes:
        sizes([int(x) for x in args.sizes.split(",")], old, args.before, args.before_up_to)
    cache_memory(1_500, 1_000_000)
    cache_memory(1_500, 60_000)


if __name__ == "__main__":
    main()
