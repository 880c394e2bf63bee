"""The command imports only what it needs: never the OpenTelemetry SDK, nor our pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trim_telemetry_otel
from tests.telemetry_runs import known_run, write_run


def imported_by(*code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = "; ".join([*code, "import sys", "print('\\n'.join(sys.modules))"])
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return set(result.stdout.split())


def test_the_command_imports_no_opentelemetry_module() -> None:
    modules = imported_by("from trim_telemetry_otel.cli.main import build_parser", "build_parser()")
    assert "trim_telemetry_otel.cli.summary" in modules
    assert not {name for name in modules if name.startswith("opentelemetry")}
    assert "trim_telemetry_otel.processor" not in modules


def test_the_package_gives_every_public_name_when_asked() -> None:
    namespace: dict[str, object] = {}
    exec("from trim_telemetry_otel import *", namespace)  # noqa: S102
    assert set(trim_telemetry_otel.__all__) <= set(namespace)
    assert namespace["TelemetrySession"].__module__ == "trim_telemetry_otel.session"  # type: ignore[attr-defined]
    assert set(trim_telemetry_otel.__all__) <= set(dir(trim_telemetry_otel))


def test_a_bad_span_limit_cannot_break_an_import_of_the_pipeline() -> None:
    env = {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "many"}
    imports = ("import trim_telemetry_otel.processor", "from trim_telemetry_otel import fold_test")
    for code in imports:
        assert "opentelemetry.sdk.trace" in imported_by(code, env=env)


def test_a_summary_imports_no_opentelemetry_module(tmp_path: Path) -> None:
    path = write_run(tmp_path / "run.ndjson", known_run())
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trim_telemetry_otel", "summary", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "8 tests" in result.stdout
    assert "trim_telemetry_otel.cli.summary" in result.stderr  # importtime lists each module
    assert "opentelemetry" not in result.stderr
