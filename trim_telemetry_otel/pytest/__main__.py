"""``python -m trim_telemetry_otel.pytest [pytest args]``: pytest with telemetry switched on."""

from __future__ import annotations

import os
import sys

import pytest


def main(argv: list[str] | None = None) -> int:
    args = ["--telemetry", *(sys.argv[1:] if argv is None else argv)]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # The entry point is not loaded then: name the plugin so that --telemetry exists.
        args = ["-p", "trim_telemetry_otel.pytest.plugin", *args]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main())
