"""docker-compose.yml, the collector's configuration and the example's Dockerfile.

No Docker engine runs here: the compose client checks the file when it is installed, and the
rest is checked by reading the files, including every path they name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.otlp_receivers import closed_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = load(COMPOSE_FILE)["services"]
    return services


def compose_command() -> list[str] | None:
    """``docker compose`` (v2) when its plugin is installed, else ``docker-compose``."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose client installed")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "OTLP_"))}

    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_the_stack_is_postgres_a_collector_and_the_example(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "otel-collector", "example"}
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert services["example"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "otel-collector": {"condition": "service_started"},
    }
    assert "otel/opentelemetry-collector-contrib:" in services["otel-collector"]["image"]


def test_no_host_port_is_fixed(services: dict[str, Any]) -> None:
    published = [port for service in services.values() for port in service.get("ports", [])]

    assert published
    for port in published:
        assert re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-0\}:\d+", port), port


def test_every_file_the_stack_names_exists(services: dict[str, Any]) -> None:
    build = services["example"]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]
    assert dockerfile.is_file()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if Path(source).suffix:  # a file of the repository, not an output directory
                assert (ROOT / source).is_file(), volume
    for line in dockerfile.read_text("utf-8").splitlines():
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / build["context"] / source).exists(), line


def test_the_example_writes_records_and_forwards_spans_to_the_collector(
    services: dict[str, Any],
) -> None:
    example = services["example"]
    environment = example["environment"]

    assert environment["OTEL_TRACES_EXPORTER"] == "otlp,trim_ndjson"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert environment["DATABASE_URL"].startswith("postgres://postgres:postgres@postgres:5432/")
    assert "./.telemetry:/telemetry" in example["volumes"]
    assert "make test-telemetry TELEMETRY_DIR=/telemetry" in example["command"][-1]
    assert "test-telemetry" in (ROOT / "example" / "Makefile").read_text("utf-8")


def test_the_collector_receives_otlp_and_writes_what_it_gets_to_the_mounted_folder(
    services: dict[str, Any],
) -> None:
    collector = services["otel-collector"]
    [config_mount] = [v for v in collector["volumes"] if v.endswith(":ro")]
    config = load(ROOT / config_mount.split(":")[0])

    protocols = config["receivers"]["otlp"]["protocols"]
    assert (protocols["grpc"]["endpoint"], protocols["http"]["endpoint"]) == (
        "0.0.0.0:4317",
        "0.0.0.0:4318",
    )
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert set(pipeline["exporters"]) == {"file", "debug"}
    output = config["exporters"]["file"]["path"]
    assert any(output.startswith(v.split(":")[1] + "/") for v in collector["volumes"])
    assert "health_check" in config["service"]["extensions"]


def test_wait_for_returns_once_the_url_answers(http_server: str) -> None:
    script = ROOT / "deploy" / "wait_for.py"

    ready = subprocess.run([sys.executable, str(script), f"{http_server}/health"], check=False)
    started = time.monotonic()
    down = subprocess.run(
        [sys.executable, str(script), f"http://127.0.0.1:{closed_port()}/", "1"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert ready.returncode == 0
    assert down.returncode == 1
    assert time.monotonic() - started < 10
    assert "did not answer within 1 s" in down.stderr
