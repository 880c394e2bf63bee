"""What telemetry costs: one table, every row measured side by side in one invocation.

    python benchmarks/overhead.py [--baseline DIR] [--rounds 5] [--memory-tests 100000] [--tiny]

Every suite runs as a whole process, plain (telemetry off), with telemetry on, and at the
OpenTelemetry floor (the stock sqlite3 instrumentor and one SDK root span per test, no processor:
what any span-based tool pays; see ``suites.py``). The variants alternate within each round, the
starting one rotating, and each figure is the median over the rounds of the child process's CPU
time (user + system, from ``wait4``): on a shared machine CPU time moves far less with the load
than wall time does.

``--baseline DIR`` also measures another checkout of the project (e.g. ``git worktree add
/tmp/perf-base main``) in the same rounds: its ``trim_telemetry_otel`` goes first on PYTHONPATH,
and so does this checkout's for the "after" column, both in the same virtualenv. ``--tiny`` runs
every row once on small suites: CI runs it so that the benchmark cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import suites

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "example"
RUNNER = "--testrunner=trim_telemetry_otel.django.TelemetryTestRunner"


@dataclass
class Timing:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu)


def run_timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process, which must succeed."""
    with tempfile.TemporaryFile() as errors:
        started = os.times().elapsed
        child = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = os.times().elapsed - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} in {cwd} exited {child.returncode}:\n{tail}")
    return usage.ru_utime + usage.ru_stime, wall


@dataclass
class Row:
    """One suite: how to run it plain, with telemetry and at the floor."""

    name: str
    tests: int
    target: str
    cwd: Path
    plain: list[str]
    telemetry: list[str]
    floor: list[str]
    limit: float  # the target: a ratio, or ms for the start-up row
    startup: bool = False
    times: dict[str, Timing] = field(default_factory=dict)


