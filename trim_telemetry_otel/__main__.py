"""``python -m trim_telemetry_otel``: the same as the ``trim-telemetry`` command."""

from __future__ import annotations

import sys

from .cli.main import process_main

if __name__ == "__main__":
    sys.exit(process_main(prog="python -m trim_telemetry_otel"))
