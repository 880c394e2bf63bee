"""``python -m trim_telemetry_otel.unittest [options] [tests]``: ``python -m unittest`` + telemetry.

Every unittest option and argument works as it does there (discovery without arguments, ``-k``,
``-v``, ``-f``, dotted names, the exit code). ``--telemetry-dir DIR`` is ours and is taken out of
the arguments before unittest sees them.
"""

from __future__ import annotations

import os
import sys
import unittest
from pathlib import Path
from typing import Any

from ..provider import get_telemetry
from ..settings import DEFAULT_DIR, DIR_ENV, EnvSettings, SettingsError
from .runner import TelemetryTestRunner

PROG = f"{os.path.basename(sys.executable)} -m trim_telemetry_otel.unittest"
OPTION = "--telemetry-dir"

TELEMETRY_HELP = f"""\
telemetry options (trim-telemetry-otel):
  {OPTION} DIR   write the run file (one NDJSON record per test) to DIR
                        (default: ${DIR_ENV}, else ./{DEFAULT_DIR}); TRIM_TELEMETRY=0 turns
                        telemetry off
"""


class UsageError(Exception):
    pass


def split_telemetry_options(args: list[str]) -> tuple[Path | None, list[str]]:
    """Take ``--telemetry-dir DIR`` / ``--telemetry-dir=DIR`` out of ``args``."""
    directory: Path | None = None
    rest: list[str] = []
    remaining = iter(args)
    for arg in remaining:
        if arg == OPTION:
            value = next(remaining, None)
            if value is None or value.startswith("-"):
                raise UsageError(f"argument {OPTION}: expected one argument")
            directory = Path(value)
        elif arg.startswith(f"{OPTION}="):
            directory = Path(arg.partition("=")[2])
        else:
            rest.append(arg)
    return directory, rest


def main(argv: list[str] | None = None) -> None:
    """Run unittest's command line with telemetry; exits like ``python -m unittest``."""
    args = sys.argv[1:] if argv is None else argv
    try:
        directory, unittest_args = split_telemetry_options(args)
        env = EnvSettings.read()
    except (UsageError, SettingsError) as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        sys.exit(2)

    if "-h" in unittest_args or "--help" in unittest_args:
        try:
            unittest.main(module=None, argv=[PROG, *unittest_args])
        finally:
            print(TELEMETRY_HELP)

    if env.enabled is not False:
        # A directory that cannot be used gives a warning when the run starts, not an error.
        directory = directory or env.directory or Path(DEFAULT_DIR)
        get_telemetry()  # instrument before the test modules are imported and connect anywhere

    class Runner(TelemetryTestRunner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, telemetry_dir=directory, **kwargs)

    unittest.main(module=None, argv=[PROG, *unittest_args], testRunner=Runner)


if __name__ == "__main__":
    main()
