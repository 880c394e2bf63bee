"""pytest plugin: ``pytest --telemetry`` writes one NDJSON record per test.

Registered through the ``pytest11`` entry point; it only adds options until telemetry is switched
on (``--telemetry`` or ``--telemetry-otlp``, the ``telemetry`` ini option, ``TRIM_TELEMETRY=1``, or
``trim_ndjson`` named in ``OTEL_TRACES_EXPORTER``: asking for the records' exporter asks for the
records). ``TRIM_TELEMETRY=0`` keeps it off whatever the ini file and OTEL_TRACES_EXPORTER say.

Every pytest run of an environment that has this package loads this module, telemetry on or off:
it imports nothing heavier than the settings. OpenTelemetry and the recording plugin
(:mod:`.recording`) are imported only once telemetry is switched on.
"""

from __future__ import annotations

import os

import pytest

from ..settings import (
    DEFAULT_DIR,
    EXPORTER_NAME,
    EnvSettings,
    SettingsError,
    traces_exporter_names,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("telemetry", "per-test telemetry (trim-telemetry-otel)")
    group.addoption(
        "--telemetry",
        action="store_true",
        default=None,
        help="write one NDJSON record per test (DB queries, HTTP calls, timings) to "
        f"{DEFAULT_DIR}/run_<id>.ndjson. Also: ini 'telemetry', env TRIM_TELEMETRY=1.",
    )
    group.addoption(
        "--telemetry-dir",
        metavar="DIR",
        default=None,
        help=f"directory for run files (default: <rootdir>/{DEFAULT_DIR}; "
        "also: ini 'telemetry_dir', env TRIM_TELEMETRY_DIR).",
    )
    group.addoption(
        "--telemetry-otlp",
        metavar="ENDPOINT",
        default=None,
        help="also forward the raw spans to this OTLP collector, e.g. http://localhost:4317 "
        "(implies --telemetry; protocol from OTEL_EXPORTER_OTLP_PROTOCOL, default grpc). "
        "Also: the standard OTEL_EXPORTER_OTLP_* and OTEL_TRACES_EXPORTER variables.",
    )
    group.addoption(
        "--telemetry-messages",
        choices=("redacted", "off"),
        default=None,
        help="failure messages and skip reasons in records and forwarded spans: 'redacted' "
        "(the default: values of driver errors, URL secrets and secret=value pairs scrubbed) or "
        "'off' (dropped). Also: env TRIM_TELEMETRY_MESSAGES.",
    )
    group.addoption(
        "--telemetry-otlp-spans",
        choices=["all", "roots"],
        default=None,
        help="which spans go to the collector: all (default) or roots, the test root spans only, "
        "each with its record's totals; the NDJSON keeps every query either way. "
        "Also: env TRIM_TELEMETRY_OTLP_SPANS.",
    )
    parser.addini("telemetry", type="bool", default=False, help="switch per-test telemetry on")
    parser.addini("telemetry_dir", default="", help="directory for telemetry run files")


@pytest.hookimpl(trylast=True)  # after xdist decided whether this process is a controller
def pytest_configure(config: pytest.Config) -> None:
    try:
        env = EnvSettings.read()
    except SettingsError as error:
        raise pytest.UsageError(str(error)) from None
    otlp_endpoint: str | None = config.getoption("telemetry_otlp")
    enabled = config.getoption("telemetry") or (True if otlp_endpoint else None)
    if enabled is None:
        if env.enabled is not None:
            enabled = env.enabled
        else:
            exporters = traces_exporter_names(os.environ) or []
            enabled = config.getini("telemetry") or EXPORTER_NAME in exporters
    if not enabled or config.getoption("collectonly"):
        return
    from .recording import start_recording

    start_recording(config, env, otlp_endpoint)
