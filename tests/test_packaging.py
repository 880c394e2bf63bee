"""What an installed package looks like from outside."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
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


def test_the_wheel_ships_the_license_and_says_which_it_is(wheel: zipfile.ZipFile) -> None:
    [license_file] = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    metadata = metadata_of(wheel)

    assert wheel.read(license_file).decode() == (ROOT / "LICENSE").read_text()
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_the_wheel_says_which_pythons_it_supports_and_where_its_docs_are(
    wheel: zipfile.ZipFile,
) -> None:
    metadata = metadata_of(wheel)
    classifiers = metadata.get_all("Classifier") or []

    assert metadata["Requires-Python"] == ">=3.10"
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert set(urls) >= {"Documentation", "Changelog"}


# Released with every api/sdk + contrib pair so far; the per-driver instrumentors are not (at sdk
# 1.45.2 / contrib 0.66b2 the sqlite3, psycopg, psycopg2, pymysql, mysqlclient, urllib, urllib3 and
# threading instrumentors have no release) and would hold a user's whole environment back.
CORE = {
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation",
    "opentelemetry-instrumentation-dbapi",
    "opentelemetry-instrumentation-requests",
    "opentelemetry-instrumentation-httpx",
}


def test_a_bare_install_needs_only_packages_released_with_every_opentelemetry_pair(
    wheel: zipfile.ZipFile,
) -> None:
    requires = metadata_of(wheel).get_all("Requires-Dist") or []
    core = {r.split("<")[0].split(">")[0].split("=")[0].strip() for r in requires if ";" not in r}

    assert core == CORE


def test_each_database_driver_family_has_its_extra(wheel: zipfile.ZipFile) -> None:
    metadata = metadata_of(wheel)
    extras = set(metadata.get_all("Provides-Extra") or [])
    requires = metadata.get_all("Requires-Dist") or []

    assert {"postgresql", "mysql", "urllib", "threading", "otlp", "django", "all"} <= extras
    assert any("instrumentation-psycopg<" in r and "extra == 'postgresql'" in r for r in requires)
    assert any("instrumentation-pymysql<" in r and "extra == 'mysql'" in r for r in requires)
    assert any(r.startswith("tblib") and "extra == 'django'" in r for r in requires)


def test_the_sdist_has_what_a_packager_rebuilds_and_tests_from(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "-o", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [sdist] = tmp_path.glob("trim_telemetry_otel-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}

    assert {"LICENSE", "README.md", "CHANGELOG.md", "SCHEMA.md", "pyproject.toml"} <= names
    assert "trim_telemetry_otel/record.schema.json" in names
    assert "tests/conftest.py" in names
    assert not any(name.startswith((".venv", ".telemetry", "dist/")) for name in names)


def metadata_of(wheel: zipfile.ZipFile) -> Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


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


def test_parallel_without_tblib_is_explained_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "tiny_settings.py").write_text(
        'SECRET_KEY = "x"\nINSTALLED_APPS = []\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}\n'
    )
    (tmp_path / "test_tiny.py").write_text(
        "from django.test import SimpleTestCase\n"
        "class Tiny(SimpleTestCase):\n"
        "    def test_passes(self):\n"
        "        pass\n"
    )
    code = (
        "import sys; sys.modules['tblib'] = None\n"  # as if tblib were not installed
        "from trim_telemetry_otel.django.__main__ import main\n"
        "main(['test_tiny', '--parallel', '2'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tiny_settings", "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "--parallel without tblib" in done.stderr
    assert "pip install 'trim-telemetry-otel[django]'" in done.stderr
