"""What an installed package looks like from outside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_package_needs_no_django() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "import trim_telemetry_otel, trim_telemetry_otel.pytest.plugin\n"
        "assert 'django' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    [path] = out.glob("trim_telemetry_otel-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_ships_the_json_schema_and_type_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())

    assert "trim_telemetry_otel/record.schema.json" in names
    assert "trim_telemetry_otel/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)


def test_the_wheel_registers_the_pytest_plugin(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()

    assert "[pytest11]" in text
    assert "trim_telemetry_otel.pytest.plugin = trim_telemetry_otel.pytest.plugin" in text


def run_without_django(code: str) -> subprocess.CompletedProcess[str]:
    hide = "import sys; sys.modules['django'] = None\n"  # as if Django were not installed
    return subprocess.run(
        [sys.executable, "-c", hide + code], capture_output=True, text=True, check=False
    )


def test_the_django_entry_point_without_django_names_the_extra_to_install() -> None:
    done = run_without_django(
        "import runpy; runpy.run_module('trim_telemetry_otel.django', run_name='__main__')"
    )

    assert done.returncode == 2
    assert "pip install 'trim-telemetry-otel[django]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_django_runner_without_django_names_the_extra_to_install() -> None:
    done = run_without_django("from trim_telemetry_otel.django import TelemetryTestRunner")

    assert done.returncode == 1
    assert "ModuleNotFoundError: trim_telemetry_otel.django needs Django" in done.stderr
    assert "pip install 'trim-telemetry-otel[django]'" in done.stderr


def test_the_django_runner_is_importable_by_its_dotted_path() -> None:
    from django.utils.module_loading import import_string

    runner = import_string("trim_telemetry_otel.django.TelemetryTestRunner")

    assert runner.__module__ == "trim_telemetry_otel.django.runner"