def environment(checkout: Path, extra: Path, tiny: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIM_", "OTEL_"))}
    env.pop("DATABASE_URL", None)  # the example's embedded SQLite
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(extra)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if tiny:  # only the plugins the rows need: loading every installed one takes seconds
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env["PYTEST_ADDOPTS"] = "-p trim_telemetry_otel.pytest.plugin -p pytest_django.plugin"
    return env


def build_rows(work: Path, tiny: bool) -> list[Row]:
    trivial, api, runner = (30, 10, 10) if tiny else (3000, 300, 300)
    suites.write_floor_plugin(work)
    suites.write_trivial(work / "plain", trivial)
    suites.write_parametrized(work / "param", trivial)
    (work / "startup").mkdir()
    (work / "startup" / "test_one.py").write_text("def test_one():\n    pass\n")
    project = work / "project"
    suites.write_django_project(project, runner, api)
    py = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    manage = [sys.executable, "manage.py", "test", "--noinput", "-v", "0", "items.runner_tests"]

    def pytest_row(name: str, tests: int, cwd: Path, target: str, limit: float) -> Row:
        tele = [*py, "--telemetry", f"--telemetry-dir={work / 'records'}"]
        return Row(name, tests, target, cwd, py, tele, [*py, "-p", "trim_floor"], limit)

    rows = [
        pytest_row(
            "trivial pytest tests, plain functions", trivial, work / "plain", "≤1.10x", 1.10
        ),
        pytest_row(
            "trivial pytest tests, parametrized + module fixture",
            trivial,
            work / "param",
            "≤1.10x",
            1.10,
        ),
        Row(
            "Django runner: TestCase + setUpTestData, 3 ORM queries (whole process)",
            runner,
            "≤1.15x",
            project,
            manage,
            [*manage, RUNNER, f"--telemetry-dir={work / 'records'}"],
            [*manage, "--testrunner=floor_runner.FloorRunner"],
            1.15,
        ),
        pytest_row("pytest-django: the example shop (DRF)", 47, EXAMPLE, "≤1.05x", 1.05),
        pytest_row(
            "pytest-django: generated DRF API suite",
            api,
            project / "items" / "api_tests",
            "≤1.05x",
            1.05,
        ),
        pytest_row("start-up: pytest on one trivial test", 1, work / "startup", "≤50 ms", 50),
    ]
    rows[-1].startup = True
    return rows


def measure(
    rows: list[Row], checkouts: dict[str, Path], work: Path, number: int, tiny: bool
) -> None:
    """One round: every variant of every row once, the first one rotating with ``number``."""
    for row in rows:
        variants: list[tuple[str, list[str], Path]] = [("floor", row.floor, ROOT)]
        for label, checkout in checkouts.items():
            variants.append((f"plain {label}", row.plain, checkout))
            variants.append((f"on {label}", row.telemetry, checkout))
        shift = number % len(variants)  # rotate, so that no variant always goes first
        for key, command, checkout in variants[shift:] + variants[:shift]:
            cpu, wall = run_timed(command, row.cwd, environment(checkout, work, tiny))
            timing = row.times.setdefault(key, Timing())
            timing.cpu.append(cpu)
            timing.wall.append(wall)


def inprocess(
    checkouts: dict[str, Path], work: Path, tiny: bool, memory_tests: int, samples: dict[str, list]
) -> dict[str, dict]:
    """Per test / per child span (one more process each; medians so far) and memory, once."""
    tests = 200 if tiny else 2000
    script = [sys.executable, str(HERE / "inprocess.py")]
    size = ["--tests", str(tests), "--rounds", "1" if tiny else "5"]

    def call(args: list[str], checkout: Path) -> dict[str, float]:
        done = subprocess.run(
            [*script, *args], env=environment(checkout, work), capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"inprocess.py {' '.join(args)}: {done.stderr[-3000:]}")
        result: dict[str, float] = json.loads(done.stdout)
        return result

    samples.setdefault("floor", []).append(call(["spans", "floor", *size], ROOT))
    for label, checkout in checkouts.items():
        samples.setdefault(label, []).append(call(["spans", "ours", *size], checkout))
        if f"memory {label}" not in samples:
            samples[f"memory {label}"] = [call(["memory", "--tests", str(memory_tests)], checkout)]
    results: dict[str, dict] = {
        key: {name: statistics.median(s[name] for s in runs) for name in runs[0]}
        for key, runs in samples.items()
    }
    for label in checkouts:
        results[label].update(results.pop(f"memory {label}"))
    results["memory_tests"] = {"tests": memory_tests}
    return results


def print_table(rows: list[Row], labels: list[str], figures: dict[str, dict]) -> None:
    def cell(ratio: float, limit: float) -> str:
        return f"{ratio:.2f}x {'ok' if ratio <= limit else 'OVER'}"

    head = "| row | tests | plain CPU s | floor | " + " | ".join(labels) + " | target |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in rows:
        plain = row.times[f"plain {labels[-1]}"].median
        if row.startup:
            floor = f"+{(row.times['floor'].median - plain) * 1000:.0f} ms"
            ours = []
            for label in labels:
                extra = row.times[f"on {label}"].median - row.times[f"plain {label}"].median
                ms = extra * 1000
                ours.append(f"+{ms:.0f} ms {'ok' if ms <= row.limit else 'OVER'}")
        else:
            floor = f"{row.times['floor'].median / plain:.2f}x"
            ours = []
            for label in labels:
                on, off = row.times[f"on {label}"].median, row.times[f"plain {label}"].median
                per_test = (on - off) / row.tests * 1e6
                ours.append(f"{cell(on / off, row.limit)} ({per_test:.0f} µs/test)")
        print(
            f"| {row.name} | {row.tests} | {plain:.2f} | {floor} | {' | '.join(ours)} | "
            f"{row.target} |"
        )
    floor = figures["floor"]
    per_test = [f"{figures[label]['per_test_us']:.1f} µs" for label in labels]
    print(
        f"| our cost per test (root span, fold, write), in-process | – | – | "
        f"{floor['per_test_us']:.1f} µs | {' | '.join(per_test)} | ≤50 µs |"
    )
    per_span = [
        f"+{figures[label]['per_query_us'] - floor['per_query_us']:.1f} µs" for label in labels
    ]
    print(
        f"| per child span over the stock floor (sqlite query) | – | – | "
        f"{floor['per_query_us']:.1f} µs/query | {' | '.join(per_span)} | ≤+3 µs |"
    )
    memory = [
        f"{figures[label]['first_kib']:.0f} → {figures[label]['last_kib']:.0f} KiB "
        f"({figures[label]['bytes_per_1000_tests']:+.0f} B/1000 tests)"
        for label in labels
    ]
    tests = figures["memory_tests"]["tests"]
    print(
        f"| memory: traced after 10 % → 100 % of {tests} tests | {tests} | – | – | "
        f"{' | '.join(memory)} | flat |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout, measured as 'before'")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="every row once, on small suites")
    parser.add_argument("--memory-tests", type=int, default=100_000)
    parser.add_argument("--only", help="measure only the rows whose name contains this")
    args = parser.parse_args()
    rounds = 1 if args.tiny else args.rounds
    checkouts = {}
    if args.baseline is not None:
        checkouts["before"] = args.baseline.resolve()
    checkouts["after" if args.baseline is not None else "this checkout"] = ROOT
    work = Path(tempfile.mkdtemp(prefix="trim-bench-"))
    try:
        rows = build_rows(work, args.tiny)
        if args.only:
            rows = [row for row in rows if args.only in row.name]
        memory_tests = 2000 if args.tiny else args.memory_tests
        samples: dict[str, list] = {}
        for number in range(rounds):  # the table after every round: a long run is never lost
            measure(rows, checkouts, work, number, args.tiny)
            figures = inprocess(checkouts, work, args.tiny, memory_tests, samples)
            print(f"\nafter {number + 1} of {rounds} rounds, medians of CPU time; {sys.executable}")
            print_table(rows, list(checkouts), figures)
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
