"""``python -m trim_telemetry_otel.report [RUN]`` and ``trim-telemetry-report``: kept as aliases.

They are ``trim-telemetry summary`` now, with its options and exit statuses.
"""

from __future__ import annotations

import sys

from .cli import main as _main
from .cli.main import process_main


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    return _main(["summary", *arguments], prog="trim-telemetry-report")


def console_main() -> None:
    sys.exit(process_main("trim-telemetry-report", ["summary", *sys.argv[1:]]))


if __name__ == "__main__":
    console_main()
