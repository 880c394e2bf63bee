"""Running one small suite under pytest, unittest and Django, plain and with telemetry.

The guarantees compare what a user sees: each test's outcome (from the runner's own verbose
output) and the exit code, with and without telemetry, in fresh interpreters.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from trim_telemetry_otel.schema import record_json_schema

RUNNERS = ("pytest", "unittest", "django")

DJANGO_SETTINGS = """
SECRET_KEY = "guarantees"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = []
USE_TZ = True
TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: a run id in local time would be a day off
"""

_UNITTEST_LINE = re.compile(
    r"^(?P<name>test\w*) \([^)]*\) \.\.\. "
    r"(?P<status>ok|FAIL|ERROR|skipped|expected failure|unexpected success)",
    re.MULTILINE,
)
_STATUSES = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
# -v prints "file.py::Class::test_x PASSED", and under xdist "[gw0] [ 50%] PASSED file.py::test_x".
_PYTEST_LINE = re.compile(
    rf"^(?:\S+::(?P<name>\w+) (?P<status>{_STATUSES})"
    rf"|\[gw\d+\] \[\s*\d+%\] (?P<xstatus>{_STATUSES}) \S+::(?P<xname>\w+))",
    re.MULTILINE,
)
_STATUS = {
    "ok": "passed",
    "PASSED": "passed",
    "FAIL": "failed",
    "FAILED": "failed",
    "ERROR": "error",
    "skipped": "skipped",
    "SKIPPED": "skipped",
}


@dataclass
class Run:
    runner: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def outcomes(self) -> dict[str, str]:
        """Each test's outcome as the runner itself printed it."""
        if self.runner == "pytest":
            found = [
                (m["name"] or m["xname"], m["status"] or m["xstatus"])
                for m in _PYTEST_LINE.finditer(self.stdout)
            ]
        else:
            found = [(m["name"], m["status"]) for m in _UNITTEST_LINE.finditer(self.stderr)]
        return {name: _STATUS.get(status, status) for name, status in found}

    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if "WARNING" in line]

    def our_tracebacks(self) -> bool:
        """A traceback through our package (the suite's own failures have theirs)."""
        return "trim_telemetry_otel" + os.sep in self.output or "INTERNALERROR" in self.output


def make_project(root: Path, suite: str, conftest: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "test_suite.py").write_text(textwrap.dedent(suite))
    (root / "guarantees_settings.py").write_text(DJANGO_SETTINGS)
    (root / "pytest.ini").write_text("[pytest]\n")  # the project is its own rootdir
    if conftest:
        (root / "conftest.py").write_text(textwrap.dedent(conftest))
    return root


def run_suite(
    runner: str,
    project: Path,
    *,
    telemetry: bool,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 120,
) -> Run:
    """``runner`` on ``project/test_suite.py``, verbose, in a fresh interpreter."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRIM_", "OTEL_", "PYTEST_", "DJANGO_"))
    }
    environ["DJANGO_SETTINGS_MODULE"] = "guarantees_settings"
    environ["PYTHONPATH"] = str(project)
    environ.update(env or {})
    if runner == "pytest":
        command = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-v"]
        command += ["--telemetry"] if telemetry else []
        command += ["test_suite.py"]
    elif runner == "unittest":
        module = "trim_telemetry_otel.unittest" if telemetry else "unittest"
        command = ["-m", module, "-v", "test_suite"]
    elif runner == "django":
        module = "trim_telemetry_otel.django" if telemetry else "django"
        command = ["-m", module, *([] if telemetry else ["test"]), "-v", "2", "test_suite"]
    else:
        raise ValueError(runner)
    done = subprocess.run(
        [sys.executable, *command, *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
    )
    return Run(runner, done.returncode, done.stdout, done.stderr)


def run_both(
    runner: str, project: Path, env: dict[str, str] | None = None, **kwargs: Any
) -> tuple[Run, Run]:
    """The suite plain, then with telemetry; both see the same environment."""
    return (
        run_suite(runner, project, telemetry=False, env=env, **kwargs),
        run_suite(runner, project, telemetry=True, env=env, **kwargs),
    )


def assert_unchanged(plain: Run, telemetry: Run) -> None:
    """Same outcome for every test, same exit code, and no traceback of ours."""
    assert plain.outcomes, f"no outcomes parsed from:\n{plain.output}"
    assert telemetry.outcomes == plain.outcomes, telemetry.output
    assert telemetry.returncode == plain.returncode, telemetry.output
    assert not telemetry.our_tracebacks(), telemetry.output


def lines_of(path: Path) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The valid records of a file (checked against the JSON Schema) and its bad lines."""
    validator = jsonschema.Draft202012Validator(record_json_schema())
    records, bad = [], []
    for line in path.read_bytes().split(b"\n")[:-1]:
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if isinstance(record, dict) and not list(validator.iter_errors(record)):
            records.append(record)
        else:
            bad.append(line)
    assert path.read_bytes().endswith(b"\n"), "the file ends in the middle of a line"
    return records, bad


def run_file(directory: Path) -> Path:
    [path] = sorted(directory.glob("run_*.ndjson"))
    return path
